#!/usr/bin/env bash
# The repository's own HVR content (playbooks/ + roles/), unchanged, under
# real ansible-playbook: the whole failover scenario against a `baton lab`
# (install, vip, boot-config, start, check, switchover and its re-run, an
# abrupt failover with the active node crashed and its re-run, recover and
# its re-run, switchover back, stop, start, check). Each step must end with
# the exit code the scenario expects; prints each step's exit code, recap
# and wall time. It shows that the content is Ansible content: the roles are
# found through ./ansible.cfg (roles_path = roles), run from the repository
# root, and every expression is Ansible's Jinja2. Needs root (the lab does).
#
# Usage: bench/hvr-ansible.sh [--keep]   (--keep: keep the logs' directory)
#
# Environment: as bench/vs-ansible.sh (BATON_BENCH_VENV, BATON_BENCH_ANSIBLE,
# BATON_BENCH_PYTHON).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
keep=0
[ "${1:-}" = --keep ] && keep=1
[ "$(id -u)" = 0 ] || { echo "bench/hvr-ansible.sh: needs root (it builds a baton lab)" >&2; exit 2; }

source scripts/deps.sh >/dev/null
cargo build --quiet --bin baton
baton=$repo/target/debug/baton
source bench/ansible-venv.sh

work=$(mktemp -d /tmp/baton-hvransible.XXXXXX)
lab=$work/lab
prefix=bha$(($$ % 100000))
cleanup() {
  local rc=$?
  for sock in "$work"/cp/*; do
    [ -S "$sock" ] && ssh -o ControlPath="$sock" -O exit bench-master >/dev/null 2>&1
  done
  if [ -e "$lab" ]; then
    "$baton" lab down --dir "$lab" >/dev/null ||
      echo "warning: \`baton lab down --dir $lab\` failed; run it by hand" >&2
  fi
  if [ "$keep" = 1 ]; then echo "logs kept in $work"; else rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

subnet=""
for i in $(seq 0 199); do
  octet=$(( ($$ + i) % 200 + 20 ))
  ip -4 -o addr show | grep -q " 10\.198\.$octet\." || { subnet=10.198.$octet.0/24; break; }
done
[ -n "$subnet" ] || { echo "no free 10.198.X.0/24 subnet for the lab" >&2; exit 1; }
"$baton" lab up --prefix "$prefix" --subnet "$subnet" --dir "$lab" >"$work/lab-up.log" ||
  { cat "$work/lab-up.log" >&2; echo "baton lab up failed" >&2; exit 1; }
sim/package.sh "$work/dist" >"$work/package.out" 2>"$work/package.log" ||
  { cat "$work/package.log" >&2; exit 1; }
tarball=$(tail -n 1 "$work/package.out")

# Nodes share the host's /usr but not root's pyenv: Ansible's modules need a
# python3 the nodes can run. Only ANSIBLE_CONFIG is left unset: Ansible must
# find ./ansible.cfg by itself.
unset ANSIBLE_CONFIG ANSIBLE_ROLES_PATH
export ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 ANSIBLE_HOME=$work/ansible-home \
  ANSIBLE_LOCAL_TEMP=$work/ansible-home/tmp ANSIBLE_SSH_CONTROL_PATH_DIR=$work/cp \
  ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0
ansible_version=$("$venv/bin/ansible-playbook" --version | sed -n '1s/.*core \([^]]*\)\].*/\1/p')
echo "ansible-core $ansible_version, lab $prefix ($subnet), HVR simulator $(basename "$tarball")"

n=0
failed=0
step() { # EXPECTED_RC PLAYBOOK ARGS...
  local want=$1 pb=$2 rc=0 t0 t1
  shift 2
  n=$((n + 1))
  t0=$(date +%s%3N)
  "$venv/bin/ansible-playbook" "playbooks/$pb.yml" -i "$lab/lab.yml" "$@" >"$work/$n-$pb.log" 2>&1 || rc=$?
  t1=$(date +%s%3N)
  local recap
  recap=$(sed -n '/^PLAY RECAP/,$p' "$work/$n-$pb.log" | grep -E '^(bc|localhost)' |
    awk '{printf "%s ok=%s changed=%s failed=%s; ", $1, substr($3,4), substr($4,9), substr($6,8)}')
  local verdict=ok
  if [ "$rc" != "$want" ]; then verdict="UNEXPECTED (wanted $want)"; failed=1; fi
  printf '%-40s exit %s %-22s %6d ms  %s\n' "$pb $*" "$rc" "$verdict" $((t1 - t0)) "$recap"
  if [ "$rc" != "$want" ]; then tail -n 25 "$work/$n-$pb.log" | sed 's/^/    /'; fi
}
node() { "$baton" lab "$@" --dir "$lab" >>"$work/lab.log" 2>&1; }

step 0 install -e "hvr_dist_tarball=$tarball"
step 0 vip
step 0 boot-config
step 0 start -e node=bc1
step 0 check
step 0 switchover -e from=bc1 -e to=bc2
step 0 switchover -e from=bc1 -e to=bc2
node crash bc2
step 0 failover -e to=bc1
step 0 failover -e to=bc1
node boot bc2
step 0 recover -e node=bc2
step 0 recover -e node=bc2
step 0 switchover -e from=bc1 -e to=bc2
step 0 stop -e node=bc2
step 2 check
step 0 start -e node=bc2
step 0 check
[ "$failed" = 0 ] && echo "all $n steps ended as the scenario expects" ||
  { echo "some steps did not end as expected (bench/hvr-ansible.sh --keep keeps the logs)"; exit 1; }
