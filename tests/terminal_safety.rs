//! Issue 9, errors side: control characters from the input (a playbook key,
//! a file path, a variable name, a value quoted in an error, a YAML line
//! drawn in a diagnostic's snippet) never reach the operator's terminal raw:
//! `\e]0;PWNED\a` would retitle it, `\e[2J` clear it, U+009B is an 8-bit
//! CSI, and U+202E reorders the line ("Trojan Source"). Each channel shows
//! them escaped as names are (`\x1b`, `\x07`, `\x9b`, `\u202e`); JSON output
//! stays serde's own, byte for byte.

mod support;

use support::cli::{Run, Test};

/// ESC (an OSC retitling the window and a CSI clearing it), BEL, C1 CSI and a
/// right-to-left override, raw.
const RAW: &str = "\x1b]0;PWNED\x07\x1b[2J\u{9b}1m\u{202e}";
/// The same, as a YAML double-quoted string writes them.
const YAML: &str = "\\e]0;PWNED\\a\\e[2J\\u009b1m\\u202e";
/// How baton shows them.
const SHOWN: &str = "\\x1b]0;PWNED\\x07\\x1b[2J\\x9b1m\\u202e";
/// What must never be printed raw.
const FORBIDDEN: [char; 4] = ['\x1b', '\x07', '\u{9b}', '\u{202e}'];

/// Neither stream holds a raw control character, and `shown` is printed.
fn assert_escaped(run: &Run, shown: &str) {
    for (name, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(
            !text.contains(FORBIDDEN),
            "raw control characters on {name}: {text:?}"
        );
    }
    assert!(
        run.stdout.contains(shown) || run.stderr.contains(shown),
        "`{shown}` not shown:\n{}\n{}",
        run.stdout,
        run.stderr
    );
}

fn local() -> Test {
    Test::new().file("inventory.yml", "localhost ansible_connection=local\n")
}

#[test]
fn a_playbook_key_with_controls_is_escaped_in_the_message_and_the_snippet() {
    let run = local()
        .playbook(&format!(
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug: {{msg: x}}\n      bogus{RAW}: 1\n"
        ))
        .run();
    run.assert_code(4);
    assert_escaped(
        &run,
        &format!("unknown module or task keyword `bogus{SHOWN}`"),
    );
    // the drawn YAML line
    assert!(
        run.stderr.contains(&format!("      bogus{SHOWN}: 1")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("[play.yml:5:7]"), "{}", run.stderr);
}

/// The underline is measured on the escaped line, so it still sits under
/// its token when control characters come before it; the header's column
/// is the file's (bytes, as before).
#[test]
fn the_caret_points_at_the_token_after_control_characters() {
    let line = format!("    - {{name: \"{RAW}\", debug: {{msg: x}}, bogus: 1}}");
    let run = local()
        .playbook(&format!(
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n{line}\n"
        ))
        .run();
    run.assert_code(4);
    assert_escaped(&run, "unknown module or task keyword `bogus`");
    let column = line.find("bogus").expect("bogus") + 1;
    assert!(
        run.stderr.contains(&format!("[play.yml:4:{column}]")),
        "{}",
        run.stderr
    );
    let lines: Vec<&str> = run.stderr.lines().collect();
    let drawn = lines
        .iter()
        .position(|l| l.contains(&format!("\"{SHOWN}\", debug: {{msg: x}}, bogus: 1")))
        .unwrap_or_else(|| panic!("the line is not drawn escaped:\n{}", run.stderr));
    let token = lines[drawn].find("bogus").expect("bogus drawn");
    let underline = lines[drawn + 1];
    let caret = underline.find('^').expect("an underline");
    assert_eq!(caret, token, "underline not under `bogus`:\n{}", run.stderr);
    assert_eq!(&underline[caret..caret + 5], "^^|^^", "{}", run.stderr);
}

#[test]
fn a_file_path_with_controls_is_escaped_in_the_header_and_in_messages() {
    let name = format!("pb{RAW}.yml");
    let t = local().file(
        &name,
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug: {msg: x}\n      bogus: 1\n",
    );
    let run = t.baton(&["run".into(), "-i".into(), "inventory.yml".into(), name]);
    run.assert_code(4);
    assert_escaped(&run, &format!("[pb{SHOWN}.yml:5:7]"));
    // a path that does not exist: a plain error quoting it
    let run = t.baton(&[
        "run".into(),
        "-i".into(),
        "inventory.yml".into(),
        format!("nope{RAW}.yml"),
    ]);
    run.assert_code(4);
    assert_escaped(&run, &format!("playbook `nope{SHOWN}.yml` not found"));
}

#[test]
fn an_extra_variable_name_with_controls_is_escaped() {
    let run = local()
        .playbook("- hosts: localhost\n  gather_facts: false\n  tasks: []\n")
        .args(&["-e", &format!("bad{RAW}=1")])
        .run();
    run.assert_code(4);
    assert_escaped(&run, &format!("`bad{SHOWN}` is not a valid variable name"));
}

#[test]
fn a_value_quoted_in_an_error_is_escaped() {
    let run = local()
        .playbook(&format!(
            "- hosts: localhost\n  gather_facts: false\n  vars_files: [\"nope{YAML}.yml\"]\n  tasks: []\n"
        ))
        .run();
    run.assert_code(4);
    assert_escaped(&run, &format!("vars file nope{SHOWN}.yml does not exist"));
    // the snippet draws the YAML as written (its escapes are plain text)
    assert!(run.stderr.contains(YAML), "{}", run.stderr);
}

#[test]
fn an_inventory_line_with_controls_is_escaped() {
    let run = Test::new()
        .file(
            "hosts.ini",
            &format!("[g]\nweb{RAW} ansible_connection=local\n"),
        )
        .baton(&[
            "inventory".into(),
            "-i".into(),
            "hosts.ini".into(),
            "--list".into(),
        ]);
    run.assert_code(4);
    // drawn in the snippet (the message names the character by its code)
    assert_escaped(&run, &format!("web{SHOWN} ansible_connection=local"));
}

/// A warning quotes the host pattern: on stdout in the run's report, on
/// stderr for an ad-hoc command. Host patterns refuse brackets, so the
/// payload is BEL, an 8-bit CSI and a right-to-left override.
#[test]
fn a_warning_quoting_a_value_is_escaped() {
    let run = local()
        .playbook(
            "- hosts: \"{{ h }}\"\n  vars: {h: \"zz\\a\\u009b2J\\u202e\"}\n  gather_facts: false\n  tasks: [{debug: {msg: x}}]\n",
        )
        .run();
    run.assert_code(0);
    assert_escaped(&run, "no host matches `zz\\x07\\x9b2J\\u202e`");
    let run = local().baton(&[
        "adhoc".into(),
        "-i".into(),
        "inventory.yml".into(),
        "zz\x07\u{9b}2J\u{202e}".into(),
        "-m".into(),
        "ping".into(),
    ]);
    assert_escaped(
        &run,
        "[WARNING]: play `ad-hoc` skipped: no host matches `zz\\x07\\x9b2J\\u202e`",
    );
}

const FATAL: &str = "- name: \"P{YAML}\"\n  hosts: localhost\n  any_errors_fatal: true\n  gather_facts: false\n  tasks:\n    - fail: {msg: \"F{YAML}\"}\n    - debug: {msg: x}\n";

#[test]
fn failure_messages_and_the_run_stopped_block_are_escaped() {
    let run = local().playbook(&FATAL.replace("{YAML}", YAML)).run();
    run.assert_code(2);
    assert_escaped(&run, &format!("localhost FAILED: F{SHOWN}"));
    assert!(run.stdout.contains("RUN STOPPED"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains(&format!("play `P{SHOWN}` stopped because localhost failed")),
        "{}",
        run.stdout
    );
}

/// JSON is serde's: ESC and BEL as `\u001b`/`\u0007` (which JSON requires),
/// nothing escaped twice, nothing added.
#[test]
fn json_output_stays_serdes_own() {
    let run = local()
        .playbook(&FATAL.replace("{YAML}", YAML))
        .args(&["--output", "json"])
        .run();
    run.assert_code(2);
    let expected = serde_json::to_string(&format!("F{RAW}")).expect("json");
    assert!(run.stdout.contains(&expected), "{}", run.stdout);
    assert!(
        run.stdout.contains("\\u001b]0;PWNED\\u0007"),
        "{}",
        run.stdout
    );
    // the task's result as serde wrote it, no escape of baton's in it (the
    // stop reason names the play as the report shows it, as before)
    let failed = run
        .stdout
        .lines()
        .find(|l| l.contains("\"event\":\"host_result\""))
        .unwrap_or_else(|| panic!("no result:\n{}", run.stdout));
    assert!(failed.contains(&expected), "{failed}");
    assert!(!failed.contains("\\x1b"), "{failed}");
    assert!(!run.stderr.contains(FORBIDDEN), "{:?}", run.stderr);
}

#[test]
fn a_command_line_error_quoting_a_flag_is_escaped() {
    let run = Test::new().baton(&["run".into(), format!("--bogus{RAW}")]);
    run.assert_code(4);
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains(FORBIDDEN), "{text:?}");
    }
    assert!(run.stderr.contains("--bogus"), "{}", run.stderr);
}
