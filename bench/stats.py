#!/usr/bin/env python3
"""Reads baton's --output json lines on stdin; prints the median ms per task per host."""
import json
import statistics
import sys

ms = [e["elapsed_ms"] for e in map(json.loads, (l for l in sys.stdin if l.startswith("{")))
      if e.get("event") == "host_result" and e.get("item") is None]
if not ms:
    print("nan")
else:
    print(f"{statistics.median(ms):.2f}")
