#!/usr/bin/env bash
# The main job in one command: a local lab of two HVR Business Continuity
# nodes running the HVR simulator, and baton's failover playbooks on it.
#
#   1. lab up                    two SSH hosts (bc1, bc2) and a client, in network namespaces
#   2. install, vip, boot-config on both nodes
#   3. start bc1                 a client starts writing rows through the VIP
#   4. check                     the status table
#   5. switchover bc1 -> bc2     graceful: no acknowledged row lost
#   6. abrupt failure of bc1     switched back to bc1, then its scheduler is SIGKILLed, its link cut
#   7. failover to bc2           fencing bc1 (a power-off), phantom changes reported
#   8. bc1 boots again           its boot script refuses the VIP; switchover to it is refused
#   9. recover bc1               hvrrefresh + hvrinit + hvrcompare: identical, taint cleared
#  10. switchover bc2 -> bc1     and a final check, all green
#
# Each phase is printed as it runs, with its outcome; the lab is removed at
# the end, even on failure or Ctrl-C. Needs root (network namespaces).
# Usage: scripts/demo.sh [--keep]   (--keep: leave the lab up; `baton lab down --dir DIR` removes it)
set -euo pipefail
cd "$(dirname "$0")/.."
keep=no
[ "${1:-}" = --keep ] && keep=yes
if [ "$(id -u)" != 0 ]; then
    echo "demo: the lab needs root (network namespaces): sudo $0" >&2
    exit 4
fi
source scripts/deps.sh

bold() { printf '\033[1m%s\033[0m\n' "$*"; }
step=0
phase() { step=$((step + 1)); echo; bold "==> [$step/10] $*"; phase_started=$(date +%s.%N); }
outcome() { printf '    \033[1m<== %s\033[0m (%s s)\n' "$*" "$(awk -v a="$phase_started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"; }
die() { printf '\033[1;31mdemo FAILED: %s\033[0m\n' "$*" >&2; exit 1; }

bold "building baton (release) and the HVR simulator's distribution tarball"
cargo build --release --quiet
baton=$PWD/target/release/baton
work=$(mktemp -d /tmp/baton-demo.XXXXXX)
tarball=$(sim/package.sh "$work/dist")
mkdir -p "$work/sim" && tar -xzf "$tarball" -C "$work/sim"
client_bin=$work/sim/bin/hvrsimclient
lab="$work/lab"
prefix=batondemo
subnet=${DEMO_SUBNET:-10.78.0.0/24}
vip=${subnet%.0/*}.100

writer_pid=
cleanup() {
    status=$?
    [ -n "$writer_pid" ] && { touch "$work/stop"; wait "$writer_pid" 2>/dev/null || true; }
    if [ "$keep" = yes ]; then
        echo "lab kept: $baton lab down --dir $lab"
    else
        "$baton" lab down --dir "$lab" >/dev/null 2>&1 || echo "demo: lab down failed; run: $baton lab down --dir $lab" >&2
        rm -rf "$work"
    fi
    exit $status
}
trap cleanup EXIT INT TERM

# A booting START node waits hvr_boot_peer_delay (30 s by default) x bc_index
# for its peer: short in the demo.
run() { "$baton" run "$@" -i "$lab/lab.yml" -e "hvr_dist_tarball=$tarball" -e hvr_canary_table=simtable -e hvr_boot_peer_delay=1.5; }
node() { "$baton" lab shell --dir "$lab" "$1" -- sh -c "$2"; }
client() { "$baton" lab shell --dir "$lab" client -- "$client_bin" "$@"; }
start_writer() {
    rm -f "$work/stop" "$work/$1.acked"
    "$baton" lab shell --dir "$lab" client -- "$client_bin" write --host "$vip" --prefix "$1" \
        --interval-ms 20 --connect-timeout-ms 300 --io-timeout-ms 1000 --retry-ms 50 \
        --stop-file "$work/stop" --acked-log "$work/$1.acked" > "$work/$1.summary" 2>/dev/null &
    writer_pid=$!
    sleep 1
}
stop_writer() {
    touch "$work/stop"
    wait "$writer_pid" || true
    writer_pid=
    echo "    client: $(cat "$work/$1.summary")"
    client verify --host "$vip" --acked-log "$work/$1.acked" > "$work/$1.verify" || true
    echo "    client: $(head -n 1 "$work/$1.verify")"
}

phase "lab up: bc1 and bc2 (own sshd, own /etc /opt /var), a client netns, VIP $vip"
"$baton" lab up --prefix "$prefix" --subnet "$subnet" --dir "$lab"
outcome "lab is up"

phase "install, vip, boot-config on both nodes"
run install && run vip && run boot-config || die "setup"
outcome "HVR installed; hvrfailover.opt identical on both; VIP defined; hvrtab, boot script, cron in place"

phase "start bc1; a client writes a row every 20 ms through the VIP"
run start -e node=bc1 || die "start bc1"
start_writer s1
outcome "bc1 is active: $(node bc1 "ip -4 -o addr show dev eth0 | grep -o '$vip/[0-9]* .*eth0:1' | sed 's/ scope.* / on /'")"

phase "check"
run check || die "check"
outcome "both nodes consistent"

phase "graceful switchover bc1 -> bc2 while the client writes"
run switchover -e from=bc1 -e to=bc2 || die "switchover"
sleep 1
stop_writer s1
outcome "bc2 serves; no acknowledged row was lost"

phase "switch back to bc1 (output hidden), then an abrupt failure of bc1: SIGKILL its scheduler, cut its link (the client keeps writing)"
run switchover -e from=bc2 -e to=bc1 >/dev/null || die "switch back to bc1"
echo "    switched back: bc1 serves"
start_writer ab
node bc1 'kill -9 $(cat /opt/hvr/hvr_config/files/hvrscheduler_hvrhub.pid)'
sleep 0.3
"$baton" lab link bc1 down --dir "$lab"
outcome "bc1 is unreachable; its last changes never left it"

phase "failover to bc2 (fencing bc1 first: a power-off)"
run failover -e to=bc2 -e "{\"hvr_fence_command\": \"$baton lab crash bc1 --dir $lab\"}" || die "failover"
sleep 1
stop_writer ab
outcome "bc2 serves; bc1 is tainted; the client's missing rows are the phantom changes, left on bc1"

phase "bc1 boots again: its boot script must not take the VIP; switchover to bc1 must be refused"
"$baton" lab boot bc1 --dir "$lab"
# Its boot script waits hvr_boot_peer_delay, then decides: wait for the decision.
for _ in $(seq 1 100); do
    decided=$(node bc1 'grep -E "boot: (HOLDING|.*NOT starting|.*pre-flight passed)" /opt/hvr/hvr_config/log/hvrfailover/hvrfailover.log | tail -n 1')
    [ -n "$decided" ] && break
    sleep 0.2
done
echo "    $decided"
if run switchover -e from=bc2 -e to=bc1; then die "switchover to a tainted node was not refused"; fi
outcome "refused as expected: bc1 must be recovered first"

phase "recover bc1 from bc2"
run recover -e node=bc1 || die "recover"
outcome "bc1 holds bc2's data again and is a ready standby"

phase "switchover bc2 -> bc1 while the client writes, then check"
start_writer s3
run switchover -e from=bc2 -e to=bc1 || die "switchover back"
sleep 1
stop_writer s3
run check || die "final check"
outcome "bc1 serves again; all green"

echo
bold "demo complete"
