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
//! or the client never recovered); 4 invalid input or a refusal, before
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
    /// Phases, in order: graceful, abrupt, recover, switchback
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
    /// Run the fault matrix (docs/faults.md) instead of a scenario; with --lab
    #[arg(long)]
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
    say(&compare_table(&reports[0], &reports[1]));
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
    match std::fs::write(&out, html::render(&report)) {
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

fn compare_table(a: &report::DrillReport, b: &report::DrillReport) -> String {
    let mut out = format!(
        "{:<4} {:<11} {:>10} {:>10} {:>10} {:>10}\n",
        "#", "phase", "A RTO ms", "B RTO ms", "A RPO", "B RPO"
    );
    let n = a.phases.len().max(b.phases.len());
    for i in 0..n {
        let (pa, pb) = (a.phases.get(i), b.phases.get(i));
        let name = pa.or(pb).map_or("", |p| p.kind.name());
        let rto = |p: Option<&report::Phase>| p.map_or("-".into(), report::Phase::rto_text);
        let rpo = |p: Option<&report::Phase>| p.map_or("-".into(), report::Phase::rpo_text);
        out.push_str(&format!(
            "{:<4} {:<11} {:>10} {:>10} {:>10} {:>10}\n",
            i + 1,
            name,
            rto(pa),
            rto(pb),
            rpo(pa),
            rpo(pb)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn compare_lines_up_phases() {
        let a = super::report::tests::sample_report();
        let mut b = a.clone();
        b.phases[0].rto_ms = Some(1234.0);
        let table = super::compare_table(&a, &b);
        let row = table.lines().nth(1).unwrap();
        assert!(
            row.contains("graceful") && row.contains("80") && row.contains("1234"),
            "{row}"
        );
    }
}
