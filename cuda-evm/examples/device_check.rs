//! The device path (`gpu`) against revm, on a machine with a CUDA device: GeneralStateTests
//! through [`statetest::run`] (root, logs hash, and the whole result equal to the sequential
//! executor's) and the conflict crate's workloads (outcomes and state diff equal to revm's).
//!
//! `cargo run --release -p lanes-cuda-evm --example device_check -- [test paths...]`; with no
//! path, only the workloads run. Exits 1 if anything differs, 2 if the device path cannot
//! start (it says what is missing).

use std::path::PathBuf;

use lanes_conflict::{Executor, SequentialExecutor, workloads};
use lanes_cuda_evm::{GpuExecutor, statetest};

fn main() {
    let paths: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    let gpu = match GpuExecutor::new() {
        Ok(gpu) => gpu,
        Err(e) => {
            eprintln!("the device path cannot start: {e}");
            std::process::exit(2);
        }
    };
    println!("device: {:?}", gpu.backend().device());
    let mut failed = false;
    for workload in [
        workloads::raw_transfers(2000),
        workloads::erc20_transfers(2000),
        workloads::amm_swaps(200),
        workloads::mixed(2000, 0.3),
    ] {
        let expected = SequentialExecutor
            .execute_block(&workload.block, &workload.txs, &workload.genesis)
            .expect("sequential executes");
        let got = gpu
            .execute_block(&workload.block, &workload.txs, &workload.genesis)
            .expect("device executes");
        let same = got == expected;
        let check = workload.check(&got);
        println!(
            "workload {}: {} transactions, equal to revm: {same}, end-state check: {check:?}",
            workload.name,
            workload.txs.len()
        );
        failed |= !same || check.is_err();
    }
    if !paths.is_empty() {
        let report = statetest::run(&paths, &gpu).expect("test files readable");
        for failure in report.failed.iter().take(20) {
            println!("FAIL {}: {}", failure.id, failure.message);
        }
        println!("gpu: {}", report.summary());
        failed |= !report.failed.is_empty();
    }
    println!("gpu: {:?}", gpu.stats());
    if failed {
        std::process::exit(1);
    }
}
