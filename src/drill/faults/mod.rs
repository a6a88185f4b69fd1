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

fn words(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|w| w.trim().to_string())
        .filter(|w| !w.is_empty())
        .collect()
}

/// The slice from `--op`, `--fault`, `--case`; errors name the bad word
/// and the choices.
pub fn selection(args: &DrillArgs) -> Result<Selection, String> {
    let mut ops = Vec::new();
    for w in words(&args.ops) {
        ops.push(Op::parse(&w).ok_or_else(|| {
            format!("--op: unknown operation `{w}`; choose from switchover, failover, recover")
        })?);
    }
    if ops.is_empty() {
        ops = Op::ALL.to_vec();
    }
    let mut faults = Vec::new();
    for w in words(&args.fault_names) {
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
        cases = Some(args.at.iter().cloned().map(Boundary::Task).collect());
    }
    Ok(Selection { ops, faults, cases })
}

/// Task boundaries of each operation's clean run in the lab (task_start
/// events, measured), used for the estimate before a run measures them.
fn typical_boundaries(op: Op) -> usize {
    match op {
        Op::Switchover => 97,
        Op::Failover => 66,
        Op::Recover => 52,
    }
}

/// Seconds one case of each operation takes in the lab (measured on
/// 2026-11-30, debug build, 2 shared cores, after the baseline was checked
/// once a case instead of twice: switchover 22 to 34 s (a cut link at the
/// flush waits out hvr_flush_timeout: 100 s), failover 25 s, recover 36
/// s; failover and recover include the setup and the restore around them).
fn typical_case_secs(op: Op) -> f64 {
    match op {
        Op::Switchover => 28.0,
        Op::Failover => 26.0,
        Op::Recover => 34.0,
    }
}

/// (cases, seconds) a slice is expected to take.
pub fn estimate(sel: &Selection) -> (usize, f64) {
    let mut cases = 0;
    let mut secs = 0.0;
    for &op in &sel.ops {
        let per = sel.cases.as_ref().map_or(typical_boundaries(op), Vec::len);
        let n = per * sel.faults.iter().filter(|f| f.applies(op)).count();
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
        beyond_the_run: results.iter().filter(|c| c.beyond).count(),
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
        "fault matrix: {} x {} x {}: about {n} cases, expected duration about {:.0} min",
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
            .map_or("every boundary".to_string(), |c| format!(
                "boundaries {}",
                c.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        secs / 60.0,
    ));
    if args.estimate {
        return exit_code::OK;
    }
    if !args.lab {
        warn("baton drill --faults: the fault matrix runs in a lab only: add --lab (and --dist)");
        return exit_code::INVALID_INPUT;
    }
    let report_dir = args.report.clone().unwrap_or_else(|| {
        PathBuf::from("/var/lib/baton/faults").join(
            chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
                .format("%Y%m%dT%H%M%SZ")
                .to_string(),
        )
    });
    if let Err(e) = std::fs::create_dir_all(&report_dir) {
        warn(&format!(
            "baton drill --faults: cannot create the report directory {}: {e}; pass --report DIR",
            report_dir.display()
        ));
        return exit_code::INVALID_INPUT;
    }
    signals::install();
    let started_at = now();
    let mut target = match prepare(args) {
        Ok(t) => Some(t),
        Err(DrillError::Refused(e)) => {
            warn(&e);
            return exit_code::INVALID_INPUT;
        }
        Err(DrillError::Setup(e)) => {
            warn(&format!("baton drill --faults: {e}"));
            return exit_code::INTERNAL;
        }
    };
    let mut results: Vec<CaseResult> = Vec::new();
    let mut boundaries: Vec<(Op, usize)> = Vec::new();
    let stamp = now() as u64 % 1_000_000;
    let mut n = 0usize;
    let mut code = exit_code::OK;
    'ops: for &op in &sel.ops {
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
                boundaries.push((op, count));
                (1..=count).map(Boundary::Nth).collect()
            }
        };
        for &fault in sel.faults.iter().filter(|f| f.applies(op)) {
            for k in &ks {
                if signals::stopped().is_some() {
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
                results.push(r);
                if let Err(e) = write_report(&report_dir, started_at, &boundaries, &results) {
                    warn(&format!("baton drill --faults: {e}"));
                }
                if beyond {
                    // Later numbered boundaries are beyond it too.
                    break;
                }
            }
        }
    }
    drop(target);
    if let Err(e) = write_report(&report_dir, started_at, &boundaries, &results) {
        warn(&format!("baton drill --faults: {e}"));
    }
    print_figures(&results);
    say(&format!("report: {}/faults.json", report_dir.display()));
    if let Some(sig) = signals::stopped() {
        return 128 + sig;
    }
    if code != exit_code::OK {
        return code;
    }
    if figures(&results).violations > 0 {
        exit_code::TASK_FAILED
    } else {
        exit_code::OK
    }
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
