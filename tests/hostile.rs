//! Hostile input: the corpus under tests/hostile/cases/ (written by
//! tests/hostile/generate.py) and a few command-line cases. Every input runs
//! in a child process under a memory limit and a timeout, and must end in
//! exit 0 or 4: never a panic (101), a signal (stack overflow, abort on
//! allocation failure), a hang, or an exit-4 error that does not name the
//! file and line. The figures (count, worst peak memory, share with file and
//! line) are printed; run with `--nocapture` (nextest prints them on failure,
//! or with `--no-capture`).

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Address-space limit of each child: far above what a sane input needs,
/// far below what exponential alias expansion would take.
const MEMORY_LIMIT: u64 = 2 << 30;
const TIMEOUT: Duration = Duration::from_secs(30);

fn baton() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_baton"))
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile")
}

/// How a run ended.
#[derive(Debug)]
struct Ended {
    code: Option<i32>,
    signal: Option<i32>,
    timed_out: bool,
    /// Peak resident memory of the child, KiB (`ru_maxrss`).
    peak_kib: i64,
    stdout: String,
    stderr: String,
}

/// Run `cmd` under the memory limit and the timeout; wait with `wait4` to
/// read the child's own peak memory.
fn run_limited(mut cmd: Command) -> Ended {
    let dir = tempfile::tempdir().expect("temp dir");
    let out_path = dir.path().join("out");
    let out = std::fs::File::create(&out_path).expect("out file");
    let err_path = dir.path().join("err");
    let err = std::fs::File::create(&err_path).expect("err file");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .env("NO_COLOR", "1")
        .env("COLUMNS", "200");
    // SAFETY: setrlimit is async-signal-safe; nothing else runs in the child.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: MEMORY_LIMIT,
                rlim_max: MEMORY_LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().expect("baton starts");
    let pid = child.id() as libc::pid_t;
    let started = Instant::now();
    let mut status: libc::c_int = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut timed_out = false;
    loop {
        // SAFETY: pid is our child; status and usage are valid pointers.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        assert!(r == 0, "wait4 failed: {}", std::io::Error::last_os_error());
        if started.elapsed() > TIMEOUT {
            timed_out = true;
            // SAFETY: killing our own child, then reaping it.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::wait4(pid, &mut status, 0, &mut usage);
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    std::mem::forget(child); // already reaped by wait4
    let (code, signal) = if libc::WIFEXITED(status) {
        (Some(libc::WEXITSTATUS(status)), None)
    } else if libc::WIFSIGNALED(status) {
        (None, Some(libc::WTERMSIG(status)))
    } else {
        (None, None)
    };
    Ended {
        code,
        signal,
        timed_out,
        peak_kib: usage.ru_maxrss,
        stdout: String::from_utf8_lossy(&std::fs::read(&out_path).unwrap_or_default()).into_owned(),
        stderr: String::from_utf8_lossy(&std::fs::read(&err_path).unwrap_or_default()).into_owned(),
    }
}

/// Whether the text names a place as `FILE.EXT:LINE`.
fn names_file_and_line(text: &str) -> bool {
    [".yml:", ".yaml:", ".ini:", ".j2:"].iter().any(|ext| {
        text.match_indices(ext).any(|(i, m)| {
            text[i + m.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        })
    })
}

/// The command for one corpus entry (see generate.py for the suffixes).
fn command_for(case: &Path) -> Command {
    let name = case
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let mut cmd = Command::new(baton());
    cmd.current_dir(case.parent().expect("case has a parent"));
    if case.is_dir() {
        cmd.current_dir(case)
            .args(["run", "--syntax-check", "main.yml"]);
    } else if name.ends_with(".ev.yml") {
        cmd.args(["run", "--syntax-check", "-e"])
            .arg(format!("@{name}"))
            .arg(corpus_dir().join("ok.yml"));
    } else if name.ends_with(".run.yml") {
        cmd.args(["run", "-i", "localhost,", &name]);
    } else if name.contains(".inv.") {
        cmd.args(["inventory", "--list", "-i", &name]);
    } else {
        cmd.args(["run", "--syntax-check", &name]);
    }
    cmd
}

/// Characters that act on a terminal, as the `ctl-*` cases carry them: ESC,
/// BEL, an 8-bit CSI, a right-to-left override.
const TERMINAL_CONTROLS: [char; 4] = ['\x1b', '\x07', '\u{9b}', '\u{202e}'];

/// Cases whose refusal has no line to name: a playbook path that is a
/// directory.
const NO_LINE_TO_NAME: &[&str] = &["playbook-is-dir"];

#[test]
fn every_hostile_input_ends_cleanly() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus_dir().join("cases"))
        .expect("tests/hostile/cases exists (python3 tests/hostile/generate.py)")
        .map(|e| e.expect("dir entry").path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 150, "only {} hostile cases", cases.len());
    let mut problems = Vec::new();
    let (mut panics, mut signals, mut hangs, mut refused, mut with_place) = (0, 0, 0, 0, 0);
    let mut accepted = 0;
    let mut worst = (0i64, String::new());
    for case in &cases {
        let name = case
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let ended = run_limited(command_for(case));
        if ended.peak_kib > worst.0 {
            worst = (ended.peak_kib, name.clone());
        }
        let first_line = ended.stderr.lines().find(|l| !l.trim().is_empty());
        let what = first_line.unwrap_or_default().trim().to_string();
        // Control characters from the input are shown escaped, never raw:
        // on stderr (errors, warnings) and in the human report (a listing
        // of `inventory --list` is JSON, serde's own).
        if ended.stderr.contains(TERMINAL_CONTROLS) {
            problems.push(format!(
                "{name}: a raw control character on stderr: {what:?}"
            ));
        }
        if !name.contains(".inv.") && ended.stdout.contains(TERMINAL_CONTROLS) {
            problems.push(format!("{name}: a raw control character on stdout"));
        }
        if ended.timed_out {
            hangs += 1;
            problems.push(format!("{name}: no answer within {TIMEOUT:?}"));
        } else if let Some(sig) = ended.signal {
            signals += 1;
            problems.push(format!("{name}: killed by signal {sig}: {what}"));
        } else if ended.code == Some(101) || ended.stderr.contains("panicked") {
            panics += 1;
            problems.push(format!("{name}: panicked: {what}"));
        } else if ended.code == Some(4) {
            refused += 1;
            if names_file_and_line(&ended.stderr) {
                with_place += 1;
            } else if NO_LINE_TO_NAME.contains(&name.as_str()) {
                // Nothing inside to point at: the error names the path.
                assert!(
                    ended.stderr.contains("main.yml"),
                    "{name}: {}",
                    ended.stderr
                );
            } else {
                problems.push(format!("{name}: exit 4 without FILE:LINE: {what}"));
            }
        } else if ended.code == Some(0) {
            accepted += 1;
        } else {
            problems.push(format!("{name}: exit {:?}: {what}", ended.code));
        }
    }
    let mut report = std::io::stderr();
    let _ = writeln!(
        report,
        "hostile corpus: {} cases, {refused} refused (exit 4), {} accepted; panics {panics}, signals/aborts {signals}, hangs {hangs}; \
         worst peak memory {:.1} MiB ({}); exit-4 errors naming FILE:LINE: {with_place}/{refused} ({:.1}%; the rest name a path with no line to point at)",
        cases.len(),
        accepted,
        worst.0 as f64 / 1024.0,
        worst.1,
        if refused == 0 { 100.0 } else { 100.0 * with_place as f64 / refused as f64 },
    );
    assert!(
        problems.is_empty(),
        "{} hostile case(s) wrong:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(&p, text).expect("write");
    p
}

const OK_PLAY: &str = "- hosts: localhost\n  gather_facts: false\n  tasks: []\n";

fn baton_in(dir: &Path, args: &[&str]) -> Ended {
    let mut cmd = Command::new(baton());
    cmd.current_dir(dir).args(args);
    run_limited(cmd)
}

#[test]
fn nine_thousand_nested_block_mappings_hit_the_depth_limit() {
    let dir = tempfile::tempdir().expect("tmp");
    // Block mappings nested 9000 deep in linear size: each `? ` opens a
    // mapping whose key is the next one.
    let text = format!("{}a\n", "? ".repeat(9000));
    let deep = write(dir.path(), "deep.yml", &text);
    for args in [
        vec!["run", "--syntax-check", "deep.yml"],
        vec!["inventory", "--list", "-i", "deep.yml"],
    ] {
        let ended = baton_in(dir.path(), &args);
        assert_eq!(ended.code, Some(4), "{args:?}: {}", ended.stderr);
        assert!(
            ended.stderr.contains("recursion limit exceeded"),
            "{}",
            ended.stderr
        );
        assert!(ended.stderr.contains("deep.yml:"), "{}", ended.stderr);
    }
    write(dir.path(), "ok.yml", OK_PLAY);
    let at = format!("@{}", deep.display());
    let ended = baton_in(dir.path(), &["run", "--syntax-check", "-e", &at, "ok.yml"]);
    assert_eq!(ended.code, Some(4), "{}", ended.stderr);
    assert!(ended.stderr.contains("recursion limit exceeded"));
}

#[test]
fn billion_laughs_is_refused_naming_the_anchor_and_modest_reuse_loads() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut text = String::from("a: &a [x,x,x,x,x,x,x,x,x]\n");
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
    for w in names.windows(2) {
        let refs = vec![format!("*{}", w[0]); 9].join(",");
        text.push_str(&format!("{}: &{} [{refs}]\n", w[1], w[1]));
    }
    write(dir.path(), "laughs.yml", &text);
    write(dir.path(), "ok.yml", OK_PLAY);
    let ended = baton_in(
        dir.path(),
        &["run", "--syntax-check", "-e", "@laughs.yml", "ok.yml"],
    );
    assert_eq!(ended.code, Some(4), "{}", ended.stderr);
    assert!(ended.stderr.contains("alias `*"), "{}", ended.stderr);
    assert!(ended.stderr.contains("laughs.yml:"), "{}", ended.stderr);
    assert!(ended.peak_kib < 200 * 1024, "peak {} KiB", ended.peak_kib);
    write(
        dir.path(),
        "reuse.yml",
        "base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\nlist: [*b, *b, *b, *b]\n",
    );
    let ended = baton_in(
        dir.path(),
        &["run", "--syntax-check", "-e", "@reuse.yml", "ok.yml"],
    );
    assert_eq!(ended.code, Some(0), "{}", ended.stderr);
}

#[test]
fn forks_out_of_range_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "ok.yml", OK_PLAY);
    for (forks, says) in [
        ("2305843009213693952", "more than the 10000"),
        ("0", "at least 1"),
        ("-1", "must not be negative"),
        ("1.5", "whole number"),
    ] {
        let flag = format!("--forks={forks}");
        let ended = baton_in(dir.path(), &["run", &flag, "ok.yml"]);
        assert_eq!(ended.code, Some(4), "-f {forks}: {}", ended.stderr);
        assert!(ended.stderr.contains(says), "-f {forks}: {}", ended.stderr);
    }
}

#[test]
fn limit_matching_no_host_is_refused_and_limit_file_is_read() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "ok.yml", OK_PLAY);
    write(
        dir.path(),
        "inv.ini",
        "[web]\na ansible_connection=local\nb ansible_connection=local\n",
    );
    let ended = baton_in(
        dir.path(),
        &["run", "-i", "inv.ini", "-l", "nosuch", "ok.yml"],
    );
    assert_eq!(ended.code, Some(4), "{}", ended.stderr);
    assert!(ended.stderr.contains("matches no host"), "{}", ended.stderr);
    write(dir.path(), "limit.txt", "# the hosts\na\n\n");
    let ended = baton_in(
        dir.path(),
        &[
            "run",
            "-i",
            "inv.ini",
            "-l",
            "@limit.txt",
            "--list-hosts",
            "ok.yml",
        ],
    );
    assert_eq!(ended.code, Some(0), "{}", ended.stderr);
    write(dir.path(), "none.txt", "zzz\n");
    let ended = baton_in(
        dir.path(),
        &["run", "-i", "inv.ini", "-l", "@none.txt", "ok.yml"],
    );
    assert_eq!(ended.code, Some(4), "{}", ended.stderr);
}

#[test]
fn unwritable_junit_path_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().expect("tmp");
    let marker = dir.path().join("ran");
    write(
        dir.path(),
        "pb.yml",
        &format!(
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: touch {}\n",
            marker.display()
        ),
    );
    let ended = baton_in(
        dir.path(),
        &["run", "--junit", "/nonexistent-dir/x/report.xml", "pb.yml"],
    );
    assert_eq!(ended.code, Some(4), "{}", ended.stderr);
    assert!(ended.stderr.contains("JUnit"), "{}", ended.stderr);
    assert!(!marker.exists(), "the task ran before the refusal");
}

#[test]
fn missing_vars_file_is_found_before_earlier_plays_run() {
    let dir = tempfile::tempdir().expect("tmp");
    let marker = dir.path().join("ran");
    write(
        dir.path(),
        "pb.yml",
        &format!(
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: touch {}\n\
             - hosts: localhost\n  gather_facts: false\n  vars_files: [nowhere.yml]\n  tasks: []\n",
            marker.display()
        ),
    );
    let ended = baton_in(dir.path(), &["run", "--syntax-check", "pb.yml"]);
    assert_eq!(ended.code, Some(4), "{}", ended.stderr);
    assert!(ended.stderr.contains("pb.yml:7"), "{}", ended.stderr);
    let ended = baton_in(dir.path(), &["run", "pb.yml"]);
    assert_eq!(ended.code, Some(4), "{}", ended.stderr);
    assert!(!marker.exists(), "the first play ran before the refusal");
}

#[test]
fn literal_bad_environment_name_is_found_at_load_and_runtime_one_honours_ignore_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    write(
        dir.path(),
        "bad.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: 'true'\n      environment: {'A-B': x}\n",
    );
    let ended = baton_in(dir.path(), &["run", "--syntax-check", "bad.yml"]);
    assert_eq!(ended.code, Some(4), "{}", ended.stderr);
    assert!(ended.stderr.contains("bad.yml:5"), "{}", ended.stderr);
    write(
        dir.path(),
        "late.yml",
        "- hosts: localhost\n  gather_facts: false\n  vars:\n    n: 'A-B'\n  tasks:\n\
         \x20   - command: 'true'\n      environment: {'{{ n }}': x}\n      ignore_errors: true\n\
         \x20   - debug: msg=after\n",
    );
    let ended = baton_in(dir.path(), &["run", "late.yml"]);
    assert_eq!(ended.code, Some(0), "{}", ended.stderr);
}

#[test]
fn serial_zero_is_one_batch() {
    let dir = tempfile::tempdir().expect("tmp");
    write(
        dir.path(),
        "pb.yml",
        "- hosts: all\n  gather_facts: false\n  serial: 0\n  tasks:\n    - debug: msg=x\n",
    );
    write(
        dir.path(),
        "inv.ini",
        "a ansible_connection=local\nb ansible_connection=local\n",
    );
    let ended = baton_in(dir.path(), &["run", "-i", "inv.ini", "pb.yml"]);
    assert_eq!(ended.code, Some(0), "{}", ended.stderr);
}

#[test]
fn playbook_directory_and_non_utf8_are_named() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir(dir.path().join("adir")).expect("mkdir");
    let ended = baton_in(dir.path(), &["run", "--syntax-check", "adir"]);
    assert_eq!(ended.code, Some(4), "{}", ended.stderr);
    assert!(ended.stderr.contains("is a directory"), "{}", ended.stderr);
    std::fs::write(
        dir.path().join("l1.yml"),
        b"- hosts: localhost\n  tasks:\n    - debug: msg=caf\xe9\n",
    )
    .expect("write");
    let ended = baton_in(dir.path(), &["run", "--syntax-check", "l1.yml"]);
    assert_eq!(ended.code, Some(4), "{}", ended.stderr);
    assert!(ended.stderr.contains("byte offset 48"), "{}", ended.stderr);
    assert!(ended.stderr.contains("l1.yml:3"), "{}", ended.stderr);
}

fn play_with(task: &str) -> String {
    format!("- hosts: localhost\n  gather_facts: false\n  tasks:\n    - {task}\n")
}

#[test]
fn a_template_looking_itself_up_is_refused_not_a_stack_overflow() {
    let dir = tempfile::tempdir().expect("tmp");
    write(
        dir.path(),
        "templates/x.j2",
        "{{ lookup('template', 'x.j2') }}\n",
    );
    write(
        dir.path(),
        "pb.yml",
        &play_with("debug: msg=\"{{ lookup('template', 'x.j2') }}\""),
    );
    let ended = baton_in(dir.path(), &["run", "pb.yml"]);
    assert_eq!(ended.signal, None, "{}", ended.stderr);
    assert_eq!(ended.code, Some(4), "{}", ended.stderr);
    assert!(
        ended.stderr.contains("templates/x.j2 -> templates/") && ended.stderr.contains("pb.yml:4"),
        "{}",
        ended.stderr
    );
}

/// `[[[…x…]]]`, `levels` brackets deep around `inner` (the template parser
/// refuses more than about 74 in one expression).
fn wrapped(inner: &str, levels: usize) -> String {
    format!("{}{inner}{}", "[".repeat(levels), "]".repeat(levels))
}

#[test]
fn a_chain_of_variables_wrapping_each_other_is_refused_past_the_depth_bound() {
    // 160 variables, each 50 lists around the one before: 8,000 deep, which
    // overflowed the stack converting, printing or dropping the value.
    let dir = tempfile::tempdir().expect("tmp");
    let mut text = String::from("- hosts: localhost\n  gather_facts: false\n  vars:\n    v0: 1\n");
    for i in 1..160 {
        text.push_str(&format!(
            "    v{i}: \"{{{{ {} }}}}\"\n",
            wrapped(&format!("v{}", i - 1), 50)
        ));
    }
    text.push_str("  tasks:\n    - debug: msg=\"{{ v159 | length }}\"\n");
    write(dir.path(), "pb.yml", &text);
    let ended = baton_in(dir.path(), &["run", "pb.yml"]);
    assert_eq!(ended.signal, None, "{}", ended.stderr);
    assert_eq!(ended.code, Some(4), "{}", ended.stderr);
    assert!(
        ended.stderr.contains("nested more than 256 deep") && ended.stderr.contains("pb.yml:10:"),
        "{}",
        ended.stderr
    );
}

#[test]
fn set_fact_wrapping_a_fact_again_and_again_is_refused_past_the_depth_bound() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut text = String::from(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - set_fact: {x: 1}\n",
    );
    for _ in 0..160 {
        text.push_str(&format!(
            "    - set_fact:\n        x: \"{{{{ {} }}}}\"\n",
            wrapped("x", 50)
        ));
    }
    write(dir.path(), "pb.yml", &text);
    let ended = baton_in(dir.path(), &["run", "pb.yml"]);
    assert_eq!(ended.signal, None, "{}", ended.stderr);
    assert_eq!(ended.code, Some(4), "{}", ended.stderr);
    // The sixth wrap passes 256: the task on lines 15-16.
    assert!(
        ended.stderr.contains("nested more than 256 deep") && ended.stderr.contains("pb.yml:16:"),
        "{}",
        ended.stderr
    );
}

#[test]
fn templated_nan_and_infinity_print_as_python_not_null() {
    let dir = tempfile::tempdir().expect("tmp");
    write(
        dir.path(),
        "pb.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n\
         \x20   - debug: msg=\"{{ 'nan' | float }}\"\n\
         \x20   - debug: msg=\"x={{ 'nan' | float }} {{ 'inf' | float }} {{ ['-inf' | float] }}\"\n",
    );
    let out = Command::new(baton())
        .current_dir(dir.path())
        .args(["run", "pb.yml", "--output", "json"])
        .output()
        .expect("baton runs");
    assert_eq!(out.status.code(), Some(0));
    let msgs: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["event"] == "host_result")
        .map(|e| e["result"]["data"]["msg"].clone())
        .collect();
    assert_eq!(
        msgs,
        vec![
            serde_json::json!("nan"),
            serde_json::json!("x=nan inf [-inf]")
        ]
    );
}

/// A directory with `main.yml` and a chain `n` deep of `kind`: task files
/// (`import_tasks`/`include_tasks`), playbooks (`import_playbook`) or roles
/// (`dependencies`/`include_role`), each naming the next, none coming back.
fn chain(dir: &Path, kind: &str, n: usize) {
    let play = "- hosts: localhost\n  gather_facts: false\n";
    match kind {
        "import_tasks" | "include_tasks" => {
            write(
                dir,
                "main.yml",
                &format!("{play}  tasks:\n    - {kind}: t0.yml\n"),
            );
            for i in 0..n {
                write(
                    dir,
                    &format!("t{i}.yml"),
                    &format!("- {kind}: t{}.yml\n", i + 1),
                );
            }
            write(dir, &format!("t{n}.yml"), "- debug: msg=end\n");
        }
        "import_playbook" => {
            write(dir, "main.yml", "- import_playbook: p0.yml\n");
            for i in 0..n {
                write(
                    dir,
                    &format!("p{i}.yml"),
                    &format!("- import_playbook: p{}.yml\n", i + 1),
                );
            }
            write(dir, &format!("p{n}.yml"), &format!("{play}  tasks: []\n"));
        }
        "dependencies" | "include_role" => {
            write(dir, "main.yml", &format!("{play}  roles: [r0]\n"));
            for i in 0..n {
                if kind == "dependencies" {
                    write(
                        dir,
                        &format!("roles/r{i}/meta/main.yml"),
                        &format!("dependencies: [r{}]\n", i + 1),
                    );
                    write(
                        dir,
                        &format!("roles/r{i}/tasks/main.yml"),
                        "- debug: msg=x\n",
                    );
                } else {
                    write(
                        dir,
                        &format!("roles/r{i}/tasks/main.yml"),
                        &format!("- include_role: {{name: r{}}}\n", i + 1),
                    );
                }
            }
            write(
                dir,
                &format!("roles/r{n}/tasks/main.yml"),
                "- debug: msg=end\n",
            );
        }
        _ => unreachable!("{kind}"),
    }
}

#[test]
fn deep_chains_of_includes_imports_and_roles_are_refused_naming_the_chain() {
    // Each chain is deep enough to overflow the stack while loading
    // without the bound (measured: 400 task files, 1,500 playbooks or
    // role dependencies).
    for (kind, n, says, at) in [
        ("import_tasks", 600, "t0.yml -> t1.yml", "t63.yml:1"),
        ("include_tasks", 600, "t0.yml -> t1.yml", "t63.yml:1"),
        ("import_playbook", 1500, "main.yml -> p0.yml", "p62.yml:1"),
        (
            "dependencies",
            1500,
            "role `r0` -> role `r1`",
            "roles/r63/meta/main.yml:1",
        ),
        (
            "include_role",
            600,
            "role `r0` -> roles/r0/tasks/main.yml",
            "roles/r31/tasks/main.yml:1",
        ),
    ] {
        let dir = tempfile::tempdir().expect("tmp");
        chain(dir.path(), kind, n);
        let ended = baton_in(dir.path(), &["run", "--syntax-check", "main.yml"]);
        assert_eq!(ended.signal, None, "{kind}: {}", ended.stderr);
        assert_eq!(ended.code, Some(4), "{kind}: {}", ended.stderr);
        assert!(
            ended.stderr.contains("levels deep"),
            "{kind}: {}",
            ended.stderr
        );
        assert!(ended.stderr.contains(says), "{kind}: {}", ended.stderr);
        assert!(ended.stderr.contains(at), "{kind}: {}", ended.stderr);
        // Within the bound: loads.
        let dir = tempfile::tempdir().expect("tmp");
        chain(
            dir.path(),
            kind,
            if kind == "include_role" { 30 } else { 60 },
        );
        let ended = baton_in(dir.path(), &["run", "--syntax-check", "main.yml"]);
        assert_eq!(ended.code, Some(0), "{kind}: {}", ended.stderr);
    }
}

/// A directory with `main.yml` and `n` levels of `kind` in which every
/// level names the next one twice: 2^n tasks (or plays) if nothing stops it.
fn doubling(dir: &Path, kind: &str, n: usize) {
    let play = "- hosts: localhost\n  gather_facts: false\n";
    for i in 0..n {
        let next = i + 1;
        match kind {
            "import_tasks" | "include_tasks" => write(
                dir,
                &format!("t{i}.yml"),
                &format!("- {kind}: t{next}.yml\n- {kind}: t{next}.yml\n"),
            ),
            "import_playbook" => write(
                dir,
                &format!("p{i}.yml"),
                &format!("- import_playbook: p{next}.yml\n- import_playbook: p{next}.yml\n"),
            ),
            _ => write(
                dir,
                &format!("roles/r{i}/meta/main.yml"),
                &format!("allow_duplicates: true\ndependencies: [r{next}, r{next}]\n"),
            ),
        };
    }
    match kind {
        "import_tasks" | "include_tasks" => {
            write(
                dir,
                "main.yml",
                &format!("{play}  tasks:\n    - {kind}: t0.yml\n"),
            );
            write(dir, &format!("t{n}.yml"), "- debug: msg=leaf\n");
        }
        "import_playbook" => {
            write(dir, "main.yml", "- import_playbook: p0.yml\n");
            write(dir, &format!("p{n}.yml"), &format!("{play}  tasks: []\n"));
        }
        _ => {
            write(dir, "main.yml", &format!("{play}  roles: [r0]\n"));
            write(
                dir,
                &format!("roles/r{n}/meta/main.yml"),
                "allow_duplicates: true\n",
            );
            write(
                dir,
                &format!("roles/r{n}/tasks/main.yml"),
                "- debug: msg=leaf\n",
            );
        }
    }
}

#[test]
fn files_roles_and_playbooks_that_name_the_next_twice_stop_at_the_task_bound() {
    // 30 levels are 2^30 tasks: without the bound each of these ran out of
    // memory or ran for minutes (19 include_tasks levels: 1.8 GB, 37 s).
    // The bound is lowered here so a debug build meets it in a moment; the
    // default (100,000) is the same code.
    let with_bound = |dir: &Path, bound: &str| {
        let mut cmd = Command::new(baton());
        cmd.current_dir(dir)
            .args(["run", "--syntax-check", "main.yml"])
            .env("BATON_MAX_TASKS", bound);
        run_limited(cmd)
    };
    for (kind, at) in [
        ("import_tasks", "t"),
        ("include_tasks", "t"),
        ("dependencies", "roles/r"),
        ("import_playbook", "p"),
    ] {
        let dir = tempfile::tempdir().expect("tmp");
        doubling(dir.path(), kind, 30);
        let ended = with_bound(dir.path(), "3000");
        assert_eq!(ended.signal, None, "{kind}: {}", ended.stderr);
        assert_eq!(ended.code, Some(4), "{kind}: {}", ended.stderr);
        assert!(
            ended.stderr.contains("expands to more than 3000 tasks"),
            "{kind}: {}",
            ended.stderr
        );
        assert!(
            ended.stderr.contains("BATON_MAX_TASKS"),
            "{kind}: {}",
            ended.stderr
        );
        // The place: the include, role or import entry that passed the bound.
        assert!(
            ended.stderr.contains(&format!("[{at}")) && names_file_and_line(&ended.stderr),
            "{kind}: {}",
            ended.stderr
        );
        if kind != "import_playbook" {
            // The chain that led there, from the play.
            assert!(
                ended.stderr.contains("passed it: main.yml:")
                    && (ended.stderr.contains("includes t0.yml ->")
                        || ended.stderr.contains("names role `r0` ->")),
                "{kind}: {}",
                ended.stderr
            );
        }
        assert!(ended.peak_kib < 200_000, "{kind}: {} KiB", ended.peak_kib);
        // 2^9 (and the 2^10 entries that name them) is within the bound.
        let dir = tempfile::tempdir().expect("tmp");
        doubling(dir.path(), kind, 9);
        let ended = with_bound(dir.path(), "3000");
        assert_eq!(ended.code, Some(0), "{kind}: {}", ended.stderr);
    }
    // A flat list counts too: the task past the bound is named.
    let dir = tempfile::tempdir().expect("tmp");
    let tasks = "    - debug: msg=x\n".repeat(40);
    write(
        dir.path(),
        "main.yml",
        &format!("- hosts: localhost\n  gather_facts: false\n  tasks:\n{tasks}"),
    );
    let ended = with_bound(dir.path(), "30");
    assert_eq!(ended.code, Some(4), "{}", ended.stderr);
    // The play counts too: the 30th task passes 30.
    assert!(ended.stderr.contains("main.yml:33:"), "{}", ended.stderr);
    let ended = with_bound(dir.path(), "0");
    assert_eq!(ended.code, Some(4), "{}", ended.stderr);
    assert!(
        ended.stderr.contains("not a whole number of tasks from 1"),
        "{}",
        ended.stderr
    );
}

/// A loop whose results reach the 256 MiB bound (2 MB `debug` messages)
/// keeps them once: its items went to the reporter from a borrowed list, so
/// the reporter's copy and the loop's were alive together and the run
/// peaked at 551 MB; each item is now dropped once reported.
#[test]
fn a_loop_at_its_memory_bound_peaks_under_twice_the_bound() {
    let dir = tempfile::tempdir().expect("tmp");
    write(
        dir.path(),
        "main.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug: {msg: \"{{ 'x' * 2000000 }}\"}\n      loop: \"{{ range(120) | list }}\"\n",
    );
    let mut cmd = Command::new(baton());
    cmd.current_dir(dir.path())
        .args(["run", "-i", "localhost,", "-c", "local", "main.yml"]);
    let ended = run_limited(cmd);
    assert_eq!(ended.code, Some(4), "{}", ended.stderr);
    assert!(
        ended.stderr.contains("256 MiB a loop may keep"),
        "{}",
        ended.stderr
    );
    assert!(
        ended.peak_kib < 2 * (256 << 10),
        "peak {} KiB, over twice the loop's bound",
        ended.peak_kib
    );
}

#[test]
fn a_loop_whose_results_would_not_fit_in_memory_is_refused_before_its_first_item() {
    // `count=1000000` is within the bound on items, but a million kept
    // results took 1.7 GB and aborted on allocation. Refused at the loop,
    // before any item runs (no item's output appears).
    for (lines, count, says) in [
        ("", 200_000, "has 200000 items"),
        // with `register`, each item also keeps its registered mapping
        ("      register: r\n", 60_000, "with `register`"),
    ] {
        let dir = tempfile::tempdir().expect("tmp");
        write(
            dir.path(),
            "main.yml",
            &format!(
                "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug: msg=item-{{{{ item }}}}\n      with_sequence: count={count}\n{lines}"
            ),
        );
        let mut cmd = Command::new(baton());
        cmd.current_dir(dir.path())
            .args(["run", "-i", "localhost,", "-c", "local", "main.yml"]);
        let ended = run_limited(cmd);
        assert_eq!(ended.code, Some(4), "{}", ended.stderr);
        assert!(ended.stderr.contains(says), "{}", ended.stderr);
        assert!(
            ended.stderr.contains("256 MiB a loop may keep")
                && ended.stderr.contains("main.yml:5:"),
            "{}",
            ended.stderr
        );
        assert!(ended.peak_kib < 300_000, "{} KiB", ended.peak_kib);
    }
    // A loop that fits runs.
    let dir = tempfile::tempdir().expect("tmp");
    write(
        dir.path(),
        "main.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug: msg=x\n      with_sequence: count=3000\n      register: r\n",
    );
    let mut cmd = Command::new(baton());
    cmd.current_dir(dir.path())
        .args(["run", "-i", "localhost,", "-c", "local", "main.yml"]);
    let ended = run_limited(cmd);
    assert_eq!(ended.code, Some(0), "{}", ended.stderr);
}

/// A pipe whose reading end is already closed: every write to the other end
/// fails with EPIPE, as when `| head -1` has read its line and gone.
fn closed_pipe() -> std::fs::File {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe() returns.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both descriptors are ours; the reading end is closed once.
    unsafe {
        libc::close(fds[0]);
        std::fs::File::from_raw_fd(fds[1])
    }
}

#[test]
fn a_reader_that_goes_away_ends_listings_quietly_not_in_a_panic() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "pb.yml", &play_with("debug: msg=x"));
    write(dir.path(), "inv.ini", "[web]\na\nb\n");
    write(
        dir.path(),
        "bad.yml",
        &play_with("debug: msg=\"{{ nope(1) }}\""),
    );
    for args in [
        &["run", "--list-tasks", "pb.yml"][..],
        &["run", "--list-hosts", "-i", "inv.ini", "pb.yml"],
        &["run", "--syntax-check", "pb.yml"],
        &["inventory", "--list", "-i", "inv.ini"],
        &["inventory", "--graph", "-i", "inv.ini"],
        &["modules"],
    ] {
        let out = Command::new(baton())
            .current_dir(dir.path())
            .args(args)
            .stdout(Stdio::from(closed_pipe()))
            .stderr(Stdio::piped())
            .output()
            .expect("baton runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    // An error while stderr is closed too: still exit 4, not a panic (101).
    let out = Command::new(baton())
        .current_dir(dir.path())
        .args(["run", "bad.yml"])
        .stdout(Stdio::from(closed_pipe()))
        .stderr(Stdio::from(closed_pipe()))
        .output()
        .expect("baton runs");
    assert_eq!(out.status.code(), Some(4));
}

/// A run whose stdout reader went away (`baton run ... | head -2`) does not
/// stop half-way (a failover is not abandoned because a pager closed): every
/// task runs. But what it did is no longer shown, so it says so once and
/// does not exit 0 (it did, as a listing does); a failed run keeps its code.
#[test]
fn a_reader_that_goes_away_does_not_stop_a_run_but_it_does_not_exit_0() {
    let dir = tempfile::tempdir().expect("tmp");
    write(
        dir.path(),
        "pb.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug: msg=x\n    - command: touch one\n    - command: touch two\n",
    );
    write(
        dir.path(),
        "fails.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: touch three\n    - command: \"false\"\n",
    );
    for (args, code, made) in [
        (&["run", "pb.yml"][..], 1, "two"),
        (&["run", "pb.yml", "--output", "json"], 1, "two"),
        (&["run", "fails.yml"], 2, "three"),
    ] {
        let _ = std::fs::remove_file(dir.path().join(made));
        let out = Command::new(baton())
            .current_dir(dir.path())
            .args(args)
            .stdout(Stdio::from(closed_pipe()))
            .stderr(Stdio::piped())
            .output()
            .expect("baton runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(dir.path().join(made).exists(), "{args:?}: {stderr}");
        assert_eq!(
            stderr
                .matches("stdout was closed (its reader went away")
                .count(),
            1,
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// Text as miette wrapped it, joined back into one line.
fn unwrapped(text: &str) -> String {
    text.lines()
        .map(|l| l.trim_start().trim_start_matches("| "))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn load_errors_of_no_log_tasks_hide_the_source_but_name_the_place() {
    const SECRET: &str = "hunter2SECRET";
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let head = "- hosts: localhost\n  gather_facts: false\n";
    // (file, text, where the error is)
    let cases = [
        // A bad argument of a no_log task.
        ("args.yml", format!("{head}  tasks:\n    - copy: {{content: \"{SECRET}\", dest: /tmp/x, bogus: 1}}\n      no_log: true\n"), "args.yml:4:"),
        // A template that fails the load-time check.
        ("template.yml", format!("{head}  tasks:\n    - command: echo {SECRET} {{{{ nope(1) }}}}\n      no_log: true\n"), "template.yml:4:"),
        // An unknown module in a play with no_log.
        ("play.yml", format!("{head}  no_log: true\n  tasks:\n    - nosuchmodule: {{password: {SECRET}}}\n"), "play.yml:5:"),
        // Inside a no_log block.
        ("block.yml", format!("{head}  tasks:\n    - no_log: true\n      block:\n        - debug: {{msg: \"{SECRET}\", bogus: 1}}\n"), "block.yml:6:"),
        // In a role brought in by a no_log include_role: inherited across files.
        ("role.yml", format!("{head}  tasks:\n    - include_role: {{name: r}}\n      no_log: true\n"), "roles/r/tasks/main.yml:1:"),
    ];
    write(
        d,
        "roles/r/tasks/main.yml",
        &format!("- copy: {{content: \"{SECRET}\", dest: /tmp/x, bogus: 1}}\n"),
    );
    for (name, text, at) in &cases {
        write(d, name, text);
        let ended = baton_in(d, &["run", "--syntax-check", name]);
        assert_eq!(ended.code, Some(4), "{name}: {}", ended.stderr);
        assert!(
            !ended.stderr.contains(SECRET),
            "{name} leaks: {}",
            ended.stderr
        );
        assert!(
            unwrapped(&ended.stderr).contains("(source hidden: no_log)"),
            "{name}: {}",
            ended.stderr
        );
        assert!(ended.stderr.contains(at), "{name}: {}", ended.stderr);
    }
    // An argument value quoted by the message is masked too.
    write(
        d,
        "quoted.yml",
        &format!(
            "{head}  tasks:\n    - file: {{path: /tmp/x, state: {SECRET}}}\n      no_log: true\n"
        ),
    );
    let ended = baton_in(d, &["run", "--syntax-check", "quoted.yml"]);
    assert_eq!(ended.code, Some(4), "{}", ended.stderr);
    assert!(!ended.stderr.contains(SECRET), "leaks: {}", ended.stderr);
    // An error in the task after a no_log one: its own line is shown, not
    // the no_log task's lines as context.
    write(
        d,
        "after.yml",
        &format!("{head}  tasks:\n    - command: echo {SECRET}\n      no_log: true\n    - debug: msg=\"{{{{ 1 | bogusfilter }}}}\"\n"),
    );
    let ended = baton_in(d, &["run", "--syntax-check", "after.yml"]);
    assert_eq!(ended.code, Some(4), "{}", ended.stderr);
    assert!(!ended.stderr.contains(SECRET), "leaks: {}", ended.stderr);
    assert!(ended.stderr.contains("bogusfilter }}"), "{}", ended.stderr);
    assert!(!ended.stderr.contains("(source hidden"), "{}", ended.stderr);
}

#[test]
fn a_junit_report_never_overwrites_an_input() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    write(
        d,
        "pb.yml",
        "- hosts: all\n  gather_facts: false\n  vars_files: [v.yml]\n  tasks:\n    - debug: msg=x\n",
    );
    write(d, "v.yml", "x: 1\n");
    write(d, "ev.yml", "y: 2\n");
    write(d, "inv.ini", "node ansible_connection=local\n");
    write(d, "notes.txt", "keep me\n");
    let made = std::process::Command::new("mkfifo")
        .arg(d.join("fifo"))
        .status()
        .expect("mkfifo");
    assert!(made.success());
    for (junit, says) in [
        ("pb.yml", "would overwrite the playbook"),
        ("./pb.yml", "would overwrite the playbook"),
        ("inv.ini", "would overwrite the inventory"),
        ("v.yml", "read while loading"),
        ("ev.yml", "read while loading"),
        ("notes.txt", "is not a JUnit report"),
        // Never read nor written: /dev/zero has no end, a FIFO blocks.
        ("/dev/zero", "is a device"),
        ("fifo", "named pipe"),
    ] {
        let before: Vec<Vec<u8>> = ["pb.yml", "v.yml", "ev.yml", "inv.ini", "notes.txt"]
            .iter()
            .map(|f| std::fs::read(d.join(f)).expect("read"))
            .collect();
        let ended = baton_in(
            d,
            &[
                "run", "-i", "inv.ini", "-e", "@ev.yml", "--junit", junit, "pb.yml",
            ],
        );
        assert_eq!(ended.code, Some(4), "--junit {junit}: {}", ended.stderr);
        assert!(
            unwrapped(&ended.stderr).contains(says),
            "--junit {junit}: {}",
            ended.stderr
        );
        let after: Vec<Vec<u8>> = ["pb.yml", "v.yml", "ev.yml", "inv.ini", "notes.txt"]
            .iter()
            .map(|f| std::fs::read(d.join(f)).expect("read"))
            .collect();
        assert_eq!(before, after, "--junit {junit} changed an input");
    }
    // A report of its own, and the same path again on the next run.
    for _ in 0..2 {
        let ended = baton_in(
            d,
            &["run", "-i", "inv.ini", "--junit", "report.xml", "pb.yml"],
        );
        assert_eq!(ended.code, Some(0), "{}", ended.stderr);
    }
    let report = std::fs::read_to_string(d.join("report.xml")).expect("report");
    assert!(report.contains("<testsuites"), "{report}");
}

#[test]
fn escape_sequences_from_tasks_never_reach_stdout() {
    let dir = tempfile::tempdir().expect("tmp");
    write(
        dir.path(),
        "pb.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n\
         \x20   - command: printf 'a \\033[2J b \\007 c \\r d \\302\\233 e'\n      register: r\n\
         \x20   - debug: msg=\"{{ r.stdout }}\"\n\
         \x20   - shell: printf 'err \\033]0;title\\007' >&2; exit 3\n      ignore_errors: true\n",
    );
    for args in [
        &["run", "-v", "pb.yml"][..],
        &["run", "-vv", "pb.yml"],
        &[
            "adhoc",
            "localhost",
            "-m",
            "command",
            "-a",
            "printf 'x \\033[31my'",
        ],
    ] {
        let out = Command::new(baton())
            .current_dir(dir.path())
            .args(args)
            .env_remove("NO_COLOR")
            .output()
            .expect("baton runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            !stdout.contains(['\x1b', '\x07', '\r', '\u{9b}']),
            "{args:?}: raw control characters in {stdout:?}"
        );
        assert!(stdout.contains("\\x1b["), "{args:?}: {stdout}");
    }
}

/// A right-to-left override (or isolate, or mark) in a task name or a
/// message would reorder the line the operator reads ("Trojan Source"):
/// printed escaped, as Python's repr writes it, in every human line.
#[test]
fn bidi_controls_in_names_and_messages_are_printed_escaped() {
    let dir = tempfile::tempdir().expect("tmp");
    write(
        dir.path(),
        "pb.yml",
        "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n\
         \x20   - name: \"restart \\u202egnp.exe \\u2066x\\u2069\"\n\
         \x20     debug: {msg: \"ok \\u202eevil \\u200f\"}\n",
    );
    for args in [&["run", "pb.yml"][..], &["run", "-v", "pb.yml"]] {
        let out = Command::new(baton())
            .current_dir(dir.path())
            .args(args)
            .output()
            .expect("baton runs");
        assert_eq!(out.status.code(), Some(0));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            !stdout.contains(['\u{202e}', '\u{2066}', '\u{2069}', '\u{200f}']),
            "{args:?}: raw bidi characters in {stdout:?}"
        );
        assert!(
            stdout.contains("TASK [restart \\u202egnp.exe \\u2066x\\u2069]"),
            "{args:?}: {stdout}"
        );
        assert!(
            stdout.contains("ok \\u202eevil \\u200f"),
            "{args:?}: {stdout}"
        );
    }
}

/// How many batches a play with `serial: <serial>` runs over four hosts
/// (one `task_start` per batch), or the error.
fn batches_for(serial: &str) -> Result<usize, String> {
    let dir = tempfile::tempdir().expect("tmp");
    write(
        dir.path(),
        "pb.yml",
        &format!("- hosts: all\n  gather_facts: false\n  vars: {{n: 1}}\n  serial: {serial}\n  tasks:\n    - debug: msg=x\n"),
    );
    write(
        dir.path(),
        "inv.ini",
        "a ansible_connection=local\nb ansible_connection=local\nc ansible_connection=local\nd ansible_connection=local\n",
    );
    let out = Command::new(baton())
        .current_dir(dir.path())
        .args(["run", "-i", "inv.ini", "pb.yml", "--output", "json"])
        .output()
        .expect("baton runs");
    if out.status.code() != Some(0) {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("\"event\":\"task_start\""))
        .count())
}

#[test]
fn serial_takes_templates_and_percentages_as_ansible_does() {
    // Ansible's pct_to_int: a percentage rounds down, at least one host.
    assert_eq!(batches_for("\"0%\""), Ok(4));
    assert_eq!(batches_for("\"101%\""), Ok(1));
    assert_eq!(batches_for("\"50%\""), Ok(2));
    // Templated with the play's variables, when the play starts.
    assert_eq!(batches_for("\"{{ 2 }}\""), Ok(2));
    assert_eq!(batches_for("\"{{ n }}\""), Ok(4));
    assert_eq!(batches_for("[\"{{ n }}\", \"50%\"]"), Ok(3));
    let err = batches_for("\"{{ 'many' }}\"").unwrap_err();
    assert!(
        err.contains("`serial` must be a number") && err.contains("pb.yml:4:"),
        "{err}"
    );
    assert!(batches_for("\"-50%\"").unwrap_err().contains("`-50%`"));
}

#[test]
fn odd_files_and_flags_are_named_for_what_they_are() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    write(d, "ok.yml", OK_PLAY);
    // A FIFO as playbook, `-e @` file or inventory: refused at once, not a
    // read that blocks until someone writes to the pipe.
    let fifo = d.join("fifo.yml");
    let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).expect("path");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    for args in [
        &["run", "--syntax-check", "fifo.yml"][..],
        &["run", "--syntax-check", "-e", "@fifo.yml", "ok.yml"],
        &["inventory", "--list", "-i", "fifo.yml"],
    ] {
        let ended = baton_in(d, args);
        assert!(!ended.timed_out, "{args:?} blocked on the FIFO");
        assert_eq!(ended.code, Some(4), "{args:?}: {}", ended.stderr);
        assert!(
            unwrapped(&ended.stderr).contains("fifo.yml is")
                && (ended.stderr.contains("FIFO")
                    || ended.stderr.contains("neither a file nor a directory")),
            "{args:?}: {}",
            ended.stderr
        );
    }
    // A NUL byte: named with its line, not as an unbalanced quote.
    std::fs::write(
        d.join("nul.yml"),
        b"- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug: msg=\"a\x00b\"\n",
    )
    .expect("write");
    let ended = baton_in(d, &["run", "--syntax-check", "nul.yml"]);
    assert_eq!(ended.code, Some(4), "{}", ended.stderr);
    assert!(
        ended.stderr.contains("nul.yml:4: a NUL byte"),
        "{}",
        ended.stderr
    );
    // A vars_files entry that is a directory says so.
    std::fs::create_dir(d.join("vdir")).expect("mkdir");
    write(
        d,
        "vf.yml",
        "- hosts: localhost\n  gather_facts: false\n  vars_files: [vdir]\n  tasks: []\n",
    );
    let ended = baton_in(d, &["run", "--syntax-check", "vf.yml"]);
    assert_eq!(ended.code, Some(4), "{}", ended.stderr);
    assert!(
        unwrapped(&ended.stderr).contains("vdir is a directory, not a file"),
        "{}",
        ended.stderr
    );
    assert!(ended.stderr.contains("vf.yml:3"), "{}", ended.stderr);
    // --connect-timeout 0 would never connect: refused.
    for (t, says) in [
        ("0", "at least 1"),
        ("1.5", "whole number"),
        ("x", "whole number of seconds"),
    ] {
        let flag = format!("--connect-timeout={t}");
        let ended = baton_in(d, &["run", &flag, "ok.yml"]);
        assert_eq!(ended.code, Some(4), "{flag}: {}", ended.stderr);
        assert!(ended.stderr.contains(says), "{flag}: {}", ended.stderr);
    }
}

#[test]
fn a_full_disk_is_named_as_full_and_the_file_is_unchanged() {
    // SAFETY: geteuid has no preconditions.
    let is_root = unsafe { libc::geteuid() } == 0;
    let has_unshare = Command::new("unshare")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !is_root || !has_unshare {
        let _ = writeln!(
            std::io::stderr(),
            "NOTE: needs root and unshare; skipping the full-disk test"
        );
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    std::fs::create_dir(d.join("full")).expect("mkdir");
    let big = "x".repeat(40_000);
    write(
        d,
        "pb.yml",
        &format!(
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n\
             \x20   - copy: {{content: \"{big}\", dest: \"{{{{ playbook_dir }}}}/full/a.txt\"}}\n"
        ),
    );
    // A 64 KiB tmpfs in a private mount namespace (gone when the shell
    // ends), holding the original file and filled up.
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
        .arg(
            r#"mount -t tmpfs -o size=64k baton-full full || exit 99
printf original > full/a.txt
head -c 1000000 /dev/zero > full/filler 2>/dev/null
"$1" run pb.yml
echo "rc=$?"
echo "a.txt=$(cat full/a.txt)""#,
        )
        .arg("sh")
        .arg(baton())
        .current_dir(d)
        .env("NO_COLOR", "1")
        .output()
        .expect("unshare runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("rc=2"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(
            "full/a.txt: the filesystem holding it is full (no space left on the device)"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("a.txt=original"), "{stdout}");
}

/// Run a play with `vars` and one `debug` task; the run's stderr+stdout and
/// exit code.
fn debug_play(vars: &str, debug: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("tmp");
    write(
        dir.path(),
        "pb.yml",
        &format!("- hosts: localhost\n  gather_facts: false\n  vars:\n{vars}  tasks:\n    - debug: {debug}\n"),
    );
    let out = Command::new(baton())
        .current_dir(dir.path())
        .args(["run", "pb.yml"])
        .env("NO_COLOR", "1")
        .output()
        .expect("baton runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn cycles_are_named_also_through_debug_var_and_computed_vars_lookups() {
    let cyclic = "    a: \"{{ b }}\"\n    b: \"{{ a }}\"\n";
    // `debug: var=` of a variable in a cycle fails naming it (it said ok,
    // "VARIABLE IS NOT DEFINED!").
    let (code, out) = debug_play(cyclic, "var=a");
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("refers to itself: a -> b -> a"), "{out}");
    // One whose template reads an undefined name is "not defined", as
    // Ansible's debug says.
    let (code, out) = debug_play("    u: \"{{ nope }}\"\n", "var=u");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("VARIABLE IS NOT DEFINED!"), "{out}");
    // `lookup('vars', NAME)` with a name computed at run time: the named
    // variable is rendered when asked for (it was "no variable"), and a
    // cycle through it is named.
    let computed = "    x: 5\n    z: \"{{ x + 1 }}\"\n    y: \"{{ lookup('vars', 'z' ~ '') }}\"\n\
                    \x20   c: \"{{ lookup('vars', 'd' ~ '') }}\"\n    d: \"{{ lookup('vars', 'c' ~ '') }}\"\n";
    let (code, out) = debug_play(computed, "msg=\"{{ y }}\"");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("localhost: 6"), "{out}");
    let (code, out) = debug_play(computed, "msg=\"{{ lookup('vars', 'z' ~ '') }}\"");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("localhost: 6"), "{out}");
    let (code, out) = debug_play(computed, "msg=\"{{ c }}\"");
    assert_eq!(code, Some(4), "{out}");
    assert!(out.contains("refers to itself: c -> d -> c"), "{out}");
    let (code, out) = debug_play(computed, "msg=\"{{ lookup('vars', 'c' ~ '') }}\"");
    assert_eq!(code, Some(4), "{out}");
    assert!(out.contains("refers to itself: c -> d -> c"), "{out}");
}

#[test]
fn include_vars_dir_with_a_symlink_loop_ends_and_skips_linked_directories() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "vars/a.yml", "a: 1\n");
    write(dir.path(), "vars/sub/b.yml", "b: 2\n");
    write(dir.path(), "elsewhere/c.yml", "c: 3\n");
    std::os::unix::fs::symlink("..", dir.path().join("vars/sub/up")).expect("symlink");
    std::os::unix::fs::symlink(".", dir.path().join("vars/self")).expect("symlink");
    std::os::unix::fs::symlink(dir.path().join("elsewhere"), dir.path().join("vars/linked"))
        .expect("symlink");
    write(
        dir.path(),
        "pb.yml",
        &play_with(
            "include_vars: {dir: vars}\n    - debug: msg=\"{{ a }}-{{ b }}-{{ c | default('none') }}\"",
        ),
    );
    let ended = baton_in(dir.path(), &["run", "pb.yml"]);
    assert!(
        !ended.timed_out && ended.signal.is_none(),
        "{}",
        ended.stderr
    );
    assert_eq!(ended.code, Some(0), "{}", ended.stderr);
}

#[test]
fn group_vars_dir_with_a_symlink_loop_names_the_link_and_where_it_leads() {
    // Followed as Ansible follows it, `a/up -> ..` went round until the
    // path was 40 links long: "cannot read group_vars/web/a/up/a/up/...".
    let dir = tempfile::tempdir().expect("tmp");
    write(
        dir.path(),
        "hosts",
        "[web]\nlocalhost ansible_connection=local\n",
    );
    write(dir.path(), "group_vars/web/a/x.yml", "x: 1\n");
    std::os::unix::fs::symlink("..", dir.path().join("group_vars/web/a/up")).expect("symlink");
    write(dir.path(), "pb.yml", &play_with("debug: msg=\"{{ x }}\""));
    for args in [
        vec!["inventory", "--list", "-i", "hosts"],
        vec!["run", "pb.yml", "-i", "hosts"],
    ] {
        let ended = baton_in(dir.path(), &args);
        assert_eq!(ended.code, Some(4), "{args:?}: {}", ended.stderr);
        // The diagnostic wraps lines (`  | ` on each): compare without them.
        let said: String = ended
            .stderr
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '|')
            .collect();
        assert!(
            said.contains("group_vars/web/a/upisasymboliclinkto..,whichleadsbackto")
                && said.contains("group_vars/web:aloop"),
            "{args:?}: {}",
            ended.stderr
        );
        assert!(!said.contains("a/up/a/up"), "{}", ended.stderr);
    }
}

fn run_play(text: &str) -> (Ended, String) {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "pb.yml", text);
    // stdout too: a failed task is reported there (sh waits for baton, so
    // the peak memory is baton's)
    let mut cmd = Command::new("sh");
    cmd.current_dir(dir.path())
        .args(["-c", "exec \"$0\" run pb.yml 1>&2"])
        .arg(baton());
    let ended = run_limited(cmd);
    let all = ended.stderr.clone();
    (ended, all)
}

#[test]
fn products_of_many_lists_fail_the_task_naming_the_line_without_building_them() {
    for task in [
        "debug: msg=x\n      with_nested: ['{{ l }}', '{{ l }}', '{{ l }}', '{{ l }}', '{{ l }}']",
        "debug: msg=x\n      with_cartesian: ['{{ l }}', '{{ l }}', '{{ l }}', '{{ l }}', '{{ l }}']",
        "debug: msg=x\n      loop: \"{{ l | product(l, l, l, l) | list }}\"",
    ] {
        let text = format!(
            "- hosts: localhost\n  gather_facts: false\n  vars:\n    l: \"{{{{ range(100) | list }}}}\"\n  tasks:\n    - {task}\n"
        );
        let (ended, out) = run_play(&text);
        assert_eq!(ended.signal, None, "{task}: {out}");
        assert_eq!(ended.code, Some(4), "{task}: {out}");
        assert!(out.contains("1000000 combinations"), "{task}: {out}");
        assert!(out.contains("pb.yml:"), "{task}: {out}");
        assert!(ended.peak_kib < 200 * 1024, "{task}: peak {} KiB", ended.peak_kib);
    }
}

#[test]
fn huge_sequence_widths_and_json_indents_fail_naming_the_line() {
    for (task, says) in [
        (
            "debug: msg={{ item }}\n      with_sequence: start=1 end=2 format=%0999999999d",
            "more than the 4096",
        ),
        (
            "debug: msg=\"{{ [1, [2]] | to_nice_json(indent=10**9) }}\"",
            "16 MiB limit",
        ),
    ] {
        let (ended, out) = run_play(&play_with(task));
        assert_eq!(ended.signal, None, "{task}: {out}");
        assert_eq!(ended.code, Some(4), "{task}: {out}");
        assert!(
            out.contains(says) && out.contains("pb.yml:"),
            "{task}: {out}"
        );
        assert!(
            ended.peak_kib < 200 * 1024,
            "{task}: peak {} KiB",
            ended.peak_kib
        );
    }
}

#[test]
fn huge_task_output_is_cut_at_16_mib_and_devices_are_refused() {
    // 20 MB of output: the first 16 MiB kept, the rest drained and counted
    // (src/transport/local.rs tests the cut itself). Registered, stdout and
    // stdout_lines pass the 16 MiB limit on a value: the task fails saying
    // so, instead of keeping it.
    let (ended, out) = run_play(&play_with(
        "shell: yes | head -c 20000000\n      register: r",
    ));
    assert_eq!(ended.code, Some(2), "{out}");
    assert!(out.contains("over the 16 MiB limit on a value"), "{out}");
    assert!(ended.peak_kib < 1500 * 1024, "peak {} KiB", ended.peak_kib);
    for task in ["slurp: src=/dev/zero", "fetch: src=/dev/zero dest=got/"] {
        let (ended, out) = run_play(&play_with(task));
        assert_eq!(ended.code, Some(2), "{task}: {out}");
        assert!(
            out.contains("/dev/zero is a character device"),
            "{task}: {out}"
        );
    }
}

/// Issue 9 (t9, defect 10): `pause: {minutes: 43200, seconds: 1}` was
/// refused only when the task ran (exit 2, after earlier tasks). Both given
/// literally are refused at load and by `--syntax-check`, at the second,
/// with exit 4; a template that renders to `omit` leaves one, and runs.
#[test]
fn pause_with_both_durations_is_refused_at_load_and_omit_leaves_one() {
    let dir = tempfile::tempdir().expect("tmp");
    write(
        dir.path(),
        "both.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: touch ran-first\n    - pause: {minutes: 43200, seconds: 1}\n",
    );
    for args in [
        &["run", "--syntax-check", "both.yml"][..],
        &["run", "-i", "localhost,", "-c", "local", "both.yml"][..],
    ] {
        let ended = baton_in(dir.path(), args);
        assert_eq!(ended.code, Some(4), "{args:?}: {}", ended.stderr);
        assert!(
            ended
                .stderr
                .contains("`pause` takes `minutes` or `seconds`, not both"),
            "{}",
            ended.stderr
        );
        assert!(ended.stderr.contains("both.yml:5:40"), "{}", ended.stderr);
    }
    assert!(!dir.path().join("ran-first").exists(), "nothing ran");
    write(
        dir.path(),
        "omit.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - pause: {minutes: \"{{ m | default(omit) }}\", seconds: 0}\n    - debug: {msg: hi, var: null}\n",
    );
    let ended = baton_in(
        dir.path(),
        &["run", "-i", "localhost,", "-c", "local", "omit.yml"],
    );
    assert_eq!(ended.code, Some(0), "{}", ended.stderr);
}

/// Issue 9 (t9, defect 10): `-t ",,,"` ran every task (the empty names
/// were dropped, leaving no filter; ansible-playbook keeps the empty name
/// and runs only `always` tasks). A tag list naming no tag is refused,
/// exit 4, before anything runs; so is `--skip-tags " , "`.
#[test]
fn a_tag_list_naming_no_tag_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    write(
        dir.path(),
        "tg.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: touch ran\n      tags: [a]\n",
    );
    for flag in [
        &["-t", ",,,"][..],
        &["--skip-tags", " , "][..],
        &["-t", ""][..],
    ] {
        let mut args = vec!["run", "-i", "localhost,", "-c", "local", "tg.yml"];
        args.extend_from_slice(flag);
        let ended = baton_in(dir.path(), &args);
        assert_eq!(ended.code, Some(4), "{flag:?}: {}", ended.stderr);
        assert!(ended.stderr.contains("names no tag"), "{}", ended.stderr);
        assert!(!dir.path().join("ran").exists(), "{flag:?}: nothing ran");
    }
    // a real tag among empty ones is that tag
    let ended = baton_in(
        dir.path(),
        &[
            "run",
            "-i",
            "localhost,",
            "-c",
            "local",
            "tg.yml",
            "-t",
            ",a,",
        ],
    );
    assert_eq!(ended.code, Some(0), "{}", ended.stderr);
    assert!(dir.path().join("ran").exists());
}

/// `--syntax-check --list-tasks --list-hosts` printed only the check's
/// line. As ansible-playbook (a listing loads and checks everything), the
/// listings follow it.
#[test]
fn syntax_check_with_listings_does_both() {
    let dir = tempfile::tempdir().expect("tmp");
    write(
        dir.path(),
        "tg.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: the task\n      command: touch ran\n",
    );
    let out = Command::new(baton())
        .current_dir(dir.path())
        .args([
            "run",
            "-i",
            "localhost,",
            "-c",
            "local",
            "tg.yml",
            "--syntax-check",
            "--list-tasks",
            "--list-hosts",
        ])
        .env("NO_COLOR", "1")
        .output()
        .expect("baton runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("syntax OK: 1 plays, 1 tasks"), "{stdout}");
    assert!(stdout.contains("hosts (1):"), "{stdout}");
    assert!(stdout.contains("the task"), "{stdout}");
    assert!(!dir.path().join("ran").exists(), "nothing ran");
}

/// Issue 9 (t9, defect 9): a template that includes or imports itself said
/// only `error in "self.j2"`; it names the cycle now, as `extends` of
/// itself does, exit 4 at the template's line.
#[test]
fn a_template_including_itself_names_the_cycle() {
    let dir = tempfile::tempdir().expect("tmp");
    write(
        dir.path(),
        "templates/self.j2",
        "{% include \"self.j2\" %}\n",
    );
    write(
        dir.path(),
        "templates/imp.j2",
        "x\n{% import \"imp.j2\" as m %}{{ m }}\n",
    );
    write(dir.path(), "templates/a.j2", "{% include \"b.j2\" %}\n");
    write(dir.path(), "templates/b.j2", "{% include \"a.j2\" %}\n");
    for (src, cycle, line) in [
        ("self.j2", "self.j2 -> self.j2", "self.j2:1:"),
        ("imp.j2", "imp.j2 -> imp.j2", "imp.j2:2:"),
        ("a.j2", "a.j2 -> b.j2 -> a.j2", "a.j2:1:"),
    ] {
        write(
            dir.path(),
            "t.yml",
            &format!("- hosts: localhost\n  gather_facts: false\n  tasks:\n    - template: {{src: {src}, dest: out.txt}}\n"),
        );
        let ended = baton_in(
            dir.path(),
            &["run", "-i", "localhost,", "-c", "local", "t.yml"],
        );
        assert_eq!(ended.code, Some(4), "{src}: {}", ended.stderr);
        assert!(
            unwrapped(&ended.stderr).contains(&format!("it includes or imports itself: {cycle}")),
            "{src}: {}",
            ended.stderr
        );
        assert!(ended.stderr.contains(line), "{src}: {}", ended.stderr);
    }
}

/// Issue 9 (t9, defect 9): `include_vars` of a broken YAML file or one with
/// a bad variable name, under `no_log`, said only "a template or
/// condition of a `no_log` task failed". It names the kind of error and
/// the file's line now, with no source lines and no value shown.
#[test]
fn include_vars_under_no_log_names_the_error_and_hides_the_values() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "bad_yaml.yml", "db_password: \"S3CRETV1\n");
    write(
        dir.path(),
        "bad_name.yml",
        "db_password: S3CRETV2\nbad name: 1\n",
    );
    for (file, says, line) in [
        (
            "bad_yaml.yml",
            "YAML syntax error in bad_yaml.yml",
            "bad_yaml.yml:1:",
        ),
        (
            "bad_name.yml",
            "`bad name` is not a valid variable name",
            "bad_name.yml:2:",
        ),
    ] {
        write(
            dir.path(),
            "t.yml",
            &format!("- hosts: localhost\n  gather_facts: false\n  tasks:\n    - include_vars: {{file: {file}}}\n      no_log: true\n"),
        );
        for format in ["human", "json"] {
            let out = Command::new(baton())
                .current_dir(dir.path())
                .args([
                    "run",
                    "-i",
                    "localhost,",
                    "-c",
                    "local",
                    "t.yml",
                    "--output",
                    format,
                ])
                .env("NO_COLOR", "1")
                .output()
                .expect("baton runs");
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(out.status.code(), Some(4), "{file} {format}: {all}");
            let flat = unwrapped(&all);
            assert!(flat.contains(says), "{file} {format}: {all}");
            assert!(flat.contains(line), "{file} {format}: {all}");
            assert!(
                flat.contains("(file lines and values hidden: no_log)"),
                "{all}"
            );
            assert!(!all.contains("S3CRET"), "{file} {format}: {all}");
        }
    }
}

/// Issue 9 (t9, defect 12): `include_vars: {file: /etc/shadow}` failed and
/// its error drew the first lines of /etc/shadow. A file not readable by
/// other users (no `o+r`) shows no lines and no quoted text of its own in
/// an error: the file and line only. The same file readable by all (0644,
/// an ordinary project file) keeps its snippet.
#[test]
fn a_file_not_readable_by_others_shows_no_lines_in_an_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tmp");
    let vars = write(
        dir.path(),
        "private.yml",
        "ok: 1\nroot S3CRET hash: 1\nnext: S3CRETNEXT\n",
    );
    let template = write(dir.path(), "templates/p.j2", "S3CRETTPL\n{{ nope( }}\n");
    write(
        dir.path(),
        "v.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - include_vars: {file: private.yml}\n",
    );
    write(
        dir.path(),
        "t.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - template: {src: p.j2, dest: out.txt}\n",
    );
    let run = |play: &str| {
        let out = Command::new(baton())
            .current_dir(dir.path())
            .args(["run", "-i", "localhost,", "-c", "local", play])
            .env("NO_COLOR", "1")
            .output()
            .expect("baton runs");
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    for (path, play, place) in [
        (&vars, "v.yml", "private.yml:2:1"),
        (&template, "t.yml", "p.j2:2:"),
    ] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let (code, all) = run(play);
        assert_eq!(code, Some(4), "{all}");
        assert!(!all.contains("S3CRET"), "{play}: {all}");
        let flat = unwrapped(&all);
        assert!(flat.contains(place), "{play}: {all}");
        assert!(
            flat.contains("(lines not shown: the file is not readable by other users)"),
            "{play}: {all}"
        );
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let (code, all) = run(play);
        assert_eq!(code, Some(4), "{all}");
        assert!(
            all.contains("S3CRET"),
            "{play}: readable by all, the snippet stays: {all}"
        );
    }
}
