//! The runner over real SSH against lab nodes: facts, unreachable mid-play,
//! host key mismatch, and serial order proven from JSON timestamps.
//! Needs root (CI has it); each test owns its lab.

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::lab::*;
use support::module_suite as suite;

fn run(lab: &Lab, playbook: &str, extra: &[&str]) -> (Output, Vec<Value>) {
    let path = lab
        .dir()
        .join(format!("play-{}.yml", Instant::now().elapsed().as_nanos()));
    std::fs::write(&path, playbook).unwrap();
    let inv = lab.dir().join("lab.yml");
    let out = Command::new(BATON)
        .arg("run")
        .arg(&path)
        .arg("-i")
        .arg(&inv)
        .args(["--output", "json"])
        .args(extra)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let events = text(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (out, events)
}

fn results<'a>(events: &'a [Value], task: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["event"] == "host_result" && support::is_task(e, task) && e["item"].is_null())
        .collect()
}

fn outcome(events: &[Value], task: &str, host: &str) -> String {
    results(events, task)
        .into_iter()
        .find(|e| e["host"] == host)
        .map_or("none".into(), |e| {
            e["outcome"].as_str().unwrap_or_default().to_string()
        })
}

#[test]
fn facts_and_modules_over_ssh_on_separate_hosts() {
    require_root!();
    let lab = Lab::running();
    let (out, events) = run(
        &lab,
        r#"
- hosts: bc
  tasks:
    - name: hostname fact
      debug:
        msg: "{{ ansible_hostname }} {{ ansible_eth0.ipv4.address }}"
    - name: write a file
      copy:
        content: "I am {{ inventory_hostname }}\n"
        dest: /opt/whoami
    - name: read it back
      command: cat /opt/whoami
      register: who
      changed_when: false
    - name: each host sees only its own file
      assert:
        that: who.stdout == 'I am ' ~ inventory_hostname
"#,
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let msgs: Vec<String> = results(&events, "hostname fact")
        .iter()
        .map(|e| e["result"]["msg"].as_str().unwrap().to_string())
        .collect();
    assert!(msgs.contains(&format!("bc1 {}", lab.addr(11))), "{msgs:?}");
    assert!(msgs.contains(&format!("bc2 {}", lab.addr(12))), "{msgs:?}");
    assert_eq!(
        outcome(&events, "each host sees only its own file", "bc2"),
        "ok"
    );
}

#[test]
fn a_link_going_down_mid_play_makes_that_host_unreachable_and_the_rest_finish() {
    require_root!();
    let lab = Lab::running();
    let dir = lab.dir().to_str().unwrap().to_string();
    let playbook = format!(
        r#"
- hosts: bc
  gather_facts: false
  tasks:
    - name: first
      command: /bin/true
    - name: cut bc2 off
      command: "{baton} lab link bc2 down --dir {dir}"
      delegate_to: localhost
      run_once: true
    - name: after the cut
      command: touch /opt/after
    - name: last
      command: /bin/true
"#,
        baton = BATON
    );
    let started = Instant::now();
    let (out, events) = run(&lab, &playbook, &["--connect-timeout", "3"]);
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert_eq!(outcome(&events, "after the cut", "bc2"), "unreachable");
    assert_eq!(outcome(&events, "after the cut", "bc1"), "changed");
    assert_eq!(outcome(&events, "last", "bc1"), "changed");
    assert_eq!(
        outcome(&events, "last", "bc2"),
        "none",
        "an unreachable host leaves the play"
    );
    let cut = results(&events, "after the cut")
        .into_iter()
        .find(|e| e["host"] == "bc2")
        .unwrap();
    let detected = cut["elapsed_ms"].as_f64().unwrap();
    assert!(
        detected < 3000.0 + 2500.0,
        "bc2 reported unreachable after {detected} ms, connect timeout is 3 s"
    );
    assert!(
        elapsed < Duration::from_secs(20),
        "whole run took {elapsed:?}"
    );
    assert_eq!(lab.sh("bc1", "test -e /opt/after && echo yes"), "yes");
}

#[test]
fn a_changed_host_key_is_refused_even_with_accept_new() {
    require_root!();
    let lab = Lab::running();
    // A new host key for bc1, and sshd restarted to use it.
    lab.sh(
        "bc1",
        "rm -f /etc/ssh/ssh_host_ed25519_key* && ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key && kill -HUP $(pgrep -x sshd | head -n1)",
    );
    std::thread::sleep(Duration::from_millis(300));
    let playbook = "- hosts: bc\n  gather_facts: false\n  tasks:\n    - name: touch\n      command: /bin/true\n";
    for extra in [&[][..], &["--ssh-accept-new"][..]] {
        let (out, events) = run(&lab, playbook, extra);
        assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
        // Refused when the connections open, before the first task.
        assert_eq!(outcome(&events, "touch", "bc1"), "none");
        assert_eq!(outcome(&events, "touch", "bc2"), "changed");
        let refused = events
            .iter()
            .find(|e| e["event"] == "host_connected" && e["host"] == "bc1")
            .unwrap();
        assert_eq!(refused["ok"], false, "{refused}");
        let msg = refused["msg"].as_str().unwrap().to_string();
        let known_hosts = lab.dir().join("known_hosts");
        assert!(msg.contains("host key"), "{msg}");
        assert!(
            msg.contains(&format!("{}:", known_hosts.display())),
            "names the known_hosts entry: {msg}"
        );
    }
    let kh = std::fs::read_to_string(Path::new(&lab.dir().join("known_hosts"))).unwrap();
    assert_eq!(
        kh.lines().filter(|l| l.contains(&lab.addr(11))).count(),
        1,
        "accept-new must not rewrite a changed key"
    );
}

#[test]
fn serial_one_runs_bc1_completely_before_bc2_starts() {
    require_root!();
    let lab = Lab::running();
    let (out, events) = run(
        &lab,
        r#"
- hosts: bc
  gather_facts: false
  serial: 1
  tasks:
    - name: one
      command: sleep 0.2
    - name: two
      command: /bin/true
    - name: three
      command: /bin/true
"#,
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let span = |host: &str| {
        let rs: Vec<&Value> = events
            .iter()
            .filter(|e| e["event"] == "host_result" && e["host"] == host)
            .collect();
        assert_eq!(rs.len(), 3, "{host} ran every task");
        let start = rs
            .iter()
            .map(|e| e["started_at"].as_f64().unwrap())
            .fold(f64::MAX, f64::min);
        let end = rs
            .iter()
            .map(|e| e["started_at"].as_f64().unwrap() + e["elapsed_ms"].as_f64().unwrap() / 1000.0)
            .fold(0.0, f64::max);
        (start, end)
    };
    let (_, bc1_end) = span("bc1");
    let (bc2_start, _) = span("bc2");
    assert!(
        bc1_end <= bc2_start,
        "bc1 ended at {bc1_end}, bc2 started at {bc2_start}"
    );
}

/// The whole module suite over SSH against a lab node. The test checks the
/// node's files through `/proc/<node init>/root`, the node's own view.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn module_suite_over_ssh_on_a_lab_node() {
    require_root!();
    let lab = Lab::running();
    let state = lab.state();
    let init = state["nodes"][0]["init"]["pid"]
        .as_i64()
        .expect("bc1 init pid");
    suite::set_local_view(std::path::PathBuf::from(format!("/proc/{init}/root")));
    suite::set_controller_address(lab.addr(1));
    let mut spec = baton::transport::ConnectionSpec::local("bc1");
    spec.kind = baton::transport::ConnectionKind::Ssh;
    spec.address = lab.addr(11);
    spec.user = Some("root".into());
    spec.private_key = Some(lab.dir().join("id_ed25519"));
    spec.known_hosts = Some(lab.dir().join("known_hosts"));
    let conn = baton::transport::Connection::open(&spec)
        .await
        .expect("ssh to bc1");
    let root = Path::new("/opt/module-suite");
    conn.exec(&baton::transport::ExecRequest {
        script: format!("mkdir -p {}", root.display()),
        ..Default::default()
    })
    .await
    .expect("mkdir on bc1");
    suite::run_suite(&conn, root).await;
    conn.close().await;
}
