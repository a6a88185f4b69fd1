//! A small builder for running `baton` against files in a temp dir.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use serde_json::Value;

pub struct Test {
    dir: std::rc::Rc<tempfile::TempDir>,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub dir: PathBuf,
    /// Keeps the test directory alive as long as the result is looked at.
    _keep: std::rc::Rc<tempfile::TempDir>,
}

impl Test {
    pub fn new() -> Test {
        Test {
            dir: std::rc::Rc::new(tempfile::tempdir().expect("temp dir")),
            args: Vec::new(),
            env: vec![("NO_COLOR".into(), "1".into())],
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write a file under the test dir (parents created).
    pub fn file(self, rel: &str, content: &str) -> Test {
        let p = self.dir.path().join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, content).expect("write file");
        self
    }

    pub fn playbook(self, content: &str) -> Test {
        self.file("play.yml", content)
    }

    /// Inventory with `hosts` as local-connection hosts in group `nodes`.
    pub fn local_hosts(self, hosts: &[&str]) -> Test {
        let mut inv = String::from("all:\n  children:\n    nodes:\n      hosts:\n");
        for h in hosts {
            inv.push_str(&format!(
                "        {h}:\n          ansible_connection: local\n"
            ));
        }
        self.file("inventory.yml", &inv)
    }

    pub fn args(mut self, args: &[&str]) -> Test {
        self.args.extend(args.iter().map(|s| s.to_string()));
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Test {
        self.env.push((k.into(), v.into()));
        self
    }

    /// `baton run play.yml -i inventory.yml ARGS` in the test dir.
    pub fn run(&self) -> Run {
        let mut args = vec!["run".to_string(), "play.yml".into()];
        if self.dir.path().join("inventory.yml").exists() {
            args.push("-i".into());
            args.push("inventory.yml".into());
        }
        args.extend(self.args.iter().cloned());
        self.baton(&args)
    }

    /// `baton run play.yml -i inventory.yml` (no colour), sent SIGINT (a
    /// Ctrl-C) after `after`, and waited for.
    pub fn run_interrupted(&self, after: Duration) -> Run {
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_baton"))
            .args(["run", "play.yml", "-i", "inventory.yml"])
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("baton starts");
        std::thread::sleep(after);
        // SAFETY: sending SIGINT to the child we started.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGINT);
        }
        let out = child.wait_with_output().expect("baton ends");
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            dir: self.dir.path().to_path_buf(),
            _keep: std::rc::Rc::clone(&self.dir),
        }
    }

    pub fn baton(&self, args: &[String]) -> Run {
        let mut cmd = assert_cmd::Command::cargo_bin("baton").expect("baton binary");
        cmd.current_dir(self.dir.path())
            .args(args)
            .timeout(Duration::from_secs(120));
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out: Output = cmd.output().expect("baton runs");
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            dir: self.dir.path().to_path_buf(),
            _keep: std::rc::Rc::clone(&self.dir),
        }
    }
}

impl Run {
    /// JSON events (when run with `--output json`).
    pub fn events(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .filter(|l| l.starts_with('{'))
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
            .collect()
    }

    pub fn recap(&self, host: &str) -> Value {
        self.events()
            .into_iter()
            .find(|e| e["event"] == "recap")
            .unwrap_or_else(|| panic!("no recap in:\n{}\n{}", self.stdout, self.stderr))["hosts"]
            [host]
            .clone()
    }

    /// host_result events of one task, by task name.
    pub fn results(&self, task: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| {
                e["event"] == "host_result" && super::is_task(e, task) && e["item"].is_null()
            })
            .collect()
    }

    pub fn outcome(&self, task: &str, host: &str) -> String {
        self.results(task)
            .into_iter()
            .find(|r| r["host"] == host)
            .map(|r| r["outcome"].as_str().unwrap_or_default().to_string())
            .unwrap_or_else(|| "none".into())
    }

    pub fn assert_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code,
            Some(code),
            "exit code; stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.dir.join(rel)).unwrap_or_default()
    }
}
