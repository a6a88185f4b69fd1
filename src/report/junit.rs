//! JUnit XML: one testsuite per play, one testcase per host x task, so a CI
//! job (or a DR drill record) shows each step on each node as pass or fail.
//!
//! A failure ignored by `ignore_errors` / `ignore_unreachable` is a passing
//! testcase whose output says it was ignored, as in Ansible's junit callback:
//! the run did not fail because of it.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::recap::millis;
use super::{Event, HostResult, Reporter, TaskInfo};
use crate::modules::{Status, TaskResult};

pub struct JunitReporter {
    path: PathBuf,
    state: Mutex<Runs>,
}

impl JunitReporter {
    pub fn new(path: impl Into<PathBuf>) -> JunitReporter {
        JunitReporter {
            path: path.into(),
            state: Mutex::new(Runs::default()),
        }
    }
}

#[derive(Default)]
struct Runs {
    suites: Vec<Suite>,
    /// Hosts the current task was started on that have not finished it.
    unfinished: Vec<(TaskInfo, Vec<String>)>,
    /// Per-item results of the current task, until the host's final result.
    items: Vec<(String, HostResult)>,
    elapsed: Option<Duration>,
}

struct Suite {
    name: String,
    cases: Vec<TestCase>,
    notes: Vec<String>,
    first_start: f64,
    last_end: f64,
    busy: Duration,
}

impl Suite {
    fn new(name: &str) -> Suite {
        Suite {
            name: name.to_string(),
            cases: Vec::new(),
            notes: Vec::new(),
            first_start: f64::INFINITY,
            last_end: 0.0,
            busy: Duration::ZERO,
        }
    }

    /// The play's wall time from its results; the summed task times when the
    /// results carry no start time.
    fn time(&self) -> Duration {
        if self.first_start.is_finite() && self.last_end >= self.first_start {
            Duration::try_from_secs_f64(self.last_end - self.first_start).unwrap_or(self.busy)
        } else {
            self.busy
        }
    }
}

impl Runs {
    fn suite(&mut self, play: &str) -> &mut Suite {
        if self.suites.last().is_none_or(|s| s.name != play) {
            self.suites.push(Suite::new(play));
        }
        let last = self.suites.len() - 1;
        &mut self.suites[last]
    }

    /// [`Runs::close_unfinished`] for `hosts` only.
    fn close_unfinished_of(&mut self, hosts: &[String]) {
        let mut closed = Vec::new();
        for (task, waiting) in &mut self.unfinished {
            let (gone, kept): (Vec<String>, Vec<String>) =
                waiting.drain(..).partition(|h| hosts.contains(h));
            *waiting = kept;
            if !gone.is_empty() {
                closed.push((task.clone(), gone));
            }
        }
        self.unfinished.retain(|(_, waiting)| !waiting.is_empty());
        let kept = std::mem::replace(&mut self.unfinished, closed);
        self.close_unfinished();
        self.unfinished = kept;
    }

    /// Hosts that were started on a task but never reported it become
    /// errors, so a stopped run cannot look green in CI.
    fn close_unfinished(&mut self) {
        for (task, hosts) in std::mem::take(&mut self.unfinished) {
            for host in hosts {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                status.set_message("no result: the run stopped before this host finished the task");
                status.set_type("no_result");
                let mut case = TestCase::new(case_name(&task, &host), status);
                case.set_classname(task.play.clone());
                self.suite(&task.play).cases.push(case);
            }
        }
        self.items.clear();
    }

    fn handle(&mut self, event: &Event) {
        match event {
            Event::PlayStart { name, .. } => {
                self.close_unfinished();
                self.suites.push(Suite::new(name));
            }
            Event::TaskStart { task, hosts } => {
                // A host that starts a task will not finish its last one.
                // Only those: under `strategy: free` other hosts are still
                // busy with earlier tasks.
                self.close_unfinished_of(hosts);
                self.unfinished.push((task.clone(), hosts.clone()));
            }
            Event::HostStart { .. } | Event::ConnectStart { .. } => {}
            Event::HostConnected { error: None, .. } => {}
            Event::HostConnected {
                host,
                error: Some(error),
                ..
            } => {
                self.current_suite().notes.push(format!(
                    "[UNREACHABLE]: {host}: {error} (connecting, before the first task)"
                ));
            }
            Event::HostResult { task, result } => self.host_result(task, result),
            Event::Cut {
                task,
                host,
                started_at,
                elapsed,
            } => self.cut(task, host, *started_at, *elapsed),
            Event::Warning { host, message } => {
                let note = match host {
                    Some(host) => format!("[WARNING]: {host}: {message}"),
                    None => format!("[WARNING]: {message}"),
                };
                self.current_suite().notes.push(note);
            }
            Event::Stopped { reason } => {
                self.close_unfinished();
                self.current_suite()
                    .notes
                    .push(format!("RUN STOPPED\n{reason}"));
            }
            Event::Recap(recap) => {
                self.close_unfinished();
                self.elapsed = Some(recap.elapsed);
            }
        }
    }

    fn current_suite(&mut self) -> &mut Suite {
        if self.suites.is_empty() {
            self.suites.push(Suite::new("baton"));
        }
        let last = self.suites.len() - 1;
        &mut self.suites[last]
    }

    fn host_result(&mut self, task: &TaskInfo, result: &HostResult) {
        if result.item.is_some() {
            self.items.push((result.host.clone(), result.clone()));
            return;
        }
        for (t, hosts) in &mut self.unfinished {
            if t.name == task.name && t.origin == task.origin {
                hosts.retain(|h| h != &result.host);
            }
        }
        let (items, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.items)
            .into_iter()
            .partition(|(host, _)| host == &result.host);
        self.items = rest;
        let items: Vec<HostResult> = items.into_iter().map(|(_, r)| r).collect();
        let case = test_case(task, result, &items);
        let suite = self.suite(&task.play);
        if result.started_at > 0.0 {
            suite.first_start = suite.first_start.min(result.started_at);
            suite.last_end = suite
                .last_end
                .max(result.started_at + result.elapsed.as_secs_f64());
        }
        suite.busy += result.elapsed;
        suite.cases.push(case);
    }

    /// A task a quit at once killed on `host`: an error case of type `cut`
    /// (it has no result; CI must not read it as passed or as an ordinary
    /// failure).
    fn cut(&mut self, task: &TaskInfo, host: &str, started_at: f64, elapsed: Duration) {
        for (t, hosts) in &mut self.unfinished {
            if t.name == task.name && t.origin == task.origin {
                hosts.retain(|h| h != host);
            }
        }
        self.items.retain(|(h, _)| h != host);
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status.set_message(
            "cut: a quit at once (second stop signal) killed the task on this host; it may have done part of its work",
        );
        status.set_type("cut");
        let mut case = TestCase::new(case_name(task, host), status);
        case.set_classname(task.play.clone());
        // The time it ran until killed, as a finished case's time.
        case.set_time(elapsed);
        let suite = self.suite(&task.play);
        if started_at > 0.0 {
            suite.first_start = suite.first_start.min(started_at);
            suite.last_end = suite.last_end.max(started_at + elapsed.as_secs_f64());
        }
        suite.busy += elapsed;
        suite.cases.push(case);
    }

    fn report(&self) -> Report {
        let mut report = Report::new("baton");
        for suite in &self.suites {
            let mut ts = TestSuite::new(suite.name.clone());
            ts.set_time(suite.time());
            ts.add_test_cases(suite.cases.iter().cloned());
            if !suite.notes.is_empty() {
                ts.set_system_err(suite.notes.join("\n"));
            }
            report.add_test_suite(ts);
        }
        if let Some(elapsed) = self.elapsed {
            report.set_time(elapsed);
        }
        report
    }
}

fn case_name(task: &TaskInfo, host: &str) -> String {
    format!("{} [{host}]", task.name)
}

/// rc, stderr and stdout, labelled; what a CI reader needs to see why.
fn output_text(r: &TaskResult) -> String {
    let mut text = String::new();
    if let Some(msg) = &r.msg {
        let _ = writeln!(text, "msg: {msg}");
    }
    if let Some(rc) = r.rc {
        let _ = writeln!(text, "rc: {rc}");
    }
    for (name, value) in [("stderr", &r.stderr), ("stdout", &r.stdout)] {
        if let Some(value) = value.as_deref().filter(|v| !v.trim().is_empty()) {
            let _ = writeln!(text, "{name}:\n{}", value.trim_end());
        }
    }
    text
}

fn item_text(items: &[HostResult]) -> String {
    let mut text = String::new();
    for item in items {
        let outcome = serde_json::to_value(item.outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let _ = writeln!(
            text,
            "item={}: {outcome}{} ({} ms)",
            item.item.as_deref().unwrap_or_default(),
            if item.ignored { " (ignored)" } else { "" },
            millis(item.elapsed)
        );
        for line in output_text(&item.result).lines() {
            let _ = writeln!(text, "  {line}");
        }
    }
    text
}

fn test_case(task: &TaskInfo, result: &HostResult, items: &[HostResult]) -> TestCase {
    let r = &result.result;
    let problem = matches!(result.outcome, Status::Failed | Status::Unreachable);
    let kind = if result.outcome == Status::Unreachable {
        "unreachable"
    } else {
        "failed"
    };
    let mut out = item_text(items);
    out.push_str(&output_text(r));

    let status = if problem && !result.ignored {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        let message = r
            .msg
            .as_deref()
            .and_then(|m| m.lines().next())
            .map(str::to_string)
            .unwrap_or_else(|| format!("{kind} (no message)"));
        status.set_message(message);
        status.set_type(kind);
        status.set_description(out.clone());
        status
    } else if result.outcome == Status::Skipped {
        let mut status = TestCaseStatus::skipped();
        if let Some(msg) = &r.msg {
            status.set_message(msg.clone());
        }
        status
    } else {
        if problem {
            out.insert_str(0, &format!("{kind} (ignored: the play went on)\n"));
        }
        TestCaseStatus::success()
    };

    let mut case = TestCase::new(case_name(task, &result.host), status);
    case.set_classname(task.play.clone());
    case.set_time(result.elapsed);
    if !out.is_empty() {
        case.set_system_out(out);
    }
    case
}

impl Reporter for JunitReporter {
    /// It never prints a result's facts.
    fn prints_facts(&self) -> bool {
        false
    }
    fn event(&self, event: &Event) {
        let mut runs = self.state.lock().unwrap_or_else(|e| e.into_inner());
        runs.handle(event);
    }

    /// Writes the file. A failure here is reported and the run does not
    /// exit 0 (a CI reading the file would otherwise miss the run), but it
    /// comes after every task: it never cuts a run short.
    fn finish(&self) -> bool {
        let mut runs = self.state.lock().unwrap_or_else(|e| e.into_inner());
        runs.close_unfinished();
        let written = runs
            .report()
            .to_string()
            .map_err(|e| e.to_string())
            .and_then(|xml| std::fs::write(&self.path, xml).map_err(|e| e.to_string()));
        match written {
            Ok(()) => true,
            Err(err) => {
                super::stderr_line(&format!(
                    "baton: cannot write the JUnit report to {}: {err}",
                    self.path.display()
                ));
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(play: &str) -> TaskInfo {
        TaskInfo {
            name: "Stop scheduler".into(),
            module: "command".into(),
            origin: "p.yml:3:5".into(),
            is_handler: false,
            play: play.into(),
        }
    }

    fn result(host: &str, outcome: Status, started_at: f64, ms: u64) -> HostResult {
        HostResult {
            host: host.into(),
            outcome,
            ignored: false,
            item: None,
            delegated_to: None,
            result: TaskResult::default(),
            elapsed: Duration::from_millis(ms),
            started_at,
            check_mode: false,
        }
    }

    #[test]
    fn one_suite_per_play_with_its_wall_time() {
        let mut runs = Runs::default();
        for play in ["first", "second"] {
            runs.handle(&Event::PlayStart {
                name: play.into(),
                hosts: vec!["bc1".into()],
                strategy: "linear".into(),
            });
            runs.handle(&Event::HostResult {
                task: task(play),
                result: result("bc1", Status::Ok, 10.0, 100),
            });
            runs.handle(&Event::HostResult {
                task: task(play),
                result: result("bc2", Status::Ok, 10.5, 200),
            });
        }
        let report = runs.report();
        let names: Vec<&str> = report.test_suites.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["first", "second"]);
        assert_eq!(report.test_suites[0].tests, 2);
        assert_eq!(report.test_suites[0].time, Some(Duration::from_millis(700)));
    }

    #[test]
    fn failure_without_message_names_its_kind() {
        let case = test_case(&task("p"), &result("bc2", Status::Unreachable, 0.0, 1), &[]);
        match case.status {
            TestCaseStatus::NonSuccess { message, ty, .. } => {
                assert_eq!(message.unwrap().as_str(), "unreachable (no message)");
                assert_eq!(ty.unwrap().as_str(), "unreachable");
            }
            other => panic!("{other:?}"),
        }
    }
}
