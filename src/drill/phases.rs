//! The drill itself: setup (lab only), then each phase with the probe and
//! the samplers running, then the report. The lab goes when the target is
//! dropped, after the report is written, on every path out of here.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::measure;
use super::nodes::Sampler;
use super::probe::{self, Probe};
use super::report::{self, Action, DrillReport, Phase, PlaybookRun};
use super::scenario::PhaseKind;
use super::setup::{self, Target};
use super::{now, say, signals, DrillArgs, DrillError};
use crate::error::exit_code;

/// How long the probe may take to first succeed before a phase, and to
/// recover after the phase's playbook.
const CLIENT_WAIT: Duration = Duration::from_secs(20);
/// Probing goes on this long after the playbook ends.
const SETTLE: Duration = Duration::from_secs(1);

/// Who serves and who must be repaired, as the drill moves the service.
struct Pair {
    active: String,
    /// The node that served before the last move (switchback's target).
    previous: Option<String>,
    /// The node an abrupt phase left behind.
    tainted: Option<String>,
}

/// A new directory under /var/lib/baton/drills named by the UTC time,
/// made exclusively (`-2`, `-3`, ... when a drill of the same second has it).
fn default_report_dir() -> std::io::Result<PathBuf> {
    let stamp = chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
        .format("%Y%m%dT%H%M%SZ")
        .to_string();
    report::unique_dir(std::path::Path::new(DRILLS_DIR), &stamp)
}

const DRILLS_DIR: &str = "/var/lib/baton/drills";

pub fn drill(args: &DrillArgs, phases: &[PhaseKind]) -> Result<i32, DrillError> {
    if !args.lab && args.inventory.is_empty() {
        return Err(DrillError::Refused(
            "baton drill: give --lab (a local lab) or -i INVENTORY (a real pair)".into(),
        ));
    }
    // The real target's refusals come before the report directory is made.
    let target_real = if args.lab {
        None
    } else {
        Some(setup::real(args, phases)?)
    };
    let report_dir = match &args.report {
        Some(dir) => std::fs::create_dir_all(dir).map(|()| dir.clone()),
        None => default_report_dir(),
    }
    .map_err(|e| {
        DrillError::Refused(format!(
            "baton drill: cannot create the report directory {}: {e}; pass --report DIR",
            args.report
                .as_deref()
                .unwrap_or(std::path::Path::new(DRILLS_DIR))
                .display()
        ))
    })?;
    signals::install();
    let started_at = now();
    let target = match target_real {
        Some(t) => t,
        None => setup::lab(args)?,
    };
    let mut report = DrillReport {
        schema: report::SCHEMA.into(),
        target: target.kind.into(),
        inventory: target
            .runner
            .inventory
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        nodes: target.nodes.iter().map(|(n, _)| n.clone()).collect(),
        vip: target.vip.clone(),
        scenario: phases.to_vec(),
        started_at,
        ended_at: started_at,
        outcome: "passed".into(),
        error: None,
        setup: Vec::new(),
        phases: Vec::new(),
    };
    let result = run_all(&target, phases, &mut report);
    report.ended_at = now();
    let code = match result {
        Ok(()) => exit_code::OK,
        Err((outcome, why, code)) => {
            report.outcome = outcome.into();
            report.error = Some(why);
            code
        }
    };
    let written = report.write(&report_dir).and_then(|()| {
        let path = report_dir.join("drill.html");
        report::write_atomic(&path, super::html::render(&report).as_bytes())
    });
    // An interrupted drill tells what it last saw before the lab goes (on
    // a real pair: before the summary), so the operator knows where it stopped.
    if report.outcome == "interrupted" {
        say("");
        say(report::interrupted_text(&report).trim_end());
    }
    // The lab goes now, before the summary.
    drop(target);
    say("");
    say(report::summary_table(&report).trim_end());
    match written {
        Ok(()) => {
            say(&format!(
                "report: {0}/drill.json, {0}/drill.html",
                report_dir.display()
            ));
            Ok(code)
        }
        Err(e) => {
            super::warn(&format!("baton drill: {e}"));
            Ok(if code == exit_code::OK {
                exit_code::INTERNAL
            } else {
                code
            })
        }
    }
}

type Stop = (&'static str, String, i32);

fn check_signal() -> Result<(), Stop> {
    match signals::stopped() {
        Some(sig) => Err((
            "interrupted",
            format!("stopped by signal {sig}; the lab (if any) is removed"),
            128 + sig,
        )),
        None => Ok(()),
    }
}

fn setup_run(
    target: &Target,
    report: &mut DrillReport,
    name: &str,
    vars: &[&str],
) -> Result<(), Stop> {
    check_signal()?;
    say(&format!("==> {name} {}", vars.join(" ")));
    let vars: Vec<String> = vars.iter().map(|s| s.to_string()).collect();
    let (run, err) = target.runner.run(name, &vars);
    let secs = run.ended_at - run.started_at;
    report.setup.push(run);
    check_signal()?;
    match err {
        None => {
            say(&format!("    <== ok ({secs:.1} s)"));
            Ok(())
        }
        Some(e) => Err(("failed", format!("setup: {e}"), exit_code::TASK_FAILED)),
    }
}

/// The node holding the VIP with hvrfailover.state START, from a second of samples.
fn find_active(target: &Target) -> Result<String, Stop> {
    let sampler = Sampler::start(&target.nodes, &target.sample);
    std::thread::sleep(Duration::from_millis(1200));
    active_of(&sampler.finish())
}

/// The one node whose last sample holds the VIP with state START; else why
/// not: nodes that never answered (exit 3, as `baton run` for unreachable
/// hosts), or the VIP holders and states seen (exit 2).
fn active_of(samples: &[(String, Vec<report::NodeSample>)]) -> Result<String, Stop> {
    let unreachable: Vec<&str> = samples
        .iter()
        .filter(|(_, s)| s.iter().all(|s| !s.reachable))
        .map(|(n, _)| n.as_str())
        .collect();
    if !unreachable.is_empty() {
        return Err((
            "failed",
            format!(
                "unreachable: {} did not answer the node sampler (ssh) in 1.2 s; check that the host is up and reachable with the inventory's ansible_host, ansible_user and key (try `baton run check`)",
                unreachable.join(" and ")
            ),
            exit_code::UNREACHABLE,
        ));
    }
    let active: Vec<String> = samples
        .iter()
        .filter(|(_, s)| s.last().is_some_and(|s| s.vip && s.state == "START"))
        .map(|(n, _)| n.clone())
        .collect();
    if active.len() == 1 {
        return Ok(active[0].clone());
    }
    let seen: Vec<String> = samples
        .iter()
        .map(|(n, s)| match s.last() {
            Some(s) => format!("{n}: {}", s.vip_and_state()),
            None => format!("{n}: no sample"),
        })
        .collect();
    Err((
        "failed",
        format!(
            "no active node: exactly one node must hold the VIP with hvrfailover.state START before a drill (run `check`); seen: {}",
            seen.join("; ")
        ),
        exit_code::TASK_FAILED,
    ))
}

fn run_all(target: &Target, phases: &[PhaseKind], report: &mut DrillReport) -> Result<(), Stop> {
    let first = report.nodes.first().cloned().unwrap_or_default();
    if target.lab.is_some() {
        setup_run(target, report, "install", &[])?;
        setup_run(target, report, "vip", &[])?;
        setup_run(target, report, "boot-config", &[])?;
        setup_run(target, report, "start", &[&format!("node={first}")])?;
    }
    let active = find_active(target)?;
    say(&format!("    {active} is active"));
    let mut pair = Pair {
        active,
        previous: None,
        tainted: None,
    };
    let stamp = now() as u64;
    for (i, kind) in phases.iter().enumerate() {
        check_signal()?;
        say("");
        let phase = run_phase(target, *kind, &mut pair, i, phases.len(), stamp);
        let failed = phase.outcome != "ok";
        let error = phase.error.clone();
        report.phases.push(phase);
        check_signal()?;
        if failed {
            return Err((
                "failed",
                format!("phase {} ({kind}): {}", i + 1, error.unwrap_or_default()),
                exit_code::TASK_FAILED,
            ));
        }
    }
    Ok(())
}

/// How long the rapid phase's SSH masters stay warm after each run.
const RAPID_PERSIST_SECS: u64 = 120;

/// Close the masters a rapid phase kept warm (`ssh -O exit` on each socket).
pub(super) fn close_persisted(dir: &std::path::Path) {
    if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        runtime.block_on(crate::transport::ssh::persist::close_all(dir));
    }
}

/// The node a phase means to leave serving: the target of its move
/// (switchback: the node served before the last move), or the active node
/// for a recover, which moves nothing.
fn intended_to(target: &Target, kind: PhaseKind, pair: &Pair) -> String {
    let active = &pair.active;
    match kind {
        PhaseKind::Switchback => pair
            .previous
            .clone()
            .unwrap_or_else(|| other_than(target, active)),
        PhaseKind::Graceful | PhaseKind::Rapid | PhaseKind::Abrupt => other_than(target, active),
        PhaseKind::Recover => active.clone(),
    }
}

pub(super) fn other_than(target: &Target, node: &str) -> String {
    target
        .nodes
        .iter()
        .map(|(n, _)| n.clone())
        .find(|n| n != node)
        .unwrap_or_default()
}

/// The phase's actions; returns the error that failed it, if one did.
fn act(
    target: &Target,
    kind: PhaseKind,
    pair: &mut Pair,
    runs: &mut Vec<PlaybookRun>,
    actions: &mut Vec<Action>,
) -> Option<String> {
    let mut note = |what: String| {
        say(&format!("    {what}"));
        actions.push(Action { t: now(), what });
    };
    let run = |name: &str, vars: Vec<String>, runs: &mut Vec<PlaybookRun>| {
        let (record, err) = target.runner.run(name, &vars);
        runs.push(record);
        err
    };
    let active = pair.active.clone();
    match kind {
        PhaseKind::Graceful | PhaseKind::Switchback => {
            let to = if kind == PhaseKind::Switchback {
                pair.previous
                    .clone()
                    .unwrap_or_else(|| other_than(target, &active))
            } else {
                other_than(target, &active)
            };
            note(format!("switchover {active} -> {to}"));
            let err = run(
                "switchover",
                vec![format!("from={active}"), format!("to={to}")],
                runs,
            );
            if err.is_none() {
                pair.previous = Some(active);
                pair.active = to;
            }
            err
        }
        PhaseKind::Rapid => {
            let to = other_than(target, &active);
            // The masters stay warm between the two runs in a directory of
            // this phase only (mode 0700), closed by socket at the end.
            let dir = match tempfile::Builder::new()
                .prefix("baton-drill-")
                .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
                .tempdir_in("/tmp")
            {
                Ok(dir) => dir,
                Err(e) => return Some(format!("cannot create a control directory: {e}")),
            };
            let plan = dir.path().join("switchover.plan.json");
            let common = [
                format!("from={active}"),
                format!("to={to}"),
                format!("baton_persist={RAPID_PERSIST_SECS}"),
            ];
            note(format!(
                "prepare switchover {active} -> {to} (no change of service)"
            ));
            let mut vars = common.to_vec();
            vars.push("switchover_mode=prepare".into());
            vars.push(format!("switchover_plan_file={}", plan.display()));
            let (record, err) = target
                .runner
                .run_with("switchover", &vars, Some(dir.path()));
            runs.push(record);
            if err.is_none() {
                note(format!(
                    "prepared switchover {active} -> {to}, from the plan"
                ));
                let mut vars = common.to_vec();
                vars.push(format!("plan={}", plan.display()));
                let (record, err) = target
                    .runner
                    .run_with("switchover", &vars, Some(dir.path()));
                runs.push(record);
                close_persisted(dir.path());
                if err.is_none() {
                    pair.previous = Some(active);
                    pair.active = to;
                }
                return err;
            }
            close_persisted(dir.path());
            err
        }
        PhaseKind::Abrupt => {
            let to = other_than(target, &active);
            let mut vars = vec![format!("to={to}")];
            if let Some(lab) = &target.lab {
                note(format!("SIGKILL the scheduler on {active}"));
                if let Err(e) = lab.lab(
                    &["shell", &active],
                    &[
                        "sh",
                        "-c",
                        "kill -9 $(cat /opt/hvr/hvr_config/files/hvrscheduler_hvrhub.pid)",
                    ],
                ) {
                    return Some(e);
                }
                std::thread::sleep(Duration::from_millis(300));
                note(format!("cut {active}'s link"));
                if let Err(e) = lab.lab(&["link", &active, "down"], &[]) {
                    return Some(e);
                }
                // The lab's fence: a crash (SIGKILL everything, link down), as a power-off.
                let fence = format!(
                    "{} lab crash {} --dir {}",
                    crate::shell::quote(&lab.exe.display().to_string()),
                    crate::shell::quote(&active),
                    crate::shell::quote(&lab.dir.display().to_string())
                );
                vars.push(serde_json::json!({ "hvr_fence_command": fence }).to_string());
            }
            note(format!("failover to {to} (fencing {active} first)"));
            let err = run("failover", vars, runs);
            if err.is_none() {
                pair.previous = Some(active.clone());
                pair.tainted = Some(active);
                pair.active = to;
            }
            err
        }
        PhaseKind::Recover => {
            let Some(tainted) = pair.tainted.clone() else {
                return Some("no node to recover".into());
            };
            if let Some(lab) = &target.lab {
                note(format!("boot {tainted} again"));
                if let Err(e) = lab.lab(&["boot", &tainted], &[]) {
                    return Some(e);
                }
                // Its boot script waits hvr_boot_peer_delay, then decides
                // (it must hold, not take the VIP): wait for the decision.
                let decided = boot_decision(lab, &tainted, 0.0);
                note(format!("{tainted} booted: {}", decided.trim()));
                // A switchover to the tainted node must be refused (exit 2)
                // before recovery. Lab only: on a real pair a bug here would
                // move the service to a node with phantom changes.
                note(format!("switchover {active} -> {tainted} must be refused"));
                let (record, _) = target.runner.run(
                    "switchover",
                    &[format!("from={active}"), format!("to={tainted}")],
                );
                let code = record.exit_code;
                runs.push(record);
                if code != Some(2) {
                    return Some(format!(
                        "a switchover to the tainted node {tainted} was not refused (exit {code:?}, expected 2)"
                    ));
                }
                note(format!(
                    "refused, as it must be: {tainted} must be recovered first"
                ));
            }
            note(format!("recover {tainted} from {active}"));
            let err = run("recover", vec![format!("node={tainted}")], runs);
            if err.is_none() {
                pair.tainted = None;
            }
            err
        }
    }
}

const BOOT_LOG: &str = "/opt/hvr/hvr_config/log/hvrfailover/hvrfailover.log";
/// The boot script's decision lines (roles/hvr_install/files/hvrfailover-onboot).
const BOOT_DECISION: &str =
    "boot: (HOLDING|.*NOT starting|.*pre-flight passed|.*this node is a standby)";

/// The last boot decision in `node`'s hvrfailover log logged at or after
/// `since` (epoch seconds; the log's lines start with their UTC time,
/// `YYYY-MM-DD HH:MM:SSZ`), waiting up to 30 s for it; empty when none
/// came. A crashed node's log cannot be read before its boot, hence a time,
/// not a count.
pub(super) fn boot_decision(lab: &setup::LabHandle, node: &str, since: f64) -> String {
    let since = chrono::DateTime::<chrono::Utc>::from(
        std::time::UNIX_EPOCH + Duration::from_secs(since.max(0.0) as u64),
    )
    .format("%Y-%m-%d %H:%M:%SZ")
    .to_string();
    let grep = format!(
        "grep -E '{BOOT_DECISION}' {BOOT_LOG} | awk -v s='{since}' 'substr($0, 1, 20) >= s' | tail -n 1"
    );
    for _ in 0..150 {
        let decided = lab
            .lab(&["shell", node], &["sh", "-c", &grep])
            .unwrap_or_default();
        if !decided.trim().is_empty() || signals::stopped().is_some() {
            return decided;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    String::new()
}

fn run_phase(
    target: &Target,
    kind: PhaseKind,
    pair: &mut Pair,
    i: usize,
    n: usize,
    stamp: u64,
) -> Phase {
    let from = pair.active.clone();
    let to = intended_to(target, kind, pair);
    say(&format!(
        "==> [{}/{n}] {kind}: the client writes and reads through the VIP every 20 ms",
        i + 1
    ));
    let started_at = now();
    let sampler = Sampler::start(&target.nodes, &target.sample);
    let probe = Probe::start(
        &target.probe,
        &format!("drill{stamp}-{}{}", i + 1, kind.name()),
    );
    let mut error;
    let deadline = std::time::Instant::now() + CLIENT_WAIT;
    while probe.first_success().is_none()
        && std::time::Instant::now() < deadline
        && signals::stopped().is_none()
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let warm = probe.first_success();
    let mut runs = Vec::new();
    let mut actions = Vec::new();
    if warm.is_none() {
        error = Some(format!(
            "the client probe never succeeded through the VIP {} in {} s before the phase: check drill_probe_write_cmd/drill_probe_read_cmd and the VIP",
            target.vip,
            CLIENT_WAIT.as_secs()
        ));
    } else {
        // A few samples before the action, so the gap has a success before it.
        std::thread::sleep(Duration::from_millis(300));
        error = act(target, kind, pair, &mut runs, &mut actions);
        let ended = std::time::Instant::now();
        std::thread::sleep(SETTLE);
        // Wait for the client to come back (bounded): the gap must close.
        while ended.elapsed() < CLIENT_WAIT && signals::stopped().is_none() {
            if probe.last_success().is_some_and(|t| t >= now() - 0.5) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let samples = probe.finish();
    let node_samples: BTreeMap<_, _> = sampler.finish().into_iter().collect();
    // Only samples from the first success on count: the warm-up is not an outage.
    let counted: Vec<_> = match warm {
        Some(t0) => samples.iter().filter(|s| s.t >= t0).cloned().collect(),
        None => samples.clone(),
    };
    let rto = measure::rto(None, &counted);
    let acked = measure::acked(&counted);
    let recovered = rto.as_ref().is_none_or(|g| g.to.is_some());
    // RPO only when it can be told: the client is served again and nobody
    // asked to stop. The read-back is bounded: 30 s plus 20 ms a row.
    let lost: Option<Vec<String>> = if acked.is_empty() {
        Some(Vec::new())
    } else if !recovered || signals::stopped().is_some() {
        None
    } else {
        let deadline = std::time::Instant::now()
            + Duration::from_secs(30)
            + Duration::from_millis(20 * acked.len() as u64);
        match probe::present(&target.probe, &acked, deadline) {
            Ok(found) => Some(measure::lost(&acked, &found)),
            Err(e) => {
                error.get_or_insert(format!("cannot read the acknowledged rows back: {e}"));
                None
            }
        }
    };
    if error.is_none() && !recovered {
        error = Some(format!(
            "the client did not recover within {} s after the playbook",
            CLIENT_WAIT.as_secs()
        ));
    }
    let share = report::preflight_share(&runs, &from, &to, rto.as_ref());
    let phase = Phase {
        kind,
        from,
        to,
        started_at,
        ended_at: now(),
        outcome: if error.is_none() { "ok" } else { "failed" }.into(),
        error,
        rto_ms: rto.as_ref().and_then(measure::Outage::millis),
        rto,
        acked: acked.len() as u64,
        rpo_rows: lost.as_ref().map(|l| l.len() as u64),
        lost_keys: lost.unwrap_or_default(),
        preflight_ms: share.map(|s| s.0),
        preflight_alone_ms: share.map(|s| s.1),
        actions,
        runs,
        cadence: Some(report::Cadence::of(&samples, &node_samples)),
        probe: samples,
        node_samples,
    };
    if let Some(share) = phase.preflight_text() {
        say(&format!(
            "    {}'s start pre-flight within the outage: {share}",
            phase.to
        ));
    }
    say(&phase_end_line(&phase));
    phase
}

/// The phase's closing lines: outcome, RTO, RPO, who serves (from the
/// last node samples, not from the intended move), the sampling cadence
/// and its warning, and the error.
pub(super) fn phase_end_line(phase: &Phase) -> String {
    let mut out = format!(
        "    <== {}: RTO {}, RPO {} rows of {} acknowledged; {} ({:.1} s)",
        phase.outcome,
        phase.rto_with_unit(),
        phase.rpo_text(),
        phase.acked,
        phase.serves_text(),
        phase.ended_at - phase.started_at,
    );
    if let Some(c) = &phase.cadence {
        out.push_str(&format!("\n    sampled: {}", c.text()));
        if let Some(w) = c.warning() {
            out.push_str(&format!("\n    WARNING: {w}"));
        }
    }
    if let Some(e) = &phase.error {
        out.push_str(&format!("\n    {e}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drill::report::NodeSample;

    fn sample(reachable: bool, vip: bool, state: &str) -> NodeSample {
        NodeSample {
            t: 1.0,
            reachable,
            vip,
            scheduler: vip,
            state: state.into(),
        }
    }

    #[test]
    fn unreachable_nodes_are_named_with_exit_3_not_as_no_active_node() {
        let down = sample(false, false, "unknown");
        let samples = vec![
            ("bc1".to_string(), vec![down.clone(), down.clone()]),
            ("bc2".to_string(), vec![down.clone()]),
        ];
        let (_, why, code) = active_of(&samples).unwrap_err();
        assert_eq!(code, exit_code::UNREACHABLE);
        assert!(
            why.starts_with("unreachable: bc1 and bc2 did not answer"),
            "{why}"
        );
        assert!(!why.contains("no active node"), "{why}");
        // One answers: only the other is named.
        let samples = vec![
            ("bc1".to_string(), vec![sample(true, true, "START")]),
            ("bc2".to_string(), vec![down]),
        ];
        let (_, why, code) = active_of(&samples).unwrap_err();
        assert_eq!(code, exit_code::UNREACHABLE);
        assert!(why.starts_with("unreachable: bc2 did"), "{why}");
        // Both answer, neither active: exit 2 with what was seen.
        let samples = vec![
            ("bc1".to_string(), vec![sample(true, false, "STOP")]),
            ("bc2".to_string(), vec![sample(true, false, "STOP")]),
        ];
        let (_, why, code) = active_of(&samples).unwrap_err();
        assert_eq!(code, exit_code::TASK_FAILED);
        assert!(why.contains("bc1: no VIP, state STOP"), "{why}");
        let samples = vec![
            ("bc1".to_string(), vec![sample(true, false, "STOP")]),
            ("bc2".to_string(), vec![sample(true, true, "START")]),
        ];
        assert_eq!(active_of(&samples).unwrap(), "bc2");
    }

    #[test]
    fn the_phase_end_line_says_who_serves_from_the_samples_not_the_intended_node() {
        let mut report = crate::drill::report::tests::sample_report();
        let p = &mut report.phases[0];
        p.outcome = "failed".into();
        // bc1 -> bc2 failed, bc1 still holds the VIP.
        for (n, vip, state) in [("bc1", true, "START"), ("bc2", false, "STOP")] {
            let last = p.node_samples.get_mut(n).unwrap().last_mut().unwrap();
            last.vip = vip;
            last.state = state.into();
        }
        let line = phase_end_line(p);
        assert!(line.contains("; bc1 serves ("), "{line}");
        assert!(!line.contains("bc2 serves"), "{line}");
    }
}
