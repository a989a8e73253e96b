#!/usr/bin/env bash
# THE test command: set-up, release build, Rust tests (nextest), then the end-to-end suites
# against the real node with real clients (node --test: cast, viem, bad input, crash; pytest:
# web3.py). Every runner runs even if an earlier one failed; the exit status is non-zero if
# anything failed. Under CI the cargo target dir is ~/.cache/lanes-target, reused across runs.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh || { echo "test: set-up failed" >&2; exit 1; }

if [ -n "${CI:-}" ] && [ -z "${CARGO_TARGET_DIR:-}" ]; then
  export CARGO_TARGET_DIR="$HOME/.cache/lanes-target"
fi
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

results=()
failed=0
record() { # name status
  if [ "$2" -eq 0 ]; then results+=("ok      $1"); else results+=("FAILED  $1 (exit $2)"); failed=1; fi
}

echo "== cargo build --release -p lanes-sequencer"
cargo build --release -p lanes-sequencer --bin lanes
build=$?
record "cargo build --release" "$build"

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "== cargo install --locked cargo-nextest"
  cargo install --locked cargo-nextest || { echo "test: cannot install cargo-nextest" >&2; exit 1; }
fi
echo "== node contracts/check.mjs (committed artifacts match the Solidity sources)"
node contracts/check.mjs
record "contracts: artifacts fresh" $?

echo "== cargo nextest run --workspace --release"
cargo nextest run --workspace --release --no-tests=warn
record "cargo nextest" $?

if [ "$build" -eq 0 ]; then
  echo "== node --test tests/e2e"
  node --test --test-reporter=spec --test-concurrency=1 tests/e2e/*.test.mjs
  record "e2e: node --test (cast, viem, bad input, crash)" $?

  echo "== pytest tests/e2e (web3.py)"
  .venv/bin/python -m pytest tests/e2e -q
  record "e2e: pytest (web3.py)" $?
else
  record "e2e suites (not run: no node binary)" 1
fi

echo "== summary"
printf '  %s\n' "${results[@]}"
exit "$failed"
