#!/usr/bin/env bash
# Benchmark: the cost of a connection with OpenSSH's default key exchange
# vs `baton_ssh_kex: curve25519`, against one loopback sshd with its default
# configuration. The two cases alternate round by round, so a change in the
# machine's load hits both alike. Prints the median time to open a host's
# connection (baton's host_connected events) and of a plain `ssh HOST true`;
# asserts nothing.
#
# Usage: bench/kex.sh [ROUNDS]      (default 15)
#        BATON=target/debug/baton bench/kex.sh   (default: release build)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-15}
if [ -n "${BATON:-}" ]; then
  baton=$(realpath "$BATON")
else
  cargo build --release --quiet
  baton=$PWD/target/release/baton
fi
work=$(mktemp -d /tmp/baton-kex.XXXXXX)
sshd_pid=""
cleanup() {
  [ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
ssh-keygen -q -t ed25519 -N '' -f "$work/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/client_key"
cp "$work/client_key.pub" "$work/authorized_keys" && chmod 600 "$work/authorized_keys"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p /run/sshd
cat >"$work/sshd_config" <<CFG
Port $port
ListenAddress 127.0.0.1
HostKey $work/host_key
AuthorizedKeysFile $work/authorized_keys
PidFile $work/sshd.pid
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
MaxStartups 64
UseDNS no
CFG
/usr/sbin/sshd -D -e -f "$work/sshd_config" 2>"$work/sshd.log" &
sshd_pid=$!
echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$work/host_key.pub")" >"$work/known_hosts"
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
user=$(id -un)
inventory() { # KEX
  cat <<INV
bench:
  hosts: {h1: {}, h2: {}}
  vars:
    ansible_host: 127.0.0.1
    ansible_port: $port
    ansible_user: $user
    ansible_ssh_private_key_file: $work/client_key
    baton_ssh_known_hosts_file: $work/known_hosts
    baton_ssh_kex: $1
INV
}
inventory default >"$work/default.yml"
inventory curve25519 >"$work/curve25519.yml"
printf -- '- hosts: bench\n  gather_facts: false\n  tasks:\n    - command: /bin/true\n' >"$work/one.yml"
ssh_opts=(-F /dev/null -p "$port" -i "$work/client_key" -o "UserKnownHostsFile=$work/known_hosts" -o StrictHostKeyChecking=yes -o BatchMode=yes)
kex_used() { ssh -v "${ssh_opts[@]}" "$@" "$user@127.0.0.1" true 2>&1 | sed -n 's/.*kex: algorithm: //p' | head -1; }
echo "loopback sshd, default KexAlgorithms; client $(ssh -V 2>&1); $rounds alternating rounds; $baton; load $(cut -d' ' -f1 /proc/loadavg)"
echo "negotiated: default -> $(kex_used); baton_ssh_kex: curve25519 -> $(kex_used -o KexAlgorithms=curve25519-sha256,curve25519-sha256@libssh.org)"
: >"$work/default.ms"; : >"$work/curve25519.ms"; : >"$work/ssh-default.ms"; : >"$work/ssh-curve25519.ms"
now_ms() { date +%s%3N; }
for _ in $(seq "$rounds"); do
  for kex in default curve25519; do
    "$baton" run "$work/one.yml" -i "$work/$kex.yml" --output json |
      python3 -c 'import json,sys; [print(e["elapsed_ms"]) for e in map(json.loads, sys.stdin) if e["event"]=="host_connected"]' >>"$work/$kex.ms"
    extra=()
    [ "$kex" = curve25519 ] && extra=(-o KexAlgorithms=curve25519-sha256,curve25519-sha256@libssh.org)
    t0=$(now_ms)
    ssh "${ssh_opts[@]}" "${extra[@]}" "$user@127.0.0.1" true
    echo $(($(now_ms) - t0)) >>"$work/ssh-$kex.ms"
  done
done
median() { python3 -c 'import statistics,sys; v=[float(x) for x in open(sys.argv[1])]; print(f"{statistics.median(v):.0f}")' "$1"; }
printf '%-12s %22s %18s\n' kex "baton connect ms/host" "ssh HOST true ms"
for kex in default curve25519; do
  printf '%-12s %22s %18s\n' "$kex" "$(median "$work/$kex.ms")" "$(median "$work/ssh-$kex.ms")"
done
echo "baton connect: the host_connected elapsed_ms (ssh master + persistent shell), 2 hosts at once per run."
