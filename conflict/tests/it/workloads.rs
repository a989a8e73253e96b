//! The benchmark workloads pass their own end-state checks under both executors, and the
//! parallel executor's result equals the sequential one's.

use lanes_conflict::{
    BlockExecution, Executor, ParallelExecutor, SequentialExecutor,
    workloads::{self, Workload, contracts},
};

fn run_both(
    w: &Workload,
    threads: usize,
) -> (BlockExecution, BlockExecution, lanes_conflict::ExecStats) {
    let seq = SequentialExecutor
        .execute_block(&w.block, &w.txs, &w.genesis)
        .unwrap();
    w.check(&seq)
        .unwrap_or_else(|e| panic!("{}: sequential: {e}", w.name));
    let par = ParallelExecutor::new(threads);
    let (exec, stats) = par
        .execute_block_with_stats(&w.block, &w.txs, &w.genesis)
        .unwrap();
    w.check(&exec)
        .unwrap_or_else(|e| panic!("{}: parallel: {e}", w.name));
    // The phase timers cover the block: waves and the diff always run, and a merge only when
    // a wave is followed by another.
    let phases = &stats.phases;
    assert!(phases.waves_ns > 0 && phases.diff_ns > 0, "{phases:?}");
    // The committer works within the waves, on one thread; speculation on all of them, and
    // on the pool's threads also while a wave is planned (early work, which a thread the
    // machine deschedules may finish after the plan is published, but always before it joins
    // the wave).
    assert!(
        phases.commit_ns > 0 && phases.commit_ns <= phases.waves_ns,
        "{phases:?}"
    );
    assert!(
        phases.speculate_ns <= threads as u64 * (phases.plan_ns + phases.waves_ns),
        "{phases:?}"
    );
    if stats.waves == 1 {
        assert_eq!(phases.merge_ns, 0, "{phases:?}");
    }
    (seq, exec, stats)
}

#[test]
fn selectors_match_signatures() {
    let selector = |sig: &str| <[u8; 4]>::try_from(&alloy_primitives::keccak256(sig)[..4]).unwrap();
    assert_eq!(
        selector("transfer(address,uint256)"),
        contracts::TRANSFER_SELECTOR
    );
    assert_eq!(
        selector("balanceOf(address)"),
        contracts::BALANCE_OF_SELECTOR
    );
    assert_eq!(selector("swap(uint256,bool)"), contracts::SWAP_SELECTOR);
}

#[test]
fn signatures_recover_to_sender() {
    use alloy_consensus::transaction::SignerRecoverable;
    let w = workloads::raw_transfers(4);
    for tx in &w.txs {
        assert_eq!(tx.inner().recover_signer().unwrap(), tx.signer());
    }
}

#[test]
fn raw_transfers_match() {
    let w = workloads::raw_transfers(300);
    let (seq, par, stats) = run_both(&w, 2);
    assert_eq!(seq, par);
    assert_eq!(stats.conflicts, 0, "{stats:?}");
}

#[test]
fn erc20_transfers_match() {
    // 300 holders: transfers wrap after 150, forming nonce chains and repeated recipients.
    let w = workloads::erc20_transfers_among(400, 300);
    let (seq, par, _) = run_both(&w, 2);
    assert_eq!(seq, par);
}

/// Every sender appears twice, 500 positions apart: the second transactions wait for a
/// second wave instead of running as lanes with the first.
#[test]
fn erc20_distant_nonce_chains_are_deferred() {
    let w = workloads::erc20_transfers_among(1_200, 1_000);
    let (seq, par, stats) = run_both(&w, 2);
    assert_eq!(seq, par);
    assert!(stats.deferred > 0, "{stats:?}");
    assert!(stats.waves >= 2, "{stats:?}");
    assert_eq!(stats.conflicts, 0, "{stats:?}");
}

/// Ten senders, 400 transfers each, interleaved: lanes of close nonce chains. While the wave is
/// planned, the pool's thread executes the first transactions as singles; those are lane
/// members, so they run again with their lanes, and their early results (published in the
/// same slots) must not change the block. Whether the pool's thread gets to run before the
/// plan is ready depends on the scheduler, so the block is executed until it did (once is
/// nearly always enough; every execution is compared).
#[test]
fn lane_members_executed_while_planning_run_again_with_their_lanes() {
    let w = workloads::erc20_transfers_among(4_000, 20);
    let seq = SequentialExecutor
        .execute_block(&w.block, &w.txs, &w.genesis)
        .unwrap();
    let par = ParallelExecutor::new(2);
    let mut early = 0;
    // For up to twenty seconds: on a loaded machine (two CPU hogs on two cores) the pool's
    // thread missed the planning window, a fraction of a millisecond, in a hundred blocks in a
    // row.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        let (exec, stats) = par
            .execute_block_with_stats(&w.block, &w.txs, &w.genesis)
            .unwrap();
        assert_eq!(seq, exec, "{stats:?}");
        // Early results of lane members must not reach the committer before their lanes'.
        assert_eq!(stats.conflicts, 0, "{stats:?}");
        assert_eq!(stats.waves, 1, "{stats:?}");
        early = stats.early;
        if early > 0 {
            assert!(stats.speculative >= w.txs.len() + early, "{stats:?}");
            break;
        }
    }
    assert!(
        early > 0,
        "the pool's thread never ran while a wave was planned"
    );
}

#[test]
fn amm_swaps_match() {
    let w = workloads::amm_swaps(300);
    let (seq, par, _) = run_both(&w, 2);
    assert_eq!(seq, par);
}

/// A fully conflicting block on a fresh executor: the first wave gives up after a few
/// conflicts, learns the pool is hot, and the committer executes the rest in order. The next
/// block routes every swap to it from the start, with no speculative run at all.
#[test]
fn amm_pool_is_learned_hot() {
    let w = workloads::amm_swaps(200);
    let expected = SequentialExecutor
        .execute_block(&w.block, &w.txs, &w.genesis)
        .unwrap();
    let parallel = ParallelExecutor::new(2);
    let (first, stats) = parallel
        .execute_block_with_stats(&w.block, &w.txs, &w.genesis)
        .unwrap();
    assert_eq!(first, expected);
    assert!(stats.per_wave[0].aborted, "{stats:#?}");
    // How many speculative results the other thread computes before the abort reaches it
    // depends on scheduling (on a loaded machine, all of them); what the committer finalized
    // before giving up does not.
    assert!(
        stats.per_wave[0].finalized <= 10,
        "the first wave stops early: {stats:#?}"
    );
    assert!(stats.hot >= 150, "{stats:#?}");
    assert!(
        parallel
            .hot_keys()
            .entries()
            .iter()
            .any(|e| e.target == workloads::AMM),
        "{:?}",
        parallel.hot_keys()
    );
    let (second, stats) = parallel
        .execute_block_with_stats(&w.block, &w.txs, &w.genesis)
        .unwrap();
    assert_eq!(second, expected);
    assert_eq!(
        (stats.waves, stats.hot, stats.speculative, stats.conflicts),
        (1, 200, 0, 0),
        "{stats:#?}"
    );
}

/// Hot calls of the mixed workload go to the committer, the rest run in parallel without
/// conflicts once the counter is known to be hot.
#[test]
fn mixed_routes_hot_calls() {
    let w = workloads::mixed(400, 0.25);
    let expected = SequentialExecutor
        .execute_block(&w.block, &w.txs, &w.genesis)
        .unwrap();
    let parallel = ParallelExecutor::new(2);
    parallel
        .execute_block(&w.block, &w.txs, &w.genesis)
        .unwrap();
    let (exec, stats) = parallel
        .execute_block_with_stats(&w.block, &w.txs, &w.genesis)
        .unwrap();
    assert_eq!(exec, expected);
    assert_eq!(
        (stats.hot, stats.conflicts, stats.speculative),
        (100, 0, 300),
        "{stats:#?}"
    );
}

/// Transfers between distinct holders never make the token a hot target, even when senders
/// repeat (nonce chains) and pairs repeat (the same balance slots).
#[test]
fn erc20_token_stays_cold() {
    let w = workloads::erc20_transfers_among(400, 300);
    let parallel = ParallelExecutor::new(2);
    for _ in 0..3 {
        let (_, stats) = parallel
            .execute_block_with_stats(&w.block, &w.txs, &w.genesis)
            .unwrap();
        assert_eq!((stats.hot, stats.conflicts), (0, 0), "{stats:#?}");
    }
    assert!(
        parallel
            .hot_keys()
            .entries()
            .iter()
            .all(|e| e.target != workloads::TOKEN),
        "{:?}",
        parallel.hot_keys()
    );
}

#[test]
fn mixed_matches() {
    for ratio in [0.0, 0.1, 0.5, 1.0] {
        let w = workloads::mixed(300, ratio);
        let (seq, par, _) = run_both(&w, 3);
        assert_eq!(seq, par, "hot ratio {ratio}");
    }
}

/// The core-to-core probe answers wherever two cores can be pinned, with a plausible time, and
/// ends within its time budget even while other tests keep the cores busy.
#[test]
fn core_round_trip_is_measured_within_its_budget() {
    let start = std::time::Instant::now();
    let round_trip = workloads::core_round_trip_ns(u32::MAX);
    assert!(
        start.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if cfg!(all(target_os = "linux", target_env = "gnu")) && cores > 1 {
        let ns = round_trip.expect("two cores to pin");
        assert!(ns.is_finite() && ns > 1.0, "{ns} ns");
    }
}
