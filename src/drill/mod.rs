//! `baton drill`: a disaster-recovery drill with measured RTO and RPO.
//!
//! `--lab` builds a lab of two BC nodes (`baton lab up`, own prefix and
//! subnet), installs and starts HVR (the simulator) with baton's playbooks,
//! runs the scenario's phases, and always removes the lab (also on failure
//! and Ctrl-C). `-i INV` runs the phases against a real pair. During each
//! phase a client probe writes and reads through the VIP every 20 ms and
//! both nodes are sampled; the report (`--report DIR`) is a terminal table,
//! `drill.json` (docs/drill.md) and `drill.html`.
//!
//! Exit codes: 0 every phase passed; 2 a phase failed (a playbook failed,
//! or the client never recovered); 3 a node did not answer before the
//! first phase; 4 invalid input or a refusal, before
//! anything ran; 1 the lab or the report could not be made; 128+N stopped
//! by signal N (the lab is removed first).

mod faults;
mod html;
mod measure;
mod nodes;
mod phases;
mod probe;
mod report;
mod runner;
mod scenario;
mod setup;
mod shell;
mod signals;

use std::io::Write as _;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::exit_code;

#[derive(clap::Args, Debug, Clone)]
pub struct DrillArgs {
    /// Build a local lab (two BC nodes, a client; needs root), drill it, remove it
    #[arg(long, conflicts_with = "inventory")]
    pub lab: bool,
    /// A real inventory of the BC pair (with drill_probe_host, drill_probe_write_cmd, drill_probe_read_cmd)
    #[arg(short = 'i', long = "inventory")]
    pub inventory: Vec<PathBuf>,
    /// Phases, in order (comma list): graceful, rapid, abrupt, recover, switchback
    #[arg(long, default_value = scenario::DEFAULT_SCENARIO)]
    pub scenario: String,
    /// Cold vs prepared side by side: N graceful and N rapid phases, alternating; prints medians
    #[arg(long, value_name = "N", conflicts_with_all = ["scenario", "compare", "render_html"])]
    pub rapid_compare: Option<u32>,
    /// Report directory (drill.json, drill.html) [default: /var/lib/baton/drills/<UTC time>]
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Confirm the abrupt phase on a real inventory (it fences the active node)
    #[arg(long)]
    pub allow_abrupt: bool,
    /// Extra variables for every playbook run (as `baton run -e`)
    #[arg(short = 'e', long = "extra-vars")]
    pub extra_vars: Vec<String>,
    /// Directory of baton's playbooks
    #[arg(long, value_name = "DIR", default_value = "playbooks")]
    pub playbooks: PathBuf,
    /// The HVR distribution tarball the lab installs (the simulator's, from sim/package.sh)
    #[arg(long, value_name = "TARBALL")]
    pub dist: Option<PathBuf>,
    /// Name prefix of the lab's namespaces
    #[arg(long, value_name = "PREFIX", default_value = "batondrill")]
    pub lab_prefix: String,
    /// Private subnet of the lab
    #[arg(long, value_name = "CIDR", default_value = "10.76.0.0/24")]
    pub lab_subnet: String,
    /// Run the fault matrix (docs/drill.md, "The fault matrix") instead of a scenario; with --lab
    #[arg(long, conflicts_with_all = ["scenario", "rapid_compare", "compare", "render_html", "allow_abrupt"])]
    pub faults: bool,
    /// Fault matrix: operations to run (switchover, failover, recover; comma list) [default: all]
    #[arg(long = "op", value_name = "OP", requires = "faults")]
    pub ops: Vec<String>,
    /// Fault matrix: faults to inject (comma list) [default: all built]
    #[arg(long = "fault", value_name = "FAULT", requires = "faults")]
    pub fault_names: Vec<String>,
    /// Fault matrix: task boundaries to inject at: N, N-M, or a comma list [default: every one]
    #[arg(long = "case", value_name = "N", requires = "faults")]
    pub cases: Option<String>,
    /// Fault matrix: inject at the first task whose name contains TEXT (instead of --case)
    #[arg(long = "at", value_name = "TEXT", requires = "faults")]
    pub at: Vec<String>,
    /// Fault matrix: print the slice's expected duration and stop
    #[arg(long, requires = "faults")]
    pub estimate: bool,
    /// Compare two drills' figures: --compare A/drill.json B/drill.json
    #[arg(long, num_args = 2, value_names = ["A", "B"], conflicts_with_all = ["lab", "inventory"])]
    pub compare: Option<Vec<PathBuf>>,
    /// Render drill.html again from a drill.json (into --report DIR, or next to the JSON)
    #[arg(long, value_name = "JSON", conflicts_with_all = ["lab", "inventory", "compare"])]
    pub render_html: Option<PathBuf>,
}

/// Unix epoch seconds, with fractions.
pub(crate) fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// One line to stdout; a closed pipe is ignored.
pub(crate) fn say(text: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

pub(crate) fn warn(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// A drill that could not run, or stopped.
#[derive(Debug)]
pub enum DrillError {
    /// Refused before anything ran (exit 4).
    Refused(String),
    /// The lab or the target could not be prepared (exit 1).
    Setup(String),
}

pub fn run(args: DrillArgs) -> i32 {
    if let Some(files) = &args.compare {
        return compare(files);
    }
    if let Some(json) = &args.render_html {
        return render_html(json, args.report.as_deref());
    }
    // -e is checked before anything runs (a lab, a report directory), with
    // the parser `baton run` uses: every playbook run would refuse it later.
    if let Err(e) = check_extra_vars(&args.extra_vars) {
        warn(&e);
        return exit_code::INVALID_INPUT;
    }
    if args.faults {
        return faults::run(&args);
    }
    let phases = match args
        .rapid_compare
        .map_or_else(|| scenario::parse(&args.scenario), scenario::rapid_compare)
    {
        Ok(p) => p,
        Err(e) => {
            warn(&format!("baton drill: {e}"));
            return exit_code::INVALID_INPUT;
        }
    };
    match phases::drill(&args, &phases) {
        Ok(code) => code,
        Err(DrillError::Refused(e)) => {
            warn(&e);
            exit_code::INVALID_INPUT
        }
        Err(DrillError::Setup(e)) => {
            warn(&format!("baton drill: {e}"));
            exit_code::INTERNAL
        }
    }
}

/// `-e` values as `baton run` reads them; the error names the argument
/// (and the file, for `@FILE`) and what to write instead.
fn check_extra_vars(extra: &[String]) -> Result<(), String> {
    crate::load::extra_vars::parse(extra)
        .map(|_| ())
        .map_err(|e| {
            let place = e
                .location
                .as_ref()
                .map(|l| format!(" ({l})"))
                .unwrap_or_default();
            let help = e
                .help
                .as_ref()
                .map(|h| format!("; {h}"))
                .unwrap_or_default();
            format!("baton drill: {}{place}{help}; nothing has run", e.message)
        })
}

/// `--compare A B`: the two drills' figures side by side, phase by phase.
fn compare(files: &[PathBuf]) -> i32 {
    let mut reports = Vec::new();
    for f in files {
        let path = if f.is_dir() {
            f.join("drill.json")
        } else {
            f.clone()
        };
        match report::DrillReport::read(&path) {
            Ok(r) => reports.push(r),
            Err(e) => {
                warn(&format!("baton drill --compare: {e}"));
                return exit_code::INVALID_INPUT;
            }
        }
    }
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    say(compare_table(&reports[0], &reports[1], &names[0], &names[1]).trim_end());
    exit_code::OK
}

/// `--render-html JSON`: drill.html again from a drill.json (a report
/// read back with the schema check of `--compare`), written into `dir`, or
/// next to the JSON. The same page a drill writes; CI loads it in Chromium.
fn render_html(json: &std::path::Path, dir: Option<&std::path::Path>) -> i32 {
    let path = if json.is_dir() {
        json.join("drill.json")
    } else {
        json.to_path_buf()
    };
    let report = match report::DrillReport::read(&path) {
        Ok(r) => r,
        Err(e) => {
            warn(&format!("baton drill --render-html: {e}"));
            return exit_code::INVALID_INPUT;
        }
    };
    let out_dir = match dir {
        Some(d) => d.to_path_buf(),
        None => path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), std::path::Path::to_path_buf),
    };
    let out = out_dir.join("drill.html");
    // --report DIR is made if missing, as a drill makes it.
    let written = std::fs::create_dir_all(&out_dir)
        .map_err(|e| e.to_string())
        .and_then(|()| report::write_atomic(&out, html::render(&report).as_bytes()));
    match written {
        Ok(()) => {
            say(&format!("report: {}", out.display()));
            exit_code::OK
        }
        Err(e) => {
            warn(&format!(
                "baton drill --render-html: cannot write {}: {e} (check that the directory exists and is writable)",
                out.display()
            ));
            exit_code::INTERNAL
        }
    }
}

/// Phases matched by kind and occurrence (A's 1st graceful with B's 1st
/// graceful, ...), in A's order, then B's phases that A lacks.
fn match_phases<'a>(
    a: &'a [report::Phase],
    b: &'a [report::Phase],
) -> Vec<(Option<&'a report::Phase>, Option<&'a report::Phase>, usize)> {
    let nth = |ps: &'a [report::Phase], kind: scenario::PhaseKind, n: usize| {
        ps.iter().filter(|p| p.kind == kind).nth(n)
    };
    let occurrence =
        |ps: &[report::Phase], i: usize| ps[..i].iter().filter(|p| p.kind == ps[i].kind).count();
    let mut rows = Vec::new();
    for (i, pa) in a.iter().enumerate() {
        let n = occurrence(a, i);
        rows.push((Some(pa), nth(b, pa.kind, n), n + 1));
    }
    for (i, pb) in b.iter().enumerate() {
        let n = occurrence(b, i);
        if nth(a, pb.kind, n).is_none() {
            rows.push((None, Some(pb), n + 1));
        }
    }
    rows
}

/// `--compare`: a header naming A and B, a row per matched phase
/// (`graceful #1`), and the phases only one of them has.
fn compare_table(
    a: &report::DrillReport,
    b: &report::DrillReport,
    a_name: &str,
    b_name: &str,
) -> String {
    let mut out = format!("A: {a_name}\nB: {b_name}\n");
    out.push_str(&format!(
        "{:<14} {:>13} {:>13} {:>7} {:>7}\n",
        "phase", "A RTO ms", "B RTO ms", "A RPO", "B RPO"
    ));
    let rto = |p: Option<&report::Phase>| p.map_or("-".into(), report::Phase::rto_text);
    let rpo = |p: Option<&report::Phase>| p.map_or("-".into(), report::Phase::rpo_text);
    let mut unmatched = Vec::new();
    for (pa, pb, n) in match_phases(&a.phases, &b.phases) {
        let kind = pa.or(pb).map_or("", |p| p.kind.name());
        let name = format!("{kind} #{n}");
        match (pa, pb) {
            (Some(_), None) => unmatched.push(format!("{name} only in A")),
            (None, Some(_)) => unmatched.push(format!("{name} only in B")),
            _ => {}
        }
        out.push_str(&format!(
            "{:<14} {:>13} {:>13} {:>7} {:>7}\n",
            name,
            rto(pa),
            rto(pb),
            rpo(pa),
            rpo(pb)
        ));
    }
    if !unmatched.is_empty() {
        out.push_str(&format!("unmatched: {}\n", unmatched.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::scenario::PhaseKind;

    #[test]
    fn render_html_makes_the_report_dir() {
        let dir = tempfile::tempdir().unwrap();
        super::report::tests::sample_report()
            .write(dir.path())
            .unwrap();
        let out = dir.path().join("new/deeper");
        let code = super::render_html(&dir.path().join("drill.json"), Some(&out));
        assert_eq!(code, crate::error::exit_code::OK);
        assert!(std::fs::read_to_string(out.join("drill.html"))
            .unwrap()
            .contains("<svg "));
    }

    #[test]
    fn compare_lines_up_phases_by_kind_and_occurrence() {
        let a = super::report::tests::sample_report();
        let base = a.phases[0].clone();
        let phase = |kind, rto: Option<f64>| {
            let mut p = base.clone();
            p.kind = kind;
            p.rto_ms = rto;
            p
        };
        let mut a = a;
        a.phases = vec![
            phase(PhaseKind::Graceful, Some(100.0)),
            phase(PhaseKind::Abrupt, Some(200.0)),
            phase(PhaseKind::Graceful, Some(300.0)),
        ];
        let mut b = a.clone();
        // B lacks the abrupt phase and has a rapid one; its graceful phases
        // still line up with A's by occurrence, not position.
        b.phases = vec![
            phase(PhaseKind::Graceful, Some(1111.0)),
            phase(PhaseKind::Graceful, None),
            phase(PhaseKind::Rapid, Some(50.0)),
        ];
        let table = super::compare_table(&a, &b, "/r/a/drill.json", "/r/b");
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "A: /r/a/drill.json");
        assert_eq!(lines[1], "B: /r/b");
        let row = |name: &str| *lines.iter().find(|l| l.starts_with(name)).unwrap();
        assert!(row("graceful #1").contains("100") && row("graceful #1").contains("1111"));
        assert!(
            row("graceful #2").contains("300") && row("graceful #2").contains("not recovered"),
            "{table}"
        );
        assert!(
            row("abrupt #1").split_whitespace().nth(3) == Some("-"),
            "{table}"
        );
        assert!(row("rapid #1").contains("50"), "{table}");
        assert!(
            table.contains("unmatched: abrupt #1 only in A, rapid #1 only in B"),
            "{table}"
        );
        // Aligned: every row as wide as the header, `not recovered` included.
        let width = lines[2].len();
        for l in &lines[3..7] {
            assert_eq!(l.len(), width, "{table}");
        }
    }
}
