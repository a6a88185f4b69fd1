#!/usr/bin/env bash
# Benchmark: milliseconds per task per host for a 20-task playbook, over the
# local transport and over SSH to a loopback sshd (2 hosts, warm multiplexed
# connection). Prints figures; asserts nothing.
#
# Usage: bench/run.sh [REPEATS]    (default 5)
#        BATON=target/debug/baton bench/run.sh   (a given build, no release build)
#        BENCH_BY_TASK=1 bench/run.sh   (also each task's median, on stderr)
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-5}
source scripts/deps.sh >/dev/null
if [ -n "${BATON:-}" ]; then
  baton=$(realpath "$BATON")
else
  cargo build --release --quiet
  baton=$PWD/target/release/baton
fi
work=$(mktemp -d /tmp/baton-bench.XXXXXX)
sshd_pid=""
sshd2_pid=""
cleanup() {
  [ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null
  [ -n "$sshd2_pid" ] && kill "$sshd2_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# BENCH_PLAYBOOK: another playbook for hosts `bench` (e.g. to time one module alone).
cp "${BENCH_PLAYBOOK:-bench/twenty.yml}" "$work/twenty.yml"
cp -r bench/templates "$work/"

# A loopback sshd of our own: temp keys, temp config, a free port.
ssh-keygen -q -t ed25519 -N '' -f "$work/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/client_key"
cat "$work/client_key.pub" > "$work/authorized_keys"
chmod 600 "$work/authorized_keys"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p /run/sshd
cat > "$work/sshd_config" <<CFG
Port $port
ListenAddress 127.0.0.1
HostKey $work/host_key
AuthorizedKeysFile $work/authorized_keys
PidFile $work/sshd.pid
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
MaxSessions 64
MaxStartups 64
UseDNS no
CFG
# sshd runs commands through the user's login shell, and Debian's bash reads
# ~/.bashrc even then; a developer's .bashrc (pyenv, nvm) adds 100+ ms to every
# command and would be measured instead of baton. Hide it from this sshd only,
# in a private mount namespace (the lab's nodes get a fresh /root for the same reason).
home=$(getent passwd "$(id -un)" | cut -d: -f6)
if [ -f "$home/.bashrc" ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
  unshare --mount --propagation private sh -c 'mount --bind /dev/null "$1/.bashrc" && exec /usr/sbin/sshd -D -e -f "$2"' sh "$home" "$work/sshd_config" 2>"$work/sshd.log" &
else
  /usr/sbin/sshd -D -e -f "$work/sshd_config" 2>"$work/sshd.log" &
fi
sshd_pid=$!
# The same server restricted to curve25519 key exchange, as the lab's nodes
# are: OpenSSH's default post-quantum exchange (sntrup761) costs ~0.2 s more
# per connection, which is most of a short run's end-to-end time.
port2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -e "s/^Port .*/Port $port2/" -e "s#^PidFile .*#PidFile $work/sshd2.pid#" "$work/sshd_config" > "$work/sshd2_config"
echo "KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org" >> "$work/sshd2_config"
if [ -f "$home/.bashrc" ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
  unshare --mount --propagation private sh -c 'mount --bind /dev/null "$1/.bashrc" && exec /usr/sbin/sshd -D -e -f "$2"' sh "$home" "$work/sshd2_config" 2>"$work/sshd2.log" &
else
  /usr/sbin/sshd -D -e -f "$work/sshd2_config" 2>"$work/sshd2.log" &
fi
sshd2_pid=$!
{
  echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$work/host_key.pub")"
  echo "[127.0.0.1]:$port2 $(cut -d' ' -f1,2 "$work/host_key.pub")"
} > "$work/known_hosts"
for p in $port $port2; do
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && break; sleep 0.1; done
done

user=$(id -un)
cat > "$work/local.yml" <<INV
bench:
  hosts:
    h1: {ansible_connection: local, bench_dir: $work/out-local/h1}
    h2: {ansible_connection: local, bench_dir: $work/out-local/h2}
  vars: {bench_hub: hub}
INV
cat > "$work/ssh.yml" <<INV
bench:
  hosts:
    h1: {bench_dir: $work/out-ssh/h1}
    h2: {bench_dir: $work/out-ssh/h2}
  vars:
    ansible_host: 127.0.0.1
    ansible_port: $port
    ansible_user: $user
    ansible_ssh_private_key_file: $work/client_key
    baton_ssh_known_hosts_file: $work/known_hosts
    bench_hub: hub
INV

sed -e "s/ansible_port: $port/ansible_port: $port2/" -e "s#out-ssh#out-ssh25519#g" "$work/ssh.yml" > "$work/ssh25519.yml"
# The default server, the client opting in to curve25519 (baton_ssh_kex).
sed -e "s#out-ssh#out-sshkex#g" -e "s#^  vars:#  vars:\n    baton_ssh_kex: curve25519#" "$work/ssh.yml" > "$work/sshkex.yml"

now_ms() { date +%s%3N; }
median() { python3 -c 'import statistics,sys; print(f"{statistics.median(float(x) for x in sys.argv[1:]):.1f}")' "$@"; }

run_case() { # transport
  local inv=$work/$1.yml first=() second=() pertask=() connect=() out
  for i in $(seq "$repeats"); do
    rm -rf "$work/out-$1"
    local t0 t1 t2
    t0=$(now_ms)
    "$baton" run "$work/twenty.yml" -i "$inv" --output json > "$work/first.json"
    t1=$(now_ms)
    "$baton" run "$work/twenty.yml" -i "$inv" --output json > "$work/second.json"
    t2=$(now_ms)
    first+=($((t1 - t0)))
    second+=($((t2 - t1)))
    pertask+=("$(python3 bench/stats.py < "$work/second.json")")
    connect+=("$(python3 -c 'import json,sys,statistics; print(statistics.mean([e["elapsed_ms"] for e in map(json.loads, sys.stdin) if e["event"]=="host_connected"] or [0]))' < "$work/first.json")")
  done
  printf '%-10s %10s %12s %16s %16s\n' "$1" "$(median "${first[@]}")" "$(median "${second[@]}")" "$(median "${pertask[@]}")" "$(median "${connect[@]}")"
}

echo "baton bench: 20 tasks x 2 hosts, median of $repeats runs ($(nproc) cores, $(basename "$(dirname "$baton")") build)"
printf '%-10s %10s %12s %16s %16s\n' transport "first ms" "second ms" "ms/task/host" "connect ms/host"
run_case local
run_case ssh
run_case ssh25519
run_case sshkex
echo "ssh: sshd's default key exchange; ssh25519: the same server offering only curve25519;"
echo "sshkex: the default server, the client opting in with baton_ssh_kex: curve25519."
echo "connect ms/host: mean time to open a host's connection (host_connected events), first run."
echo "first/second: whole run end to end, including start-up and connecting;"
echo "ms/task/host: median of each host's task time on the second (idempotent) run."
