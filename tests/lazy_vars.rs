//! Variables are rendered lazily (README, "Variables and precedence"): only
//! what a task reads, each once per host and task; an unused variable costs
//! nothing, even a broken or enormous one; cycles are found exactly and
//! named; a rendered value over 16 MiB is refused.

mod support;

use support::cli::Test;

/// `v1: '{{v0}}{{v0}}'` ... `vN`: level N is 2^N times v0.
fn doubling(prefix: &str, n: usize, indent: &str) -> String {
    let mut s = format!("{indent}{prefix}0: ab\n");
    for i in 1..=n {
        let p = i - 1;
        s.push_str(&format!(
            "{indent}{prefix}{i}: '{{{{{prefix}{p}}}}}{{{{{prefix}{p}}}}}'\n"
        ));
    }
    s
}

fn chain(n: usize, indent: &str) -> String {
    let mut s = format!("{indent}c0: end\n");
    for i in 1..=n {
        s.push_str(&format!("{indent}c{i}: \"{{{{ c{} }}}}\"\n", i - 1));
    }
    s
}

/// An inventory with one local host carrying its own 30-level doubling.
fn inventory() -> String {
    format!(
        "all:\n  children:\n    nodes:\n      hosts:\n        n1:\n          ansible_connection: local\n{}",
        doubling("h", 30, "          ")
    )
}

fn playbook(tasks: &str) -> String {
    format!(
        "- hosts: nodes\n  gather_facts: false\n  vars:\n{}{}    broken: \"{{{{ nope }}}}\"\n    a: \"{{{{ b }}}}\"\n    b: \"{{{{ a }}}}\"\n  tasks:\n{tasks}",
        doubling("v", 30, "    "),
        chain(257, "    "),
    )
}

#[test]
fn unused_variables_cost_nothing_and_used_ones_render() {
    let t = Test::new()
        .file("inventory.yml", &inventory())
        .file("t.j2", "{{ v4 }}|{{ h2 }}\n")
        .playbook(&playbook(
            r#"    - name: chain
      debug:
        msg: "{{ c257 }} {{ v3 | length }} {{ h5 | length }}"
    - name: by name
      debug:
        var: v2
    - name: file
      template:
        src: t.j2
        dest: "{{ playbook_dir }}/out.txt"
    - name: other host
      debug:
        msg: "{{ hostvars['n1']['ansible_connection'] }} {{ hostvars['n1']['h1'] }} {{ hostvars[inventory_hostname].h2 | length }}"
"#,
        ));
    let check = t.baton(&[
        "run".into(),
        "play.yml".into(),
        "-i".into(),
        "inventory.yml".into(),
        "--syntax-check".into(),
    ]);
    check.assert_code(0);
    // v30 and h30 would be 2 GiB each, `broken` undefined, a and b a cycle:
    // none is read, so none is rendered.
    let run = t.args(&["--output", "json"]).run();
    run.assert_code(0);
    assert_eq!(run.results("chain")[0]["result"]["msg"], "end 16 64");
    assert_eq!(
        run.results("by name")[0]["result"]["data"]["v2"],
        "ab".repeat(4).as_str()
    );
    assert_eq!(
        run.read("out.txt"),
        format!("{}|{}\n", "ab".repeat(16), "ab".repeat(4))
    );
    assert_eq!(
        run.results("other host")[0]["result"]["msg"],
        "local abab 8"
    );
}

#[test]
fn a_cycle_a_task_reads_is_named() {
    let run = Test::new()
        .file("inventory.yml", &inventory())
        .playbook(&playbook("    - debug:\n        msg: \"{{ b }}\"\n"))
        .run();
    run.assert_code(4);
    let err = run.stderr.replace('\n', " ");
    assert!(
        err.contains("variable `b` refers to itself: b -> a -> b"),
        "{err}"
    );
    // `b` is defined after v0..v30, c0..c257, broken and a: line 295
    assert!(err.contains("play.yml:295:8"), "{err}");
}

#[test]
fn an_oversized_value_is_refused_naming_the_variable() {
    let run = Test::new()
        .file("inventory.yml", &inventory())
        .playbook(&playbook(
            "    - debug:\n        msg: \"{{ h30 | length }}\"\n",
        ))
        .run();
    run.assert_code(4);
    let err = run.stderr.replace('\n', " ");
    assert!(err.contains("variable `h24` is too large"), "{err}");
    // where the inventory writes h24's value: line 7 + 24, after `h24: `
    assert!(err.contains("inventory.yml:31:16"), "{err}");
}

/// Two local hosts in group `nodes`, from an INI inventory under
/// `inventory/` whose `[nodes:vars]` are `vars`.
fn ini_inventory(t: Test, vars: &str) -> Test {
    t.file(
        "inventory/hosts.ini",
        &format!(
            "[nodes]\nn1 ansible_connection=local\nn2 ansible_connection=local\n\n[nodes:vars]\n{vars}"
        ),
    )
}

fn run_with(t: &Test, inventory: &str) -> support::cli::Run {
    t.baton(&[
        "run".into(),
        "play.yml".into(),
        "-i".into(),
        inventory.into(),
    ])
}

#[test]
fn a_runaway_inventory_variable_is_refused_once_at_its_line() {
    let mut vars = String::new();
    for line in doubling("v", 40, "").lines() {
        vars.push_str(&line.replacen(": ", "=", 1).replace('\'', ""));
        vars.push('\n');
    }
    let play = "- hosts: nodes\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"{{ v40 | length }}\"\n";
    let t = ini_inventory(Test::new(), &vars).playbook(play);
    let run = run_with(&t, "inventory/hosts.ini");
    run.assert_code(4);
    let err = run.stderr.replace('\n', " ");
    // v23 is 16 MiB of `ab`; v24 is refused, on line 6 + 24, after `v24=`
    assert!(err.contains("variable `v24` is too large"), "{err}");
    assert!(err.contains("inventory/hosts.ini:30:5"), "{err}");
    // both hosts were refused the same: said once, on stderr and in the
    // task's lines and the stop report
    assert_eq!(err.matches("is too large").count(), 1, "{err}");
    assert!(
        run.stdout
            .contains("  n1, n2 FAILED: inventory/hosts.ini:30:5: variable `v24` is too large"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("  n1, n2 FAILED at task `debug`"),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stdout.matches("is too large").count(),
        2,
        "{}",
        run.stdout
    );

    // the same from a group_vars/ file beside the inventory
    let t = ini_inventory(Test::new(), "")
        .file("inventory/group_vars/nodes.yml", &doubling("v", 40, ""))
        .playbook(play);
    let run = run_with(&t, "inventory/hosts.ini");
    run.assert_code(4);
    let err = run.stderr.replace('\n', " ");
    assert!(err.contains("variable `v24` is too large"), "{err}");
    assert!(err.contains("inventory/group_vars/nodes.yml:25:6"), "{err}");
    assert_eq!(err.matches("is too large").count(), 1, "{err}");
}

#[test]
fn an_undefined_name_in_an_inventory_variable_is_named_at_its_line() {
    let t = ini_inventory(Test::new(), "greeting = hello {{ who_am_i }}\n")
        .file("inventory/host_vars/n2.yml", "a: 1\ngreeting: \"{{ nobody }}\"\n")
        .playbook("- hosts: nodes\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"{{ greeting }}\"\n");
    let run = run_with(&t, "inventory/hosts.ini");
    run.assert_code(4);
    let err = run.stderr.replace('\n', " ");
    assert!(err.contains("undefined variable `who_am_i`"), "{err}");
    assert!(err.contains("inventory/hosts.ini:6:21"), "{err}");
    assert!(err.contains("undefined variable `nobody`"), "{err}");
    assert!(err.contains("inventory/host_vars/n2.yml:2:15"), "{err}");
}

#[test]
fn a_cycle_through_hostvars_is_named_at_its_line() {
    let inventory = "all:\n  vars:\n    ansible_connection: local\n  hosts:\n    a:\n      x: \"{{ hostvars['b'].y }}\"\n      z: zz\n    b:\n      y: \"{{ hostvars['a'].x }}\"\n      w: \"{{ hostvars['a'].z }}!\"\n";
    let t = Test::new().file("inventory.yml", inventory).playbook(
        "- hosts: a\n  gather_facts: false\n  tasks:\n    - name: across hosts\n      debug:\n        msg: \"{{ hostvars['b'].w }}\"\n    - name: cycle\n      debug:\n        msg: \"{{ x }}\"\n",
    );
    let run = t.run();
    run.assert_code(4);
    // a chain through hostvars renders
    assert!(run.stdout.contains("a: ok"), "{}", run.stdout);
    // as one line, without the diagnostic's wrapping
    let words: Vec<&str> = run.stderr.split_whitespace().collect();
    let err = words
        .into_iter()
        .filter(|w| *w != "|")
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        err.contains("variable `x` of host `a` refers to itself through hostvars: x (host a) -> y (host b) -> x (host a)"),
        "{err}"
    );
    // at `hostvars['b'].y` in x's value, line 6 of the inventory
    assert!(err.contains("inventory.yml:6:"), "{err}");
    assert!(!err.contains("undefined"), "{err}");
}
