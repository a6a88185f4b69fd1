//! The bad-input corpus: every file under tests/bad_input/ is a malformed
//! playbook whose header says what baton must answer:
//!
//! ```text
//! # expect: <text the error message must contain>
//! # help: <text the help line must contain>        (optional)
//! # at: <line the diagnostic must point at>        (optional)
//! ```
//!
//! Each must exit 4 (invalid input), name the file, and never panic.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

struct Case {
    path: PathBuf,
    expect: String,
    help: Option<String>,
    line: Option<usize>,
}

fn cases() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_input");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/bad_input exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("readable case");
            let header = |key: &str| {
                text.lines()
                    .filter_map(|l| l.strip_prefix("# "))
                    .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
            };
            Case {
                expect: header("expect:")
                    .unwrap_or_else(|| panic!("{} has no `# expect:` header", path.display())),
                help: header("help:"),
                line: header("at:").map(|l| l.parse().expect("`# at:` is a line number")),
                path,
            }
        })
        .collect()
}

#[test]
fn corpus_is_large_enough() {
    assert!(
        cases().len() >= 30,
        "the corpus must hold at least 30 cases"
    );
}

#[test]
fn every_malformed_playbook_is_refused_clearly() {
    let mut failures = Vec::new();
    for case in cases() {
        let output = Command::cargo_bin("baton")
            .expect("binary built")
            .arg("run")
            .arg(&case.path)
            .env("NO_COLOR", "1")
            .timeout(std::time::Duration::from_secs(30))
            .output()
            .expect("baton runs");
        // miette wraps long lines; compare on text with the wrapping undone.
        let stderr: String = String::from_utf8_lossy(&output.stderr)
            .lines()
            .map(|l| l.trim_start_matches([' ', '|', '│']).trim_end())
            .collect::<Vec<_>>()
            .join(" ");
        let name = case
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let mut problems = Vec::new();
        if output.status.code() != Some(4) {
            problems.push(format!("exit code {:?}, want 4", output.status.code()));
        }
        if !stderr.contains(&case.expect) {
            problems.push(format!("message lacks `{}`", case.expect));
        }
        if let Some(help) = &case.help {
            if !stderr.contains(help.as_str()) {
                problems.push(format!("help lacks `{help}`"));
            }
        }
        if let Some(line) = case.line {
            let place = format!("{name}:{line}:");
            if !stderr.contains(&place) {
                problems.push(format!("does not point at `{place}`"));
            }
        } else if !stderr.contains(&name) {
            problems.push("does not name the file".into());
        }
        if stderr.contains("panicked") {
            problems.push("panicked".into());
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{name}: {}\n--- stderr ---\n{stderr}",
                problems.join("; ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `baton run play.yml -i localhost, -c local ARGS` in `dir` (a playbook
/// that would print `hi`): the exit code and stderr, miette's wrapping undone.
fn run_with(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    std::fs::write(
        dir.join("play.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=hi\n",
    )
    .expect("playbook written");
    let output = Command::cargo_bin("baton")
        .expect("binary built")
        .current_dir(dir)
        .args(["run", "play.yml", "-i", "localhost,", "-c", "local"])
        .args(args)
        .env("NO_COLOR", "1")
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .expect("baton runs");
    let stderr: String = String::from_utf8_lossy(&output.stderr)
        .lines()
        .map(|l| l.trim_start_matches([' ', '|', '│']).trim_end())
        .collect::<Vec<_>>()
        .join(" ");
    (output.status.code(), stderr)
}

/// `baton run PLAYBOOK -i localhost, -c local` in `dir`: its exit code and
/// stderr as printed.
fn run_playbook(dir: &Path, playbook: &str) -> (Option<i32>, String) {
    let output = Command::cargo_bin("baton")
        .expect("binary built")
        .current_dir(dir)
        .args(["run", playbook, "-i", "localhost,", "-c", "local"])
        .env("NO_COLOR", "1")
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .expect("baton runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code(), stderr)
}

/// A file no other user may read, as /etc/shadow (mode 0600).
fn private_file(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("file written");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
}

const SHADOW: &str = "root:$6$secret.hash$xyz:20228:0:99999:7:::\ndaemon:*:20228:0:99999:7:::\n";

/// Top-level `-e` names no template could use (`a-b`, `1x`, `a b`, the
/// empty name) are refused in every form, as `-e a-b=1` always was, naming
/// the argument and the name (and file:line for `-e @file`); ansible-core
/// 2.19 takes them all. They were taken from JSON and `@file` before.
#[test]
fn e_names_no_template_could_use_are_refused_in_every_form() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    for (arg, file, name) in [
        (
            "@dash.yml",
            Some("a-b: 1\n"),
            "`a-b` is not a valid variable name",
        ),
        (
            "@digit.yml",
            Some("ok: 1\n1x: 1\n"),
            "`1x` is not a valid variable name",
        ),
        (
            "@space.yml",
            Some("\"a b\": 1\n"),
            "`a b` is not a valid variable name",
        ),
        (
            "@nameless.yml",
            Some("\"\": 1\n"),
            "the variable name is empty",
        ),
        (r#"{"a-b": 1}"#, None, "`a-b` is not a valid variable name"),
        (r#"{"1x": 1}"#, None, "`1x` is not a valid variable name"),
        (r#"{"a b": 1}"#, None, "`a b` is not a valid variable name"),
        (r#"{"": 1}"#, None, "the variable name is empty"),
        ("a-b=1", None, "`a-b` is not a valid variable name"),
        ("=1", None, "the variable name is empty"),
    ] {
        if let (Some(text), Some(f)) = (file, arg.strip_prefix('@')) {
            std::fs::write(d.join(f), text).expect("vars file written");
        }
        let (code, stderr) = run_with(d, &["-e", arg]);
        assert_eq!(code, Some(4), "-e {arg}: {stderr}");
        let shown = if arg.starts_with('@') {
            format!("-e {arg}: {name}")
        } else {
            format!("-e `{arg}`: {name}")
        };
        assert!(
            stderr.contains(&shown),
            "-e {arg}: want `{shown}`: {stderr}"
        );
        if let Some(f) = arg.strip_prefix('@') {
            let line = if f == "digit.yml" { 2 } else { 1 };
            assert!(
                stderr.contains(&format!("{f}:{line}:1")),
                "-e {arg}: {stderr}"
            );
        }
    }
    // Nested names are data, not variables; valid names pass.
    let (code, stderr) = run_with(d, &["-e", r#"{"a": {"b-c": 1}, "ok_1": 2}"#]);
    assert_eq!(code, Some(0), "{stderr}");
    // A private file's bad name is masked: /etc/shadow is a YAML mapping
    // (`root:...:` is a key) whose first name holds the password hash.
    private_file(&d.join("shadow"), SHADOW);
    let (code, stderr) = run_with(d, &["-e", "@shadow"]);
    assert_eq!(code, Some(4), "{stderr}");
    assert!(
        stderr.contains("shadow:1:1: -e @shadow: `…` is not a valid variable name"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("secret") && !stderr.contains("daemon"),
        "{stderr}"
    );
}

/// `-e @FILE` of anything but a mapping is refused, exit 4, naming the file
/// and what it holds, as ansible-core 2.19 refuses it ("could not be made
/// into a dictionary"), empty files included; an empty, comment-only or
/// `null` file used to run as if no -e had been given.
#[test]
fn e_at_a_file_that_is_no_mapping_is_refused_naming_what_it_holds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    for (file, text, what) in [
        ("empty.yml", "", "not an empty file"),
        ("blank.yml", "\n  \n", "not an empty file"),
        (
            "comments.yml",
            "# nothing yet\n",
            "not null (an empty document",
        ),
        ("dashes.yml", "---\n", "not null (an empty document"),
        ("null.yml", "null\n", "not null (an empty document"),
        ("list.yml", "- 1\n- 2\n", "not a list"),
        ("word.yml", "hello\n", "not a string"),
    ] {
        std::fs::write(d.join(file), text).expect("vars file written");
        let (code, stderr) = run_with(d, &["-e", &format!("@{file}")]);
        assert_eq!(code, Some(4), "{file}: {stderr}");
        let want = format!("-e @{file} must hold a mapping of variables, {what}");
        assert!(stderr.contains(&want), "{file}: want `{want}`: {stderr}");
        let place = format!("{file}:");
        let line_after = |(i, _): (usize, &str)| {
            stderr[i + place.len()..].starts_with(|c: char| c.is_ascii_digit())
        };
        assert!(
            stderr.match_indices(&place).any(line_after),
            "{file}: {stderr}"
        );
    }
}

/// `-e @` alone said "cannot read : No such file or directory".
#[test]
fn e_at_with_no_path_says_a_path_must_follow() {
    let dir = tempfile::tempdir().expect("temp dir");
    for arg in ["@", "@ "] {
        let (code, stderr) = run_with(dir.path(), &["-e", arg]);
        assert_eq!(code, Some(4), "{stderr}");
        assert!(
            stderr.contains(&format!("-e `{arg}`: a file path must follow @")),
            "{stderr}"
        );
        assert!(stderr.contains("-e @vars.yml"), "{stderr}");
    }
}

/// `-l @FILE` errors name the file and say what such a file is (host
/// patterns, one per line), not a YAML file's help ("give the path of a
/// YAML file inside it" for a directory); a private file's lines are not
/// shown (`-l @/etc/shadow` drew them in the pattern's snippet).
#[test]
fn l_at_file_errors_name_the_file_and_what_it_must_hold() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    std::fs::create_dir(d.join("hosts.d")).expect("dir");
    std::fs::write(d.join("nul.txt"), b"localhost\n\0\n").expect("file");
    std::fs::write(d.join("latin1.txt"), b"h\xf6st\n").expect("file");
    // Lines of /etc/shadow that are no valid host pattern (`!` then `:`).
    private_file(
        &d.join("shadow"),
        "root:$6$secret.hash$xyz:20228\nsvc:!:20263\n",
    );
    for (arg, want) in [
        (
            "@hosts.d",
            "-l @hosts.d: hosts.d is a directory, not a file",
        ),
        ("@", "-l @: a file path must follow @"),
        (
            "@missing.txt",
            "-l @missing.txt: missing.txt does not exist",
        ),
        ("@nul.txt", "-l @nul.txt: nul.txt:2: a NUL byte"),
        (
            "@latin1.txt",
            "-l @latin1.txt: latin1.txt:1: not UTF-8 text",
        ),
        ("@shadow", "-l @shadow: "),
    ] {
        let (code, stderr) = run_with(d, &["-l", arg]);
        assert_eq!(code, Some(4), "-l {arg}: {stderr}");
        assert!(stderr.contains(want), "-l {arg}: want `{want}`: {stderr}");
        assert!(
            stderr.contains("-l @FILE reads a file of host patterns, one per line"),
            "-l {arg}: {stderr}"
        );
        assert!(!stderr.contains("YAML"), "-l {arg}: {stderr}");
    }
    let (_, stderr) = run_with(d, &["-l", "@shadow"]);
    assert!(stderr.contains("not readable by other users"), "{stderr}");
    assert!(
        !stderr.contains("secret") && !stderr.contains("daemon"),
        "{stderr}"
    );
}

/// A list, mapping or null as a mapping key is refused with file:line in
/// every YAML file baton reads, not only playbooks: `? [a, b] : 1` became
/// the key "" without a word (the YAML reader is shared; this checks each
/// loader surfaces its error).
#[test]
fn a_key_that_is_no_scalar_is_refused_in_vars_files_inventories_and_e_at() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let bad = "x: 1\nm:\n  ? [a, b]\n  : 1\n";
    std::fs::write(d.join("vars.yml"), bad).expect("vars file written");
    let (code, stderr) = run_with(d, &["-e", "@vars.yml"]);
    assert_eq!(code, Some(4), "-e @: {stderr}");
    assert!(
        stderr.contains("a mapping key must be a string or other scalar, found a sequence")
            && stderr.contains("vars.yml:3:"),
        "-e @: {stderr}"
    );

    std::fs::write(
        d.join("inv.yml"),
        "all:\n  hosts:\n    h1:\n      ? {a: 1}\n      : 1\n",
    )
    .expect("inventory written");
    let (code, stderr) = run_with(d, &["-i", "inv.yml"]);
    assert_eq!(code, Some(4), "inventory: {stderr}");
    assert!(
        stderr.contains("found a mapping") && stderr.contains("inv.yml:4:"),
        "inventory: {stderr}"
    );

    std::fs::write(
        d.join("vf.yml"),
        "- hosts: all\n  gather_facts: false\n  vars_files: [vars.yml]\n  tasks:\n    - debug: msg=hi\n",
    )
    .expect("playbook written");
    let (code, stderr) = run_playbook(d, "vf.yml");
    assert_eq!(code, Some(4), "vars_files: {stderr}");
    assert!(
        stderr.contains("found a sequence") && stderr.contains("vars.yml:3:"),
        "vars_files: {stderr}"
    );
}

/// `include_role` with a `tasks_from` the role lacks points at the
/// `tasks_from` value (it pointed at `name: r`, labelled tasks_from).
#[test]
fn a_missing_tasks_from_points_at_tasks_from() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    std::fs::create_dir_all(d.join("roles/r/tasks")).expect("role dir");
    std::fs::write(d.join("roles/r/tasks/main.yml"), "- debug: msg=r\n").expect("role tasks");
    std::fs::write(
        d.join("play.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - include_role:\n        name: r\n        tasks_from: nope\n",
    )
    .expect("playbook written");
    let (code, stderr) = run_playbook(d, "play.yml");
    assert_eq!(code, Some(4), "{stderr}");
    assert!(
        stderr.contains("role `r` has no tasks/nope") && stderr.contains("play.yml:6:21"),
        "{stderr}"
    );
}

/// A play's literal `connection:` is checked at load (so `--syntax-check`
/// refuses it), and `-c` by the same rule, as a command-line error.
#[test]
fn connections_baton_cannot_run_are_refused_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let play = dir.path().join("play.yml");
    std::fs::write(
        &play,
        "- hosts: localhost\n  gather_facts: false\n  connection: telnet\n  tasks:\n    - command: \"true\"\n",
    )
    .unwrap();
    let output = Command::cargo_bin("baton")
        .unwrap()
        .args(["run", "--syntax-check", "-i", "localhost,"])
        .arg(&play)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("play.yml:3:"), "{stderr}");
    std::fs::write(
        &play,
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: \"true\"\n",
    )
    .unwrap();
    for (name, refused) in [
        ("telnet", Some("`telnet` is not supported")),
        (
            "winrm",
            Some("`winrm` is an Ansible plugin baton does not run"),
        ),
        ("ansible.builtin.local", None),
        ("local", None),
    ] {
        let output = Command::cargo_bin("baton")
            .unwrap()
            .args(["run", "-i", "localhost,", "-c", name])
            .arg(&play)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        match refused {
            Some(message) => {
                assert_ne!(output.status.code(), Some(0), "{name}");
                assert!(stderr.contains("--connection"), "{name}: {stderr}");
                assert!(stderr.contains(message), "{name}: {stderr}");
            }
            None => assert_eq!(output.status.code(), Some(0), "{name}: {stderr}"),
        }
    }
}

/// `baton connections` (and `--close`) refuse a BATON_CONTROL_DIR that is a
/// regular file or a directory others may write, with the run's message;
/// they said "no persisted connections under ..." and exited 0. A private
/// directory, or none at all, has no connections.
#[test]
fn connections_refuse_a_control_dir_that_is_not_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let open = dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let private = dir.path().join("private");
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let connections = |root: &Path, close: bool| {
        let mut command = Command::cargo_bin("baton").unwrap();
        command.arg("connections");
        if close {
            command.arg("--close");
        }
        let output = command
            .env("BATON_CONTROL_DIR", root)
            .env("NO_COLOR", "1")
            .timeout(std::time::Duration::from_secs(30))
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    for close in [false, true] {
        for root in [&file, &open] {
            let (code, _, stderr) = connections(root, close);
            assert_eq!(code, Some(4), "{root:?} {close}: {stderr}");
            assert!(
                stderr.contains(&format!(
                    "the connection directory {} is not a private directory of this user",
                    root.display()
                )),
                "{root:?} {close}: {stderr}"
            );
        }
        for root in [private.clone(), dir.path().join("not-there")] {
            let (code, stdout, stderr) = connections(&root, close);
            assert_eq!(code, Some(0), "{root:?} {close}: {stderr}");
            assert!(stdout.contains("no persisted connections"), "{stdout}");
        }
    }
    assert!(file.is_file() && open.is_dir(), "nothing removed");
}

/// A literal connection value baton cannot use given with `-e` is refused
/// before anything runs, naming `-e` (KEY=VALUE) or its place (inline or
/// `@file`), not per host when it connects.
#[test]
fn extra_vars_connection_values_are_refused_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = run_with(dir.path(), &["-e", "ansible_port=0"]);
    assert_eq!(code, Some(4), "{stderr}");
    assert!(
        stderr.contains("-e ansible_port: `0` is not a port number"),
        "{stderr}"
    );
    std::fs::write(dir.path().join("ef.yml"), "a: 1\nbaton_persist: -5\n").unwrap();
    let (code, stderr) = run_with(dir.path(), &["-e", "@ef.yml"]);
    assert_eq!(code, Some(4), "{stderr}");
    assert!(
        stderr.contains("baton_persist: `-5` is not whole seconds") && stderr.contains("ef.yml:2:"),
        "{stderr}"
    );
    let (code, stderr) = run_with(dir.path(), &["-e", r#"{"ansible_connection": ["local"]}"#]);
    assert_eq!(code, Some(4), "{stderr}");
    assert!(
        stderr.contains("ansible_connection: `[\"local\"]` is not text"),
        "{stderr}"
    );
}

/// Without `-i`, baton says so, as ansible-core does: a command copied
/// without its inventory otherwise fails later on an empty group.
#[test]
fn no_inventory_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("play.yml"),
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug: msg=hi\n",
    )
    .unwrap();
    let out = Command::cargo_bin("baton")
        .unwrap()
        .current_dir(dir.path())
        .args(["run", "play.yml"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("[WARNING]: No inventory was parsed (no -i given)"),
        "{stderr}"
    );
    let (_, stderr) = run_with(dir.path(), &[]);
    assert!(!stderr.contains("No inventory was parsed"), "{stderr}");
}
