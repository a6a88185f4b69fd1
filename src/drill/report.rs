//! The drill's record (`drill.json`, schema in docs/drill.md) and its
//! terminal summary table.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::measure::{Outage, ProbeSample};
use super::scenario::PhaseKind;

/// The schema's name and version; bumped on any incompatible change.
pub const SCHEMA: &str = "baton-drill/1";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DrillReport {
    pub schema: String,
    /// `lab` or `inventory`.
    pub target: String,
    /// The inventory file(s) the playbooks ran against.
    pub inventory: Vec<String>,
    pub nodes: Vec<String>,
    pub vip: String,
    pub scenario: Vec<PhaseKind>,
    pub started_at: f64,
    pub ended_at: f64,
    /// `passed`, `failed` or `interrupted`.
    pub outcome: String,
    pub error: Option<String>,
    /// Setup runs before the first phase (install, vip, boot-config, start).
    pub setup: Vec<PlaybookRun>,
    pub phases: Vec<Phase>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    pub kind: PhaseKind,
    /// The node that served before the phase, and the one the phase meant
    /// to leave serving (its intended move, also when the phase failed; who
    /// served at the end is in `node_samples`, see [`Phase::serves_text`]).
    pub from: String,
    pub to: String,
    pub started_at: f64,
    pub ended_at: f64,
    /// `ok` or `failed`.
    pub outcome: String,
    pub error: Option<String>,
    /// Longest client outage; `null` when the client never failed.
    pub rto: Option<Outage>,
    pub rto_ms: Option<f64>,
    /// Acknowledged writes during the phase.
    pub acked: u64,
    /// Acknowledged keys not found after the phase.
    pub lost_keys: Vec<String>,
    /// RPO in rows; `None` when it could not be told (the client was not
    /// served again, the drill was stopped, or the read-back timed out).
    pub rpo_rows: Option<u64>,
    /// Milliseconds of the outage (the RTO window) during which `to` ran
    /// its start pre-flight: its tasks whose names say "pre-flight" (the VIP
    /// probe with `hvr_vip_probe_timeout`, duplicate-address detection with
    /// `hvr_arp_dad_wait`; on the cold path also the scheduler probe).
    /// `None` without a closed outage. Absent in older reports: `None`.
    #[serde(default)]
    pub preflight_ms: Option<f64>,
    /// The part of `preflight_ms` during which `from` ran no task: what the
    /// pre-flight added to the outage (0 when it overlapped the flush).
    #[serde(default)]
    pub preflight_alone_ms: Option<f64>,
    /// What the phase did besides playbooks (a kill, a link cut, a boot), with times.
    pub actions: Vec<Action>,
    pub runs: Vec<PlaybookRun>,
    pub probe: Vec<ProbeSample>,
    /// Per node, its samples in time order.
    pub node_samples: BTreeMap<String, Vec<NodeSample>>,
    /// How often the probe and the node samplers really sampled (the
    /// probe aims at every 20 ms, a loaded host slows it). Absent in older
    /// reports: `None`.
    #[serde(default)]
    pub cadence: Option<Cadence>,
}

/// Intervals between consecutive samples, in milliseconds: median and
/// maximum, for the client probe and the node samplers (all nodes' own
/// intervals pooled). `None` with fewer than two samples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cadence {
    pub probe_median_ms: Option<f64>,
    pub probe_max_ms: Option<f64>,
    pub node_median_ms: Option<f64>,
    pub node_max_ms: Option<f64>,
}

/// Above this median probe interval the RTO's resolution is worth a warning.
pub const CADENCE_WARN_MS: f64 = 60.0;

/// Median and max of the gaps between consecutive times (s), in ms.
fn interval_stats(series: &[Vec<f64>]) -> (Option<f64>, Option<f64>) {
    let gaps: Vec<f64> = series
        .iter()
        .flat_map(|ts| ts.windows(2).map(|w| (w[1] - w[0]) * 1000.0))
        .collect();
    let max = gaps
        .iter()
        .copied()
        .fold(None, |m: Option<f64>, g| Some(m.map_or(g, |m| m.max(g))));
    (median(&gaps), max)
}

impl Cadence {
    /// The cadence of a phase's probe samples and node samples.
    pub fn of(probe: &[ProbeSample], nodes: &BTreeMap<String, Vec<NodeSample>>) -> Cadence {
        let (probe_median_ms, probe_max_ms) =
            interval_stats(&[probe.iter().map(|s| s.t).collect()]);
        let node_series: Vec<Vec<f64>> = nodes
            .values()
            .map(|v| v.iter().map(|s| s.t).collect())
            .collect();
        let (node_median_ms, node_max_ms) = interval_stats(&node_series);
        Cadence {
            probe_median_ms,
            probe_max_ms,
            node_median_ms,
            node_max_ms,
        }
    }

    /// `probe every 21 ms (median, max 95), nodes every 130 ms (max 400)`.
    pub fn text(&self) -> String {
        let f = |m: Option<f64>, x: Option<f64>| match (m, x) {
            (Some(m), Some(x)) => format!("every {m:.0} ms (median, max {x:.0})"),
            _ => "too few samples".to_string(),
        };
        format!(
            "probe {}, nodes {}",
            f(self.probe_median_ms, self.probe_max_ms),
            f(self.node_median_ms, self.node_max_ms)
        )
    }

    /// The warning when the probe sampled slower than [`CADENCE_WARN_MS`].
    pub fn warning(&self) -> Option<String> {
        let m = self.probe_median_ms.filter(|m| *m > CADENCE_WARN_MS)?;
        Some(format!(
            "the probe sampled every {m:.0} ms (median), not every 20 ms (a loaded host?): RTO is accurate only to about {m:.0} ms"
        ))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub t: f64,
    pub what: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlaybookRun {
    pub playbook: String,
    pub extra_vars: Vec<String>,
    pub started_at: f64,
    pub ended_at: f64,
    pub exit_code: Option<i32>,
    pub tasks: Vec<TaskSpan>,
    /// The run's stop report (`stopped` event: which host, which task,
    /// what was left), when it stopped early. Absent in older reports.
    #[serde(default)]
    pub stopped: Option<String>,
    /// `TASK on HOST` for each task started with no final result when the
    /// run ended (a stopped run): its outcome is unknown.
    #[serde(default)]
    pub unfinished: Vec<String>,
}

/// One host's run of one task (from the `host_result` JSON events).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskSpan {
    pub host: String,
    pub task: String,
    pub started_at: f64,
    pub ended_at: f64,
    pub outcome: String,
}

/// One look at a node: does it hold the VIP, does its scheduler answer,
/// what does hvrfailover.state say. `reachable` false: the look failed
/// (a crashed node); the other fields are then false/`unknown`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeSample {
    pub t: f64,
    pub reachable: bool,
    pub vip: bool,
    pub scheduler: bool,
    pub state: String,
}

impl NodeSample {
    /// `holds the VIP, state START` or `no VIP, state STOP`.
    pub fn vip_and_state(&self) -> String {
        format!(
            "{}, state {}",
            if self.vip { "holds the VIP" } else { "no VIP" },
            self.state
        )
    }
}

impl DrillReport {
    pub fn write(&self, dir: &Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| format!("cannot encode the drill report: {e}"))?;
        write_atomic(&dir.join("drill.json"), text.as_bytes())
    }

    pub fn read(path: &Path) -> Result<DrillReport, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let report: DrillReport = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a drill report: {e}", path.display()))?;
        if report.schema != SCHEMA {
            return Err(format!(
                "{}: schema `{}`, this baton reads `{SCHEMA}`",
                path.display(),
                report.schema
            ));
        }
        Ok(report)
    }
}

/// Writes `path` whole or not at all: a temporary file in the same
/// directory, synced, then renamed over `path`; a failed write leaves no
/// truncated report (the doctor reads the newest one).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write as _;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let fail = |e: &dyn std::fmt::Display| format!("cannot write {}: {e}", path.display());
    let mut tmp = tempfile::Builder::new()
        .prefix(".drill-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| fail(&e))?;
    tmp.write_all(bytes).map_err(|e| fail(&e))?;
    tmp.as_file().sync_all().map_err(|e| fail(&e))?;
    tmp.persist(path).map_err(|e| fail(&e.error))?;
    Ok(())
}

/// Makes a new directory `parent/stamp` exclusively (`mkdir`, never an
/// existing one), with `-2`, `-3`, ... appended while the name is taken:
/// two drills started in the same second get two directories.
pub fn unique_dir(parent: &Path, stamp: &str) -> std::io::Result<std::path::PathBuf> {
    std::fs::create_dir_all(parent)?;
    let mut last = None;
    for n in 1..=1000 {
        let name = if n == 1 {
            stamp.to_string()
        } else {
            format!("{stamp}-{n}")
        };
        let path = parent.join(name);
        match std::fs::create_dir(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free name")))
}

pub fn fmt_ms(ms: Option<f64>, recovered: bool) -> String {
    match ms {
        Some(ms) => format!("{ms:.0}"),
        None if recovered => "0".into(),
        None => "not recovered".into(),
    }
}

/// `to`'s start pre-flight within the outage: `(preflight_ms,
/// preflight_alone_ms)` (see [`Phase`]), `None` without a closed outage.
pub fn preflight_share(
    runs: &[PlaybookRun],
    from: &str,
    to: &str,
    rto: Option<&Outage>,
) -> Option<(f64, f64)> {
    let rto = rto?;
    let window = (rto.from, rto.to?);
    let spans = |pick: &dyn Fn(&TaskSpan) -> bool| -> Vec<super::measure::Span> {
        let all: Vec<_> = runs
            .iter()
            .flat_map(|r| r.tasks.iter())
            .filter(|t| t.outcome != "skipped" && pick(t))
            .map(|t| (t.started_at, t.ended_at))
            .collect();
        super::measure::union_within(&all, window)
    };
    let preflight = spans(&|t| t.host == to && t.task.to_lowercase().contains("pre-flight"));
    let busy_from = spans(&|t| t.host == from);
    Some((
        super::measure::covered_ms(&preflight),
        super::measure::uncovered_ms(&preflight, &busy_from),
    ))
}

impl Phase {
    /// `pre-flight 320 ms of 700 (46%), 0 ms not overlapped`, or `None`.
    pub fn preflight_text(&self) -> Option<String> {
        let (ms, alone) = (self.preflight_ms?, self.preflight_alone_ms?);
        let rto = self.rto_ms?;
        let share = if rto > 0.0 { ms / rto * 100.0 } else { 0.0 };
        Some(format!(
            "{ms:.0} ms of {rto:.0} ({share:.0}%), {alone:.0} ms not overlapped"
        ))
    }

    pub fn rto_text(&self) -> String {
        fmt_ms(self.rto_ms, self.rto.is_none())
    }

    /// `812 ms`, `0 ms` or `not recovered`.
    pub fn rto_with_unit(&self) -> String {
        match self.rto_ms {
            Some(_) => format!("{} ms", self.rto_text()),
            None if self.rto.is_none() => "0 ms".into(),
            None => self.rto_text(),
        }
    }

    pub fn rpo_text(&self) -> String {
        self.rpo_rows.map_or("unknown".into(), |n| n.to_string())
    }

    /// Who served at the phase's end, from each node's last sample: `bc2
    /// serves`, `bc2 holds the VIP (state STOP)`, `no node serves the VIP`,
    /// `bc1 and bc2 both hold the VIP`; unreachable nodes are named.
    pub fn serves_text(&self) -> String {
        let last: Vec<(&String, &NodeSample)> = self
            .node_samples
            .iter()
            .filter_map(|(n, v)| v.last().map(|s| (n, s)))
            .collect();
        if last.is_empty() {
            return "who serves is unknown (no node samples)".into();
        }
        let holders: Vec<(&String, &NodeSample)> = last
            .iter()
            .copied()
            .filter(|(_, s)| s.reachable && s.vip)
            .collect();
        let unreachable: Vec<&str> = last
            .iter()
            .filter(|(_, s)| !s.reachable)
            .map(|(n, _)| n.as_str())
            .collect();
        let mut text = match holders.as_slice() {
            [] => "no node serves the VIP".to_string(),
            [(n, s)] if s.state == "START" => format!("{n} serves"),
            [(n, s)] => format!("{n} holds the VIP (state {})", s.state),
            many => {
                let names: Vec<&str> = many.iter().map(|(n, _)| n.as_str()).collect();
                format!("{} both hold the VIP", names.join(" and "))
            }
        };
        if !unreachable.is_empty() {
            text.push_str(&format!(" ({} unreachable)", unreachable.join(", ")));
        }
        text
    }

    /// Seconds the phase's playbooks ran, summed.
    pub fn playbook_secs(&self) -> f64 {
        self.runs.iter().map(|r| r.ended_at - r.started_at).sum()
    }
}

/// What an interrupted drill tells before the lab goes: each node's last
/// sampled state (from the last phase's node samples), the stop report of
/// the run the signal stopped, and tasks whose outcome is unknown (a fence
/// command among them is said to be so).
pub fn interrupted_text(report: &DrillReport) -> String {
    let mut out = String::new();
    match report.phases.last() {
        Some(p) if !p.node_samples.is_empty() => {
            let nodes: Vec<String> = p
                .node_samples
                .iter()
                .filter_map(|(n, v)| v.last().map(|s| (n, s)))
                .map(|(n, s)| {
                    if s.reachable {
                        format!("{n} {}", s.vip_and_state())
                    } else {
                        format!("{n} unreachable")
                    }
                })
                .collect();
            out.push_str(&format!(
                "last sampled: {}: {}\n",
                nodes.join("; "),
                p.serves_text()
            ));
        }
        _ => out.push_str("last sampled: no node samples (stopped before the first phase)\n"),
    }
    let runs = report
        .setup
        .iter()
        .chain(report.phases.iter().flat_map(|p| p.runs.iter()));
    if let Some(run) = runs.last() {
        let args = run.extra_vars.join(" ");
        match &run.stopped {
            Some(why) => out.push_str(&format!(
                "the {} run ({args}) stopped: {}\n",
                run.playbook,
                why.trim()
            )),
            None => out.push_str(&format!(
                "the {} run ({args}) ended with exit {}\n",
                run.playbook,
                run.exit_code.map_or("unknown".into(), |c| c.to_string())
            )),
        }
        for task in &run.unfinished {
            let fence = if task.to_lowercase().contains("fence") {
                " (a fence command: whether the node was fenced is unknown; check it before anything else)"
            } else {
                ""
            };
            out.push_str(&format!("outcome unknown: {task}{fence}\n"));
        }
    }
    out
}

/// The median of `values` (sorted here), `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// The lab goal of the prepared switchover (issue 11): its client-visible
/// outage at most half the cold one, and at most this.
pub const PREPARED_GOAL_MS: f64 = 600.0;

/// The terminal summary: one row per phase.
/// `cold vs prepared outage: A ms vs B ms (B/A)`: the client-visible
/// outages of the `graceful` (cold) and `rapid` (prepared) switchovers that
/// passed and interrupted the client, when the drill had both; with more
/// than one of either (`--rapid-compare N`) their medians, with the spread
/// (min-max), and whether the lab goal is met.
pub fn cold_vs_prepared(report: &DrillReport) -> Option<String> {
    let rtos = |kind: PhaseKind| -> Vec<f64> {
        report
            .phases
            .iter()
            .filter(|p| p.kind == kind && p.outcome == "ok")
            .filter_map(|p| p.rto_ms)
            .collect()
    };
    let (colds, prepareds) = (rtos(PhaseKind::Graceful), rtos(PhaseKind::Rapid));
    let (cold, prepared) = (median(&colds)?, median(&prepareds)?);
    let ratio = if cold > 0.0 {
        format!(" ({:.0}% of cold)", prepared / cold * 100.0)
    } else {
        String::new()
    };
    let met = prepared <= cold / 2.0 && prepared <= PREPARED_GOAL_MS;
    let goal = format!(
        "goal (lab): prepared <= half of cold and <= {PREPARED_GOAL_MS:.0} ms: {}",
        if met { "met" } else { "NOT met" }
    );
    if colds.len() == 1 && prepareds.len() == 1 {
        return Some(format!(
            "cold vs prepared outage: {cold:.0} ms vs {prepared:.0} ms{ratio}\n{goal}"
        ));
    }
    let spread = |v: &[f64]| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        format!("{lo:.0}-{hi:.0}")
    };
    Some(format!(
        "cold vs prepared outage, medians of {} and {}: {cold:.0} ms (spread {}) vs {prepared:.0} ms (spread {}){ratio}\n{goal}",
        colds.len(),
        prepareds.len(),
        spread(&colds),
        spread(&prepareds),
    ))
}

pub fn summary_table(report: &DrillReport) -> String {
    let mut out = format!(
        "{:<11} {:<12} {:<8} {:>9} {:>8} {:>6} {:>11}\n",
        "phase", "from -> to", "outcome", "RTO ms", "RPO rows", "acked", "playbook s"
    );
    for p in &report.phases {
        out.push_str(&format!(
            "{:<11} {:<12} {:<8} {:>9} {:>8} {:>6} {:>11.1}\n",
            p.kind.name(),
            format!("{} -> {}", p.from, p.to),
            p.outcome,
            p.rto_text(),
            p.rpo_text(),
            p.acked,
            p.playbook_secs()
        ));
        if p.outcome != "ok" {
            out.push_str(&format!("            at the end: {}\n", p.serves_text()));
        }
        if let Some(share) = p.preflight_text() {
            out.push_str(&format!(
                "            {}'s start pre-flight within the outage: {share}\n",
                p.to
            ));
        }
        if let Some(c) = &p.cadence {
            out.push_str(&format!("            sampled: {}\n", c.text()));
            if let Some(w) = c.warning() {
                out.push_str(&format!("            WARNING: {w}\n"));
            }
        }
        if !p.lost_keys.is_empty() {
            let shown: Vec<&str> = p.lost_keys.iter().take(5).map(String::as_str).collect();
            let more = p.lost_keys.len().saturating_sub(shown.len());
            out.push_str(&format!(
                "            lost: {}{}\n",
                shown.join(" "),
                if more > 0 {
                    format!(" (+{more} more)")
                } else {
                    String::new()
                }
            ));
        }
    }
    if let Some(line) = cold_vs_prepared(report) {
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(&format!("drill {}", report.outcome));
    if let Some(e) = &report.error {
        out.push_str(&format!(": {e}"));
    }
    out.push('\n');
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample_report() -> DrillReport {
        let probe: Vec<ProbeSample> = (0..10)
            .map(|i| ProbeSample {
                t: 1000.0 + f64::from(i) * 0.02,
                key: format!("d-{i:08}"),
                write_ok: !(3..6).contains(&i),
                read_ok: !(3..6).contains(&i),
                server: Some(if i < 4 { "bc1" } else { "bc2" }.into()),
            })
            .collect();
        let rto = super::super::measure::rto(None, &probe);
        let mut node_samples = BTreeMap::new();
        for (n, held) in [("bc1", true), ("bc2", false)] {
            node_samples.insert(
                n.to_string(),
                vec![
                    NodeSample {
                        t: 1000.0,
                        reachable: true,
                        vip: held,
                        scheduler: held,
                        state: if held { "START" } else { "STOP" }.into(),
                    },
                    NodeSample {
                        t: 1000.1,
                        reachable: true,
                        vip: !held,
                        scheduler: !held,
                        state: if held { "STOP" } else { "START" }.into(),
                    },
                ],
            );
        }
        DrillReport {
            schema: SCHEMA.into(),
            target: "lab".into(),
            inventory: vec!["/tmp/lab/lab.yml".into()],
            nodes: vec!["bc1".into(), "bc2".into()],
            vip: "10.0.0.100".into(),
            scenario: vec![PhaseKind::Graceful],
            started_at: 990.0,
            ended_at: 1001.0,
            outcome: "passed".into(),
            error: None,
            setup: vec![],
            phases: vec![Phase {
                kind: PhaseKind::Graceful,
                from: "bc1".into(),
                to: "bc2".into(),
                started_at: 999.9,
                ended_at: 1000.3,
                outcome: "ok".into(),
                error: None,
                rto_ms: rto.as_ref().and_then(Outage::millis),
                rto,
                acked: 7,
                lost_keys: vec!["d-00000002".into()],
                rpo_rows: Some(1),
                preflight_ms: None,
                preflight_alone_ms: None,
                actions: vec![Action {
                    t: 1000.0,
                    what: "switchover bc1 -> bc2".into(),
                }],
                runs: vec![PlaybookRun {
                    playbook: "switchover".into(),
                    extra_vars: vec!["from=bc1".into(), "to=bc2".into()],
                    started_at: 1000.0,
                    ended_at: 1000.15,
                    exit_code: Some(0),
                    stopped: None,
                    unfinished: vec![],
                    tasks: vec![TaskSpan {
                        host: "bc1".into(),
                        task: "Stop <scheduler> & \"flush\"".into(),
                        started_at: 1000.01,
                        ended_at: 1000.05,
                        outcome: "changed".into(),
                    }],
                }],
                probe,
                node_samples,
                cadence: None,
            }],
        }
    }

    #[test]
    fn json_round_trip() {
        let report = sample_report();
        let dir = tempfile::tempdir().unwrap();
        report.write(dir.path()).unwrap();
        let back = DrillReport::read(&dir.path().join("drill.json")).unwrap();
        assert_eq!(back, report);
        // The documented top-level keys are all present.
        let value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("drill.json")).unwrap())
                .unwrap();
        for key in [
            "schema", "target", "nodes", "vip", "scenario", "outcome", "phases",
        ] {
            assert!(value.get(key).is_some(), "{key}");
        }
        assert_eq!(value["phases"][0]["kind"], "graceful");
        assert!((value["phases"][0]["rto_ms"].as_f64().unwrap() - 80.0).abs() < 1e-6);
    }

    #[test]
    fn the_summary_compares_cold_and_prepared_outages() {
        let mut report = sample_report();
        assert!(cold_vs_prepared(&report).is_none());
        let mut rapid = report.phases[0].clone();
        rapid.kind = PhaseKind::Rapid;
        rapid.rto_ms = Some(20.0);
        report.phases.push(rapid);
        assert_eq!(
            cold_vs_prepared(&report).as_deref(),
            Some("cold vs prepared outage: 80 ms vs 20 ms (25% of cold)\ngoal (lab): prepared <= half of cold and <= 600 ms: met")
        );
        assert!(summary_table(&report).contains("cold vs prepared outage: 80 ms vs 20 ms"));
        report.phases[1].outcome = "failed".into();
        assert!(cold_vs_prepared(&report).is_none());
    }

    #[test]
    fn other_schema_is_refused() {
        let mut report = sample_report();
        report.schema = "baton-drill/0".into();
        let dir = tempfile::tempdir().unwrap();
        report.write(dir.path()).unwrap();
        let err = DrillReport::read(&dir.path().join("drill.json")).unwrap_err();
        assert!(err.contains("baton-drill/0"), "{err}");
    }

    #[test]
    fn table_has_a_row_per_phase_with_figures() {
        let table = summary_table(&sample_report());
        let row = table.lines().find(|l| l.starts_with("graceful")).unwrap();
        assert!(
            row.contains("bc1 -> bc2") && row.contains(" 80 ") && row.contains(" 1 "),
            "{row}"
        );
        assert!(table.contains("lost: d-00000002"), "{table}");
        let mut unknown = sample_report();
        unknown.phases[0].rpo_rows = None;
        let table = summary_table(&unknown);
        assert!(table.lines().nth(1).unwrap().contains("unknown"), "{table}");
    }

    fn span(host: &str, task: &str, a: f64, b: f64, outcome: &str) -> TaskSpan {
        TaskSpan {
            host: host.into(),
            task: task.into(),
            started_at: a,
            ended_at: b,
            outcome: outcome.into(),
        }
    }

    #[test]
    fn preflight_share_counts_to_s_preflight_inside_the_outage_and_what_from_did_not_overlap() {
        let run = PlaybookRun {
            playbook: "switchover".into(),
            extra_vars: vec![],
            started_at: 0.0,
            ended_at: 10.0,
            exit_code: Some(0),
            stopped: None,
            unfinished: vec![],
            tasks: vec![
                // Before the outage: not counted.
                span(
                    "bc2",
                    "Pre-flight | rows written on the target",
                    0.5,
                    0.9,
                    "ok",
                ),
                span("bc1", "Critical | stop on from", 1.0, 1.1, "changed"),
                // to's pre-flight 1.1-1.4 overlaps from's flush 1.1-1.3.
                span(
                    "bc1",
                    "Critical | flush ...; meanwhile to's start pre-flight",
                    1.1,
                    1.3,
                    "changed",
                ),
                span(
                    "bc2",
                    "Critical | flush ...; meanwhile to's start pre-flight",
                    1.1,
                    1.4,
                    "ok",
                ),
                span("bc1", "Pre-flight | skipped on from", 1.1, 1.5, "skipped"),
                span("bc2", "Critical | start on to", 1.4, 1.6, "changed"),
            ],
        };
        let outage = Outage {
            from: 1.0,
            to: Some(1.7),
            failed_samples: 5,
        };
        let (ms, alone) =
            preflight_share(std::slice::from_ref(&run), "bc1", "bc2", Some(&outage)).unwrap();
        assert!((ms - 300.0).abs() < 1e-6, "{ms}");
        assert!((alone - 100.0).abs() < 1e-6, "{alone}");
        // No closed outage, no share.
        let open = Outage { to: None, ..outage };
        assert!(preflight_share(std::slice::from_ref(&run), "bc1", "bc2", Some(&open)).is_none());
        assert!(preflight_share(&[run], "bc1", "bc2", None).is_none());

        let mut report = sample_report();
        report.phases[0].preflight_ms = Some(40.0);
        report.phases[0].preflight_alone_ms = Some(0.0);
        let table = summary_table(&report);
        assert!(
            table.contains(
                "bc2's start pre-flight within the outage: 40 ms of 80 (50%), 0 ms not overlapped"
            ),
            "{table}"
        );
    }

    #[test]
    fn older_reports_without_the_preflight_fields_still_read() {
        let report = sample_report();
        let mut value = serde_json::to_value(&report).unwrap();
        let phase = value["phases"][0].as_object_mut().unwrap();
        phase.remove("preflight_ms");
        phase.remove("preflight_alone_ms");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("drill.json");
        std::fs::write(&path, value.to_string()).unwrap();
        assert_eq!(
            DrillReport::read(&path).unwrap().phases[0].preflight_ms,
            None
        );
    }

    #[test]
    fn medians_of_several_cold_and_prepared_runs_with_spread_and_the_goal() {
        let mut report = sample_report();
        let base = report.phases[0].clone();
        report.phases.clear();
        for (kind, ms) in [
            (PhaseKind::Graceful, 2000.0),
            (PhaseKind::Rapid, 700.0),
            (PhaseKind::Graceful, 1800.0),
            (PhaseKind::Rapid, 500.0),
            (PhaseKind::Graceful, 2600.0),
            (PhaseKind::Rapid, 550.0),
        ] {
            let mut p = base.clone();
            p.kind = kind;
            p.rto_ms = Some(ms);
            report.phases.push(p);
        }
        let line = cold_vs_prepared(&report).unwrap();
        assert!(
            line.starts_with("cold vs prepared outage, medians of 3 and 3: 2000 ms (spread 1800-2600) vs 550 ms (spread 500-700) (28% of cold)"),
            "{line}"
        );
        assert!(line.ends_with("<= 600 ms: met"), "{line}");
        // A median over 600 ms misses the goal even at a third of cold.
        report.phases[5].rto_ms = Some(650.0);
        assert!(cold_vs_prepared(&report).unwrap().ends_with("NOT met"));
        // A failed prepared run does not count.
        report.phases[5].outcome = "failed".into();
        assert!(cold_vs_prepared(&report)
            .unwrap()
            .contains("medians of 3 and 2"));
        assert_eq!(median(&[3.0, 1.0, 2.0, 10.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    /// Sets each node's last sample: (vip, state, reachable).
    fn set_last(p: &mut Phase, last: &[(&str, bool, &str, bool)]) {
        for (n, vip, state, reachable) in last {
            let v = p.node_samples.get_mut(*n).unwrap();
            let s = v.last_mut().unwrap();
            s.vip = *vip;
            s.state = (*state).into();
            s.reachable = *reachable;
        }
    }

    #[test]
    fn a_failed_phase_keeps_its_intended_move_and_says_who_serves_from_the_samples() {
        let mut report = sample_report();
        let p = &mut report.phases[0];
        p.outcome = "failed".into();
        p.error = Some("the client did not recover".into());
        // The switchover bc1 -> bc2 failed: bc1 still serves.
        set_last(
            p,
            &[("bc1", true, "START", true), ("bc2", false, "STOP", true)],
        );
        assert_eq!(p.serves_text(), "bc1 serves");
        let table = summary_table(&report);
        let row = table.lines().find(|l| l.starts_with("graceful")).unwrap();
        assert!(
            row.contains("bc1 -> bc2") && row.contains("failed"),
            "{row}"
        );
        assert!(table.contains("at the end: bc1 serves"), "{table}");
        let p = &mut report.phases[0];
        set_last(
            p,
            &[("bc1", false, "STOP", true), ("bc2", false, "STOP", true)],
        );
        assert_eq!(p.serves_text(), "no node serves the VIP");
        set_last(
            p,
            &[("bc1", true, "START", true), ("bc2", true, "START", true)],
        );
        assert_eq!(p.serves_text(), "bc1 and bc2 both hold the VIP");
        set_last(
            p,
            &[
                ("bc1", false, "unknown", false),
                ("bc2", true, "STOP", true),
            ],
        );
        assert_eq!(
            p.serves_text(),
            "bc2 holds the VIP (state STOP) (bc1 unreachable)"
        );
        let html = super::super::html::render(&report);
        assert!(
            html.contains("graceful bc1 &#8594; bc2: RTO")
                && html.contains("bc2 holds the VIP (state STOP) (bc1 unreachable)"),
            "{html}"
        );
    }

    #[test]
    fn the_cadence_is_measured_recorded_and_warned_about() {
        let mut report = sample_report();
        let p = &mut report.phases[0];
        // Probe every 20 ms: no warning.
        let c = Cadence::of(&p.probe, &p.node_samples);
        assert!((c.probe_median_ms.unwrap() - 20.0).abs() < 1e-6, "{c:?}");
        assert!((c.node_max_ms.unwrap() - 100.0).abs() < 1e-6, "{c:?}");
        assert!(c.warning().is_none());
        // A loaded host: samples 300 ms apart, one 900 ms gap.
        for (i, s) in p.probe.iter_mut().enumerate() {
            s.t = 1000.0 + i as f64 * 0.3 + if i >= 5 { 0.6 } else { 0.0 };
        }
        let c = Cadence::of(&p.probe, &p.node_samples);
        assert!((c.probe_median_ms.unwrap() - 300.0).abs() < 1e-6, "{c:?}");
        assert!((c.probe_max_ms.unwrap() - 900.0).abs() < 1e-6, "{c:?}");
        assert!(
            c.warning()
                .unwrap()
                .contains("RTO is accurate only to about 300 ms"),
            "{c:?}"
        );
        p.cadence = Some(c);
        let table = summary_table(&report);
        assert!(
            table.contains("sampled: probe every 300 ms (median, max 900), nodes every 100 ms")
                && table.contains("WARNING: the probe sampled every 300 ms"),
            "{table}"
        );
        let html = super::super::html::render(&report);
        assert!(html.contains("class=\"warning\"") && html.contains("about 300 ms"));
        // Recorded in drill.json, and older reports without it still read.
        let value = serde_json::to_value(&report).unwrap();
        let recorded = value["phases"][0]["cadence"]["probe_median_ms"]
            .as_f64()
            .unwrap();
        assert!((recorded - 300.0).abs() < 1e-6, "{recorded}");
        let mut old = value.clone();
        old["phases"][0].as_object_mut().unwrap().remove("cadence");
        let back: DrillReport = serde_json::from_value(old).unwrap();
        assert_eq!(back.phases[0].cadence, None);
    }

    #[test]
    fn report_dirs_of_drills_started_in_the_same_second_differ() {
        let parent = tempfile::tempdir().unwrap();
        let base = parent.path().join("drills");
        let a = unique_dir(&base, "20261130T010203Z").unwrap();
        let b = unique_dir(&base, "20261130T010203Z").unwrap();
        let c = unique_dir(&base, "20261130T010203Z").unwrap();
        assert_eq!(a, base.join("20261130T010203Z"));
        assert_eq!(b, base.join("20261130T010203Z-2"));
        assert_eq!(c, base.join("20261130T010203Z-3"));
    }

    #[test]
    fn a_report_is_written_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let report = sample_report();
        report.write(dir.path()).unwrap();
        // No temporary file is left behind.
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["drill.json".to_string()]);
        // A write that fails (the target is a directory) keeps the old file.
        let path = dir.path().join("drill.json");
        let before = std::fs::read(&path).unwrap();
        let blocked = dir.path().join("sub");
        std::fs::create_dir_all(blocked.join("drill.json/x")).unwrap();
        assert!(report.write(&blocked).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert_eq!(std::fs::read_dir(&blocked).unwrap().count(), 1);
    }

    #[test]
    fn an_interrupted_drill_tells_the_last_state_the_stop_report_and_an_unknown_fence() {
        let mut report = sample_report();
        report.outcome = "interrupted".into();
        let run = &mut report.phases[0].runs[0];
        run.playbook = "failover".into();
        run.extra_vars = vec!["to=bc2".into()];
        run.exit_code = Some(130);
        run.stopped = Some("stopped by SIGINT at task 'Failover | fence bc1' on bc2".into());
        run.unfinished = vec!["Failover | fence bc1 on bc2".into()];
        let text = interrupted_text(&report);
        assert!(
            text.contains(
                "last sampled: bc1 no VIP, state STOP; bc2 holds the VIP, state START: bc2 serves"
            ),
            "{text}"
        );
        assert!(
            text.contains("the failover run (to=bc2) stopped: stopped by SIGINT at task 'Failover | fence bc1' on bc2"),
            "{text}"
        );
        assert!(
            text.contains("outcome unknown: Failover | fence bc1 on bc2 (a fence command: whether the node was fenced is unknown"),
            "{text}"
        );
        report.phases.clear();
        assert!(interrupted_text(&report).contains("stopped before the first phase"));
    }
}
