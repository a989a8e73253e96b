//! The host-build executor on the conflict crate's workloads, against revm: independent
//! transfers, token transfers, a fully contended AMM pool (every wave conflicts) and a mix; and
//! with the round bound at 1 and 0, so that the sequential fallback runs too. Each block must
//! pass its workload's own end-state check and equal `SequentialExecutor`'s result.

use lanes_conflict::{Executor, SequentialExecutor, workloads};
use lanes_cuda_evm::{Geometry, GpuHostExecutor, HostBackend, WaveExecutor};

fn check(executor: &GpuHostExecutor, workload: &workloads::Workload) {
    let expected = SequentialExecutor
        .execute_block(&workload.block, &workload.txs, &workload.genesis)
        .unwrap();
    let got = executor
        .execute_block(&workload.block, &workload.txs, &workload.genesis)
        .unwrap();
    workload
        .check(&got)
        .unwrap_or_else(|e| panic!("{}: {e}", workload.name));
    assert_eq!(got.included, expected.included, "{}", workload.name);
    assert_eq!(got.skipped, expected.skipped, "{}", workload.name);
    assert_eq!(got.gas_used, expected.gas_used, "{}", workload.name);
    assert_eq!(got.diff, expected.diff, "{}", workload.name);
}

fn all() -> Vec<workloads::Workload> {
    vec![
        workloads::raw_transfers(300),
        workloads::erc20_transfers(300),
        workloads::amm_swaps(60),
        workloads::mixed(300, 0.3),
    ]
}

#[test]
fn workloads_match_revm() {
    let host = GpuHostExecutor::new();
    for workload in all() {
        check(&host, &workload);
    }
    let stats = host.stats();
    assert_eq!(stats.unsupported_total(), 0, "{stats:?}");
    assert!(stats.committed > 0 && stats.conflicts > 0, "{stats:?}");
}

#[test]
fn small_waves_and_the_sequential_fallback_match_revm() {
    let small = Geometry {
        max_wave_txs: 7,
        ..Geometry::default()
    };
    for rounds in [0, 1] {
        let host =
            WaveExecutor::with_backend(HostBackend::default(), small).with_max_rounds(rounds);
        for workload in all() {
            check(&host, &workload);
        }
        if rounds == 0 {
            assert_eq!(host.stats().kernel_runs, 0);
        } else {
            assert!(host.stats().sequential_fallback > 0, "{:?}", host.stats());
        }
    }
}
