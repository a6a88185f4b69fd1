#!/usr/bin/env bash
# The test command: installs what the tests need, checks formatting and
# lints, then runs every test (unit, integration, SSH, lab) once.
set -euo pipefail
cd "$(dirname "$0")/.."
# Tests write files and expect error snippets for them: a file not readable
# by others shows no lines in an error (README), so a umask of 077 would hide them.
umask 022
source scripts/deps.sh

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  mkdir -p target
  set +e
  cargo test --workspace --no-fail-fast 2>&1 | tee target/test-output.txt
  status=${PIPESTATUS[0]}
  set -e
  passed=$(grep -Eo '[0-9]+ passed' target/test-output.txt | awk '{s+=$1} END {print s+0}')
  failed=$(grep -Eo '[0-9]+ failed' target/test-output.txt | awk '{s+=$1} END {print s+0}')
  echo "${passed} passed, ${failed} failed"
  [ "$failed" = 0 ] && [ "$status" = 0 ]
fi
