#!/usr/bin/env bash
# Benchmark: bench/twenty.yml on 2, 20, 50, 100 ... hosts of a running
# `baton lab`, first run (clean directory, cold connections) and second run
# (nothing to change), with the share of each run spent opening connections
# (the recap's `connect`, from the JSON events). Prints figures; asserts
# nothing.
#
# Usage: bench/lab-scale.sh LAB_DIR [COUNTS...]     (default counts: 2 20 50 100)
#        BATON=target/debug/baton bench/lab-scale.sh ...   (default: release build)
#        KEX=curve25519 bench/lab-scale.sh ...   (adds baton_ssh_kex to every host)
# The lab must have at least max(COUNTS) nodes: `baton lab up --nodes 100`.
set -euo pipefail
cd "$(dirname "$0")/.."
lab=${1:?usage: bench/lab-scale.sh LAB_DIR [COUNTS...]}
shift
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(2 20 50 100)
usage="usage: bench/lab-scale.sh LAB_DIR [COUNTS...]"
[ -f "$lab/lab.yml" ] || { echo "$usage (LAB_DIR: a lab's directory holding lab.yml, as \`baton lab up\` prints; not \`$lab\`)" >&2; exit 2; }
for n in "${counts[@]}"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "$usage (COUNTS: whole numbers from 1, not \`$n\`)" >&2; exit 2; }
done
if [ -n "${BATON:-}" ]; then
  baton=$(realpath "$BATON")
else
  cargo build --release --quiet
  baton=$PWD/target/release/baton
fi
# A count above the lab's nodes would run fewer hosts than its row says.
nodes=$("$baton" inventory -i "$lab/lab.yml" --list | python3 -c 'import json,sys; print(len(json.load(sys.stdin).get("bc", {}).get("hosts", [])))')
for n in "${counts[@]}"; do
  [ "$n" -le "$nodes" ] || { echo "$usage (COUNTS: at most the lab's $nodes nodes, not $n: \`baton lab up --nodes $n\`)" >&2; exit 2; }
done
work=$(mktemp -d /tmp/baton-lab-scale.XXXXXX)
trap 'rm -rf "$work"' EXIT
bench_dir=/opt/baton-bench
cat >"$work/bench.yml" <<INV
all:
  children:
    bench:
      children:
        bc: {}
      vars:
        bench_dir: $bench_dir
        bench_hub: hub
${KEX:+        baton_ssh_kex: $KEX}
INV
cp bench/twenty.yml "$work/" && cp -r bench/templates "$work/"
cat >"$work/clean.yml" <<'PB'
- hosts: bench
  gather_facts: false
  tasks:
    - file: {path: "{{ bench_dir }}", state: absent}
PB
inv=(-i "$lab/lab.yml" -i "$work/bench.yml")
now_ms() { date +%s%3N; }
share() { # JSON events -> "connect_ms tasks_ms"
  python3 -c 'import json,sys
r=[e for e in map(json.loads, sys.stdin) if e["event"]=="recap"][-1]
bad=sum(s["failed"]+s["unreachable"] for s in r["hosts"].values())
print("%.0f %.0f %d" % (r["connect"]["elapsed_ms"], r["tasks_ms"], bad))'
}
echo "bench/twenty.yml on lab hosts ($lab), $baton, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)${KEX:+, baton_ssh_kex=$KEX}"
printf '%6s %10s %12s %12s %10s %12s %12s %8s\n' hosts "first ms" "connect ms" "share" "second ms" "connect ms" "share" "bad"
for n in "${counts[@]}"; do
  limit=$(seq -s, -f 'bc%g' 1 "$n")
  "$baton" run "$work/clean.yml" "${inv[@]}" -l "$limit" --output json >/dev/null || true
  t0=$(now_ms)
  "$baton" run "$work/twenty.yml" "${inv[@]}" -l "$limit" --output json >"$work/first.json" || true
  t1=$(now_ms)
  "$baton" run "$work/twenty.yml" "${inv[@]}" -l "$limit" --output json >"$work/second.json" || true
  t2=$(now_ms)
  read -r c1 _ bad1 < <(share <"$work/first.json")
  read -r c2 _ bad2 < <(share <"$work/second.json")
  f=$((t1 - t0)) s=$((t2 - t1))
  printf '%6s %10s %12s %11s%% %10s %12s %11s%% %8s\n' "$n" "$f" "$c1" "$((100 * c1 / f))" "$s" "$c2" "$((100 * c2 / s))" "$((bad1 + bad2))"
done
echo "first: clean $bench_dir, new connections; second: nothing to change, new connections (no --persist)."
echo "connect ms: the recap's connection set-up (all hosts at once, up to forks); share: of the run's wall time."
echo "bad: failed + unreachable host results over both runs (should be 0)."
