//! `--persist` on the lab (issue 14, item 3): real sshd nodes, real ssh
//! masters. One run's masters are reused by the next (the same TCP
//! connection: the node sees the same client port in `$SSH_CONNECTION`); a
//! master killed between runs is reported by host and replaced; a master
//! that lost its connection too; `baton connections --close` leaves no
//! master process and no directory. Needs root; the lab has its own prefix
//! and 10.199.X subnet (see `support::lab`), and is taken down on drop.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use support::lab::{describe, text, Lab, BATON};

/// `baton connections --close` on drop, so a failing test leaves no master.
struct Masters {
    root: tempfile::TempDir,
}

impl Masters {
    /// The control root, made by baton (mode 0700) inside the temp dir.
    fn root(&self) -> PathBuf {
        self.root.path().join("p")
    }

    fn baton(&self, args: &[&str]) -> Output {
        Command::new(BATON)
            .args(args)
            .env("BATON_CONTROL_DIR", self.root())
            .output()
            .unwrap()
    }

    /// PIDs of the ssh processes whose command line names this root (the
    /// masters: `ssh -S ROOT/... -M`), read from /proc.
    fn pids(&self) -> Vec<i32> {
        processes_naming(&self.root())
    }

    /// The master PIDs of one inventory host.
    fn pids_of(&self, host: &str) -> Vec<i32> {
        let dir = std::fs::read_dir(self.root())
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|d| {
                std::fs::read_to_string(d.join("target"))
                    .is_ok_and(|t| t.split_whitespace().next() == Some(host))
            })
            .unwrap_or_else(|| panic!("no target directory for {host}"));
        processes_naming(&dir)
    }
}

impl Drop for Masters {
    fn drop(&mut self) {
        let _ = self.baton(&["connections", "--close"]);
    }
}

fn processes_naming(path: &Path) -> Vec<i32> {
    let needle = path.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            cmdline.starts_with("ssh ") && cmdline.contains(&needle)
        })
        .collect()
}

/// Run the playbook over both nodes with `--persist 60`; the JSON events.
fn run(lab: &Lab, masters: &Masters, playbook: &Path) -> (Output, Vec<Value>) {
    run_persist(lab, masters, playbook, "60")
}

fn run_persist(lab: &Lab, masters: &Masters, playbook: &Path, secs: &str) -> (Output, Vec<Value>) {
    let inventory = lab.dir().join("lab.yml");
    let out = masters.baton(&[
        "run",
        playbook.to_str().unwrap(),
        "-i",
        inventory.to_str().unwrap(),
        "--persist",
        secs,
        "--output",
        "json",
    ]);
    let events = text(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    (out, events)
}

/// Each host's `$SSH_CONNECTION` as the node saw it ("client port server port").
fn client_ports(events: &[Value]) -> BTreeMap<String, String> {
    events
        .iter()
        .filter(|e| e["event"] == "host_result" && e["item"].is_null())
        .filter_map(|e| {
            let host = e["host"].as_str()?.to_string();
            let stdout = e["result"]["stdout"]
                .as_str()
                .or_else(|| e["stdout"].as_str())?;
            let port = stdout.split_whitespace().nth(1)?.to_string();
            Some((host, port))
        })
        .collect()
}

fn warnings(events: &[Value]) -> Vec<(String, String)> {
    events
        .iter()
        .filter(|e| e["event"] == "warning")
        .map(|e| {
            (
                e["host"].as_str().unwrap_or_default().to_string(),
                e["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn kill9(pids: &[i32]) {
    for pid in pids {
        // SAFETY: kill(2) on an ssh master this test's runs started.
        unsafe {
            libc::kill(*pid, libc::SIGKILL);
        }
    }
}

fn wait_gone(pids: &[i32]) {
    for _ in 0..100 {
        if pids
            .iter()
            .all(|p| !PathBuf::from(format!("/proc/{p}")).exists())
        {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("ssh masters {pids:?} did not end");
}

#[test]
fn persisted_masters_are_reused_replaced_when_they_die_and_closed() {
    require_root!();
    let lab = Lab::running();
    // A short root: the control socket's path must stay under ~100 bytes.
    let masters = Masters {
        root: tempfile::Builder::new()
            .prefix("bpl")
            .tempdir_in("/tmp")
            .unwrap(),
    };
    let playbook = lab.dir().join("pb.yml");
    std::fs::write(
        &playbook,
        "- hosts: bc\n  gather_facts: false\n  tasks:\n    - name: who\n      command: sh -c 'echo $SSH_CONNECTION'\n",
    )
    .unwrap();

    // First run: one new master per host, left running.
    let (out, first) = run(&lab, &masters, &playbook);
    assert!(out.status.success(), "{}", describe(&out));
    let ports = client_ports(&first);
    assert_eq!(ports.len(), 2, "{}", describe(&out));
    assert_eq!(masters.pids().len(), 2, "{}", describe(&out));
    let listed = text(&masters.baton(&["connections"]).stdout);
    assert_eq!(listed.matches("alive: bc").count(), 2, "{listed}");

    // Second run: the same TCP connections, no new master, no warning.
    let (out, second) = run(&lab, &masters, &playbook);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(client_ports(&second), ports, "a second run connected again");
    assert!(warnings(&second).is_empty(), "{:?}", warnings(&second));
    assert_eq!(masters.pids().len(), 2);

    // bc1's master killed: the next run says so for bc1, by name, and
    // connects it again; bc2 keeps its connection.
    let bc1 = masters.pids_of("bc1");
    assert_eq!(bc1.len(), 1, "{bc1:?}");
    kill9(&bc1);
    wait_gone(&bc1);
    let (out, third) = run(&lab, &masters, &playbook);
    assert!(out.status.success(), "{}", describe(&out));
    let warned = warnings(&third);
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert_eq!(warned[0].0, "bc1");
    assert!(
        warned[0]
            .1
            .starts_with("the persisted ssh master from an earlier run had died")
            && warned[0].1.contains("no longer answered")
            && warned[0].1.ends_with("connected again"),
        "{warned:?}"
    );
    let now = client_ports(&third);
    assert_ne!(now["bc1"], ports["bc1"], "bc1 was not connected again");
    assert_eq!(now["bc2"], ports["bc2"]);
    assert_eq!(masters.pids().len(), 2);

    // bc2's connection closed by its server (sshd's session process for it
    // killed on the node): its master ends by itself, and the next run
    // says why, and connects again.
    let port = &now["bc2"];
    lab.sh(
        "bc2",
        &format!("ss -tnpH state established dst :{port} | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u | xargs -r kill -9"),
    );
    let bc2 = masters.pids_of("bc2");
    wait_gone(&bc2);
    let (out, fourth) = run(&lab, &masters, &playbook);
    assert!(out.status.success(), "{}", describe(&out));
    let warned = warnings(&fourth);
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert_eq!(warned[0].0, "bc2");
    assert!(
        warned[0].1.contains("had died") && warned[0].1.ends_with("connected again"),
        "{warned:?}"
    );
    assert_ne!(client_ports(&fourth)["bc2"], now["bc2"]);

    // --close: no master process and no directory left.
    let out = masters.baton(&["connections", "--close"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(masters.pids().is_empty(), "{:?}", masters.pids());
    let left: Vec<_> = std::fs::read_dir(masters.root()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    let listed = text(&masters.baton(&["connections"]).stdout);
    assert!(listed.contains("no persisted connections"), "{listed}");

    // An idle time shorter than the wait before the first task (at 100
    // hosts, the connection phase): the host's shell, started at connect,
    // keeps the new master busy, so it is still there for the task.
    let paused = lab.dir().join("paused.yml");
    std::fs::write(
        &paused,
        "- hosts: bc\n  gather_facts: false\n  tasks:\n    - pause: {seconds: 3}\n    - name: who\n      command: sh -c 'echo $SSH_CONNECTION'\n",
    )
    .unwrap();
    let (out, events) = run_persist(&lab, &masters, &paused, "1");
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(client_ports(&events).len(), 2, "{}", describe(&out));
    assert!(warnings(&events).is_empty(), "{:?}", warnings(&events));
}

/// Out of open files, baton once reported the hosts past the limit
/// UNREACHABLE ("the ssh master connection ended") and left their masters
/// running. Now a batch whose SSH hosts need more open files than the limit
/// is refused before anything connects, with the figures and what to do.
/// No root needed: the hosts are never contacted.
#[test]
fn hosts_beyond_the_open_file_limit_are_refused_before_connecting() {
    use std::os::unix::process::CommandExt;

    let dir = tempfile::tempdir().unwrap();
    let mut inventory = String::from("[many]\n");
    for i in 0..100 {
        inventory.push_str(&format!("h{i} ansible_host=127.0.0.1 ansible_port=1\n"));
    }
    std::fs::write(dir.path().join("hosts.ini"), inventory).unwrap();
    std::fs::write(
        dir.path().join("pb.yml"),
        "- hosts: many\n  gather_facts: false\n  tasks:\n    - command: /bin/true\n",
    )
    .unwrap();
    let mut cmd = Command::new(BATON);
    cmd.current_dir(dir.path())
        .args(["run", "pb.yml", "-i", "hosts.ini", "--output", "json"]);
    // SAFETY: setrlimit(2) between fork and exec touches no memory of ours.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 128,
                rlim_max: 128,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    // The diagnostic is wrapped to the terminal's width.
    let flat = all
        .split_whitespace()
        .filter(|w| *w != "|")
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    assert!(
        flat.contains("100 SSH hosts connected at once need about 864 open files")
            && flat.contains("its limit is 128")
            && flat.contains("nothing was connected"),
        "{all}"
    );
    assert!(!all.contains("host_connected"), "{all}");
    assert!(
        !all.contains("UNREACHABLE") && !all.contains("\"unreachable\":1"),
        "{all}"
    );
}
