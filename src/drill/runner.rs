//! Runs one of baton's own playbooks as a child `baton run ... --output json`
//! and turns its JSON events (docs/json-events.md) into live progress lines
//! and per-host task spans. A child, not an in-process run: its signal
//! handling, exit codes and connection cleanup are exactly `baton run`'s.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::time::Duration;

use serde_json::Value;

use super::report::{PlaybookRun, TaskSpan};
use super::{now, say, signals};

pub struct Runner {
    pub exe: PathBuf,
    pub playbooks: PathBuf,
    pub inventory: Vec<PathBuf>,
    /// Passed to every run (before the phase's own).
    pub extra_vars: Vec<String>,
    /// No progress lines (the fault matrix prints one line a case).
    pub quiet: bool,
}

/// A task span from one `host_result` event (final results only: loop
/// items are part of their task's span).
pub fn span_of(event: &Value) -> Option<TaskSpan> {
    if event["event"] != "host_result" || !event["item"].is_null() {
        return None;
    }
    let started = event["started_at"].as_f64()?;
    let elapsed = event["elapsed_ms"].as_f64()?;
    Some(TaskSpan {
        host: event["host"].as_str()?.to_string(),
        task: event["task"]["name"].as_str()?.to_string(),
        started_at: started,
        ended_at: started + elapsed / 1000.0,
        outcome: event["outcome"].as_str()?.to_string(),
    })
}

impl Runner {
    /// Runs `PLAYBOOKS/NAME.yml`; prints each task as it starts and each
    /// failure as it comes. The run's record, and its error if it failed.
    pub fn run(&self, name: &str, vars: &[String]) -> (PlaybookRun, Option<String>) {
        self.run_with(name, vars, None)
    }

    /// As [`Runner::run`]; with `control_dir`, the run keeps its persisted
    /// SSH masters (`baton_persist`) there (`BATON_CONTROL_DIR`).
    pub fn run_with(
        &self,
        name: &str,
        vars: &[String],
        control_dir: Option<&Path>,
    ) -> (PlaybookRun, Option<String>) {
        self.run_observed(name, vars, control_dir, &mut |_, _| {})
    }

    /// As [`Runner::run_with`]; `on_event` sees each JSON event as it
    /// arrives, with the run's PID (the fault matrix injects its faults at
    /// task boundaries from here), and `Value::Null` every 100 ms without
    /// one; the PID is the unreaped child's until this returns.
    pub fn run_observed(
        &self,
        name: &str,
        vars: &[String],
        control_dir: Option<&Path>,
        on_event: &mut dyn FnMut(&Value, u32),
    ) -> (PlaybookRun, Option<String>) {
        let path = self.playbooks.join(format!("{name}.yml"));
        let mut cmd = Command::new(&self.exe);
        if let Some(dir) = control_dir {
            cmd.env("BATON_CONTROL_DIR", dir);
        }
        cmd.arg("run").arg(&path);
        for inv in &self.inventory {
            cmd.arg("-i").arg(inv);
        }
        cmd.args(["--output", "json"]).env("NO_COLOR", "1");
        for e in self.extra_vars.iter().chain(vars) {
            cmd.arg("-e").arg(e);
        }
        let started_at = now();
        let mut record = PlaybookRun {
            playbook: name.to_string(),
            extra_vars: vars.to_vec(),
            started_at,
            ended_at: started_at,
            exit_code: None,
            tasks: Vec::new(),
            stopped: None,
            unfinished: Vec::new(),
        };
        // Its own process group: a Ctrl-C at the terminal reaches the drill
        // only, which passes it on once (below). In the drill's group the run
        // got it twice, and a second SIGINT quits at once, cutting a task.
        use std::os::unix::process::CommandExt;
        let child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                return (
                    record,
                    Some(format!("cannot run {}: {e}", self.exe.display())),
                )
            }
        };
        let (tx, rx) = channel::<String>();
        if let Some(stdout) = child.stdout.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let stderr_thread = child.stderr.take().map(|mut e| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = e.read_to_string(&mut text);
                text
            })
        });
        let mut failures = Vec::new();
        let mut progress = Progress::default();
        let mut forwarded = false;
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    let Ok(event) = serde_json::from_str::<Value>(&line) else {
                        continue;
                    };
                    for line in progress.event(&event, started_at, &mut failures) {
                        if !self.quiet {
                            say(&line);
                        }
                    }
                    on_event(&event, child.id());
                    if event["event"] == "stopped" {
                        record.stopped = event["reason"].as_str().map(String::from);
                    }
                    if let Some(span) = span_of(&event) {
                        record.tasks.push(span);
                    }
                }
                // A tick without an event: `Null`, so an observer can keep
                // a deadline while the child is still unreaped.
                Err(RecvTimeoutError::Timeout) => on_event(&Value::Null, child.id()),
                Err(RecvTimeoutError::Disconnected) => break,
            }
            // Pass a stop request on to the run, once, by the PID we started:
            // it finishes its running task on every host, then stops.
            if let (Some(sig), false) = (signals::stopped(), forwarded) {
                forwarded = true;
                if let Ok(pid) = i32::try_from(child.id()) {
                    // SAFETY: kill(2) on our own child's PID.
                    unsafe {
                        libc::kill(pid, sig);
                    }
                }
            }
        }
        record.unfinished = progress.unfinished();
        record.unfinished.append(&mut progress.unfinished_at_stop);
        for line in progress.flush() {
            if !self.quiet {
                say(&line);
            }
        }
        let status = child.wait();
        record.ended_at = now();
        let stderr = stderr_thread
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        let code = status.ok().and_then(|s| {
            use std::os::unix::process::ExitStatusExt;
            s.code().or_else(|| s.signal().map(|n| 128 + n))
        });
        record.exit_code = code;
        let error = match code {
            Some(0) => None,
            other => {
                let mut why = format!(
                    "`baton run {}` exited {}",
                    describe(&path, vars),
                    other.map_or("by a signal".to_string(), |c| c.to_string())
                );
                if !failures.is_empty() {
                    why.push_str(&format!(": {}", failures.join("; ")));
                }
                let tail: Vec<&str> = stderr
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .rev()
                    .take(5)
                    .collect();
                if failures.is_empty() && !tail.is_empty() {
                    let tail: Vec<&str> = tail.into_iter().rev().collect();
                    why.push_str(&format!(": {}", tail.join(" / ")));
                }
                Some(why)
            }
        };
        (record, error)
    }
}

/// The task a run is in: its line is printed once every host it was
/// started on has a final result, naming only the hosts it ran on; a task
/// skipped on every host (a `when:` that did not hold) is not printed, so
/// the live output shows what happened, not every branch of the playbook.
struct Pending {
    name: String,
    at: f64,
    hosts: Vec<String>,
    ran: Vec<String>,
    skipped: Vec<String>,
    failed: Vec<String>,
}

/// Live progress lines from a run's JSON events (pure: the lines to print).
#[derive(Default)]
pub struct Progress {
    pending: Option<Pending>,
    /// The pending task's hosts without a result when the run stopped.
    unfinished_at_stop: Vec<String>,
}

impl Progress {
    /// The lines `event` completes; failure texts go into `failures`.
    pub fn event(&mut self, event: &Value, t0: f64, failures: &mut Vec<String>) -> Vec<String> {
        let at = event["time"].as_f64().unwrap_or(t0) - t0;
        let mut out = Vec::new();
        match event["event"].as_str() {
            Some("task_start") => {
                out.extend(self.flush());
                let hosts: Vec<String> = event["hosts"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default();
                self.pending = Some(Pending {
                    name: event["task"]["name"].as_str().unwrap_or("?").to_string(),
                    at,
                    hosts,
                    ran: Vec::new(),
                    skipped: Vec::new(),
                    failed: Vec::new(),
                });
            }
            Some("host_result") if event["item"].is_null() => {
                let host = event["host"].as_str().unwrap_or("?").to_string();
                let outcome = event["outcome"].as_str().unwrap_or("");
                let mut failed_line = None;
                if matches!(outcome, "failed" | "unreachable") && event["ignored"] != true {
                    let msg = event["result"]["msg"]
                        .as_str()
                        .or_else(|| event["result"]["stderr"].as_str())
                        .unwrap_or("")
                        .trim()
                        .to_string();
                    let line = format!(
                        "{} on {host}: {msg}",
                        event["task"]["name"].as_str().unwrap_or("?")
                    );
                    failures.push(line.clone());
                    failed_line = Some(format!("      {at:6.2}s  FAILED {line}"));
                }
                let name = event["task"]["name"].as_str().unwrap_or("?");
                match self.pending.as_mut().filter(|p| p.name == name) {
                    Some(p) => {
                        if outcome == "skipped" {
                            p.skipped.push(host);
                        } else {
                            p.ran.push(host);
                        }
                        p.failed.extend(failed_line);
                        if p.ran.len() + p.skipped.len() >= p.hosts.len() {
                            out.extend(self.flush());
                        }
                    }
                    None => out.extend(failed_line),
                }
            }
            Some("stopped" | "recap") => {
                self.unfinished_at_stop = self.unfinished();
                out.extend(self.flush());
            }
            // A connection that failed before the first task: the host is
            // unreachable and no task result will say so.
            Some("host_connected") if event["ok"] == false => {
                let line = format!(
                    "connecting to {}: {}",
                    event["host"].as_str().unwrap_or("?"),
                    event["msg"].as_str().unwrap_or("").trim()
                );
                say(&format!("      {at:6.2}s  UNREACHABLE {line}"));
                failures.push(line);
            }
            _ => {}
        }
        out
    }

    /// `TASK on HOST` for the hosts the pending task has no result from.
    pub fn unfinished(&self) -> Vec<String> {
        self.pending.as_ref().map_or_else(Vec::new, |p| {
            p.hosts
                .iter()
                .filter(|h| !p.ran.contains(h) && !p.skipped.contains(h))
                .map(|h| format!("{} on {h}", p.name))
                .collect()
        })
    }

    /// The pending task's line (unless skipped everywhere) and its failures.
    pub fn flush(&mut self) -> Vec<String> {
        let Some(p) = self.pending.take() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if !p.ran.is_empty() || p.ran.len() + p.skipped.len() < p.hosts.len() {
            // Hosts with no result yet (a stopped run) are named as started.
            let shown: Vec<&str> = if p.ran.is_empty() {
                p.hosts.iter().map(String::as_str).collect()
            } else {
                p.ran.iter().map(String::as_str).collect()
            };
            let skipped = if p.skipped.is_empty() {
                String::new()
            } else {
                format!(" (skipped on {})", p.skipped.join(","))
            };
            out.push(format!(
                "      {:6.2}s  {} [{}]{skipped}",
                p.at,
                p.name,
                shown.join(",")
            ));
        }
        out.extend(p.failed);
        out
    }
}

fn describe(path: &Path, vars: &[String]) -> String {
    let mut text = path.display().to_string();
    for v in vars {
        text.push_str(&format!(" -e {}", crate::shell::quote(v)));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_come_from_final_host_results() {
        let event: Value = serde_json::from_str(
            r#"{"event":"host_result","task":{"name":"Stop"},"host":"bc1","outcome":"changed","item":null,"started_at":100.5,"elapsed_ms":250.0}"#,
        )
        .unwrap();
        let span = span_of(&event).unwrap();
        assert_eq!(span.host, "bc1");
        assert!((span.ended_at - 100.75).abs() < 1e-9);
        let item: Value = serde_json::from_str(
            r#"{"event":"host_result","task":{"name":"Stop"},"host":"bc1","outcome":"ok","item":"x","started_at":1.0,"elapsed_ms":1.0}"#,
        )
        .unwrap();
        assert!(span_of(&item).is_none());
    }

    #[test]
    fn the_run_is_in_a_process_group_of_its_own() {
        // A stand-in for `baton run` that reports its process group as an
        // event: a terminal's Ctrl-C goes to the drill's group, and the run
        // must not be in it (it would get the signal twice).
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("fake-baton");
        std::fs::write(
            &exe,
            "#!/bin/sh\nprintf '{\"event\":\"pgid\",\"pgid\":%s}\\n' \"$(ps -o pgid= -p $$ | tr -d ' ')\"\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let runner = Runner {
            exe,
            playbooks: dir.path().to_path_buf(),
            inventory: vec![],
            extra_vars: vec![],
            quiet: true,
        };
        let mut seen = None;
        let (_, _) = runner.run_observed("x", &[], None, &mut |ev, pid| {
            if ev["event"] == "pgid" {
                seen = Some((ev["pgid"].as_i64().unwrap(), i64::from(pid)));
            }
        });
        let (pgid, pid) = seen.expect("the stand-in's event");
        // SAFETY: getpgrp cannot fail.
        let ours = i64::from(unsafe { libc::getpgrp() });
        assert_ne!(pgid, ours);
        assert_eq!(pgid, pid, "it leads its own group");
    }

    #[test]
    fn the_printed_command_quotes_each_extra_var_for_the_shell() {
        let text = describe(
            Path::new("playbooks/failover.yml"),
            &[
                "to=bc2".into(),
                r#"{"hvr_fence_command":"lab crash bc1"}"#.into(),
            ],
        );
        assert_eq!(
            shlex::split(&text).unwrap(),
            vec![
                "playbooks/failover.yml",
                "-e",
                "to=bc2",
                "-e",
                r#"{"hvr_fence_command":"lab crash bc1"}"#
            ]
        );
    }

    fn ev(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    fn result(task: &str, host: &str, outcome: &str) -> Value {
        ev(&format!(
            r#"{{"event":"host_result","task":{{"name":"{task}"}},"host":"{host}","outcome":"{outcome}","ignored":false,"item":null,"result":{{"msg":"boom"}},"time":101.0}}"#
        ))
    }

    #[test]
    fn tasks_skipped_everywhere_are_not_printed_and_lines_name_where_a_task_ran() {
        let mut p = Progress::default();
        let mut failures = Vec::new();
        let start = |name: &str| {
            ev(&format!(
                r#"{{"event":"task_start","task":{{"name":"{name}"}},"hosts":["bc1","bc2"],"time":100.5}}"#
            ))
        };
        let mut lines = Vec::new();
        for e in [
            start("Lock | give back since another node refused"),
            result(
                "Lock | give back since another node refused",
                "bc1",
                "skipped",
            ),
            result(
                "Lock | give back since another node refused",
                "bc2",
                "skipped",
            ),
            start("Critical | stop on from"),
            result("Critical | stop on from", "bc1", "changed"),
            result("Critical | stop on from", "bc2", "skipped"),
            start("Critical | start on to"),
            result("Critical | start on to", "bc2", "failed"),
        ] {
            lines.extend(p.event(&e, 100.0, &mut failures));
        }
        // The last task is still waiting for bc1's result.
        assert_eq!(
            lines,
            vec!["        0.50s  Critical | stop on from [bc1] (skipped on bc2)".to_string()]
        );
        lines.extend(p.event(
            &ev(r#"{"event":"stopped","reason":"x","time":102.0}"#),
            100.0,
            &mut failures,
        ));
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[1], "        0.50s  Critical | start on to [bc2]");
        assert!(
            lines[2].contains("FAILED Critical | start on to on bc2: boom"),
            "{lines:?}"
        );
        assert_eq!(
            failures,
            vec!["Critical | start on to on bc2: boom".to_string()]
        );
        assert!(!lines.iter().any(|l| l.contains("give back")), "{lines:?}");
        // bc1 never answered the task the run stopped in: its outcome is unknown.
        assert_eq!(
            p.unfinished_at_stop,
            vec!["Critical | start on to on bc1".to_string()]
        );
    }
}
