//! One case of the fault matrix: the baseline check, the operation with its
//! fault at boundary k, the clear, the re-run, the invariants, and the
//! restore that brings the pair back to a baseline for the next case.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::super::measure;
use super::super::nodes::Sampler;
use super::super::phases::{boot_decision, close_persisted, other_than};
use super::super::probe::{self, Probe};
use super::super::setup::{LabHandle, Target};
use super::super::{now, signals};
use super::fault::{Fault, Op};
use super::steps;
use super::verdict::{self, Boundary};
use super::watch::{self, Watch};

/// A run that has not ended this long after it started is killed and
/// counted a violation: an operator would wait forever.
const RUN_LIMIT: Duration = Duration::from_secs(150);
/// How long the client may take to be served again after the re-run.
const CLIENT_WAIT: Duration = Duration::from_secs(20);
const FILES: &str = "/opt/hvr/hvr_config/files";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rerun {
    /// No re-run (the clean run, a boundary beyond the run, a case that
    /// could not run).
    NotRun,
    /// The re-run exited 0.
    Completed,
    /// Exit non-zero with a message naming the manual step.
    Refused,
    /// Exit non-zero without a manual step: a violation.
    Failed,
}

#[derive(Debug, Serialize)]
pub struct CaseResult {
    pub op: Op,
    /// `none` for the clean run.
    pub fault: String,
    /// The task start (from 1) the fault was injected at; 0 for the clean run.
    pub boundary: usize,
    /// `--at TEXT`, when the boundary was asked for by task name.
    pub at: Option<String>,
    /// The task whose start was the boundary.
    pub task: String,
    pub injected: String,
    pub from: String,
    pub to: String,
    pub task_starts: usize,
    pub first_exit: Option<i32>,
    pub first_error: Option<String>,
    pub rerun: Rerun,
    pub rerun_exit: Option<i32>,
    pub rerun_secs: f64,
    pub rerun_error: Option<String>,
    pub manual_step: Option<String>,
    /// A refusal's manual step, followed by the harness, then the operation
    /// once more: what came of it.
    pub step_followed: Option<String>,
    pub acked: usize,
    /// `None`: could not be read back (the client was not served again).
    pub lost: Option<Vec<String>>,
    /// Failover's phantom-change reports: the last key received (`None`: none was).
    pub phantom_after: Vec<Option<String>>,
    pub split_brain: Vec<(f64, f64, Vec<String>)>,
    /// Rounds of the client's ARP check (`watch::ArpWatch`, about 1 s
    /// each): that could tell, that could not (arping's output quoted in
    /// `notes` once), and those where more than one MAC answered.
    pub arp_rounds: usize,
    pub arp_unknown: usize,
    pub arp_split_brain: Vec<(f64, Vec<String>)>,
    pub violations: Vec<String>,
    pub notes: Vec<String>,
    /// The case could not be run (the lab, a setup step): not counted.
    pub error: Option<String>,
    /// The run ended before boundary k: not counted.
    pub beyond: bool,
    pub secs: f64,
    /// Where the case's time went, in order: (phase, seconds).
    pub phases: Vec<(String, f64)>,
}

impl CaseResult {
    pub(super) fn new(op: Op, fault: Option<Fault>, at: Option<&Boundary>) -> CaseResult {
        CaseResult {
            op,
            fault: fault.map_or("none".into(), |f| f.name().into()),
            boundary: match at {
                Some(Boundary::Nth(k)) => *k,
                _ => 0,
            },
            at: match at {
                Some(Boundary::Task(t)) => Some(t.clone()),
                _ => None,
            },
            task: String::new(),
            injected: String::new(),
            from: String::new(),
            to: String::new(),
            task_starts: 0,
            first_exit: None,
            first_error: None,
            rerun: Rerun::NotRun,
            rerun_exit: None,
            rerun_secs: 0.0,
            rerun_error: None,
            manual_step: None,
            step_followed: None,
            acked: 0,
            lost: None,
            phantom_after: Vec::new(),
            split_brain: Vec::new(),
            arp_rounds: 0,
            arp_unknown: 0,
            arp_split_brain: Vec::new(),
            violations: Vec::new(),
            notes: Vec::new(),
            error: None,
            beyond: false,
            secs: 0.0,
            phases: Vec::new(),
        }
    }

    /// A case that counts: faulted, at a boundary inside the run, run.
    pub fn ran(&self) -> bool {
        self.fault != "none" && self.error.is_none() && !self.beyond
    }

    pub fn line(&self) -> String {
        let head = format!(
            "    [{} {} k={}{}] {}",
            self.op,
            self.fault,
            self.boundary,
            self.at
                .as_ref()
                .map_or(String::new(), |t| format!(" at `{t}`")),
            if self.task.is_empty() {
                "-"
            } else {
                &self.task
            }
        );
        if let Some(e) = &self.error {
            return format!("{head}: COULD NOT RUN: {e}");
        }
        if self.beyond {
            return format!("{head}: beyond the run ({} task starts)", self.task_starts);
        }
        let lost = self
            .lost
            .as_ref()
            .map_or("?".to_string(), |l| l.len().to_string());
        let rerun = match self.rerun {
            Rerun::NotRun => format!("{} task starts", self.task_starts),
            Rerun::Completed => format!("re-run completed in {:.1} s", self.rerun_secs),
            Rerun::Refused => format!(
                "re-run refused (exit {}), manual step: {}",
                exit_text(self.rerun_exit),
                self.manual_step.as_deref().unwrap_or("?")
            ),
            Rerun::Failed => format!("re-run FAILED (exit {})", exit_text(self.rerun_exit)),
        };
        let verdict = if self.violations.is_empty() {
            "ok".to_string()
        } else {
            format!("VIOLATION: {}", self.violations.join("; "))
        };
        format!(
            "{head}: first exit {}; {rerun}; lost {lost} of {} acked; {:.0} s; {verdict}",
            exit_text(self.first_exit),
            self.acked,
            self.secs
        )
    }
}

fn lab(target: &Target) -> Result<&LabHandle, String> {
    target
        .lab
        .as_ref()
        .ok_or_else(|| "the fault matrix needs a lab".to_string())
}

/// The baseline: exactly one node active (START, scheduler, VIP), the
/// other reachable, STOP and without the VIP; no taint, no lock on either,
/// no taint on the controller. The (active, standby) pair.
pub fn baseline(target: &Target) -> Result<(String, String), String> {
    let lab = lab(target)?;
    let sampler = Sampler::start(&target.nodes, &target.sample);
    std::thread::sleep(Duration::from_millis(1200));
    let samples = sampler.finish();
    let mut active = Vec::new();
    for (node, s) in &samples {
        let Some(last) = s.last() else {
            return Err(format!("{node} gave no sample"));
        };
        if !last.reachable {
            return Err(format!("{node} is unreachable"));
        }
        if last.vip && last.state == "START" && last.scheduler {
            active.push(node.clone());
        } else if last.vip || last.state != "STOP" {
            return Err(format!(
                "{node}: state {}, VIP {}, scheduler {}",
                last.state, last.vip, last.scheduler
            ));
        }
        let left = lab
            .lab(
                &["shell", node],
                &[
                    "sh",
                    "-c",
                    &format!("cd {FILES} && ls hvrfailover.peer_tainted hvrfailover.self_tainted hvrfailover.lock 2>/dev/null || true"),
                ],
            )
            .map_err(|e| format!("{node}: {e}"))?;
        if !left.trim().is_empty() {
            return Err(format!(
                "{node} has {}",
                left.split_whitespace().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    if let Some(dir) = target.runner.inventory.first().and_then(|p| p.parent()) {
        let f = dir.join("hvrfailover-taint.state");
        if std::fs::read_to_string(&f).is_ok_and(|t| !t.trim().is_empty()) {
            return Err(format!("the controller records a taint in {}", f.display()));
        }
    }
    match active.as_slice() {
        [a] => Ok((a.clone(), other_than(target, a))),
        _ => Err(format!("{} active nodes", active.len())),
    }
}

/// The baseline a case starts from, checked just before it (`baseline`):
/// the (active, standby) pair and the seconds the check took.
pub struct Baseline {
    pub pair: (String, String),
    pub secs: f64,
}

/// SIGKILL of `node`'s scheduler, then its link cut 300 ms later: the
/// drill's abrupt failure.
fn kill_active(lab: &LabHandle, node: &str) -> Result<(), String> {
    lab.lab(
        &["shell", node],
        &[
            "sh",
            "-c",
            &format!("kill -9 $(cat {FILES}/hvrscheduler_hvrhub.pid)"),
        ],
    )?;
    std::thread::sleep(Duration::from_millis(300));
    lab.lab(&["link", node, "down"], &[])?;
    Ok(())
}

/// `hvr_fence_command` for the lab: a crash of the old node.
fn fence_var(lab: &LabHandle, node: &str) -> String {
    let fence = format!(
        "{} lab crash {} --dir {}",
        crate::shell::quote(&lab.exe.display().to_string()),
        crate::shell::quote(node),
        crate::shell::quote(&lab.dir.display().to_string())
    );
    serde_json::json!({ "hvr_fence_command": fence }).to_string()
}

/// Boots `node` (ignoring "is running") and waits for its boot decision.
fn boot(lab: &LabHandle, node: &str) -> String {
    // Whole seconds: the log's times are.
    let since = now().floor();
    match lab.lab(&["boot", node], &[]) {
        Ok(_) => boot_decision(lab, node, since).trim().to_string(),
        Err(e) => e,
    }
}

/// Adds the time since `since` to the case's phases as `name`, and
/// restarts `since`.
fn lap(r: &mut CaseResult, since: &mut Instant, name: &str) {
    r.phases
        .push((name.to_string(), since.elapsed().as_secs_f64()));
    *since = Instant::now();
}

/// The phases in one line: `name 1.2 s, ...`.
pub fn phases_line(r: &CaseResult) -> String {
    r.phases
        .iter()
        .map(|(n, s)| format!("{n} {s:.1} s"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A run's exit code as the line shows it; `None` is a run ended by a
/// signal (the controller-kill fault's SIGKILL) or never started.
pub(super) fn exit_text(code: Option<i32>) -> String {
    code.map_or("none (killed by a signal)".to_string(), |c| c.to_string())
}

/// Runs the case. `fault: None` is the clean run (k = 0): it counts the
/// operation's boundaries and checks the invariants without a fault.
pub fn run(
    target: &Target,
    base: &Baseline,
    op: Op,
    fault: Option<(Fault, &Boundary)>,
    prefix: &str,
) -> CaseResult {
    let started = Instant::now();
    let mut r = CaseResult::new(op, fault.map(|f| f.0), fault.map(|f| f.1));
    r.phases.push(("baseline".into(), base.secs));
    if let Err(e) = run_inner(target, &base.pair, op, fault, prefix, &mut r) {
        r.error = Some(e);
    }
    // A stop asked for during the case (Ctrl-C, SIGTERM) was passed on to
    // its runs: what they did then is the stop's doing, not the fault's,
    // so the case is not judged (nor counted).
    if let (Some(sig), None) = (signals::stopped(), &r.error) {
        let would = if r.violations.is_empty() {
            String::new()
        } else {
            format!(
                "; {} violation(s) it would have counted: {}",
                r.violations.len(),
                r.violations.join("; ")
            )
        };
        r.error = Some(format!(
            "the slice was stopped (signal {sig}) during this case: not judged{would}"
        ));
        r.violations.clear();
        // Cut before its boundary came: not beyond the run.
        r.beyond = false;
    }
    r.secs = started.elapsed().as_secs_f64() + base.secs;
    r
}

/// One `baton run` of the operation, injecting at the boundary, if any.
/// Returns (exit, error, task starts).
#[allow(clippy::too_many_arguments)]
fn observed_run(
    target: &Target,
    op: Op,
    vars: &[String],
    control: &std::path::Path,
    inject: Option<(Fault, &Boundary, &str, &str)>,
    r: &mut CaseResult,
) -> (Option<i32>, Option<String>, usize) {
    let lab = target.lab.as_ref();
    let deadline = Instant::now() + RUN_LIMIT;
    let mut starts = 0usize;
    let mut hung = false;
    let mut injected: Option<(usize, String, String)> = None;
    let mut phantom = Vec::new();
    let (record, err) =
        target
            .runner
            .run_observed(op.name(), vars, Some(control), &mut |ev, pid| {
                if ev.is_null() {
                    if !hung && Instant::now() > deadline {
                        hung = true;
                        if let Ok(pid) = i32::try_from(pid) {
                            // SAFETY: kill(2) on our own unreaped child.
                            unsafe {
                                libc::kill(pid, libc::SIGKILL);
                            }
                        }
                    }
                    return;
                }
                if let Some(p) = verdict::phantom_after(ev) {
                    phantom.push(p);
                }
                if ev["event"] == "task_start" {
                    starts += 1;
                    if let (Some((fault, at, from, to)), Some(lab)) = (inject, lab) {
                        let task = ev["task"]["name"].as_str().unwrap_or("?");
                        if injected.is_none() && at.hits(starts, task) {
                            let what = fault
                                .inject(lab, from, to, pid)
                                .unwrap_or_else(|e| format!("injection failed: {e}"));
                            injected = Some((starts, task.to_string(), what));
                        }
                    }
                }
            });
    close_persisted(control);
    r.phantom_after.extend(phantom);
    if let Some((n, task, what)) = injected {
        r.boundary = n;
        r.task = task;
        r.injected = what;
    }
    if hung {
        r.violations.push(format!(
            "`baton run {}` did not end within {} s (killed)",
            op,
            RUN_LIMIT.as_secs()
        ));
    }
    (record.exit_code, err, starts)
}

fn run_inner(
    target: &Target,
    (active, standby): &(String, String),
    op: Op,
    fault: Option<(Fault, &Boundary)>,
    prefix: &str,
    r: &mut CaseResult,
) -> Result<(), String> {
    let (fault, at) = (fault.map(|f| f.0), fault.map(|f| f.1));
    let lab = lab(target)?;
    let mut since = Instant::now();
    // Recover needs a failover behind it: the abrupt failure, failover
    // (fenced by a crash), and the old node booted again.
    let (from, to) = if op == Op::Recover {
        kill_active(lab, active)?;
        let vars = vec![format!("to={standby}"), fence_var(lab, active)];
        let (_, err) = target.runner.run("failover", &vars);
        if let Some(e) = err {
            return Err(format!("the failover before recover: {e}"));
        }
        let decided = boot(lab, active);
        r.notes.push(format!("{active} booted: {decided}"));
        (standby.clone(), active.clone())
    } else {
        (active.clone(), standby.clone())
    };
    if op == Op::Recover {
        lap(r, &mut since, "failover and boot before recover");
    }
    r.from = from.clone();
    r.to = to.clone();
    let watch = Watch::start(&target.nodes, &target.vip);
    let arp = watch::ArpWatch::start(&target.probe.place, &target.vip);
    let probe = Probe::start(&target.probe, prefix);
    let warm_by = Instant::now() + CLIENT_WAIT;
    while probe.first_success().is_none()
        && Instant::now() < warm_by
        && signals::stopped().is_none()
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let Some(warm) = probe.first_success() else {
        probe.finish();
        watch.finish();
        arp.finish();
        return Err(format!(
            "the client was never served through the VIP {} before the case",
            target.vip
        ));
    };
    lap(r, &mut since, "client served");
    // A second of rows before the operation (failover: before the failure).
    std::thread::sleep(Duration::from_secs(1));
    let vars: Vec<String> = match op {
        Op::Switchover => vec![format!("from={from}"), format!("to={to}")],
        Op::Failover => {
            kill_active(lab, &from)?;
            vec![format!("to={to}"), fence_var(lab, &from)]
        }
        Op::Recover => vec![format!("node={to}")],
    };
    let control = tempfile::Builder::new()
        .prefix("baton-faults-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir_in("/tmp")
        .map_err(|e| format!("cannot create a control directory: {e}"))?;
    let inject = fault
        .zip(at)
        .map(|(f, at)| (f, at, from.as_str(), to.as_str()));
    let (exit, err, starts) = observed_run(target, op, &vars, control.path(), inject, r);
    lap(r, &mut since, "rows before and the first run");
    r.first_exit = exit;
    r.first_error = err;
    r.task_starts = starts;
    if let Some(f) = fault {
        if r.injected.is_empty() {
            r.beyond = true;
        } else {
            match f.clear(lab, &from, &to) {
                Ok(Some(node)) => {
                    let decided = boot(lab, &node);
                    r.notes.push(format!("{node} booted: {decided}"));
                }
                Ok(None) => {}
                Err(e) => r.notes.push(format!("clearing the fault: {e}")),
            }
            lap(r, &mut since, "clear");
            let t0 = now();
            let (exit, err, _) = observed_run(target, op, &vars, control.path(), None, r);
            r.rerun_secs = now() - t0;
            r.rerun_exit = exit;
            r.manual_step = err
                .as_deref()
                .map(verdict::failure_messages)
                .and_then(verdict::manual_step);
            r.rerun = match (exit, &r.manual_step) {
                (Some(0), _) => Rerun::Completed,
                (_, Some(_)) => Rerun::Refused,
                _ => Rerun::Failed,
            };
            if r.rerun == Rerun::Failed {
                r.violations.push(format!(
                    "the re-run exited {} without naming a manual step: {}",
                    exit_text(exit),
                    err.as_deref().unwrap_or("(no message)")
                ));
            }
            r.rerun_error = err;
            lap(r, &mut since, "re-run");
            if r.rerun == Rerun::Refused {
                follow_step(target, op, &vars, control.path(), r);
                lap(r, &mut since, "manual step and the run again");
            }
        }
    } else if exit != Some(0) {
        r.violations.push(format!(
            "the clean run failed: {}",
            r.first_error.as_deref().unwrap_or("?")
        ));
    }
    // The client must be served again (bounded), then the rows are read back.
    let ended = Instant::now();
    std::thread::sleep(Duration::from_secs(1));
    while ended.elapsed() < CLIENT_WAIT && signals::stopped().is_none() {
        if probe.last_success().is_some_and(|t| t >= now() - 0.5) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let recovered = probe.last_success().is_some_and(|t| t >= now() - 1.5);
    lap(r, &mut since, "client served again");
    let samples = probe.finish();
    let vip = watch.finish();
    let rounds = arp.finish();
    let counted: Vec<_> = samples.into_iter().filter(|s| s.t >= warm).collect();
    let acked = measure::acked(&counted);
    r.acked = acked.len();
    r.split_brain = watch::split_brain(&vip);
    for (a, b, nodes) in &r.split_brain {
        r.violations.push(format!(
            "{} held the VIP with their links up at once for {:.0} ms (from {a:.3})",
            nodes.join(" and "),
            (b - a) * 1000.0
        ));
    }
    r.arp_rounds = rounds.iter().filter(|s| s.macs.is_some()).count();
    r.arp_unknown = rounds.len() - r.arp_rounds;
    if let Some(bad) = rounds.iter().find(|s| s.macs.is_none()) {
        r.notes.push(format!(
            "the client's ARP check could not tell in {} of {} round(s), e.g. arping said: {}",
            r.arp_unknown,
            rounds.len(),
            bad.said.chars().take(300).collect::<String>()
        ));
    }
    r.arp_split_brain = watch::arp_split_brain(&rounds);
    for (t, macs) in &r.arp_split_brain {
        r.violations.push(format!(
            "{} MACs answered ARP for the VIP {} from the client at once ({}, round ending {t:.3})",
            macs.len(),
            target.vip,
            macs.join(" and ")
        ));
    }
    if recovered {
        let deadline = Instant::now()
            + Duration::from_secs(30)
            + Duration::from_millis(20 * acked.len() as u64);
        match probe::present(&target.probe, &acked, deadline) {
            Ok(found) => r.lost = Some(measure::lost(&acked, &found)),
            Err(e) => r.notes.push(format!("rows not read back: {e}")),
        }
        lap(r, &mut since, "rows read back");
    } else {
        r.notes
            .push("the client was not served again: rows not read back".into());
        if r.rerun == Rerun::Completed || (fault.is_none() && exit == Some(0)) {
            r.violations.push(format!(
                "the operation completed but the client was not served through the VIP within {} s",
                CLIENT_WAIT.as_secs()
            ));
        }
    }
    if let Some(lost) = &r.lost {
        if op.graceful() && !lost.is_empty() {
            r.violations.push(format!(
                "{} acknowledged row(s) lost on a graceful path: {}",
                lost.len(),
                abbreviate(lost)
            ));
        }
        if !op.graceful() {
            let bad = verdict::uncovered(lost, &r.phantom_after);
            if !bad.is_empty() {
                r.violations.push(format!(
                    "{} lost acknowledged row(s) not among the reported phantom changes (after {:?}): {}",
                    bad.len(),
                    r.phantom_after,
                    abbreviate(&bad)
                ));
            }
        }
    }
    restore(target, op, &from, r);
    if op == Op::Failover {
        lap(r, &mut since, "restore (boot, recover)");
    }
    Ok(())
}

/// The runs a refusal's manual steps lead to, for [`steps::follow`].
struct CaseOperator<'a> {
    target: &'a Target,
    op: Op,
    vars: &'a [String],
    control: &'a std::path::Path,
    r: &'a mut CaseResult,
}

impl steps::Operator for CaseOperator<'_> {
    fn step(&mut self, name: &str, vars: &[String]) -> Option<String> {
        self.target.runner.run(name, vars).1
    }
    fn again(&mut self) -> (Option<i32>, Option<String>) {
        let (exit, err, _) =
            observed_run(self.target, self.op, self.vars, self.control, None, self.r);
        (exit, err)
    }
}

/// Follows the re-run's refusal as an operator would (`steps::follow`);
/// being stuck is a violation.
fn follow_step(
    target: &Target,
    op: Op,
    vars: &[String],
    control: &std::path::Path,
    r: &mut CaseResult,
) {
    let refusal = r.rerun_error.clone().unwrap_or_default();
    let exit = r.rerun_exit;
    let chain = steps::follow(
        &refusal,
        exit,
        op.name(),
        &mut CaseOperator {
            target,
            op,
            vars,
            control,
            r,
        },
    );
    if let Some(step) = chain.not_followed {
        r.notes.push(format!("manual step not followed: `{step}`"));
    }
    r.violations.extend(chain.violation);
    r.step_followed = Some(chain.followed);
}

fn abbreviate(keys: &[String]) -> String {
    if keys.len() <= 6 {
        keys.join(", ")
    } else {
        format!(
            "{}, ... {}",
            keys[..3].join(", "),
            keys[keys.len() - 2..].join(", ")
        )
    }
}

/// After a failover the old node is crashed and tainted: boot it and
/// recover it, so the next case starts from a baseline. A failure here is
/// a note: the next case's baseline check rebuilds the lab.
fn restore(target: &Target, op: Op, from: &str, r: &mut CaseResult) {
    let Some(lab) = target.lab.as_ref() else {
        return;
    };
    if op != Op::Failover {
        return;
    }
    let decided = boot(lab, from);
    r.notes.push(format!("restore: {from} booted: {decided}"));
    let (_, err) = target.runner.run("recover", &[format!("node={from}")]);
    if let Some(e) = err {
        r.notes
            .push(format!("restore: recover -e node={from} failed: {e}"));
    }
}
