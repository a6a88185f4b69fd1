#!/usr/bin/env python3
"""Reads baton's --output json lines on stdin; prints the median ms per task per host.

With BENCH_BY_TASK=1 it also prints each task's median (over hosts) to stderr,
to see which module costs what.
"""
import collections
import json
import os
import statistics
import sys

results = [e for e in map(json.loads, (l for l in sys.stdin if l.startswith("{")))
           if e.get("event") == "host_result" and e.get("item") is None]
ms = [e["elapsed_ms"] for e in results]
if not ms:
    print("nan")
else:
    print(f"{statistics.median(ms):.2f}")
if os.environ.get("BENCH_BY_TASK"):
    by_task = collections.defaultdict(list)
    for e in results:
        by_task[e["task"]["name"]].append(e["elapsed_ms"])
    print(" ".join(f"{name}={statistics.median(v):.1f}" for name, v in by_task.items()),
          file=sys.stderr)
