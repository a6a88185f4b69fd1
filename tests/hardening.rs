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
        // The lock is the directory: no lock file is left beside the targets.
        let litter: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".lock"))
            .collect();
        assert!(litter.is_empty(), "round {round}: {litter:?}");
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

/// A `no_log` task's templated name is shown as written (`set {{ secret }}`),
/// never rendered: the name reaches the task line, the slowest tasks, the
/// stop report, JSON and JUnit. (Ansible prints the rendered name; the
/// README lists the difference.)
#[test]
fn a_no_log_task_s_templated_name_is_shown_unrendered_everywhere() {
    let play = format!(
        r#"- hosts: all
  gather_facts: false
  vars:
    secret: "{SECRET}"
  tasks:
    - name: "set {{{{ secret }}}}"
      command: "true"
      no_log: true
    - name: "fail {{{{ secret }}}}"
      command: "false"
      no_log: true
"#
    );
    let (all, codes) = every_channel(&play);
    assert!(!all.contains(SECRET), "secret leaked in:\n{all}");
    assert_eq!(&codes[..5], &[Some(2); 5], "{all}");
    assert!(all.contains("TASK [set {{ secret }}]"), "{all}");
    assert!(all.contains("RUN STOPPED"), "{all}");
    assert!(all.contains(r#""name":"fail {{ secret }}""#), "{all}");
    // The slowest-tasks list and JUnit name it too.
    assert!(all.matches("fail {{ secret }}").count() >= 6, "{all}");
}

/// As in Ansible, `no_log` hides the task's own output only: a later task
/// that prints the registered result shows it (the README says so; mark
/// that task `no_log` too). Masking only `debug: var=` would be a false
/// promise, since `msg: "{{ reg.stdout }}"` would still print it.
#[test]
fn a_no_log_result_printed_by_a_later_debug_is_shown_as_in_ansible() {
    let play = format!(
        r#"- hosts: all
  gather_facts: false
  tasks:
    - command: echo {SECRET}
      no_log: true
      register: reg
    - debug: var=reg.stdout
    - debug: var=reg.stdout
      no_log: true
"#
    );
    let (all, codes) = every_channel(&play);
    assert_eq!(&codes[..5], &[Some(0); 5], "{all}");
    // Printed by the unmasked debug at every verbosity, in human and JSON.
    assert_eq!(all.matches(SECRET).count(), 5, "{all}");
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

fn signal(child: &std::process::Child, sig: i32) {
    // SAFETY: kill(2) on the baton process this test started.
    let rc = unsafe { libc::kill(child.id() as i32, sig) };
    assert_eq!(rc, 0, "kill {sig}");
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// PIDs whose command line contains `marker`, anywhere on this machine
/// (lab nodes' PID namespaces included).
fn pgrep(marker: &str) -> Vec<String> {
    let out = Command::new("pgrep").args(["-f", marker]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// `baton run play.yml -i inventory.yml --junit junit.xml` in `dir`, with
/// `--output json` when `json`, its output piped.
/// A run (see [`run_reporting`]) whose first task, `sleeper`, is a
/// `sleep 300 MARKER` on the one host, followed by `more_tasks`; returns
/// once the sleep runs. The directory, the marker and the run.
fn sleeping_run(more_tasks: &str, json: bool) -> (tempfile::TempDir, String, std::process::Child) {
    let dir = tempfile::tempdir().unwrap();
    let marker = marker();
    std::fs::write(dir.path().join("inventory.yml"), INVENTORY).unwrap();
    std::fs::write(
        dir.path().join("play.yml"),
        format!(
            "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: sleeper\n      command: sleep 300 {marker}\n{more_tasks}"
        ),
    )
    .unwrap();
    let child = run_reporting(dir.path(), json);
    wait_for("the sleep to start", || {
        !pgrep(&format!("sleep 300 {marker}")).is_empty()
    });
    (dir, marker, child)
}

fn run_reporting(dir: &Path, json: bool) -> std::process::Child {
    let mut args = vec![
        "run",
        "play.yml",
        "-i",
        "inventory.yml",
        "--junit",
        "junit.xml",
    ];
    if json {
        args.extend(["--output", "json"]);
    }
    Command::new(BATON)
        .current_dir(dir)
        .args(&args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// One signal while `slow` (`sleep 2`) runs: `slow` finishes, `next` never
/// starts, the stop report and recap are printed (human or JSON), the JUnit
/// file is written, and the exit code is 128 + the signal.
fn one_signal_stops_after_the_running_task(sig: i32, json: bool) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("inventory.yml"), INVENTORY).unwrap();
    std::fs::write(
        dir.path().join("play.yml"),
        r#"- hosts: all
  gather_facts: false
  tasks:
    - name: slow
      shell: touch started; sleep 2; touch finished
    - name: next
      command: touch next-started
"#,
    )
    .unwrap();
    let child = run_reporting(dir.path(), json);
    wait_for("the slow task to start", || {
        dir.path().join("started").exists()
    });
    signal(&child, sig);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let all = format!("{stdout}\n{stderr}");
    assert_eq!(out.status.code(), Some(128 + sig), "{all}");
    assert!(
        dir.path().join("finished").exists(),
        "the running task was cut: {all}"
    );
    assert!(
        !dir.path().join("next-started").exists(),
        "the next task started: {all}"
    );
    let cause = match sig {
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGALRM => "SIGALRM",
        _ => unreachable!("not a stop request: {sig}"),
    };
    if json {
        assert!(stdout.contains(r#""event":"stopped""#), "{all}");
        assert!(stdout.contains(&format!("stopped by {cause}")), "{all}");
        assert!(stdout.contains(r#""event":"recap""#), "{all}");
    } else {
        assert!(stdout.contains("RUN STOPPED"), "{all}");
        assert!(stdout.contains(&format!("stopped by {cause}")), "{all}");
        assert!(stdout.contains("PLAY RECAP"), "{all}");
        assert!(stdout.contains("changed=1"), "{all}");
    }
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).expect("junit written");
    assert!(junit.contains("slow"), "{junit}");
}

#[test]
fn sigterm_lets_the_running_task_finish_then_exits_143() {
    one_signal_stops_after_the_running_task(libc::SIGTERM, false);
    one_signal_stops_after_the_running_task(libc::SIGTERM, true);
}

#[test]
fn sighup_lets_the_running_task_finish_then_exits_129() {
    one_signal_stops_after_the_running_task(libc::SIGHUP, false);
    one_signal_stops_after_the_running_task(libc::SIGHUP, true);
}

/// SIGUSR1 and SIGALRM ended baton by their default action (Python's too,
/// so Ansible's) and left the running task's `sleep` behind; they are stop
/// requests now, as SIGTERM: the task finishes, then the stop report.
#[test]
fn sigusr1_and_sigalrm_stop_the_run_as_sigterm_does() {
    one_signal_stops_after_the_running_task(libc::SIGUSR1, false);
    one_signal_stops_after_the_running_task(libc::SIGALRM, true);
}

/// SIGQUIT (Ctrl-\, "quit and dump core") ended baton by its default
/// action and left the task's `sleep` running; it is a quit at once now:
/// the task's processes are ended, one stop report names the cut task, the
/// reports are written, and the exit code is 131.
#[test]
fn sigquit_quits_at_once_and_leaves_no_process() {
    let (dir, marker, child) = sleeping_run(
        "    - name: next\n      command: touch next-started\n",
        false,
    );
    signal(&child, libc::SIGQUIT);
    let out = wait_bounded(child, 30);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let all = format!("{stdout}\n{stderr}");
    assert_eq!(out.status.code(), Some(131), "{all}");
    assert!(stderr.contains("cut: task `sleeper` on node"), "{all}");
    assert_eq!(stdout.matches("RUN STOPPED").count(), 1, "{all}");
    assert!(
        stdout.contains(
            "quit at once by SIGQUIT (Ctrl-\\): the running task was killed (`sleeper` on node)"
        ),
        "{all}"
    );
    assert!(stdout.contains("PLAY RECAP"), "{all}");
    assert!(!dir.path().join("next-started").exists(), "{all}");
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).expect("junit");
    assert_eq!(junit.matches(r#"type="cut""#).count(), 1, "{junit}");
    wait_for("the killed sleep to go", || pgrep(&marker).is_empty());
}

/// Ctrl-C while a long load runs (a big generated playbook) ended baton
/// with 130 and not a word; it says now that it stopped while loading and
/// that nothing ran, and it exits at once, not after the load.
#[test]
fn ctrl_c_while_loading_says_nothing_ran() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("inventory.yml"), INVENTORY).unwrap();
    // About 2.4 MB, loaded in seconds (a debug build takes ~9 s): the
    // signal comes long before the load ends.
    let mut play = String::from("- hosts: all\n  gather_facts: false\n  tasks:\n");
    play.push_str("    - command: touch ran\n");
    for i in 0..100_000 {
        play.push_str(&format!("    - debug: msg=x{i}\n"));
    }
    std::fs::write(dir.path().join("play.yml"), play).unwrap();
    let child = start(dir.path(), &dir.path().join("inventory.yml"), &[]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let t0 = std::time::Instant::now();
    signal(&child, libc::SIGINT);
    let out = wait_bounded(child, 30);
    let waited = t0.elapsed();
    let all = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(130), "{all}");
    assert!(
        all.contains("interrupted by the operator (Ctrl-C) while loading the playbook, inventory and variables: nothing ran on any host"),
        "{all}"
    );
    assert!(!dir.path().join("ran").exists(), "{all}");
    assert!(
        waited < std::time::Duration::from_secs(3),
        "exited {waited:?} after the signal: {all}"
    );
}

/// A unique argument `sleep` accepts (it adds its arguments up), so the
/// processes of one test can be found by their command line.
fn marker() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("0.000{}{nanos:09}", std::process::id())
}

/// Whether `text` has a line saying `before HOSTS after` where HOSTS lists
/// exactly `hosts`, in any order, joined by ", ": hosts cut or changed
/// alike share one line of a quit's report.
fn says_of_hosts(text: &str, before: &str, hosts: &[&str], after: &str) -> bool {
    let mut want: Vec<&str> = hosts.to_vec();
    want.sort_unstable();
    text.lines().any(|line| {
        let Some((_, rest)) = line.split_once(before) else {
            return false;
        };
        let Some((listed, _)) = rest.split_once(after) else {
            return false;
        };
        let mut got: Vec<&str> = listed.split(", ").collect();
        got.sort_unstable();
        got == want
    })
}

/// Two SIGTERMs during a task whose script starts `sleep` children: baton
/// exits 143 at once, names the cut task and host, and no process of the
/// task is left (on the controller or on the host). A stop report printed
/// before the exit says the running task was killed, not that it finished.
/// Returns the count left and stdout.
fn second_signal_leaves_no_process(inventory: &Path, hosts: &[&str]) -> (usize, String) {
    let dir = tempfile::tempdir().unwrap();
    let marker = marker();
    std::fs::write(
        dir.path().join("play.yml"),
        format!(
            r#"- hosts: all
  gather_facts: false
  tasks:
    - name: sleeper
      shell: "sleep 300 {marker} & sleep 300 {marker}; echo done"
    - name: next
      command: "true"
"#
        ),
    )
    .unwrap();
    let child = Command::new(BATON)
        .current_dir(dir.path())
        .arg("run")
        .arg("play.yml")
        .arg("-i")
        .arg(inventory)
        .arg("--junit")
        .arg(dir.path().join("junit.xml"))
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Each host's script, its background and its foreground sleep.
    wait_for("the sleeps to start", || {
        pgrep(&format!("sleep 300 {marker}")).len() >= 2 * hosts.len()
    });
    signal(&child, libc::SIGTERM);
    std::thread::sleep(std::time::Duration::from_millis(500));
    signal(&child, libc::SIGTERM);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(143), "{stdout}\n{stderr}");
    // Hosts cut alike are one line, in the quit's lines and the report.
    assert!(
        says_of_hosts(
            &stderr,
            "baton: cut: task `sleeper` on ",
            hosts,
            " (it may have done part of its work)"
        ),
        "{stdout}\n{stderr}"
    );
    assert_eq!(stderr.matches("cut: task").count(), 1, "{stderr}");
    if stdout.contains("RUN STOPPED") {
        assert!(
            says_of_hosts(&stdout, "killed (`sleeper` on ", hosts, ")"),
            "{stdout}"
        );
    }
    // The task's block says the hosts it cut on one line.
    if stdout.contains("cut: the quit at once killed the task") {
        assert_eq!(
            stdout
                .matches("cut: the quit at once killed the task")
                .count(),
            1,
            "{stdout}"
        );
        assert!(
            says_of_hosts(
                &stdout,
                "! ",
                hosts,
                ": cut: the quit at once killed the task"
            ),
            "{stdout}"
        );
    }
    assert!(!stdout.contains("the running task finished"), "{stdout}");
    // One stop report (the run's own: the killed tasks return at once),
    // naming the quit and the cut task; the cut task is not a failure.
    assert_eq!(stdout.matches("RUN STOPPED").count(), 1, "{stdout}");
    assert!(
        stdout.contains(
            "stopped by SIGTERM, then quit at once: the running task was killed (`sleeper` on "
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("failed=1"), "{stdout}");
    // The quit writes the JUnit report a stop writes, saying where it cut.
    let junit = std::fs::read_to_string(dir.path().join("junit.xml"))
        .unwrap_or_else(|e| panic!("no JUnit report after a quit: {e}\n{stdout}\n{stderr}"));
    assert!(junit.contains("then quit at once"), "{junit}");
    assert!(
        says_of_hosts(&junit, "killed (`sleeper` on ", hosts, ")"),
        "{junit}"
    );
    for host in hosts {
        assert!(
            junit.contains(&format!(r#"<testcase name="sleeper [{host}]""#)),
            "{junit}"
        );
    }
    assert_eq!(
        junit.matches(r#"type="cut""#).count(),
        hosts.len(),
        "{junit}"
    );
    // Give a KILL on a host a moment to land, then count what is left.
    let mut left = pgrep(&marker);
    for _ in 0..40 {
        if left.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        left = pgrep(&marker);
    }
    (left.len(), stdout.into_owned())
}

#[test]
fn a_second_sigterm_leaves_no_local_process() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.yml");
    std::fs::write(
        &inventory,
        "all:\n  hosts:\n    n1:\n      ansible_connection: local\n    n2:\n      ansible_connection: local\n",
    )
    .unwrap();
    let (left, stdout) = second_signal_leaves_no_process(&inventory, &["n1", "n2"]);
    eprintln!("local: {left} processes left after two SIGTERMs");
    assert_eq!(left, 0);
    // Locally the killed tasks end at once, so the run prints its stop
    // report before the quit's exit.
    assert!(stdout.contains("RUN STOPPED"), "{stdout}");
}

#[test]
fn a_second_sigterm_leaves_no_process_on_a_lab_node() {
    require_root!();
    let lab = support::lab::Lab::running();
    let inventory = lab.dir().join("lab.yml");
    let (left, _) = second_signal_leaves_no_process(&inventory, &["bc1", "bc2"]);
    eprintln!("lab: {left} processes left after two SIGTERMs");
    assert_eq!(left, 0);
    // The persistent worker shells went with their masters (`[b]` keeps the
    // pattern from matching the shell that runs pgrep).
    let mut workers = String::new();
    for _ in 0..30 {
        workers = lab.sh("bc1", "pgrep -fc 'sh -s [b]aton-worker' || true");
        if workers == "0" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(workers, "0", "worker shells left on bc1");
}

/// A stop request ends a running `pause` early (as Ctrl-C does in Ansible)
/// instead of waiting it out; the task after it does not start.
#[test]
fn a_stop_request_cuts_a_running_pause_short() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("inventory.yml"),
        "all:\n  hosts:\n    n1:\n      ansible_connection: local\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("play.yml"),
        r#"- hosts: all
  gather_facts: false
  tasks:
    - name: mark
      command: touch started
    - name: long pause
      pause:
        seconds: 60
    - name: next
      command: touch next-started
"#,
    )
    .unwrap();
    let child = Command::new(BATON)
        .current_dir(dir.path())
        .args(["run", "play.yml", "-i", "inventory.yml", "-v"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the pause to start", || dir.path().join("started").exists());
    std::thread::sleep(std::time::Duration::from_millis(300));
    let t0 = std::time::Instant::now();
    signal(&child, libc::SIGTERM);
    let out = child.wait_with_output().unwrap();
    let all = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(143), "{all}");
    assert!(t0.elapsed() < std::time::Duration::from_secs(10), "{all}");
    assert!(all.contains("cut short by the stop request"), "{all}");
    assert!(!dir.path().join("next-started").exists(), "{all}");
}

/// A stop request cuts a running `wait_for` (whose `timeout` may be up to 30
/// days) as it cuts a `pause`: it ran to its timeout, on the host, in one
/// script. The task says it was cut and that its condition was not met;
/// the next task does not start.
#[test]
fn a_stop_request_cuts_a_running_wait_for_short() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = local_inventory(dir.path(), &["n1"]);
    std::fs::write(
        dir.path().join("play.yml"),
        r#"- hosts: all
  gather_facts: false
  tasks:
    - name: mark
      command: touch started
    - name: long wait
      wait_for:
        path: ./never-there
        timeout: 60
    - name: next
      command: touch next-started
"#,
    )
    .unwrap();
    let child = start(dir.path(), &inventory, &[]);
    wait_for("the wait to start", || dir.path().join("started").exists());
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let t0 = std::time::Instant::now();
    signal(&child, libc::SIGTERM);
    let out = wait_bounded(child, 30);
    let waited = t0.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let all = format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(143), "{all}");
    assert!(
        waited < std::time::Duration::from_secs(5),
        "stopped {waited:?} after the signal: {all}"
    );
    assert!(
        all.contains("of 60 s: cut short by the stop request (stopped by SIGTERM); the condition was not met"),
        "{all}"
    );
    assert!(stdout.contains("RUN STOPPED"), "{all}");
    assert!(!dir.path().join("next-started").exists(), "{all}");
}

/// Waits for `child` at most `secs`; a baton still running then is killed
/// (the test fails: a stop request must end a run).
fn wait_bounded(child: std::process::Child, secs: u64) -> std::process::Output {
    let pid = child.id() as i32;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(std::time::Duration::from_secs(secs)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            // SAFETY: kill(2) on the baton process this test started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let out = rx.recv().unwrap().unwrap();
            panic!(
                "baton did not stop within {secs} s of the stop request:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

fn start(dir: &Path, inventory: &Path, extra_env: &[(&str, &str)]) -> std::process::Child {
    start_with(dir, inventory, &[], extra_env)
}

/// `baton run play.yml -i INVENTORY ARGS` in `dir`, its output piped.
fn start_with(
    dir: &Path,
    inventory: &Path,
    args: &[&str],
    extra_env: &[(&str, &str)],
) -> std::process::Child {
    Command::new(BATON)
        .current_dir(dir)
        .arg("run")
        .arg("play.yml")
        .arg("-i")
        .arg(inventory)
        .args(args)
        .env("NO_COLOR", "1")
        .envs(extra_env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn local_inventory(dir: &Path, hosts: &[&str]) -> std::path::PathBuf {
    let inventory = dir.join("inventory.yml");
    let mut text = String::from("all:\n  hosts:\n");
    for h in hosts {
        text.push_str(&format!("    {h}:\n      ansible_connection: local\n"));
    }
    std::fs::write(&inventory, text).unwrap();
    inventory
}

/// One signal during a loop: the item running finishes, the next item never
/// starts, and the stop report says which items did not run and what had
/// changed on the host.
#[test]
fn one_signal_stops_a_loop_after_its_current_item() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = local_inventory(dir.path(), &["n1"]);
    std::fs::write(
        dir.path().join("play.yml"),
        r#"- hosts: all
  gather_facts: false
  tasks:
    - name: loopy
      shell: "touch started-{{ item }}; sleep 1; touch finished-{{ item }}"
      loop: [1, 2, 3, 4]
    - name: after
      command: touch after
"#,
    )
    .unwrap();
    let child = start(dir.path(), &inventory, &[]);
    wait_for("item 1 to start", || dir.path().join("started-1").exists());
    signal(&child, libc::SIGTERM);
    let out = wait_bounded(child, 60);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let all = format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(143), "{all}");
    assert!(
        dir.path().join("finished-1").exists(),
        "item 1 was cut: {all}"
    );
    for later in ["started-2", "started-3", "started-4", "after"] {
        assert!(!dir.path().join(later).exists(), "{later} exists: {all}");
    }
    assert!(
        stdout.contains("`loopy` on n1 stopped before item 2 of 4 (stopped by SIGTERM): items 2 to 4 did not run"),
        "{all}"
    );
    assert!(
        stdout.contains("Changed on n1 before the stop: loopy."),
        "{all}"
    );
    assert!(stdout.contains("PLAY RECAP"), "{all}");
}

/// A second signal during a loop: baton exits 143 at once, no later item
/// starts (its process would outlive baton), no process of the loop is
/// left, and it says which host it cut at which item and what had changed.
#[test]
fn a_second_signal_during_a_loop_starts_no_item_and_leaves_no_process() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = local_inventory(dir.path(), &["n1", "n2"]);
    let marker = marker();
    std::fs::write(
        dir.path().join("play.yml"),
        format!(
            r#"- hosts: all
  gather_facts: false
  tasks:
    - name: prep
      command: "touch prep-{{{{ inventory_hostname }}}}"
    - name: loopy
      shell: "touch item-{{{{ item }}}}-{{{{ inventory_hostname }}}}; sleep 300 {marker} & sleep 300 {marker}"
      loop: [1, 2, 3]
"#
        ),
    )
    .unwrap();
    let child = start(dir.path(), &inventory, &[]);
    wait_for("the first items' sleeps", || {
        pgrep(&format!("sleep 300 {marker}")).len() >= 4
    });
    signal(&child, libc::SIGTERM);
    std::thread::sleep(std::time::Duration::from_millis(300));
    signal(&child, libc::SIGTERM);
    let out = wait_bounded(child, 60);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let all = format!("{}\n{stderr}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(out.status.code(), Some(143), "{all}");
    let mut left = pgrep(&marker);
    for _ in 0..40 {
        if left.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        left = pgrep(&marker);
    }
    assert!(left.is_empty(), "processes left: {left:?}\n{all}");
    for host in ["n1", "n2"] {
        assert!(dir.path().join(format!("item-1-{host}")).exists(), "{all}");
        assert!(
            !dir.path().join(format!("item-2-{host}")).exists(),
            "item 2 started on {host} after the quit: {all}"
        );
    }
    assert!(
        says_of_hosts(
            &stderr,
            "cut: task `loopy` on ",
            &["n1", "n2"],
            " at item 1 of 3 (1)"
        ),
        "{all}"
    );
    assert!(
        says_of_hosts(
            &stderr,
            "changed on ",
            &["n1", "n2"],
            " before the quit: prep"
        ),
        "{all}"
    );
}

/// A quit at once (two Ctrl-C) during a `no_log` loop names the item
/// masked, as every other channel does, never its value.
#[test]
fn a_quit_during_a_no_log_loop_masks_the_cut_item() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = local_inventory(dir.path(), &["h1"]);
    let marker = marker();
    std::fs::write(
        dir.path().join("play.yml"),
        format!(
            r#"- hosts: all
  gather_facts: false
  tasks:
    - name: long
      shell: "touch started; sleep 300 {marker}"
      loop: [S3KRIT_ITEM]
      no_log: true
"#
        ),
    )
    .unwrap();
    let child = start(dir.path(), &inventory, &[]);
    wait_for("the item to start", || dir.path().join("started").exists());
    signal(&child, libc::SIGINT);
    std::thread::sleep(std::time::Duration::from_millis(300));
    signal(&child, libc::SIGINT);
    let out = wait_bounded(child, 60);
    let all = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        all.contains("cut: task `long` on h1 at item 1 of 1 ((hidden: no_log))"),
        "{all}"
    );
    assert!(!all.contains("S3KRIT"), "{all}");
}

/// A stop request while a template renders for ever (a loop inside a loop
/// of 100,000 each, with a step bound so high that the fuel would take
/// minutes to end it): the render is cut at once with a message naming the
/// template, and the run stops with 143 within seconds.
#[test]
fn a_stop_request_during_an_endless_render_ends_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = local_inventory(dir.path(), &["n1"]);
    std::fs::write(
        dir.path().join("play.yml"),
        r#"- hosts: all
  gather_facts: false
  tasks:
    - name: mark
      command: touch started
    - name: endless
      debug:
        msg: "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
      loop: [1, 2, 3]
    - name: after
      command: touch after
"#,
    )
    .unwrap();
    // 10^11 steps: hours of work, so only the stop request can end it
    let child = start(
        dir.path(),
        &inventory,
        &[("BATON_MAX_TEMPLATE_STEPS", "100000000000")],
    );
    wait_for("the render to start", || {
        dir.path().join("started").exists()
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    signal(&child, libc::SIGTERM);
    // (the fuel alone would take hours: a hang fails here)
    let all = assert_render_cut(child, 60, dir.path());
    assert!(all.contains("play.yml:8:"), "{all}");
}

/// Waits at most `secs` for a run that got SIGTERM during a render: it must
/// exit 143 saying the render was cut, before the task `after` ran. Returns
/// its stdout and stderr.
fn assert_render_cut(child: std::process::Child, secs: u64, dir: &Path) -> String {
    let out = wait_bounded(child, secs);
    let all = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(143), "{all}");
    assert!(
        all.contains("render cut short: the run is stopping"),
        "{all}"
    );
    assert!(!dir.join("after").exists(), "{all}");
    all
}

/// A stop request while one filter spends seconds (`map('sort')` over 12
/// lists of 100,000 shuffled strings: no loop step, no output, no operator inside):
/// the sort itself passes stop checkpoints, so the render is cut and the
/// run exits 143 within 5 s, not after the filter (which took some 12 s in a
/// debug build when only loop steps were checkpoints).
#[test]
fn a_stop_request_during_a_long_filter_ends_the_run_within_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = local_inventory(dir.path(), &["n1"]);
    std::fs::write(
        dir.path().join("play.yml"),
        r#"- hosts: all
  gather_facts: false
  tasks:
    - name: mark
      command: touch started
    - name: sorting
      debug:
        msg: "{% set big = range(100000) | map('string') | shuffle %}{{ ([big] * 12) | map('sort') | map('length') | sum }}"
    - name: after
      command: touch after
"#,
    )
    .unwrap();
    let child = start(dir.path(), &inventory, &[]);
    wait_for("the render to start", || {
        dir.path().join("started").exists()
    });
    // past building the lists (a few hundred ms), into the sorts
    std::thread::sleep(std::time::Duration::from_secs(2));
    signal(&child, libc::SIGTERM);
    // 5 s: room for a loaded machine, far below the ~12 s the sorts take
    assert_render_cut(child, 5, dir.path());
}

/// 50 hosts edit the same two files at once (local connection), each with a
/// `lineinfile` loop and a `blockinfile`: every host succeeds and every line
/// and block is in the file (collisions back off and retry, none fails).
#[test]
fn fifty_hosts_editing_one_file_all_succeed_and_lose_no_edit() {
    const HOSTS: usize = 50;
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..HOSTS).map(|i| format!("h{i:02}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let inventory = local_inventory(dir.path(), &refs);
    std::fs::write(
        dir.path().join("play.yml"),
        r##"- hosts: all
  gather_facts: false
  tasks:
    - name: lines
      lineinfile:
        path: "{{ playbook_dir }}/shared/lines.txt"
        line: "{{ inventory_hostname }} {{ item }}"
        create: true
      loop: [a, b]
    - name: block
      blockinfile:
        path: "{{ playbook_dir }}/shared/blocks.txt"
        marker: "# {mark} {{ inventory_hostname }}"
        block: "block of {{ inventory_hostname }}"
        create: true
"##,
    )
    .unwrap();
    let out = Command::new(BATON)
        .current_dir(dir.path())
        .arg("run")
        .arg("play.yml")
        .arg("-i")
        .arg(&inventory)
        .args(["--output", "json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let failures: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains(r#""outcome":"failed""#))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = std::fs::read_to_string(dir.path().join("shared/lines.txt")).unwrap();
    let blocks = std::fs::read_to_string(dir.path().join("shared/blocks.txt")).unwrap();
    let mut lost = Vec::new();
    for host in &names {
        for item in ["a", "b"] {
            let line = format!("{host} {item}");
            if !lines.lines().any(|l| l == line) {
                lost.push(line);
            }
        }
        let block = format!("# BEGIN {host}\nblock of {host}\n# END {host}\n");
        if !blocks.contains(&block) {
            lost.push(block);
        }
    }
    assert_eq!(lines.lines().count(), 2 * HOSTS, "{lines}");
    assert!(lost.is_empty(), "lost edits: {lost:#?}");
    let changed: usize = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == "host_result" && e["outcome"] == "changed")
        .filter(|e| e["item"].is_string() || e["task"]["name"] == "block")
        .count();
    assert_eq!(changed, 3 * HOSTS);
    eprintln!("{HOSTS} hosts: {changed} edits reported changed, 0 lost");
}

/// PIDs of processes whose command line contains `text`.
fn processes_naming(text: &str) -> Vec<String> {
    pgrep(&regex_escape(text))
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if "\\.^$|?*+()[]{}".contains(c) {
                vec!['\\', c]
            } else {
                vec![c]
            }
        })
        .collect()
}

/// In the lab: a second signal during a loop over SSH, with `-f 1` so that
/// one node waits for its turn, leaves no task process on the nodes and no
/// SSH master of the run on the controller (the run's masters are found by
/// their control directory, under a TMPDIR of the test's own): the waiting
/// node neither connects nor starts the loop, the running one gets no next
/// item, and every master is ended.
#[test]
fn a_second_signal_during_a_loop_leaves_no_ssh_master_in_the_lab() {
    require_root!();
    let lab = support::lab::Lab::running();
    let inventory = lab.dir().join("lab.yml");
    let dir = tempfile::tempdir().unwrap();
    // Short: the control socket path must stay under ~100 bytes.
    let tmp = std::path::PathBuf::from(format!("/tmp/bh{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let marker = marker();
    std::fs::write(
        dir.path().join("play.yml"),
        format!(
            r#"- hosts: bc1:bc2
  gather_facts: false
  tasks:
    - name: loopy
      shell: "sleep 300 {marker}{{{{ item }}}} & sleep 300 {marker}{{{{ item }}}}"
      loop: [1, 2, 3]
"#
        ),
    )
    .unwrap();
    let child = Command::new(BATON)
        .current_dir(dir.path())
        .arg("run")
        .arg("play.yml")
        .arg("-i")
        .arg(&inventory)
        .args(["-f", "1"])
        .env("NO_COLOR", "1")
        .env("TMPDIR", &tmp)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("item 1's sleeps on the first node", || {
        pgrep(&format!("sleep 300 {marker}1")).len() >= 2
    });
    assert!(
        !processes_naming(tmp.to_str().unwrap()).is_empty(),
        "the run's masters are not where the test looks for them"
    );
    signal(&child, libc::SIGTERM);
    std::thread::sleep(std::time::Duration::from_millis(300));
    signal(&child, libc::SIGTERM);
    let out = wait_bounded(child, 60);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let all = format!("{}\n{stderr}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(out.status.code(), Some(143), "{all}");
    let (mut tasks, mut masters) = (pgrep(&marker), processes_naming(tmp.to_str().unwrap()));
    for _ in 0..40 {
        if tasks.is_empty() && masters.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        tasks = pgrep(&marker);
        masters = processes_naming(tmp.to_str().unwrap());
    }
    let _ = std::fs::remove_dir_all(&tmp);
    eprintln!(
        "lab: {} task processes and {} ssh masters left after two SIGTERMs during a loop",
        tasks.len(),
        masters.len()
    );
    assert!(tasks.is_empty(), "task processes left: {tasks:?}\n{all}");
    assert!(masters.is_empty(), "ssh masters left: {masters:?}\n{all}");
    assert!(
        stderr.contains("cut: task `loopy` on bc1 at item 1 of 3"),
        "{all}"
    );
    assert!(stderr.contains("ssh master connection(s)"), "{all}");
}

const OK_PLAY: &str = "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: \"true\"\n";

/// A run that went well but whose output could not be written (stdout on
/// /dev/full) exits 1, not 0, and says why on stderr.
#[test]
fn stdout_on_a_full_device_does_not_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("inventory.yml"), INVENTORY).unwrap();
    std::fs::write(dir.path().join("play.yml"), OK_PLAY).unwrap();
    for (extra, said) in [
        (
            &[][..],
            "baton: cannot write the run's output to stdout: No space left on device",
        ),
        (
            &["--output", "json"][..],
            "baton: cannot write JSON events to stdout: No space left on device",
        ),
    ] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = Command::new(BATON)
            .current_dir(dir.path())
            .args(["run", "play.yml", "-i", "inventory.yml"])
            .args(extra)
            .stdout(full)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {stderr}");
        assert!(stderr.contains(said), "{extra:?}: {stderr}");
    }
}

/// A `--junit` file on a full filesystem (a 16 KiB tmpfs, filled, in a
/// mount namespace of its own so nothing is left mounted): the run exits 1,
/// naming the file and the error.
#[test]
fn a_junit_file_on_a_full_disk_does_not_exit_0() {
    require_root!();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("inventory.yml"), INVENTORY).unwrap();
    std::fs::write(dir.path().join("play.yml"), OK_PLAY).unwrap();
    std::fs::create_dir(dir.path().join("full")).unwrap();
    let script = format!(
        "mount -t tmpfs -o size=16k tmpfs full || exit 99; \
         head -c 1048576 /dev/zero > full/fill 2>/dev/null; \
         '{BATON}' run play.yml -i inventory.yml --junit full/junit.xml"
    );
    let out = Command::new("unshare")
        .current_dir(dir.path())
        .args(["-m", "sh", "-c", &script])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("PLAY RECAP"), "{stdout}\n{stderr}");
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(
            "baton: cannot write the JUnit report to full/junit.xml: No space left on device"
        ),
        "{stderr}"
    );
}

/// A `serial` that cannot be rendered is an error of its play: the play
/// does not start (no header, as in Ansible) and the error, with file and
/// line, comes before the recap on the terminal (stdout and stderr merged),
/// not after it. Exit 4.
#[test]
fn a_serial_template_error_is_said_before_the_recap() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("inventory.yml"), INVENTORY).unwrap();
    std::fs::write(
        dir.path().join("play.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=first\n- name: batched\n  hosts: all\n  gather_facts: false\n  serial: \"{{ bad }}\"\n  tasks:\n    - debug: msg=second\n",
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("log")).unwrap();
    let status = Command::new(BATON)
        .current_dir(dir.path())
        .args(["run", "play.yml", "-i", "inventory.yml"])
        .env("NO_COLOR", "1")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .status()
        .unwrap();
    let all = std::fs::read_to_string(dir.path().join("log")).unwrap();
    assert_eq!(status.code(), Some(4), "{all}");
    let error = all
        .find("play.yml:8:15")
        .expect("the error names file and line");
    let recap = all.find("PLAY RECAP").expect("recap printed");
    assert!(error < recap, "the error came after the recap:\n{all}");
    assert!(all.contains("undefined variable `bad`"), "{all}");
    assert!(!all.contains("PLAY [batched]"), "{all}");
    assert!(!all.contains("node: second"), "{all}");
}

/// `-e` with 100,000 `[`: exit 4, a message naming `-e` and the limit, and
/// no echo of the argument.
#[test]
fn a_deeply_nested_e_value_exits_4_naming_e() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("inventory.yml"), INVENTORY).unwrap();
    std::fs::write(dir.path().join("play.yml"), OK_PLAY).unwrap();
    let out = Command::new(BATON)
        .current_dir(dir.path())
        .args(["run", "play.yml", "-i", "inventory.yml", "-e"])
        .arg("[".repeat(100_000))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("-e: the inline value is nested more than 255"),
        "{stderr}"
    );
    assert!(stderr.len() < 1000, "{stderr}");
}

/// `timeout: "{{ t }}"` and `loop_control: {pause: "{{ p }}"}` are accepted
/// at load, as Ansible does, rendered when the task runs and bounded as a
/// literal value is; a templated duration argument out of range (`pause`
/// `seconds`, `wait_for` `timeout`) is invalid input, exit 4 at the
/// template, as the same value written literally is (it was a task
/// failure, exit 2).
#[test]
fn templated_durations_run_and_are_bounded_as_literal_ones() {
    use support::cli::Test;
    let ok = Test::new()
        .local_hosts(&["n1"])
        .playbook(
            "- hosts: nodes\n  gather_facts: false\n  vars: {t: 5, p: 0.01}\n  tasks:\n\
             \x20   - name: timed\n      command: 'true'\n      timeout: \"{{ t }}\"\n\
             \x20   - name: paused\n      debug: msg={{ item }}\n      loop: [1, 2]\n      loop_control: {pause: \"{{ p }}\"}\n",
        )
        .run();
    ok.assert_code(0);
    for (vars, task, want, line) in [
        (
            "{t: 1e300}",
            "command: 'true'\n      timeout: \"{{ t }}\"",
            "`timeout` is 1e300 seconds",
            7,
        ),
        (
            "{t: 0}",
            "command: 'true'\n      timeout: \"{{ t }}\"",
            "`timeout` must be a positive number",
            7,
        ),
        (
            "{t: 1.5}",
            "command: 'true'\n      timeout: \"{{ t }}\"",
            "`timeout` must be a whole number of seconds (got 1.5)",
            7,
        ),
        (
            "{t: abc}",
            "command: 'true'\n      timeout: \"{{ t }}\"",
            "`timeout` must be a number of seconds, got \"abc\"",
            7,
        ),
        (
            "{p: -1}",
            "debug: msg=x\n      loop: [1, 2]\n      loop_control: {pause: \"{{ p }}\"}",
            "`loop_control.pause` must not be negative",
            8,
        ),
        (
            "{s: 1e30}",
            "pause: {seconds: \"{{ s }}\"}",
            "`pause` argument `seconds` is 1e30 seconds",
            6,
        ),
        (
            "{s: \"nan\"}",
            "pause: {minutes: \"{{ s }}\"}",
            "`pause` argument `minutes` must be a number of seconds, not NaN",
            6,
        ),
        (
            "{s: -5}",
            "wait_for: {port: 1, timeout: \"{{ s }}\"}",
            "`wait_for` argument `timeout` must not be negative",
            6,
        ),
        // not a number at all: refused at the template's line (exit 4),
        // not a task failure naming only the task (exit 2)
        (
            "{s: abc}",
            "pause: {seconds: \"{{ s }}\"}",
            "`pause` argument `seconds` must be a number of seconds, got \"abc\"",
            6,
        ),
        (
            "{s: abc}",
            "wait_for: {port: 1, timeout: \"{{ s }}\"}",
            "`wait_for` argument `timeout` must be a number of seconds, got \"abc\"",
            6,
        ),
        (
            "{s: abc}",
            "command: 'true'\n      retries: 1\n      until: false\n      delay: \"{{ s }}\"",
            "`delay` must be a number, got \"abc\"",
            9,
        ),
    ] {
        let play = format!(
            "- hosts: nodes\n  gather_facts: false\n  vars: {vars}\n  tasks:\n    - name: t\n      {task}\n"
        );
        let run = Test::new().local_hosts(&["n1"]).playbook(&play).run();
        let all = format!("{}{}", run.stdout, run.stderr);
        run.assert_code(4);
        assert!(all.contains(want), "{vars} {task}: {all}");
        assert!(
            all.contains(&format!("play.yml:{line}")),
            "{vars} {task}: {all}"
        );
    }
}

/// `no_log: "{{ secret_flag }}"` (Ansible accepts a templated no_log) is
/// rendered per host: a host whose flag is true has its result masked, one
/// whose flag is false shows it, and one whose flag does not render (an
/// undefined variable) is masked: fail closed. The unnamed task's generated
/// name never shows the argument (the task counts as no_log until a host's
/// value is known).
#[test]
fn a_templated_no_log_is_rendered_per_host_and_masks_when_it_cannot_be() {
    use support::cli::Test;
    let t = || {
        Test::new()
            .file(
                "inventory.yml",
                "all:\n  hosts:\n    n1: {ansible_connection: local, secret_flag: true}\n\
             \x20   n2: {ansible_connection: local, secret_flag: false}\n\
             \x20   n3: {ansible_connection: local}\n",
            )
            .playbook(
                "- hosts: all\n  gather_facts: false\n  tasks:\n\
             \x20   - debug: msg=S3KRIT-{{ inventory_hostname }}\n\
             \x20     no_log: \"{{ secret_flag }}\"\n",
            )
    };
    for args in [&[][..], &["-vvv"][..], &["--output", "json"][..]] {
        let run = t().args(args).run();
        let all = format!("{}{}", run.stdout, run.stderr);
        run.assert_code(0);
        assert!(all.contains("S3KRIT-n2"), "{args:?}: {all}");
        assert!(!all.contains("S3KRIT-n1"), "{args:?}: {all}");
        assert!(!all.contains("S3KRIT-n3"), "{args:?}: {all}");
        assert!(!all.contains("S3KRIT-{{"), "{args:?}: {all}");
    }
}

/// A stop request while a task is being prepared for thousands of hosts
/// (each host's variables rendered) is honoured there: the hosts not yet
/// prepared do not start, and say so, instead of the stop waiting for the
/// whole inventory to be prepared and run.
#[test]
fn a_stop_while_a_task_is_prepared_for_many_hosts_starts_no_more_of_them() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("inventory.ini"),
        "[big]\nh[0:9999] ansible_connection=local\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("play.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=hi\n",
    )
    .unwrap();
    let mut child = Command::new(BATON)
        .current_dir(dir.path())
        .args(["run", "play.yml", "-i", "inventory.ini", "-f", "10000"])
        .args(["--output", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut events: Vec<Value> = Vec::new();
    for line in lines.by_ref() {
        let event: Value = serde_json::from_str(&line.unwrap()).unwrap();
        let is_start = event["event"] == "play_start";
        events.push(event);
        if is_start {
            break;
        }
    }
    // Preparing 10,000 hosts takes about a second in a debug build.
    std::thread::sleep(std::time::Duration::from_millis(150));
    signal(&child, libc::SIGTERM);
    for line in lines {
        events.push(serde_json::from_str(&line.unwrap()).unwrap());
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    let results: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "host_result")
        .collect();
    let unprepared = results
        .iter()
        .filter(|e| e.to_string().contains("before it was prepared"))
        .count();
    assert!(
        unprepared > 0,
        "no host was left unprepared: {} results",
        results.len()
    );
    let ran = results.iter().filter(|e| e["status"] == "ok").count();
    assert!(ran < 10_000, "every host ran the task after the stop");
    assert!(
        events.iter().any(|e| e["event"] == "stopped"),
        "no stop report"
    );
}

/// The cut task's reported time, `ms`: at least the 300 ms between the two
/// signals (the sleep ran before the first), and not absurdly more (it was
/// once 0 ms, as if the task had not run).
fn ran_as_long_as_it_ran(ms: f64, all: &str) {
    assert!((300.0..30_000.0).contains(&ms), "cut after {ms} ms: {all}");
}

/// A double Ctrl-C ("quit at once") while the only task runs: one stop
/// report naming the quit and the cut task, and the cut task is neither ok
/// nor failed, the same in human output, JSON and JUnit (it was once
/// counted `failed=1`, after a RUN STOPPED block saying every host failed,
/// followed by a second block for the quit), and timed as long as it ran.
#[test]
fn a_double_ctrl_c_reports_the_cut_task_once_and_as_cut() {
    for json in [false, true] {
        let (dir, marker, child) = sleeping_run("", json);
        signal(&child, libc::SIGINT);
        std::thread::sleep(std::time::Duration::from_millis(300));
        signal(&child, libc::SIGINT);
        let out = wait_bounded(child, 30);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let all = format!("{stdout}\n{stderr}");
        assert_eq!(out.status.code(), Some(130), "{all}");
        let reason = "interrupted by the operator (Ctrl-C), then quit at once: the running task was killed (`sleeper` on node)";
        assert!(!all.contains("failed or was unreachable"), "{all}");
        if json {
            let events: Vec<Value> = stdout
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
            assert_eq!(
                kinds.iter().filter(|k| **k == "stopped").count(),
                1,
                "{all}"
            );
            assert!(!kinds.contains(&"host_result"), "{all}");
            let cut = events
                .iter()
                .find(|e| e["event"] == "cut")
                .expect("a cut event");
            assert_eq!(cut["host"], "node");
            assert_eq!(cut["task"]["name"], "sleeper");
            let ms = cut["elapsed_ms"]
                .as_f64()
                .expect("the cut task's elapsed_ms");
            ran_as_long_as_it_ran(ms, &all);
            assert!(cut["started_at"].as_f64().is_some_and(|t| t > 0.0), "{all}");
            let stopped = events.iter().find(|e| e["event"] == "stopped").unwrap();
            assert!(
                stopped["reason"].as_str().unwrap().contains(reason),
                "{all}"
            );
            let recap = events
                .iter()
                .find(|e| e["event"] == "recap")
                .expect("recap");
            assert_eq!(recap["hosts"]["node"]["failed"], 0, "{all}");
            assert_eq!(recap["hosts"]["node"]["ok"], 0, "{all}");
        } else {
            assert_eq!(stdout.matches("RUN STOPPED").count(), 1, "{all}");
            assert!(stdout.contains(reason), "{all}");
            assert!(stdout.contains("node: cut"), "{all}");
            // The TASK line's duration: `(N ms)` or `(N.N s)`.
            let line = stdout
                .lines()
                .find(|l| l.starts_with("TASK [sleeper]"))
                .expect("the TASK line");
            let shown = line
                .rsplit_once('(')
                .and_then(|(_, d)| d.strip_suffix(')'))
                .expect("a duration");
            let ms = match shown.split_once(' ') {
                Some((n, "ms")) => n.parse::<f64>().unwrap(),
                Some((n, "s")) => n.parse::<f64>().unwrap() * 1000.0,
                _ => panic!("duration {shown}: {all}"),
            };
            ran_as_long_as_it_ran(ms, &all);
            assert!(!stdout.contains("FAILED"), "{all}");
            assert!(
                stdout.contains("node : ok=0 changed=0 unreachable=0 failed=0"),
                "{all}"
            );
        }
        let junit = std::fs::read_to_string(dir.path().join("junit.xml")).expect("junit");
        assert_eq!(junit.matches(r#"type="cut""#).count(), 1, "{junit}");
        assert!(junit.contains(r#"failures="0""#), "{junit}");
        assert!(junit.contains("sleeper [node]"), "{junit}");
        assert!(junit.contains(reason), "{junit}");
        let case = junit
            .split("<testcase ")
            .find(|c| c.contains("sleeper [node]"))
            .unwrap();
        let secs: f64 = case
            .split("time=\"")
            .nth(1)
            .and_then(|t| t.split('"').next())
            .unwrap_or_else(|| panic!("no time on the cut case: {junit}"))
            .parse()
            .unwrap();
        ran_as_long_as_it_ran(secs * 1000.0, &junit);
        assert!(pgrep(&marker).is_empty(), "a sleep was left");
    }
}

/// A command line of 14 MB of short words (under the 16 MiB value cap) was
/// split into 7 million arguments and aborted at 1.6 GB; no host could run
/// it (execve takes at most 6 MiB). It is refused before it is split, in
/// little memory; `ignore_errors` applies as to any failed task.
#[test]
fn a_command_longer_than_any_execve_takes_is_refused_before_it_is_split() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("inventory.yml"), INVENTORY).unwrap();
    std::fs::write(
        dir.path().join("play.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: 'echo {{ \"a \" * 3500000 }}'\n      ignore_errors: true\n    - command: touch went-on\n",
    )
    .unwrap();
    let out = start(dir.path(), &dir.path().join("inventory.yml"), &[])
        .wait_with_output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("the command is 6.7 MiB"), "{stdout}");
    assert!(dir.path().join("went-on").exists(), "{stdout}");
}

/// An `environment` value too big for execve(2) gave only "non-zero return
/// code, rc 126". One `NAME=value` over 128 KiB is refused before anything
/// runs, naming the variable and its size; a total over the host's limit
/// (about 2 MiB), which only the host knows, is explained after the fact.
#[test]
fn an_environment_too_big_for_execve_is_named_with_its_size() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("inventory.yml"), INVENTORY).unwrap();
    std::fs::write(
        dir.path().join("play.yml"),
        r#"- hosts: all
  gather_facts: false
  tasks:
    - name: one too big
      command: touch ran
      environment:
        SMALL: a
        BIG_ONE: "{{ 'x' * 131100 }}"
      ignore_errors: true
    - name: together too big
      command: "true"
      environment: "{{ dict(range(20) | map('string') | map('regex_replace', '^', 'V') | zip(['x' * 120000] * 20)) }}"
"#,
    )
    .unwrap();
    let out = start(dir.path(), &dir.path().join("inventory.yml"), &[])
        .wait_with_output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let all = format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        stdout.contains("play.yml:7:9: `environment` variable `BIG_ONE` is 131100 bytes long (131109 bytes as `BIG_ONE=value`); Linux refuses"),
        "{all}"
    );
    assert!(stdout.contains("over 128 KiB"), "{all}");
    assert!(stdout.contains("nothing was run"), "{all}");
    assert!(!dir.path().join("ran").exists(), "{all}");
    assert!(
        stdout.contains(
            "E2BIG, \"Argument list too long\": the task's `environment` adds 2400090 bytes"
        ),
        "{all}"
    );
    assert!(stdout.contains("about 2 MiB"), "{all}");
}

/// A quit at once says what finished before it, in its lines and in the
/// stop report alike (trial t15): a host that finished the running task
/// (others still ran it) counts it as a change, and a loop's items that
/// changed a host before the cut are results and changes, while the item
/// the quit cut is neither a failure nor a change.
#[test]
fn a_quit_reports_what_finished_before_it_alike_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = local_inventory(dir.path(), &["n1", "n2", "n3"]);
    let marker = marker();
    std::fs::write(
        dir.path().join("play.yml"),
        format!(
            r#"- hosts: all
  gather_facts: false
  tasks:
    - name: change A
      command: "true"
    - name: mixed
      shell: "{{% if inventory_hostname == 'n1' %}}true{{% else %}}touch {d}/started-{{{{ item }}}}-{{{{ inventory_hostname }}}}; [ {{{{ item }}}} -lt 3 ] || sleep 300 {marker}{{% endif %}}"
      loop: [1, 2, 3]
"#,
            d = dir.path().display()
        ),
    )
    .unwrap();
    let child = start_with(dir.path(), &inventory, &["--output", "json"], &[]);
    wait_for("the third items", || {
        ["n2", "n3"]
            .iter()
            .all(|h| dir.path().join(format!("started-3-{h}")).exists())
    });
    std::thread::sleep(std::time::Duration::from_millis(200));
    signal(&child, libc::SIGQUIT);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(131), "{stderr}");
    // n1 finished `mixed` before the quit: a change, in the quit's lines.
    assert!(
        stderr.contains("baton: changed on n1 before the quit: change A; mixed"),
        "{stderr}"
    );
    assert!(
        says_of_hosts(
            &stderr,
            "cut: task `mixed` on ",
            &["n2", "n3"],
            " at item 3 of 3 (3)"
        ),
        "{stderr}"
    );
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let results = |host: &str| -> Vec<(String, String)> {
        events
            .iter()
            .filter(|e| {
                e["event"] == "host_result" && e["host"] == host && e["task"]["name"] == "mixed"
            })
            .map(|e| (e["item"].to_string(), e["outcome"].to_string()))
            .collect()
    };
    for host in ["n2", "n3"] {
        // Items 1 and 2 are results; the cut item 3 is no failure.
        assert_eq!(
            results(host),
            [
                ("\"1\"".to_string(), "\"changed\"".to_string()),
                ("\"2\"".to_string(), "\"changed\"".to_string())
            ],
            "{stdout}"
        );
    }
    let stopped = events
        .iter()
        .find(|e| e["event"] == "run_stopped" || e["event"] == "stop_report")
        .map(|e| e.to_string())
        .unwrap_or_else(|| stdout.to_string());
    assert!(
        says_of_hosts(
            &stopped,
            "Changed on ",
            &["n2", "n3"],
            " before the stop: change A; mixed (items 1, 2, before the quit cut it)."
        ) || stopped.contains("change A; mixed (items 1, 2, before the quit cut it)"),
        "{stopped}"
    );
    assert!(pgrep(&marker).is_empty());
}

/// A stop inside a `block` (one with `always`) under `serial` still names
/// the hosts of the batches that never started, in the stop report and
/// the recap, as a stop between two tasks does (trial t15: they were
/// missing from both).
#[test]
fn a_stop_inside_a_block_names_the_hosts_of_later_batches() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = ["n1", "n2", "n3", "n4", "n5", "n6"];
    let inventory = local_inventory(dir.path(), &hosts);
    std::fs::write(
        dir.path().join("play.yml"),
        format!(
            "- hosts: all\n  gather_facts: false\n  serial: 3\n  tasks:\n    - block:\n        - name: slow\n          shell: touch {d}/started-{{{{ inventory_hostname }}}}; sleep 2\n      always:\n        - name: tidy\n          debug: msg=tidy\n",
            d = dir.path().display()
        ),
    )
    .unwrap();
    let child = start(dir.path(), &inventory, &[]);
    wait_for("the first batch's task", || {
        ["n1", "n2", "n3"]
            .iter()
            .all(|h| dir.path().join(format!("started-{h}")).exists())
    });
    signal(&child, libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{stdout}");
    assert!(
        stdout.contains("Changed on n1, n2, n3 before the stop: slow.")
            && stdout.contains("Nothing had been changed on n4, n5, n6."),
        "{stdout}"
    );
    // Under serial, whose run of the task did not start.
    assert!(
        stdout.contains("`tidy` (play.yml:9:11) and everything after it did not start on n1, n2, n3 (this batch)"),
        "{stdout}"
    );
    let recap = stdout.split("PLAY RECAP").nth(1).unwrap_or_default();
    for host in hosts {
        assert!(recap.contains(&format!("{host} : ok=")), "{stdout}");
    }
}

/// A stop request's report says hosts it left alike on one line: the
/// loop stopped at the same item, the task not started under `--forks`,
/// and the task block's hosts without a result (trial t15: one line each).
#[test]
fn a_stop_says_hosts_left_alike_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = local_inventory(dir.path(), &["n1", "n2", "n3", "n4"]);
    std::fs::write(
        dir.path().join("play.yml"),
        format!(
            "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: slow loop\n      shell: touch {d}/s-{{{{ inventory_hostname }}}}-{{{{ item }}}}; sleep 1\n      loop: [1, 2]\n",
            d = dir.path().display()
        ),
    )
    .unwrap();
    let child = start_with(dir.path(), &inventory, &["-f", "2"], &[]);
    wait_for("the first two hosts' first items", || {
        ["n1", "n2"]
            .iter()
            .all(|h| dir.path().join(format!("s-{h}-1")).exists())
    });
    signal(&child, libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{stdout}");
    assert!(
        stdout.contains("`slow loop` on n1, n2 stopped before item 2 of 2 (interrupted by the operator (Ctrl-C)): item 2 did not run"),
        "{stdout}"
    );
    assert!(
        stdout.contains("`slow loop` did not start on n3, n4 (interrupted by the operator (Ctrl-C) while it waited for its turn under --forks)"),
        "{stdout}"
    );
}
