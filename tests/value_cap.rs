//! The 16 MiB limit on a value holds for everything baton renders or keeps,
//! not only variables: task arguments (`set_fact`, `copy: content=`), loop
//! lists, template files, `include_vars` values and registered results.
//! Without it a `set_fact` doubling a string, or one huge rendered
//! argument, grows until an allocation aborts the run.

mod support;

use support::cli::Test;

const ONE: &[&str] = &["n1"];

#[test]
fn a_set_fact_doubling_a_string_stops_at_the_limit_naming_the_task() {
    // 1 KiB doubled 20 times would be 1 GiB; the 15th doubling is 32 MiB.
    let mut play = String::from(
        "- hosts: nodes\n  gather_facts: false\n  tasks:\n    - set_fact: {s: \"{{ 'x' * 1024 }}\"}\n",
    );
    for i in 1..=20 {
        play.push_str(&format!(
            "    - name: double {i}\n      set_fact: {{s: \"{{{{ s }}}}{{{{ s }}}}\"}}\n"
        ));
    }
    play.push_str("    - name: never\n      debug: msg=unreachable\n");
    let run = Test::new().local_hosts(ONE).playbook(&play).run();
    run.assert_code(4);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains("argument `s` of task `double 15` renders to 33554432 bytes or more, over the 16 MiB limit on a value"),
        "{all}"
    );
    assert!(all.contains("play.yml:"), "names the place: {all}");
    assert!(!all.contains("TASK [double 16]"), "stops there: {all}");
}

#[test]
fn a_huge_rendered_argument_is_refused_before_the_module_runs() {
    let run = Test::new()
        .local_hosts(ONE)
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  vars:
    ten: "{{ 'y' * (10 * 1024 * 1024) }}"
  tasks:
    # two values under the limit, side by side in the text: no operator
    # inside the render grows past 16 MiB, the rendered argument does
    - name: write big
      copy:
        content: "{{ ten }}{{ ten }}"
        dest: "{{ playbook_dir }}/big.txt"
"#,
        )
        .run();
    run.assert_code(4);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains("argument `content` of task `write big` renders to 20971520 bytes or more, over the 16 MiB limit"),
        "{all}"
    );
    assert!(!run.dir.join("big.txt").exists(), "nothing written");
}

#[test]
fn a_huge_loop_list_and_template_are_refused() {
    let run = Test::new()
        .local_hosts(ONE)
        .file(
            "big.j2",
            "{% for i in range(20) %}{{ 'z' * (1024 * 1024) }}{% endfor %}\n",
        )
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: many
      debug: msg=one
      loop: "{{ range(20) | map('string') | map('regex_replace', '^.*', 'w' * (1024 * 1024)) | list }}"
      ignore_errors: true
    - name: render
      template: {src: big.j2, dest: "{{ playbook_dir }}/out.txt"}
"#,
        )
        .run();
    run.assert_code(4);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains("the loop's list of task `many` renders to"),
        "{all}"
    );
    assert!(
        all.contains("template `")
            && all.contains("renders to 20971521 bytes, over the 16 MiB limit"),
        "{all}"
    );
    assert!(!run.dir.join("out.txt").exists(), "nothing written");
}

#[test]
fn a_registered_result_over_the_limit_is_not_kept() {
    let run = Test::new()
        .local_hosts(ONE)
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: loud
      shell: head -c 20000000 /dev/zero | tr '\0' x
      register: out
    - name: after
      debug: msg=unreachable
"#,
        )
        .args(&["--output", "json"])
        .run();
    run.assert_code(2);
    assert_eq!(run.outcome("loud", "n1"), "failed");
    let msg = run.results("loud")[0]["result"]["msg"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        msg.starts_with("the result of task `loud` (register: out) is ")
            && msg.ends_with("over the 16 MiB limit on a value; it is not kept"),
        "{msg}"
    );
    assert_eq!(run.outcome("after", "n1"), "none");
}

#[test]
fn stdout_lines_count_against_the_limit_without_being_built() {
    // Issue 9: `shell: yes | head -c 200M`, registered, kept 16 MiB of
    // two-byte lines and split them into 8 million values (about 900 MB)
    // before the result was refused. 4 MiB of them (2 Mi lines) was kept:
    // 6 MiB counted by text, about 200 MB in memory. Now each line counts
    // 32 bytes besides its text, and lines past the limit are not built
    // (the stdout is 4 MiB less its last newline, which Ansible strips).
    let run = Test::new()
        .local_hosts(ONE)
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: many lines
      shell: yes | head -c 4194304
      register: out
    - name: after
      debug: msg=unreachable
"#,
        )
        .args(&["--output", "json"])
        .run();
    run.assert_code(2);
    assert_eq!(run.outcome("many lines", "n1"), "failed");
    let msg = run.results("many lines")[0]["result"]["msg"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        msg.starts_with(
            "the result of task `many lines` (register: out) is not kept: its stdout has 2097152 lines, \
             which as `stdout_lines` take 71303167 bytes or more"
        ) && msg.contains("over the 16 MiB limit on a value"),
        "{msg}"
    );
    assert_eq!(run.outcome("after", "n1"), "none");
}

#[test]
fn a_variable_doubling_a_list_is_refused_naming_the_variable() {
    // `v5: "{{ [v4, v4] }}"` shares v4 twice: refused before the whole
    // value is built, with the variable's name and its line, as a value
    // refused after rendering is. v0 is 4 KiB short of 1 MiB so that v4,
    // 16 of them and 30 list slots, is still under the limit.
    let mut play = String::from(
        "- hosts: nodes\n  gather_facts: false\n  vars:\n    v0: \"{{ ['x' * 1044480] }}\"\n",
    );
    for i in 1..=8 {
        play.push_str(&format!("    v{i}: \"{{{{ [v{0}, v{0}] }}}}\"\n", i - 1));
    }
    play.push_str("  tasks:\n    - name: use\n      debug: msg=\"{{ v8 | length }}\"\n");
    let run = Test::new().local_hosts(ONE).playbook(&play).run();
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(all.contains("variable `v5` is too large"), "{all}");
    assert!(all.contains("play.yml:9:"), "names the line of v5: {all}");
}

#[test]
fn the_lines_budget_is_the_value_cap() {
    assert_eq!(
        baton::modules::MAX_LINES_BYTES,
        baton::plan::vars::MAX_VALUE_BYTES
    );
}

#[test]
fn values_under_the_limit_pass_whole() {
    let run = Test::new()
        .local_hosts(ONE)
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - set_fact: {s: "{{ 'x' * (8 * 1024 * 1024) }}"}
    - shell: head -c 4000000 /dev/zero | tr '\0' x
      register: out
    - copy: {content: "{{ s }}{{ out.stdout }}", dest: "{{ playbook_dir }}/ok.txt"}
"#,
        )
        .run();
    run.assert_code(0);
    let len = std::fs::metadata(run.dir.join("ok.txt")).map_or(0, |m| m.len());
    assert_eq!(len, 8 * 1024 * 1024 + 4_000_000);
}

#[test]
fn include_vars_name_holding_values_over_the_limit_together_is_refused() {
    // Each value is 10 MiB, under the limit; `name:` would keep both, 20
    // MiB, as one variable.
    let run = Test::new()
        .local_hosts(ONE)
        .file(
            "vars/big.yml",
            "a: \"{{ 'x' * (10 * 1024 * 1024) }}\"\nb: \"{{ 'y' * (10 * 1024 * 1024) }}\"\n",
        )
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - name: load
      include_vars: {file: vars/big.yml, name: big}
    - name: after
      debug: msg=unreachable
"#,
        )
        .run();
    run.assert_code(4);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains("variable `big` of task `load` renders to")
            && all.contains("over the 16 MiB limit on a value"),
        "{all}"
    );
    assert!(!all.contains("TASK [after]"), "stops there: {all}");
}

/// A mapping that holds the same part twice, built 40 times over in a
/// template loop: a few hundred bytes in memory, 2^40 leaves written out.
/// Every way of writing it out (printing, `tojson`, `to_json`, `to_yaml`,
/// `string`, `~`, `%`, `join`, registering it with set_fact) is refused at
/// the 16 MiB limit, at once, naming the file and line; it used to take
/// 20 s at 22 levels and never end at 40.
#[test]
fn a_value_sharing_its_parts_is_refused_at_the_limit_fast() {
    const DAG: &str = "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = {'a': ns.s, 'b': ns.s} %}{% endfor %}";
    for (n, tail) in [
        "{{ ns.s | tojson }}",
        "{{ ns.s | to_json }}",
        "{{ ns.s | to_yaml }}",
        "{{ ns.s | string }}",
        "{{ ns.s }}",
        "x{{ ns.s }}",
        "{{ ns.s ~ '' }}",
        "{{ '%s' % ns.s }}",
        "{{ [ns.s] | join(',') }}",
    ]
    .iter()
    .enumerate()
    {
        for module in ["debug: {msg: \"VALUE\"}", "set_fact: {v: \"VALUE\"}"] {
            let module = module.replace("VALUE", &format!("{DAG}{tail}"));
            let play = format!(
                "- hosts: nodes\n  gather_facts: false\n  tasks:\n    - name: dag {n}\n      {module}\n"
            );
            let started = std::time::Instant::now();
            let run = Test::new().local_hosts(ONE).playbook(&play).run();
            let took = started.elapsed();
            let all = format!("{}{}", run.stdout, run.stderr);
            run.assert_code(4);
            assert!(all.contains("16 MiB"), "{tail} {module}: {all}");
            assert!(all.contains("play.yml:5"), "names the place: {all}");
            // a debug build under load: well under the minutes (or never)
            // the expanded walk takes
            assert!(
                took < std::time::Duration::from_secs(20),
                "{tail}: {took:?}"
            );
        }
    }
}

#[test]
fn the_output_cap_is_the_value_cap() {
    // A task's kept output and the largest value baton keeps are one limit:
    // the README's bounds table states them as one figure.
    assert_eq!(
        baton::transport::capture::MAX_CAPTURE_BYTES,
        baton::plan::vars::MAX_VALUE_BYTES
    );
}

/// `v1: "{{ [v0, v0] }}"` ... `v30`: each variable holds the one before
/// twice. Kept in template form, its parts shared, each costs its size in
/// memory, and the first over the limit (v17: 2^17 strings of 16 bytes and
/// 2^18 - 2 list slots of 72 bytes, 20 MiB) is
/// measured and refused at once, by name. It used to be converted to JSON
/// and back at each level: 56 s and 1.9 GB before the refusal. The bound
/// here is on memory and CPU time, not wall time: run under `ulimit -v`
/// (1 GB of address space) and `ulimit -t` (20 s of CPU), the old code
/// aborted or was killed instead of exiting 4.
#[test]
fn a_chain_of_variables_doubling_a_list_is_refused_within_little_memory() {
    let mut play = String::from(
        "- hosts: nodes\n  gather_facts: false\n  vars:\n    v0: \"0123456789abcdef\"\n",
    );
    for i in 1..=30 {
        play.push_str(&format!("    v{i}: \"{{{{ [v{0}, v{0}] }}}}\"\n", i - 1));
    }
    play.push_str("  tasks:\n    - name: use\n      debug: msg=\"{{ v30 | length }}\"\n");
    let test = Test::new().local_hosts(ONE).playbook(&play);
    let bin = assert_cmd::cargo::cargo_bin("baton");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 1000000; ulimit -t 20; exec \"$0\" run play.yml -i inventory.yml")
        .arg(&bin)
        .current_dir(test.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("baton runs");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(4), "{all}");
    assert!(all.contains("variable `v17` is too large"), "{all}");
    assert!(all.contains("play.yml:21:"), "names the line of v17: {all}");
}

/// Below the limit, a variable kept in template form reads as the same
/// data as before: its length, its parts, and JSON of it.
#[test]
fn a_shared_list_under_the_limit_reads_whole() {
    let mut play = String::from(
        "- hosts: nodes\n  gather_facts: false\n  vars:\n    v0: \"ab\"\n    m: \"{{ {'k': v3, 'n': [v1, omit]} }}\"\n",
    );
    for i in 1..=3 {
        play.push_str(&format!("    v{i}: \"{{{{ [v{0}, v{0}] }}}}\"\n", i - 1));
    }
    play.push_str(
        "  tasks:\n    - debug: msg=\"{{ v3 | flatten | join('') }} {{ v3 | length }} {{ m | to_json }}\"\n",
    );
    let run = Test::new().local_hosts(ONE).playbook(&play).run();
    run.assert_code(0);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains(r#"abababababababab 2 {"k": [[["ab", "ab"], ["ab", "ab"]], [["ab", "ab"], ["ab", "ab"]]], "n": [["ab", "ab"]]}"#),
        "{all}"
    );
}

/// Runs baton in the test's directory under `ulimit -v` (KiB of address
/// space) and `ulimit -t` (seconds of CPU): its exit code and all it printed.
fn run_bounded(test: &Test, vmem_kib: u64, cpu_secs: u64) -> (Option<i32>, String) {
    let bin = assert_cmd::cargo::cargo_bin("baton");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {vmem_kib}; ulimit -t {cpu_secs}; exec \"$0\" run play.yml -i inventory.yml"
        ))
        .arg(&bin)
        .current_dir(test.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("baton runs");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), all)
}

/// Issue 9: `set_fact: {l: "{{ l + l }}"}` over a 40-item loop, `l: [1]`.
/// Refused at 2^18 items: 8 bytes a number and 72 for its slot
/// ([`baton::plan::vars::ITEM_SLOT_BYTES`]), 20971520 bytes.
/// The fact went from JSON to template values and back on every item, was
/// copied whole into each item's variables and kept as JSON by every item
/// and by the report: 9 s of CPU and 1.1 GB before the 22nd doubling was
/// refused (a debug build). Now the fact stays in template form between
/// items, the doubled list is measured before anything converts it, and
/// JSON is made once for the task: run under 800 MB of address space and
/// 20 s of CPU, the old code aborted on an allocation. The same through
/// `register` (the items' results are not made per item) and `cacheable`.
#[test]
fn a_set_fact_doubling_a_list_in_a_loop_is_refused_within_little_memory() {
    // one run for the three (each takes seconds of CPU in a debug build):
    // `register` and `cacheable` go through the same path as a bare set_fact
    let play = "- hosts: nodes\n  gather_facts: false\n  vars:\n    l: [1]\n  tasks:\n    - name: grow\n      set_fact: {l: \"{{ l + l }}\", cacheable: true}\n      loop: \"{{ range(40) | list }}\"\n      register: r\n    - name: after\n      debug: msg=unreachable\n";
    let test = Test::new().local_hosts(ONE).playbook(play);
    let (code, all) = run_bounded(&test, 800_000, 20);
    assert_eq!(code, Some(4), "{all}");
    assert!(
        all.contains("argument `l` of task `grow` renders to 20971520 bytes or more, over the 16 MiB limit on a value"),
        "{all}"
    );
    assert!(all.contains("play.yml:7:"), "names the line: {all}");
    assert!(!all.contains("TASK [after]"), "stops there: {all}");
}

/// Under the limit, a fact a loop grows in template form reads as the
/// list it is: by later items, later tasks (indexed, measured, as JSON),
/// in each item's registered result, and in the JSON report.
#[test]
fn a_list_grown_by_set_fact_in_a_loop_reads_whole() {
    let run = Test::new()
        .local_hosts(ONE)
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  vars:
    l: ["a"]
  tasks:
    - name: grow
      set_fact: {l: "{{ l + l + [item] }}", cacheable: true}
      loop: [1, 2]
      register: r
    - name: show
      debug: msg="{{ l | to_json }} {{ l[3] }} {{ l | length }} {{ r.results[1].ansible_facts.l | length }} {{ r.results[0].ansible_facts.l | to_json }}"
"#,
        )
        .args(&["--output", "json"])
        .run();
    run.assert_code(0);
    let msg = run.results("show")[0]["result"]["msg"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(msg, r#"["a", "a", 1, "a", "a", 1, 2] a 7 7 ["a", "a", 1]"#);
    let items: Vec<serde_json::Value> = run
        .events()
        .into_iter()
        .filter(|e| {
            e["event"] == "host_result" && e["task"]["name"] == "grow" && !e["item"].is_null()
        })
        .collect();
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[0]["result"]["facts"]["l"],
        serde_json::json!(["a", "a", 1])
    );
    assert_eq!(
        items[1]["result"]["facts"]["l"],
        serde_json::json!(["a", "a", 1, "a", "a", 1, 2])
    );
}

/// Issue 9 (t9 report, defect 3): `x: 1`, then 30 separate tasks
/// `set_fact: {x: "{{ [x, x] }}"}`. The measure counted text alone (8
/// bytes a number), so 2^20 leaves measured 8 MiB, under the cap, while
/// they took about 160 bytes a leaf as JSON and more as template values:
/// the run aborted on an allocation at 1.8 GB (prlimit 2 GB). Each list
/// item now counts the memory of its slot too
/// ([`baton::plan::vars::ITEM_SLOT_BYTES`]): refused at the 17th doubling
/// (2^17 leaves, 2^18 - 2 slots: 19,922,800 bytes), exit 4, naming its line,
/// under 800 MB of address space.
#[test]
fn separate_set_facts_doubling_a_list_are_refused_within_little_memory() {
    let mut play =
        String::from("- hosts: nodes\n  gather_facts: false\n  vars:\n    x: 1\n  tasks:\n");
    for _ in 0..30 {
        play.push_str("    - set_fact: {x: \"{{ [x, x] }}\"}\n");
    }
    play.push_str("    - name: after\n      debug: msg=unreachable\n");
    let test = Test::new().local_hosts(ONE).playbook(&play);
    let (code, all) = run_bounded(&test, 800_000, 30);
    assert_eq!(code, Some(4), "{all}");
    assert!(
        all.contains("argument `x` of task `set_fact` renders to 19922800 bytes or more, over the 16 MiB limit on a value"),
        "{all}"
    );
    // the 17th set_fact: tasks start at line 6
    assert!(all.contains("play.yml:22:"), "names the line: {all}");
    assert!(!all.contains("TASK [after]"), "stops there: {all}");
}

/// Ordinary large facts still fit: a list of 100,000 short strings (about
/// 8 MB by the measure) and a mapping of 100,000 entries (about 13 MB).
#[test]
fn a_hundred_thousand_item_list_and_mapping_still_pass() {
    let run = Test::new()
        .local_hosts(ONE)
        .playbook(
            r#"
- hosts: nodes
  gather_facts: false
  tasks:
    - set_fact: {names: "{{ range(100000) | map('string') | list }}"}
    - set_fact: {m: "{{ dict(names | zip(range(100000))) }}"}
    - name: show
      debug: msg="{{ names | length }} {{ names[99999] }} {{ m | length }} {{ m['4242'] }}"
"#,
        )
        .args(&["--output", "json"])
        .run();
    run.assert_code(0);
    let msg = run.results("show")[0]["result"]["msg"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(msg, "100000 99999 100000 4242");
}
