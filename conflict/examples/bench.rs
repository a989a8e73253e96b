//! Times the sequential and the parallel executor on one workload:
//! `cargo run --release -p lanes-conflict --example bench -- <raw|erc20|amm|mixed> [txs] [threads] [hot-ratio]`.
//!
//! With `LANES_PROFILE=seq|par[:runs]` it instead executes the block `runs` times with one
//! executor (for profilers) and prints the median and best execution time, and for the
//! parallel executor the median time of each phase of a block ([`lanes_conflict::PhaseTimes`]:
//! planning, waves, merging a wave into the block's state, fees and diff; and within the waves,
//! the committer's time and the speculative execution of all threads together). With
//! `LANES_PROFILE=cmp[:runs]` it alternates the sequential executor, the parallel one on one
//! thread, the parallel one on `threads` threads and the parallel one's committer alone (no
//! speculative waves, `with_max_rounds(0)`) on the same block, `runs` times each, and
//! prints, per executor, the median wall-clock time and the median CPU time (all threads, from
//! the scheduler's per-thread counters in `/proc` on Linux).
//! CPU time is what other load on the machine changes least, so the ratio of the two CPU times
//! is the figure to compare on a busy machine. It also prints the core-to-core round trip
//! before and after (`lanes_conflict::workloads::core_round_trip_ns`).
//!
//! With `LANES_FAST_BINS=ab` as well, the `seq`/`par` modes alternate glibc's fast bins off
//! (as `lanes_conflict::memory::configure_allocator` sets them) and on (glibc's default)
//! from block to block, the setting changed before the previous block's result is freed, and
//! print the quartiles of each: comparing within one process, block by block, separates
//! effects that runs of separate processes on a busy machine do not.

use lanes_conflict::{
    Executor, ParallelExecutor, SequentialExecutor,
    workloads::{WorkloadKind, core_round_trip_ns, run_bench},
};

fn main() {
    lanes_conflict::memory::configure_allocator();
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
        if which == "cmp" {
            compare(&w, txs, threads, runs);
            return;
        }
        let parallel = ParallelExecutor::new(threads);
        let executor: &dyn Executor = if which == "seq" {
            &SequentialExecutor
        } else {
            &parallel
        };
        let mut times = Vec::with_capacity(runs);
        let mut phases: [Vec<u64>; 6] = Default::default();
        let fast_bins_ab = std::env::var("LANES_FAST_BINS").is_ok_and(|v| v == "ab");
        // Block times with fast bins off and on (`LANES_FAST_BINS=ab`).
        let mut by_fast_bins: [Vec<f64>; 2] = Default::default();
        for run in 0..runs {
            let fast_bins = fast_bins_ab && run % 2 == 1;
            let start = std::time::Instant::now();
            let exec = executor
                .execute_block(&w.block, &w.txs, &w.genesis)
                .expect("execute");
            times.push(start.elapsed());
            by_fast_bins[usize::from(fast_bins)].push(start.elapsed().as_secs_f64() * 1e3);
            assert_eq!(exec.included.len(), txs);
            if fast_bins_ab {
                // What this block frees is sorted (or not) under the next block's setting.
                lanes_conflict::memory::set_fast_bins((run + 1) % 2 == 1);
            }
            drop(exec);
            if let Some(stats) = parallel.last_stats() {
                let p = stats.phases;
                for (list, ns) in phases.iter_mut().zip([
                    p.plan_ns,
                    p.waves_ns,
                    p.merge_ns,
                    p.diff_ns,
                    p.commit_ns,
                    p.speculate_ns,
                ]) {
                    list.push(ns);
                }
            }
        }
        if fast_bins_ab {
            lanes_conflict::memory::set_fast_bins(false);
            for (on, mut list) in by_fast_bins.into_iter().enumerate() {
                if list.is_empty() {
                    continue;
                }
                list.sort_by(f64::total_cmp);
                let at = |q: f64| list[((list.len() - 1) as f64 * q).round() as usize];
                println!(
                    "fast bins {}: {} blocks, quartiles {:.3} / {:.3} / {:.3} ms, best {:.3} ms",
                    if on == 1 { "on " } else { "off" },
                    list.len(),
                    at(0.25),
                    at(0.5),
                    at(0.75),
                    at(0.0)
                );
            }
        }
        times.sort();
        println!(
            "{which}: median {:?}, best {:?} per block (execution only)",
            times[runs / 2],
            times[0]
        );
        if which != "seq" {
            let median_ms = |mut v: Vec<u64>| {
                v.sort_unstable();
                v[v.len() / 2] as f64 / 1e6
            };
            let [plan, waves, merge, diff, commit, speculate] = phases.map(median_ms);
            println!(
                "phases (medians, ms): plan {plan:.3}, waves {waves:.3}, merge {merge:.3}, fees and diff {diff:.3}; \
                 in the waves, committer {commit:.3}, speculative execution (all threads) {speculate:.3}"
            );
        }
        return;
    }
    let r = run_bench(kind, txs, threads, lanes_conflict::workloads::DEFAULT_RUNS).expect("bench");
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

/// Alternates the sequential executor and the parallel one on one thread and on `threads`
/// threads, on `w`, `runs` times each, and prints the median wall-clock and CPU time per block
/// of each.
fn compare(w: &lanes_conflict::workloads::Workload, txs: usize, threads: usize, runs: usize) {
    let one = ParallelExecutor::new(1);
    let parallel = ParallelExecutor::new(threads);
    // The committer alone, in block order: what the parallel executor's own bookkeeping costs
    // without any speculation.
    let no_waves = ParallelExecutor::new(1).with_max_rounds(0);
    let executors: [&dyn Executor; 4] = [&SequentialExecutor, &one, &parallel, &no_waves];
    let mut wall: [Vec<f64>; 4] = Default::default();
    let mut cpu: [Vec<f64>; 4] = Default::default();
    let round_trip = || core_round_trip_ns(20_000).map_or("-".into(), |ns| format!("{ns:.0} ns"));
    let before = round_trip();
    for _ in 0..runs {
        for (i, executor) in executors.iter().enumerate() {
            let cpu_start = cpu_ns();
            let start = std::time::Instant::now();
            let exec = executor
                .execute_block(&w.block, &w.txs, &w.genesis)
                .expect("execute");
            wall[i].push(start.elapsed().as_secs_f64() * 1e3);
            cpu[i].push((cpu_ns() - cpu_start) as f64 / 1e6);
            assert_eq!(exec.included.len(), txs);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let wall = wall.map(|mut v| median(&mut v));
    let cpu = cpu.map(|mut v| median(&mut v));
    println!(
        "{txs} txs, {runs} runs each, medians per block: sequential wall {:.2} ms cpu {:.2} ms; \
         parallel on 1 thread wall {:.2} ms cpu {:.2} ms (cpu {:.3}x sequential); \
         on {threads} threads wall {:.2} ms cpu {:.2} ms (cpu {:.3}x sequential, speedup {:.2}x); \
         committer alone, no waves, wall {:.2} ms; core round trip {before} before, {} after",
        wall[0],
        cpu[0],
        wall[1],
        cpu[1],
        cpu[1] / cpu[0],
        wall[2],
        cpu[2],
        cpu[2] / cpu[0],
        wall[0] / wall[2],
        wall[3],
        round_trip(),
    );
}

/// CPU time of every thread of this process so far, in nanoseconds, from the scheduler's
/// per-thread counters (`/proc/self/task/*/schedstat`); zero where `/proc` lacks them.
fn cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|task| {
            let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
            stat.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum()
}
