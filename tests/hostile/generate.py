#!/usr/bin/env python3
"""Write the hostile-input corpus into tests/hostile/cases/ (run from anywhere).

Each case is one file, or one directory with `main.yml`; the suffix says how
tests/hostile.rs runs it:

  *.pb.yml       baton run --syntax-check FILE
  *.ev.yml       baton run --syntax-check -e @FILE tests/hostile/ok.yml
  *.inv.yml/.ini baton inventory -i FILE --list
  */main.yml     baton run --syntax-check DIR/main.yml (roles beside it)
  *.run.yml      baton run -i localhost, FILE (run for real, local connection:
                 for what only a run renders)

Every case must end in exit 0 or 4, never a panic, a signal or a hang, and an
exit-4 error should name the file and line. Regenerate with
`python3 tests/hostile/generate.py` after editing; the output is committed.
"""
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "cases")
cases = {}


def play(task_lines, play_extra=""):
    body = "\n".join("      " + l for l in task_lines)
    return ("- hosts: localhost\n  gather_facts: false\n" + play_extra +
            "  tasks:\n    - name: t\n" + body + "\n")


# 1. Numbers in duration and count fields.
VALUES = ["18446744073709551615", "1e300", "-1", "-3", ".nan", ".inf", "-.inf",
          "2.5", "0", "1e20", "abc", "''", "[]", "{}", "0x7fffffffffffffff",
          "-9223372036854775808"]
FIELDS = {
    "pause-seconds": lambda v: ["pause: {seconds: %s}" % v],
    "pause-minutes": lambda v: ["pause: {minutes: %s}" % v],
    "until-delay": lambda v: ["command: 'true'", "until: false", "delay: %s" % v],
    "until-retries": lambda v: ["command: 'true'", "until: false", "retries: %s" % v],
    "loop-pause": lambda v: ["debug: msg=x", "loop: [1, 2]", "loop_control: {pause: %s}" % v],
    "timeout": lambda v: ["command: 'true'", "timeout: %s" % v],
    "wait-for-timeout": lambda v: ["wait_for: {port: 22, timeout: %s}" % v],
}
for fname, make in FIELDS.items():
    for i, v in enumerate(VALUES):
        cases[f"num-{fname}-{i:02}.pb.yml"] = play(make(v))
for i, v in enumerate(VALUES):
    cases[f"num-serial-{i:02}.pb.yml"] = ("- hosts: localhost\n  gather_facts: false\n"
                                          f"  serial: {v}\n  tasks: []\n")
    cases[f"num-max-fail-{i:02}.pb.yml"] = ("- hosts: localhost\n  gather_facts: false\n"
                                            f"  max_fail_percentage: {v}\n  tasks: []\n")

# 2. Deep nesting, block and flow, in each kind of file.
def block_seq(n):
    return "- " * n + "1\n"


def block_map(n):
    return "".join("  " * i + "a:\n" for i in range(n)) + "  " * n + "1\n"


for n in (256, 1000, 50000):
    cases[f"deep-block-seq-{n}.pb.yml"] = block_seq(n)
    cases[f"deep-block-seq-{n}.ev.yml"] = "x:\n  " + block_seq(n)
    cases[f"deep-block-seq-{n}.inv.yml"] = "all:\n  vars:\n    x:\n      " + block_seq(n)
    m = min(n, 20000)
    cases[f"deep-flow-seq-{m}.pb.yml"] = "[" * m + "]" * m + "\n"
    cases[f"deep-flow-map-{m}.ev.yml"] = "x: " + "{a: " * m + "1" + "}" * m + "\n"
    cases[f"deep-in-vars-{m}.pb.yml"] = ("- hosts: localhost\n  vars:\n    x: " +
                                         "[" * m + "]" * m + "\n  tasks: []\n")
for n in (256, 9000):
    cases[f"deep-explicit-key-map-{n}.pb.yml"] = "? " * n + "a\n"
    cases[f"deep-explicit-key-map-{n}.ev.yml"] = "x:\n  " + "? " * n + "a\n"
    cases[f"deep-explicit-key-map-{n}.inv.yml"] = "all:\n  vars:\n    x: " + "? " * n + "a\n"
for n in (256, 300):
    cases[f"deep-block-map-{n}.pb.yml"] = block_map(n)
    cases[f"deep-block-map-{n}.inv.yml"] = block_map(n)

# 3. Aliases.
def laughs(levels, width=9):
    names = "abcdefghijklmnop"
    lines = ["a: &a [" + ",".join(["x"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"{names[i]}: &{names[i]} [" + ",".join(["*" + names[i - 1]] * width) + "]")
    return "\n".join(lines) + "\n"


for levels in (5, 6, 9, 10, 12):
    cases[f"alias-laughs-{levels}.ev.yml"] = laughs(levels)
    cases[f"alias-laughs-{levels}.inv.yml"] = "all:\n  vars:\n    " + laughs(levels).replace("\n", "\n    ")
    cases[f"alias-laughs-{levels}.pb.yml"] = ("- hosts: localhost\n  vars:\n    " +
                                              laughs(levels).replace("\n", "\n    ") + "\n  tasks: []\n")
cases["alias-merge-ok.pb.yml"] = ("- hosts: localhost\n  gather_facts: false\n  vars:\n"
                                  "    base: &b {x: 1, y: 2}\n    other:\n      <<: *b\n      y: 3\n"
                                  "    many: [*b, *b, *b, *b, *b, *b, *b, *b]\n  tasks: []\n")
cases["alias-undefined.pb.yml"] = "- hosts: localhost\n  vars: *nothing\n  tasks: []\n"
cases["alias-self.ev.yml"] = "a: &a [1, *a]\n"
cases["alias-merge-seq-self.ev.yml"] = "a: &a\n  <<: *a\n"
cases["alias-wide.ev.yml"] = "a: &a [" + ",".join(["x"] * 2000) + "]\nb: [" + ",".join(["*a"] * 200) + "]\n"
cases["alias-deep-chain.ev.yml"] = "".join(
    f"l{i}: &l{i} [" + ("*l%d" % (i - 1) if i else "0") + "]\n" for i in range(400))

# 4. Encodings and odd bytes.
BOM = "\ufeff"
cases["bom-ok.pb.yml"] = BOM + "- hosts: localhost\n  gather_facts: false\n  tasks: []\n"
cases["bom-ok.ev.yml"] = BOM + "x: 1\n"
cases["bom-ok.inv.yml"] = BOM + "all:\n  hosts:\n    a:\n"
cases["bom-ok.inv.ini"] = BOM + "[web]\na\nb\n"
cases["bom-twice.pb.yml"] = BOM + BOM + "- hosts: localhost\n  tasks: []\n"
binary_cases = {
    "latin1.pb.yml": b"- hosts: localhost\n  tasks:\n    - debug: msg=caf\xe9\n",
    "latin1.ev.yml": b"x: caf\xe9\n",
    "latin1.inv.ini": b"[web]\ncaf\xe9\n",
    "latin1.inv.yml": b"all:\n  hosts:\n    caf\xe9:\n",
    "nul.pb.yml": b"- hosts: localhost\x00\n  tasks: []\n",
    "nul.inv.ini": b"[web]\na\x00b\n",
    "nul-in-args.pb.yml": b"- hosts: localhost\n  tasks:\n    - debug: msg=\"a\x00b\"\n",
    "utf16.pb.yml": "- hosts: localhost\n".encode("utf-16"),
    "truncated-utf8.ev.yml": b"x: \xe2\x82\n",
    "controls.pb.yml": b"- hosts: localhost\n  tasks:\n    - debug: msg=\x01\x02\x1b[31m\n",
}
cases["empty.pb.yml"] = ""
cases["empty.ev.yml"] = ""
cases["empty.inv.yml"] = ""
cases["empty.inv.ini"] = ""
cases["comments-only.pb.yml"] = "# nothing\n"
cases["crlf.pb.yml"] = "- hosts: localhost\r\n  gather_facts: false\r\n  tasks: []\r\n"

# 5. Structure.
cases["tasks-not-list.pb.yml"] = "- hosts: localhost\n  tasks: {a: 1}\n"
cases["play-is-string.pb.yml"] = "- just a string\n"
cases["top-is-map.pb.yml"] = "hosts: localhost\ntasks: []\n"
cases["top-is-int.pb.yml"] = "42\n"
cases["two-docs.pb.yml"] = "- hosts: a\n  tasks: []\n---\n- hosts: b\n  tasks: []\n"
cases["tab-indent.pb.yml"] = "- hosts: localhost\n\ttasks: []\n"
cases["unclosed-quote.pb.yml"] = "- hosts: 'localhost\n  tasks: []\n"
cases["unclosed-template.pb.yml"] = play(["debug: msg=\"{{ x\""])
cases["huge-key.pb.yml"] = play(["debug: {" + "k" * 100000 + ": 1}"])
cases["huge-string.pb.yml"] = play(["debug: {msg: '" + "x" * 200000 + "'}"])
cases["many-tasks.pb.yml"] = ("- hosts: localhost\n  gather_facts: false\n  tasks:\n" +
                              "    - debug: msg=x\n" * 3000)
cases["dup-keys.pb.yml"] = "- hosts: localhost\n  hosts: other\n  tasks: []\n"
cases["null-key.pb.yml"] = "- ~: x\n  hosts: localhost\n"
cases["list-key.pb.yml"] = "- [a, b]: x\n  hosts: localhost\n"
cases["env-bad-name.pb.yml"] = play(["command: 'true'", "environment: {'1BAD': x}"])
cases["env-dash.pb.yml"] = play(["command: 'true'", "environment: {'A-B': x}"])
cases["env-not-map.pb.yml"] = play(["command: 'true'", "environment: [a]"])
cases["vars-files-missing.pb.yml"] = ("- hosts: localhost\n  vars_files: [nowhere.yml]\n  tasks: []\n")
cases["vars-files-list.pb.yml"] = ("- hosts: localhost\n  vars_files: [[a]]\n  tasks: []\n")
cases["include-missing.pb.yml"] = play(["include_tasks: nowhere.yml"])
cases["import-self.pb.yml"] = "- import_playbook: import-self.pb.yml\n"
cases["loop-huge-range.pb.yml"] = play(["debug: msg=x", "loop: \"{{ range(0, 10**12) | list }}\""])
cases["weird-module.pb.yml"] = play(["'': x"])
cases["tags-nested.pb.yml"] = play(["debug: msg=x", "tags: [[[a]]]"])
cases["when-map.pb.yml"] = play(["debug: msg=x", "when: {a: 1}"])
cases["hosts-deep.pb.yml"] = "- hosts: " + "[" * 300 + "]" * 300 + "\n  tasks: []\n"

# 6. Inventories.
cases["range-huge.inv.yml"] = "all:\n  hosts:\n    h[0:99999999999]:\n"
cases["range-huge.inv.ini"] = "[web]\nh[0:99999999999]\n"
cases["range-backwards.inv.ini"] = "[web]\nh[9:0]\n"
cases["range-step0.inv.ini"] = "[web]\nh[0:9:0]\n"
cases["group-self-child.inv.ini"] = "[a:children]\na\n"
cases["group-cycle.inv.yml"] = "all:\n  children:\n    a:\n      children:\n        b:\n          children:\n            a:\n"
cases["ini-vars-no-group.inv.ini"] = "[nothere:vars]\nx=1\n"
cases["ini-bad-header.inv.ini"] = "[web\na\n"
cases["ini-long-line.inv.ini"] = "[web]\n" + "a" * 200000 + "\n"
cases["ini-many-hosts.inv.ini"] = "[web]\n" + "".join(f"h{i}\n" for i in range(20000))
cases["inv-hosts-list.inv.yml"] = "all:\n  hosts: [a, b]\n"
cases["inv-vars-string.inv.yml"] = "all:\n  vars: hello\n"
cases["inv-top-list.inv.yml"] = "- a\n- b\n"

# 7. -e files.
cases["ev-list.ev.yml"] = "- a\n- b\n"
cases["ev-scalar.ev.yml"] = "hello\n"
cases["ev-bad-name.ev.yml"] = "'not a name': 1\n"
cases["ev-huge-number.ev.yml"] = "x: " + "9" * 5000 + "\n"

# 8a. Diagnostics on very long lines (miette panicked past column 65,535).
cases["long-line-error.pb.yml"] = play(["debug: {msg: '" + "x" * 70000 + "{{ nope(1) }}'}"])
cases["long-line-error-late.pb.yml"] = play(["debug: {msg: '" + "x" * 70000 + "'}", "bogus_key: 1"])

# 8. Roles that come back to themselves (directories).
dirs = {
    "role-self-dep": {
        "main.yml": "- hosts: localhost\n  gather_facts: false\n  roles: [r1]\n",
        "roles/r1/meta/main.yml": "dependencies: [r1]\n",
        "roles/r1/tasks/main.yml": "- debug: msg=x\n",
    },
    "role-dep-cycle": {
        "main.yml": "- hosts: localhost\n  gather_facts: false\n  roles: [r1]\n",
        "roles/r1/meta/main.yml": "dependencies: [r2]\n",
        "roles/r1/tasks/main.yml": "- debug: msg=x\n",
        "roles/r2/meta/main.yml": "dependencies: [{role: r3}]\n",
        "roles/r2/tasks/main.yml": "- debug: msg=x\n",
        "roles/r3/meta/main.yml": "dependencies: [r1]\n",
    },
    "role-include-self": {
        "main.yml": "- hosts: localhost\n  gather_facts: false\n  roles: [r1]\n",
        "roles/r1/tasks/main.yml": "- include_role: {name: r1}\n",
    },
    "role-import-self": {
        "main.yml": "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - import_role: {name: r1}\n",
        "roles/r1/tasks/main.yml": "- import_role: {name: r1}\n",
    },
    "role-include-other-file-ok": {
        "main.yml": "- hosts: localhost\n  gather_facts: false\n  roles: [r1]\n",
        "roles/r1/tasks/main.yml": "- include_role: {name: r1, tasks_from: other}\n",
        "roles/r1/tasks/other.yml": "- debug: msg=x\n",
    },
    "role-include-via-file": {
        "main.yml": "- hosts: localhost\n  gather_facts: false\n  roles: [r1]\n",
        "roles/r1/tasks/main.yml": "- include_role: {name: r1, tasks_from: other}\n",
        "roles/r1/tasks/other.yml": "- include_role: {name: r1}\n",
    },
    "role-meta-deep": {
        "main.yml": "- hosts: localhost\n  gather_facts: false\n  roles: [r1]\n",
        "roles/r1/meta/main.yml": "dependencies: " + "[" * 400 + "]" * 400 + "\n",
    },
    "vars-file-deep": {
        "main.yml": "- hosts: localhost\n  gather_facts: false\n  vars_files: [v.yml]\n  tasks: []\n",
        "v.yml": "x:\n  " + block_seq(50000),
    },
    "vars-file-bom-ok": {
        "main.yml": "- hosts: localhost\n  gather_facts: false\n  vars_files: [v.yml]\n  tasks: []\n",
        "v.yml": BOM + "x: 1\n",
    },
    "vars-files-dir": {
        "main.yml": "- hosts: localhost\n  gather_facts: false\n  vars_files: [vdir]\n  tasks: []\n",
        "vdir/keep.yml": "x: 1\n",
    },
    "playbook-is-dir": {
        "main.yml/keep": "",
    },
}

# Blocks nested 100 deep (YAML's own bound allows about that many) in each
# of 5 files importing each other overflowed the stack; deeper chains of
# task files, roles and playbooks are generated by tests/hostile.rs.
blocks = {"main.yml": ("- hosts: localhost\n  gather_facts: false\n  tasks:\n"
                       "    - import_tasks: b0.yml\n")}
for f in range(5):
    lines = ["    " * i + "- block:" for i in range(100)]
    last = f"- import_tasks: b{f + 1}.yml" if f < 4 else "- debug: msg=end"
    lines.append("    " * 100 + last)
    blocks[f"b{f}.yml"] = "\n".join(lines) + "\n"
dirs["chain-blocks-500"] = blocks

# 6. Long operator chains: minijinja nests its syntax tree one level per
# operator, and compiling, evaluating and dropping it recurse (a stack
# overflow at about 3,400 levels before the depth limit).
CHAINS = {
    "minus": "-" * 5000 + "1",
    "plus": " + ".join(["1"] * 5000),
    "attr": "x" + ".a" * 5000,
    "filter": "1" + "|string" * 5000,
    "brackets": "[" * 300 + "]" * 300,
}
for name, expr in CHAINS.items():
    cases[f"chain-{name}.pb.yml"] = play(['debug: {msg: "{{ %s }}"}' % expr])
cases["chain-not-when.pb.yml"] = play(["debug: msg=x", "when: " + "not " * 5000 + "1"])
cases["chain-or-when.pb.yml"] = play(["debug: msg=x", "when: " + " or ".join(["x"] * 6000)])
cases["chain-at-limit-ok.pb.yml"] = play(['debug: {msg: "{{ %s }}"}' % " + ".join(["1"] * 200)])

# 7. Aliases of a long value: few values, many bytes (90,000 copies of a
# 20,000-byte string is 1.8 GB).
ALIAS_BYTES = "big: &a " + "A" * 20000 + "\nmany: [" + ",".join(["*a"] * 90000) + "]\n"
cases["alias-bytes.ev.yml"] = ALIAS_BYTES
cases["alias-bytes.pb.yml"] = ("- hosts: localhost\n  gather_facts: false\n  vars:\n    " +
                               ALIAS_BYTES.replace("\n", "\n    ") + "\n  tasks: []\n")

# 8. Run for real (`*.run.yml`): values that only a render meets.
def run_play(task_lines, play_extra=""):
    body = "\n".join("      " + l for l in task_lines)
    return ("- hosts: localhost\n  connection: local\n  gather_facts: false\n" + play_extra +
            "  tasks:\n    - name: t\n" + body + "\n")


# A mapping holding the same part twice, 40 times over: small in memory,
# 2^40 leaves written out; every way of writing it is refused at the cap.
DAG = ("{% set ns = namespace(s='x') %}{% for i in range(40) %}"
       "{% set ns.s = {'a': ns.s, 'b': ns.s} %}{% endfor %}")
DAG_TAILS = {
    "tojson": "{{ ns.s | tojson }}", "to-json": "{{ ns.s | to_json }}",
    "to-nice-json": "{{ ns.s | to_nice_json }}", "to-yaml": "{{ ns.s | to_yaml }}",
    "string": "{{ ns.s | string }}", "print": "{{ ns.s }}", "in-text": "v={{ ns.s }}",
    "concat": "{{ ns.s ~ '' }}", "percent": "{{ '%s' % ns.s }}",
    "join": "{{ [ns.s] | join(',') }}", "pprint": "{{ ns.s | pprint }}",
    "hash": "{{ ns.s | hash('sha1') }}", "list": "{{ [ns.s, ns.s] }}",
}
for name, tail in DAG_TAILS.items():
    cases[f"dag-debug-{name}.run.yml"] = run_play(['debug: {msg: "%s%s"}' % (DAG, tail)])
cases["dag-set-fact.run.yml"] = run_play(['set_fact: {v: "%s{{ ns.s }}"}' % DAG])
cases["dag-set-fact-text.run.yml"] = run_play(['set_fact: {v: "%s{{ ns.s | to_json }}"}' % DAG])
cases["dag-when.run.yml"] = run_play(["debug: msg=x", 'when: "%s{{ ns.s | length > 0 }}"' % DAG])
cases["dag-60-levels.run.yml"] = run_play(['debug: {msg: "%s{{ ns.s }}"}' % DAG.replace("40", "60")])
# int of an infinite or huge float: Python's OverflowError, not 0
for i, expr in enumerate(["(1e308 * 10) | int", "'inf' | int", "'-inf' | int", "1e300 | int",
                          "('nan' | float) | int", "(2.0 ** 127) | int"]):
    cases[f"int-overflow-{i}.run.yml"] = run_play(['debug: {msg: "{{ %s }}"}' % expr])
# bidi and control characters in names and messages: printed escaped
for i, ch in enumerate(["\u202e", "\u2066", "\u200f", "\x1b[2J", "\x9b", "\u061c"]):
    cases[f"bidi-{i}.run.yml"] = ("- hosts: localhost\n  connection: local\n  gather_facts: false\n"
                                  "  tasks:\n    - name: \"restart %sgnp.exe\"\n"
                                  "      debug: {msg: \"a %sb\"}\n" % (ch.encode("unicode_escape").decode(), ch.encode("unicode_escape").decode()))
# templated durations: rendered when the task runs, bounded as literal ones
# (exit 4 at the template); a module's own failure is ignored here
for i, v in enumerate(VALUES):
    extra = "  vars: {v: %s}\n" % v
    tpl = '"{{ v }}"'
    cases[f"tpl-timeout-{i:02}.run.yml"] = run_play(
        ["command: 'true'", "timeout: " + tpl, "ignore_errors: true"], extra)
    cases[f"tpl-loop-pause-{i:02}.run.yml"] = run_play(
        ["debug: msg=x", "loop: [1, 2]", "loop_control: {pause: %s}" % tpl], extra)
    cases[f"tpl-pause-seconds-{i:02}.run.yml"] = run_play(
        ["pause: {seconds: %s}" % tpl, "ignore_errors: true"], extra)
    cases[f"tpl-wait-for-{i:02}.run.yml"] = run_play(
        ["wait_for: {port: 1, state: stopped, timeout: %s}" % tpl, "ignore_errors: true"], extra)

# Products, sequence widths and output-sizing filter arguments (issue 9, second trial).
L = '"{{ range(100) | list }}"'
for kind in ("nested", "cartesian"):
    cases[f"product-with-{kind}.run.yml"] = run_play(
        ["debug: msg=x", "with_%s: [%s]" % (kind, ", ".join([L] * 5))])
cases["product-filter-loop.run.yml"] = run_play(
    ["debug: msg=x", 'loop: "{{ range(100) | product(range(100), repeat=6) | list }}"'])
cases["sequence-width.run.yml"] = run_play(
    ["debug: msg={{ item }}", "with_sequence: start=1 end=2 format=%0999999999d"])
cases["sequence-wide-items.run.yml"] = run_play(
    ["debug: msg={{ item }}", "with_sequence: start=1 count=999999 format=%04000d"])
for i, f in enumerate(["to_nice_json(indent=10**9)", "to_json(indent=10**9)",
                       "to_nice_yaml(indent=10**9)", "to_json(separators=['x' * 10**6, ':'])"]):
    cases[f"filter-size-arg-{i}.run.yml"] = run_play(['debug: {msg: "{{ range(100) | list | %s }}"}' % f])

# Issue 9, runaway input kinds (second round).
# A variable chain doubling a list (`[v, v]`), with leaves of 1 MiB so that
# the refusal comes within a few levels; one doubling a mapping.
lines = ["v0: \"{{ ['x' * 1048576] }}\""] + [
    "v%d: \"{{ [v%d, v%d] }}\"" % (i, i - 1, i - 1) for i in range(1, 31)]
cases["var-list-doubling.run.yml"] = run_play(
    ["debug: msg={{ v30 | length }}"], "  vars:\n" + "".join("    %s\n" % l for l in lines))
lines = ["m0: \"{{ {'k': 'x' * 1048576} }}\""] + [
    "m%d: \"{{ {'a': m%d, 'b': m%d} }}\"" % (i, i - 1, i - 1) for i in range(1, 31)]
cases["var-map-doubling.run.yml"] = run_play(
    ["debug: msg={{ m30 | length }}"], "  vars:\n" + "".join("    %s\n" % l for l in lines))
# A 2,000-deep group chain (tests/scale.rs measures 20,000 in memory).
N = 2000
cases["group-chain-2000.inv.yml"] = "all:\n  children:\n" + "".join(
    "    g%d:\n      children:\n        g%d:\n" % (i, i + 1) for i in range(N - 1)
) + "    g%d:\n      hosts:\n        leaf:\n" % (N - 1)
cases["group-chain-2000.inv.ini"] = "".join(
    "[g%d:children]\ng%d\n" % (i, i + 1) for i in range(N - 1)) + "[g%d]\nleaf\n" % (N - 1)
cases["slice-fill-with.run.yml"] = run_play(
    ['debug: msg="{{ range(5) | slice(3, fill_with=\'x\') | list }}"'])
# A zero divisor in `divisibleby` (issue 9, third trial): panicked inside
# minijinja; now Python's ZeroDivisionError fails the task at its line.
for i, expr in enumerate(["5 is divisibleby(0)", "[1, 2, 3] | select('divisibleby', 0) | list",
                          "5 is divisibleby(0.0)", "range(-1, -9223372036854775807, -1) | list"]):
    cases[f"divisibleby-zero-{i}.run.yml"] = run_play(['debug: {msg: "{{ %s }}"}' % expr])
# Slices with a negative step past the end or of i64::MIN: minijinja's index
# arithmetic overflowed (a panic in debug builds); Python's slice now.
for i, expr in enumerate(["[1, 2, 3][-1:5:-1]", "'abc'[::s]", "[1, 2, 3][s:s:s]"]):
    cases[f"slice-negative-step-{i}.run.yml"] = run_play(
        ['debug: {msg: "{{ %s }}"}' % expr], "  vars: {s: -9223372036854775808}\n")
cases["yaml-big-int.run.yml"] = run_play(
    ["debug: msg={{ big }}"], "  vars:\n    big: 123456789012345678901234567890\n")
# 4 MiB of two-byte lines: `stdout_lines` would be 2 Mi values; refused
# when registered, without building them (ignored: the run ends 0).
cases["stdout-lines-many.run.yml"] = run_play(
    ["shell: yes | head -c 4194304", "register: r", "ignore_errors: true"])
# Issue 9 (h9a): lists made by filters, each counted before it is built,
# and all of a render's against one budget (each of these aborted on
# allocation under a 2 GiB address space, or would have).
S16 = "{% set s = 'x' * 16000000 %}"
S200K = "{% set s = 'x' * 200000 %}"
for name, expr in {
    "list-of-string-x5": "[s|list, s|list, s|list, s|list, s|list] | length",
    "map-of-string-x5": "[s|map('upper'), s|map('upper'), s|map('upper'), s|map('upper'), s|map('upper')] | length",
    "unique-of-string-x5": "[s|unique, s|unique, s|unique, s|unique, s|unique] | length",
    "select-of-string-x5": "[s|select, s|select, s|select, s|select, s|select] | length",
    "sort-of-string-x5": "[s|sort, s|sort, s|sort, s|sort, s|sort] | length",
    "batch-of-string-x5": "[s|batch(1)|list, s|batch(1)|list, s|batch(1)|list, s|batch(1)|list, s|batch(1)|list] | length",
    "regex-findall-x5": "[s|regex_findall('x'), s|regex_findall('x'), s|regex_findall('x'), s|regex_findall('x'), s|regex_findall('x')] | length",
}.items():
    cases[f"grow-{name}.run.yml"] = run_play(['debug: {msg: "%s{{ %s }}"}' % (S16, expr)])
cases["grow-split-x10.run.yml"] = run_play(
    ['debug: {msg: "{%% set s = \'x \' * 8000000 %%}{{ %s }}"}' % (", ".join(["s.split()"] * 10).join("[]") + " | length")])
cases["grow-lines-x5.run.yml"] = run_play(
    ['debug: {msg: "{%% set s = \'x\\n\' * 8000000 %%}{{ [%s] | length }}"}' % ", ".join(["s|lines"] * 5)])
# lists each under the cap, many of them: the render's budget
cases["grow-budget-x400.run.yml"] = run_play(
    ['debug: {msg: "%s{{ [%s] | length }}"}' % (S200K, ", ".join(["s|list"] * 400))])
cases["grow-budget-loop.run.yml"] = run_play(
    ['debug: {msg: "%s{%% set ns = namespace(l=[]) %%}{%% for i in range(400) %%}'
     '{%% set ns.l = ns.l + [s|list] %%}{%% endfor %%}{{ ns.l | length }}"}' % S200K])

# 9. Control characters that reach an error, a warning or the report: ESC
# (an OSC retitling the terminal, a CSI clearing it), BEL, an 8-bit CSI
# (U+009B) and a right-to-left override (U+202E). tests/hostile.rs checks
# that no case prints one raw, on stderr or in the human report.
CTL = "\x1b]0;PWNED\x07\x1b[2J\u009b1m\u202e"
CTL_YAML = "\\e]0;PWNED\\a\\e[2J\\u009b1m\\u202e"
cases["ctl-task-key.pb.yml"] = play(["debug: msg=x", "bogus%s: 1" % CTL])
cases["ctl-before-bad-key.pb.yml"] = (
    "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
    "    - {name: \"%s\", debug: {msg: x}, bogus: 1}\n" % CTL)
cases["ctl-vars-file.pb.yml"] = (
    "- hosts: localhost\n  gather_facts: false\n"
    "  vars_files: [\"nope%s.yml\"]\n  tasks: []\n" % CTL_YAML)
cases["ctl-module-arg.pb.yml"] = play(["debug: {msg: x, bogus%s: 1}" % CTL])
cases["ctl-var-name.ev.yml"] = "\"bad%s\": 1\n" % CTL_YAML
cases["ctl-host.inv.ini"] = "[g]\nweb%s ansible_connection=local\n" % CTL
cases["ctl-var-key.inv.yml"] = (
    "all:\n  hosts:\n    web:\n      \"bad%s\": 1\n" % CTL_YAML)
cases["ctl-name-and-msg.run.yml"] = (
    "- name: \"P%s\"\n  hosts: localhost\n  connection: local\n  gather_facts: false\n"
    "  tasks:\n    - name: \"T%s\"\n      debug: {msg: \"M%s\"}\n" % (CTL_YAML, CTL_YAML, CTL_YAML))

if os.path.isdir(OUT):
    shutil.rmtree(OUT)
os.makedirs(OUT)
for name, text in cases.items():
    with open(os.path.join(OUT, name), "w", encoding="utf-8", newline="") as f:
        f.write(text)
for name, data in binary_cases.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
for name, files in dirs.items():
    for rel, text in files.items():
        path = os.path.join(OUT, name, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
print(f"{len(cases) + len(binary_cases) + len(dirs)} cases in {OUT}")
