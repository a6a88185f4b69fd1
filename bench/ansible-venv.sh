# Sourced by the bench scripts that run real ansible-core: builds its venv
# once and reuses it. Sets `venv` (the venv's directory).
#   BATON_BENCH_VENV      ansible-core venv, reused when present
#                         [default: ~/.cache/baton-bench/ansible-venv]
#   BATON_BENCH_ANSIBLE   pip requirement [default: ansible-core~=2.19.0]
#   BATON_BENCH_PYTHON    interpreter that builds the venv [default: /usr/bin/python3]
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
