#!/usr/bin/env bash
# Side-by-side benchmark: bench/twenty.yml (20 tasks: command, file, copy,
# lineinfile, template), unchanged, under ansible-playbook and under baton
# run, against the two SSH hosts of a `baton lab`. For each tool it times the
# first run (clean directory), the idempotent second run and a --check run,
# repeats that, prints medians and the ratio ansible/baton, and checks that
# both tools left identical files on every node. Prints figures; asserts
# nothing about speed. Needs root (the lab does).
#
# Usage: bench/vs-ansible.sh [REPEATS]    (default 3)
#
# Environment:
#   BATON_BENCH_VENV      ansible-core venv, reused when present
#                         [default: ~/.cache/baton-bench/ansible-venv]
#   BATON_BENCH_ANSIBLE   pip requirement [default: ansible-core~=2.19.0]
#   BATON_BENCH_PYTHON    interpreter that builds the venv [default: /usr/bin/python3]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
repeats=${1:-3}
[[ $repeats =~ ^[1-9][0-9]*$ ]] || { echo "usage: bench/vs-ansible.sh [REPEATS]" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "bench/vs-ansible.sh: needs root (it builds a baton lab)" >&2; exit 2; }

source scripts/deps.sh >/dev/null
cargo build --release --quiet
baton=$repo/target/release/baton
playbook=$repo/bench/twenty.yml

# --- 1. ansible-core in a venv of its own, built once and reused -------------
source bench/ansible-venv.sh
ansible_version=$("$venv/bin/ansible-playbook" --version | sed -n '1s/.*core \([^]]*\)\].*/\1/p')

# --- 2. a lab of our own, always brought down --------------------------------
work=$(mktemp -d /tmp/baton-vsansible.XXXXXX)
lab=$work/lab
prefix=bva$(($$ % 100000))
cleanup() {
  local rc=$?
  # Ansible's ControlPersist masters are ours; end each one through its socket.
  for sock in "$work"/ansible-cp/*; do
    [ -S "$sock" ] && ssh -o ControlPath="$sock" -O exit bench-master >/dev/null 2>&1
  done
  if [ -e "$lab" ]; then
    "$baton" lab down --dir "$lab" >/dev/null ||
      echo "warning: \`baton lab down --dir $lab\` failed; run it by hand" >&2
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A /24 no interface on this machine uses yet.
subnet=""
for i in $(seq 0 199); do
  octet=$(( ($$ + i) % 200 + 20 ))
  ip -4 -o addr show | grep -q " 10\.197\.$octet\." || { subnet=10.197.$octet.0/24; break; }
done
[ -n "$subnet" ] || { echo "no free 10.197.X.0/24 subnet for the lab" >&2; exit 1; }
"$baton" lab up --prefix "$prefix" --subnet "$subnet" --dir "$lab" >"$work/lab-up.log" ||
  { cat "$work/lab-up.log" >&2; echo "baton lab up failed" >&2; exit 1; }
nodes=(bc1 bc2)

node() { # NODE CMD... : run CMD inside a lab node (not timed)
  local name=$1; shift
  "$baton" lab shell "$name" --dir "$lab" -- "$@"
}

# Nodes share the host's /usr, but not root's private pyenv: Ansible needs a
# python3 the node itself can run.
node_python=/usr/bin/python3
node bc1 "$node_python" -c 'import json' ||
  { echo "lab nodes cannot run $node_python, which Ansible's modules need (apt-get install python3)" >&2; exit 1; }

# --- 3. one inventory for both tools: the lab's, plus group `bench` over `bc` --
# Both tools use the same bench_dir, one after the other, each from a clean
# directory: bench.j2 renders bench_dir into the files, so the comparison is
# only exact when the path is the same.
bench_dir=/opt/baton-bench
cat >"$work/bench.yml" <<INV
all:
  children:
    bench:
      children:
        bc: {}
      vars:
        bench_dir: $bench_dir
        bench_hub: hub
        ansible_python_interpreter: $node_python
INV
inventory=(-i "$lab/lab.yml" -i "$work/bench.yml")

# Pipelining and ControlPersist on; host keys checked against the lab's
# known_hosts (ansible_ssh_common_args in lab.yml). ssh_args is Ansible's
# default less -C, whose compression only costs CPU on a local link.
mkdir -p "$work/ansible-cp" "$work/ansible-home"
cat >"$work/ansible.cfg" <<CFG
[defaults]
host_key_checking = True
gathering = explicit
retry_files_enabled = False
interpreter_python = $node_python
forks = 50
nocolor = True

[ssh_connection]
pipelining = True
ssh_args = -o ControlMaster=auto -o ControlPersist=60s
control_path_dir = $work/ansible-cp
CFG
export ANSIBLE_CONFIG=$work/ansible.cfg ANSIBLE_HOME=$work/ansible-home
export ANSIBLE_LOCAL_TEMP=$work/ansible-home/tmp

now_ms() { date +%s%3N; }

# Runs one tool once; prints "WALL_MS<TAB>CHANGED/SKIPPED" (summed over hosts). A failed run ends the
# benchmark with its output: a task that fails under one tool only is a bug.
timed_run() { # TOOL RUN REPEAT
  local tool=$1 run=$2 rep=$3 log=$work/$1-$2-$3.log t0 t1 rc=0 changed
  local check=()
  [ "$run" = check ] && check=(--check)
  t0=$(now_ms)
  if [ "$tool" = ansible ]; then
    "$venv/bin/ansible-playbook" "$playbook" "${inventory[@]}" "${check[@]}" >"$log" 2>&1 || rc=$?
  else
    "$baton" run "$playbook" "${inventory[@]}" "${check[@]}" --output json >"$log" 2>&1 || rc=$?
  fi
  t1=$(now_ms)
  if [ "$rc" != 0 ]; then
    tail -n 40 "$log" >&2
    echo "FAILED: $tool, $run run (repeat $rep) exited $rc; its output is above" >&2
    exit 1
  fi
  if [ "$tool" = ansible ]; then
    changed=$(sed -n 's/.* changed=\([0-9]*\) .* skipped=\([0-9]*\) .*/\1 \2/p' "$log" |
      awk '{c += $1; s += $2} END {print c + 0 "/" s + 0}')
  else
    changed=$(python3 -c 'import json,sys
for line in sys.stdin:
    e = json.loads(line) if line.startswith("{") else {}
    if e.get("event") == "recap":
        hosts = e["hosts"].values()
        print(sum(h["changed"] for h in hosts), sum(h["skipped"] for h in hosts), sep="/")' <"$log")
  fi
  printf '%s\t%s\n' "$((t1 - t0))" "$changed"
}

# relative path, octal mode, sha256 (or "directory") of everything under DIR.
listing_script='cd "$1" || exit 1
find . -mindepth 1 | LC_ALL=C sort | while IFS= read -r p; do
  if [ -d "$p" ]; then sum=directory; else sum=$(sha256sum <"$p" | cut -d" " -f1); fi
  printf "%s %s %s\n" "${p#./}" "$(stat -c %a "$p")" "$sum"
done'
snapshot() { # TOOL REPEAT: save each node's listing of bench_dir
  for n in "${nodes[@]}"; do
    node "$n" sh -c "$listing_script" sh "$bench_dir" >"$work/files-$1-$2-$n.txt"
  done
}

close_masters() {
  for sock in "$work"/ansible-cp/*; do
    [ -S "$sock" ] && ssh -o ControlPath="$sock" -O exit bench-master >/dev/null 2>&1
  done
  return 0
}

samples=$work/samples.tsv
: >"$samples"
measure() { # TOOL REPEAT: clean dir, then first, second and --check runs
  local tool=$1 rep=$2 out ms changed task_ms line=""
  for n in "${nodes[@]}"; do node "$n" rm -rf "$bench_dir"; done
  # Every first run starts cold: baton is a fresh process anyway, and
  # Ansible's masters from the previous repeat are closed here.
  close_masters
  for run in first second check; do
    out=$(timed_run "$tool" "$run" "$rep")
    ms=${out%%$'\t'*} changed=${out##*$'\t'}
    task_ms=-
    if [ "$tool" = baton ] && [ "$run" = second ]; then
      task_ms=$(python3 bench/stats.py <"$work/$tool-$run-$rep.log")
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$run" "$rep" "$ms" "$changed" "$task_ms" >>"$samples"
    line+=$(printf ' %s %6s ms (%5s)' "$run" "$ms" "$changed")
    # --check must leave the files as the second run left them.
    [ "$run" = second ] && snapshot "$tool-second" "$rep"
  done
  snapshot "$tool" "$rep"
  for n in "${nodes[@]}"; do
    if ! cmp -s "$work/files-$tool-second-$rep-$n.txt" "$work/files-$tool-$rep-$n.txt"; then
      diff "$work/files-$tool-second-$rep-$n.txt" "$work/files-$tool-$rep-$n.txt" >&2 || true
      echo "FAILED: $tool --check changed files in $bench_dir on $n (diff above)" >&2
      exit 1
    fi
  done
  printf '  repeat %s  %-7s%s\n' "$rep" "$tool" "$line"
}

echo "baton $("$baton" --version | awk '{print $2}') vs ansible-core $ansible_version: bench/twenty.yml" \
  "(20 tasks) x ${#nodes[@]} lab hosts over SSH, $repeats repeat(s), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
for rep in $(seq "$repeats"); do
  # Alternate which tool goes first, so neither always runs on a warmer machine.
  if [ $((rep % 2)) = 1 ]; then order=(ansible baton); else order=(baton ansible); fi
  for tool in "${order[@]}"; do measure "$tool" "$rep"; done
done
close_masters

# --- 5. the table ------------------------------------------------------------
echo
echo "median of $repeats repeat(s), wall-clock ms of the whole run (start-up and connecting included):"
python3 bench/vs_ansible_table.py "$samples"
echo "first run: from a clean $bench_dir, cold connections (Ansible's ControlPersist masters closed first);"
echo "second and --check runs: Ansible reuses its masters, baton connects anew (each run is a new process)."

# --- 6. identical files ------------------------------------------------------
identical=1
for rep in $(seq "$repeats"); do
  for n in "${nodes[@]}"; do
    a=$work/files-ansible-$rep-$n.txt b=$work/files-baton-$rep-$n.txt
    if ! cmp -s "$a" "$b"; then
      identical=0
      echo "repeat $rep, $n: files differ (< ansible, > baton; path mode sha256):" >&2
      diff "$a" "$b" >&2 || true
    fi
  done
done
if [ "$identical" = 1 ]; then
  for n in "${nodes[@]}"; do
    printf 'files: %s: %s entries under %s, identical for both tools (listing sha256 %.12s)\n' \
      "$n" "$(wc -l <"$work/files-baton-1-$n.txt")" "$bench_dir" \
      "$(sha256sum "$work/files-baton-1-$n.txt" | cut -d' ' -f1)"
  done
  echo "verdict: IDENTICAL: both tools left the same paths, modes and contents on every node"
else
  echo "verdict: DIFFERENT: the tools left different files (listings above); a module incompatibility worth reporting" >&2
  exit 1
fi
echo "reproduce: sudo bench/vs-ansible.sh $repeats"
