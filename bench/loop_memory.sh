#!/usr/bin/env bash
# Controller memory and time of a `loop` of N `debug` items over the local
# connection: peak RSS (GNU time's %M), the per-item figure from two sizes.
# Usage: bench/loop_memory.sh [BATON] [N1] [N2]   (defaults: target/debug/baton 20000 40000)
set -euo pipefail
baton=${1:-target/debug/baton}
n1=${2:-20000}
n2=${3:-40000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
measure() {
  cat > "$dir/loop.yml" <<PLAY
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - debug: {msg: "{{ item }}"}
      loop: "{{ range($1) | list }}"
PLAY
  /usr/bin/time -f "%M %e" "$baton" run -i localhost, "$dir/loop.yml" 2>&1 >/dev/null | tail -1
}
read -r kb1 s1 < <(measure "$n1")
read -r kb2 s2 < <(measure "$n2")
echo "loop of $n1 items: peak ${kb1} KB, ${s1} s"
echo "loop of $n2 items: peak ${kb2} KB, ${s2} s"
awk -v a="$kb1" -v b="$kb2" -v n1="$n1" -v n2="$n2" -v s1="$s1" -v s2="$s2" \
  'BEGIN { printf "per item: %.2f KB, %.3f ms\n", (b - a) / (n2 - n1), 1000 * (s2 - s1) / (n2 - n1) }'
