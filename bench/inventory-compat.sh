#!/usr/bin/env bash
# `baton inventory` against real `ansible-inventory` on the cases under
# tests/fixtures/inventory/ansible-inventory/ (each: an inventory.yml,
# inventory.ini or inventory/ directory, `hosts`, the hosts to ask --host, and
# `groups`, the groups to ask --graph G --vars).
#
#   bench/inventory-compat.sh --record   run ansible-inventory and write each
#                                        case's expected/ (commit them)
#   bench/inventory-compat.sh            run both live and diff them
#
# Outputs compared byte for byte: --list, --list --export, --graph,
# --graph --vars, --graph G --vars (each group in `groups`) and --host H. tests/inventory.rs (ansible_inventory_recordings) compares baton
# with the recordings without Ansible. Environment: as bench/compat.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

source bench/ansible-venv.sh

record=0
[ "${1:-}" = --record ] && record=1
cargo build --quiet --bin baton
baton="$PWD/target/debug/baton"
ansible="$venv/bin/ansible-inventory"
status=0
for case in tests/fixtures/inventory/ansible-inventory/*/; do
  case=${case%/}
  inv=
  for f in inventory.yml inventory.ini inventory; do
    [ -e "$case/$f" ] && { inv=$f; break; }
  done
  [ -n "$inv" ] || continue
  runs=("list.json:--list" "export.json:--list --export" "graph.txt:--graph"
        "graph-vars.txt:--graph --vars")
  for h in $(cat "$case/hosts"); do runs+=("host-$h.json:--host $h"); done
  for g in $(cat "$case/groups"); do runs+=("graph-$g-vars.txt:--graph $g --vars"); done
  [ $record = 1 ] && mkdir -p "$case/expected"
  for run in "${runs[@]}"; do
    out=${run%%:*}
    # shellcheck disable=SC2206 # the options are words
    opts=(${run#*:})
    if [ $record = 1 ]; then
      (cd "$case" && ANSIBLE_NOCOLOR=1 "$ansible" -i "$inv" "${opts[@]}") >"$case/expected/$out"
    elif ! diff -u <(cd "$case" && ANSIBLE_NOCOLOR=1 "$ansible" -i "$inv" "${opts[@]}") \
        <(cd "$case" && "$baton" inventory -i "$inv" "${opts[@]}") >/dev/null; then
      echo "differs: $case ${opts[*]}"
      status=1
    fi
  done
done
[ $record = 1 ] && "$ansible" --version | sed -n 1p
exit $status
