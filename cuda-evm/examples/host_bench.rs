//! Host-build throughput against revm on the conflict crate's workloads, same block, both end
//! states checked, median of 3 runs each:
//! `cargo run --release -p lanes-cuda-evm --example host_bench -- [txs]`.
//!
//! The host build runs the GPU kernels' code on CPU threads (rayon, one call per transaction);
//! the ratio says how the kernels' code compares with revm on a CPU, not what the device does.

use std::time::{Duration, Instant};

use lanes_conflict::{Executor, SequentialExecutor, workloads};
use lanes_cuda_evm::GpuHostExecutor;

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

/// Statistics of one block (the warm-up run's).
fn per_block(stats: &lanes_cuda_evm::GpuStats) -> String {
    format!(
        "per block: {} waves, {} kernel runs, {} missing keys, {} stale waves, {} on the CPU",
        stats.waves,
        stats.kernel_runs,
        stats.missing_keys,
        stats.conflicts,
        stats.unsupported_total()
    )
}

fn main() {
    let txs: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(5_000);
    let threads = rayon::current_num_threads();
    println!("host build vs revm, {txs} transactions per block, {threads} rayon threads");
    for workload in [
        workloads::raw_transfers(txs),
        workloads::erc20_transfers(txs),
    ] {
        let mut seq_runs = Vec::new();
        let mut host_runs = Vec::new();
        // One executor for all runs, as a node keeps one: its buffers are allocated (and their
        // pages faulted in) by a warm-up run that is not timed.
        let host = GpuHostExecutor::new();
        host.execute_block(&workload.block, &workload.txs, &workload.genesis)
            .expect("host build executes");
        let warm = host.stats();
        for _ in 0..3 {
            let start = Instant::now();
            let expected = SequentialExecutor
                .execute_block(&workload.block, &workload.txs, &workload.genesis)
                .expect("sequential executes");
            seq_runs.push(start.elapsed());
            workload.check(&expected).expect("sequential end state");

            let start = Instant::now();
            let got = host
                .execute_block(&workload.block, &workload.txs, &workload.genesis)
                .expect("host build executes");
            host_runs.push(start.elapsed());
            workload.check(&got).expect("host build end state");
            assert_eq!(got.included, expected.included, "outcomes differ");
        }
        let (seq, host) = (median(seq_runs), median(host_runs));
        let rate = |d: Duration| txs as f64 / d.as_secs_f64();
        println!(
            "{:6}  revm sequential {:>9.0} tx/s   gpu-host {:>9.0} tx/s   ratio {:.3}   ({})",
            workload.name,
            rate(seq),
            rate(host),
            rate(host) / rate(seq),
            per_block(&warm)
        );
    }
}
