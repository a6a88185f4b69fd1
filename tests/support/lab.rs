//! A lab owned by one test: its own prefix, subnet and directory, and
//! `baton lab down` when the test ends, even by panic. Shared by the lab,
//! SSH end-to-end and failover tests (`mod support;` then `use support::lab::*;`).
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

pub const BATON: &str = env!("CARGO_BIN_EXE_baton");

pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Lab tests need root. Outside CI they are skipped with a note; in CI
/// (`CI` set) a missing root fails the test, so CI can never pass vacuously.
#[macro_export]
macro_rules! require_root {
    () => {
        if !$crate::support::lab::is_root() {
            assert!(
                std::env::var_os("CI").is_none(),
                "lab tests need root, and CI must run them"
            );
            eprintln!("skipping: baton lab tests need root");
            return;
        }
    };
}

pub fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

pub fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

static NEXT_LAB: AtomicU32 = AtomicU32::new(0);

/// Third octets of 10.199.X.0/24 networks the machine already routes.
pub fn subnets_in_use() -> Vec<String> {
    let out = Command::new("ip")
        .args(["-4", "route", "show", "table", "all"])
        .output()
        .unwrap();
    text(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter_map(|dst| dst.strip_prefix("10.199."))
        .filter_map(|rest| rest.split('.').next().map(str::to_string))
        .collect()
}

/// A lab owned by one test: unique prefix, subnet and directory; `down` on drop.
pub struct Lab {
    pub dir: tempfile::TempDir,
    pub prefix: String,
    pub net: String,
}

impl Lab {
    pub fn new() -> Lab {
        let pid = std::process::id();
        let used = subnets_in_use();
        loop {
            let n = NEXT_LAB.fetch_add(1, Ordering::SeqCst);
            let octet = ((pid % 25) * 10 + n) % 256;
            if used.contains(&octet.to_string()) {
                continue;
            }
            return Lab {
                dir: tempfile::tempdir().unwrap(),
                prefix: format!("btl{}{}", pid % 100_000, (b'a' + n as u8 % 26) as char),
                net: format!("10.199.{octet}"),
            };
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn addr(&self, host: u32) -> String {
        format!("{}.{host}", self.net)
    }

    pub fn subnet(&self) -> String {
        format!("{}.0/24", self.net)
    }

    pub fn baton(&self, args: &[&str]) -> Output {
        self.baton_env(args, &[])
    }

    /// `baton lab ARGS --dir DIR`; for `shell`, `--dir` goes before the `--`.
    pub fn baton_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let dir = self.dir().to_str().unwrap();
        let mut full: Vec<&str> = vec!["lab"];
        match args.iter().position(|a| *a == "--") {
            Some(i) => {
                full.extend(&args[..i]);
                full.extend(["--dir", dir]);
                full.extend(&args[i..]);
            }
            None => {
                full.extend(args);
                full.extend(["--dir", dir]);
            }
        }
        let mut cmd = Command::new(BATON);
        cmd.args(&full);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    pub fn up(&self) -> Output {
        self.baton(&["up", "--prefix", &self.prefix, "--subnet", &self.subnet()])
    }

    /// A lab that is up. Another suite may take the same 10.199.X subnet between
    /// our check and our `up`; `up` refuses that (exit 4), and we try the next one.
    pub fn running() -> Lab {
        for _ in 0..5 {
            let lab = Lab::new();
            let out = lab.up();
            if out.status.success() {
                return lab;
            }
            let collided = out.status.code() == Some(4) && text(&out.stderr).contains("collides");
            assert!(collided, "up failed: {}", describe(&out));
        }
        panic!("no free 10.199.X.0/24 subnet after 5 tries");
    }

    /// Run CMD inside a node (or `client`); returns stdout, asserting success.
    pub fn sh(&self, node: &str, cmd: &str) -> String {
        let out = self.baton(&["shell", node, "--", "sh", "-c", cmd]);
        assert!(
            out.status.success(),
            "`{cmd}` on {node}: {}",
            describe(&out)
        );
        text(&out.stdout).trim().to_string()
    }

    pub fn ssh(&self, host: &str, cmd: &str, timeout_secs: u32) -> Output {
        let cfg = self.dir().join("ssh_config");
        Command::new("ssh")
            .arg("-F")
            .arg(&cfg)
            .args(["-o", &format!("ConnectTimeout={timeout_secs}"), host, cmd])
            .output()
            .unwrap()
    }

    pub fn state(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.dir().join("state.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// Host-side PIDs recorded for every node process.
    pub fn recorded_pids(&self) -> Vec<i64> {
        let state = self.state();
        let mut pids = Vec::new();
        for n in state["nodes"].as_array().unwrap() {
            for p in ["unshare", "init", "sshd"] {
                if let Some(pid) = n[p]["pid"].as_i64() {
                    pids.push(pid);
                }
            }
        }
        pids
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let out = self.baton(&["down"]);
        if !out.status.success() {
            eprintln!("cleanup of lab {} failed: {}", self.prefix, describe(&out));
        }
    }
}

/// A running (not zombie) process with this PID.
pub fn running(pid: i64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let after = &stat[stat.rfind(')').unwrap() + 2..];
            !after.starts_with('Z')
        }
        Err(_) => false,
    }
}
