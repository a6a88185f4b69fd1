//! The 16 MiB cap on one value inside a render (issue 9, item 2): each
//! hostile template exits 4 with the file, line and the limit, quickly and
//! without allocating the big value. The baton child runs under a 1 GiB
//! address-space limit, so a regression fails here instead of eating the
//! machine.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MEMORY_LIMIT: u64 = 1 << 30;

const REPLACE_X10: &str = "replace('', 'xxxxxxxxxx')";

fn cases() -> Vec<(&'static str, String)> {
    let chained = std::iter::repeat_n(REPLACE_X10, 8)
        .collect::<Vec<_>>()
        .join(" | ");
    vec![
        ("list-repeat", "{{ [1] * 1000000000 }}".into()),
        ("string-repeat", "{{ 'x' * 10**10 }}".into()),
        ("string-repeat-100m", "{{ 'x' * 10**8 }}".into()),
        ("chained-replace", format!("{{{{ 'ab' | {chained} }}}}")),
        (
            "concat-doubling",
            "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}".into(),
        ),
        (
            "plus-doubling",
            "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s | length }}".into(),
        ),
        (
            "list-doubling",
            "{% set ns = namespace(l=[1]) %}{% for i in range(60) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l | length }}".into(),
        ),
        ("center", "{{ 'x' | center(10**10) }}".into()),
        ("percent-width", "{{ '%1000000000s' % 'x' }}".into()),
        ("percent-precision", "{{ '%.1000000000f' % 1.5 }}".into()),
        ("indent", "{{ 'x' | indent(width=10**9) }}".into()),
        (
            "join",
            format!("{{{{ range(100000) | map('string') | join('{}') }}}}", "y".repeat(200)),
        ),
        (
            "regex-replace",
            format!("{{{{ ('x' * 100000) | regex_replace('x', '{}') }}}}", "y".repeat(200)),
        ),
        ("str-format-width", "{{ '{:>1000000000}'.format('x') }}".into()),
        ("batch-fill", "{{ [1] | batch(10**9, 0) | list }}".into()),
        (
            "loop-output",
            "{% for i in range(200) %}{{ 'x' * 16000000 }}{% endfor %}".into(),
        ),
        (
            "list-literal-of-big",
            format!(
                "{{% set a = 'x' * 16000000 %}}[{{{{ [{}] }}}}]",
                vec!["a"; 100].join(", ")
            ),
        ),
    ]
}

struct Ended {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

fn run(template: &str) -> Ended {
    let dir = tempfile::tempdir().expect("temp dir");
    let playbook = format!(
        "- hosts: localhost\n  gather_facts: false\n  connection: local\n  tasks:\n    - name: big\n      debug:\n        msg: {}\n",
        serde_json::to_string(template).expect("json string")
    );
    std::fs::write(dir.path().join("pb.yml"), playbook).expect("write playbook");
    run_in(dir.path(), &[])
}

/// baton on `pb.yml` in `dir` (with `extra` arguments), under the memory limit.
fn run_in(dir: &std::path::Path, extra: &[&str]) -> Ended {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_baton"));
    cmd.current_dir(dir)
        .args(["run", "pb.yml", "-i", "localhost,"])
        .args(extra)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "400")
        .stdin(Stdio::null());
    // SAFETY: setrlimit is async-signal-safe; nothing else runs in the child.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: MEMORY_LIMIT,
                rlim_max: MEMORY_LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let started = Instant::now();
    let out = cmd.output().expect("baton runs");
    Ended {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr)
            .lines()
            .map(|l| l.trim_start_matches([' ', '|', '│']).trim_end())
            .collect::<Vec<_>>()
            .join(" "),
        took: started.elapsed(),
    }
}

#[test]
fn every_runaway_value_is_refused_with_its_place_and_the_limit() {
    let mut failures = Vec::new();
    for (name, template) in cases() {
        let ended = run(&template);
        let ok = ended.code == Some(4)
            && ended.stderr.contains("pb.yml:7:")
            && ended
                .stderr
                .contains("exceeds baton's 16 MiB limit for one value")
            && ended.stderr.contains("build large data outside templates");
        if !ok {
            failures.push(format!(
                "{name}: exit {:?}: {}",
                ended.code,
                ended.stderr.chars().take(600).collect::<String>()
            ));
        }
        // a hang guard, not a timing: the memory limit the child runs under
        // is what fails a missing cap (the allocation aborts it); a loaded
        // 2-core CI machine can take several seconds for a debug build
        if ended.took > Duration::from_secs(60) {
            failures.push(format!("{name}: took {:?}", ended.took));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn values_under_the_cap_render_as_before() {
    let ended = run(
        "{{ 'ab' * 3 }} {{ [1, 2] + [3] }} {{ 'a' ~ 1 }} {{ 2 * 3 + 1.5 }} {{ ('x' * 1000) | length }} \
         {{ 'a b' | replace(' ', '-') }} {{ [1, 2] | join(',') }} {{ '%5s' % 'x' }}",
    );
    assert_eq!(ended.code, Some(0), "{}", ended.stderr);
    assert!(
        ended
            .stdout
            .contains("ababab [1, 2, 3] a1 7.5 1000 a-b 1,2     x"),
        "{}",
        ended.stdout
    );
}

/// A playbook whose `debug` task has `msg` and, if given, `when`.
fn playbook(msg: &str, when: Option<&str>) -> String {
    let mut pb = format!(
        "- hosts: localhost\n  gather_facts: false\n  connection: local\n  tasks:\n    - name: deep\n      debug:\n        msg: {}\n",
        serde_json::to_string(msg).expect("json string")
    );
    if let Some(w) = when {
        pb.push_str(&format!(
            "      when: {}\n",
            serde_json::to_string(w).expect("json string")
        ));
    }
    pb
}

#[test]
fn operator_chains_past_the_depth_limit_are_refused_not_a_stack_overflow() {
    // without the limit each aborts (exit 134, stack overflow) at ~3,400
    let n = 5000;
    let chains = [
        ("negations", format!("{{{{ {}1 }}}}", "-".repeat(n)), None),
        ("sums", format!("{{{{ 1{} }}}}", " + 1".repeat(n)), None),
        ("attributes", format!("{{{{ x{} }}}}", ".a".repeat(n)), None),
        (
            "filters",
            format!("{{{{ 1{} }}}}", "|string".repeat(n)),
            None,
        ),
        (
            "when-not",
            "x".into(),
            Some(format!("{}1", "not ".repeat(n))),
        ),
        (
            "when-or",
            "x".into(),
            Some(format!("x{}", " or x".repeat(n))),
        ),
    ];
    let mut failures = Vec::new();
    for (name, msg, when) in &chains {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("pb.yml"), playbook(msg, when.as_deref()))
            .expect("write playbook");
        let line = if when.is_some() {
            "pb.yml:8:"
        } else {
            "pb.yml:7:"
        };
        for extra in [&[][..], &["--syntax-check"][..]] {
            let ended = run_in(dir.path(), extra);
            let ok = ended.code == Some(4)
                && ended.stderr.contains(line)
                && ended.stderr.contains("nests more than 256 operators");
            if !ok {
                failures.push(format!(
                    "{name} {extra:?}: exit {:?}: {}",
                    ended.code,
                    ended.stderr.chars().take(400).collect::<String>()
                ));
            }
        }
    }
    // a `template` src file is refused with its own name and line
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("deep.j2"),
        format!("ok\n{{{{ 1{} }}}}\n", " ~ 1".repeat(n)),
    )
    .expect("write template");
    std::fs::write(
        dir.path().join("pb.yml"),
        "- hosts: localhost\n  gather_facts: false\n  connection: local\n  tasks:\n    - template:\n        src: deep.j2\n        dest: out.txt\n",
    )
    .expect("write playbook");
    let ended = run_in(dir.path(), &[]);
    if !(ended.code == Some(4)
        && ended.stderr.contains("deep.j2:2:")
        && ended.stderr.contains("nests more than 256 operators"))
    {
        failures.push(format!(
            "template file: exit {:?}: {}",
            ended.code,
            ended.stderr.chars().take(400).collect::<String>()
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn chains_up_to_the_depth_limit_still_render() {
    let dir = tempfile::tempdir().expect("temp dir");
    let msg = format!(
        "{{{{ 1{} }}}} {{{{ -(-(-1)) }}}} {{{{ [1{}] | length }}}}",
        "|string".repeat(250),
        ", 2 + 3".repeat(2000)
    );
    let when = format!("false{} or true", " or false".repeat(120));
    std::fs::write(dir.path().join("pb.yml"), playbook(&msg, Some(&when))).expect("write");
    let ended = run_in(dir.path(), &[]);
    assert_eq!(ended.code, Some(0), "{}", ended.stderr);
    assert!(ended.stdout.contains("1 -1 2001"), "{}", ended.stdout);
}

#[test]
fn aliases_of_a_long_string_are_capped_by_bytes_in_a_playbook_and_in_e_file() {
    // 90,000 copies of a 20,000-byte string: under the 100,000-value alias
    // cap, ~2 GB expanded; without the byte cap this aborts on allocation
    let mut aliases = format!("big: &a {}\nmany: [", "x".repeat(20_000));
    aliases.push_str(&vec!["*a"; 90_000].join(", "));
    aliases.push_str("]\n");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("vars.yml"), &aliases).expect("write vars");
    std::fs::write(dir.path().join("pb.yml"), playbook("x", None)).expect("write playbook");
    let ended = run_in(dir.path(), &["-e", "@vars.yml"]);
    assert_eq!(ended.code, Some(4), "{}", ended.stderr);
    assert!(ended.stderr.contains("vars.yml:2:"), "{}", ended.stderr);
    assert!(
        ended.stderr.contains("anchor `&a`") && ended.stderr.contains("copied bytes"),
        "{}",
        ended.stderr
    );
    let vars = aliases
        .replace("big:", "    big:")
        .replace("many:", "    many:");
    std::fs::write(
        dir.path().join("pb.yml"),
        format!("- hosts: localhost\n  gather_facts: false\n  vars:\n{vars}  tasks: []\n"),
    )
    .expect("write playbook");
    let ended = run_in(dir.path(), &[]);
    assert_eq!(ended.code, Some(4), "{}", ended.stderr);
    assert!(ended.stderr.contains("pb.yml:5:"), "{}", ended.stderr);
    assert!(ended.stderr.contains("copied bytes"), "{}", ended.stderr);
}
