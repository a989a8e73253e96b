//! `lanes statetest`: ethereum/tests GeneralStateTests through an executor (see
//! `lanes_cuda_evm::statetest`).

use lanes_conflict::{Executor, SequentialExecutor};
use lanes_cuda_evm::{GpuHostExecutor, statetest};

use crate::cli::{StatetestArgs, StatetestExecutor};

/// Runs the tests the arguments name, prints every failure and the summary, and fails if any
/// case failed.
pub fn run(args: &StatetestArgs) -> eyre::Result<()> {
    let host = (args.executor == StatetestExecutor::GpuHost).then(GpuHostExecutor::new);
    let executor: &dyn Executor = match &host {
        Some(host) => host,
        None => &SequentialExecutor,
    };
    let report = statetest::run(&args.paths, executor)?;
    for failure in &report.failed {
        println!("FAIL {}: {}", failure.id, failure.message);
    }
    if args.verbose {
        for skip in &report.skipped {
            println!("SKIP {}: {}", skip.id, skip.reason);
        }
    }
    if let Some(host) = &host {
        let stats = host.stats();
        println!(
            "gpu-host: {} waves, {} kernel runs, {} committed from the kernel, {} missing keys loaded, {} stale waves, {} invalid rechecked by revm",
            stats.waves,
            stats.kernel_runs,
            stats.committed,
            stats.missing_keys,
            stats.conflicts,
            stats.invalid_rechecked
        );
        println!(
            "gpu-host: {} transactions ran on the CPU instead: {:?}",
            stats.unsupported_total(),
            stats.unsupported
        );
    }
    println!("{} {}", executor.name(), report.summary());
    if !report.failed.is_empty() {
        eyre::bail!("{} state tests failed", report.failed.len());
    }
    Ok(())
}
