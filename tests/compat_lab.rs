//! The lab cases of the compatibility corpus (tests/compat/lab/): a playbook
//! run with baton on a fresh lab, over SSH, compared with what ansible-core
//! did on another fresh lab (CASE/expected.json, recorded once by
//! `bench/compat.sh --record lab/CASE`, so this test needs no Ansible).
//!
//! Each case's setup.sh runs on every node first (`ssh NODE sh -s`), then the
//! playbook runs twice (first, second: idempotence), then the case's state.sh,
//! run on every node, prints what the runs left there, a fact a line. The exit
//! codes, PLAY RECAP counters and state lines must be Ansible's. Needs root
//! (CI has it); each case owns its lab.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Map, Value};
use support::lab::*;

const RUNS: [&str; 2] = ["first", "second"];
const COUNTERS: [&str; 7] = [
    "ok",
    "changed",
    "unreachable",
    "failed",
    "skipped",
    "rescued",
    "ignored",
];

fn case_dir(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/compat/lab")
        .join(case)
}

/// `script` run with sh on NODE over SSH; its stdout lines, asserting success.
fn on_node(lab: &Lab, node: &str, script: &Path) -> Vec<String> {
    let out = Command::new("ssh")
        .arg("-F")
        .arg(lab.dir().join("ssh_config"))
        .args([node, "sh", "-s"])
        .stdin(Stdio::from(std::fs::File::open(script).unwrap()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} on {node}: {}",
        script.display(),
        describe(&out)
    );
    text(&out.stdout).lines().map(str::to_string).collect()
}

/// The `recap` event's counters, hosts whose counters are all zero left out
/// (as Ansible's recap leaves out hosts that ran nothing).
fn recap(stdout: &str) -> Map<String, Value> {
    let mut hosts = Map::new();
    for line in stdout.lines().filter(|l| l.starts_with('{')) {
        let event: Value = serde_json::from_str(line).unwrap();
        if event["event"] != "recap" {
            continue;
        }
        for (host, counts) in event["hosts"].as_object().unwrap() {
            let counts: Map<String, Value> = COUNTERS
                .iter()
                .map(|c| (c.to_string(), counts[*c].as_u64().unwrap_or(0).into()))
                .collect();
            if counts.values().any(|v| v.as_u64() != Some(0)) {
                hosts.insert(host.clone(), Value::Object(counts));
            }
        }
    }
    hosts
}

/// Every way baton's observation differs from the recording, a line each.
fn run_case(case: &str) -> Vec<String> {
    let dir = case_dir(case);
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let lab = Lab::running();
    let nodes = ["bc1", "bc2"];
    for node in nodes {
        on_node(&lab, node, &dir.join("setup.sh"));
    }
    let mut differences = Vec::new();
    for run in RUNS {
        let out = Command::new(BATON)
            .arg("run")
            .arg("playbook.yml")
            .arg("-i")
            .arg(lab.dir().join("lab.yml"))
            .args(["--output", "json"])
            .current_dir(&dir)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let rc = out.status.code().map_or(Value::Null, Value::from);
        if rc != expected[run]["rc"] {
            differences.push(format!(
                "{run}: exit code {} -> {rc}\n{}",
                expected[run]["rc"],
                describe(&out)
            ));
        }
        let got = Value::Object(recap(&text(&out.stdout)));
        if got != expected[run]["recap"] {
            differences.push(format!("{run}: recap {} -> {got}", expected[run]["recap"]));
        }
    }
    for node in nodes {
        let got = on_node(&lab, node, &dir.join("state.sh"));
        let want: Vec<String> = expected["state"][node]
            .as_array()
            .unwrap_or_else(|| panic!("{case}/expected.json: no state for {node}"))
            .iter()
            .map(|l| l.as_str().unwrap().to_string())
            .collect();
        for line in want.iter().filter(|l| !got.contains(l)) {
            differences.push(format!("state {node}: only under ansible: {line}"));
        }
        for line in got.iter().filter(|l| !want.contains(l)) {
            differences.push(format!("state {node}: only under baton:   {line}"));
        }
    }
    differences
}

/// Users, a package from a local apt repository, an archive, a git checkout,
/// a sysctl and a mount, as a new user writes them: the same state as
/// ansible-core's, and a second run that changes nothing.
#[test]
fn provision_leaves_ansibles_state() {
    require_root!();
    let differences = run_case("provision");
    assert!(
        differences.is_empty(),
        "lab/provision differs from ansible-core:\n{}",
        differences.join("\n")
    );
}

/// The recording is what the test compares with: a second run that Ansible
/// itself reported as changing nothing, and state that covers each part of
/// the playbook (so a recording that lost a part cannot pass silently).
#[test]
fn the_provision_recording_covers_every_part() {
    let text = std::fs::read_to_string(case_dir("provision").join("expected.json")).unwrap();
    let expected: Value = serde_json::from_str(&text).unwrap();
    for host in ["bc1", "bc2"] {
        assert_eq!(expected["second"]["recap"][host]["changed"], 0, "{host}");
        assert_eq!(expected["first"]["recap"][host]["failed"], 0, "{host}");
        let state: Vec<&str> = expected["state"][host]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        for part in [
            "passwd app:x:1500:1500:",
            "group app:x:1500:",
            "dpkg app-tools 1.0 ii",
            "file /opt/app/releases/app-1.0/bin/run f 755 app app",
            "git HEAD ",
            "sysctl net.ipv4.ip_forward=1",
            "fstab tmpfs /opt/app/cache tmpfs",
            "mount tmpfs /opt/app/cache tmpfs",
        ] {
            assert!(
                state.iter().any(|l| l.starts_with(part)),
                "{host}: no `{part}` in the recording"
            );
        }
    }
}
