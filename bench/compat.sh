#!/usr/bin/env bash
# The compatibility corpus (tests/compat/) against real ansible-core.
#
#   bench/compat.sh --record [CASE...]   run ansible-playbook on each case and
#                                        write CASE/expected.json (commit them)
#   bench/compat.sh [CASE...]            run ansible-playbook and baton live and
#                                        print the cases that differ, then
#                                        `N cases, N match, N differ`
#
# Extra options go to bench/compat.py (--jobs N, --keep). Every case runs on
# the local connection and writes only under the fresh temp dir passed as
# `-e out=DIR`. cargo nextest run -E 'binary(compat)' compares baton with the
# recordings without Ansible.
#
# Environment (as bench/vs-ansible.sh):
#   BATON_BENCH_VENV      ansible-core venv, reused when present
#                         [default: ~/.cache/baton-bench/ansible-venv]
#   BATON_BENCH_ANSIBLE   pip requirement [default: ansible-core~=2.19.0]
#   BATON_BENCH_PYTHON    interpreter that builds the venv [default: /usr/bin/python3]
set -euo pipefail
cd "$(dirname "$0")/.."

source bench/ansible-venv.sh

record=0
for a in "$@"; do [ "$a" = --record ] && record=1; done
# baton is built for the live comparison, and for the labs of lab/ cases.
cargo build --quiet --bin baton

exec "$venv/bin/python" bench/compat.py --ansible "$venv/bin/ansible-playbook" \
  --baton "$PWD/target/debug/baton" "$@"
