//! Criterion benches of the block executors: sequential revm against the parallel CPU
//! executor, on the workloads of `lanes_conflict::workloads` (the ones `lanes bench` runs).
//!
//! ```text
//! cargo bench -p lanes-benches --bench executors
//! LANES_BENCH_TXS=2000 cargo bench -p lanes-benches --bench executors -- erc20
//! ```
//!
//! Each group is one workload (raw transfers between distinct accounts, ERC-20 transfers among
//! 10k holders, swaps on one AMM pool, and the mix at hot ratios 0.1, 0.3 and 0.6) with
//! `LANES_BENCH_TXS` transactions (10,000 unless set); its throughput is in transactions per
//! second. Before timing, both executors run the block once and must reach the workload's
//! end state with identical executions. The parallel executor is one instance per group, as
//! in a node, so its hot-key table has seen the earlier blocks. `lanes bench --json` reports
//! the same comparison with gas per second and the speedup of one run.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use lanes_conflict::{Executor, ParallelExecutor, SequentialExecutor, workloads::WorkloadKind};

fn txs() -> usize {
    std::env::var("LANES_BENCH_TXS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000)
}

fn workloads() -> Vec<(String, WorkloadKind)> {
    let mut kinds = vec![
        ("raw".to_owned(), WorkloadKind::Raw),
        ("erc20".to_owned(), WorkloadKind::Erc20),
        ("amm".to_owned(), WorkloadKind::Amm),
    ];
    for hot_ratio in [0.1, 0.3, 0.6] {
        kinds.push((
            format!("mixed-hot-{hot_ratio}"),
            WorkloadKind::Mixed { hot_ratio },
        ));
    }
    kinds
}

fn executors(c: &mut Criterion) {
    lanes_conflict::memory::configure_allocator();
    let n = txs();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    for (name, kind) in workloads() {
        let w = kind.generate(n);
        let parallel = ParallelExecutor::new(threads);
        let checked = |executor: &dyn Executor, reference| {
            w.execute_checked(executor, reference)
                .unwrap_or_else(|e| panic!("{}: {e}", w.name))
        };
        let reference = checked(&SequentialExecutor, None);
        checked(&parallel, Some(&reference));
        drop(reference);

        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(n as u64));
        group.sample_size(10);
        let executors: [(BenchmarkId, &dyn Executor); 2] = [
            (BenchmarkId::new("sequential", 1), &SequentialExecutor),
            (BenchmarkId::new("cpu-parallel", threads), &parallel),
        ];
        for (id, executor) in executors {
            group.bench_function(id, |b| {
                b.iter(|| {
                    black_box(
                        executor
                            .execute_block(&w.block, &w.txs, &w.genesis)
                            .expect("checked above"),
                    )
                });
            });
        }
        group.finish();
    }
}

// The macro generates an undocumented `pub fn benches`.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::executors);
}
criterion_main!(group::benches);
