//! Issue 8, item 5: defects found when real Ansible playbooks were tried as
//! a new user would. Each test is one case of a defect kind, over the local
//! transport, writing only under its temp dir.

mod support;

use support::cli::Test;

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
