#!/usr/bin/env python3
"""Where a new SSH connection's time goes, per host: the `ssh` process
itself (exec, dynamic linking, reading ssh_config: `ssh -G HOST`, which
stops before the network) vs the TCP connect, the key exchange and the
authentication, read from the timestamps of `ssh -vvv` lines as they
arrive (the same `ssh -M` start-up baton's master does: ControlMaster=yes,
-N, -f is left out so the process can be timed to its exit after `true`).

Usage: bench/ssh_phases.py SSH_CONFIG HOST [HOST...]   (e.g. a `baton lab`'s
ssh_config and bc1 bc2 ...). Prints medians in ms; asserts nothing.
"""
import statistics
import subprocess
import sys
import tempfile
import time

MARKS = [
    ("process up", "OpenSSH_"),  # first line: ssh started, options parsed
    ("tcp connected", "Connection established"),
    ("kex start", "SSH2_MSG_KEXINIT sent"),
    ("kex done", "SSH2_MSG_NEWKEYS received"),
    ("authenticated", "Authenticated to"),
]


def phases(config, host):
    with tempfile.TemporaryDirectory(prefix="sshph", dir="/tmp") as d:
        t0 = time.monotonic()
        p = subprocess.Popen(
            ["ssh", "-vvv", "-F", config, "-o", "ControlMaster=yes",
             "-o", f"ControlPath={d}/m", "-o", "BatchMode=yes", host, "true"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True, errors="replace")
        seen = {}
        for line in p.stderr:
            now = (time.monotonic() - t0) * 1000
            for name, needle in MARKS:
                if name not in seen and needle in line:
                    seen[name] = now
        p.wait()
        seen["exit"] = (time.monotonic() - t0) * 1000
        return seen


def spawn_only(config, host):
    t0 = time.monotonic()
    subprocess.run(["ssh", "-G", "-F", config, host], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
    return (time.monotonic() - t0) * 1000


def main():
    config, hosts = sys.argv[1], sys.argv[2:]
    runs = [phases(config, h) for h in hosts]
    spawn = [spawn_only(config, h) for h in hosts]
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    print(f"{len(hosts)} hosts, one connection each, load average {load}; median ms from fork")
    prev = 0.0
    for name, _ in MARKS + [("exit", None)]:
        vals = [r[name] for r in runs if name in r]
        if not vals:
            continue
        med = statistics.median(vals)
        print(f"  {name:15s} {med:8.1f}   (+{med - prev:7.1f})")
        prev = med
    print(f"  ssh -G (spawn, parse config, exit; no network): {statistics.median(spawn):.1f}")


if __name__ == "__main__":
    main()
