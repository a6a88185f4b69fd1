#!/usr/bin/env python3
"""Prints the side-by-side table of bench/vs-ansible.sh.

Reads the samples file written by the script, one run per line:
    tool  run  repeat  wall_ms  changed  per_task_ms
(tab-separated; per_task_ms is "-" where it does not apply).
"""
import statistics
import sys
from collections import defaultdict

RUNS = ("first", "second", "check")
LABELS = {"first": "first run", "second": "second run", "check": "--check run"}


def main(path: str) -> None:
    wall = defaultdict(list)
    changed = defaultdict(set)
    per_task = []
    with open(path, encoding="utf-8") as samples:
        for line in samples:
            tool, run, _repeat, ms, n_changed, task_ms = line.rstrip("\n").split("\t")
            wall[tool, run].append(float(ms))
            changed[tool, run].add(n_changed)
            if task_ms != "-":
                per_task.append(float(task_ms))

    def median_ms(tool: str, run: str) -> float:
        return statistics.median(wall[tool, run])

    def changed_cell(tool: str, run: str) -> str:
        # Every repeat should report the same count; show all of them if not.
        return "/".join(sorted(changed[tool, run]))

    print(f"{'':<12} {'ansible ms':>11} {'baton ms':>10} {'ansible/baton':>14}   changed/skipped (ansible | baton)")
    for run in RUNS:
        a, b = median_ms("ansible", run), median_ms("baton", run)
        ratio = f"{a / b:.1f}x" if b > 0 else "n/a"
        print(
            f"{LABELS[run]:<12} {a:>11.0f} {b:>10.0f} {ratio:>14}   "
            f"{changed_cell('ansible', run)} | {changed_cell('baton', run)}"
        )
    tasks = 20
    print(
        f"whole second run / {tasks} tasks: ansible {median_ms('ansible', 'second') / tasks:.1f} ms, "
        f"baton {median_ms('baton', 'second') / tasks:.1f} ms per task (hosts in parallel)"
    )
    if per_task:
        print(
            f"baton warm cost per task per host (second run, median host_result elapsed_ms): "
            f"{statistics.median(per_task):.2f} ms"
        )
    disagree = [LABELS[r] for r in RUNS if changed["ansible", r] != changed["baton", r]]
    if disagree:
        print(f"note: the tools disagree on how many tasks changed in: {', '.join(disagree)}")


if __name__ == "__main__":
    main(sys.argv[1])
