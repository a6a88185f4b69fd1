//! `baton drill --lab --faults`: the fault matrix (issue 13). Each case is
//! (operation, fault, boundary k): the operation runs while the client
//! writes through the VIP; when the k-th `task_start` event of its JSON
//! stream appears, the fault is injected; the run ends or dies; the fault
//! is cleared; the same playbook runs again with the same variables. The
//! invariants, checked for every case:
//!
//! - never two nodes holding the VIP with their link up (sampled every
//!   20 ms on both nodes, `watch`);
//! - graceful paths (switchover, recover) lose no acknowledged row; on the
//!   abrupt path (failover) every lost acknowledged row is after the last
//!   key failover reported as received (its phantom-change report);
//! - the re-run completes (exit 0), or refuses naming the manual step
//!   (`baton run ...`).
//!
//! Slices: `--op`, `--fault`, `--case` (boundaries); `bench/faults.sh` runs
//! them and prints the figures. Results go to `--report DIR/faults.json`
//! after every case, so a stopped slice keeps what it measured.
//!
//! Exit codes: 0 no violation; 2 at least one violation; 4 a bad slice or a
//! refusal before anything ran; 1 the lab could not be made; 128+N stopped.

mod case;
mod disk_full;
mod fault;
mod slow;
mod steps;
mod task_names;
mod verdict;
mod watch;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use fault::{Fault, Op};

use super::setup::{self, Target};
use super::{now, say, signals, warn, DrillArgs, DrillError};
use crate::error::exit_code;
use case::{CaseResult, Rerun};
use verdict::Boundary;

/// What a slice runs.
#[derive(Debug, Clone)]
pub struct Selection {
    pub ops: Vec<Op>,
    pub faults: Vec<Fault>,
    /// Boundaries; `None`: every boundary of the operation's clean run.
    pub cases: Option<Vec<Boundary>>,
}

/// The comma-separated words of `flag`'s values; an empty word (`--op ''`,
/// `--fault a,`) is refused rather than read as "all": an unset variable in
/// a script must not start the whole matrix.
fn words(flag: &str, values: &[String]) -> Result<Vec<String>, String> {
    let words: Vec<String> = values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|w| w.trim().to_string())
        .collect();
    if words.iter().any(String::is_empty) {
        return Err(format!(
            "{flag}: an empty name in {:?}; leave {flag} out to mean all",
            values.join(" ")
        ));
    }
    Ok(words)
}

/// Keeps the first of each value, in order: named twice is run once.
fn once_each<T: PartialEq>(values: &mut Vec<T>) {
    let mut kept: Vec<T> = Vec::with_capacity(values.len());
    for v in values.drain(..) {
        if !kept.contains(&v) {
            kept.push(v);
        }
    }
    *values = kept;
}

/// The slice from `--op`, `--fault`, `--case`, `--at`; errors name the bad
/// word and the choices. A slice with no fault that applies to its
/// operations, or an `--at` text that no task name of the content
/// contains, is refused here, before the lab is built.
pub fn selection(args: &DrillArgs) -> Result<Selection, String> {
    let mut ops = Vec::new();
    for w in words("--op", &args.ops)? {
        ops.push(Op::parse(&w).ok_or_else(|| {
            format!("--op: unknown operation `{w}`; choose from switchover, failover, recover")
        })?);
    }
    if ops.is_empty() {
        ops = Op::ALL.to_vec();
    }
    once_each(&mut ops);
    let mut faults = Vec::new();
    for w in words("--fault", &args.fault_names)? {
        faults.push(Fault::parse(&w).ok_or_else(|| {
            let known: Vec<&str> = Fault::ALL.iter().map(|f| f.name()).collect();
            format!(
                "--fault: unknown fault `{w}`; choose from {}",
                known.join(", ")
            )
        })?);
    }
    if faults.is_empty() {
        faults = Fault::ALL.to_vec();
    }
    once_each(&mut faults);
    if !ops.iter().any(|&op| faults.iter().any(|f| f.applies(op))) {
        let applicable: Vec<&str> = Fault::ALL
            .iter()
            .filter(|f| ops.iter().any(|&op| f.applies(op)))
            .map(|f| f.name())
            .collect();
        return Err(format!(
            "--fault: none of {} applies to {} (a failover starts with the from-node's scheduler dead and its link cut: the from-node's faults and the partition mean nothing there); choose from {}",
            faults.iter().map(|f| f.name()).collect::<Vec<_>>().join(", "),
            ops.iter().map(|o| o.name()).collect::<Vec<_>>().join(", "),
            applicable.join(", ")
        ));
    }
    let mut cases: Option<Vec<Boundary>> = args
        .cases
        .as_deref()
        .map(verdict::parse_cases)
        .transpose()?
        .map(|ks| ks.into_iter().map(Boundary::Nth).collect());
    if !args.at.is_empty() {
        if cases.is_some() {
            return Err("give --case or --at, not both".into());
        }
        if let Some(t) = args.at.iter().find(|t| t.trim().is_empty()) {
            return Err(format!("--at: {t:?} is empty; give part of a task's name"));
        }
        let unmatched = task_names::unmatched(&args.playbooks, &args.at)
            .map_err(|e| format!("--at: {e}; run from baton's checkout or pass --playbooks DIR"))?;
        if !unmatched.is_empty() {
            return Err(format!(
                "--at: no task name in {} or the roles beside it contains {}; give part of a task's name as a run prints it (e.g. `Stop | flush`), or --case N",
                args.playbooks.display(),
                unmatched
                    .iter()
                    .map(|t| format!("`{t}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        cases = Some(args.at.iter().cloned().map(Boundary::Task).collect());
    }
    Ok(Selection { ops, faults, cases })
}

/// Task boundaries of each operation's clean run in the lab (task_start
/// events of the content of 2026-12-01, measured: switchover 109, failover
/// 67, recover 52), used for the estimate before a run measures them.
fn typical_boundaries(op: Op) -> usize {
    match op {
        Op::Switchover => 109,
        Op::Failover => 67,
        Op::Recover => 52,
    }
}

/// Seconds one case of each operation takes in the lab: the medians of the
/// slices of 2026-12-01 (debug build, 2 cores, three to six slices at once,
/// load 10 to 37). Per fault they ranged from 18 s (switchover ×
/// to-disk-full) to 52 s (switchover × partition, whose cut at the flush
/// waits out hvr_flush_timeout); failover and recover include the setup and
/// the restore around them.
fn typical_case_secs(op: Op) -> f64 {
    match op {
        Op::Switchover => 38.0,
        Op::Failover => 28.0,
        Op::Recover => 40.0,
    }
}

/// The boundaries of `--case` above an operation's typical count: each
/// is reported "beyond the run", not run (the count may differ by one or
/// two between runs, so they are not refused).
fn beyond_typical(sel: &Selection, op: Op) -> Vec<usize> {
    sel.cases
        .iter()
        .flatten()
        .filter_map(|b| match b {
            Boundary::Nth(k) if *k > typical_boundaries(op) => Some(*k),
            _ => None,
        })
        .collect()
}

/// (cases, seconds) a slice is expected to take.
pub fn estimate(sel: &Selection) -> (usize, f64) {
    let mut cases = 0;
    let mut secs = 0.0;
    for &op in &sel.ops {
        let faults = sel.faults.iter().filter(|f| f.applies(op)).count();
        if faults == 0 {
            continue;
        }
        let per = sel.cases.as_ref().map_or(typical_boundaries(op), |c| {
            c.len() - beyond_typical(sel, op).len()
        });
        let n = per * faults;
        cases += n;
        secs += n as f64 * typical_case_secs(op);
        if sel.cases.is_none() {
            // The clean run that counts the boundaries.
            secs += typical_case_secs(op);
        }
    }
    // The lab, install, vip, boot-config and start.
    (cases, secs + 60.0)
}

/// What the estimate line adds: pairs that do not apply, boundaries beyond
/// an operation's run.
fn estimate_notes(sel: &Selection) -> Vec<String> {
    let mut notes = Vec::new();
    for &op in &sel.ops {
        let skipped: Vec<&str> = sel
            .faults
            .iter()
            .filter(|f| !f.applies(op))
            .map(|f| f.name())
            .collect();
        if !skipped.is_empty() {
            notes.push(format!(
                "{op} x {}: does not apply (a failover starts with the from-node apart already), not run",
                skipped.join(",")
            ));
        }
        let beyond = beyond_typical(sel, op);
        if let Some(first) = beyond.first() {
            notes.push(format!(
                "{op}: boundaries from {first} are likely beyond its run (about {} task starts): reported \"beyond the run\", not run",
                typical_boundaries(op)
            ));
        }
    }
    notes
}

#[derive(Serialize)]
struct Figures {
    cases_run: usize,
    could_not_run: usize,
    beyond_the_run: usize,
    violations: usize,
    reruns_completed: usize,
    reruns_refused_cleanly: usize,
    median_rerun_secs: Option<f64>,
}

#[derive(Serialize)]
struct FaultsReport<'a> {
    schema: &'static str,
    started_at: f64,
    ended_at: f64,
    boundaries: &'a [(Op, usize)],
    figures: Figures,
    cases: &'a [CaseResult],
}

fn figures(results: &[CaseResult]) -> Figures {
    let run: Vec<&CaseResult> = results.iter().filter(|c| c.ran()).collect();
    let completed: Vec<f64> = run
        .iter()
        .filter(|c| c.rerun == Rerun::Completed)
        .map(|c| c.rerun_secs)
        .collect();
    Figures {
        cases_run: run.len(),
        could_not_run: results.iter().filter(|c| c.error.is_some()).count(),
        beyond_the_run: results
            .iter()
            .filter(|c| c.beyond && c.error.is_none())
            .count(),
        violations: run.iter().map(|c| c.violations.len()).sum(),
        reruns_completed: completed.len(),
        reruns_refused_cleanly: run.iter().filter(|c| c.rerun == Rerun::Refused).count(),
        median_rerun_secs: verdict::median(&completed),
    }
}

fn print_figures(results: &[CaseResult]) {
    let f = figures(results);
    say("");
    say("==> fault matrix figures");
    say(&format!(
        "    cases run: {} ({} could not run, {} boundaries beyond the run)",
        f.cases_run, f.could_not_run, f.beyond_the_run
    ));
    say(&format!("    invariant violations: {}", f.violations));
    for c in results.iter().filter(|c| !c.violations.is_empty()) {
        for v in &c.violations {
            say(&format!("      {} {} k={}: {v}", c.op, c.fault, c.boundary));
        }
    }
    say(&format!(
        "    re-runs completed: {}; refused cleanly: {}",
        f.reruns_completed, f.reruns_refused_cleanly
    ));
    let mut steps: Vec<String> = results
        .iter()
        .filter(|c| c.rerun == Rerun::Refused)
        .filter_map(|c| c.manual_step.clone())
        .collect();
    steps.sort();
    steps.dedup();
    for s in steps {
        say(&format!("      manual step named: {s}"));
    }
    say(&format!(
        "    median time for a re-run to complete: {}",
        f.median_rerun_secs
            .map_or("-".to_string(), |s| format!("{s:.2} s"))
    ));
}

fn write_report(
    dir: &Path,
    started_at: f64,
    boundaries: &[(Op, usize)],
    results: &[CaseResult],
) -> Result<(), String> {
    let report = FaultsReport {
        schema: "baton.faults/1",
        started_at,
        ended_at: now(),
        boundaries,
        figures: figures(results),
        cases: results,
    };
    let path = dir.join("faults.json");
    let text = serde_json::to_string_pretty(&report)
        .map_err(|e| format!("cannot encode {}: {e}", path.display()))?;
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The report directory: `--report DIR`, or a new one under
/// /var/lib/baton/faults named after the UTC time; created. A `--report`
/// that already holds a faults.json is refused: a slice must not overwrite
/// another's figures. The directory, and whether this call made it (only
/// then may a refusal remove it again).
fn report_dir(args: &DrillArgs) -> Result<(PathBuf, bool), String> {
    let dir = args.report.clone().unwrap_or_else(|| {
        PathBuf::from("/var/lib/baton/faults").join(
            chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
                .format("%Y%m%dT%H%M%SZ")
                .to_string(),
        )
    });
    if dir.join("faults.json").exists() {
        return Err(format!(
            "{} holds another slice's report: pass another --report DIR, or move its faults.json",
            dir.join("faults.json").display()
        ));
    }
    let made = !dir.exists();
    std::fs::create_dir_all(&dir).map_err(|e| {
        format!(
            "cannot create the report directory {}: {e}; pass --report DIR",
            dir.display()
        )
    })?;
    Ok((dir, made))
}

/// The lab with HVR installed, the vip, boot config, and bc1 started.
fn prepare(args: &DrillArgs) -> Result<Target, DrillError> {
    let mut target = setup::lab(args)?;
    target.runner.quiet = true;
    let first = target
        .nodes
        .first()
        .map(|n| n.0.clone())
        .unwrap_or_default();
    for (name, vars) in [
        ("install", vec![]),
        ("vip", vec![]),
        ("boot-config", vec![]),
        ("start", vec![format!("node={first}")]),
    ] {
        say(&format!("==> {name} {}", vars.join(" ")));
        let t0 = std::time::Instant::now();
        let (_, err) = target.runner.run(name, &vars);
        say(&format!(
            "    <== {name}: {:.1} s",
            t0.elapsed().as_secs_f64()
        ));
        if let Some(e) = err {
            return Err(DrillError::Setup(format!("preparing the lab: {e}")));
        }
    }
    Ok(target)
}

pub fn run(args: &DrillArgs) -> i32 {
    let sel = match selection(args) {
        Ok(s) => s,
        Err(e) => {
            warn(&format!("baton drill --faults: {e}"));
            return exit_code::INVALID_INPUT;
        }
    };
    let (n, secs) = estimate(&sel);
    say(&format!(
        "fault matrix: {} x {} x {}: about {n} case(s), expected duration about {:.0} min",
        sel.ops
            .iter()
            .map(|o| o.name())
            .collect::<Vec<_>>()
            .join(","),
        sel.faults
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(","),
        sel.cases
            .as_ref()
            .map_or("every boundary".to_string(), |c| boundary_args(c)),
        secs / 60.0,
    ));
    for note in estimate_notes(&sel) {
        say(&format!("    {note}"));
    }
    if args.estimate {
        return exit_code::OK;
    }
    if !args.lab {
        warn("baton drill --faults: the fault matrix runs in a lab only: add --lab (and --dist)");
        return exit_code::INVALID_INPUT;
    }
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        warn("baton drill --faults: the lab needs root (network namespaces): run it with sudo");
        return exit_code::INVALID_INPUT;
    }
    let (report_dir, made) = match report_dir(args) {
        Ok(d) => d,
        Err(e) => {
            warn(&format!("baton drill --faults: {e}"));
            return exit_code::INVALID_INPUT;
        }
    };
    signals::install();
    let started_at = now();
    let mut target = match prepare(args) {
        Ok(t) => Some(t),
        Err(e) => {
            // Nothing was written to it: leave no empty directory of ours
            // behind (one the user gave is left as it was).
            if made {
                let _ = std::fs::remove_dir(&report_dir);
            }
            if let Some(sig) = signals::stopped() {
                warn(&format!(
                    "baton drill --faults: stopped (signal {sig}) while preparing the lab; no case ran: run the same command again"
                ));
                return 128 + sig;
            }
            return match e {
                DrillError::Refused(e) => {
                    warn(&e);
                    exit_code::INVALID_INPUT
                }
                DrillError::Setup(e) => {
                    warn(&format!("baton drill --faults: {e}"));
                    exit_code::INTERNAL
                }
            };
        }
    };
    let mut results: Vec<CaseResult> = Vec::new();
    let mut boundaries: Vec<(Op, usize)> = Vec::new();
    let stamp = now() as u64 % 1_000_000;
    let mut n = 0usize;
    let mut code = exit_code::OK;
    // Where a stop left the slice, printed as the options that resume it.
    let mut left: Option<Left> = None;
    let pairs: Vec<(Op, Fault)> = sel
        .ops
        .iter()
        .flat_map(|&op| {
            sel.faults
                .iter()
                .filter(move |f| f.applies(op))
                .map(move |&f| (op, f))
        })
        .collect();
    'ops: for &op in &sel.ops {
        if !sel.faults.iter().any(|f| f.applies(op)) {
            continue;
        }
        let ks: Vec<Boundary> = match &sel.cases {
            Some(c) => c.clone(),
            None => {
                // A clean run counts the boundaries (and checks the
                // invariants without a fault).
                let Some((t, base)) = ensure(&mut target, args) else {
                    code = exit_code::INTERNAL;
                    break 'ops;
                };
                n += 1;
                let r = case::run(t, &base, op, None, &format!("fx{stamp}c{n:04}"));
                say(&r.line());
                let count = r.task_starts;
                results.push(r);
                if signals::stopped().is_some() {
                    let later = pairs.iter().skip_while(|p| p.0 != op).copied().collect();
                    left = Some(Left {
                        current: None,
                        later,
                    });
                    break 'ops;
                }
                boundaries.push((op, count));
                (1..=count).map(Boundary::Nth).collect()
            }
        };
        for &fault in sel.faults.iter().filter(|f| f.applies(op)) {
            for (i, k) in ks.iter().enumerate() {
                if signals::stopped().is_some() {
                    left = Some(Left {
                        current: Some((op, fault, ks[i..].to_vec())),
                        later: after(&pairs, op, fault),
                    });
                    break 'ops;
                }
                let Some((t, base)) = ensure(&mut target, args) else {
                    code = exit_code::INTERNAL;
                    break 'ops;
                };
                n += 1;
                let r = case::run(t, &base, op, Some((fault, k)), &format!("fx{stamp}c{n:04}"));
                say(&r.line());
                say(&format!("      time: {}", case::phases_line(&r)));
                let beyond = r.beyond && matches!(k, Boundary::Nth(_));
                let cut = r.error.is_some();
                results.push(r);
                if let Err(e) = write_report(&report_dir, started_at, &boundaries, &results) {
                    warn(&format!("baton drill --faults: {e}"));
                }
                if signals::stopped().is_some() {
                    // A case the stop cut is run again on resuming.
                    let from = if cut { i } else { i + 1 };
                    left = Some(Left {
                        current: Some((op, fault, ks[from..].to_vec())),
                        later: after(&pairs, op, fault),
                    });
                    break 'ops;
                }
                if beyond {
                    // Later numbered boundaries are beyond it too.
                    break;
                }
            }
        }
    }
    drop(target);
    let written = write_report(&report_dir, started_at, &boundaries, &results);
    print_figures(&results);
    match &written {
        Ok(()) => say(&format!("report: {}/faults.json", report_dir.display())),
        Err(e) => warn(&format!("baton drill --faults: NO REPORT: {e}")),
    }
    if let Some(sig) = signals::stopped() {
        if let Some(left) = &left {
            for line in resume_lines(left.current.as_ref(), &left.later) {
                say(&line);
            }
        }
        return 128 + sig;
    }
    if code != exit_code::OK {
        return code;
    }
    if written.is_err() {
        return exit_code::INTERNAL;
    }
    if figures(&results).violations > 0 {
        exit_code::TASK_FAILED
    } else {
        exit_code::OK
    }
}

/// Where a stop left the slice.
struct Left {
    /// The rest of the operation x fault being run; `None`: the operation's
    /// clean run was cut, so all of it.
    current: Option<(Op, Fault, Vec<Boundary>)>,
    /// The pairs not started, in the slice's order.
    later: Vec<(Op, Fault)>,
}

/// The (operation, fault) pairs after `(op, fault)` in the slice's order.
fn after(pairs: &[(Op, Fault)], op: Op, fault: Fault) -> Vec<(Op, Fault)> {
    pairs
        .iter()
        .skip_while(|p| **p != (op, fault))
        .skip(1)
        .copied()
        .collect()
}

/// `--case` for numbered boundaries (runs joined: `61-62,70`), `--at` for
/// named ones.
fn boundary_args(ks: &[Boundary]) -> String {
    let mut nth: Vec<usize> = Vec::new();
    let mut at = Vec::new();
    for k in ks {
        match k {
            Boundary::Nth(n) => nth.push(*n),
            Boundary::Task(t) => {
                at.push(format!("--at {}", shlex::try_quote(t).unwrap_or_default()))
            }
        }
    }
    let mut runs: Vec<String> = Vec::new();
    let mut i = 0;
    while i < nth.len() {
        let mut j = i;
        while j + 1 < nth.len() && nth[j + 1] == nth[j] + 1 {
            j += 1;
        }
        runs.push(if i == j {
            nth[i].to_string()
        } else {
            format!("{}-{}", nth[i], nth[j])
        });
        i = j + 1;
    }
    if !runs.is_empty() {
        at.insert(0, format!("--case {}", runs.join(",")));
    }
    at.join(" ")
}

/// What a stopped slice prints: the options that resume it, the current
/// pair first, then the pairs not started (which keep the slice's own
/// `--case` or `--at`).
fn resume_lines(
    current: Option<&(Op, Fault, Vec<Boundary>)>,
    later: &[(Op, Fault)],
) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some((op, fault, rest)) = current.filter(|c| !c.2.is_empty()) {
        lines.push(format!(
            "to resume: the same command with --op {op} --fault {} {}",
            fault.name(),
            boundary_args(rest)
        ));
    }
    let mut ops: Vec<Op> = later.iter().map(|p| p.0).collect();
    ops.dedup();
    for op in ops {
        let faults: Vec<&str> = later
            .iter()
            .filter(|p| p.0 == op)
            .map(|p| p.1.name())
            .collect();
        lines.push(format!(
            "not started (with the slice's own --case or --at): --op {op} --fault {}",
            faults.join(",")
        ));
    }
    lines
}

/// The lab at its baseline (one active node, one standby, no taint, no
/// lock), checked once per case; rebuilt from nothing when it is not, and
/// checked again. The lab and the baseline (its (active, standby) pair and
/// the seconds the check took); `None`: it could not be made.
fn ensure<'a>(
    target: &'a mut Option<Target>,
    args: &DrillArgs,
) -> Option<(&'a Target, case::Baseline)> {
    let t0 = std::time::Instant::now();
    let checked = match target.as_ref() {
        Some(t) => case::baseline(t),
        None => Err("no lab".to_string()),
    };
    let pair = match checked {
        Ok(pair) => pair,
        Err(why) => {
            say(&format!(
                "    the lab is not at its baseline ({why}): rebuilding it"
            ));
            *target = None;
            match prepare(args) {
                Ok(t) => *target = Some(t),
                Err(DrillError::Refused(e) | DrillError::Setup(e)) => {
                    warn(&format!(
                        "baton drill --faults: cannot rebuild the lab: {e}"
                    ));
                    return None;
                }
            }
            match target.as_ref().map(case::baseline) {
                Some(Ok(pair)) => pair,
                Some(Err(e)) => {
                    warn(&format!(
                        "baton drill --faults: the rebuilt lab is not at its baseline: {e}"
                    ));
                    return None;
                }
                None => return None,
            }
        }
    };
    let secs = t0.elapsed().as_secs_f64();
    target.as_ref().map(|t| (t, case::Baseline { pair, secs }))
}

/// Whether a test that needs root runs: true as root. Outside CI a
/// non-root developer skips it (the lib's tests may not print, so the skip
/// is silent here); in CI (`CI` set) not being root fails the test.
#[cfg(test)]
fn root_or_skip() -> bool {
    // SAFETY: geteuid cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    assert!(
        root || std::env::var_os("CI").is_none(),
        "needs root, and CI must run it"
    );
    root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stopped_slice_names_the_options_that_resume_it() {
        let rest = vec![
            Boundary::Nth(61),
            Boundary::Nth(62),
            Boundary::Nth(63),
            Boundary::Nth(70),
        ];
        let current = (Op::Switchover, Fault::ToLink, rest);
        let later = [
            (Op::Switchover, Fault::Partition),
            (Op::Recover, Fault::ToLink),
            (Op::Recover, Fault::Partition),
        ];
        assert_eq!(
            resume_lines(Some(&current), &later),
            [
                "to resume: the same command with --op switchover --fault to-link --case 61-63,70",
                "not started (with the slice's own --case or --at): --op switchover --fault partition",
                "not started (with the slice's own --case or --at): --op recover --fault to-link,partition",
            ]
        );
        let named = (
            Op::Recover,
            Fault::ToLink,
            vec![Boundary::Task("Recover | it's".into())],
        );
        assert_eq!(
            resume_lines(Some(&named), &[]),
            [
                r#"to resume: the same command with --op recover --fault to-link --at "Recover | it's""#
            ]
        );
        // Nothing left of the current pair: only what was not started.
        let done = (Op::Recover, Fault::ToLink, vec![]);
        assert_eq!(resume_lines(Some(&done), &later[2..]).len(), 1);
    }

    #[test]
    fn a_case_the_stop_cut_counts_as_not_run_not_as_beyond_the_run() {
        let k = Boundary::Nth(61);
        let mut cut = CaseResult::new(Op::Switchover, Some(Fault::ControllerKill), Some(&k));
        cut.beyond = true;
        cut.error = Some("the slice was stopped (signal 2) during this case".into());
        let mut beyond = CaseResult::new(Op::Switchover, Some(Fault::ControllerKill), Some(&k));
        beyond.beyond = true;
        let f = figures(&[cut, beyond]);
        assert_eq!((f.cases_run, f.could_not_run, f.beyond_the_run), (0, 1, 1));
    }

    #[test]
    fn the_pairs_after_one_keep_the_slice_order() {
        let pairs = [
            (Op::Switchover, Fault::ToLink),
            (Op::Switchover, Fault::Partition),
            (Op::Recover, Fault::ToLink),
        ];
        assert_eq!(
            after(&pairs, Op::Switchover, Fault::Partition),
            [(Op::Recover, Fault::ToLink)]
        );
        assert!(after(&pairs, Op::Recover, Fault::ToLink).is_empty());
    }
}
