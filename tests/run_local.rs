//! The playbook language end to end over the local transport: conditions,
//! loops, registers, blocks, handlers, tags, serial, stop rules, no_log,
//! check mode, and the exit codes.

mod support;

use support::cli::Test;

const TWO: &[&str] = &["n1", "n2"];

#[test]
fn when_register_and_conditions_on_registered_values() {
    let run = Test::new()
        .local_hosts(TWO)
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: probe
      command: echo "{{ inventory_hostname }}"
      register: probe
      changed_when: false
    - name: only n1
      debug:
        msg: "probe said {{ probe.stdout }}"
      when: probe.stdout == "n1"
    - name: ansible style
      debug: msg=hi
      when: probe.stdout == 'n2' and probe.rc == 0
"#,
        )
        .args(&["--output", "json"])
        .run();
    run.assert_code(0);
    assert_eq!(run.outcome("probe", "n1"), "ok");
    assert_eq!(run.outcome("only n1", "n1"), "ok");
    assert_eq!(run.outcome("only n1", "n2"), "skipped");
    assert_eq!(run.outcome("ansible style", "n1"), "skipped");
    assert_eq!(run.outcome("ansible style", "n2"), "ok");
    let msg = &run.results("only n1")[0]["result"]["msg"];
    assert_eq!(msg, "probe said n1");
}

#[test]
fn loops_with_labels_index_and_registered_results() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  vars:
    dirs: [a, b, c]
  tasks:
    - name: make dirs
      file:
        path: "{{ playbook_dir }}/out/{{ item }}"
        state: directory
      loop: "{{ dirs }}"
      loop_control:
        index_var: i
      register: made
    - name: loop variables
      copy:
        dest: "{{ playbook_dir }}/out/{{ item }}/loop"
        content: "{{ i }} {{ ansible_loop.revindex }} {{ ansible_loop.previtem | default('-') }} {{ ansible_loop.nextitem | default('-') }}\n"
      loop: "{{ dirs }}"
      loop_control:
        index_var: i
        extended: true
    - name: ansible_loop is only there with extended (as in Ansible)
      copy:
        dest: "{{ playbook_dir }}/out/{{ item }}/plain"
        content: "{{ ansible_loop | default('undefined') }}\n"
      loop: "{{ dirs }}"
    - name: count
      assert:
        that:
          - made.results | length == 3
          - made.changed
"#,
        )
        .args(&["--output", "json"])
        .run();
    run.assert_code(0);
    assert!(run.dir.join("out/a").is_dir() && run.dir.join("out/c").is_dir());
    let looped = |d: &str| std::fs::read_to_string(run.dir.join(format!("out/{d}/loop"))).unwrap();
    assert_eq!(looped("a"), "0 3 - b\n");
    assert_eq!(looped("c"), "2 1 b -\n");
    assert_eq!(run.read("out/b/plain"), "undefined\n");
    let items: Vec<_> = run
        .events()
        .into_iter()
        .filter(|e| {
            e["event"] == "host_result" && !e["item"].is_null() && e["task"]["name"] == "make dirs"
        })
        .collect();
    assert_eq!(items.len(), 3);
    assert_eq!(run.outcome("make dirs", "n1"), "changed");
    assert_eq!(run.outcome("count", "n1"), "ok");
}

#[test]
fn until_retries_until_the_condition_holds() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: third time lucky
      shell: "n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; echo $n"
      args:
        chdir: "{{ playbook_dir }}"
      register: r
      until: r.stdout == "3"
      retries: 5
      delay: 0
    - name: never
      command: /bin/false
      register: f
      until: f.rc == 0
      retries: 1
      delay: 0
      ignore_errors: true
"#,
        )
        .args(&["--output", "json"])
        .run();
    run.assert_code(0);
    assert_eq!(run.read("count").trim(), "3");
    let never = &run.results("never")[0];
    assert_eq!(never["outcome"], "failed");
    assert_eq!(never["ignored"], true);
    assert!(never["result"]["msg"]
        .as_str()
        .unwrap()
        .contains("after 2 attempts"));
    assert_eq!(run.recap("n1")["ignored"], 1);
}

#[test]
fn a_false_when_skips_before_the_task_vars_and_arguments_are_rendered() {
    // Ansible evaluates `when` first: a skipped task's `vars` and arguments
    // may read what is undefined (here only for n2), and a list of
    // conditions stops at its first false one. A `when` that holds still
    // reports the undefined variable (exit 4).
    let run = Test::new()
        .local_hosts(TWO)
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: n1 only
      debug:
        msg: "{{ shown }}"
      vars:
        shown: "{{ only_n1 }}"
      when: inventory_hostname == 'n1'
    - name: first condition false
      debug:
        msg: "{{ nowhere }}"
      when: [false, "nowhere_either == 1"]
"#,
        )
        .file("host_vars/n1.yml", "only_n1: one\n")
        .args(&["--output", "json"])
        .run();
    run.assert_code(0);
    assert_eq!(run.outcome("n1 only", "n1"), "ok");
    assert_eq!(run.outcome("n1 only", "n2"), "skipped");
    assert_eq!(run.results("n1 only")[0]["result"]["msg"], "one");
    assert_eq!(run.outcome("first condition false", "n1"), "skipped");

    let holds = Test::new()
        .local_hosts(&["n1"])
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - debug:
        msg: "{{ shown }}"
      vars:
        shown: "{{ not_there }}"
      when: true
"#,
        )
        .run();
    holds.assert_code(4);
    assert!(holds.stderr.contains("not_there"), "{}", holds.stderr);
}

#[test]
fn ignore_errors_covers_a_templating_error_at_run_time() {
    // Ansible: the task fails and is ignored (its msg is the error), the next
    // task runs, exit 0. Without ignore_errors the run ends with 4.
    let run = Test::new()
        .local_hosts(&["n1"])
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: bad
      debug:
        msg: "{{ not_there }}"
      ignore_errors: true
    - name: next
      command: "touch {{ playbook_dir }}/next-ran"
"#,
        )
        .args(&["--output", "json"])
        .run();
    run.assert_code(0);
    let bad = &run.results("bad")[0];
    assert_eq!(bad["outcome"], "failed");
    assert_eq!(bad["ignored"], true);
    assert!(bad["result"]["msg"].as_str().unwrap().contains("not_there"));
    assert_eq!(run.recap("n1")["ignored"], 1);
    assert_eq!(run.recap("n1")["failed"], 0);
    assert!(run.read("next-ran").is_empty());

    let strict = Test::new()
        .local_hosts(&["n1"])
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - debug:
        msg: "{{ not_there }}"
"#,
        )
        .run();
    strict.assert_code(4);
}

#[test]
fn an_undefined_variable_in_a_template_file_is_invalid_input() {
    // As in task arguments: exit 4, naming the template file, its line and
    // the variable (not a module failure with exit 2).
    let run = Test::new()
        .local_hosts(&["n1"])
        .file("templates/motd.j2", "line one\nhub is {{ hvr_hub }}\n")
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  vars:
    hvr_hubdb: hub
  tasks:
    - template:
        src: motd.j2
        dest: "{{ playbook_dir }}/motd"
"#,
        )
        .run();
    run.assert_code(4);
    let text = run.stderr.replace(['│', '|'], " ");
    assert!(text.contains("hvr_hub"), "{}", run.stderr);
    assert!(text.contains("motd.j2:2:"), "{}", run.stderr);
    assert!(run.read("motd").is_empty());
}

#[test]
fn template_files_include_import_and_extend_from_the_template_search_path() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .file(
            "roles/web/tasks/main.yml",
            "- template:\n    src: page.j2\n    dest: \"{{ playbook_dir }}/page\"\n",
        )
        .file(
            "roles/web/templates/page.j2",
            "{% extends 'base.j2' %}\n{% block body %}{% include 'parts/header.j2' %}\
             {% from 'macros.j2' import shout %}{{ shout(base) }}\n{% endblock %}\n",
        )
        .file(
            "roles/web/templates/parts/header.j2",
            "header for {{ who }}\n",
        )
        // not in the role: found in the playbook's templates/
        .file(
            "templates/macros.j2",
            "{% macro shout(x) %}{{ x | upper }}!{% endmacro %}",
        )
        .file(
            "roles/web/templates/base.j2",
            "# base\n{% block body %}{% endblock %}",
        )
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  vars:
    base: ops
    # rendered lazily: only the included header reads it
    who: "{{ base }}"
  roles:
    - web
"#,
        )
        .run();
    run.assert_code(0);
    // As ansible-core 2.19 writes it: Jinja drops the trailing newline of
    // an included template (only the top template's are kept).
    assert_eq!(run.read("page"), "# base\nheader for opsOPS!\n");

    // A name outside the search path is refused.
    let run = Test::new()
        .local_hosts(&["n1"])
        .file("templates/t.j2", "{% include '/etc/hostname' %}\n")
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - template:
        src: t.j2
        dest: "{{ playbook_dir }}/t"
"#,
        )
        .run();
    assert_ne!(run.code, Some(0));
    assert!(run.read("t").is_empty());
    assert!(
        run.stderr.contains("only names relative") || run.stdout.contains("only names relative"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
}

#[test]
fn block_rescue_always_and_recap_counters() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - block:
        - name: breaks
          command: /bin/false
        - name: not reached
          command: touch "{{ playbook_dir }}/not-reached"
      rescue:
        - name: rescued
          shell: echo "{{ ansible_failed_task.name }} rc={{ ansible_failed_result.rc }}" > "{{ playbook_dir }}/rescued"
      always:
        - name: always
          command: touch "{{ playbook_dir }}/always"
    - name: after
      command: touch "{{ playbook_dir }}/after"
"#,
        )
        .args(&["--output", "json"])
        .run();
    run.assert_code(0);
    assert!(!run.dir.join("not-reached").exists());
    for f in ["rescued", "always", "after"] {
        assert!(run.dir.join(f).exists(), "{f} missing");
    }
    // rescue sees what failed (Ansible's ansible_failed_task/_result)
    assert_eq!(
        std::fs::read_to_string(run.dir.join("rescued")).unwrap(),
        "breaks rc=1\n"
    );
    let recap = run.recap("n1");
    assert_eq!(recap["rescued"], 1);
    assert_eq!(recap["failed"], 0);
}

#[test]
fn failure_without_rescue_stops_the_host_and_says_where() {
    let run = Test::new()
        .local_hosts(TWO)
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: write marker
      command: touch "{{ playbook_dir }}/{{ inventory_hostname }}.1"
    - name: fails on n1
      command: /bin/false
      when: inventory_hostname == "n1"
    - name: second step
      command: touch "{{ playbook_dir }}/{{ inventory_hostname }}.2"
    - block:
        - name: always runs even for failed hosts? no, n1 left the play
          command: /bin/true
      always:
        - name: cleanup
          command: touch "{{ playbook_dir }}/{{ inventory_hostname }}.cleanup"
"#,
        )
        .run();
    run.assert_code(2);
    assert!(run.dir.join("n2.2").exists());
    assert!(!run.dir.join("n1.2").exists());
    assert!(!run.dir.join("n1.cleanup").exists());
    assert!(
        run.stdout.contains("n1 FAILED at task `fails on n1`"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("Changed on n1 before that: write marker"),
        "{}",
        run.stdout
    );
}

#[test]
fn stop_report_tells_changes_of_an_always_after_the_failure_from_those_before() {
    let run = Test::new()
        .local_hosts(TWO)
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - block:
        - name: write marker
          command: touch "{{ playbook_dir }}/{{ inventory_hostname }}.1"
        - name: fails on n1
          command: /bin/false
          when: inventory_hostname == "n1"
      always:
        - name: cleanup
          command: touch "{{ playbook_dir }}/{{ inventory_hostname }}.cleanup"
"#,
        )
        .run();
    run.assert_code(2);
    assert!(run.dir.join("n1.cleanup").exists());
    assert!(
        run.stdout.contains(
            "Changed on n1 before that: write marker. Changed on n1 after it (always or handlers): cleanup. The rest of the run skipped n1."
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn any_errors_fatal_stops_every_host() {
    let run = Test::new()
        .local_hosts(TWO)
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  any_errors_fatal: true
  tasks:
    - name: preflight
      command: /bin/false
      when: inventory_hostname == "n2"
    - name: act
      command: touch "{{ playbook_dir }}/{{ inventory_hostname }}.acted"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: next play
      command: touch "{{ playbook_dir }}/next-play"
"#,
        )
        .run();
    run.assert_code(2);
    assert!(
        !run.dir.join("n1.acted").exists(),
        "n1 must not act after n2's fatal failure"
    );
    assert!(!run.dir.join("next-play").exists());
    assert!(run.stdout.contains("any_errors_fatal"), "{}", run.stdout);
}

/// Under any_errors_fatal a failure inside a block with a rescue sends
/// every host of the block to the rescue at once (Ansible's linear strategy
/// marks them failed): n1 never runs the rest of the block, is not counted
/// rescued, and a rescue that fails ends the play before any host runs past
/// the block (the HVR playbooks' pre-flights rely on it). Recorded against
/// ansible-core in tests/compat/any-errors-fatal-rescue-*.
#[test]
fn any_errors_fatal_inside_a_block_sends_every_host_to_the_rescue() {
    let run = Test::new()
        .local_hosts(TWO)
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  any_errors_fatal: true
  tasks:
    - block:
        - name: check
          command: /bin/false
          when: inventory_hostname == "n2"
        - name: rest of the check
          shell: echo "{{ inventory_hostname }}" >> "{{ playbook_dir }}/order"
      rescue:
        - name: give back
          shell: echo "rescue {{ inventory_hostname }}" >> "{{ playbook_dir }}/order"
        - name: stop here
          fail:
            msg: "refused: {{ ansible_failed_result.rc | default('not mine') }}"
    - name: act
      command: touch "{{ playbook_dir }}/{{ inventory_hostname }}.acted"
"#,
        )
        .args(&["--output", "json"])
        .run();
    run.assert_code(2);
    let order = std::fs::read_to_string(run.dir.join("order")).unwrap();
    let mut lines: Vec<&str> = order.lines().collect();
    lines.sort_unstable();
    assert_eq!(lines, ["rescue n1", "rescue n2"], "{}", run.stdout);
    for host in TWO {
        assert!(
            !run.dir.join(format!("{host}.acted")).exists(),
            "{host} went past the block: {}",
            run.stdout
        );
    }
    assert_eq!(run.recap("n1")["rescued"], 0);
    assert_eq!(run.recap("n2")["rescued"], 1);
    assert_eq!(run.recap("n1")["failed"], 1);
}

/// A failed run_once task fails every host of the play, as Ansible's linear
/// strategy makes it fatal (`task.any_errors_fatal or run_once`): the other
/// hosts run nothing more, in this play or the next.
#[test]
fn a_failed_run_once_task_stops_every_host() {
    let run = Test::new()
        .local_hosts(TWO)
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: gate
      assert:
        that: false
        fail_msg: gate closed
      run_once: true
    - name: act
      command: touch "{{ playbook_dir }}/{{ inventory_hostname }}.acted"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: next play
      command: touch "{{ playbook_dir }}/{{ inventory_hostname }}.next"
"#,
        )
        .args(&["--output", "json"])
        .run();
    run.assert_code(2);
    for f in ["n1.acted", "n2.acted", "n1.next", "n2.next"] {
        assert!(!run.dir.join(f).exists(), "{f}: {}", run.stdout);
    }
    assert_eq!(run.recap("n1")["failed"], 1);
    assert_eq!(run.recap("n2")["failed"], 0);
}

#[test]
fn handlers_run_once_at_the_end_and_on_flush() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: change one
      command: /bin/true
      notify: record
    - name: change two
      command: /bin/true
      notify: [record, topic]
    - meta: flush_handlers
    - name: after flush
      shell: echo after >> "{{ playbook_dir }}/log"
    - name: no change
      command: /bin/true
      changed_when: false
      notify: late
  handlers:
    - name: record
      shell: echo handler >> "{{ playbook_dir }}/log"
    - name: by topic
      shell: echo topic >> "{{ playbook_dir }}/log"
      listen: topic
    - name: late
      shell: echo late >> "{{ playbook_dir }}/log"
"#,
        )
        .run();
    run.assert_code(0);
    assert_eq!(run.read("log"), "handler\ntopic\nafter\n");
}

/// Handlers that notify themselves or each other in a cycle run once per
/// flush, as ansible-core 2.19.14 runs them (measured): a handler notified
/// after the flush passed it waits for the next flush. Before, the flush
/// repeated until nothing was pending, and `h1 -> h1` never ended.
#[test]
fn handlers_notifying_themselves_or_a_cycle_run_once_per_flush() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: change
      command: /bin/true
      notify: [self, a]
    - meta: flush_handlers
    - name: between
      shell: echo between >> "{{ playbook_dir }}/log"
  handlers:
    - name: self
      shell: echo self >> "{{ playbook_dir }}/log"
      notify: self
    - name: a
      shell: echo a >> "{{ playbook_dir }}/log"
      notify: b
    - name: b
      shell: echo b >> "{{ playbook_dir }}/log"
      notify: a
"#,
        )
        .run();
    run.assert_code(0);
    // Flushes: meta, end of `tasks`, end of `post_tasks`; the last
    // notifications are dropped with the play.
    assert_eq!(
        run.read("log"),
        "self\na\nb\nbetween\nself\na\nb\nself\na\nb\n"
    );
}

#[test]
fn force_handlers_run_notified_handlers_on_a_host_that_failed_later() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  force_handlers: true
  tasks:
    - name: change
      command: /bin/true
      notify: record
    - name: then a failure
      command: /bin/false
  handlers:
    - name: record
      shell: echo handler >> "{{ playbook_dir }}/log"
"#,
        )
        .args(&["--output", "json"])
        .run();
    run.assert_code(2);
    assert_eq!(run.read("log"), "handler\n");
    let recap = run.recap("n1");
    assert_eq!(
        (recap["ok"].as_u64(), recap["failed"].as_u64()),
        (Some(2), Some(1))
    );
}

#[test]
fn include_is_an_ok_task_and_its_tags_select_only_the_include() {
    let pb = r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - import_tasks: imported.yml
      tags: web
    - include_tasks: included.yml
      tags: web
"#;
    let t = |tag: &str| format!("- shell: echo {tag} >> \"{{{{ playbook_dir }}}}/log\"\n");
    let test = || {
        Test::new()
            .local_hosts(&["n1"])
            .file("imported.yml", &t("imported"))
            .file("included.yml", &t("included"))
            .playbook(pb)
            .args(&["--output", "json"])
    };
    let run = test().run();
    run.assert_code(0);
    assert_eq!(run.read("log"), "imported\nincluded\n");
    // The include itself counts as an ok task, as in Ansible's recap.
    assert_eq!(run.recap("n1")["ok"].as_u64(), Some(3));
    // `-t web`: the imported task has the tag; the included one does not
    // (the include's tags select the include only).
    let run = test().args(&["-t", "web"]).run();
    run.assert_code(0);
    assert_eq!(run.read("log"), "imported\n");
    assert_eq!(run.recap("n1")["ok"].as_u64(), Some(2));
}

#[test]
fn an_include_when_is_checked_once_for_the_include() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .file(
            "inc.yml",
            "- set_fact:\n    go: false\n- shell: echo second >> \"{{ playbook_dir }}/log\"\n",
        )
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  vars:
    go: true
  tasks:
    - include_tasks: inc.yml
      when: go
    - include_tasks: inc.yml
      when: go
"#,
        )
        .args(&["--output", "json"])
        .run();
    run.assert_code(0);
    // First include: `go` turns false inside it, the next task still runs
    // (Ansible does not check the include's `when` per included task).
    // Second include: skipped once; its tasks are not run nor counted.
    assert_eq!(run.read("log"), "second\n");
    let recap = run.recap("n1");
    assert_eq!(
        (recap["ok"].as_u64(), recap["skipped"].as_u64()),
        (Some(3), Some(1))
    );
}

#[test]
fn tags_select_and_skip_with_always_and_never() {
    let pb = r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: vip
      shell: echo vip >> "{{ playbook_dir }}/log"
      tags: vip
    - name: replication
      shell: echo replication >> "{{ playbook_dir }}/log"
      tags: [replication]
    - name: always
      shell: echo always >> "{{ playbook_dir }}/log"
      tags: always
    - name: never
      shell: echo never >> "{{ playbook_dir }}/log"
      tags: [never, debug]
"#;
    let run = Test::new()
        .local_hosts(&["n1"])
        .playbook(pb)
        .args(&["-t", "vip"])
        .run();
    run.assert_code(0);
    assert_eq!(run.read("log"), "vip\nalways\n");
    let run = Test::new()
        .local_hosts(&["n1"])
        .playbook(pb)
        .args(&["--skip-tags", "vip"])
        .run();
    assert_eq!(run.read("log"), "replication\nalways\n");
    let run = Test::new()
        .local_hosts(&["n1"])
        .playbook(pb)
        .args(&["-t", "debug"])
        .run();
    assert_eq!(run.read("log"), "always\nnever\n");
}

#[test]
fn serial_runs_batches_in_order() {
    let run = Test::new()
        .local_hosts(&["n1", "n2", "n3"])
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  serial: 1
  tasks:
    - name: a
      shell: echo "a {{ inventory_hostname }}" >> "{{ playbook_dir }}/log"
    - name: b
      shell: echo "b {{ inventory_hostname }}" >> "{{ playbook_dir }}/log"
"#,
        )
        .run();
    run.assert_code(0);
    assert_eq!(run.read("log"), "a n1\nb n1\na n2\nb n2\na n3\nb n3\n");
}

/// `serial: []` is Ansible's default: one batch of every host (ansible-core
/// 2.19 `_get_serialized_batches` reads an empty list as `[-1]`).
#[test]
fn an_empty_serial_list_is_one_batch_of_every_host() {
    let run = Test::new()
        .local_hosts(&["n1", "n2", "n3"])
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  serial: []
  tasks:
    - name: a
      shell: echo "a {{ inventory_hostname }} {{ ansible_play_batch | length }}" >> "{{ playbook_dir }}/log"
    - name: b
      shell: echo "b {{ inventory_hostname }}" >> "{{ playbook_dir }}/log"
"#,
        )
        .args(&["-f", "1"])
        .run();
    run.assert_code(0);
    assert_eq!(
        run.read("log"),
        "a n1 3\na n2 3\na n3 3\nb n1\nb n2\nb n3\n"
    );
}

/// `-l` names that match no host are warned about as ansible-core 2.19 does
/// (`[WARNING]: Could not match supplied host pattern, ignoring: zzz`), and
/// the run goes on with the hosts the rest selects.
#[test]
fn a_limit_term_that_matches_nothing_is_warned_about() {
    let run = Test::new()
        .local_hosts(&["n1", "n2"])
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - shell: echo "{{ inventory_hostname }}" >> "{{ playbook_dir }}/log"
"#,
        )
        .args(&["-l", "n1,zzz,!yyy"])
        .run();
    run.assert_code(0);
    assert_eq!(run.read("log"), "n1\n");
    for term in ["zzz", "yyy"] {
        assert!(
            run.stderr.contains(&format!(
                "[WARNING]: Could not match supplied host pattern, ignoring: {term}"
            )),
            "{}",
            run.stderr
        );
    }
    assert!(!run.stderr.contains("ignoring: n1"), "{}", run.stderr);
}

#[test]
fn run_once_and_delegate_to() {
    let run = Test::new()
        .local_hosts(TWO)
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: once
      shell: echo "once {{ inventory_hostname }}" >> "{{ playbook_dir }}/log"
      register: once
      run_once: true
    - name: everyone sees it
      assert:
        that: once.rc == 0
    - name: delegated
      shell: echo "for {{ inventory_hostname }}" >> "{{ playbook_dir }}/log"
      delegate_to: n1
"#,
        )
        .args(&["--output", "json"])
        .run();
    run.assert_code(0);
    let log = run.read("log");
    assert_eq!(log.matches("once").count(), 1);
    assert!(log.contains("for n1") && log.contains("for n2"));
    assert_eq!(run.outcome("everyone sees it", "n2"), "ok");
    let delegated = run.results("delegated");
    assert!(delegated.iter().all(|r| r["delegated_to"] == "n1"));
}

#[test]
fn no_log_masks_output_everywhere() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  vars:
    secret: hunter2-s3cret
  tasks:
    - name: uses secret
      shell: echo "{{ secret }}"; exit 1
      no_log: true
"#,
        )
        .args(&["--output", "json", "-vvv"])
        .run();
    run.assert_code(2);
    assert!(!run.stdout.contains("hunter2"), "{}", run.stdout);
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
    assert!(run.stdout.contains("no_log"));
    let human = Test::new()
        .local_hosts(&["n1"])
        .playbook("- hosts: nodes\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"{{ s }}\"\n      no_log: true\n")
        .args(&["-e", "s=topsecret", "-vvv"])
        .run();
    human.assert_code(0);
    assert!(!human.stdout.contains("topsecret") && !human.stderr.contains("topsecret"));
}

#[test]
fn check_mode_changes_nothing_and_says_commands_were_skipped() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: would write
      copy:
        content: "hello\n"
        dest: "{{ playbook_dir }}/file.txt"
    - name: would run
      command: touch "{{ playbook_dir }}/ran"
"#,
        )
        .args(&["--check", "--diff"])
        .run();
    run.assert_code(0);
    assert!(!run.dir.join("file.txt").exists());
    assert!(!run.dir.join("ran").exists());
    assert!(run.stdout.contains("+hello"), "diff shown: {}", run.stdout);
    assert!(run.stdout.contains("check mode"), "{}", run.stdout);
}

#[test]
fn dash_c_local_connects_hosts_whose_inventory_names_no_connection() {
    let play = "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: where\n      command: \"true\"\n";
    // without -c, `-i h1,` means ssh to h1 (which does not resolve)
    let run = Test::new()
        .playbook(play)
        .args(&["-i", "h1,", "--output", "json", "--connect-timeout", "2"])
        .run();
    run.assert_code(3);
    let run = Test::new()
        .playbook(play)
        .args(&["-i", "h1,", "-c", "local", "--output", "json"])
        .run();
    run.assert_code(0);
    assert_eq!(run.outcome("where", "h1"), "changed");
    // a host var still wins over -c, as in Ansible
    let run = Test::new()
        .file(
            "inv.ini",
            "h1 ansible_connection=ssh ansible_host=127.0.0.1 ansible_port=1\n",
        )
        .playbook(play)
        .args(&[
            "-i",
            "inv.ini",
            "-c",
            "local",
            "--output",
            "json",
            "--connect-timeout",
            "2",
        ])
        .run();
    run.assert_code(3);
    let run = Test::new()
        .playbook(play)
        .args(&["-i", "h1,", "-c", "docker"])
        .run();
    assert_eq!(
        run.code,
        Some(4),
        "an unknown -c is bad input: {}",
        run.stderr
    );
    assert!(run.stderr.contains("local"), "{}", run.stderr);
}

#[test]
fn unreachable_host_exits_3_and_others_finish() {
    let run = Test::new()
        .file(
            "inventory.yml",
            "all:\n  hosts:\n    good:\n      ansible_connection: local\n    gone:\n      ansible_host: 127.0.0.1\n      ansible_port: 1\n",
        )
        .playbook(
            r#"
- hosts: all
  gather_facts: false
  tasks:
    - name: touch
      command: touch "{{ playbook_dir }}/{{ inventory_hostname }}"
"#,
        )
        .args(&["--output", "json", "--connect-timeout", "2"])
        .run();
    run.assert_code(3);
    assert!(run.dir.join("good").exists());
    // The connection fails before the first task: the host is unreachable
    // there, with the transport's message and address, and runs no task.
    let events = run.events();
    let first_task = events
        .iter()
        .position(|e| e["event"] == "task_start")
        .expect("a task_start");
    let failed = events
        .iter()
        .position(|e| e["event"] == "host_connected" && e["host"] == "gone")
        .expect("gone's host_connected");
    assert!(failed < first_task, "{}", run.stdout);
    let failed = &events[failed];
    assert_eq!(failed["ok"], false);
    let msg = failed["msg"].as_str().unwrap();
    assert!(
        msg.starts_with("unreachable: ") && msg.ends_with("(connecting to 127.0.0.1:1)"),
        "{msg}"
    );
    assert_eq!(run.outcome("touch", "gone"), "none");
    assert_eq!(run.recap("gone")["unreachable"], 1);
    let stopped = events.iter().find(|e| e["event"] == "stopped").unwrap();
    assert!(
        stopped["reason"].as_str().unwrap().contains(
            "gone became UNREACHABLE while connecting, before the first task of play `all`"
        ),
        "{stopped}"
    );
    let recap = events.iter().find(|e| e["event"] == "recap").unwrap();
    assert_eq!(recap["connect"]["hosts"], 2);
    assert_eq!(recap["connect"]["failed"], 1);
}

/// Every host's connection opens before the first task (connect_start,
/// then one host_connected per host), and the recap tells connection time
/// from task time.
#[test]
fn connections_open_before_the_first_task_and_are_timed_apart() {
    let run = Test::new()
        .local_hosts(&["n1", "n2", "n3"])
        .playbook(
            r#"
- hosts: nodes
  tasks:
    - name: one
      command: "true"
"#,
        )
        .args(&["--output", "json"])
        .run();
    run.assert_code(0);
    let events = run.events();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    let start = kinds
        .iter()
        .position(|k| *k == "connect_start")
        .expect("connect_start");
    let first_task = kinds.iter().position(|k| *k == "task_start").unwrap();
    assert!(start < first_task, "{kinds:?}");
    let mut connected: Vec<&str> = events[start..first_task]
        .iter()
        .filter(|e| e["event"] == "host_connected")
        .map(|e| {
            assert_eq!(e["ok"], true, "{e}");
            assert_eq!(e["target"], "local");
            assert!(e["elapsed_ms"].as_f64().unwrap() >= 0.0);
            e["host"].as_str().unwrap()
        })
        .collect();
    connected.sort();
    assert_eq!(connected, ["n1", "n2", "n3"]);
    assert_eq!(events[start]["hosts"].as_array().unwrap().len(), 3);
    // No second round of connections for the later tasks.
    assert_eq!(kinds.iter().filter(|k| **k == "connect_start").count(), 1);
    let recap = events.last().unwrap();
    assert_eq!(recap["event"], "recap");
    assert_eq!(recap["connect"]["hosts"], 3);
    assert_eq!(recap["connect"]["failed"], 0);
    let connect_ms = recap["connect"]["elapsed_ms"].as_f64().unwrap();
    let tasks_ms = recap["tasks_ms"].as_f64().unwrap();
    let total_ms = recap["elapsed_ms"].as_f64().unwrap();
    assert!((connect_ms + tasks_ms - total_ms).abs() < 0.01, "{recap}");
}

/// A play whose tasks all run on the controller (debug, set_fact, assert)
/// opens no connection, as before: an unreachable host is not reported.
#[test]
fn a_controller_only_play_opens_no_connection() {
    let run = Test::new()
        .file(
            "inventory.yml",
            "all:\n  hosts:\n    gone:\n      ansible_host: 127.0.0.1\n      ansible_port: 1\n",
        )
        .playbook(
            r#"
- hosts: all
  gather_facts: false
  tasks:
    - name: say
      debug:
        msg: "{{ inventory_hostname }}"
"#,
        )
        .args(&["--output", "json", "--connect-timeout", "2"])
        .run();
    run.assert_code(0);
    assert!(!run.events().iter().any(|e| e["event"] == "connect_start"));
    assert_eq!(run.outcome("say", "gone"), "ok");
}

/// With `ignore_unreachable` in the play, a failed connection is reported
/// but the tasks decide, as in Ansible: the host goes on.
#[test]
fn ignore_unreachable_still_keeps_a_host_whose_connection_failed() {
    let run = Test::new()
        .file(
            "inventory.yml",
            "all:\n  hosts:\n    gone:\n      ansible_host: 127.0.0.1\n      ansible_port: 1\n",
        )
        .playbook(
            r#"
- hosts: all
  gather_facts: false
  tasks:
    - name: try
      command: "true"
      ignore_unreachable: true
      register: r
    - name: after
      debug:
        msg: "{{ r.unreachable }}"
"#,
        )
        .args(&["--output", "json", "--connect-timeout", "2"])
        .run();
    assert!(run
        .events()
        .iter()
        .any(|e| e["event"] == "host_connected" && e["ok"] == false));
    assert_eq!(run.outcome("try", "gone"), "unreachable");
    assert_eq!(run.outcome("after", "gone"), "ok");
}

/// As Ansible: a delegated task to an unreachable host, kept by
/// `ignore_unreachable`, registers `unreachable: true` (not `failed`) and
/// the connection error in `msg`.
#[test]
fn an_ignored_unreachable_result_is_registered_as_unreachable() {
    let run = Test::new()
        .file(
            "inventory.yml",
            "all:\n  hosts:\n    good:\n      ansible_connection: local\n    gone:\n      ansible_host: 127.0.0.1\n      ansible_port: 1\n",
        )
        .playbook(
            r#"
- hosts: good
  gather_facts: false
  tasks:
    - name: reach gone
      command: "true"
      delegate_to: gone
      ignore_unreachable: true
      register: r
    - name: what was registered
      assert:
        that:
          - r.unreachable
          - r is not failed
          - r.msg is search('127.0.0.1')
"#,
        )
        .args(&["--output", "json", "--connect-timeout", "2"])
        .run();
    run.assert_code(0);
    assert_eq!(run.outcome("what was registered", "good"), "ok");
}

#[test]
fn facts_are_gathered_by_default() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .playbook(
            r#"
- hosts: nodes
  tasks:
    - name: show
      debug:
        msg: "{{ ansible_hostname }} {{ ansible_facts.lo.ipv4.address }}"
"#,
        )
        .args(&["--output", "json"])
        .run();
    run.assert_code(0);
    let msg = run.results("show")[0]["result"]["msg"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.ends_with(" 127.0.0.1"), "{msg}");
}

#[test]
fn setup_is_a_module_its_facts_become_the_hosts_facts() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: facts
      ansible.builtin.setup:
      register: gathered
    - name: show
      debug:
        msg: "{{ ansible_hostname }} {{ ansible_facts.lo.ipv4.address }} {{ gathered.ansible_facts.ansible_lo.ipv4.prefix }}"
- hosts: nodes
  tasks:
    - name: later play
      debug:
        msg: "{{ ansible_facts.system }}"
"#,
        )
        .args(&["--output", "json", "--check"])
        .run();
    run.assert_code(0);
    assert_eq!(run.outcome("facts", "n1"), "ok");
    let msg = run.results("show")[0]["result"]["msg"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.ends_with(" 127.0.0.1 8"), "{msg}");
    // The facts are known, so the second play's gather_facts has nothing to do.
    assert!(run.results("Gathering Facts").is_empty());
    assert_eq!(run.results("later play")[0]["result"]["msg"], "Linux");
}

#[test]
fn roles_defaults_vars_precedence_and_extra_vars() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .file(
            "roles/r/defaults/main.yml",
            "a: default\nb: default\nc: default\nd: default\n",
        )
        .file("roles/r/vars/main.yml", "c: rolevar\n")
        .file(
            "roles/r/tasks/main.yml",
            "- name: show\n  debug:\n    msg: \"{{a}} {{b}} {{c}} {{d}}\"\n",
        )
        .file("group_vars/nodes.yml", "b: group\n")
        .playbook(
            "- hosts: nodes\n  gather_facts: false\n  vars:\n    a: play\n  roles:\n    - r\n",
        )
        .args(&["--output", "json", "-e", "d=extra"])
        .run();
    run.assert_code(0);
    assert_eq!(
        run.results("r : show")[0]["result"]["msg"],
        "play group rolevar extra"
    );
}

#[test]
fn named_playbook_resolves_from_playbooks_dir_and_lists() {
    let t = Test::new()
        .local_hosts(&["n1"])
        .file("playbooks/hello.yml", "- hosts: nodes\n  gather_facts: false\n  tasks:\n    - name: hello task\n      debug: msg=hi\n      tags: greet\n");
    let run = t.baton(&[
        "run".into(),
        "hello".into(),
        "-i".into(),
        "inventory.yml".into(),
        "--list-tasks".into(),
        "--list-hosts".into(),
    ]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("hello task")
            && run.stdout.contains("TAGS: [greet]")
            && run.stdout.contains("n1")
    );
    let run = t.baton(&["run".into(), "helo".into()]);
    run.assert_code(4);
    assert!(
        run.stderr.contains("did you mean `hello`"),
        "{}",
        run.stderr
    );
}

#[test]
fn start_at_task_skips_earlier_tasks() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .playbook("- hosts: nodes\n  gather_facts: false\n  tasks:\n    - name: one\n      shell: echo one >> log\n      args: {chdir: \"{{playbook_dir}}\"}\n    - name: two\n      shell: echo two >> log\n      args: {chdir: \"{{playbook_dir}}\"}\n")
        .args(&["--start-at-task", "two"])
        .run();
    run.assert_code(0);
    assert_eq!(run.read("log"), "two\n");
}

#[test]
fn junit_has_one_case_per_host_and_task() {
    let run = Test::new()
        .local_hosts(TWO)
        .playbook("- hosts: nodes\n  gather_facts: false\n  tasks:\n    - name: a\n      command: /bin/true\n    - name: b\n      command: /bin/false\n      when: inventory_hostname == \"n2\"\n")
        .args(&["--junit", "report.xml"])
        .run();
    run.assert_code(2);
    let xml = run.read("report.xml");
    assert_eq!(xml.matches("<testcase").count(), 4, "{xml}");
    assert_eq!(xml.matches("<failure").count(), 1, "{xml}");
}

#[test]
fn adhoc_and_ping_commands() {
    let t = Test::new().local_hosts(TWO);
    let run = t.baton(&[
        "adhoc".into(),
        "nodes".into(),
        "-i".into(),
        "inventory.yml".into(),
        "-m".into(),
        "shell".into(),
        "-a".into(),
        "echo hi > adhoc-{{inventory_hostname}}".into(),
    ]);
    run.assert_code(0);
    assert!(t.path().join("adhoc-n1").exists() && t.path().join("adhoc-n2").exists());
    let run = t.baton(&["ping".into(), "-i".into(), "inventory.yml".into()]);
    run.assert_code(0);
    assert!(run.stdout.contains("n1") && run.stdout.contains("n2"));
}

#[test]
fn templated_task_names_are_shown_rendered() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .playbook("- hosts: nodes\n  gather_facts: false\n  vars:\n    node: bc2\n  tasks:\n    - name: Stop HVR on {{ node }}\n      command: /bin/true\n")
        .args(&["--output", "json"])
        .run();
    run.assert_code(0);
    assert_eq!(run.outcome("Stop HVR on bc2", "n1"), "changed");
}

#[test]
fn when_every_host_of_a_play_failed_later_plays_do_not_start() {
    let run = Test::new()
        .local_hosts(TWO)
        .playbook(
            r#"
- hosts: n1
  gather_facts: false
  tasks:
    - name: breaks
      command: /bin/false
- hosts: n2
  gather_facts: false
  tasks:
    - name: must not run
      command: touch "{{ playbook_dir }}/x"
"#,
        )
        .run();
    run.assert_code(2);
    assert!(!run.dir.join("x").exists());
    assert!(run.stdout.contains("no hosts left"), "{}", run.stdout);
}

#[test]
fn templated_hosts_with_play_vars_that_need_host_vars() {
    let run = Test::new()
        .local_hosts(TWO)
        .playbook(
            r#"
- hosts: "{{ target }}"
  gather_facts: false
  vars:
    greeting: "hello {{ inventory_hostname }}"
  tasks:
    - name: greet
      debug:
        msg: "{{ greeting }}"
"#,
        )
        .args(&["-e", "target=n2", "--output", "json"])
        .run();
    run.assert_code(0);
    assert_eq!(run.results("greet")[0]["result"]["msg"], "hello n2");
    assert_eq!(run.results("greet").len(), 1);
}

#[test]
fn failed_when_and_changed_when_override_the_verdict() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: rc 1 is fine here
      command: /bin/false
      register: r
      failed_when: r.rc > 1
    - name: output decides failure
      command: echo ERROR found
      register: out
      failed_when: "'ERROR' in out.stdout"
      ignore_errors: true
    - name: read-only probe
      command: echo fine
      register: probe
      changed_when:
        - probe.rc == 0
        - "'changed' in probe.stdout"
"#,
        )
        .args(&["--output", "json"])
        .run();
    run.assert_code(0);
    assert_eq!(run.outcome("rc 1 is fine here", "n1"), "changed");
    let out = &run.results("output decides failure")[0];
    assert_eq!(out["outcome"], "failed");
    assert!(out["result"]["msg"]
        .as_str()
        .unwrap()
        .contains("failed_when was true"));
    assert_eq!(run.outcome("read-only probe", "n1"), "ok");
}

#[test]
fn hostvars_reach_other_hosts_registered_values_and_inventory_vars() {
    let run = Test::new()
        .local_hosts(TWO)
        .file("host_vars/n2.yml", "role_name_here: standby\n")
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: each host registers its name
      command: echo "{{ inventory_hostname }}"
      register: me
      changed_when: false
    - name: n1 reads n2
      debug:
        msg: "{{ hostvars['n2']['role_name_here'] }} {{ hostvars['n2'].me.stdout }}"
      when: inventory_hostname == "n1"
"#,
        )
        .args(&["--output", "json"])
        .run();
    run.assert_code(0);
    let msg = run
        .results("n1 reads n2")
        .into_iter()
        .find(|r| r["host"] == "n1")
        .unwrap()["result"]["msg"]
        .clone();
    assert_eq!(msg, "standby n2");
}

#[test]
fn ctrl_c_finishes_the_running_task_then_stops_and_reports() {
    let t = Test::new().local_hosts(TWO).playbook(
        r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: long step
      shell: sleep 1.5; touch "{{ playbook_dir }}/{{ inventory_hostname }}.done"
    - name: next step
      command: touch "{{ playbook_dir }}/{{ inventory_hostname }}.next"
"#,
    );
    let run = t.run_interrupted(std::time::Duration::from_millis(700));
    let stdout = &run.stdout;
    assert_eq!(run.code, Some(130), "{stdout}");
    for host in TWO {
        assert!(
            t.path().join(format!("{host}.done")).exists(),
            "the running task finished on {host}"
        );
        assert!(
            !t.path().join(format!("{host}.next")).exists(),
            "nothing after it started on {host}"
        );
    }
    assert!(stdout.contains("interrupted by the operator"), "{stdout}");
    assert!(stdout.contains("`next step`"), "{stdout}");
    assert!(stdout.contains("PLAY RECAP"), "{stdout}");
}

#[test]
fn fully_qualified_ansible_module_names_work() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .file(
            "more.yml",
            "- name: imported\n  ansible.builtin.debug:\n    msg: from import\n",
        )
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: fqcn copy
      ansible.builtin.copy:
        content: "x\n"
        dest: "{{ playbook_dir }}/fq.txt"
    - name: legacy name
      ansible.legacy.command: /bin/true
    - ansible.builtin.import_tasks: more.yml
"#,
        )
        .args(&["--output", "json"])
        .run();
    run.assert_code(0);
    assert_eq!(run.read("fq.txt"), "x\n");
    assert_eq!(run.outcome("legacy name", "n1"), "changed");
    assert_eq!(run.outcome("imported", "n1"), "ok");
}

#[test]
fn jinja_typing_omit_python_printing_and_both_template_engines() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  vars:
    nodes: [bc1, bc2]
    flags: {vip: true}
  tasks:
    - name: a lone expression keeps its type, text around it makes a string
      set_fact:
        as_list: "{{ nodes }}"
        as_text: "nodes={{ nodes }} vip={{ flags.vip }} none={{ None }}"
    - name: write both
      copy:
        dest: "{{ playbook_dir }}/out.txt"
        content: "{{ as_list | length }} {{ as_list[1] }} {{ as_text }}\n"
        mode: "{{ unset_mode | default(omit) }}"
    - name: jinja template file
      template:
        src: motd.j2
        dest: "{{ playbook_dir }}/motd"
    - name: handlebars template file
      template:
        src: legacy.hbs
        dest: "{{ playbook_dir }}/legacy"
"#,
        )
        .file(
            "templates/motd.j2",
            "# {{ ansible_managed }}\n{% for n in nodes %}\n{{ n | upper }}\n{% endfor %}\n",
        )
        .file(
            "templates/legacy.hbs",
            "{{#each nodes}}{{this}};{{/each}}\n",
        )
        .run();
    run.assert_code(0);
    assert_eq!(
        std::fs::read_to_string(run.dir.join("out.txt")).unwrap(),
        "2 bc2 nodes=['bc1', 'bc2'] vip=True none=\n"
    );
    let motd = std::fs::read_to_string(run.dir.join("motd")).unwrap();
    assert!(motd.starts_with("# Ansible managed\n"), "{motd}");
    assert!(motd.ends_with("BC1\nBC2\n"), "{motd}");
    assert_eq!(
        std::fs::read_to_string(run.dir.join("legacy")).unwrap(),
        "bc1;bc2;\n"
    );
}

#[test]
fn loop_items_that_ran_have_no_skipped_key() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: some items skip
      command: "echo {{ item }}"
      loop: [1, 2, 3]
      when: item != 2
      register: r
    - name: plain task
      command: echo plain
      register: p
    - name: check
      assert:
        that:
          - r.results | rejectattr('skipped', 'defined') | map(attribute='item') | list == [1, 3]
          - r.results | selectattr('skipped', 'defined') | map(attribute='item') | list == [2]
          - r.results[1] is skipped
          - r.results[0] is not skipped
          - r is not skipped
          - p is not skipped
          - p.skipped is not defined
"#,
        )
        .args(&["--output", "json"])
        .run();
    run.assert_code(0);
    assert_eq!(run.outcome("check", "n1"), "ok");
}

#[test]
fn new_user_trial_backslashes_key_value_args_and_omit_in_containers() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  vars:
    h: web-01.x
    out: "{{ playbook_dir }}/out"
    opts: "{{ {'a': 1, 'b': omit} }}"
  tasks:
    - file: path={{ out }} state=directory
    - file: path={{ out }}/a state=touch
    - debug: msg={{ out }}
    - copy: dest={{ out }}/kv content="x y\n"
    - copy:
        dest: "{{ out }}/short"
        content: "{{ h | regex_replace('^([^.]+)\\..*$', '\\1') }}\n"
    - copy:
        dest: "{{ out }}/tab"
        content: "{{ 'a\\tb' }}\n"
    - copy:
        dest: "{{ out }}/omit"
        content: "{{ opts }} {{ [1, omit, 2] }}\n"
      when: "'a\\tb' == 'a\tb'"
"#,
        )
        .run();
    run.assert_code(0);
    let read = |f: &str| std::fs::read_to_string(run.dir.join(format!("out/{f}"))).unwrap();
    assert!(run.dir.join("out/a").is_file());
    assert_eq!(read("kv"), "x y\n");
    assert_eq!(read("short"), "web-01\n");
    assert_eq!(read("tab"), "a\\tb\n");
    assert_eq!(read("omit"), "{'a': 1} [1, 2]\n");
}

/// `vars_files` names are rendered per host once facts are gathered (Ansible
/// `vars/manager.py`): two hosts read different files through an inventory
/// variable, a fact picks a file, and the first existing alternative wins.
/// With facts, an undefined name is refused; a name none of whose files
/// exists is refused too (Ansible skips it silently), naming what it tried.
#[test]
fn vars_files_are_read_per_host_after_facts() {
    let run = Test::new()
        .file(
            "inventory.yml",
            "all:\n  hosts:\n    n1: {ansible_connection: local, site: east}\n    n2: {ansible_connection: local, site: west}\n",
        )
        .file("vars/east.yml", "dc: east-1\n")
        .file("vars/west.yml", "dc: west-1\n")
        .file("vars/Linux.yml", "kernel: linux\n")
        .file("vars/default.yml", "kernel: other\n")
        .playbook(
            r#"
- hosts: all
  gather_facts: true
  vars_files:
    - "vars/{{ site }}.yml"
    - ["{{ ansible_system }}-{{ site }}.yml", "{{ ansible_system }}.yml", default.yml]
  tasks:
    - copy:
        dest: "{{ playbook_dir }}/out-{{ inventory_hostname }}"
        content: "{{ dc }} {{ kernel }}\n"
"#,
        )
        .run();
    run.assert_code(0);
    assert_eq!(run.read("out-n1"), "east-1 linux\n");
    assert_eq!(run.read("out-n2"), "west-1 linux\n");

    let undefined = Test::new()
        .local_hosts(&["n1"])
        .playbook(
            "- hosts: nodes\n  gather_facts: true\n  vars_files:\n    - \"vars/{{ ansible_nope }}.yml\"\n  tasks:\n    - command: touch ran\n",
        )
        .run();
    undefined.assert_code(4);
    assert!(
        undefined.stderr.contains("ansible_nope"),
        "{}",
        undefined.stderr
    );
    assert!(
        undefined.stderr.contains("play.yml:4"),
        "{}",
        undefined.stderr
    );
    assert!(!undefined.dir.join("ran").exists());

    let missing = Test::new()
        .local_hosts(&["n1"])
        .playbook(
            "- hosts: nodes\n  gather_facts: true\n  vars_files:\n    - [\"vars/{{ ansible_system }}-x.yml\", \"{{ inventory_hostname }}.yml\"]\n  tasks:\n    - command: touch ran\n",
        )
        .run();
    missing.assert_code(4);
    assert!(
        missing.stderr.contains("no vars file of this entry exists"),
        "{}",
        missing.stderr
    );
    assert!(
        missing.stderr.contains("vars/Linux-x.yml"),
        "{}",
        missing.stderr
    );
    assert!(missing.stderr.contains("n1.yml"), "{}", missing.stderr);
    assert!(!missing.dir.join("ran").exists());
}

/// Roles are found as Ansible finds them: `roles/` beside the playbook, then
/// ANSIBLE_ROLES_PATH (relative to the current directory), else the
/// `roles_path` of the ansible.cfg Ansible would read (ANSIBLE_CONFIG, then
/// ./ansible.cfg; relative to that file); a role not found names where the
/// search path came from.
#[test]
fn roles_path_comes_from_ansible_cfg_or_ansible_roles_path() {
    let role = |t: Test, dir: &str, word: &str| {
        t.file(
            &format!("{dir}/r/tasks/main.yml"),
            &format!("- copy:\n    dest: \"{{{{ playbook_dir }}}}/../out.txt\"\n    content: \"{word}\\n\"\n"),
        )
    };
    let t = Test::new()
        .local_hosts(&["n1"])
        .file(
            "site/play.yml",
            "- hosts: nodes\n  gather_facts: false\n  roles: [r]\n",
        )
        .file("ansible.cfg", "[defaults]\nroles_path = lib/roles:other\n")
        .file(
            "conf/ansible.cfg",
            "[defaults]\nroles_path = ../env-roles\n",
        );
    let t = role(
        role(role(t, "lib/roles", "cfg"), "env-roles", "env-config"),
        "cwd-roles",
        "roles-path",
    );
    let run = |t: &Test, env: &[(&str, &str)]| {
        let mut cmd = assert_cmd::Command::cargo_bin("baton").unwrap();
        cmd.current_dir(t.path())
            .args(["run", "site/play.yml", "-i", "inventory.yml"])
            .env_remove("ANSIBLE_ROLES_PATH")
            .env_remove("BATON_ROLES_PATH")
            .env_remove("ANSIBLE_CONFIG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let text = std::fs::read_to_string(t.path().join("out.txt")).unwrap_or_default();
        (
            out.status.code(),
            text,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(
        run(&t, &[]).1,
        "cfg\n",
        "./ansible.cfg roles_path, relative to the file"
    );
    let conf = t.path().join("conf").display().to_string();
    assert_eq!(
        run(&t, &[("ANSIBLE_CONFIG", &conf)]).1,
        "env-config\n",
        "ANSIBLE_CONFIG (a directory)"
    );
    assert_eq!(
        run(
            &t,
            &[
                ("ANSIBLE_CONFIG", &conf),
                ("ANSIBLE_ROLES_PATH", "cwd-roles")
            ]
        )
        .1,
        "roles-path\n",
        "ANSIBLE_ROLES_PATH over any ansible.cfg"
    );
    std::fs::write(
        t.path().join("ansible.cfg"),
        "[defaults]\nroles_path = nowhere\n",
    )
    .unwrap();
    std::fs::remove_file(t.path().join("out.txt")).unwrap();
    let (code, _, stderr) = run(&t, &[]);
    assert_eq!(code, Some(4), "{stderr}");
    assert!(stderr.contains("role `r` not found"), "{stderr}");
    assert!(stderr.contains("nowhere/r"), "{stderr}");
    assert!(stderr.contains("roles_path in"), "{stderr}");
    std::fs::write(t.path().join("ansible.cfg"), "[defaults]\nroles_path lib\n").unwrap();
    let (code, _, stderr) = run(&t, &[]);
    assert_eq!(code, Some(4), "{stderr}");
    assert!(stderr.contains("ansible.cfg:2"), "{stderr}");
}

/// Ansible runs a role once per play unless its parameters differ or its
/// meta sets `allow_duplicates`; a dependency already run is not run again;
/// a role's handlers are defined once per distinct role and see its
/// parameters and defaults; notify by name runs the last handler defined
/// with it (ansible-core 2.19: `web=80`, `web=8080`, `dup` twice, `base`
/// once, `app` once, handler `8080 blue`).
#[test]
fn a_role_runs_once_per_play_unless_params_differ_or_duplicates_are_allowed() {
    let log = "      shell: echo {{ msg }} >> \"{{ playbook_dir }}/log\"\n";
    let run = Test::new()
        .local_hosts(&["n1"])
        .file("roles/web/defaults/main.yml", "wport: 80\ncolor: blue\n")
        .file(
            "roles/web/tasks/main.yml",
            &format!("- name: say\n  vars: {{msg: \"web={{{{ wport }}}}\"}}\n{}  notify: restart web\n", &log[4..]),
        )
        .file(
            "roles/web/handlers/main.yml",
            &format!("- name: restart web\n  vars: {{msg: \"handler={{{{ wport }}}}-{{{{ color }}}}\"}}\n{}", &log[4..]),
        )
        .file("roles/dup/meta/main.yml", "allow_duplicates: true\n")
        .file("roles/dup/tasks/main.yml", &format!("- vars: {{msg: dup}}\n{}", &log[4..]))
        .file("roles/base/tasks/main.yml", &format!("- vars: {{msg: base}}\n{}", &log[4..]))
        .file("roles/app/meta/main.yml", "dependencies: [base]\n")
        .file("roles/app/tasks/main.yml", &format!("- vars: {{msg: app}}\n{}", &log[4..]))
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  roles:
    - web
    - web
    - {role: web, wport: 8080}
    - {role: web, wport: 8080}
    - dup
    - dup
    - base
    - app
    - app
"#,
        )
        .run();
    run.assert_code(0);
    assert_eq!(
        run.read("log"),
        "web=80\nweb=8080\ndup\ndup\nbase\napp\nhandler=8080-blue\n"
    );
}

/// A role's task prints as `role : name` (Ansible's `TASK [web : say]`);
/// `--start-at-task` takes the bare name or `role : name`.
#[test]
fn role_tasks_are_named_role_colon_name_and_start_at_task_takes_either() {
    for start in ["two", "r : two"] {
        let run = Test::new()
            .local_hosts(&["n1"])
            .file(
                "roles/r/tasks/main.yml",
                "- name: one\n  shell: echo one >> \"{{ playbook_dir }}/log\"\n- name: two\n  shell: echo two >> \"{{ playbook_dir }}/log\"\n- shell: echo three >> \"{{ playbook_dir }}/log\"\n",
            )
            .playbook("- hosts: nodes\n  gather_facts: false\n  roles: [r]\n")
            .args(&["--start-at-task", start])
            .run();
        run.assert_code(0);
        assert_eq!(run.read("log"), "two\nthree\n", "--start-at-task {start}");
        assert!(run.stdout.contains("TASK [r : two]"), "{}", run.stdout);
        assert!(
            run.stdout.contains("TASK [r : shell echo three"),
            "{}",
            run.stdout
        );
    }
}

/// `ansible_failed_task.name` of an unnamed task is '' (ansible-core 2.19),
/// not the shown `module args`; `.action` is the module.
#[test]
fn ansible_failed_task_name_is_empty_for_an_unnamed_task() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - block:
        - command: /bin/false
      rescue:
        - shell: echo "[{{ ansible_failed_task.name }}] {{ ansible_failed_task.action }}" > "{{ playbook_dir }}/out"
"#,
        )
        .run();
    run.assert_code(0);
    assert_eq!(run.read("out"), "[] command\n");
}

/// A loop keeps only each item's result while it runs; the registered
/// `results` (item, `ansible_loop_var`, `index_var`, `ansible_loop`) are
/// made at the end for `register`, and for a rescue after a failure
/// (`ansible_failed_result.results`), as before.
#[test]
fn loop_results_reach_register_and_rescue() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: looped
      debug: {msg: "m{{ item }}"}
      loop: [a, b, c]
      loop_control: {index_var: i, extended: true}
      register: r
    - name: write
      copy:
        dest: "{{ playbook_dir }}/reg"
        content: "{{ r.results | map(attribute='item') | join(',') }} {{ r.results | map(attribute='i') | join(',') }} {{ r.results[2].ansible_loop.last }} {{ r.results[1].msg }} {{ r.results[0].ansible_loop_var }}"
    - block:
        - name: fails on b
          command: "{{ 'false' if item == 'b' else 'true' }}"
          loop: [a, b, c]
      rescue:
        - name: rescued
          copy:
            dest: "{{ playbook_dir }}/rescued"
            content: "{{ ansible_failed_result.results | map(attribute='item') | join(',') }} {{ ansible_failed_result.results | map(attribute='rc') | join(',') }}"
"#,
        )
        .run();
    run.assert_code(0);
    assert_eq!(
        std::fs::read_to_string(run.dir.join("reg")).unwrap(),
        "a,b,c 0,1,2 True mb item"
    );
    assert_eq!(
        std::fs::read_to_string(run.dir.join("rescued")).unwrap(),
        "a,b,c 0,1,0"
    );
}

/// slurp's limit, as the README's module table states it: a file over
/// 12 MiB (whose base64 would not fit the 16 MiB output cap, nor a
/// registered value) fails the task before it is read, saying so.
#[test]
fn slurp_of_a_file_over_the_value_limit_fails_under_register() {
    let t = Test::new().local_hosts(&["n1"]);
    let dir = t.path().to_path_buf();
    std::fs::write(dir.join("small.bin"), b"Kkk").unwrap();
    std::fs::write(dir.join("big.bin"), vec![b'b'; 12_600_000]).unwrap();
    let run = t
        .playbook(&format!(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: small
      slurp: src={dir}/small.bin
      register: small
    - name: content
      debug:
        msg: "{{{{ small.content }}}}"
    - name: big
      slurp: src={dir}/big.bin
      register: big
"#,
            dir = dir.display()
        ))
        .args(&["--output", "json"])
        .run();
    run.assert_code(2);
    assert_eq!(run.results("content")[0]["result"]["msg"], "S2tr");
    assert_eq!(run.outcome("big", "n1"), "failed");
    let msg = run.results("big")[0]["result"]["msg"].to_string();
    assert!(msg.contains("at most 12 MiB"), "{msg}");
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let row = readme
        .lines()
        .find(|l| l.starts_with("| `slurp` |"))
        .expect("README: slurp's row in the module table");
    assert!(row.contains("16 MiB") && row.contains("12 MiB"), "{row}");
}

#[test]
fn each_loop_item_reports_its_own_start_and_duration() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: naps
      command: sleep 0.3
      loop: [a, b, c]
"#,
        )
        .args(&["--output", "json"])
        .run();
    run.assert_code(0);
    let items: Vec<_> = run
        .events()
        .into_iter()
        .filter(|e| e["event"] == "host_result" && !e["item"].is_null())
        .collect();
    assert_eq!(items.len(), 3);
    let task = &run.results("naps")[0];
    let task_start = task["started_at"].as_f64().unwrap();
    let mut previous_end = task_start;
    for item in &items {
        let start = item["started_at"].as_f64().unwrap();
        let ms = item["elapsed_ms"].as_f64().unwrap();
        assert!(ms >= 300.0, "item {} took {ms} ms", item["item"]);
        assert!(start >= previous_end, "item {} started early", item["item"]);
        previous_end = start + ms / 1000.0;
    }
    let task_end = task_start + task["elapsed_ms"].as_f64().unwrap() / 1000.0;
    assert!(previous_end <= task_end + 0.001);
}

#[test]
fn debug_of_a_null_message_shows_null_not_hello_world() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: none
      debug:
        msg: "{{ none }}"
    - name: no match
      debug:
        msg: "{{ 'abc' | regex_search('z') }}"
    - name: default
      debug:
"#,
        )
        .args(&["--output", "json"])
        .run();
    run.assert_code(0);
    for task in ["none", "no match"] {
        let result = &run.results(task)[0]["result"];
        assert_eq!(result["data"]["msg"], serde_json::Value::Null, "{task}");
    }
    assert_eq!(
        run.results("default")[0]["result"]["data"]["msg"],
        "Hello world!"
    );
}

/// A templated `baton_*` connection variable is rendered and checked as its
/// `ansible_*` twin: `baton_port: "{{ p }}"` connected to port 22, a
/// templated `baton_ssh_kex`/`baton_persist` was taken as written, and an
/// undefined one was no error. The same for the Gathering Facts task and
/// for a task delegated to the host, which once connected with the
/// inventory's values as written (`{{ p }}` as a port), both spellings.
#[test]
fn templated_baton_connection_vars_are_rendered_like_their_ansible_twins() {
    let play = |gather: &str| {
        match gather {
        "delegated" => "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: \"true\"\n      delegate_to: x\n".to_string(),
        _ => format!("- hosts: all\n  gather_facts: {gather}\n  tasks:\n    - command: \"true\"\n"),
    }
    };
    let inventory = |key: &str, value: &str| {
        format!("all:\n  hosts:\n    x:\n      ansible_host: 127.0.0.1\n      {key}: \"{value}\"\n      p: 2\n      kx: bogus\n      ps: 99999999\n      ansible_ssh_port: 1\n")
    };
    for gather in ["false", "true", "delegated"] {
        for key in ["ansible_port", "baton_port"] {
            let run = Test::new()
                .file("inventory.yml", &inventory(key, "{{ p }}"))
                .playbook(&play(gather))
                .args(&["--connect-timeout", "2"])
                .run();
            run.assert_code(3);
            let out = format!("{}{}", run.stdout, run.stderr);
            assert!(out.contains("127.0.0.1:2)"), "{key} {gather}: {out}");
        }
        // The rendered value is what is checked.
        for (key, value, shown) in [
            ("baton_ssh_kex", "{{ kx }}", "baton_ssh_kex `bogus`"),
            ("baton_persist", "{{ ps }}", "baton_persist `99999999`"),
        ] {
            let run = Test::new()
                .file("inventory.yml", &inventory(key, value))
                .playbook(&play(gather))
                .args(&["--connect-timeout", "2"])
                .run();
            let out = format!("{}{}", run.stdout, run.stderr);
            assert_ne!(run.code, Some(0), "{key} {gather}: {out}");
            assert!(out.contains(shown), "{key} {gather}: {out}");
        }
        for key in [
            "ansible_port",
            "baton_port",
            "baton_ssh_kex",
            "baton_persist",
            "baton_ssh_known_hosts_file",
        ] {
            let run = Test::new()
                .file("inventory.yml", &inventory(key, "{{ nope }}"))
                .playbook(&play(gather))
                .args(&["--connect-timeout", "2"])
                .run();
            run.assert_code(4);
            assert!(
                run.stderr.contains("undefined variable `nope`")
                    && run.stderr.contains("inventory.yml:5:"),
                "{key} {gather}: {}",
                run.stderr
            );
        }
    }
}

/// An `include_vars` file's literal connection values are checked as any
/// vars file's, except under `name:`, where they are one variable's keys
/// (`stuff.ansible_port`), no connection variables.
#[test]
fn include_vars_checks_connection_values_except_under_a_name() {
    let play = |name: &str| {
        format!("- hosts: all\n  gather_facts: false\n  tasks:\n    - include_vars:\n        file: incl.yml\n{name}    - debug:\n        msg: \"{{{{ stuff.ansible_port | default('none') }}}}\"\n")
    };
    let run = Test::new()
        .local_hosts(&["n1"])
        .file("incl.yml", "ansible_port: 65536\n")
        .playbook(&play("        name: stuff\n"))
        .run();
    run.assert_code(0);
    assert!(run.stdout.contains("65536"), "{}", run.stdout);
    let run = Test::new()
        .local_hosts(&["n1"])
        .file("incl.yml", "ansible_port: 65536\n")
        .playbook(&play(""))
        .run();
    run.assert_code(4);
    assert!(
        run.stderr
            .contains("ansible_port: `65536` is not a port number")
            && run.stderr.contains("incl.yml:1:"),
        "{}",
        run.stderr
    );
}

/// `include_role: name=r tasks_from=other` (the one-line form Ansible
/// takes) runs as the mapping form does; it was refused ("needs `name:`").
#[test]
fn include_role_takes_its_options_on_one_line() {
    let run = Test::new()
        .local_hosts(&["n1"])
        .file("roles/r/tasks/main.yml", "- debug: msg=main-of-r\n")
        .file("roles/r/tasks/other.yml", "- debug: msg=other-of-r\n")
        .playbook("- hosts: all\n  gather_facts: false\n  tasks:\n    - include_role: name=r\n    - import_role: name=r tasks_from=other\n")
        .run();
    run.assert_code(0);
    assert!(
        run.stdout.contains("main-of-r") && run.stdout.contains("other-of-r"),
        "{}",
        run.stdout
    );
}

/// `hostvars[h]` has `-e` too, above the host's own, as Ansible's does: a
/// template reading `hostvars['e'].ansible_host` agrees with where a task
/// delegated to `e` connects.
#[test]
fn hostvars_of_another_host_see_extra_vars() {
    let run = Test::new()
        .file(
            "inventory.yml",
            "all:\n  hosts:\n    h1:\n      ansible_connection: local\n    e:\n      ansible_host: \"{{ x }}\"\n      y: own\n",
        )
        .playbook("- hosts: h1\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"{{ hostvars['e'].x }} {{ hostvars['e'].ansible_host }} {{ hostvars['e'].y }}\"\n")
        .args(&["-e", "x=127.0.0.9", "-e", "y=from-e"])
        .run();
    run.assert_code(0);
    assert!(
        run.stdout.contains("127.0.0.9 127.0.0.9 from-e"),
        "{}",
        run.stdout
    );
}

/// `-e` reaches a delegated host's templated connection variables as it
/// reaches the host's own (it was undefined there, while the error said
/// to define it with `-e`).
#[test]
fn extra_vars_render_a_delegated_hosts_connection_variables() {
    let run = Test::new()
        .file(
            "inventory.yml",
            "all:\n  hosts:\n    x:\n      ansible_host: \"{{ only_e }}\"\n      ansible_port: 2\n",
        )
        .playbook("- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: \"true\"\n      delegate_to: x\n")
        .args(&["-e", "only_e=127.0.0.1", "--connect-timeout", "2"])
        .run();
    let out = format!("{}{}", run.stdout, run.stderr);
    assert!(out.contains("127.0.0.1:2)"), "{out}");
}

/// A play's templated `connection:` and `remote_user:` are rendered per
/// host with its variables (they were taken as written: "connection type
/// `{{ conn }}` is not supported"); an undefined one is an error at its
/// line, a rendered name baton cannot run is refused naming it.
#[test]
fn a_plays_templated_connection_and_remote_user_are_rendered_per_host() {
    let play = |conn: &str| {
        format!("- hosts: all\n  connection: \"{{{{ {conn} }}}}\"\n  remote_user: \"{{{{ who }}}}\"\n  gather_facts: true\n  vars:\n    who: nobody\n  tasks:\n    - command: \"true\"\n")
    };
    // No ansible_connection: the play's decides; an unreachable port shows
    // that `ssh` would have been tried.
    let inventory = "all:\n  hosts:\n    x:\n      ansible_host: 127.0.0.1\n      ansible_port: 1\n      conn: local\n      bad: telepathy\n";
    let run = Test::new()
        .file("inventory.yml", inventory)
        .playbook(&play("conn"))
        .run();
    run.assert_code(0);
    let run = Test::new()
        .file("inventory.yml", inventory)
        .playbook(&play("bad"))
        .run();
    let out = format!("{}{}", run.stdout, run.stderr);
    assert_ne!(run.code, Some(0), "{out}");
    assert!(out.contains("connection type `telepathy`"), "{out}");
    let run = Test::new()
        .file("inventory.yml", inventory)
        .playbook(&play("nope"))
        .run();
    run.assert_code(4);
    assert!(
        run.stderr.contains("undefined variable `nope`") && run.stderr.contains("play.yml:2:"),
        "{}",
        run.stderr
    );
}

/// `baton run … &` in a script starts baton with SIGINT ignored: the first
/// SIGINT still asks for a stop, and the second quits at once (exit 130)
/// instead of waiting for the running task, as with SIGINT at its default.
#[test]
fn a_second_sigint_quits_at_once_when_sigint_was_inherited_ignored() {
    use std::os::unix::process::CommandExt;
    use std::time::{Duration, Instant};
    let t = Test::new()
        .local_hosts(TWO)
        .playbook("- hosts: nodes\n  gather_facts: false\n  tasks:\n    - command: sleep 20\n");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_baton"));
    cmd.args(["run", "play.yml", "-i", "inventory.yml"])
        .current_dir(t.path())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    // SAFETY: only signal(2) between fork and exec, as a shell does for `&`.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_IGN);
            Ok(())
        });
    }
    let child = cmd.spawn().expect("baton starts");
    let started = Instant::now();
    std::thread::sleep(Duration::from_millis(1500));
    for _ in 0..2 {
        // SAFETY: sending SIGINT to the child we started.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGINT);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let out = child.wait_with_output().expect("baton ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stdout}{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "waited for the task: {:?}\n{stdout}{stderr}",
        started.elapsed()
    );
    assert!(stderr.contains("quit at once"), "{stdout}{stderr}");
}
