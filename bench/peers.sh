#!/usr/bin/env bash
# baton against its peers on one lab of real sshd hosts: bench/twenty.yml
# (20 tasks: command, file, copy, lineinfile, template) under
#   ansible     ansible-core 2.19, pipelining and ControlPersist on
#   mitogen     the same ansible-core with Mitogen's mitogen_linear strategy
#   acrs        ansible-core-rs (PyPI `ansible-core-rs`, `ansible playbook`)
#   pyinfra     pyinfra 3.x running bench/pyinfra/deploy.py, the same files
#   baton       this repository's release build
# on a `baton lab` of N nodes. For each tool and repeat: a clean directory on
# every node, a first run, then a second (idempotent) run. It prints the
# median of the repeats in seconds with the ratio to baton, every tool's
# version and the machine's load average, and checks that every tool left
# the same files (relative path, mode, sha256) on every node. Prints figures;
# asserts nothing about speed. Needs root (the lab does).
#
# Usage: sudo bench/peers.sh [NODES] [REPEATS]    (defaults: 2 nodes, 3 repeats)
#
# Each tool gets a venv of its own under ~/.cache/baton-bench/ (ansible-venv,
# mitogen-venv, ansible-core-rs-venv, pyinfra-venv), built once and reused. A
# tool that pip cannot install is reported in the table with pip's last error
# line, and the others still run. A venv is reused whatever the requirement
# variables below say: remove it to install another version. Exit status: 0 when every installed tool ran
# and all left identical files; 1 when a run failed or files differ.
#
# Environment:
#   BATON_BENCH_PYTHON    interpreter that builds the venvs [default: /usr/bin/python3]
#   BATON_PEERS_BATON     a baton binary to measure instead of building target/release/baton
#   BATON_PEERS_TOOLS     tools to run, in this order [default: ansible mitogen acrs pyinfra baton]
#   BATON_PEERS_SUBNET    the lab's subnet [default: 10.89.0.0/24, 10.90.0.0/16 above 80 nodes]
#   BATON_PEERS_ANSIBLE   pip requirements [default: ansible-core~=2.19.0]
#   BATON_PEERS_MITOGEN   [default: ansible-core~=2.19.0 mitogen]
#   BATON_PEERS_ACRS      [default: ansible-core-rs]
#   BATON_PEERS_PYINFRA   [default: pyinfra~=3.0]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
n_nodes=${1-2}
repeats=${2-3}
usage="usage: bench/peers.sh [NODES] [REPEATS]"
[[ $n_nodes =~ ^[1-9][0-9]*$ ]] || { echo "$usage (NODES: a whole number from 1, not \`$n_nodes\`)" >&2; exit 2; }
[[ $repeats =~ ^[1-9][0-9]*$ ]] || { echo "$usage (REPEATS: a whole number from 1, not \`$repeats\`)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "bench/peers.sh: needs root (it builds a baton lab)" >&2; exit 2; }
read -r -a tools <<<"${BATON_PEERS_TOOLS:-ansible mitogen acrs pyinfra baton}"

source scripts/deps.sh >/dev/null
if [ -n "${BATON_PEERS_BATON:-}" ]; then
  baton=$BATON_PEERS_BATON
else
  cargo build --release --quiet
  baton=$repo/target/release/baton
fi
playbook=$repo/bench/twenty.yml
deploy=$repo/bench/pyinfra/deploy.py
cache=${XDG_CACHE_HOME:-$HOME/.cache}/baton-bench
python=${BATON_BENCH_PYTHON:-/usr/bin/python3}
[ -x "$python" ] || python=$(command -v python3)

work=$(mktemp -d /tmp/baton-peers.XXXXXX)
lab=$work/lab
cleanup() {
  local rc=$?
  close_masters 2>/dev/null || true
  if [ -e "$lab/lab.yml" ] || [ -e "$lab" ]; then
    "$baton" lab down --dir "$lab" >/dev/null 2>&1 ||
      echo "warning: \`baton lab down --dir $lab\` failed; run it by hand" >&2
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Ends the ssh ControlPersist masters of the Ansible-family tools through
# their sockets (the sockets are under $work, so they are ours).
close_masters() {
  local sock
  for sock in "$work"/cp-*/*; do
    [ -S "$sock" ] && ssh -o ControlPath="$sock" -O exit bench-master >/dev/null 2>&1
  done
  return 0
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# --- 1. one venv per tool, built once and reused -----------------------------
# status[TOOL] is "ok" or why the tool is left out; version[TOOL] its version.
declare -A status version
venv_error=""
ensure_venv() { # NAME PROBE REQUIREMENT...: PROBE is a command run in the venv's directory
  local name=$1 probe=$2 dir=$cache/$1-venv
  shift 2
  if (cd "$dir" 2>/dev/null && eval "$probe") >/dev/null 2>&1; then return 0; fi
  echo "installing $* into $dir" >&2
  mkdir -p "$cache"
  if ! "$python" -m venv --clear "$dir" >"$work/pip-$name.log" 2>&1 ||
    ! "$dir/bin/pip" install --quiet "$@" >>"$work/pip-$name.log" 2>&1 ||
    ! (cd "$dir" && eval "$probe") >>"$work/pip-$name.log" 2>&1; then
    rm -rf "$dir"
    venv_error="not installed: $(grep -v '^\s*$' "$work/pip-$name.log" | tail -n 1 | cut -c1-160)"
    return 1
  fi
}

for tool in "${tools[@]}"; do
  status[$tool]=ok
  case $tool in
    ansible)
      # Same venv and requirement as bench/ansible-venv.sh, so both reuse it.
      ensure_venv ansible "bin/ansible-playbook --version" ${BATON_PEERS_ANSIBLE:-ansible-core~=2.19.0} || status[$tool]=$venv_error
      [ "${status[$tool]}" = ok ] &&
        version[$tool]="ansible-core $("$cache/ansible-venv/bin/ansible-playbook" --version | sed -n '1s/.*core \([^]]*\)\].*/\1/p')"
      ;;
    mitogen)
      ensure_venv mitogen "bin/ansible-playbook --version && bin/python -c 'import ansible_mitogen.loaders'" \
        ${BATON_PEERS_MITOGEN:-ansible-core~=2.19.0 mitogen} || status[$tool]=$venv_error
      [ "${status[$tool]}" = ok ] &&
        version[$tool]="mitogen $("$cache/mitogen-venv/bin/python" -c 'import importlib.metadata as m; print(m.version("mitogen"), "on ansible-core", m.version("ansible-core"))')"
      ;;
    acrs)
      ensure_venv ansible-core-rs "bin/ansible --version" ${BATON_PEERS_ACRS:-ansible-core-rs} || status[$tool]=$venv_error
      [ "${status[$tool]}" = ok ] &&
        version[$tool]=$("$cache/ansible-core-rs-venv/bin/ansible" --version | sed -n '1s/ *(.*//; 1s/\[//p')
      ;;
    pyinfra)
      ensure_venv pyinfra "bin/pyinfra --version" ${BATON_PEERS_PYINFRA:-pyinfra~=3.0} || status[$tool]=$venv_error
      [ "${status[$tool]}" = ok ] &&
        version[$tool]=$("$cache/pyinfra-venv/bin/pyinfra" --version | sed 's/: v/ /')
      ;;
    baton) version[$tool]="baton $("$baton" --version | awk '{print $2}')" ;;
    *) echo "unknown tool \`$tool\` in BATON_PEERS_TOOLS (ansible mitogen acrs pyinfra baton)" >&2; exit 2 ;;
  esac
done
[ "${status[baton]:-}" = ok ] || { echo "BATON_PEERS_TOOLS must include baton (the ratios are to baton)" >&2; exit 2; }

# --- 2. the lab: prefix batonpeers, always brought down ----------------------
if [ -n "${BATON_PEERS_SUBNET:-}" ]; then
  subnet=$BATON_PEERS_SUBNET
elif [ "$n_nodes" -le 80 ]; then
  subnet=10.89.0.0/24
else
  subnet=10.90.0.0/16
fi
echo "lab: $n_nodes node(s), prefix batonpeers, subnet $subnet (load average $(loadavg))"
"$baton" lab up --nodes "$n_nodes" --prefix batonpeers --subnet "$subnet" --dir "$lab" >"$work/lab-up.log" 2>&1 || {
  cat "$work/lab-up.log" >&2
  echo "baton lab up failed (a lab named batonpeers left by an earlier run? \`baton lab status --prefix batonpeers\`)" >&2
  exit 1
}
# Node names and addresses, from the lab's ssh_config ("Host bc1" / "HostName ADDR").
mapfile -t node_lines < <(awk '$1 == "Host" && NF == 2 {h = $2} $1 == "HostName" {print h, $2}' "$lab/ssh_config")
nodes=()
for line in "${node_lines[@]}"; do nodes+=("${line%% *}"); done
[ "${#nodes[@]}" = "$n_nodes" ] || { echo "the lab's ssh_config lists ${#nodes[@]} nodes, not $n_nodes" >&2; exit 1; }

node() { # NODE CMD...: run CMD inside a lab node (not timed)
  local name=$1
  shift
  "$baton" lab shell "$name" --dir "$lab" -- "$@"
}
node_python=/usr/bin/python3
node "${nodes[0]}" "$node_python" -c 'import json' ||
  { echo "lab nodes cannot run $node_python, which the Ansible-family tools need (apt-get install python3)" >&2; exit 1; }

# --- 3. inventories and configs ----------------------------------------------
# One bench_dir for every tool, cleaned before each first run: bench.j2
# renders bench_dir into the files, so the comparison is exact only when the
# path is the same. Every tool runs all hosts at once (forks = N).
bench_dir=/opt/baton-bench
forks=$n_nodes
# One inventory directory for ansible, mitogen, ansible-core-rs (which takes
# a single -i) and baton: the lab's lab.yml plus group `bench` over `bc`. The
# bench variables are on `bc`, the group that holds the hosts: ansible-core-rs
# 0.16.0 does not pass a parent group's vars (bench's, all's) to its hosts.
mkdir -p "$work/inventory"
cp "$lab/lab.yml" "$work/inventory/lab.yml"
cat >"$work/inventory/bench.yml" <<INV
all:
  children:
    bc:
      vars:
        bench_dir: $bench_dir
        bench_hub: hub
        ansible_python_interpreter: $node_python
    bench:
      children:
        bc: {}
INV
inventory=(-i "$work/inventory")

# Ansible-family configs: host keys checked against the lab's known_hosts
# (ansible_ssh_common_args in lab.yml); pipelining and ControlPersist on;
# ssh_args is Ansible's default less -C (compression only costs CPU here).
ansible_cfg() { # NAME [EXTRA DEFAULTS LINE]
  mkdir -p "$work/cp-$1" "$work/home-$1"
  cat >"$work/$1.cfg" <<CFG
[defaults]
host_key_checking = True
gathering = explicit
retry_files_enabled = False
interpreter_python = $node_python
forks = $forks
nocolor = True
${2:-}

[ssh_connection]
pipelining = True
ssh_args = -o ControlMaster=auto -o ControlPersist=60s
control_path_dir = $work/cp-$1
CFG
}
ansible_cfg ansible
ansible_cfg acrs
mitogen_plugins=$("$cache/mitogen-venv/bin/python" -c 'import ansible_mitogen, os; print(os.path.dirname(ansible_mitogen.__file__))' 2>/dev/null || true)
ansible_cfg mitogen "strategy_plugins = $mitogen_plugins/plugins/strategy
strategy = mitogen_linear"

# pyinfra: the same hosts, key and known_hosts (strict), data as in bench.yml.
{
  echo "_data = {"
  echo "    'ssh_user': 'root',"
  echo "    'ssh_key': '$lab/id_ed25519',"
  echo "    'ssh_known_hosts_file': '$lab/known_hosts',"
  echo "    'ssh_strict_host_key_checking': 'yes',"
  echo "    'bench_dir': '$bench_dir',"
  echo "    'bench_hub': 'hub',"
  echo "}"
  echo "bench = (["
  for line in "${node_lines[@]}"; do echo "    ('${line%% *}', {'ssh_hostname': '${line##* }'}),"; done
  echo "], _data)"
} >"$work/pyinfra-inventory.py"

now_ms() { date +%s%3N; }

# Runs TOOL once; prints "WALL_MS<TAB>CHANGED" (CHANGED summed over hosts, "-"
# where the tool's output does not say). A failed run returns 1; its output
# stays in the log.
run_tool() { # TOOL LOG
  local tool=$1 log=$2 t0 t1 rc=0 changed=-
  t0=$(now_ms)
  case $tool in
    ansible)
      ANSIBLE_CONFIG=$work/ansible.cfg ANSIBLE_HOME=$work/home-ansible ANSIBLE_LOCAL_TEMP=$work/home-ansible/tmp \
        "$cache/ansible-venv/bin/ansible-playbook" "$playbook" "${inventory[@]}" >"$log" 2>&1 || rc=$?
      ;;
    mitogen)
      ANSIBLE_CONFIG=$work/mitogen.cfg ANSIBLE_HOME=$work/home-mitogen ANSIBLE_LOCAL_TEMP=$work/home-mitogen/tmp \
        "$cache/mitogen-venv/bin/ansible-playbook" "$playbook" "${inventory[@]}" >"$log" 2>&1 || rc=$?
      ;;
    acrs)
      ANSIBLE_CONFIG=$work/acrs.cfg ANSIBLE_HOME=$work/home-acrs ANSIBLE_LOCAL_TEMP=$work/home-acrs/tmp \
        "$cache/ansible-core-rs-venv/bin/ansible" playbook "$playbook" "${inventory[@]}" -f "$forks" >"$log" 2>&1 || rc=$?
      ;;
    pyinfra)
      "$cache/pyinfra-venv/bin/pyinfra" -y --parallel "$forks" "$work/pyinfra-inventory.py" "$deploy" >"$log" 2>&1 || rc=$?
      ;;
    baton)
      "$baton" run "$playbook" "${inventory[@]}" -f "$forks" >"$log" 2>&1 || rc=$?
      ;;
  esac
  t1=$(now_ms)
  [ "$rc" = 0 ] || return 1
  case $tool in
    pyinfra) # "Grand total  HOSTS  SUCCESS  ERROR  NO-CHANGE": a success is a change
      changed=$(awk '$1 == "Grand" && $2 == "total" {print $4 == "-" ? 0 : $4}' "$log" | tail -n 1)
      [ -n "$changed" ] || changed=- ;;
    *) # Ansible's recap: "bc1 : ok=20 changed=N ..." (baton prints the same recap)
      changed=$(sed -n 's/.* changed=\([0-9]*\) .*/\1/p' "$log" | awk '{c += $1; n++} END {print n ? c : "-"}') ;;
  esac
  printf '%s\t%s\n' "$((t1 - t0))" "$changed"
}

# relative path, octal mode, sha256 (or "directory") of everything under DIR.
listing_script='cd "$1" 2>/dev/null || { echo "(no $1)"; exit 0; }
find . -mindepth 1 | LC_ALL=C sort | while IFS= read -r p; do
  if [ -d "$p" ]; then sum=directory; else sum=$(sha256sum <"$p" | cut -d" " -f1); fi
  printf "%s %s %s\n" "${p#./}" "$(stat -c %a "$p")" "$sum"
done'
on_all_nodes() { # CMD...: run CMD on every node at once
  local n pids=() rc=0
  for n in "${nodes[@]}"; do "$@" "$n" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  return "$rc"
}
clean_node() { node "$1" rm -rf "$bench_dir"; }
snapshot_node() { node "$1" sh -c "$listing_script" sh "$bench_dir" >"$work/files-$snap-$1.txt"; }

why_failed() { # LOG: the first error line of a failed run's output, else its last line
  local why
  why=$(grep -m 1 -A 1 -E '^fatal:|ERROR|[Ee]rror:' "$1" | tr -s ' \n' ' ' || true)
  [ -n "$why" ] || why=$(grep -v '^\s*$' "$1" | tail -n 1)
  printf '%s' "${why:0:200}"
}

samples=$work/samples.tsv
: >"$samples"
measure() { # TOOL REPEAT: clean directory, first run, second run, file listing
  local tool=$1 rep=$2 out run line=""
  on_all_nodes clean_node || { echo "cannot clean $bench_dir on the nodes" >&2; exit 1; }
  # Every first run starts cold: no ControlPersist master from an earlier run.
  close_masters
  for run in first second; do
    if ! out=$(run_tool "$tool" "$work/$tool-$run-$rep.log"); then
      status[$tool]="run failed ($run run, repeat $rep): $(why_failed "$work/$tool-$run-$rep.log")"
      echo "  repeat $rep  $tool: ${status[$tool]}; last lines of its output:" >&2
      tail -n 15 "$work/$tool-$run-$rep.log" | sed 's/^/    /' >&2
      return 0
    fi
    printf '%s\t%s\t%s\t%s\n' "$tool" "$run" "$rep" "$out" >>"$samples"
    line+=$(printf '  %s %6s ms (%s changed)' "$run" "${out%%$'\t'*}" "${out##*$'\t'}")
  done
  snap=$tool-$rep
  on_all_nodes snapshot_node || { echo "cannot list $bench_dir on the nodes" >&2; exit 1; }
  printf '  repeat %s  %-8s%s\n' "$rep" "$tool" "$line"
}

# --- 4. the runs -------------------------------------------------------------
load_before=$(loadavg)
echo "bench/twenty.yml (20 tasks) x $n_nodes lab host(s) over SSH, $repeats repeat(s), forks $forks," \
  "$(nproc) cores, load average $load_before"
for t in "${tools[@]}"; do
  printf '  %-8s %s\n' "$t" "${version[$t]:-${status[$t]}}"
done
for rep in $(seq "$repeats"); do
  # Rotate the order, so no tool always runs first on a cooler machine.
  for i in "${!tools[@]}"; do
    tool=${tools[$(((i + rep - 1) % ${#tools[@]}))]}
    [ "${status[$tool]}" = ok ] && measure "$tool" "$rep"
  done
done
close_masters
load_after=$(loadavg)

# --- 5. identical files: every tool's listing against baton's -----------------
declare -A files
failed=0
for tool in "${tools[@]}"; do
  [ "${status[$tool]}" = ok ] || { files[$tool]=-; [[ ${status[$tool]} == "run failed"* ]] && failed=1; continue; }
  if [ "$tool" = baton ]; then files[$tool]="(reference)"; continue; fi
  files[$tool]=identical
  for rep in $(seq "$repeats"); do
    for n in "${nodes[@]}"; do
      a=$work/files-baton-$rep-$n.txt b=$work/files-$tool-$rep-$n.txt
      if ! cmp -s "$a" "$b"; then
        files[$tool]=DIFFERENT
        failed=1
        echo "repeat $rep, $n: $tool left different files (< baton, > $tool; path mode sha256):" >&2
        diff "$a" "$b" >&2 || true
      fi
    done
  done
done

# --- 6. the table --------------------------------------------------------------
{
  for t in "${tools[@]}"; do
    printf '%s\t%s\t%s\t%s\n' "$t" "${version[$t]:--}" "${status[$t]}" "${files[$t]}"
  done
} >"$work/tools.tsv"
echo
echo "median of $repeats repeat(s), wall-clock seconds of the whole run (start-up and connecting included), $n_nodes host(s):"
python3 bench/peers_table.py "$work/tools.tsv" "$samples"
echo "first run: from a clean $bench_dir, no ssh master left from an earlier run; second run: the same files"
echo "again (Ansible-family tools reuse their ControlPersist masters; pyinfra and baton connect anew)."
echo "load average before: $load_before; after: $load_after ($(nproc) cores, shared)"
if [ "${status[baton]}" = ok ]; then
  printf 'files: %s entries under %s on each node; listing sha256 on %s: %.12s\n' \
    "$(wc -l <"$work/files-baton-1-${nodes[0]}.txt")" "$bench_dir" "${nodes[0]}" \
    "$(sha256sum "$work/files-baton-1-${nodes[0]}.txt" | cut -d' ' -f1)"
fi
echo "reproduce: sudo bench/peers.sh $n_nodes $repeats"
exit "$failed"
