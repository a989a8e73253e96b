#!/usr/bin/env bash
# Block-production latency while the node proves batches on the same machine: the same load
# (lanes-loadgen, 60,000 transactions at 3,000/s, half ETH and half ERC-20 transfers) against a
# dev node with its own anvil L1 and --prover off, --prover on at --prover.nice 0, and --prover
# on at the default --prover.nice 10. Prints one loadgen JSON line per mode and how many proofs
# ran. Build first: cargo build --release -p lanes-sequencer --bin lanes -p lanes-benches --bin lanes-loadgen
set -u
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${CARGO_TARGET_DIR:-$root/target}/release"
port="${PORT:-18545}"
for mode in "off" "on 0" "on 10"; do
  set -- $mode
  dir="$(mktemp -d /tmp/lanes-prover-latency.XXXXXX)"
  args=(node --dev --datadir "$dir/data" --http.port "$port" --block-time 250ms --prover "$1")
  [ -n "${2:-}" ] && args+=(--prover.nice "$2")
  "$bin/lanes" "${args[@]}" >"$dir/node.log" 2>&1 &
  pid=$!
  for _ in $(seq 120); do
    curl -s -m1 -X POST -H 'content-type: application/json' \
      --data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "http://127.0.0.1:$port" >/dev/null && break
    sleep 0.5
  done
  echo "== --prover $1${2:+ --prover.nice $2}"
  "$bin/lanes-loadgen" --rpc "http://127.0.0.1:$port" --ws "ws://127.0.0.1:$port" \
    --txs 60000 --rate 3000 --accounts 200 --mix both --json 2>/dev/null | tail -n 1
  echo "proofs finished during the run: $(grep -c 'batch proven' "$dir/node.log")"
  kill "$pid"; wait "$pid" 2>/dev/null
  rm -rf "$dir"
done
