#!/usr/bin/env python3
"""Runs `lanes bench --json` several times and groups the speedups by where the two cores sat.

Every `lanes bench` result carries the round trip of a cache line between the first two cores,
measured just before and just after its timed runs (`core_round_trip_ns`). On a virtual
machine the host moves the virtual cores about: onto two hardware threads of one core (a round
trip of about 30 ns, and the two threads share that core's execution units), onto two cores
near each other (about 70 ns), or onto cores far apart (about 430 ns). This script puts each
result in the group both of its probes agree on ("mixed" when they differ) and prints the
median speedup per workload and group, so that a change to the executor can be told apart
from a change of placement.

Usage (build first: cargo build --release -p lanes-sequencer --bin lanes):
    benches/scripts/executor_modes.py [--rounds N] [--profile P] [lanes bench arguments ...]
--profile picks the build: target/P/lanes (default release; maxperf after
`cargo build --profile maxperf -p lanes-sequencer --bin lanes`).
Default arguments: --txs 10000 --workload raw,erc20,amm.
"""

import json
import os
import statistics
import subprocess
import sys
from collections import defaultdict

GROUPS = [("same core", 0, 45), ("near", 45, 200), ("far", 200, float("inf"))]


def group(round_trip_ns):
    for name, low, high in GROUPS:
        if low <= round_trip_ns < high:
            return name
    return "unknown"


def main():
    args = sys.argv[1:]
    rounds = 10
    profile = "release"
    while args[:1] in (["--rounds"], ["--profile"]):
        if len(args) < 2:
            sys.exit(f"{args[0]} needs a value")
        if args[0] == "--rounds":
            if not args[1].isdigit() or int(args[1]) < 1:
                sys.exit("--rounds needs a positive whole number")
            rounds = int(args[1])
        else:
            profile = args[1]
        args = args[2:]
    if not args:
        args = ["--txs", "10000", "--workload", "raw,erc20,amm"]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))
    lanes = os.path.join(target, profile, "lanes")
    if not os.path.exists(lanes):
        sys.exit(f"{lanes} not found: cargo build --profile {profile} -p lanes-sequencer --bin lanes")
    speedups = defaultdict(list)
    order = []
    for r in range(rounds):
        print(f"round {r + 1} of {rounds} ...", file=sys.stderr)
        out = subprocess.run(
            [lanes, "bench", "--json", *args], capture_output=True, text=True, check=True
        ).stdout
        for line in out.splitlines():
            if not line.startswith("{"):
                continue
            result = json.loads(line)
            probes = result.get("core_round_trip_ns") or []
            groups = {group(ns) for ns in probes}
            where = groups.pop() if len(groups) == 1 else "mixed"
            key = (result["workload"], where)
            if result["workload"] not in order:
                order.append(result["workload"])
            speedups[key].append(result["speedup"])
            print(
                f"  {result['workload']:<22} {result['speedup']:.2f}x  "
                f"round trip {'/'.join(f'{ns:.0f}' for ns in probes) or '-'} ns ({where})",
                file=sys.stderr,
            )
    print(f"{'workload':<22} {'cores':<10} {'runs':>4} {'median':>7} {'min':>6} {'max':>6}")
    for workload in order:
        for where in [g[0] for g in GROUPS] + ["mixed", "unknown"]:
            values = speedups.get((workload, where))
            if values:
                print(
                    f"{workload:<22} {where:<10} {len(values):>4} "
                    f"{statistics.median(values):>6.2f}x {min(values):>5.2f}x {max(values):>5.2f}x"
                )


if __name__ == "__main__":
    main()
