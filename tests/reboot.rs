//! `reboot` through the executor (`baton run`): the reconnect is the
//! executor's job, so it is tested end to end, never with a real reboot.
//!
//! The "host" is a loopback sshd in its own mount namespace with a private
//! /run: the playbook's `reboot_command` only asks the test to reboot (it
//! touches a file), and the test restarts that sshd, which drops every
//! session and gives it a fresh /run, as a boot does. Nothing on this
//! machine reboots or changes; the boot id (shared with this machine) stays
//! the same, so only baton's /run marker tells the reboot.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::cli::Test;
use support::sshd::TestSshd;

fn inventory(sshd: &TestSshd) -> String {
    format!(
        "all:\n  hosts:\n    node1:\n      ansible_host: 127.0.0.1\n      ansible_port: {}\n      ansible_user: {}\n      ansible_ssh_private_key_file: {}\n      baton_ssh_known_hosts_file: {}\n",
        sshd.port(),
        sshd.user(),
        sshd.client_key().display(),
        sshd.known_hosts().display()
    )
}

fn playbook(dir: &Path, timeout: u32) -> String {
    format!(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: reboot\n      reboot:\n        reboot_command: touch {}/reboot-requested\n        reboot_timeout: {timeout}\n        post_reboot_delay: 0.5\n      register: r\n    - name: after\n      command: echo back\n",
        dir.display()
    )
}

fn baton(dir: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_baton"));
    cmd.current_dir(dir)
        .args(["run", "play.yml", "-i", "inventory.yml", "--output", "json"])
        .args(extra)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn json_events(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn outcome(events: &[serde_json::Value], task: &str) -> Option<serde_json::Value> {
    events
        .iter()
        .find(|e| e["event"] == "host_result" && support::is_task(e, task))
        .cloned()
}

#[test]
fn reboot_waits_for_the_host_to_come_back() {
    let mut sshd = TestSshd::start_with_private_run();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("inventory.yml"), inventory(&sshd)).unwrap();
    std::fs::write(dir.path().join("play.yml"), playbook(dir.path(), 60)).unwrap();
    let child = baton(dir.path(), &[]).spawn().expect("run baton");
    // The "reboot": wait for the request, then restart the host's sshd.
    let requested = dir.path().join("reboot-requested");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !requested.exists() {
        assert!(Instant::now() < deadline, "the reboot command never ran");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    sshd.restart();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let events = json_events(&stdout);
    let reboot = outcome(&events, "reboot").expect("a reboot result");
    assert_eq!(reboot["outcome"], "changed", "{reboot}");
    // The task after the reboot ran over the new connection.
    let after = outcome(&events, "after").expect("the task after");
    assert_eq!(after["outcome"], "changed", "{after}");
    for place in ["/run", "/var/tmp"] {
        assert!(
            std::fs::read_dir(place).unwrap().flatten().all(|e| !e
                .file_name()
                .to_string_lossy()
                .starts_with(".baton-reboot-")),
            "a reboot marker went to this machine's {place}"
        );
    }
}

#[test]
fn a_host_that_does_not_reboot_fails_at_the_timeout() {
    let sshd = TestSshd::start_with_private_run();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("inventory.yml"), inventory(&sshd)).unwrap();
    std::fs::write(dir.path().join("play.yml"), playbook(dir.path(), 3)).unwrap();
    let out = baton(dir.path(), &[]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    let events = json_events(&stdout);
    let reboot = outcome(&events, "reboot").expect("a reboot result");
    assert_eq!(reboot["outcome"], "failed");
    let text = reboot.to_string();
    assert!(
        text.contains("did not come back within 3 s") && text.contains("not rebooted yet"),
        "{text}"
    );
}

#[test]
fn a_local_connection_is_refused_in_check_mode_too() {
    for extra in [&[][..], &["--check"][..]] {
        let t = Test::new().local_hosts(&["ctl"]);
        let flag = t.path().join("reboot-requested");
        let play = playbook(t.path(), 5);
        let t = t.playbook(&play).args(&["--output", "json"]).args(extra);
        let run = t.run();
        run.assert_code(2);
        let result = run.results("reboot").pop().expect("a reboot result");
        assert_eq!(result["outcome"], "failed");
        assert!(
            result
                .to_string()
                .contains("with local connection would reboot the control node"),
            "{result}"
        );
        assert!(!flag.exists(), "the reboot command ran on the controller");
        assert!(
            std::fs::read_dir("/run").unwrap().flatten().all(|e| !e
                .file_name()
                .to_string_lossy()
                .starts_with(".baton-reboot-")),
            "the refused reboot left a marker in the controller's /run"
        );
    }
}

/// On a lab node, with the lab's own reboot: the playbook's
/// `reboot_command` asks for it, the test runs `baton lab crash` and `baton
/// lab boot` (every process of the node killed, then a fresh /run and
/// sshd). The node keeps the host's kernel, so its boot id does not change:
/// baton tells the reboot by its marker in the node's /run.
#[test]
fn reboot_on_a_lab_node_waits_for_lab_boot() {
    use support::lab::*;
    require_root!();
    let lab = Lab::running();
    let init_pid = |lab: &Lab| {
        lab.state()["nodes"][0]["init"]["pid"]
            .as_i64()
            .expect("bc1 init pid")
    };
    let before = init_pid(&lab);
    let play = lab.dir().join("reboot.yml");
    std::fs::write(
        &play,
        "- hosts: bc1\n  gather_facts: false\n  tasks:\n    - name: reboot\n      reboot:\n        reboot_command: touch /opt/reboot-requested\n        reboot_timeout: 120\n    - name: after\n      command: cat /proc/sys/kernel/hostname\n",
    )
    .unwrap();
    let child = Command::new(BATON)
        .arg("run")
        .arg(&play)
        .arg("-i")
        .arg(lab.dir().join("lab.yml"))
        .args(["--output", "json"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let requested = std::path::PathBuf::from(format!("/proc/{before}/root/opt/reboot-requested"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !requested.exists() {
        assert!(
            Instant::now() < deadline,
            "the reboot command never ran on bc1"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let crash = lab.baton(&["crash", "bc1"]);
    assert!(crash.status.success(), "{}", describe(&crash));
    std::thread::sleep(Duration::from_secs(2));
    let boot = lab.baton(&["boot", "bc1"]);
    assert!(boot.status.success(), "{}", describe(&boot));
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = json_events(&stdout);
    let reboot = outcome(&events, "reboot").expect("a reboot result");
    assert_eq!(reboot["outcome"], "changed", "{reboot}");
    assert_eq!(reboot["result"]["data"]["rebooted"], true, "{reboot}");
    let after = outcome(&events, "after").expect("the task after");
    assert_eq!(after["result"]["stdout"], "bc1", "{after}");
    assert_ne!(init_pid(&lab), before, "bc1 was booted again");
}
