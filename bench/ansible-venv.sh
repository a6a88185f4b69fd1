# Sourced by the bench scripts that run real ansible-core: builds its venv
# once and reuses it. Sets `venv` (the venv's directory).
#   BATON_BENCH_VENV      ansible-core venv, reused when present
#                         [default: ~/.cache/baton-bench/ansible-venv]
#   BATON_BENCH_ANSIBLE   pip requirement [default: ansible-core~=2.19.0]
#   BATON_BENCH_PYTHON    interpreter that builds the venv [default: /usr/bin/python3]
#   BATON_BENCH_COLLECTIONS  where the ansible.posix collection (sysctl, mount,
#                         authorized_key) is unpacked; exported as
#                         ANSIBLE_COLLECTIONS_PATH [default: next to the venv]
venv=${BATON_BENCH_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/baton-bench/ansible-venv}
requirement=${BATON_BENCH_ANSIBLE:-ansible-core~=2.19.0}
python=${BATON_BENCH_PYTHON:-/usr/bin/python3}
[ -x "$python" ] || python=$(command -v python3)
if ! "$venv/bin/ansible-playbook" --version >/dev/null 2>&1; then
  echo "installing $requirement into $venv" >&2
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv --clear "$venv" ||
    { echo "cannot create a venv with $python (Debian: apt-get install python3-venv)" >&2; exit 1; }
  if ! "$venv/bin/pip" install --quiet "$requirement"; then
    rm -rf "$venv"
    echo "pip could not install $requirement" >&2
    exit 1
  fi
fi

# ansible.posix (sysctl, mount) is not in ansible-core. Galaxy may be out of
# reach, so it comes from the `ansible` package on PyPI (the collections that go
# with ansible-core 2.19), of which only ansible_collections/ansible/posix is kept.
collections=${BATON_BENCH_COLLECTIONS:-$(dirname "$venv")/ansible-collections}
if [ ! -f "$collections/ansible_collections/ansible/posix/MANIFEST.json" ]; then
  echo "installing the ansible.posix collection into $collections" >&2
  wheels=$(mktemp -d)
  if ! "$venv/bin/pip" download --quiet --no-deps --dest "$wheels" 'ansible~=12.0' ||
    ! "$venv/bin/python" - "$wheels" "$collections" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/ansible-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    for m in z.namelist():
        if m.startswith("ansible_collections/ansible/posix/"):
            z.extract(m, sys.argv[2])
PY
  then
    rm -rf "$wheels"
    echo "could not install the ansible.posix collection (pip download ansible~=12.0)" >&2
    exit 1
  fi
  rm -rf "$wheels"
fi
export ANSIBLE_COLLECTIONS_PATH=$collections
