//! `baton drill --faults`: the slice's estimate and the refusals that must
//! come before any lab is built (exit 4, naming what to do). No lab here:
//! every command either stops at `--estimate` or is refused.

mod support;

use assert_cmd::Command;
use support::lab::is_root;

fn faults(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("baton")
        .unwrap()
        .args(["drill", "--faults"])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `--estimate --op OP --fault FAULT` and `more`.
fn estimate(op: &str, fault: &str, more: &[&str]) -> (i32, String, String) {
    let mut args = vec!["--estimate", "--op", op, "--fault", fault];
    args.extend(more);
    faults(&args)
}

#[test]
fn the_estimate_counts_only_the_faults_that_apply_and_says_which_do_not() {
    let (code, out, _) = estimate("failover", "from-link,to-link", &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("about 67 case(s)"), "{out}");
    assert!(
        out.contains("failover x from-link: does not apply"),
        "{out}"
    );
}

#[test]
fn boundaries_beyond_the_run_are_named_and_not_counted() {
    let (code, out, _) = estimate("recover", "to-link", &["--case", "50-60"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("about 3 case(s)"), "{out}");
    assert!(
        out.contains("boundaries from 53 are likely beyond"),
        "{out}"
    );
}

#[test]
fn a_slice_with_no_applicable_fault_is_refused_before_the_lab() {
    let (code, _, err) = faults(&["--lab", "--op", "failover", "--fault", "from-link"]);
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("none of from-link applies to failover"),
        "{err}"
    );
    assert!(err.contains("choose from controller-kill"), "{err}");
}

#[test]
fn an_empty_name_is_refused_not_read_as_the_whole_matrix() {
    for args in [["--op", ""], ["--fault", ""], ["--fault", "to-link,"]] {
        let mut a = vec!["--estimate"];
        a.extend(args);
        let (code, out, err) = faults(&a);
        assert_eq!(code, 4, "{args:?}: {out}{err}");
        assert!(err.contains("an empty name"), "{err}");
        assert!(!out.contains("2829"), "{out}");
    }
}

#[test]
fn an_at_text_no_task_has_is_refused_and_a_real_one_is_estimated() {
    let (code, _, err) = faults(&["--estimate", "--op", "switchover", "--at", "zzz nomatch"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("`zzz nomatch`"), "{err}");
    let (code, out, err) = estimate("switchover", "to-link", &["--at", "Stop | flush"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("about 1 case(s)"), "{out}");
}

#[test]
fn a_backwards_case_range_says_how_to_write_it() {
    let (code, _, err) = faults(&["--estimate", "--case", "5-2"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("write 2-5"), "{err}");
}

#[test]
fn a_scenario_with_the_fault_matrix_is_refused() {
    let (code, _, err) = faults(&["--estimate", "--scenario", "graceful"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("--scenario"), "{err}");
}

#[test]
fn a_report_directory_holding_a_slice_is_not_overwritten() {
    if !is_root() {
        // Refused earlier, for root: that refusal is asserted instead.
        let (code, _, err) = faults(&["--lab", "--op", "switchover", "--fault", "to-link"]);
        assert_eq!(code, 4, "{err}");
        assert!(err.contains("needs root"), "{err}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("faults.json"), "{}").unwrap();
    let report = dir.path().to_str().unwrap();
    let (code, out, err) = faults(&[
        "--lab",
        "--op",
        "switchover",
        "--fault",
        "to-link",
        "--case",
        "1",
        "--report",
        report,
    ]);
    assert_eq!(code, 4, "{out}{err}");
    assert!(err.contains("holds another slice's report"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("faults.json")).unwrap(),
        "{}"
    );
    assert!(!out.contains("==> install"), "{out}");
}

#[test]
fn a_refusal_leaves_a_report_directory_it_did_not_make() {
    require_root!();
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("mine");
    std::fs::create_dir(&report).unwrap();
    let (code, _, err) = faults(&[
        "--lab",
        "--op",
        "switchover",
        "--fault",
        "to-link",
        "--case",
        "1",
        "--dist",
        "/nonexistent/hvr.tgz",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("/nonexistent/hvr.tgz"), "{err}");
    assert!(report.is_dir(), "the user's report directory was removed");
}

#[test]
fn an_operation_or_fault_named_twice_runs_once() {
    let (code, out, err) = estimate("switchover,switchover", "to-link,to-link", &["--case", "1"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("switchover x to-link x --case 1: about 1 case(s)"),
        "{out}"
    );
}
