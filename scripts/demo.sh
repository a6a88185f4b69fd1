#!/usr/bin/env bash
# The main job in one command: a DR drill of two HVR Business Continuity nodes
# running the HVR simulator, driven by baton's failover playbooks in a local lab:
#
#   baton drill --lab --scenario graceful,abrupt,recover,switchback --report DIR
#
#   lab up        two SSH hosts (bc1, bc2) and a client, in network namespaces
#   setup         install, vip, boot-config on both nodes; start bc1
#   graceful      switchover bc1 -> bc2 while a client writes and reads through the VIP
#   abrupt        bc2's scheduler SIGKILLed, its link cut; failover to bc1, fencing bc2
#   recover       bc2 boots (its boot script must not take the VIP), then recover bc2
#   switchback    switchover bc1 -> bc2, back to the node that served before the failover
#
# Each phase prints its tasks as they run, then its RTO and RPO; the lab is
# removed at the end, even on failure or Ctrl-C. The report (a table, drill.json,
# drill.html) goes to DIR: the first argument, default /var/lib/baton/drills/<time>.
# Needs root (network namespaces). Usage: scripts/demo.sh [REPORT_DIR]
# DEMO_PREFIX and DEMO_SUBNET choose the lab's name prefix (default batondemo)
# and subnet (default 10.78.0.0/24), e.g. to run beside another lab.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
    echo "demo: the lab needs root (network namespaces): sudo $0" >&2
    exit 4
fi
source scripts/deps.sh

printf '\033[1m%s\033[0m\n' "building baton (release) and the HVR simulator's distribution tarball"
cargo build --release --quiet
work=$(mktemp -d /tmp/baton-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
tarball=$(sim/package.sh "$work/dist")
report=()
[ -n "${1:-}" ] && report=(--report "$1")
exec_status=0
./target/release/baton drill --lab --dist "$tarball" --lab-prefix "${DEMO_PREFIX:-batondemo}" \
    --lab-subnet "${DEMO_SUBNET:-10.78.0.0/24}" "${report[@]}" || exec_status=$?
exit $exec_status
