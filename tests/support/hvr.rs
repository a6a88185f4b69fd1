//! HVR failover playbooks against a lab: the simulator's distribution
//! tarball, `baton run` of the project's playbooks with JSON events, commands
//! inside nodes, and a database client writing through the VIP from the
//! client netns. Used by tests/failover.rs (`use support::hvr::...`).
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::lab::{describe, text, Lab, BATON};

pub const HVR_CONFIG: &str = "/opt/hvr/hvr_config";
pub const HVRENV: &str = "/opt/hvr/bin/hvrenv";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The simulator's distribution tarball, built once per test process by
/// sim/package.sh (exactly what an operator installs), and the same
/// distribution unpacked on the controller for the client's `hvrsimclient`.
pub struct Dist {
    pub tarball: PathBuf,
    pub unpacked: PathBuf,
}

pub fn dist() -> &'static Dist {
    static DIST: OnceLock<Dist> = OnceLock::new();
    DIST.get_or_init(|| {
        // Under cargo's per-target scratch directory, one per test process
        // (nextest runs each test in its own process).
        let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("failover-dist-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out).unwrap();
        let built = Command::new(repo().join("sim/package.sh"))
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            built.status.success(),
            "sim/package.sh: {}",
            describe(&built)
        );
        let tarball = PathBuf::from(text(&built.stdout).trim());
        let unpacked = out.join("unpacked");
        std::fs::create_dir_all(&unpacked).unwrap();
        let tar = Command::new("tar")
            .arg("-xzf")
            .arg(&tarball)
            .arg("-C")
            .arg(&unpacked)
            .output()
            .unwrap();
        assert!(tar.status.success(), "unpack: {}", describe(&tar));
        Dist { tarball, unpacked }
    })
}

/// One `baton run` of a project playbook: its exit code and JSON events.
pub struct Run {
    pub name: String,
    pub out: Output,
    pub events: Vec<Value>,
    pub elapsed: Duration,
}

impl Run {
    pub fn code(&self) -> Option<i32> {
        self.out.status.code()
    }

    /// Final host results (not loop items).
    pub fn results(&self) -> impl Iterator<Item = &Value> {
        self.events
            .iter()
            .filter(|e| e["event"] == "host_result" && e["item"].is_null())
    }

    pub fn outcome(&self, task: &str, host: &str) -> String {
        self.results()
            .find(|e| super::is_task(e, task) && e["host"] == host)
            .map_or("none".into(), |e| {
                e["outcome"].as_str().unwrap_or_default().to_string()
            })
    }

    /// Tasks that changed something, as "host: task".
    pub fn changes(&self) -> Vec<String> {
        self.results()
            .filter(|e| e["outcome"] == "changed")
            .map(|e| {
                format!(
                    "{}: {}",
                    e["host"].as_str().unwrap_or_default(),
                    super::bare_task_name(e)
                )
            })
            .collect()
    }

    /// Total `changed` over every host of the recap.
    pub fn changed(&self) -> u64 {
        let recap = self
            .events
            .iter()
            .rev()
            .find(|e| e["event"] == "recap")
            .unwrap_or_else(|| panic!("{}: no recap\n{}", self.name, self.dump()));
        recap["hosts"]
            .as_object()
            .unwrap()
            .values()
            .map(|h| h["changed"].as_u64().unwrap())
            .sum()
    }

    /// Every message the run reported (debug messages, failures, assert texts).
    pub fn messages(&self) -> String {
        let mut all = String::new();
        for e in &self.events {
            for m in [&e["result"]["msg"], &e["reason"], &e["message"]] {
                if let Some(m) = m.as_str() {
                    all.push_str(m);
                    all.push('\n');
                }
            }
        }
        all
    }

    /// Failures, for assertion messages.
    pub fn dump(&self) -> String {
        let failed: Vec<String> = self
            .results()
            .filter(|e| e["outcome"] == "failed" || e["outcome"] == "unreachable")
            .map(|e| {
                format!(
                    "{} {}: {} {}",
                    e["host"], e["task"]["name"], e["result"]["msg"], e["result"]["stdout"]
                )
            })
            .collect();
        format!(
            "{} exited {:?}\nfailed: {failed:#?}\nstderr: {}",
            self.name,
            self.code(),
            text(&self.out.stderr)
        )
    }

    /// Unix time the first task started, and the end of the named task on a host.
    pub fn first_task_start(&self) -> f64 {
        self.events
            .iter()
            .find(|e| e["event"] == "task_start")
            .and_then(|e| e["time"].as_f64())
            .unwrap()
    }

    pub fn task_end(&self, task: &str) -> f64 {
        let r = self
            .results()
            .find(|e| super::is_task(e, task))
            .unwrap_or_else(|| panic!("no result for {task}"));
        r["started_at"].as_f64().unwrap() + r["elapsed_ms"].as_f64().unwrap() / 1000.0
    }
}

/// The HVR failover content run against one lab.
pub struct Hvr<'a> {
    pub lab: &'a Lab,
}

impl<'a> Hvr<'a> {
    pub fn new(lab: &'a Lab) -> Hvr<'a> {
        Hvr { lab }
    }

    pub fn vip(&self) -> String {
        self.lab.addr(254)
    }

    /// `baton run playbooks/NAME.yml -i LAB/lab.yml --output json -e ...`.
    pub fn run(&self, name: &str, extra_vars: &[&str]) -> Run {
        self.run_args(name, extra_vars, &[])
    }

    pub fn run_args(&self, name: &str, extra_vars: &[&str], args: &[&str]) -> Run {
        let mut cmd = Command::new(BATON);
        cmd.arg("run")
            .arg(repo().join(format!("playbooks/{name}.yml")))
            .arg("-i")
            .arg(self.lab.dir().join("lab.yml"))
            .args(["--output", "json", "--connect-timeout", "3"])
            .arg("-e")
            .arg(format!("hvr_dist_tarball={}", dist().tarball.display()))
            // The canary row is on in the lab: every stop proves its flush
            // by a row written on the active node and read on the peer.
            .args(["-e", "hvr_canary_table=simtable"])
            // A booting START node waits this x its bc_index for its peer
            // (30 s by default): short in the lab.
            .args(["-e", "hvr_boot_peer_delay=1.5"])
            .env("NO_COLOR", "1");
        for e in extra_vars {
            cmd.arg("-e").arg(e);
        }
        cmd.args(args);
        let started = Instant::now();
        let out = cmd.output().unwrap();
        let elapsed = started.elapsed();
        let events = text(&out.stdout)
            .lines()
            .filter(|l| l.starts_with('{'))
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let label = format!("{name} {}", extra_vars.join(" "));
        Run {
            name: label,
            out,
            events,
            elapsed,
        }
    }

    /// Runs the playbook, which must succeed.
    pub fn ok(&self, name: &str, extra_vars: &[&str]) -> Run {
        let run = self.run(name, extra_vars);
        assert_eq!(run.code(), Some(0), "{}", run.dump());
        run
    }

    /// Runs the playbook again: it must succeed and change nothing.
    pub fn again_unchanged(&self, name: &str, extra_vars: &[&str]) -> Run {
        let run = self.ok(name, extra_vars);
        assert_eq!(
            run.changed(),
            0,
            "second run of {name} changed: {:?}",
            run.changes()
        );
        run
    }

    /// A command inside a node (or `client`): (exit code, stdout).
    pub fn sh_code(&self, node: &str, cmd: &str) -> (Option<i32>, String) {
        let out = self.lab.baton(&["shell", node, "--", "sh", "-c", cmd]);
        (out.status.code(), text(&out.stdout).trim().to_string())
    }

    pub fn sh(&self, node: &str, cmd: &str) -> String {
        self.lab.sh(node, cmd)
    }

    /// An HVR command inside a node, through the installed environment.
    pub fn hvr(&self, node: &str, cmd: &str) -> (Option<i32>, String) {
        self.sh_code(node, &format!("{HVRENV} {cmd}"))
    }

    pub fn file(&self, node: &str, path: &str) -> Option<String> {
        let (code, out) = self.sh_code(node, &format!("cat {path}"));
        (code == Some(0)).then_some(out)
    }

    pub fn state(&self, node: &str) -> Option<String> {
        self.file(node, &format!("{HVR_CONFIG}/files/hvrfailover.state"))
    }

    pub fn log(&self, node: &str) -> String {
        self.file(
            node,
            &format!("{HVR_CONFIG}/log/hvrfailover/hvrfailover.log"),
        )
        .unwrap_or_default()
    }

    /// Whether the node has the VIP on its eth0 (ip addr), with its label.
    pub fn holds_vip(&self, node: &str) -> bool {
        let addrs = self.sh(node, "ip -4 -o addr show dev eth0");
        let vip = format!(" {}/", self.vip());
        let held = addrs.lines().any(|l| l.contains(&vip));
        if held {
            assert!(
                addrs.contains("eth0:1"),
                "VIP without its label on {node}: {addrs}"
            );
        }
        held
    }

    pub fn scheduler_answers(&self, node: &str) -> bool {
        self.hvr(node, "hvrtestscheduler -t1 hvrhub").0 == Some(0)
    }

    pub fn mac(&self, node: &str) -> String {
        self.sh(node, "cat /sys/class/net/eth0/address")
    }

    /// Whether the VIP answers ping from the client netns.
    pub fn vip_answers_from_client(&self) -> bool {
        self.sh_code("client", &format!("ping -n -q -c 1 -W 1 {}", self.vip()))
            .0
            == Some(0)
    }

    /// The client's neighbour entry for the VIP.
    pub fn client_neighbour(&self) -> String {
        self.sh("client", &format!("ip neigh show {}", self.vip()))
    }

    /// hvrcompare from SRC's location to TGT's, run on `node`; polls until
    /// identical (replication lag) or the deadline.
    pub fn identical_within(
        &self,
        node: &str,
        src: &str,
        tgt: &str,
        within: Duration,
    ) -> Result<String, String> {
        let deadline = Instant::now() + within;
        loop {
            let (code, out) = self.hvr(node, &format!("hvrcompare -r{src} -l{tgt} hvrhub orders"));
            if code == Some(0) {
                return Ok(out);
            }
            if Instant::now() > deadline {
                return Err(out);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn client_bin(&self, command: &str) -> String {
        dist()
            .unpacked
            .join("bin")
            .join(command)
            .display()
            .to_string()
    }

    /// `hvrsimclient ARGS` in the client netns: (exit code, stdout).
    pub fn client(&self, args: &[&str]) -> (Option<i32>, String) {
        let bin = self.client_bin("hvrsimclient");
        let mut full = vec!["shell", "client", "--", bin.as_str()];
        full.extend(args);
        let out = self.lab.baton(&full);
        (out.status.code(), text(&out.stdout).trim().to_string())
    }

    /// A client writing rows through the VIP until stopped.
    pub fn writer(&self, prefix: &str) -> Writer {
        let dir = self.lab.dir();
        let stop = dir.join(format!("{prefix}.stop"));
        let acked = dir.join(format!("{prefix}.acked"));
        let bin = self.client_bin("hvrsimclient");
        let child = Command::new(BATON)
            .args(["lab", "shell", "--dir"])
            .arg(dir)
            .args([
                "client",
                "--",
                &bin,
                "write",
                "--host",
                &self.vip(),
                "--prefix",
                prefix,
                "--interval-ms",
                "20",
            ])
            .args([
                "--connect-timeout-ms",
                "300",
                "--io-timeout-ms",
                "1000",
                "--retry-ms",
                "50",
            ])
            .arg("--stop-file")
            .arg(&stop)
            .arg("--acked-log")
            .arg(&acked)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let writer = Writer {
            child: Some(child),
            stop,
            acked,
            prefix: prefix.to_string(),
        };
        writer.wait_acked(10, Duration::from_secs(10));
        writer
    }
}

/// A background `hvrsimclient write` in the client netns.
pub struct Writer {
    child: Option<Child>,
    pub stop: PathBuf,
    pub acked: PathBuf,
    pub prefix: String,
}

/// What `hvrsimclient write` printed when it stopped.
#[derive(Debug)]
pub struct Summary {
    pub line: String,
    /// The file of acknowledged keys, for `hvrsimclient verify`.
    pub acked: String,
}

impl Summary {
    pub fn get(&self, key: &str) -> String {
        self.line
            .split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key}= in {}", self.line))
            .to_string()
    }

    pub fn number(&self, key: &str) -> u64 {
        self.get(key).parse().unwrap()
    }
}

impl Writer {
    pub fn acked_count(&self) -> usize {
        std::fs::read_to_string(&self.acked)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }

    /// Waits until at least `n` rows are acknowledged.
    pub fn wait_acked(&self, n: usize, within: Duration) {
        let deadline = Instant::now() + within;
        while self.acked_count() < n {
            assert!(
                Instant::now() < deadline,
                "client {}: only {} rows acknowledged",
                self.prefix,
                self.acked_count()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the client has acknowledged `more` rows beyond now (it reconnected).
    pub fn wait_progress(&self, more: usize, within: Duration) {
        let target = self.acked_count() + more;
        self.wait_acked(target, within);
    }

    pub fn finish(mut self) -> Summary {
        std::fs::write(&self.stop, "").unwrap();
        let mut child = self.child.take().unwrap();
        let status = child.wait().unwrap();
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert!(
            status.success(),
            "client {} failed: {out}\n{err}",
            self.prefix
        );
        let line = out
            .lines()
            .rev()
            .find(|l| l.starts_with("acked="))
            .unwrap_or_else(|| panic!("no summary: {out}\n{err}"))
            .to_string();
        Summary {
            line,
            acked: self.acked.display().to_string(),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = std::fs::write(&self.stop, "");
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
