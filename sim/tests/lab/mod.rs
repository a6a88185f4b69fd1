//! Two simulated BC nodes on loopback for the integration tests. Each node has its own
//! HVR_CONFIG, its own loopback address (127.0.0.2 and 127.0.0.3) and free ports, and runs the
//! simulator's commands through symlinks named like HVR's, exactly as an installed node does.
//! Dropping the lab stops every daemon it started (by the PIDs in its own PID files) and
//! removes its directory.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

pub const HUB: &str = "hubdb";
pub const CHANNEL: &str = "orders";
/// Longest any single command may take before the test calls it hung.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Node {
    pub name: String,
    pub addr: String,
    pub config: PathBuf,
    pub db_port: u16,
    pub listener_port: u16,
    pub scheduler_port: u16,
    pub env: BTreeMap<String, String>,
}

pub struct Lab {
    pub root: PathBuf,
    pub bin: PathBuf,
    pub nodes: Vec<Node>,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "command failed:\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    /// A `key=value` field of the first stdout line that has it.
    pub fn field(&self, key: &str) -> String {
        field(&self.stdout, key).unwrap_or_else(|| panic!("no {key}= in {:?}", self.stdout))
    }
}

pub fn field(text: &str, key: &str) -> Option<String> {
    let prefix = format!("{key}=");
    text.split_whitespace()
        .find_map(|w| w.strip_prefix(&prefix))
        .map(String::from)
}

fn free_port(addr: &str) -> u16 {
    TcpListener::bind((addr, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Lab {
    pub fn new(test: &str) -> Lab {
        let root = std::env::temp_dir().join(format!("hvrsim-it-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let bin = root.join("bin");
        fs::create_dir_all(&bin).unwrap();
        let exe = PathBuf::from(env!("CARGO_BIN_EXE_hvrsim"));
        let names = Command::new(&exe).arg("commands").output().unwrap();
        let mut names: Vec<String> = String::from_utf8(names.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        names.push("hvrsim".into());
        for name in names {
            std::os::unix::fs::symlink(&exe, bin.join(name)).unwrap();
        }
        let mut nodes = Vec::new();
        for (index, addr) in ["127.0.0.2", "127.0.0.3"].into_iter().enumerate() {
            let name = format!("bc{}", index + 1);
            let config = root.join(&name).join("hvr_config");
            let node = Node {
                db_port: free_port(addr),
                listener_port: free_port(addr),
                scheduler_port: free_port(addr),
                env: BTreeMap::new(),
                name,
                addr: addr.to_string(),
                config,
            };
            nodes.push(node);
        }
        let lab = Lab { root, bin, nodes };
        for index in 0..2 {
            lab.write_catalog(index);
        }
        lab
    }

    /// hubdb with channel `orders` capturing this node's location and integrating into the
    /// other's: db1 on bc1, db2 on bc2, mirrored.
    fn write_catalog(&self, index: usize) {
        let hub = self.nodes[index].config.join("hubs").join(HUB);
        fs::create_dir_all(hub.join("locations")).unwrap();
        fs::create_dir_all(hub.join("channels")).unwrap();
        for (i, node) in self.nodes.iter().enumerate() {
            fs::write(
                hub.join(format!("locations/db{}.loc", i + 1)),
                format!("node={}\nport={}\n", node.addr, node.listener_port),
            )
            .unwrap();
        }
        fs::write(
            hub.join("hub.conf"),
            format!("scheduler_port={}\n", self.nodes[index].scheduler_port),
        )
        .unwrap();
        fs::write(
            hub.join(format!("channels/{CHANNEL}.chn")),
            format!("capture=db{}\nintegrate=db{}\n", index + 1, 2 - index),
        )
        .unwrap();
    }

    pub fn node(&self, index: usize) -> &Node {
        &self.nodes[index]
    }

    pub fn set_env(&mut self, index: usize, key: &str, value: &str) {
        self.nodes[index].env.insert(key.into(), value.into());
    }

    /// Runs a simulator command as node `index` would (its HVR_CONFIG, address and ports).
    pub fn run(&self, index: usize, command: &str, args: &[&str]) -> Run {
        let node = &self.nodes[index];
        let mut cmd = Command::new(self.bin.join(command));
        cmd.args(args)
            .env("HVR_CONFIG", &node.config)
            .env("HVR_HOME", &self.root)
            .env("HVRSIM_BIND_ADDR", &node.addr)
            .env("HVRSIM_DB_PORT", node.db_port.to_string())
            .env("HVRSIM_NODE_NAME", &node.name)
            .env_remove("HVR_SCHEDULER_PORT")
            .envs(&node.env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        run_bounded(cmd, COMMAND_TIMEOUT)
    }

    pub fn ok(&self, index: usize, command: &str, args: &[&str]) -> Run {
        self.run(index, command, args).ok()
    }

    /// DBMS and remote listener of node `index`.
    pub fn start_node(&self, index: usize) {
        self.ok(index, "ingstart", &[]);
        let port = self.node(index).listener_port.to_string();
        self.ok(index, "hvrremotelistener", &["-d", &port]);
    }

    /// A client request straight to node `index`'s DBMS port.
    pub fn client(&self, index: usize, action: &[&str]) -> Run {
        let node = self.node(index);
        let port = node.db_port.to_string();
        let mut args = action.to_vec();
        args.extend(["--host", &node.addr, "--port", &port]);
        self.run(index, "hvrsimclient", &args)
    }

    pub fn count(&self, index: usize) -> u64 {
        self.client(index, &["count"])
            .ok()
            .stdout
            .trim()
            .parse()
            .unwrap()
    }

    /// Writes `count` rows `prefix-00000001..` into node `index` and returns the acked keys.
    pub fn write_rows(&self, index: usize, prefix: &str, count: u32) -> Vec<String> {
        let log = self.root.join(format!("acked-{prefix}"));
        let log_arg = log.to_string_lossy().into_owned();
        let n = count.to_string();
        let run = self
            .client(
                index,
                &[
                    "write",
                    "--prefix",
                    prefix,
                    "--count",
                    &n,
                    "--interval-ms",
                    "5",
                    "--acked-log",
                    &log_arg,
                ],
            )
            .ok();
        assert_eq!(run.field("acked"), n, "{}", run.stdout);
        fs::read_to_string(&log)
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }

    /// The simulator's own view of the channel (`hvrsim routerstate`: key=value lines).
    pub fn routerview(&self, index: usize) -> Run {
        self.ok(index, "hvrsim", &["routerstate", HUB, CHANNEL])
    }

    /// A row-by-row compare of db1 and db2.
    pub fn compare(&self, index: usize) -> Run {
        self.run(
            index,
            "hvrcompare",
            &["-gr", "-rdb1", "-ldb2", HUB, CHANNEL],
        )
    }

    /// The flush made of documented commands: one capture cycle, then one integrate cycle,
    /// each waited for (`hvrstart -w`).
    pub fn flush(&self, index: usize) -> Run {
        self.ok(index, "hvrstart", &["-w", HUB, &format!("{CHANNEL}-cap")]);
        self.ok(index, "hvrstart", &["-w", HUB, &format!("{CHANNEL}-integ")])
    }

    /// Starts node `index`'s scheduler and unsuspends the channel's jobs (hvrinit creates them
    /// SUSPEND).
    pub fn start_scheduler(&self, index: usize) -> Run {
        let started = self.ok(index, "hvrscheduler", &[HUB]);
        self.ok(index, "hvrsuspend", &["-u", HUB, CHANNEL]);
        started
    }

    pub fn pid_file(&self, index: usize, stem: &str) -> PathBuf {
        self.node(index)
            .config
            .join("files")
            .join(format!("{stem}.pid"))
    }

    pub fn scheduler_pid(&self, index: usize) -> u32 {
        let text =
            fs::read_to_string(self.pid_file(index, &format!("hvrscheduler_{HUB}"))).unwrap();
        text.trim().parse().unwrap()
    }

    pub fn hvr_out(&self, index: usize) -> String {
        fs::read_to_string(
            self.node(index)
                .config
                .join("log")
                .join(HUB)
                .join("hvr.out"),
        )
        .unwrap_or_default()
    }

    /// Kills a daemon this lab started (verified by its environment) with `signal`.
    pub fn kill(&self, pid: u32, signal: &str) {
        assert!(self.owns(pid), "pid {pid} is not a daemon of this lab");
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        while alive(pid) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// True when `pid` is a simulator daemon whose HVR_CONFIG is inside this lab.
    fn owns(&self, pid: u32) -> bool {
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let environ = fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        let marker = format!("HVR_CONFIG={}", self.root.display());
        contains(&cmdline, b"--daemon-child") && contains(&environ, marker.as_bytes())
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// True while any thread of `pid` has not finished exiting. The thread-group
/// leader of a multi-threaded daemon shows `Z` as soon as it exits, while its
/// other threads may still be exiting and holding the shared file table (the
/// PID file's lock among it): a restart then found the scheduler "already
/// running". Each thread in `/proc/PID/task` must be gone, `Z` or `X`.
pub fn alive(pid: u32) -> bool {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.filter_map(Result::ok).any(|task| {
        fs::read_to_string(task.path().join("stat")).is_ok_and(|stat| {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .is_some_and(|state| state != "Z" && state != "X")
        })
    })
}

impl Drop for Lab {
    fn drop(&mut self) {
        for node in &self.nodes {
            let Ok(entries) = fs::read_dir(node.config.join("files")) else {
                continue;
            };
            for entry in entries.flatten() {
                if entry.path().extension().and_then(|e| e.to_str()) != Some("pid") {
                    continue;
                }
                let pid = fs::read_to_string(entry.path())
                    .ok()
                    .and_then(|t| t.trim().parse::<u32>().ok());
                if let Some(pid) = pid.filter(|p| alive(*p) && self.owns(*p)) {
                    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
                }
            }
        }
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// Runs `cmd`, failing the test (after killing that child) if it does not finish in time.
/// A start command whose daemon kept our stdout or stderr open would hang here: this is how
/// the tests check that daemons detach like they must for ssh.
pub fn run_bounded(mut cmd: Command, timeout: Duration) -> Run {
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {timeout:?}");
        }
        thread::sleep(Duration::from_millis(5));
    };
    // The streams close when every process holding them has gone: a daemon that did not
    // detach keeps them open.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !(out.is_finished() && err.is_finished()) {
        assert!(
            Instant::now() < deadline,
            "{cmd:?} exited but something still holds its output open"
        );
        thread::sleep(Duration::from_millis(5));
    }
    Run {
        code: status.code().unwrap_or(-1),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        elapsed: started.elapsed(),
    }
}

/// Polls `condition` until it holds or `timeout` passes.
pub fn wait_for(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

pub fn path_str(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}
