#!/usr/bin/env bash
# Benchmark: peak resident memory (and wall time) against the size of the
# input, for the shapes that used to grow faster than linearly:
#   - a 10-task play over N local hosts (hostvars, groups, play_hosts read);
#   - one command over N local hosts, `strategy: linear` and `free`;
#   - a play over 1 host of a 10,000-host inventory, and `inventory --list`;
#   - YAML: a 50,000-key mapping, a 100,000-line playbook (--syntax-check);
#   - an INI inventory whose groups nest 20,000 deep (top down, bottom up);
#   - a loop of N items.
# Prints figures (peak RSS from /usr/bin/time -v); asserts nothing.
#
# Usage: bench/scale.sh [MAX_HOSTS]    (default 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
max_hosts=${1:-1000}
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time)" >&2; exit 1; }
cargo build --release --quiet
baton=$PWD/target/release/baton
work=$(mktemp -d /tmp/baton-scale.XXXXXX)
trap 'rm -rf "$work"' EXIT

# measure LABEL CMD...: one line with wall time and peak RSS; the command's
# own output goes to a file (its exit code is shown when not 0).
measure() {
  local label=$1
  shift
  local rc=0
  /usr/bin/time -v -o "$work/time.txt" "$@" >"$work/out.txt" 2>&1 || rc=$?
  local rss wall
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt")
  printf '  %-46s %10s  %8.1f MB%s\n' "$label" "$wall" "$(echo "$rss / 1024" | bc -l)" \
    "$([ "$rc" = 0 ] || echo "  (exit $rc)")"
}

hosts_inventory() { # N FILE: N local hosts in group web
  python3 - "$1" "$2" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    f.write("[web]\n")
    for i in range(n):
        f.write(f"h{i} ansible_connection=local ip=10.{i // 62500}.{i // 250 % 250}.{i % 250} rack=r{i % 7}\n")
    f.write("[all:vars]\nlabel=\"{{ inventory_hostname }}-{{ rack }}\"\n")
PY
}

cat >"$work/ten.yml" <<'YML'
- hosts: all
  gather_facts: false
  tasks:
    - command: /bin/true
    - file: {path: "{{ out }}/{{ inventory_hostname }}", state: directory}
    - copy: {content: "{{ hostvars[inventory_hostname].label }} {{ ip }}\n", dest: "{{ out }}/{{ inventory_hostname }}/c.txt"}
    - lineinfile: {path: "{{ out }}/{{ inventory_hostname }}/l.txt", line: "x={{ ip }}", create: true}
    - set_fact: {me: "{{ hostvars[inventory_hostname].ip }}", first: "{{ hostvars[groups.web[0]].ip }}"}
    - debug: msg="{{ me }} {{ first }} {{ groups.web | length }}"
    - command: echo "{{ play_hosts | length }} {{ ansible_play_batch | length }}"
      register: r
    - debug: var=r.stdout
    - stat: {path: "{{ out }}/{{ inventory_hostname }}/c.txt"}
    - command: /bin/true
YML

echo "baton $("$baton" --version | awk '{print $2}'): peak RSS by input size (wall time, peak RSS)"
echo
echo "10-task play over N local hosts (reads hostvars, groups, play_hosts):"
for n in 100 250 500 1000 2000; do
  [ "$n" -le "$max_hosts" ] || continue
  hosts_inventory "$n" "$work/hosts$n.ini"
  rm -rf "$work/out"
  measure "$n hosts x 10 tasks" "$baton" run -i "$work/hosts$n.ini" -e "out=$work/out" "$work/ten.yml"
done

echo
echo "One command over N local hosts, -f 50, strategy linear vs free (each host's lane):"
for s in linear free; do
  printf -- '- hosts: all\n  gather_facts: false\n  strategy: %s\n  tasks:\n    - command: "true"\n' "$s" >"$work/one-$s.yml"
done
for n in 500 1000 2000; do
  [ "$n" -le "$max_hosts" ] || continue
  [ -f "$work/hosts$n.ini" ] || hosts_inventory "$n" "$work/hosts$n.ini"
  for s in linear free; do
    measure "$n hosts, $s" "$baton" run -i "$work/hosts$n.ini" -f 50 "$work/one-$s.yml"
  done
done

echo
echo "10,000-host inventory:"
hosts_inventory 10000 "$work/hosts10000.ini"
measure "inventory --list" "$baton" inventory -i "$work/hosts10000.ini" --list
cat >"$work/one.yml" <<'YML'
- hosts: all
  gather_facts: false
  tasks:
    - debug: msg="{{ hostvars['h9999'].label }} {{ groups.all | length }}"
YML
measure "1-task play, -l h1" "$baton" run -i "$work/hosts10000.ini" -l h1 "$work/one.yml"

echo
echo "YAML (--syntax-check):"
python3 - "$work" <<'PY'
import sys
w = sys.argv[1]
with open(f"{w}/keys50k.yml", "w") as f:
    f.write("- hosts: localhost\n  gather_facts: false\n  vars:\n")
    for i in range(50000):
        f.write(f"    key_{i}: value {i}\n")
    f.write("  tasks:\n    - debug: msg=hi\n")
with open(f"{w}/flow50k.yml", "w") as f:
    body = ", ".join(f"key_{i}: café {i}" for i in range(50000))
    f.write("- hosts: localhost\n  gather_facts: false\n  vars: {" + body + "}\n  tasks:\n    - debug: msg=hi\n")
with open(f"{w}/lines100k.yml", "w") as f:
    f.write("- hosts: localhost\n  gather_facts: false\n  tasks:\n")
    for i in range(33333):
        f.write(f"    - name: task {i}\n      debug:\n        msg: hi {i}\n")
PY
measure "50,000-key mapping" "$baton" run --syntax-check "$work/keys50k.yml"
measure "50,000-key flow mapping, one non-ASCII line" "$baton" run --syntax-check "$work/flow50k.yml"
measure "100,000-line playbook (33,333 tasks)" "$baton" run --syntax-check "$work/lines100k.yml"

echo
echo "INI groups nested 20,000 deep (inventory --list):"
python3 - "$work" <<'PY'
import sys
w, n = sys.argv[1], 20000
sections = [f"[g{i}:children]\ng{i + 1}\n" for i in range(n - 1)]
head = f"[g{n - 1}]\nleaf1\nleaf2\n"
open(f"{w}/chain.ini", "w").write(head + "".join(sections))
open(f"{w}/chain-rev.ini", "w").write(head + "".join(reversed(sections)))
PY
measure "sections top down" "$baton" inventory -i "$work/chain.ini" --list
measure "sections bottom up" "$baton" inventory -i "$work/chain-rev.ini" --list

echo
echo "A loop of N items (debug, registered, then counted):"
for n in 5000 10000 20000; do
  python3 - "$n" "$work/loop$n.yml" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
items = ", ".join(f"item-{i}" for i in range(n))
open(path, "w").write(f"""- hosts: localhost
  gather_facts: false
  vars:
    many: [{items}]
  tasks:
    - debug: msg="{{{{ item }}}} {{{{ ansible_loop.index }}}}"
      loop: "{{{{ many }}}}"
      loop_control: {{extended: true, extended_allitems: false}}
      register: out
    - debug: msg="{{{{ out.results | length }}}}"
""")
PY
  measure "$n items" "$baton" run -i localhost, "$work/loop$n.yml"
done
