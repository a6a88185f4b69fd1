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
    assert!(err.contains("inventory variable `h24`"), "{err}");
}
