//! Times the sequential and the parallel executor on one workload:
//! `cargo run --release -p lanes-conflict --example bench -- <raw|erc20|amm|mixed> [txs] [threads] [hot-ratio]`.
//!
//! With `LANES_PROFILE=seq|par[:runs]` it instead executes the block `runs` times with one
//! executor (for profilers) and prints the median and best execution time.

use lanes_conflict::{
    Executor, ParallelExecutor, SequentialExecutor,
    workloads::{WorkloadKind, run_bench},
};

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "raw".into());
    let txs = args.next().map_or(10_000, |s| s.parse().expect("txs"));
    let threads = args.next().map_or_else(
        || std::thread::available_parallelism().map_or(2, |n| n.get()),
        |s| s.parse().expect("threads"),
    );
    let mut kind: WorkloadKind = name.parse().expect("workload");
    if let (WorkloadKind::Mixed { .. }, Some(ratio)) = (kind, args.next()) {
        kind = WorkloadKind::Mixed {
            hot_ratio: ratio.parse().expect("hot ratio"),
        };
    }
    if let Ok(mode) = std::env::var("LANES_PROFILE") {
        let (which, runs) = mode.split_once(':').unwrap_or((mode.as_str(), "20"));
        let runs: usize = runs.parse::<usize>().expect("runs").max(1);
        let w = kind.generate(txs);
        let executor: Box<dyn Executor> = if which == "seq" {
            Box::new(SequentialExecutor)
        } else {
            Box::new(ParallelExecutor::new(threads))
        };
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let start = std::time::Instant::now();
            let exec = executor
                .execute_block(&w.block, &w.txs, &w.genesis)
                .expect("execute");
            times.push(start.elapsed());
            assert_eq!(exec.included.len(), txs);
        }
        times.sort();
        println!(
            "{which}: median {:?}, best {:?} per block (execution only)",
            times[runs / 2],
            times[0]
        );
        return;
    }
    let r = run_bench(kind, txs, threads).expect("bench");
    println!(
        "{}: {} txs, {} threads: sequential {:.0} tx/s {:.3e} gas/s, parallel {:.0} tx/s {:.3e} gas/s, speedup {:.2}x",
        r.workload,
        r.txs,
        r.threads,
        r.sequential_tx_per_s,
        r.sequential_gas_per_s,
        r.parallel_tx_per_s,
        r.parallel_gas_per_s,
        r.speedup
    );
    println!("{:?}", r.parallel_stats);
}
