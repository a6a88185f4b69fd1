//! Issue 9 ("Hardening"): no lost edit under concurrent runs, `no_log` tasks
//! leak no arguments through any output channel, and SIGTERM/SIGHUP stop a
//! run like Ctrl-C while a second signal leaves no process behind.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

const BATON: &str = env!("CARGO_BIN_EXE_baton");

const INVENTORY: &str = "all:\n  hosts:\n    node:\n      ansible_connection: local\n";

/// A play adding `lines` distinct lines with `lineinfile`, blocks with
/// `blockinfile` and jobs with `cron` (a cron file), one per loop item.
fn editing_play(tag: &str, items: usize) -> String {
    let list: Vec<String> = (0..items).map(|i| format!("{tag}{i}")).collect();
    let list = format!("[{}]", list.join(", "));
    format!(
        r##"- hosts: all
  gather_facts: false
  tasks:
    - name: lines
      lineinfile:
        path: "{{{{ playbook_dir }}}}/lines.txt"
        line: "line {{{{ item }}}}"
        create: true
      loop: {list}
    - name: blocks
      blockinfile:
        path: "{{{{ playbook_dir }}}}/blocks.txt"
        marker: "# {{mark}} {{{{ item }}}}"
        block: "block {{{{ item }}}}"
        create: true
      loop: {list}
    - name: jobs
      cron:
        name: "job {{{{ item }}}}"
        cron_file: "{{{{ playbook_dir }}}}/cron.d/jobs"
        user: root
        minute: "0"
        job: "echo {{{{ item }}}}"
      loop: {list}
"##
    )
}

/// The loop items each task of a run reported as changed, by task name.
fn changed_items(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == "host_result" && e["outcome"] == "changed")
        .filter_map(|e| {
            let item = e["item"].as_str()?.to_string();
            Some((e["task"]["name"].as_str()?.to_string(), item))
        })
        .collect()
}

fn spawn_run(dir: &Path, playbook: &str) -> std::process::Child {
    Command::new(BATON)
        .current_dir(dir)
        .args(["run", playbook, "-i", "inventory.yml", "--output", "json"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start baton")
}

/// Two runs edit the same three files at once, 20 times: every line, block
/// and job a run reported as changed is in the file afterwards, and neither
/// run fails (a conflict is re-read and re-edited, not refused).
#[test]
fn concurrent_runs_lose_no_reported_edit() {
    const ROUNDS: usize = 20;
    const ITEMS: usize = 8;
    let mut lost = Vec::new();
    let mut reported = 0;
    for round in 0..ROUNDS {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("inventory.yml"), INVENTORY).unwrap();
        std::fs::write(dir.path().join("a.yml"), editing_play("a", ITEMS)).unwrap();
        std::fs::write(dir.path().join("b.yml"), editing_play("b", ITEMS)).unwrap();
        let runs = [
            spawn_run(dir.path(), "a.yml"),
            spawn_run(dir.path(), "b.yml"),
        ];
        let outputs: Vec<_> = runs
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        let lines = std::fs::read_to_string(dir.path().join("lines.txt")).unwrap_or_default();
        let blocks = std::fs::read_to_string(dir.path().join("blocks.txt")).unwrap_or_default();
        let jobs = std::fs::read_to_string(dir.path().join("cron.d/jobs")).unwrap_or_default();
        for out in &outputs {
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert_eq!(
                out.status.code(),
                Some(0),
                "round {round}: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            for (task, item) in changed_items(&stdout) {
                reported += 1;
                let present = match task.as_str() {
                    "lines" => lines.lines().any(|l| l == format!("line {item}")),
                    "blocks" => {
                        blocks.contains(&format!("# BEGIN {item}\nblock {item}\n# END {item}\n"))
                    }
                    "jobs" => jobs.contains(&format!(
                        "#Ansible: job {item}\n0 * * * * root echo {item}\n"
                    )),
                    other => panic!("unexpected task {other}"),
                };
                if !present {
                    lost.push(format!("round {round}: {task} {item}"));
                }
            }
        }
        // Every item of both runs reported changed exactly once.
        let distinct: BTreeSet<&str> = lines.lines().collect();
        assert_eq!(distinct.len(), 2 * ITEMS, "round {round}: {lines}");
        assert!(dir.path().join(".lines.txt.baton.lock").exists());
    }
    eprintln!(
        "{ROUNDS} rounds of two concurrent runs: {reported} changes reported, {} lost",
        lost.len()
    );
    assert_eq!(reported, ROUNDS * 2 * 3 * ITEMS);
    assert!(
        lost.is_empty(),
        "edits reported changed but missing: {lost:#?}"
    );
}

const SECRET: &str = "s3cr3t-Kx9q";

/// A succeeding and a failing unnamed task carrying the secret in their
/// arguments (literally and through a variable), with `no_log` on each task
/// or on the play.
fn no_log_play(on_play: bool) -> String {
    let (play, task) = if on_play {
        ("  no_log: true\n", "")
    } else {
        ("", "      no_log: true\n")
    };
    format!(
        r#"- hosts: all
  gather_facts: false
{play}  vars:
    password: "{SECRET}-var"
  tasks:
    - command: echo {SECRET} {{{{ password }}}}
{task}    - shell: echo {SECRET} {{{{ password }}}} >&2; exit 3
{task}"#
    )
}

/// Every output channel of `baton run` for `playbook`, as one text: human
/// stdout and stderr at -v, -vv and -vvv, JSON lines, the JUnit file, and
/// `--list-tasks`.
fn every_channel(playbook: &str) -> (String, Vec<Option<i32>>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("inventory.yml"), INVENTORY).unwrap();
    std::fs::write(dir.path().join("play.yml"), playbook).unwrap();
    let mut all = String::new();
    let mut codes = Vec::new();
    let runs: [&[&str]; 6] = [
        &["-v"],
        &["-vv"],
        &["-vvv"],
        &["--output", "json", "-vvv"],
        &["--junit", "junit.xml", "-vvv"],
        &["--list-tasks"],
    ];
    for extra in runs {
        let out = Command::new(BATON)
            .current_dir(dir.path())
            .args(["run", "play.yml", "-i", "inventory.yml"])
            .args(extra)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        codes.push(out.status.code());
        all.push_str(&format!("== {extra:?}\n"));
        all.push_str(&String::from_utf8_lossy(&out.stdout));
        all.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    all.push_str(&std::fs::read_to_string(dir.path().join("junit.xml")).unwrap_or_default());
    (all, codes)
}

#[test]
fn no_log_tasks_leak_no_argument_through_any_channel() {
    for on_play in [false, true] {
        let (all, codes) = every_channel(&no_log_play(on_play));
        assert!(
            !all.contains(SECRET),
            "no_log on play: {on_play}; secret leaked in:\n{all}"
        );
        // The runs did run: one task ok, one failed with its stop report.
        assert_eq!(&codes[..5], &[Some(2); 5], "{all}");
        assert!(all.contains("RUN STOPPED"), "{all}");
        assert!(all.contains("TASK [command]"), "{all}");
        assert!(all.contains("TASK [shell]"), "{all}");
        assert!(all.contains("\"name\":\"shell\""), "{all}");
        let listed = &all[all.find("== [\"--list-tasks\"]").unwrap()..];
        assert!(
            listed.contains("command") && listed.contains("shell"),
            "{listed}"
        );
    }
}

#[test]
fn a_templating_error_in_a_no_log_task_leaks_no_argument() {
    let play = format!(
        r#"- hosts: all
  gather_facts: false
  tasks:
    - command: echo {SECRET} {{{{ not_defined_anywhere }}}}
      no_log: true
"#
    );
    let (all, codes) = every_channel(&play);
    assert!(!all.contains(SECRET), "secret leaked in:\n{all}");
    // The place is still named, so the operator knows where to look.
    assert!(
        all.contains("play.yml:4:36: a template or condition of a `no_log` task failed"),
        "{all}"
    );
    assert_eq!(&codes[..5], &[Some(4); 5], "{all}");
}
