#!/usr/bin/env python3
"""Prints the table of bench/peers.sh.

Arguments: TOOLS SAMPLES, both tab-separated files written by the script:
    TOOLS:   tool  version  status  files
             (status is "ok" or why the tool is left out; files is
             "identical", "DIFFERENT" or "-")
    SAMPLES: tool  run  repeat  wall_ms  changed
             (run is "first" or "second"; changed is summed over hosts, or "-")
Medians are in seconds; the ratios are the tool's median over baton's.
"""
import statistics
import sys
from collections import defaultdict

RUNS = ("first", "second")


def main(tools_path: str, samples_path: str) -> None:
    tools = []
    with open(tools_path, encoding="utf-8") as f:
        for line in f:
            tool, version, status, files = line.rstrip("\n").split("\t")
            tools.append((tool, version, status, files))
    wall = defaultdict(list)
    changed = defaultdict(set)
    with open(samples_path, encoding="utf-8") as f:
        for line in f:
            tool, run, _repeat, ms, n_changed = line.rstrip("\n").split("\t")
            wall[tool, run].append(float(ms) / 1000)
            changed[tool, run].add(n_changed)

    def median(tool: str, run: str):
        return statistics.median(wall[tool, run]) if wall[tool, run] else None

    base = {run: median("baton", run) for run in RUNS}
    header = (
        f"{'tool':<8} {'version':<38} {'first s':>8} {'x baton':>8} "
        f"{'second s':>9} {'x baton':>8}  {'changed 1st/2nd':<16} files"
    )
    print(header)
    print("-" * len(header))
    for tool, version, status, files in tools:
        if status != "ok":
            print(f"{tool:<8} {version:<38} {status}")
            continue
        cells = []
        for run in RUNS:
            m = median(tool, run)
            ratio = f"{m / base[run]:.1f}x" if m is not None and base[run] else "n/a"
            cells.append((f"{m:.2f}" if m is not None else "n/a", ratio))
        # Every repeat should report the same count; show all of them if not.
        ch = "/".join(",".join(sorted(changed[tool, run])) or "-" for run in RUNS)
        print(
            f"{tool:<8} {version:<38} {cells[0][0]:>8} {cells[0][1]:>8} "
            f"{cells[1][0]:>9} {cells[1][1]:>8}  {ch:<16} {files}"
        )
    if any(tool == "pyinfra" and status == "ok" for tool, _v, status, _f in tools):
        print(
            "changed: tasks (operations for pyinfra, whose deploy.py has 21: files.file gives hvrtab"
            " its mode), summed over hosts"
        )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
