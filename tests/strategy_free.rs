//! `strategy: free` end to end over the local transport: each host runs its
//! tasks without waiting for the others. Orders are read from the JSON
//! events (never from wall times): a host that sleeps in its first task
//! reports it after a fast host reported all of its tasks.

mod support;

use serde_json::Value;
use support::cli::{Run, Test};

const TWO: &[&str] = &["n1", "n2"];

/// Position of the first event matching `kind`, `task` and `host` (a final
/// `host_result`, or a `task_start` whose hosts include `host`).
fn pos(events: &[Value], kind: &str, task: &str, host: &str) -> usize {
    events
        .iter()
        .position(|e| {
            e["event"] == kind
                && support::is_task(e, task)
                && match kind {
                    "host_result" => e["host"] == host && e["item"].is_null(),
                    _ => e["hosts"]
                        .as_array()
                        .is_some_and(|h| h.iter().any(|x| x == host)),
                }
        })
        .unwrap_or_else(|| panic!("no {kind} of `{task}` on {host} in {events:#?}"))
}

fn free_run(playbook: &str, args: &[&str]) -> Run {
    let mut all = vec!["--output", "json"];
    all.extend_from_slice(args);
    Test::new()
        .local_hosts(TWO)
        .playbook(playbook)
        .args(&all)
        .run()
}

/// n1 sleeps a second in its first task; n2 has nothing to wait for.
const SLOW_N1: &str = r#"
- hosts: nodes
  gather_facts: false
  strategy: STRATEGY
  tasks:
    - name: first
      command: "sleep {{ '1' if inventory_hostname == 'n1' else '0' }}"
    - name: second
      command: echo second
    - name: third
      command: echo third
"#;

#[test]
fn a_fast_host_finishes_its_tasks_before_a_slow_host_finishes_its_first() {
    let run = free_run(&SLOW_N1.replace("STRATEGY", "free"), &[]);
    run.assert_code(0);
    let ev = run.events();
    let play = ev.iter().find(|e| e["event"] == "play_start").unwrap();
    assert_eq!(play["strategy"], "free");
    assert!(
        pos(&ev, "host_result", "third", "n2") < pos(&ev, "host_result", "first", "n1"),
        "n2 finished all three tasks before n1 finished its first"
    );
    // Each host starts each task on its own.
    for e in ev.iter().filter(|e| e["event"] == "task_start") {
        assert_eq!(e["hosts"].as_array().map(Vec::len), Some(1), "{e}");
    }
    for host in TWO {
        let recap = run.recap(host);
        assert_eq!(recap["changed"], 3, "{host}: {recap}");
        assert_eq!(recap["failed"], 0, "{host}: {recap}");
    }
}

#[test]
fn linear_is_unchanged_a_task_finishes_on_every_host_before_the_next() {
    for strategy in ["linear", "ansible.builtin.linear"] {
        let run = free_run(&SLOW_N1.replace("STRATEGY", strategy), &[]);
        run.assert_code(0);
        let ev = run.events();
        let play = ev.iter().find(|e| e["event"] == "play_start").unwrap();
        assert_eq!(play["strategy"], "linear");
        assert!(pos(&ev, "host_result", "first", "n1") < pos(&ev, "task_start", "second", "n2"));
        let start = &ev[pos(&ev, "task_start", "first", "n1")];
        assert_eq!(start["hosts"], serde_json::json!(["n1", "n2"]));
    }
}

#[test]
fn the_human_output_has_one_line_per_host_and_task_as_it_finishes() {
    let run = Test::new()
        .local_hosts(TWO)
        .playbook(&SLOW_N1.replace("STRATEGY", "ansible.builtin.free"))
        .env("NO_COLOR", "1")
        .run();
    run.assert_code(0);
    let lines: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("TASK ["))
        .collect();
    assert_eq!(lines.len(), 6, "{}", run.stdout);
    let at = |task: &str, host: &str| {
        lines
            .iter()
            .position(|l| {
                l.starts_with(&format!("TASK [{task}]")) && l.contains(&format!(" {host}: "))
            })
            .unwrap_or_else(|| panic!("no line for {task} on {host}:\n{}", run.stdout))
    };
    assert!(at("third", "n2") < at("first", "n1"), "{}", run.stdout);
    assert!(run.stdout.contains("strategy free"), "{}", run.stdout);
}

#[test]
fn handlers_run_per_host_when_that_host_reaches_a_flush_point() {
    let run = free_run(
        r#"
- hosts: nodes
  gather_facts: false
  strategy: free
  handlers:
    - name: restart
      command: echo "restart {{ inventory_hostname }}"
  tasks:
    - name: change
      command: "sleep {{ '1' if inventory_hostname == 'n1' else '0' }}"
      notify: restart
    - meta: flush_handlers
    - name: after flush
      command: echo after
"#,
        &[],
    );
    run.assert_code(0);
    let ev = run.events();
    // n2 ran its handler (and went on) while n1 still slept.
    assert!(pos(&ev, "host_result", "restart", "n2") < pos(&ev, "host_result", "change", "n1"));
    assert!(pos(&ev, "host_result", "after flush", "n2") < pos(&ev, "host_result", "change", "n1"));
    // And n1 ran its own, before its next task.
    assert!(
        pos(&ev, "host_result", "restart", "n1") < pos(&ev, "host_result", "after flush", "n1")
    );
    assert_eq!(run.results("restart").len(), 2, "once per host");
}

#[test]
fn a_failure_stops_only_that_host() {
    let run = free_run(
        r#"
- hosts: nodes
  gather_facts: false
  strategy: free
  tasks:
    - name: first
      command: "{{ 'false' if inventory_hostname == 'n1' else 'true' }}"
    - name: second
      command: echo second
    - name: third
      command: echo third
"#,
        &[],
    );
    run.assert_code(2);
    assert_eq!(run.outcome("first", "n1"), "failed");
    assert_eq!(run.outcome("second", "n1"), "none");
    assert_eq!(run.outcome("third", "n2"), "changed");
    let n1 = run.recap("n1");
    assert_eq!(
        (n1["failed"].as_u64(), n1["changed"].as_u64()),
        (Some(1), Some(0))
    );
    let n2 = run.recap("n2");
    assert_eq!(
        (n2["failed"].as_u64(), n2["changed"].as_u64()),
        (Some(0), Some(3))
    );
}

#[test]
fn any_errors_fatal_stops_the_other_hosts_before_their_next_task() {
    // n1 fails only once n2's first task runs (a marker n2 makes), so a
    // loaded machine that starts n2 late cannot turn the case around.
    let marker = tempfile::tempdir().unwrap();
    let started = marker.path().join("n2-started");
    let run = free_run(
        &r#"
- hosts: nodes
  gather_facts: false
  strategy: free
  any_errors_fatal: true
  tasks:
    - name: first
      shell: "{% if inventory_hostname == 'n1' %}for i in $(seq 1000); do [ -e MARKER ] && break; sleep 0.01; done; false{% else %}touch MARKER; sleep 1{% endif %}"
    - name: second
      command: echo second
"#
        .replace("MARKER", &started.display().to_string()),
        &[],
    );
    assert!(started.exists(), "n2's first task never ran");
    run.assert_code(2);
    assert_eq!(run.outcome("first", "n1"), "failed");
    // n2's running task finished; nothing after it started.
    assert_eq!(run.outcome("first", "n2"), "changed");
    assert_eq!(run.outcome("second", "n2"), "none");
    let stopped = run.events().into_iter().find(|e| e["event"] == "stopped");
    let reason = stopped.map(|e| e["reason"].to_string()).unwrap_or_default();
    assert!(
        reason.contains("under strategy free n2 stopped before their next task"),
        "{reason}"
    );
}

#[test]
fn run_once_runs_on_the_first_host_to_reach_it_and_shares_its_result() {
    let run = free_run(
        r#"
- hosts: nodes
  gather_facts: false
  strategy: free
  tasks:
    - name: first
      command: "sleep {{ '1' if inventory_hostname == 'n1' else '0' }}"
    - name: once
      command: echo "ran on {{ inventory_hostname }}"
      run_once: true
      register: once
    - name: show
      debug:
        msg: "{{ once.stdout }}"
"#,
        &[],
    );
    run.assert_code(0);
    let once = run.results("once");
    assert_eq!(once.len(), 1, "{once:?}");
    assert_eq!(once[0]["host"], "n2", "the first host to reach it");
    for r in run.results("show") {
        assert_eq!(r["result"]["msg"], "ran on n2", "{r}");
    }
}

#[test]
fn end_play_in_one_lane_stops_the_others_before_their_next_task() {
    let run = free_run(
        r#"
- hosts: nodes
  gather_facts: false
  strategy: free
  tasks:
    - name: first
      command: "sleep {{ '1' if inventory_hostname == 'n1' else '0' }}"
    - meta: end_play
      when: inventory_hostname == 'n2'
    - name: second
      command: echo second
- hosts: nodes
  gather_facts: false
  strategy: free
  tasks:
    - name: next play
      command: echo next
"#,
        &[],
    );
    run.assert_code(0);
    assert_eq!(run.outcome("first", "n1"), "changed");
    assert_eq!(run.outcome("second", "n1"), "none");
    assert_eq!(run.outcome("second", "n2"), "none");
    assert_eq!(run.outcome("next play", "n1"), "changed");
}

#[test]
fn serial_batches_still_apply_free_within_a_batch() {
    let run = free_run(
        r#"
- hosts: nodes
  gather_facts: false
  strategy: free
  serial: 1
  tasks:
    - name: first
      command: echo first
    - name: second
      command: echo second
"#,
        &[],
    );
    run.assert_code(0);
    let ev = run.events();
    assert!(pos(&ev, "host_result", "second", "n1") < pos(&ev, "task_start", "first", "n2"));
}

#[test]
fn include_tasks_set_fact_and_register_stay_per_host() {
    let run = Test::new()
        .local_hosts(TWO)
        .file(
            "inc.yml",
            "- name: set\n  set_fact:\n    mine: \"{{ inventory_hostname }}-{{ r.stdout }}\"\n- name: show\n  debug:\n    msg: \"{{ mine }}\"\n",
        )
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  strategy: free
  tasks:
    - name: first
      shell: "sleep {{ '1' if inventory_hostname == 'n1' else '0' }}; echo {{ inventory_hostname }}"
      register: r
    - name: inc
      include_tasks: inc.yml
    - name: delegated
      command: echo delegated
      delegate_to: localhost
"#,
        )
        .args(&["--output", "json"])
        .run();
    run.assert_code(0);
    let ev = run.events();
    assert!(pos(&ev, "host_result", "show", "n2") < pos(&ev, "host_result", "first", "n1"));
    for r in run.results("show") {
        let host = r["host"].as_str().unwrap();
        assert_eq!(r["result"]["msg"], format!("{host}-{host}"), "{r}");
    }
    for r in run.results("delegated") {
        assert_eq!(r["delegated_to"], "localhost", "{r}");
    }
}

#[test]
fn check_mode_and_tags_work_under_free() {
    let run = free_run(
        r#"
- hosts: nodes
  gather_facts: false
  strategy: free
  tasks:
    - name: write
      copy:
        content: "x\n"
        dest: "{{ playbook_dir }}/{{ inventory_hostname }}.txt"
      tags: [write]
    - name: untagged
      command: echo no
"#,
        &["--check", "--diff", "-t", "write"],
    );
    run.assert_code(0);
    for host in TWO {
        assert_eq!(run.outcome("write", host), "changed");
        assert_eq!(run.outcome("untagged", host), "none");
        assert!(
            run.read(&format!("{host}.txt")).is_empty(),
            "check mode wrote nothing"
        );
    }
}

#[test]
fn a_templated_strategy_is_rendered_with_the_plays_variables() {
    let pb = r#"
- hosts: nodes
  gather_facts: false
  strategy: "{{ how }}"
  tasks:
    - name: first
      command: echo first
"#;
    let run = free_run(pb, &["-e", "how=free"]);
    run.assert_code(0);
    let ev = run.events();
    let play = ev.iter().find(|e| e["event"] == "play_start").unwrap();
    assert_eq!(play["strategy"], "free");
    let run = free_run(pb, &["-e", "how=host_pinned"]);
    run.assert_code(4);
    assert!(
        run.stderr
            .contains("strategy `host_pinned` is not supported"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("play.yml:4"), "{}", run.stderr);
}

#[test]
fn junit_under_free_has_one_case_per_host_and_task_and_no_false_no_result() {
    let t = Test::new()
        .local_hosts(TWO)
        .playbook(&SLOW_N1.replace("STRATEGY", "free"))
        .args(&["--junit", "report.xml"]);
    let run = t.run();
    run.assert_code(0);
    let xml = run.read("report.xml");
    assert_eq!(xml.matches("<testcase").count(), 6, "{xml}");
    assert!(!xml.contains("no_result"), "{xml}");
}

#[test]
fn ctrl_c_under_free_says_where_each_host_stopped() {
    let t = Test::new().local_hosts(TWO).playbook(
        r#"
- hosts: nodes
  gather_facts: false
  strategy: free
  tasks:
    - name: one
      shell: "{{ 'sleep 1.5' if inventory_hostname == 'n1' else 'true' }}"
    - name: two
      shell: "{{ 'true' if inventory_hostname == 'n1' else 'sleep 1.5' }}"
    - name: three
      command: touch "{{ playbook_dir }}/{{ inventory_hostname }}.three"
"#,
    );
    let run = t.run_interrupted(std::time::Duration::from_millis(700));
    let stdout = &run.stdout;
    assert_eq!(run.code, Some(130), "{stdout}");
    for host in TWO {
        assert!(!t.path().join(format!("{host}.three")).exists(), "{host}");
    }
    assert!(stdout.contains("interrupted by the operator"), "{stdout}");
    // Each host stopped at its own next task.
    assert!(stdout.contains("`two` (play.yml:8:7) on n1"), "{stdout}");
    assert!(stdout.contains("`three` (play.yml:10:7) on n2"), "{stdout}");
    assert!(stdout.contains("PLAY RECAP"), "{stdout}");
}

#[test]
fn a_host_that_fails_leaves_the_play_lists_the_other_lanes_read_next() {
    // The lists of active hosts are shared by every lane and made again
    // only when a host leaves (issue 14): n2 reads them before and after
    // n1 failed, and reads n1's registered value through `hostvars`.
    let run = free_run(
        r#"
- hosts: nodes
  gather_facts: false
  strategy: free
  tasks:
    - name: before
      debug:
        msg: "{{ play_hosts | join(',') }} {{ ansible_play_batch | join(',') }}"
    - name: first
      command: "{{ 'false' if inventory_hostname == 'n1' else 'sleep 1' }}"
      register: first
    - name: after
      debug:
        msg: "{{ play_hosts | join(',') }} {{ ansible_play_batch | join(',') }} {{ ansible_play_hosts_all | join(',') }} {{ hostvars['n1'].first.rc }}"
"#,
        &[],
    );
    run.assert_code(2);
    for r in run.results("before") {
        assert_eq!(r["result"]["msg"], "n1,n2 n1,n2", "{r}");
    }
    assert_eq!(run.outcome("first", "n1"), "failed");
    let after = run.results("after");
    assert_eq!(after.len(), 1, "n1 stopped at its failure: {after:?}");
    assert_eq!(after[0]["host"], "n2");
    assert_eq!(after[0]["result"]["msg"], "n2 n2 n1,n2 1");
}

// The play-wide lists against ansible-core 2.19.14, run as
// `ansible-playbook -i 'a,b,c' -c local play.yml` with the task below
// (issue 14); its output is quoted in each test.
const SHOW_LISTS: &str = r#"
    - name: show
      debug:
        msg: "ph={{ play_hosts | join(',') }} pb={{ ansible_play_batch | join(',') }} aph={{ ansible_play_hosts | join(',') }} all={{ ansible_play_hosts_all | join(',') }}"
"#;

/// Run `tasks` then SHOW_LISTS over local hosts a, b, c under `strategy`
/// (and `serial`), `--output json`.
fn lists_run(strategy: &str, serial: Option<u32>, tasks: &str) -> Run {
    let serial = serial.map_or(String::new(), |n| format!("  serial: {n}\n"));
    let playbook = format!(
        "- hosts: nodes\n  gather_facts: false\n  strategy: {strategy}\n{serial}  tasks:\n{tasks}{SHOW_LISTS}"
    );
    Test::new()
        .local_hosts(&["a", "b", "c"])
        .playbook(&playbook)
        .args(&["--output", "json"])
        .run()
}

/// Each host's `show` message, by host.
fn shown(run: &Run) -> Vec<(String, String)> {
    run.results("show")
        .iter()
        .map(|r| {
            let host = r["host"].as_str().unwrap_or_default().to_string();
            (host, r["result"]["msg"].as_str().unwrap_or_default().into())
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = expected
        .iter()
        .map(|(h, m)| (h.to_string(), m.to_string()))
        .collect();
    v.sort();
    v
}

fn sorted(mut v: Vec<(String, String)>) -> Vec<(String, String)> {
    v.sort();
    v
}

#[test]
fn play_hosts_is_the_batch_under_serial_as_ansible_play_batch() {
    // Ansible 2.19, `serial: 2`:
    //   ok: [a] => { "msg": "ph=a,b pb=a,b aph=a,b,c all=a,b,c" }
    //   ok: [b] => { "msg": "ph=a,b pb=a,b aph=a,b,c all=a,b,c" }
    //   ok: [c] => { "msg": "ph=c pb=c aph=a,b,c all=a,b,c" }
    // baton made `play_hosts` the play's hosts (a,b,c), not the batch.
    for strategy in ["linear", "free"] {
        let run = lists_run(strategy, Some(2), "");
        run.assert_code(0);
        assert_eq!(
            sorted(shown(&run)),
            pairs(&[
                ("a", "ph=a,b pb=a,b aph=a,b,c all=a,b,c"),
                ("b", "ph=a,b pb=a,b aph=a,b,c all=a,b,c"),
                ("c", "ph=c pb=c aph=a,b,c all=a,b,c"),
            ]),
            "{strategy}"
        );
    }
}

const END_B: &str = r#"    - meta: end_host
      when: inventory_hostname == "b"
"#;

#[test]
fn end_host_leaves_the_lists_the_other_hosts_read_next_under_both_strategies() {
    // Ansible 2.19, linear and free alike:
    //   ok: [a] => { "msg": "ph=a,c pb=a,c aph=a,c all=a,b,c" }
    //   ok: [c] => { "msg": "ph=a,c pb=a,c aph=a,c all=a,b,c" }
    // Under free, baton's lane for a ran past its skipped `meta` into `show`
    // before b's lane ran `end_host`, and read a,b,c: Ansible's free
    // strategy gives each host one task per pass.
    for strategy in ["linear", "free"] {
        let run = lists_run(strategy, None, END_B);
        run.assert_code(0);
        assert_eq!(
            sorted(shown(&run)),
            pairs(&[
                ("a", "ph=a,c pb=a,c aph=a,c all=a,b,c"),
                ("c", "ph=a,c pb=a,c aph=a,c all=a,b,c"),
            ]),
            "{strategy}"
        );
    }
}

#[test]
fn a_host_ended_in_one_batch_is_back_in_ansible_play_hosts_for_the_next() {
    // Ansible 2.19, `serial: 2`, linear and free alike (end_host lasts for
    // its batch; a failed host would stay out of `ansible_play_hosts`):
    //   ok: [a] => { "msg": "ph=a pb=a aph=a,c all=a,b,c" }
    //   PLAY [all] ***
    //   ok: [c] => { "msg": "ph=c pb=c aph=a,b,c all=a,b,c" }
    for strategy in ["linear", "free"] {
        let run = lists_run(strategy, Some(2), END_B);
        run.assert_code(0);
        assert_eq!(
            sorted(shown(&run)),
            pairs(&[
                ("a", "ph=a pb=a aph=a,c all=a,b,c"),
                ("c", "ph=c pb=c aph=a,b,c all=a,b,c"),
            ]),
            "{strategy}"
        );
    }
    // A failed host stays out in the next batch. Ansible 2.19 (linear):
    //   ok: [a] => { "msg": "ph=a pb=a aph=a,c all=a,b,c" }
    //   ok: [c] => { "msg": "ph=c pb=c aph=a,c all=a,b,c" }
    let fail_b = "    - fail: {msg: boom}\n      when: inventory_hostname == \"b\"\n";
    let run = lists_run("linear", Some(2), fail_b);
    run.assert_code(2);
    assert_eq!(
        sorted(shown(&run)),
        pairs(&[
            ("a", "ph=a pb=a aph=a,c all=a,b,c"),
            ("c", "ph=c pb=c aph=a,c all=a,b,c"),
        ])
    );
}

#[test]
fn ansible_play_hosts_all_keeps_a_host_that_failed_in_an_earlier_play() {
    // Ansible 2.19, a first play failing b, then a second play:
    //   ok: [a] => { "msg": "ph=a,c pb=a,c aph=a,c all=a,b,c" }
    //   ok: [c] => { "msg": "ph=a,c pb=a,c aph=a,c all=a,b,c" }
    // baton left b out of `ansible_play_hosts_all` too.
    for strategy in ["linear", "free"] {
        let playbook = format!(
            "- hosts: nodes\n  gather_facts: false\n  tasks:\n    - fail: {{msg: boom}}\n      when: inventory_hostname == \"b\"\n- hosts: nodes\n  gather_facts: false\n  strategy: {strategy}\n  tasks:\n{SHOW_LISTS}"
        );
        let run = Test::new()
            .local_hosts(&["a", "b", "c"])
            .playbook(&playbook)
            .args(&["--output", "json"])
            .run();
        run.assert_code(2);
        assert_eq!(
            sorted(shown(&run)),
            pairs(&[
                ("a", "ph=a,c pb=a,c aph=a,c all=a,b,c"),
                ("c", "ph=a,c pb=a,c aph=a,c all=a,b,c"),
            ]),
            "{strategy}"
        );
    }
}

/// Under `free` each host runs a task on its own: the recap's slowest tasks
/// time each host's run (as its `host_result`), not its wait for a fork
/// slot, and name the host. Five hosts sleeping 1 s with `-f 2` waited up
/// to 2 s for a slot, and the recap said 3009 ms five times, no host.
#[test]
fn slowest_tasks_under_free_are_per_host_and_exclude_the_wait_for_a_fork() {
    const FIVE: &[&str] = &["n1", "n2", "n3", "n4", "n5"];
    let playbook = "- hosts: nodes\n  gather_facts: false\n  strategy: free\n  tasks:\n    - command: sleep 1\n";
    let run = Test::new()
        .local_hosts(FIVE)
        .playbook(playbook)
        .args(&["--output", "json", "-f", "2"])
        .run();
    run.assert_code(0);
    let ev = run.events();
    let recap = ev.iter().find(|e| e["event"] == "recap").unwrap();
    let slowest = recap["slowest"].as_array().unwrap();
    let mut hosts: Vec<&str> = slowest
        .iter()
        .map(|t| t["host"].as_str().unwrap())
        .collect();
    hosts.sort_unstable();
    assert_eq!(hosts, FIVE, "{recap:#}");
    for t in slowest {
        let host = t["host"].as_str().unwrap();
        let result = ev
            .iter()
            .find(|e| e["event"] == "host_result" && e["host"] == host)
            .unwrap();
        let ms = t["elapsed_ms"].as_f64().unwrap();
        assert_eq!(ms, result["elapsed_ms"].as_f64().unwrap(), "{recap:#}");
        assert!(ms < 1900.0, "{recap:#}");
    }
    let human = Test::new()
        .local_hosts(FIVE)
        .playbook(playbook)
        .args(&["-f", "2"])
        .env("NO_COLOR", "1")
        .run();
    human.assert_code(0);
    let lines: Vec<&str> = human
        .stdout
        .lines()
        .filter(|l| l.contains(" ms  command sleep 1"))
        .collect();
    assert_eq!(lines.len(), 5, "{}", human.stdout);
    for host in FIVE {
        assert!(
            lines
                .iter()
                .any(|l| l.contains(&format!("sleep 1 on {host} "))),
            "{}",
            human.stdout
        );
    }
}

/// Ctrl-C on many `free` hosts that stopped at the same task, having changed
/// the same things: one line names them all (it repeated the task per host
/// in one 6 KB line, then one "Changed on" line per host).
#[test]
fn ctrl_c_under_free_groups_hosts_stopped_alike() {
    let hosts: Vec<String> = (1..=12).map(|i| format!("h{i}")).collect();
    let names: Vec<&str> = hosts.iter().map(String::as_str).collect();
    let t = Test::new().local_hosts(&names).playbook(
        r#"
- hosts: nodes
  gather_facts: false
  strategy: free
  tasks:
    - name: one
      command: sleep 1.5
    - name: two
      command: "true"
"#,
    );
    let run = t.run_interrupted(std::time::Duration::from_millis(700));
    let stdout = &run.stdout;
    assert_eq!(run.code, Some(130), "{stdout}");
    // in the recap's (sorted) order
    let mut sorted = names.clone();
    sorted.sort_unstable();
    let all = sorted.join(", ");
    assert_eq!(
        stdout.matches("`two` (play.yml:8:7) on").count(),
        1,
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("`two` (play.yml:8:7) on {all}")),
        "{stdout}"
    );
    assert_eq!(stdout.matches("Changed on").count(), 1, "{stdout}");
    assert!(
        stdout.contains(&format!("Changed on {all} before the stop: ")),
        "{stdout}"
    );
}
