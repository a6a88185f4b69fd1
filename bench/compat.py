#!/usr/bin/env python3
"""The compatibility corpus (tests/compat/) against real ansible-core.

Each case directory holds a playbook; this script runs it three times (a first
run on a fresh `out` directory, a second run on the same directory, `--check`
on another fresh directory) and observes the exit code, the PLAY RECAP counters
per host and the file tree left under `out`. The format is described in
tests/compat/README.md; tests/compat.rs observes baton the same way.

  compat.py --record [CASE...]   run ansible-playbook, write CASE/expected.json
  compat.py [CASE...]            run ansible-playbook and baton live, print what differs

Cases under tests/compat/lab/ (named `lab/NAME`) run against lab nodes over
SSH instead: each tool gets a fresh lab (`baton lab up`, root only), the
case's setup.sh runs on every node, the playbook runs twice (first, second),
and the case's state.sh, run on every node, says what it left there (see
tests/compat/README.md). Without root they are skipped with a note.

Only the standard library: it runs under the ansible venv's python
(bench/compat.sh builds that venv).
"""

import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CORPUS = os.path.join(REPO, "tests", "compat")
LAB = "lab"
LAB_RUNS = ["first", "second"]
COUNTERS = ["ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored"]
OUT_PLACEHOLDER = "@OUT@"
# Content up to this many bytes (and valid UTF-8) is stored as text, else as sha256.
MAX_TEXT = 4096
DEFAULT_INVENTORY = "localhost ansible_connection=local\n"
RUNS = ["first", "second", "check"]
TIMEOUT = 180


def lab_cases():
    lab = os.path.join(CORPUS, LAB)
    return sorted(
        f"{LAB}/{d}" for d in os.listdir(lab) if os.path.isfile(os.path.join(lab, d, "playbook.yml"))
    )


def cases(names):
    all_cases = sorted(
        d for d in os.listdir(CORPUS) if os.path.isfile(os.path.join(CORPUS, d, "playbook.yml"))
    ) + lab_cases()
    if not names:
        return all_cases
    unknown = [n for n in names if n not in all_cases]
    if unknown:
        sys.exit(f"compat.py: no such case under tests/compat/: {', '.join(unknown)}")
    return names


def case_args(case_dir):
    """Extra arguments from CASE/args (shell words, `#` comments allowed)."""
    path = os.path.join(case_dir, "args")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return shlex.split(f.read(), comments=True)


def inventory_args(case_dir, extra, work):
    if "-i" in extra:
        return []
    if os.path.exists(os.path.join(case_dir, "inventory")):
        return ["-i", "inventory"]
    inv = os.path.join(work, "default-inventory")
    with open(inv, "w") as f:
        f.write(DEFAULT_INVENTORY)
    return ["-i", inv]


def seed(case_dir, out):
    """A fresh `out`, holding a copy of CASE/seed/ when there is one (see tests/compat.rs)."""
    src = os.path.join(case_dir, "seed")
    if os.path.isdir(src):
        shutil.copytree(src, out, symlinks=True)
    else:
        os.makedirs(out)
    # Modes as if checked out with umask 022, whatever the checkout's umask.
    os.chmod(out, 0o755)
    for root, dirs, names in os.walk(out):
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o755)
        for n in names:
            full = os.path.join(root, n)
            if not os.path.islink(full):
                os.chmod(full, 0o755 if os.stat(full).st_mode & 0o111 else 0o644)


def normalise(text, out):
    return text.replace(out, OUT_PLACEHOLDER)


def tree(out):
    """{relative path: entry} for everything under `out` (not `out` itself)."""
    files = {}
    for root, dirs, names in os.walk(out):
        dirs.sort()
        for name in sorted(dirs + names):
            full = os.path.join(root, name)
            rel = os.path.relpath(full, out)
            st = os.lstat(full)
            mode = "0%o" % (st.st_mode & 0o7777)
            if os.path.islink(full):
                files[rel] = {"type": "link", "target": normalise(os.readlink(full), out)}
            elif os.path.isdir(full):
                files[rel] = {"type": "dir", "mode": mode}
            else:
                with open(full, "rb") as f:
                    data = f.read()
                entry = {"type": "file", "mode": mode}
                try:
                    text = normalise(data.decode("utf-8"), out)
                    data = text.encode("utf-8")
                except UnicodeDecodeError:
                    text = None
                if text is not None and len(data) <= MAX_TEXT:
                    entry["content"] = text
                else:
                    entry["sha256"] = hashlib.sha256(data).hexdigest()
                files[rel] = entry
    return dict(sorted(files.items()))


RECAP_LINE = re.compile(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$")


def ansible_recap(stdout):
    recap = {}
    lines = stdout.splitlines()
    try:
        start = max(i for i, l in enumerate(lines) if l.startswith("PLAY RECAP"))
    except ValueError:
        return recap
    for line in lines[start + 1 :]:
        m = RECAP_LINE.match(line.strip())
        if not m:
            continue
        counts = dict(kv.split("=") for kv in m.group(2).split())
        recap[m.group(1)] = {c: int(counts.get(c, 0)) for c in COUNTERS}
    return recap


def baton_recap(stdout):
    recap = {}
    for line in stdout.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("event") == "recap":
            recap = {h: {c: int(v.get(c, 0)) for c in COUNTERS} for h, v in event["hosts"].items()}
    return recap


def drop_idle(recap):
    """Hosts whose counters are all zero are left out (Ansible omits them)."""
    return {h: c for h, c in sorted(recap.items()) if any(c.values())}


def observe(tool, exe, case, work):
    """Run the case three times with `tool` ('ansible' or 'baton'); the observations."""
    case_dir = os.path.join(CORPUS, case)
    work = os.path.join(work, tool)
    os.makedirs(work)
    extra = case_args(case_dir)
    inv = inventory_args(case_dir, extra, work)
    # Only the case's own roles/ count, whatever the caller's environment says.
    env = {k: v for k, v in os.environ.items() if k not in ("ANSIBLE_ROLES_PATH", "BATON_ROLES_PATH")}
    env.update(
        NO_COLOR="1",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_DEPRECATION_WARNINGS="0",
        ANSIBLE_STDOUT_CALLBACK="default",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_LOCAL_TEMP=os.path.join(work, "ansible-local"),
        ANSIBLE_REMOTE_TEMP=os.path.join(work, "ansible-remote"),
        ANSIBLE_CONFIG=os.path.join(work, "no-ansible.cfg"),
        ANSIBLE_SSH_CONTROL_PATH_DIR=os.path.join(work, "ansible-cp"),
    )
    result = {}
    for run in RUNS:
        out = os.path.join(work, "check-out" if run == "check" else "out")
        if run != "second":
            seed(case_dir, out)
        check = ["--check"] if run == "check" else []
        if tool == "ansible":
            cmd = [exe, "playbook.yml"] + inv + ["-e", f"out={out}"] + check + extra
        else:
            cmd = [exe, "run", "playbook.yml"] + inv + ["-e", f"out={out}", "--output", "json"] + check + extra
        try:
            p = subprocess.run(
                ["sh", "-c", 'umask 022; exec "$@"', "sh"] + cmd,
                cwd=case_dir,
                env=env,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                stdin=subprocess.DEVNULL,
            )
            rc, stdout, stderr = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired:
            rc, stdout, stderr = -1, "", "timed out"
        recap = ansible_recap(stdout) if tool == "ansible" else baton_recap(stdout)
        result[run] = {"rc": rc, "recap": drop_idle(recap), "files": tree(out)}
        with open(os.path.join(work, f"{tool}-{run}.log"), "w") as f:
            f.write(" ".join(shlex.quote(c) for c in cmd) + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr)
    return result


def lab_env(work):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_") or k == "ANSIBLE_COLLECTIONS_PATH"}
    env.update(
        NO_COLOR="1",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_DEPRECATION_WARNINGS="0",
        ANSIBLE_STDOUT_CALLBACK="default",
        ANSIBLE_LOCAL_TEMP=os.path.join(work, "ansible-local"),
        ANSIBLE_CONFIG=os.path.join(work, "no-ansible.cfg"),
        ANSIBLE_SSH_CONTROL_PATH_DIR=os.path.join(work, "ansible-cp"),
    )
    return env


def on_nodes(lab_dir, nodes, script):
    """Run `script` (a file) with sh on every node over SSH; {node: stdout lines}."""
    out = {}
    for node in nodes:
        with open(script) as f:
            p = subprocess.run(
                ["ssh", "-F", os.path.join(lab_dir, "ssh_config"), node, "sh", "-s"],
                stdin=f,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
            )
        if p.returncode != 0:
            raise RuntimeError(f"{os.path.basename(script)} on {node}: exit {p.returncode}: {p.stderr.strip()}")
        out[node] = p.stdout.splitlines()
    return out


def observe_lab(tool, exe, case, work, opts):
    """A lab case with `tool` on a fresh lab: {first, second: {rc, recap}, state: {node: lines}}."""
    case_dir = os.path.join(CORPUS, case)
    work = os.path.join(work, tool)
    os.makedirs(work)
    lab_dir = os.path.join(work, "lab")
    lab = [opts.baton, "lab"]
    up = subprocess.run(
        lab + ["up", "--prefix", opts.lab_prefix, "--subnet", opts.lab_subnet, "--dir", lab_dir],
        capture_output=True,
        text=True,
    )
    try:
        if up.returncode != 0:
            raise RuntimeError(f"baton lab up: exit {up.returncode}: {up.stderr.strip()}")
        nodes = ["bc1", "bc2"]
        on_nodes(lab_dir, nodes, os.path.join(case_dir, "setup.sh"))
        inv = ["-i", os.path.join(lab_dir, "lab.yml")]
        result = {}
        for run in LAB_RUNS:
            if tool == "ansible":
                cmd = [exe, "playbook.yml"] + inv
            else:
                cmd = [exe, "run", "playbook.yml"] + inv + ["--output", "json"]
            started = time.monotonic()
            try:
                p = subprocess.run(
                    ["sh", "-c", 'umask 022; exec "$@"', "sh"] + cmd,
                    cwd=case_dir,
                    env=lab_env(work),
                    capture_output=True,
                    text=True,
                    timeout=TIMEOUT * 3,
                    stdin=subprocess.DEVNULL,
                )
                rc, stdout, stderr = p.returncode, p.stdout, p.stderr
            except subprocess.TimeoutExpired:
                rc, stdout, stderr = -1, "", "timed out"
            print(f"{case}: {tool} {run} run: {time.monotonic() - started:.1f} s", file=sys.stderr)
            recap = ansible_recap(stdout) if tool == "ansible" else baton_recap(stdout)
            result[run] = {"rc": rc, "recap": drop_idle(recap)}
            with open(os.path.join(work, f"{tool}-{run}.log"), "w") as f:
                f.write(" ".join(shlex.quote(c) for c in cmd) + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr)
        result["state"] = on_nodes(lab_dir, nodes, os.path.join(case_dir, "state.sh"))
        return result
    finally:
        subprocess.run(lab + ["down", "--dir", lab_dir], capture_output=True)


def lab_differences(expected, actual):
    """As differences(), for a lab case: exit codes, recaps, and each node's state lines."""
    lines = differences(expected, actual, LAB_RUNS)
    for node in sorted(set(expected["state"]) | set(actual["state"])):
        e, a = expected["state"].get(node, []), actual["state"].get(node, [])
        lines += [f"state {node}: only under ansible: {l}" for l in e if l not in a]
        lines += [f"state {node}: only under baton:   {l}" for l in a if l not in e]
    return lines


def differences(expected, actual, runs=RUNS):
    """Short lines naming what differs: `run: what: expected -> actual`."""
    lines = []
    for run in runs:
        e, a = expected[run], actual[run]
        if e["rc"] != a["rc"]:
            lines.append(f"{run}: exit code {e['rc']} -> {a['rc']}")
        for host in sorted(set(e["recap"]) | set(a["recap"])):
            ec, ac = e["recap"].get(host), a["recap"].get(host)
            if ec != ac:
                if ec is None or ac is None:
                    lines.append(f"{run}: recap {host}: {ec} -> {ac}")
                else:
                    diff = ", ".join(f"{c}={ec[c]}->{ac[c]}" for c in COUNTERS if ec[c] != ac[c])
                    lines.append(f"{run}: recap {host}: {diff}")
        for path in sorted(set(e.get("files", {})) | set(a.get("files", {}))):
            ef, af = e["files"].get(path), a["files"].get(path)
            if ef == af:
                continue
            if ef is None:
                lines.append(f"{run}: {path}: unexpected {af['type']}")
            elif af is None:
                lines.append(f"{run}: {path}: missing {ef['type']}")
            else:
                for k in sorted(set(ef) | set(af)):
                    if ef.get(k) != af.get(k):
                        lines.append(f"{run}: {path}: {k} {json.dumps(ef.get(k))} -> {json.dumps(af.get(k))}")
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--record", action="store_true", help="write CASE/expected.json from ansible-playbook")
    ap.add_argument("--ansible", default=shutil.which("ansible-playbook"), help="ansible-playbook to run")
    ap.add_argument("--baton", default=os.path.join(REPO, "target", "debug", "baton"), help="baton binary")
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--keep", action="store_true", help="keep each case's work directory (logs, out)")
    ap.add_argument("--lab-prefix", default=os.environ.get("BATON_COMPAT_LAB_PREFIX", "batoncompat"),
                    help="name prefix of the labs of lab/ cases")
    ap.add_argument("--lab-subnet", default=os.environ.get("BATON_COMPAT_LAB_SUBNET", "10.76.0.0/24"),
                    help="subnet of the labs of lab/ cases (one lab at a time)")
    ap.add_argument("cases", nargs="*")
    opts = ap.parse_args()
    if not opts.ansible:
        sys.exit("compat.py: no ansible-playbook (use bench/compat.sh, which builds a venv)")
    version = subprocess.run([opts.ansible, "--version"], capture_output=True, text=True).stdout
    m = re.search(r"core ([^\]]+)\]", version)
    version = m.group(1) if m else "unknown"

    def one(case):
        lab = case.startswith(LAB + "/")
        work = tempfile.mkdtemp(prefix=f"baton-compat-{case.replace('/', '-')}.")
        try:
            if lab:
                ansible = observe_lab("ansible", opts.ansible, case, work, opts)
            else:
                ansible = observe("ansible", opts.ansible, case, work)
            if opts.record:
                recording = {"ansible_core": version}
                if lab:
                    recording["regenerate"] = f"bench/compat.sh --record {case}"
                recording.update(ansible)
                with open(os.path.join(CORPUS, case, "expected.json"), "w") as f:
                    json.dump(recording, f, indent=1, ensure_ascii=False)
                    f.write("\n")
                return case, []
            if lab:
                return case, lab_differences(ansible, observe_lab("baton", opts.baton, case, work, opts))
            baton = observe("baton", opts.baton, case, work)
            return case, differences(ansible, baton)
        finally:
            if opts.keep:
                print(f"{case}: kept {work}", file=sys.stderr)
            else:
                shutil.rmtree(work, ignore_errors=True)

    selected = cases(opts.cases)
    if os.geteuid() != 0 and any(c.startswith(LAB + "/") for c in selected):
        print("note: lab/ cases need root (baton lab up); skipped", file=sys.stderr)
        selected = [c for c in selected if not c.startswith(LAB + "/")]
    local = [c for c in selected if not c.startswith(LAB + "/")]
    labs = [c for c in selected if c.startswith(LAB + "/")]

    def all_results():
        with concurrent.futures.ThreadPoolExecutor(max_workers=opts.jobs) as pool:
            yield from pool.map(one, local)
        # One lab at a time: they share --lab-prefix and --lab-subnet.
        for case in labs:
            yield one(case)

    differ = 0
    for case, diff in all_results():
        if opts.record:
            print(f"recorded {case}")
        elif diff:
            differ += 1
            print(f"DIFFERS {case}")
            for line in diff:
                print(f"    {line}")
    if opts.record:
        print(f"{len(selected)} cases recorded with ansible-core {version}")
    else:
        print(f"{len(selected)} cases, {len(selected) - differ} match, {differ} differ (ansible-core {version} vs baton)")
        sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
