//! Issue 9, report side: names (task, play, handler, host, loop item) are
//! data. A 65,536-character name must not panic the report (Rust's format
//! width limit) after the tasks ran, and a name with a newline or another
//! control character must not print a line of its own that reads as
//! baton's (a forged `PLAY RECAP`). JSON and JUnit keep names whole.

mod support;

use support::cli::Test;

/// Longer than Rust's format width limit (65,535).
const LONG: usize = 65_536;

#[test]
fn names_of_65536_characters_keep_the_recap_and_the_junit_report() {
    let task = "T".repeat(LONG);
    let handler = "H".repeat(LONG);
    let host = "h".repeat(LONG);
    let t = Test::new()
        // INI: a YAML key is limited to 1,024 characters.
        .file(
            "inventory.yml",
            &format!("[nodes]\n{host} ansible_connection=local\n"),
        )
        .playbook(&format!(
            r#"- hosts: all
  gather_facts: false
  tasks:
    - name: {task}
      command: "true"
      changed_when: true
      notify: {handler}
    - meta: flush_handlers
    - name: {task}2
      command: "false"
  handlers:
    - name: {handler}
      command: "true"
"#
        ))
        .args(&["--junit", "junit.xml"]);
    let run = t.run();
    let all = format!("{}\n{}", run.stdout, run.stderr);
    assert!(!all.contains("panicked"), "{}", &all[..all.len().min(3000)]);
    run.assert_code(2);
    // The human report shows a shortened name, says how long it was, and
    // still aligns its columns.
    assert!(run.stdout.contains("PLAY RECAP"), "no recap");
    assert!(run.stdout.contains("… (65536 characters)"), "not shortened");
    assert!(run.stdout.contains("… (65537 characters)"), "not shortened");
    assert!(!run.stdout.contains(&task), "a whole 65,536-character name");
    assert!(run.stdout.contains("HANDLER [HHHH"), "no handler line");
    assert!(
        run.stdout.lines().any(|l| l.starts_with(&format!(
            "{}… (65536 characters) : ok=2 changed=2 unreachable=0 failed=1",
            &host[..200]
        ))),
        "recap line"
    );
    // JUnit keeps the whole names.
    let junit = run.read("junit.xml");
    assert!(junit.contains(&format!("{task}2")), "JUnit lost the name");
    assert!(junit.contains(&host), "JUnit lost the host");
    // So does JSON.
    let json = t.baton(&[
        "run".into(),
        "play.yml".into(),
        "-i".into(),
        "inventory.yml".into(),
        "--output".into(),
        "json".into(),
    ]);
    assert_eq!(json.code, Some(2));
    assert!(json.stdout.contains(&format!("\"{task}2\"")), "JSON name");
}

#[test]
fn a_newline_in_a_name_prints_no_line_of_its_own() {
    let forged = "PLAY RECAP\\nlocalhost : ok=99 changed=0 unreachable=0 failed=0";
    let t = Test::new()
        .local_hosts(&["localhost"])
        .playbook(&format!(
            r#"- hosts: all
  name: "play\n{forged}\r\t\u0007"
  gather_facts: false
  tasks:
    - name: "ok\n{forged}"
      command: "true"
      changed_when: true
      notify: "h\n{forged}"
    - meta: flush_handlers
    - name: "fails\n{forged}"
      command: "false"
      loop: ["item\n{forged}"]
  handlers:
    - name: "h\n{forged}"
      command: "true"
"#
        ))
        .args(&["-v"]);
    let run = t.run();
    run.assert_code(2);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let recaps = lines
        .iter()
        .filter(|l| l.trim_start().starts_with("PLAY RECAP"))
        .count();
    assert_eq!(recaps, 1, "a forged PLAY RECAP line:\n{}", run.stdout);
    assert!(
        !lines
            .iter()
            .any(|l| l.trim_start().starts_with("localhost : ok=99")),
        "a forged recap line:\n{}",
        run.stdout
    );
    // Shown escaped, as Python's repr would.
    assert!(
        run.stdout
            .contains("PLAY [play\\nPLAY RECAP\\nlocalhost : ok=99"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("\\r\\t\\x07]"), "{}", run.stdout);
    assert!(
        run.stdout.contains("TASK [ok\\nPLAY RECAP"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("HANDLER [h\\nPLAY RECAP"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("[item=item\\nPLAY RECAP"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("at task `fails\\nPLAY RECAP"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains('\r') && !run.stdout.contains('\x07'));

    // --list-tasks shows names whole, on one line each.
    let list = t.baton(&[
        "run".into(),
        "play.yml".into(),
        "-i".into(),
        "inventory.yml".into(),
        "--list-tasks".into(),
    ]);
    list.assert_code(0);
    assert!(
        list.stdout
            .contains("      ok\\nPLAY RECAP\\nlocalhost : ok=99"),
        "{}",
        list.stdout
    );
    assert!(
        !list
            .stdout
            .lines()
            .any(|l| l.trim_start().starts_with("PLAY RECAP")),
        "{}",
        list.stdout
    );
}

#[test]
fn a_host_name_with_a_control_character_is_refused_at_load() {
    let t = Test::new().file("play.yml", "- hosts: all\n  tasks: []\n");
    let run = t.baton(&[
        "run".into(),
        "play.yml".into(),
        "-i".into(),
        "localhost\nPLAY RECAP,".into(),
        "-c".into(),
        "local".into(),
    ]);
    run.assert_code(4);
    assert!(run.stderr.contains("contains a newline"), "{}", run.stderr);
    assert!(!run.stdout.contains("PLAY RECAP"), "{}", run.stdout);

    for (file, text) in [
        ("inv.ini", "[g]\nlocal\x1bhost ansible_connection=local\n"),
        (
            "inv.yml",
            "all:\n  hosts:\n    \"a\\tb\":\n      ansible_connection: local\n",
        ),
    ] {
        let t = Test::new()
            .file("play.yml", "- hosts: all\n  tasks: []\n")
            .file(file, text);
        let run = t.baton(&["run".into(), "play.yml".into(), "-i".into(), file.into()]);
        run.assert_code(4);
        assert!(
            run.stderr.contains("host name") && run.stderr.contains("printable"),
            "{file}: {}",
            run.stderr
        );
    }
}
