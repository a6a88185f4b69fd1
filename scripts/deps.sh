#!/usr/bin/env bash
# Installs, when missing, the Debian packages baton's tests and lab need.
# Idempotent: a machine that has everything installs nothing.
set -euo pipefail

need=()
command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v ping >/dev/null 2>&1 || need+=(iputils-ping)
command -v arping >/dev/null 2>&1 || need+=(iputils-arping)
command -v crontab >/dev/null 2>&1 || need+=(cron)
# setpriv: hvrenv runs HVR as the HVR user (the lab nodes share /usr with this machine).
{ command -v unshare && command -v flock && command -v setsid && command -v setpriv; } >/dev/null 2>&1 || need+=(util-linux)
# sudo (and its visudo): baton's become, and the HVR boot's VIP add as the DBMS owner.
{ command -v sudo && { command -v visudo || [ -x /usr/sbin/visudo ]; }; } >/dev/null 2>&1 || need+=(sudo)
# Node-side tools of unarchive, get_url/uri and git (the lab nodes share
# /usr with this machine); zip only builds the zip archive of a test.
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v unzip >/dev/null 2>&1 || need+=(unzip)
command -v zip >/dev/null 2>&1 || need+=(zip)
command -v xz >/dev/null 2>&1 || need+=(xz-utils)
command -v bzip2 >/dev/null 2>&1 || need+=(bzip2)
command -v git >/dev/null 2>&1 || need+=(git)
# tests/process_budget.rs counts the processes a task starts with strace.
command -v strace >/dev/null 2>&1 || need+=(strace)
# The pip tests build a virtualenv (`python3 -m venv`, which needs ensurepip)
# and install a wheel built at test time; the apt tests build a .deb with
# dpkg-deb (part of dpkg) and user/group use the shadow tools (passwd).
command -v python3 >/dev/null 2>&1 || need+=(python3)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)
command -v useradd >/dev/null 2>&1 || need+=(passwd)
# Headless Chromium: tests/drill_html.rs renders drill.html in it (~34 s to
# install, 25 packages with --no-install-recommends).
command -v chromium >/dev/null 2>&1 || need+=(chromium)

if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "baton: missing packages: ${need[*]} (run as root, or: apt-get install -y ${need[*]})" >&2
    exit 1
  fi
  echo "baton: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  for dir in "$HOME/.cargo/bin" /root/.cargo/bin; do
    if [ -x "$dir/cargo" ]; then export PATH="$dir:$PATH"; break; fi
  done
fi
command -v cargo >/dev/null 2>&1 || { echo "baton: cargo (the Rust toolchain) is required" >&2; exit 1; }
