#!/usr/bin/env bash
# The fault matrix (issue 13) in the lab, in resumable slices: each case
# runs switchover, failover or recover while a client writes through the
# VIP, injects a fault at one task boundary (the k-th task_start of the
# run's JSON events), clears it, runs the same playbook again, and checks
# the invariants (no two live VIP holders, sampled every 20 ms; no lost
# acknowledged row on graceful paths, only reported phantom changes on the
# abrupt one; the re-run completes or refuses naming the manual step).
#
# Prints the slice's expected duration first, one line a case, and at the
# end the figures: cases run, invariant violations, re-runs that completed
# or refused cleanly (with the manual steps), median re-run time.
# The whole matrix takes hours: run it in slices and resume with --case.
#
#   sudo bench/faults.sh [--op switchover|failover|recover[,...]]
#                        [--fault NAME[,...]] [--case N|N-M[,...] | --at TASK-TEXT]
#                        [--report DIR]
#   sudo bench/faults.sh --list      # the faults and operations
#
# Faults: controller-kill controller-int from-link to-link from-scheduler
# to-scheduler from-crash to-crash partition from-disk-full to-disk-full
# from-slow to-slow from-slow-link to-slow-link (docs/hvr-playbooks.md,
# "Fault matrix").
# Env: FAULTS_PREFIX (batonfx), FAULTS_SUBNET (10.78.0.0/24), BATON (a
# built baton; default: cargo build, then target/debug/baton), HVRSIM (a
# built simulator binary to pack; default: sim/package.sh builds it).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --list ]; then
    echo "operations: switchover failover recover"
    echo "faults: controller-kill controller-int from-link to-link from-scheduler to-scheduler from-crash to-crash partition from-disk-full to-disk-full from-slow to-slow from-slow-link to-slow-link"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "bench/faults.sh: the lab needs root (network namespaces): sudo $0 $*" >&2
    exit 4
fi
if [ -z "${BATON:-}" ]; then
    cargo build --quiet
    BATON=$PWD/target/debug/baton
fi
# Bad input is refused before anything is packed or built (the drill prints
# the expected duration itself, first).
"$BATON" drill --faults --estimate "$@" > /dev/null
work=$(mktemp -d /tmp/baton-bench-faults.XXXXXX)
trap 'rm -rf "$work"' EXIT
tarball=$(sim/package.sh "$work/dist" ${HVRSIM:+--binary "$HVRSIM"})
# The report (faults.json, written after every case) goes to --report DIR,
# else to /var/lib/baton/faults/<UTC time>; the drill prints where.
"$BATON" drill --lab --faults --dist "$tarball" \
    --lab-prefix "${FAULTS_PREFIX:-batonfx}" --lab-subnet "${FAULTS_SUBNET:-10.78.0.0/24}" "$@"
