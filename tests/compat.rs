//! The compatibility corpus: every case under tests/compat/ run with baton and
//! compared with what ansible-core did (CASE/expected.json, recorded once by
//! `bench/compat.sh --record`, so this test needs no Ansible).
//!
//! A case runs three times: a first run on a fresh `out` directory, a second run
//! on the same directory (idempotence) and `--check` on another fresh directory.
//! Each run is observed as its exit code, the PLAY RECAP counters per host and
//! the file tree under `out`; tests/compat/README.md describes the format and
//! bench/compat.py observes Ansible the same way.
//!
//! tests/compat/known-differences.txt lists the cases where baton still differs,
//! each with a reason. The test fails when a case not listed differs, and when a
//! listed case now matches (remove it from the list): the list only shrinks.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

const RUNS: [&str; 3] = ["first", "second", "check"];
const COUNTERS: [&str; 7] = [
    "ok",
    "changed",
    "unreachable",
    "failed",
    "skipped",
    "rescued",
    "ignored",
];
const OUT_PLACEHOLDER: &str = "@OUT@";
/// Content up to this many bytes (valid UTF-8) is compared as text, else by sha256.
const MAX_TEXT: usize = 4096;
const DEFAULT_INVENTORY: &str = "localhost ansible_connection=local\n";
/// A run that takes longer than this is killed (coreutils `timeout`).
const RUN_TIMEOUT_SECS: &str = "120";

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat")
}

fn cases() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(corpus())
        .expect("read tests/compat")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("playbook.yml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `name reason...` per line; `#` starts a comment line.
fn known_differences() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(corpus().join("known-differences.txt"))
        .expect("read tests/compat/known-differences.txt");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((name, reason)) => (name.to_string(), reason.trim().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}

/// CASE/args: extra arguments as shell words (`#` comments allowed).
fn case_args(dir: &Path) -> Vec<String> {
    match std::fs::read_to_string(dir.join("args")) {
        Ok(text) => {
            let words: String = text
                .lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .collect::<Vec<_>>()
                .join(" ");
            shlex::split(&words).expect("CASE/args: valid shell words")
        }
        Err(_) => Vec::new(),
    }
}

/// A fresh `out`: a copy of CASE/seed/ when there is one, with modes
/// normalised (0755 directories, 0644 files, 0755 executables) so that the
/// checkout's umask does not matter.
fn seed(from: &Path, to: &Path) {
    std::fs::create_dir(to).expect("mkdir out");
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    if !from.is_dir() {
        return;
    }
    let mut entries: Vec<_> = std::fs::read_dir(from)
        .expect("read seed")
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let src = e.path();
        let dst = to.join(e.file_name());
        let meta = std::fs::symlink_metadata(&src).expect("stat seed");
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&src).expect("readlink");
            std::os::unix::fs::symlink(target, &dst).expect("symlink");
        } else if meta.is_dir() {
            seed(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).expect("copy seed file");
            let mode = if meta.permissions().mode() & 0o111 != 0 {
                0o755
            } else {
                0o644
            };
            std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(mode)).expect("chmod");
        }
    }
}

/// `{relative path: entry}` for everything under `out` (not `out` itself).
fn tree(out: &Path) -> Map<String, Value> {
    fn walk(root: &Path, dir: &Path, out_str: &str, files: &mut BTreeMap<String, Value>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.filter_map(|e| e.ok()) {
            let path = e.path();
            let rel = path
                .strip_prefix(root)
                .expect("under out")
                .to_string_lossy()
                .into_owned();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let mode = format!("0{:o}", meta.permissions().mode() & 0o7777);
            let entry = if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).expect("readlink");
                json!({"type": "link", "target": target.to_string_lossy().replace(out_str, OUT_PLACEHOLDER)})
            } else if meta.is_dir() {
                walk(root, &path, out_str, files);
                json!({"type": "dir", "mode": mode})
            } else {
                let data = std::fs::read(&path).expect("read file");
                let mut entry = json!({"type": "file", "mode": mode});
                let (text, bytes) = match String::from_utf8(data) {
                    Ok(s) => {
                        let s = s.replace(out_str, OUT_PLACEHOLDER);
                        let b = s.clone().into_bytes();
                        (Some(s), b)
                    }
                    Err(e) => (None, e.into_bytes()),
                };
                match text {
                    Some(s) if bytes.len() <= MAX_TEXT => entry["content"] = json!(s),
                    _ => entry["sha256"] = json!(hex::encode(Sha256::digest(&bytes))),
                }
                entry
            };
            files.insert(rel, entry);
        }
    }
    let mut files = BTreeMap::new();
    walk(out, out, &out.to_string_lossy(), &mut files);
    files.into_iter().collect()
}

/// The `recap` event's counters, hosts with all counters zero left out (as
/// Ansible's recap leaves out hosts that ran nothing).
fn recap(stdout: &str) -> Map<String, Value> {
    let mut hosts = Map::new();
    for line in stdout.lines() {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if event["event"] != "recap" {
            continue;
        }
        hosts = Map::new();
        if let Some(map) = event["hosts"].as_object() {
            for (host, counters) in map {
                let c: Map<String, Value> = COUNTERS
                    .iter()
                    .map(|k| (k.to_string(), json!(counters[*k].as_u64().unwrap_or(0))))
                    .collect();
                if c.values().any(|v| v.as_u64() != Some(0)) {
                    hosts.insert(host.clone(), Value::Object(c));
                }
            }
        }
    }
    let mut sorted: Vec<_> = hosts.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted.into_iter().collect()
}

/// Run one case three times with baton: `{run: {rc, recap, files}}`, and the
/// last run's output for the report.
fn observe(case: &str) -> (Value, String) {
    let dir = corpus().join(case);
    let work = tempfile::Builder::new()
        .prefix(&format!("baton-compat-{case}."))
        .tempdir()
        .expect("temp dir");
    let extra = case_args(&dir);
    let mut inventory = Vec::new();
    if !extra.iter().any(|a| a == "-i") {
        inventory.push("-i".to_string());
        if dir.join("inventory").exists() {
            inventory.push("inventory".to_string());
        } else {
            let inv = work.path().join("default-inventory");
            std::fs::write(&inv, DEFAULT_INVENTORY).expect("write inventory");
            inventory.push(inv.to_string_lossy().into_owned());
        }
    }
    let mut result = Map::new();
    let mut log = String::new();
    for run in RUNS {
        let out = work
            .path()
            .join(if run == "check" { "check-out" } else { "out" });
        if run != "second" {
            seed(&dir.join("seed"), &out);
        }
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            "umask 022; exec timeout \"$@\"",
            "sh",
            RUN_TIMEOUT_SECS,
        ])
        .arg(env!("CARGO_BIN_EXE_baton"))
        .args(["run", "playbook.yml"])
        .args(&inventory)
        .arg("-e")
        .arg(format!("out={}", out.display()))
        .args(["--output", "json"]);
        if run == "check" {
            cmd.arg("--check");
        }
        let output = cmd
            .args(&extra)
            .current_dir(&dir)
            .env("NO_COLOR", "1")
            // Only the case's own roles/ count, whatever the caller's environment says.
            .env_remove("BATON_ROLES_PATH")
            .env_remove("ANSIBLE_ROLES_PATH")
            // As bench/compat.py: no ansible.cfg of the caller's; a case's
            // own ./ansible.cfg is the next one both tools look for.
            .env("ANSIBLE_CONFIG", work.path().join("no-ansible.cfg"))
            .stdin(Stdio::null())
            .output()
            .expect("run baton");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let rc = output.status.code().unwrap_or(-1);
        log.push_str(&format!(
            "--- {run}: exit {rc}\n{}\n",
            stderr
                .lines()
                .rev()
                .take(6)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n")
        ));
        result.insert(
            run.to_string(),
            json!({"rc": rc, "recap": recap(&stdout), "files": tree(&out)}),
        );
    }
    (Value::Object(result), log)
}

fn short(v: Option<&Value>) -> String {
    match v {
        None => "null".into(),
        Some(v) => {
            let s = v.to_string();
            if s.chars().count() > 160 {
                format!("{}...", s.chars().take(160).collect::<String>())
            } else {
                s
            }
        }
    }
}

/// Short lines naming what differs: `run: what: expected -> actual`.
fn differences(expected: &Value, actual: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    for run in RUNS {
        let (e, a) = (&expected[run], &actual[run]);
        if e["rc"] != a["rc"] {
            lines.push(format!("{run}: exit code {} -> {}", e["rc"], a["rc"]));
        }
        let empty = Map::new();
        let (er, ar) = (
            e["recap"].as_object().unwrap_or(&empty),
            a["recap"].as_object().unwrap_or(&empty),
        );
        let hosts: BTreeSet<&String> = er.keys().chain(ar.keys()).collect();
        for host in hosts {
            match (er.get(host), ar.get(host)) {
                (Some(ec), Some(ac)) if ec != ac => {
                    let diff: Vec<String> = COUNTERS
                        .iter()
                        .filter(|c| ec[**c] != ac[**c])
                        .map(|c| format!("{c}={}->{}", ec[*c], ac[*c]))
                        .collect();
                    lines.push(format!("{run}: recap {host}: {}", diff.join(", ")));
                }
                (ec, ac) if ec != ac => lines.push(format!(
                    "{run}: recap {host}: {} -> {}",
                    short(ec),
                    short(ac)
                )),
                _ => {}
            }
        }
        let (ef, af) = (
            e["files"].as_object().unwrap_or(&empty),
            a["files"].as_object().unwrap_or(&empty),
        );
        let paths: BTreeSet<&String> = ef.keys().chain(af.keys()).collect();
        for path in paths {
            match (ef.get(path), af.get(path)) {
                (Some(x), Some(y)) if x == y => {}
                (None, Some(y)) => lines.push(format!("{run}: {path}: unexpected {}", y["type"])),
                (Some(x), None) => lines.push(format!("{run}: {path}: missing {}", x["type"])),
                (Some(x), Some(y)) => {
                    let keys: BTreeSet<&String> = x
                        .as_object()
                        .into_iter()
                        .chain(y.as_object())
                        .flat_map(|m| m.keys())
                        .collect();
                    for k in keys {
                        if x.get(k) != y.get(k) {
                            lines.push(format!(
                                "{run}: {path}: {k} {} -> {}",
                                short(x.get(k)),
                                short(y.get(k))
                            ));
                        }
                    }
                }
                (None, None) => {}
            }
        }
    }
    lines
}

#[test]
fn compat_corpus_matches_ansible_or_is_a_known_difference() {
    let names = cases();
    assert!(names.len() >= 65, "only {} cases", names.len());
    let known = known_differences();
    for name in known.keys() {
        assert!(
            names.contains(name),
            "known-differences.txt names `{name}`, which is not a case under tests/compat/"
        );
    }

    let next = AtomicUsize::new(0);
    let results: Mutex<BTreeMap<String, (Vec<String>, String)>> = Mutex::new(BTreeMap::new());
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, 4);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(case) = names.get(i) else { break };
                let path = corpus().join(case).join("expected.json");
                let expected: Value = match std::fs::read_to_string(&path) {
                    Ok(text) => serde_json::from_str(&text).expect("expected.json is JSON"),
                    Err(_) => {
                        let msg = format!(
                            "no {} (run bench/compat.sh --record {case})",
                            path.display()
                        );
                        results
                            .lock()
                            .unwrap()
                            .insert(case.clone(), (vec![msg], String::new()));
                        continue;
                    }
                };
                let (actual, log) = observe(case);
                let diff = differences(&expected, &actual);
                results.lock().unwrap().insert(case.clone(), (diff, log));
            });
        }
    });

    let results = results.into_inner().unwrap();
    let mut report = String::new();
    let mut unexpected = Vec::new();
    let mut fixed = Vec::new();
    let mut differ = 0;
    for (case, (diff, log)) in &results {
        if diff.is_empty() {
            if known.contains_key(case) {
                fixed.push(case.clone());
            }
            continue;
        }
        differ += 1;
        // A difference listed as the exit code's alone must stay that:
        // the recap and the files of such a case are still held to Ansible's.
        let listed = known.get(case).filter(|reason| {
            !reason.starts_with("exit code")
                || diff.iter().all(|line| line.contains(": exit code "))
        });
        report.push_str(&format!(
            "{} {case}{}\n",
            if listed.is_some() {
                "KNOWN  "
            } else {
                "DIFFERS"
            },
            listed.map(|r| format!(" ({r})")).unwrap_or_default()
        ));
        for line in diff {
            report.push_str(&format!("    {line}\n"));
        }
        if listed.is_none() {
            unexpected.push(case.clone());
            for line in log.lines() {
                report.push_str(&format!("      | {line}\n"));
            }
        }
    }
    report.push_str(&format!(
        "{} cases, {} match, {differ} differ ({} known)\n",
        results.len(),
        results.len() - differ,
        known.len()
    ));
    println!("{report}");
    assert!(
        unexpected.is_empty() && fixed.is_empty(),
        "{report}\ndiffer but are not in tests/compat/known-differences.txt: {unexpected:?}\n\
         match now, remove them from tests/compat/known-differences.txt: {fixed:?}"
    );
}
