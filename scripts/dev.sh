#!/usr/bin/env bash
# Runs a dev node: `./scripts/dev.sh [--datadir DIR] [--http.port PORT] [--block-time 250ms] ...`
# (chain id 1337, 10 prefunded accounts from the `test ... junk` mnemonic).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
exec cargo run --release -p lanes-sequencer --bin lanes -- node --dev "$@"
