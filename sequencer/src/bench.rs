//! `lanes bench`: the executors on the workloads of `lanes_conflict::workloads`.

use lanes_conflict::workloads::{BenchResult, WorkloadKind, run_bench};

use crate::cli::BenchArgs;

/// Runs the benchmarks the arguments ask for and prints the results.
pub fn run(args: &BenchArgs) -> eyre::Result<()> {
    if let Some(crate::cli::BenchTarget::Prover(p)) = &args.target {
        return run_prover(p);
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let mut kinds = Vec::new();
    for name in &args.workload {
        match name.parse::<WorkloadKind>().map_err(|e| eyre::eyre!(e))? {
            WorkloadKind::Mixed { .. } => {
                for &hot_ratio in &args.hot_ratio {
                    if !(0.0..=1.0).contains(&hot_ratio) {
                        eyre::bail!("--hot-ratio {hot_ratio} is outside [0, 1]");
                    }
                    kinds.push(WorkloadKind::Mixed { hot_ratio });
                }
            }
            kind => kinds.push(kind),
        }
    }
    if !args.json {
        println!(
            "machine: {} logical cores; parallel executor threads: {threads}; core rt: the round \
             trip of a cache line between two cores before/after the timed runs",
            cores()
        );
        println!(
            "{:<24} {:>7} {:>14} {:>14} {:>12} {:>12} {:>8} {:>13}",
            "workload",
            "txs",
            "seq Mgas/s",
            "par Mgas/s",
            "seq tx/s",
            "par tx/s",
            "speedup",
            "core rt ns"
        );
    }
    for kind in kinds {
        if !args.json {
            eprintln!("running {kind} with {} transactions ...", args.txs);
        }
        let result = run_bench(kind, args.txs, threads, args.runs)?;
        print(&result, args.json)?;
    }
    Ok(())
}

/// `lanes bench prover`: every (updates, data bytes, backend) combination, one report each.
fn run_prover(args: &crate::cli::ProverBenchArgs) -> eyre::Result<()> {
    let mut backends = Vec::new();
    for name in &args.backend {
        backends.push(
            lanes_prover::Backend::from_name(name).ok_or_else(|| {
                eyre::eyre!("unknown prover backend `{name}` (cpu, gpu-host, cuda)")
            })?,
        );
    }
    if !args.json {
        println!(
            "machine: {} logical cores; portable build unless RUSTFLAGS said otherwise",
            cores()
        );
        println!(
            "{:>8} {:>10} {:<9} {:<9} {:>9} {:>9} {:>11} {:>12} {:>9}",
            "updates",
            "data B",
            "backend",
            "security",
            "prove s",
            "verify s",
            "peak MB",
            "proof B",
            "verified"
        );
    }
    for &updates in &args.updates {
        for &data_bytes in &args.data_bytes {
            for &backend in &backends {
                if !args.json {
                    eprintln!(
                        "proving {updates} updates + {data_bytes} bytes on {} ...",
                        backend.name()
                    );
                }
                // VmHWM is per process: reset it so each run reports its own peak (Linux
                // >= 4.0; elsewhere the figure includes earlier runs).
                let _ = std::fs::write("/proc/self/clear_refs", "5");
                let opts = lanes_prover::bench::BenchOptions {
                    updates,
                    data_bytes,
                    state_keys: args.state_keys,
                    security: args.security.into(),
                    backend,
                    seed: args.seed,
                };
                let r = lanes_prover::bench::run(&opts).map_err(|e| eyre::eyre!(e))?;
                if args.json {
                    let mut value = serde_json::to_value(&r)?;
                    if let Some(obj) = value.as_object_mut() {
                        obj.insert("machine_cores".into(), cores().into());
                    }
                    println!("{value}");
                } else {
                    println!(
                        "{:>8} {:>10} {:<9} {:<9} {:>9.2} {:>9.3} {:>11.0} {:>12} {:>9}",
                        r.updates,
                        r.data_bytes,
                        r.backend,
                        r.security,
                        r.prove_s,
                        r.verify_s,
                        r.peak_mem_bytes as f64 / 1e6,
                        r.proof_bytes,
                        r.verified
                    );
                }
            }
        }
    }
    Ok(())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

fn print(r: &BenchResult, json: bool) -> eyre::Result<()> {
    if json {
        let mut value = serde_json::to_value(r)?;
        if let Some(obj) = value.as_object_mut() {
            obj.insert("machine_cores".into(), cores().into());
        }
        println!("{value}");
    } else {
        let round_trip = r
            .core_round_trip_ns
            .map_or_else(|| "-".into(), |[a, b]| format!("{a:.0}/{b:.0}"));
        println!(
            "{:<24} {:>7} {:>14.1} {:>14.1} {:>12.0} {:>12.0} {:>7.2}x {:>13}",
            r.workload,
            r.txs,
            r.sequential_gas_per_s / 1e6,
            r.parallel_gas_per_s / 1e6,
            r.sequential_tx_per_s,
            r.parallel_tx_per_s,
            r.speedup,
            round_trip
        );
    }
    Ok(())
}
