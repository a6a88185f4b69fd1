#!/usr/bin/env bash
# Measures baton's HVR failover on a local lab running the HVR simulator.
# Prints figures; asserts nothing.
#
#   graceful switchover (RUNS times, alternating bc1 -> bc2 and back, with a
#   client writing a row every 20 ms through the VIP):
#     - time from the playbook's first task to the VIP answering on the new
#       node, seen from the client netns: a prober there pings the VIP every
#       20 ms and records when a reply first comes from the new node's MAC;
#     - the client's longest gap between two acknowledged writes (RTO as the
#       application sees it) and the acknowledged rows lost (must be 0);
#   abrupt failover (once): the active node's scheduler is SIGKILLed and its
#   link cut while the client writes, then `failover` to the other node:
#     - the client's longest gap, and the acknowledged rows lost (RPO).
#
# Usage: bench/switchover.sh [RUNS]   (default 5; needs root)
#        bench/switchover.sh --compare N
#   cold vs prepared: `baton drill --lab --rapid-compare N` (N graceful and N
#   rapid switchovers, alternating, each measured by the drill's client probe
#   through the VIP), then the medians, spreads and the lab goal of issue 11
#   (docs/drill.md); the drill report is kept in $BENCH_REPORT when set.
set -euo pipefail
cd "$(dirname "$0")/.."
compare=
if [ "${1:-}" = --compare ]; then
    compare=${2:-5}
    case $compare in '' | *[!0-9]*) echo "bench: --compare N: N runs of each kind, a number" >&2; exit 4 ;; esac
fi
runs=${1:-5}
if [ "$(id -u)" != 0 ]; then
    echo "bench: the lab needs root (network namespaces): sudo $0" >&2
    exit 4
fi
source scripts/deps.sh >/dev/null
cargo build --release --quiet
baton=$PWD/target/release/baton
work=$(mktemp -d /tmp/baton-bench-switchover.XXXXXX)
tarball=$(sim/package.sh "$work/dist")
if [ -n "$compare" ]; then
    report=${BENCH_REPORT:-$work/report}
    echo "cold vs prepared, $compare of each: baton $(git rev-parse --short HEAD 2>/dev/null || echo '?') release build, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    rc=0
    "$baton" drill --lab --rapid-compare "$compare" --dist "$tarball" --report "$report" \
        --lab-prefix batonbenchc --lab-subnet "${BENCH_SUBNET:-10.78.0.0/24}" | sed -n '/^phase /,$p' || rc=$?
    [ -z "${BENCH_REPORT:-}" ] && rm -rf "$work"
    exit "$rc"
fi
mkdir -p "$work/sim" && tar -xzf "$tarball" -C "$work/sim"
client_bin=$work/sim/bin/hvrsimclient
lab=$work/lab
subnet=${BENCH_SUBNET:-10.79.0.0/24}
vip=${subnet%.0/*}.254  # the lab's VIP host number (src/lab/subnet.rs VIP_HOST)
prober_pid= writer_pid=

cleanup() {
    touch "$work/stop" "$work/probe.stop" 2>/dev/null || true
    [ -n "$writer_pid" ] && wait "$writer_pid" 2>/dev/null
    [ -n "$prober_pid" ] && wait "$prober_pid" 2>/dev/null
    "$baton" lab down --dir "$lab" >/dev/null 2>&1 || echo "bench: run $baton lab down --dir $lab" >&2
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

run() { "$baton" run "$@" -i "$lab/lab.yml" -e "hvr_dist_tarball=$tarball" -e hvr_canary_table=simtable -e hvr_boot_peer_delay=1.5; }
node() { "$baton" lab shell --dir "$lab" "$1" -- sh -c "$2"; }
mac_of() { node "$1" 'cat /sys/class/net/eth0/address'; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
field() { tr ' ' '\n' | sed -n "s/^$1=//p"; }

start_writer() {
    rm -f "$work/stop" "$work/$1.acked"
    "$baton" lab shell --dir "$lab" client -- "$client_bin" write --host "$vip" --prefix "$1" \
        --interval-ms 20 --connect-timeout-ms 300 --io-timeout-ms 1000 --retry-ms 20 \
        --stop-file "$work/stop" --acked-log "$work/$1.acked" > "$work/$1.summary" 2>/dev/null &
    writer_pid=$!
    sleep 1
}
stop_writer() {
    touch "$work/stop"
    wait "$writer_pid" || true
    writer_pid=
    # verify exits 1 when rows are missing: that is a figure here, not an error.
    "$baton" lab shell --dir "$lab" client -- "$client_bin" verify --host "$vip" --acked-log "$work/$1.acked" > "$work/$1.verify" || true
    lost=$(head -n 1 "$work/$1.verify" | field missing)
    gap=$(field max_gap_ms < "$work/$1.summary")
    acked=$(field acked < "$work/$1.summary")
}
# Every 20 ms: one ping to the VIP from the client netns; on a reply, the time
# and the MAC the client's neighbour table holds for the VIP.
start_prober() {
    rm -f "$work/probe.stop"
    "$baton" lab shell --dir "$lab" client -- sh -c "
        while [ ! -e '$work/probe.stop' ]; do
            if ping -n -q -c 1 -W 0.05 $vip >/dev/null 2>&1; then
                echo \"\$(date +%s.%N) \$(ip neigh show $vip | sed -n 's/.* lladdr \\([^ ]*\\).*/\\1/p')\"
            fi
            sleep 0.02
        done" > "$work/probe.log" &
    prober_pid=$!
}
stop_prober() { touch "$work/probe.stop"; wait "$prober_pid" || true; prober_pid=; }

echo "lab: 2 BC nodes + client on $subnet (VIP $vip); baton $(git rev-parse --short HEAD 2>/dev/null || echo '?') release build"
"$baton" lab up --prefix batonbench --subnet "$subnet" --dir "$lab" >/dev/null
run install >/dev/null && run vip >/dev/null && run boot-config >/dev/null && run start -e node=bc1 >/dev/null
declare -A mac=([bc1]=$(mac_of bc1) [bc2]=$(mac_of bc2))

printf '\n%-4s %-12s %-22s %-16s %-10s %s\n' run switchover "first task->VIP on new" "client max gap" "acked" "lost"
from=bc1 to=bc2
: > "$work/times" ; : > "$work/gaps"
for i in $(seq 1 "$runs"); do
    start_writer "s$i"
    start_prober
    run switchover -e "from=$from" -e "to=$to" --output json > "$work/sw$i.json"
    sleep 0.5
    stop_prober
    stop_writer "s$i"
    t0=$(grep -m1 '"event":"task_start"' "$work/sw$i.json" | sed 's/.*"time":\([0-9.]*\).*/\1/')
    answered=$(awk -v t0="$t0" -v mac="${mac[$to]}" '$1 >= t0 && $2 == mac { print $1; exit }' "$work/probe.log")
    secs=$(awk -v a="$t0" -v b="$answered" 'BEGIN { if (b == "") print "n/a"; else printf "%.3f", b - a }')
    echo "$secs" >> "$work/times"
    echo "$gap" >> "$work/gaps"
    printf '%-4s %-12s %-22s %-16s %-10s %s\n' "$i" "$from->$to" "$secs s" "$gap ms" "$acked" "$lost"
    tmp=$from from=$to to=$tmp
done
echo "median over $runs runs: $(grep -v n/a "$work/times" | median) s from the first task to the VIP answering on the new node; client max gap $(median < "$work/gaps") ms"

# Abrupt failover: kill the active node's scheduler, cut its link, fail over.
active=$from survivor=$to
start_writer ab
node "$active" 'kill -9 $(cat /opt/hvr/hvr_config/files/hvrscheduler_hvrhub.pid)'
sleep 0.3
"$baton" lab link "$active" down --dir "$lab" >/dev/null
fence="{\"hvr_fence_command\": \"$baton lab crash $active --dir $lab\"}"
started=$(date +%s.%N)
run failover -e "to=$survivor" -e "$fence" > "$work/failover.out" || { cat "$work/failover.out"; exit 1; }
took=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
sleep 1
stop_writer ab
echo
echo "abrupt failover $active -> $survivor (scheduler SIGKILLed, link cut, fenced): playbook $took s;"
echo "  client max gap $gap ms (includes the $active link cut before the playbook started)"
echo "  acknowledged rows lost (RPO): $lost of $acked (phantom changes, kept only on $active until recover discards them)"
