//! Issue 8, item 5: defects found when real Ansible playbooks were tried as
//! a new user would. Each test is one case of a defect kind, over the local
//! transport, writing only under its temp dir.

mod support;

use std::os::unix::fs::PermissionsExt;

use support::cli::Test;

fn mode_of(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

#[test]
fn handlers_sharing_a_listen_topic_all_run_and_name_plus_topic_runs_once() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: change
      command: "true"
      notify: [restart web, first]
  handlers:
    - name: first
      command: echo first
      listen: restart web
    - name: second
      command: echo second
      listen: restart web
"#,
        )
        .args(&["--output", "json"])
        .run();
    run.assert_code(0);
    assert_eq!(run.outcome("first", "n1"), "changed");
    assert_eq!(run.outcome("second", "n1"), "changed");
    assert_eq!(
        run.results("first").len(),
        1,
        "notified by name and topic, runs once"
    );
    let order: Vec<String> = run
        .events()
        .into_iter()
        .filter(|e| e["event"] == "host_result")
        .map(|e| e["task"]["name"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(order, ["change", "first", "second"]);
}

#[test]
fn with_items_flattens_templated_lists_one_level_and_loop_does_not() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  vars:
    a: [curl, git]
    b: [jq]
  tasks:
    - name: flat
      debug:
        msg: "{{ item }}"
      with_items: ["{{ a }}", "{{ b }}"]
      register: flat
    - name: nested
      debug:
        msg: "{{ item }}"
      loop: ["{{ a }}", "{{ b }}"]
      register: nested
    - name: check
      assert:
        that:
          - flat.results | length == 3
          - nested.results | length == 2
"#,
        )
        .args(&["--output", "json"])
        .run();
    run.assert_code(0);
    let items: Vec<String> = run
        .events()
        .into_iter()
        .filter(|e| e["event"] == "host_result" && e["task"]["name"] == "flat")
        .filter_map(|e| e["item"].as_str().map(str::to_string))
        .collect();
    assert_eq!(items, ["curl", "git", "jq"]);
}

#[test]
fn symbolic_modes_on_new_files_start_from_the_umask_default() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .file("templates/t.j2", "hello\n")
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - copy: { content: "x\n", dest: "{{ playbook_dir }}/copy.sh", mode: "u+x" }
    - lineinfile: { path: "{{ playbook_dir }}/line.conf", line: a, create: yes, mode: "g+w" }
    - blockinfile: { path: "{{ playbook_dir }}/block.conf", block: a, create: yes, mode: "g+w" }
    - template: { src: t.j2, dest: "{{ playbook_dir }}/tmpl.txt", mode: "u+x" }
    - file: { path: "{{ playbook_dir }}/touched", state: touch, mode: "g+w" }
    - file: { path: "{{ playbook_dir }}/dir", state: directory, mode: "g+w" }
"#,
        )
        .run();
    run.assert_code(0);
    // baton inherits this process's umask (022 usually: 0744 and 0664).
    let out = std::process::Command::new("sh")
        .args(["-c", "umask"])
        .output()
        .expect("sh");
    let umask = u32::from_str_radix(String::from_utf8_lossy(&out.stdout).trim(), 8).expect("umask");
    let (file, dir) = (0o666 & !umask, 0o777 & !umask);
    for (file, want) in [
        ("copy.sh", file | 0o100),
        ("line.conf", file | 0o020),
        ("block.conf", file | 0o020),
        ("tmpl.txt", file | 0o100),
        ("touched", file | 0o020),
        ("dir", dir | 0o020),
    ] {
        assert_eq!(
            format!("{:o}", mode_of(&run.dir.join(file))),
            format!("{want:o}"),
            "{file}"
        );
    }
}

#[test]
fn wait_for_registers_match_groups_and_is_skipped_in_check_mode() {
    let play = r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: wait
      wait_for:
        path: "{{ playbook_dir }}/log"
        search_regex: 'port=(\d+) name=(?P<name>\w+)'
        timeout: 5
      register: w
    - name: show
      debug:
        msg: "{{ w.match_groupdict.name }}"
      when: not ansible_check_mode
"#;
    let run = Test::new()
        .local_hosts(&["n1"])
        .file("log", "starting\nport=8080 name=db\n")
        .playbook(play)
        .args(&["--output", "json"])
        .run();
    run.assert_code(0);
    let wait = &run.results("wait")[0]["result"]["data"];
    assert_eq!(wait["match_groups"], serde_json::json!(["8080", "db"]));
    assert_eq!(wait["match_groupdict"], serde_json::json!({"name": "db"}));
    assert_eq!(run.results("show")[0]["result"]["msg"], "db");

    let check = Test::new()
        .local_hosts(&["n1"])
        .playbook(play)
        .args(&["--output", "json", "--check"])
        .run();
    check.assert_code(0);
    assert_eq!(check.outcome("wait", "n1"), "skipped");
    let msg = check.results("wait")[0]["result"]["msg"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(msg.contains("check mode"), "{msg}");
}

#[test]
fn command_creates_and_removes_in_check_mode_report_what_would_run() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .file("present", "")
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: removes present
      command: rm "{{ playbook_dir }}/present"
      args: { removes: "{{ playbook_dir }}/present" }
    - name: creates missing
      shell: touch "{{ playbook_dir }}/missing"
      args: { creates: "{{ playbook_dir }}/missing" }
    - name: creates present
      command: "false"
      args: { creates: "{{ playbook_dir }}/present" }
    - name: removes missing
      shell: "false"
      args: { removes: "{{ playbook_dir }}/missing" }
    - name: plain
      command: "false"
"#,
        )
        .args(&["--output", "json", "--check"])
        .run();
    run.assert_code(0);
    assert_eq!(run.outcome("removes present", "n1"), "changed");
    assert_eq!(run.outcome("creates missing", "n1"), "changed");
    assert_eq!(run.outcome("creates present", "n1"), "ok");
    assert_eq!(run.outcome("removes missing", "n1"), "ok");
    assert_eq!(run.outcome("plain", "n1"), "skipped");
    assert!(run.dir.join("present").exists() && !run.dir.join("missing").exists());
}

#[test]
fn ini_inventory_named_yml_is_parsed_by_content() {
    let t = Test::new().file(
        "inv.yml",
        "[web]\nw1 ansible_connection=local\n\n[web:vars]\nport=80\n",
    );
    let run = t.baton(&[
        "inventory".into(),
        "-i".into(),
        "inv.yml".into(),
        "--list".into(),
    ]);
    run.assert_code(0);
    let list: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(list["web"]["hosts"], serde_json::json!(["w1"]));
    assert_eq!(list["_meta"]["hostvars"]["w1"]["port"], 80);
}

#[test]
fn an_inventory_that_is_neither_yaml_nor_ini_names_both_attempts() {
    let t = Test::new().file("inv.yml", "all:\n  hosts:\n    a: [1\n[broken\n");
    let run = t.baton(&[
        "inventory".into(),
        "-i".into(),
        "inv.yml".into(),
        "--list".into(),
    ]);
    run.assert_code(4);
    let text = format!("{}{}", run.stdout, run.stderr);
    assert!(
        text.contains("as YAML") && text.contains("as INI"),
        "{text}"
    );
    assert!(text.contains("line"), "{text}");
}

#[test]
fn recap_counts_ignored_failures_as_ok_and_rescued_even_when_rescue_fails() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: ignored command
      command: "false"
      ignore_errors: true
    - name: ignored fail
      fail: { msg: no }
      ignore_errors: true
    - block:
        - fail: { msg: first }
      rescue:
        - fail: { msg: rescue fails too }
"#,
        )
        .args(&["--output", "json"])
        .run();
    run.assert_code(2);
    let r = run.recap("n1");
    assert_eq!(
        (
            r["ok"].as_u64(),
            r["changed"].as_u64(),
            r["ignored"].as_u64()
        ),
        (Some(2), Some(1), Some(2)),
        "{r}"
    );
    assert_eq!(
        (r["rescued"].as_u64(), r["failed"].as_u64()),
        (Some(1), Some(1)),
        "{r}"
    );
}

#[test]
fn check_mode_predicts_files_in_a_directory_an_earlier_task_creates() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .file("templates/t.j2", "hello\n")
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: dir
      file: { path: "{{ playbook_dir }}/new/sub", state: directory }
    - name: copy
      copy: { content: "x\n", dest: "{{ playbook_dir }}/new/sub/a" }
    - name: line
      lineinfile: { path: "{{ playbook_dir }}/new/sub/b", line: a, create: yes }
    - name: block
      blockinfile: { path: "{{ playbook_dir }}/new/sub/c", block: a, create: yes }
    - name: template
      template: { src: t.j2, dest: "{{ playbook_dir }}/new/sub/d" }
"#,
        )
        .args(&["--output", "json", "--check"])
        .run();
    run.assert_code(0);
    for task in ["dir", "copy", "line", "block", "template"] {
        assert_eq!(run.outcome(task, "n1"), "changed", "{task}");
    }
    assert!(!run.dir.join("new").exists());
}

#[test]
fn adhoc_prints_each_hosts_result_as_ansible_does() {
    let t = Test::new().local_hosts(&["n1"]);
    let adhoc = |module: &str, args: &str| {
        t.baton(&[
            "adhoc".into(),
            "n1".into(),
            "-i".into(),
            "inventory.yml".into(),
            "-m".into(),
            module.into(),
            "-a".into(),
            args.into(),
        ])
    };
    let run = adhoc("command", "echo hello");
    run.assert_code(0);
    assert!(
        run.stdout.contains("n1 | CHANGED | rc=0 >>\nhello\n"),
        "{}",
        run.stdout
    );
    let run = adhoc("shell", "echo oops >&2; exit 3");
    run.assert_code(2);
    assert!(
        run.stdout.contains("n1 | FAILED | rc=3 >>\noops"),
        "{}",
        run.stdout
    );
    let run = adhoc("ping", "");
    run.assert_code(0);
    assert!(run.stdout.contains("n1 | SUCCESS => {"), "{}", run.stdout);
    assert!(run.stdout.contains("\"ping\": \"pong\""), "{}", run.stdout);
    // `ansible HOST -m setup` shows the facts.
    let run = adhoc("setup", "");
    run.assert_code(0);
    assert!(
        run.stdout.contains("\"ansible_facts\": {"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("\"ansible_hostname\""),
        "{}",
        run.stdout
    );
    let run = adhoc("fail", "msg=broken");
    run.assert_code(2);
    assert!(run.stdout.contains("n1 | FAILED! => {"), "{}", run.stdout);
    assert!(run.stdout.contains("\"msg\": \"broken\""), "{}", run.stdout);
    let json = t.baton(&[
        "adhoc".into(),
        "n1".into(),
        "-i".into(),
        "inventory.yml".into(),
        "-a".into(),
        "echo hi".into(),
        "--output".into(),
        "json".into(),
    ]);
    json.assert_code(0);
    assert!(
        json.stdout.lines().all(|l| l.starts_with('{')),
        "{}",
        json.stdout
    );
    assert!(json.stdout.contains("\"hi\""), "{}", json.stdout);
}
