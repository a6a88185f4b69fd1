//! `baton drill`: a graceful drill in a lab of its own (root), and the
//! refusals of a drill against a real inventory (no lab: they must refuse
//! before anything runs).

mod support;

use std::process::Command;

use support::hvr::dist;
use support::lab::*;

fn drill(args: &[&str]) -> std::process::Output {
    Command::new(BATON)
        .arg("drill")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// A prefix of its own and a free 10.199.X.0/24 for the drill's lab, as
/// the lab helpers pick them (the drill builds and removes the lab itself).
fn free_net() -> (String, String) {
    let used = subnets_in_use();
    let pid = std::process::id();
    let octet = (0..256u32)
        .map(|n| (pid % 25 * 10 + 7 + n) % 256)
        .find(|o| !used.contains(&o.to_string()))
        .expect("a free 10.199.X.0/24");
    (
        format!("btd{}", pid % 100_000),
        format!("10.199.{octet}.0/24"),
    )
}

#[test]
fn lab_graceful_drill_measures_and_cleans_up() {
    require_root!();
    let report = tempfile::tempdir().unwrap();
    let (prefix, subnet) = free_net();
    let tarball = dist().tarball.display().to_string();
    let out = drill(&[
        "--lab",
        "--scenario",
        "graceful",
        "--dist",
        &tarball,
        "--lab-prefix",
        &prefix,
        "--lab-subnet",
        &subnet,
        "--report",
        report.path().to_str().unwrap(),
    ]);
    let leftover: Vec<String> = text(
        &Command::new("ip")
            .args(["netns", "list"])
            .output()
            .unwrap()
            .stdout,
    )
    .lines()
    .filter(|l| l.starts_with(&prefix))
    .map(str::to_string)
    .collect();
    assert!(leftover.is_empty(), "namespaces left behind: {leftover:?}");
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("==> [1/1] graceful") && stdout.contains("lab removed"),
        "{stdout}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.path().join("drill.json")).unwrap())
            .unwrap();
    assert_eq!(json["schema"], "baton-drill/1");
    assert_eq!(json["outcome"], "passed");
    let phase = &json["phases"][0];
    assert_eq!(phase["kind"], "graceful");
    assert_eq!(
        (phase["from"].as_str(), phase["to"].as_str()),
        (Some("bc1"), Some("bc2"))
    );
    let rto = phase["rto_ms"]
        .as_f64()
        .expect("a switchover interrupts the client");
    assert!(rto > 0.0, "{rto}");
    assert_eq!(phase["rpo_rows"], 0, "{}", phase["lost_keys"]);
    assert!(phase["acked"].as_u64().unwrap() > 10);
    // The client was served by bc1, then by bc2.
    let servers: Vec<&str> = phase["probe"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["server"].as_str())
        .collect();
    assert_eq!(servers.first(), Some(&"bc1"));
    assert_eq!(servers.last(), Some(&"bc2"));
    // Task timeline from the switchover's JSON events, on both nodes.
    let tasks = phase["runs"][0]["tasks"].as_array().unwrap();
    for node in ["bc1", "bc2"] {
        assert!(tasks.iter().any(|t| t["host"] == node), "no task on {node}");
    }
    // The VIP moved, as both nodes' samplers saw it.
    let held = |node: &str| -> Vec<bool> {
        phase["node_samples"][node]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["vip"].as_bool().unwrap())
            .collect()
    };
    let (bc1, bc2) = (held("bc1"), held("bc2"));
    assert!(
        bc1.first() == Some(&true) && bc1.last() == Some(&false),
        "{bc1:?}"
    );
    assert!(
        bc2.first() == Some(&false) && bc2.last() == Some(&true),
        "{bc2:?}"
    );

    let html = std::fs::read_to_string(report.path().join("drill.html")).unwrap();
    assert_eq!(html.matches("<svg ").count(), 1);
    assert!(html.contains("RTO ") && html.contains("RPO 0 rows"));
}

fn real_inventory(dir: &std::path::Path, extra: &str) -> String {
    let path = dir.join("pair.yml");
    std::fs::write(
        &path,
        format!(
            "all:\n  children:\n    bc:\n      hosts:\n        a: {{ansible_host: 192.0.2.11}}\n        b: {{ansible_host: 192.0.2.12}}\n      vars:\n        vip_address: 192.0.2.100\n{extra}"
        ),
    )
    .unwrap();
    path.display().to_string()
}

#[test]
fn real_abrupt_drill_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let probe = "        drill_probe_host: localhost\n        drill_probe_write_cmd: 'true'\n        drill_probe_read_cmd: 'true'\n";
    let inv = real_inventory(dir.path(), probe);
    let report = dir.path().join("report");
    let report_s = report.to_str().unwrap();
    // Neither --allow-abrupt nor hvr_fence_command.
    let out = drill(&[
        "-i",
        &inv,
        "--scenario",
        "abrupt,recover",
        "--report",
        report_s,
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("--allow-abrupt") && err.contains("hvr_fence_command"),
        "{err}"
    );
    assert!(err.contains("nothing has run"), "{err}");
    assert!(
        !report.exists(),
        "a refused drill made its report directory"
    );
    // The flag alone is not enough.
    let out = drill(&[
        "-i",
        &inv,
        "--scenario",
        "abrupt,recover",
        "--allow-abrupt",
        "--report",
        report_s,
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("hvr_fence_command") && !err.contains("--allow-abrupt"),
        "{err}"
    );
    assert!(!report.exists());
}

#[test]
fn real_drill_without_probe_vars_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let inv = real_inventory(dir.path(), "        drill_probe_host: nosuchhost\n");
    let out = drill(&[
        "-i",
        &inv,
        "--scenario",
        "graceful",
        "--report",
        dir.path().join("r").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let err = text(&out.stderr);
    for needed in [
        "`nosuchhost` is not a host",
        "drill_probe_write_cmd",
        "drill_probe_read_cmd",
    ] {
        assert!(err.contains(needed), "{needed}: {err}");
    }
}

#[test]
fn bad_scenario_is_refused() {
    let out = drill(&["--lab", "--scenario", "abrupt,graceful"]);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    assert!(text(&out.stderr).contains("put `recover` after `abrupt`"));
}

#[test]
fn lab_drill_interrupted_removes_the_lab() {
    use std::io::{BufRead, BufReader};
    require_root!();
    let report = tempfile::tempdir().unwrap();
    let (prefix, subnet) = free_net();
    let prefix = format!("{prefix}i");
    let tarball = dist().tarball.display().to_string();
    let mut child = Command::new(BATON)
        .args([
            "drill",
            "--lab",
            "--scenario",
            "graceful",
            "--dist",
            &tarball,
        ])
        .args(["--lab-prefix", &prefix, "--lab-subnet", &subnet, "--report"])
        .arg(report.path())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    // Interrupt once the switchover has started changing things.
    loop {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "drill ended early:\n{seen}"
        );
        seen.push_str(&line);
        if line.contains("Stop | remove the VIP") {
            break;
        }
    }
    // SAFETY: kill(2) on the child we started, by its PID.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let status = child.wait().unwrap();
    seen.push_str(&rest);
    assert_eq!(status.code(), Some(130), "{seen}");
    assert!(seen.contains("lab removed"), "{seen}");
    let leftover = text(
        &Command::new("ip")
            .args(["netns", "list"])
            .output()
            .unwrap()
            .stdout,
    )
    .lines()
    .filter(|l| l.starts_with(&prefix))
    .count();
    assert_eq!(leftover, 0, "namespaces left behind");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.path().join("drill.json")).unwrap())
            .unwrap();
    assert_eq!(json["outcome"], "interrupted");
    // The switchover's run was stopped (130), and recorded.
    assert_eq!(json["phases"][0]["runs"][0]["exit_code"], 130);
}

#[test]
fn lab_rapid_drill_measures_a_prepared_switchover_beside_graceful() {
    require_root!();
    let report = tempfile::tempdir().unwrap();
    let (prefix, subnet) = free_net();
    let tarball = dist().tarball.display().to_string();
    let out = drill(&[
        "--lab",
        "--scenario",
        "graceful,rapid",
        "--dist",
        &tarball,
        "--lab-prefix",
        &prefix,
        "--lab-subnet",
        &subnet,
        "--report",
        report.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("cold vs prepared outage: "), "{stdout}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.path().join("drill.json")).unwrap())
            .unwrap();
    let rapid = &json["phases"][1];
    assert_eq!(rapid["kind"], "rapid");
    assert_eq!(
        (rapid["from"].as_str(), rapid["to"].as_str()),
        (Some("bc2"), Some("bc1"))
    );
    assert_eq!(rapid["rpo_rows"], 0, "{}", rapid["lost_keys"]);
    assert!(rapid["rto_ms"].as_f64().is_some());
    // Two runs: the prepare (writes the plan), then the switchover from it.
    let runs = rapid["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    let vars = |i: usize| runs[i]["extra_vars"].to_string();
    assert!(vars(0).contains("switchover_mode=prepare"), "{}", vars(0));
    assert!(vars(1).contains("plan="), "{}", vars(1));
    let plan_tasks = runs[1]["tasks"].as_array().unwrap();
    let ran = |task: &str, host: &str| {
        plan_tasks.iter().any(|t| {
            t["host"] == host
                && t["task"].as_str().unwrap_or_default().ends_with(task)
                && t["outcome"] != "skipped"
        })
    };
    assert!(ran(
        "Plan | nothing it relied on changed, and it has not expired",
        "bc2"
    ));
    // to's start pre-flight is never skipped: it overlaps bc2's flush.
    assert!(ran(
        "Critical | communication server, flush and STOP on from, hvrcompare at the switch point; meanwhile to's start pre-flight (VIP probe, duplicate-address detection)",
        "bc1"
    ));
    assert!(ran(
        "Critical | verdict on to's start pre-flight (the VIP does not answer, nobody answers ARP for it)",
        "bc1"
    ));
    // Its share of the outage is reported, and cannot exceed the outage.
    let (share, rto) = (
        rapid["preflight_ms"].as_f64().unwrap(),
        rapid["rto_ms"].as_f64().unwrap(),
    );
    assert!(share > 0.0 && share <= rto + 1e-6, "{share} of {rto}");
    assert!(
        rapid["preflight_alone_ms"].as_f64().unwrap() <= share,
        "{rapid}"
    );
    assert!(
        stdout.contains("bc1's start pre-flight within the outage: "),
        "{stdout}"
    );
    assert!(!ran(
        "Pre-flight | the active node reaches the target's remote listener (the flush goes there)",
        "bc2"
    ));
    // The phase's warm masters were closed: no ssh names its control directory.
    let leftover = Command::new("pgrep")
        .args(["-f", "baton-drill-.*/.ssh-connection"])
        .output()
        .unwrap();
    assert!(leftover.stdout.is_empty(), "{}", text(&leftover.stdout));
}

#[test]
fn bad_extra_vars_are_refused_before_the_lab_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r");
    let missing = dir.path().join("nonexist.yml");
    let missing_arg = format!("@{}", missing.display());
    for (arg, needed) in [
        ("foo", "-e `foo` is not KEY=VALUE".to_string()),
        (missing_arg.as_str(), missing.display().to_string()),
    ] {
        let out = drill(&[
            "--lab",
            "--scenario",
            "graceful",
            "--dist",
            "/nonexistent/dist.tar.gz",
            "--report",
            report.to_str().unwrap(),
            "-e",
            arg,
        ]);
        assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
        let err = text(&out.stderr);
        assert!(
            err.contains(&needed) && err.contains("nothing has run"),
            "{err}"
        );
        assert!(!text(&out.stdout).contains("lab up"), "{}", describe(&out));
        assert!(!report.exists());
    }
}

/// The doctor's report selection (roles/hvr_common/tasks/doctor.yml, its
/// `the newest drill reports` shell), run with bash against a directory
/// whose newest report is truncated: that one is skipped and named, the
/// newest readable one is used.
#[test]
fn the_doctor_skips_an_unreadable_newest_report_and_names_it() {
    let yml = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("roles/hvr_common/tasks/doctor.yml"),
    )
    .unwrap();
    let task = &yml[yml
        .find("- name: Doctor | the newest drill reports")
        .unwrap()..];
    let body = &task[task.find("  shell: |\n").unwrap() + "  shell: |\n".len()
        ..task.find("  delegate_to: localhost").unwrap()];
    let dir = tempfile::tempdir().unwrap();
    let script: String = body
        .lines()
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
        .replace(
            "{{ hvr_doctor_drill_dir | quote }}",
            &format!("'{}'", dir.path().display()),
        )
        .replace("{{ hvr_doctor_drill_reports | int }}", "1");
    assert!(!script.contains("{{"), "{script}");
    for (name, text, age) in [
        ("old", "{\"schema\": \"baton-drill/1\", \"n\": 1}", 20),
        ("new", "{\"schema\": \"baton-drill/1\", \"n\": 2}", 10),
        ("newest", "{\"schema\": \"baton-drill/1\", \"phases\": [", 0),
    ] {
        let d = dir.path().join(name);
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join("drill.json"), text).unwrap();
        let t = std::time::SystemTime::now() - std::time::Duration::from_secs(age);
        std::fs::File::options()
            .write(true)
            .open(d.join("drill.json"))
            .unwrap()
            .set_modified(t)
            .unwrap();
    }
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let newest = dir.path().join("newest/drill.json").display().to_string();
    assert_eq!(value["skipped"], serde_json::json!([newest]));
    let reports = value["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 1, "{value}");
    assert_eq!(reports[0]["report"]["n"], 2, "{value}");
}
