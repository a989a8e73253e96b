//! The parallel CPU executor: optimistic waves over lanes, validated and committed in block
//! order.
//!
//! A block runs as one or a few *waves*. A wave snapshots the committed state and groups the
//! pending transactions into lanes ([`crate::hints`]). Every thread (the caller's and those of
//! a dedicated rayon pool) takes units of work in block order, a batch of single transactions
//! or of whole lanes, and runs them with revm against the snapshot through a recording
//! database ([`crate::access`]), which records each value read; a lane's later transactions also see its earlier ones'
//! writes. revm runs with a handler that records the beneficiary's fee instead of paying it
//! ([`crate::fees`]).
//!
//! The pool's threads start with the wave's planning: while the calling thread plans, they
//! execute pending transactions in block order as singles (those no hint groups), then join
//! the wave, so that planning does not leave them idle and the wave does not wait for them to
//! wake; a plan that puts one of those in a lane runs it again there.
//!
//! The calling thread is also the *committer*: between its units it walks the block in order,
//! as far as results are ready (keeping the role on one thread keeps the block's state, which
//! every commit updates at random places, in that core's cache; a role handed from thread to
//! thread moved it between the cores' caches, which costs most where the two cores are far
//! apart):
//!
//! - a transaction whose gas limit does not fit is skipped (`BlockFull`), as sequentially;
//! - a speculative result whose every read still holds on the committed state (this wave's
//!   commits included) is committed: its state changes applied, its outcome recorded, its
//!   beneficiary fee queued. An invalid result that still holds is skipped with the same
//!   reason;
//! - otherwise (a read was overwritten by an earlier transaction; or the transaction loaded the
//!   beneficiary, whose balance lags while fees are queued; or it belongs to a *hot* lane, whose
//!   transactions are expected to conflict and are not run speculatively at all) the committer
//!   pays the queued fees and executes the transaction itself with revm's own handler on the
//!   exact committed state. Only such transactions ever run twice.
//!
//! The committer only advances over a prefix in which every transaction is committed or
//! skipped, and commits a result only when every value it read equals what sequential
//! execution would have read at that point, so the block's result equals sequential
//! execution's; queued fees are paid exactly as revm pays them ([`crate::fees`]).
//!
//! A lane member far behind the previous member of its lane (more than
//! [`ParallelExecutor::with_defer_gap`] positions, in the second half of what is pending) is
//! left to the next wave rather than run with its lane, so that its finished result does not
//! wait through thousands of commits; the committer ends the wave when it reaches one.
//!
//! When too many results of a wave conflict, the committer aborts it: threads stop starting
//! units, results already computed are kept (and validated again later), and the next wave
//! groups what is left with what the conflicts showed (the conflicting key, the contract
//! called). After [`ParallelExecutor::with_max_rounds`] waves, the committer executes the rest
//! alone. Per-wave statistics are kept in [`ExecStats`].

use std::{
    sync::{
        OnceLock,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use alloy_consensus::{Transaction, TxEnvelope, transaction::Recovered};
use alloy_primitives::{
    Address, U256,
    map::{AddressMap, HashMap},
};
use parking_lot::Mutex;
use revm::{
    ExecuteEvm,
    context::{BlockEnv, CfgEnv, Context, TxEnv},
    context_interface::result::{EVMError, ExecutionResult},
    handler::MainnetEvm,
};
use serde::Serialize;

use crate::{
    ExecError, Result,
    access::{Observed, Read, RecordingDb, StateKey, first_stale, first_stale_in_wave},
    evm::{build_evm, outcome, tx_env},
    executor::{
        BlockContext, BlockExecution, Executor, IncludedTx, SkipReason, SkippedTx, TxOutcome,
    },
    fees::transact_deferred,
    hints::{BlockHints, HotKeys, LanePlan, TargetObservation, plan_lanes},
    state::{Overlay, OverlayChanges, StateError, StateView, WriteSet},
};

/// Committed state of the block so far: the block's writes over the node's view.
type Committed<'b> = Overlay<'b, dyn StateView + 'b>;
type SpecEvm<'s, 'b> = MainnetEvm<Context<BlockEnv, TxEnv, CfgEnv, RecordingDb<'s, Committed<'b>>>>;
/// The committed state with the wave's writes on top, as the committer holds it. Its base is
/// a trait object, so that the committer's EVM has exactly the type of the sequential
/// executor's: the state is swapped in for a transaction and out again, without a wrapper, and
/// both executors run one compiled copy of revm.
type WaveState<'s> = Overlay<'s, dyn StateView + 's>;
type CommitEvm<'s> = MainnetEvm<Context<BlockEnv, TxEnv, CfgEnv, WaveState<'s>>>;

/// Default bound on waves before the rest of a block runs sequentially.
pub const DEFAULT_MAX_ROUNDS: usize = 6;
/// Transactions without lane-mates are handed to threads in batches of this many.
const BATCH: usize = 16;
/// Default for [`ParallelExecutor::with_early_min`].
pub const DEFAULT_EARLY_MIN: usize = 64;
/// Default for [`ParallelExecutor::with_defer_gap`].
pub const DEFAULT_DEFER_GAP: usize = 256;
/// Committed results a thread keeps for reuse: as many as it may have waiting to be committed
/// in a busy wave, so that it does not free them only to allocate them again.
const MAX_SPARE: usize = 64 * BATCH;
/// A wave is aborted once this many of its results conflicted...
const ABORT_MIN_CONFLICTS: usize = 3;
/// ...and they are at least this share (one in N) of the results validated.
const ABORT_SHARE: usize = 4;
/// Within a block, a contract becomes a hot target when at least this share (one in N) of its
/// calls so far conflicted on one key.
const HOT_SHARE: usize = 4;

/// Statistics of one wave.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WaveStats {
    /// Transactions the wave planned to execute speculatively.
    pub planned: usize,
    /// Speculative executions actually run.
    pub executed: usize,
    /// Lanes of more than one transaction.
    pub lanes: usize,
    /// Transactions in the longest lane.
    pub longest_lane: usize,
    /// Transactions committed or skipped by the wave's committer.
    pub finalized: usize,
    /// Speculative results that failed validation.
    pub conflicts: usize,
    /// Transactions the committer executed itself, in block order (hot ones included).
    pub inline: usize,
    /// Of those, transactions of hot lanes, which were never run speculatively.
    pub hot: usize,
    /// Executions beyond a transaction's first that this wave caused: a conflicting
    /// transaction runs once more (by the committer, or in the next wave), and a transaction
    /// that read the beneficiary runs again in block order.
    pub re_executions: usize,
    /// Whether the wave was cut short because too many results conflicted.
    pub aborted: bool,
}

/// Statistics of one block run by the [`ParallelExecutor`], for metrics and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExecStats {
    /// Transactions in the block.
    pub txs: usize,
    /// Waves run (the last may be the sequential fallback).
    pub waves: usize,
    /// Speculative executions, all waves together.
    pub speculative: usize,
    /// Executions beyond the first of a transaction: conflicting transactions run again by
    /// the committer, and speculative runs repeated in a later wave.
    pub re_executions: usize,
    /// Transactions executed by the committer in block order (hot lanes, conflicts,
    /// transactions that read the beneficiary, the sequential fallback).
    pub inline: usize,
    /// Transactions of hot lanes, executed by the committer without a speculative run.
    pub hot: usize,
    /// Speculative results that failed validation.
    pub conflicts: usize,
    /// Whether the rest of the block ran sequentially after the last allowed wave.
    pub sequential_fallback: bool,
    /// Lane members left to a later wave because they were far behind the previous member of
    /// their lane, all waves together.
    pub deferred: usize,
    /// Speculative executions run while a wave was being planned (counted in `speculative`
    /// too), all waves together.
    pub early: usize,
    /// Per wave.
    pub per_wave: Vec<WaveStats>,
    /// Where the block's wall-clock time went.
    pub phases: PhaseTimes,
}

/// Wall-clock time of the phases of one block, in nanoseconds, all waves together. Only the
/// waves run on several threads (and the diff, split in two); the rest is serial.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PhaseTimes {
    /// Revalidating kept results and planning lanes before each wave.
    pub plan_ns: u64,
    /// The waves themselves: speculative execution, validation and commits.
    pub waves_ns: u64,
    /// Folding a wave's changes into the block's state before the next wave.
    pub merge_ns: u64,
    /// Paying the queued fees and building the sorted diff (the last wave folded in).
    pub diff_ns: u64,
    /// Of `waves_ns`: the committer's time (validating, committing, executing in block order).
    pub commit_ns: u64,
    /// Speculative execution, all threads together (so it can exceed `waves_ns`).
    pub speculate_ns: u64,
}

fn nanos(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// The parallel CPU executor (`cpu-parallel`): see the [module docs](self).
#[derive(Debug)]
pub struct ParallelExecutor {
    pool: rayon::ThreadPool,
    threads: usize,
    max_rounds: usize,
    defer_gap: usize,
    early_min: usize,
    hot: Mutex<HotKeys>,
    last_stats: Mutex<Option<ExecStats>>,
    /// The last block's memory, for the next (see [`BlockMemory`]).
    memory: Mutex<BlockMemory>,
}

/// Large buffers a block needs (overlays with room for every account it changes, a slot per
/// transaction), kept from block to block. Allocated afresh each time, they would go back to
/// the operating system when freed and be faulted in again, zeroed, at the next block, which
/// costs more than filling them. Bounded by the largest block seen.
#[derive(Default)]
struct BlockMemory {
    overlays: Vec<OverlayChanges>,
    slots: Vec<Slot>,
}

impl std::fmt::Debug for BlockMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockMemory")
            .field("overlays", &self.overlays.len())
            .field("slots", &self.slots.len())
            .finish()
    }
}

impl ParallelExecutor {
    /// An executor that runs blocks on `threads` threads (at least one): the calling thread
    /// and a dedicated pool of `threads - 1`.
    ///
    /// # Panics
    /// If the operating system refuses to start the threads.
    pub fn new(threads: usize) -> Self {
        let threads = threads.max(1);
        // The calling thread is one of the workers: it is already running when a block
        // starts, while pool threads may take a while to be scheduled on a busy machine.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads((threads - 1).max(1))
            .thread_name(|i| format!("lanes-exec-{i}"))
            .build()
            .expect("failed to start the executor's threads");
        Self {
            pool,
            threads,
            max_rounds: DEFAULT_MAX_ROUNDS,
            defer_gap: DEFAULT_DEFER_GAP,
            early_min: DEFAULT_EARLY_MIN,
            hot: Mutex::new(HotKeys::default()),
            last_stats: Mutex::new(None),
            memory: Mutex::new(BlockMemory::default()),
        }
    }

    /// Sets the number of waves after which the rest of a block runs sequentially (zero runs
    /// every block sequentially, through the same commit path).
    pub fn with_max_rounds(mut self, max_rounds: usize) -> Self {
        self.max_rounds = max_rounds;
        self
    }

    /// Sets how far (in block positions) a lane member may follow the previous member of its
    /// lane and still run with it in one wave; members further behind, in the second half of
    /// what is left of the block, wait for the next wave (except in the last wave before the
    /// sequential fallback). `usize::MAX` never defers.
    pub fn with_defer_gap(mut self, gap: usize) -> Self {
        self.defer_gap = gap;
        self
    }

    /// Sets how many transactions a wave must have pending for the pool's threads to start
    /// executing them while the calling thread plans the wave (see the
    /// [module docs](self)); `usize::MAX` never starts early.
    pub fn with_early_min(mut self, pending: usize) -> Self {
        self.early_min = pending;
        self
    }

    /// Threads a block runs on, the caller's included.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Statistics of the last block executed.
    pub fn last_stats(&self) -> Option<ExecStats> {
        self.last_stats.lock().clone()
    }

    /// The hot-key table as it stands.
    pub fn hot_keys(&self) -> HotKeys {
        self.hot.lock().clone()
    }

    /// Replaces the hot-key table (to seed it, or to carry it over a restart).
    pub fn set_hot_keys(&self, table: HotKeys) {
        *self.hot.lock() = table;
    }

    /// Executes a block like [`Executor::execute_block`] and also returns its statistics.
    pub fn execute_block_with_stats(
        &self,
        block: &BlockContext,
        txs: &[Recovered<TxEnvelope>],
        state: &dyn StateView,
    ) -> Result<(BlockExecution, ExecStats)> {
        let table = self.hot.lock().clone();
        let mut run = BlockRun::new(self, block, txs, BlockHints::new(&table));
        let exec = run.execute(state);
        let mut memory = std::mem::take(&mut run.memory);
        memory.overlays.truncate(2);
        *self.memory.lock() = memory;
        let exec = exec?;
        let observed = run.observations();
        let stats = std::mem::take(&mut run.progress.stats);
        if !observed.is_empty() || !table.entries().is_empty() {
            let observed = count_calls(txs, observed, &table);
            self.hot.lock().update(&observed);
        }
        tracing::debug!(
            txs = stats.txs,
            waves = stats.waves,
            speculative = stats.speculative,
            inline = stats.inline,
            conflicts = stats.conflicts,
            "parallel block executed"
        );
        *self.last_stats.lock() = Some(stats.clone());
        Ok((exec, stats))
    }
}

impl Executor for ParallelExecutor {
    fn name(&self) -> &'static str {
        "cpu-parallel"
    }

    fn execute_block(
        &self,
        block: &BlockContext,
        txs: &[Recovered<TxEnvelope>],
        state: &dyn StateView,
    ) -> Result<BlockExecution> {
        self.execute_block_with_stats(block, txs, state)
            .map(|(exec, _)| exec)
    }
}

/// Where a transaction's speculative result is handed from the thread that computed it to the
/// committer. The flag lets the committer poll without touching the lock, so it never contends
/// with the thread storing the result; a cache line each keeps neighbours from sharing one.
#[derive(Default)]
#[repr(align(64))]
struct Slot {
    ready: AtomicBool,
    spec: Mutex<Option<Spec>>,
}

impl Slot {
    fn put(&self, spec: Spec) {
        *self.spec.lock() = Some(spec);
        self.ready.store(true, Ordering::Release);
    }

    /// Drops what the slot holds.
    fn clear(&self) {
        self.ready.store(false, Ordering::SeqCst);
        *self.spec.lock() = None;
    }

    fn take(&self) -> Option<Spec> {
        if !self.ready.load(Ordering::Acquire) {
            return None;
        }
        self.ready.store(false, Ordering::Relaxed);
        self.spec.lock().take()
    }
}

/// A speculative result.
enum Spec {
    /// Executed: revm's result and state changes without the beneficiary's fee.
    Done(Box<SpecDone>),
    /// Rejected by revm's validation (nonce, balance, ...).
    Invalid { reason: String, reads: Vec<Read> },
    /// Must be executed in block order on the exact state (it loaded the beneficiary, or the
    /// speculative run failed for a reason that is not the transaction's).
    Exact,
    /// Left for the next wave (see [`LanePlan::defer_distant`](crate::hints::LanePlan)):
    /// the committer ends the wave here.
    Deferred,
}

/// An executed speculative result. Its buffers are reused: once committed it goes back to the
/// thread that produced it (see [`Wave::trash`]), which fills it with a later result.
#[derive(Default)]
struct SpecDone {
    /// Outcome with `cumulative_gas_used` still to be set; taken by the committer.
    outcome: Option<TxOutcome>,
    /// State changes without the beneficiary's fee, reduced on the producing thread.
    writes: WriteSet,
    fee: U256,
    reads: Vec<Read>,
    lane_dependency: Option<StateKey>,
    /// Index of the thread that produced it, which also reuses it.
    producer: usize,
}

/// A thread's committed results, back for reuse. The boxes are the thread's own allocations,
/// handed back and forth, so they stay boxed.
#[allow(clippy::vec_box)]
type Spare = Vec<Box<SpecDone>>;

/// What the block has finalized so far; handed to each wave's committer and back.
#[derive(Default)]
struct Progress {
    next: usize,
    gas_used: u64,
    included: Vec<IncludedTx>,
    skipped: Vec<SkippedTx>,
    /// Beneficiary fees of committed speculative results, not yet paid, in block order.
    fees: Vec<U256>,
    /// (transaction, key) for every validation failure.
    conflicts: Vec<(usize, StateKey)>,
    /// Committed transactions that read a lane predecessor's write (or, in a hot lane, wrote
    /// the hot key), by target and key.
    dependencies: Dependencies,
    stats: ExecStats,
}

/// Counts of (target called, key) pairs, kept as runs of equal neighbours in block order: the
/// dependencies of a block mostly come in long runs (every swap of one pool on its reserves),
/// so this stays short and costs no hashing per transaction.
#[derive(Default)]
struct Dependencies(Vec<((Address, StateKey), usize)>);

impl Dependencies {
    fn push(&mut self, to: Option<Address>, key: StateKey) {
        let Some(to) = to else { return };
        match self.0.last_mut() {
            Some((pair, count)) if *pair == (to, key) => *count += 1,
            _ => self.0.push(((to, key), 1)),
        }
    }
}

struct BlockRun<'e, 'b> {
    executor: &'e ParallelExecutor,
    block: &'b BlockContext,
    txs: &'b [Recovered<TxEnvelope>],
    hints: BlockHints,
    progress: Progress,
    /// Speculative results by transaction, kept across waves until consumed.
    slots: Vec<Slot>,
    /// Per transaction, whether the current wave's plan put it in a hot lane: not run
    /// speculatively, the committer executes it in order.
    hot: Vec<bool>,
    /// Memory for overlays, given back to the executor at the end.
    memory: BlockMemory,
}

impl<'e, 'b> BlockRun<'e, 'b> {
    fn new(
        executor: &'e ParallelExecutor,
        block: &'b BlockContext,
        txs: &'b [Recovered<TxEnvelope>],
        hints: BlockHints,
    ) -> Self {
        let progress = Progress {
            included: Vec::with_capacity(txs.len()),
            stats: ExecStats {
                txs: txs.len(),
                ..Default::default()
            },
            ..Default::default()
        };
        let mut memory = std::mem::take(&mut *executor.memory.lock());
        let mut slots = std::mem::take(&mut memory.slots);
        slots.truncate(txs.len());
        for slot in &mut slots {
            // A block that failed can leave results behind.
            *slot.ready.get_mut() = false;
            *slot.spec.get_mut() = None;
        }
        slots.resize_with(txs.len(), Slot::default);
        Self {
            executor,
            block,
            txs,
            hints,
            progress,
            slots,
            hot: vec![false; txs.len()],
            memory,
        }
    }

    fn execute(&mut self, state: &'b dyn StateView) -> Result<BlockExecution> {
        let mut committed: Committed<'b> = Overlay::new(state);
        let mut last_wave = OverlayChanges::default();
        let mut round = 0;
        while self.progress.next < self.txs.len() {
            let planning = Instant::now();
            round += 1;
            let sequential = round > self.executor.max_rounds;
            let pending = self.revalidate_kept(&committed)?;
            let conflicts_before = self.progress.conflicts.len();
            let changes = if sequential {
                self.hot.fill(false);
                self.progress.stats.phases.plan_ns += nanos(planning);
                let running = Instant::now();
                let changes = self.run_alone(&committed, pending.len())?;
                self.progress.stats.phases.waves_ns += nanos(running);
                changes
            } else {
                self.speculative_round(&committed, &pending, round, planning)?
            };
            if self.progress.next < self.txs.len() {
                let merging = Instant::now();
                let memory = committed.merge(changes);
                self.memory.overlays.push(memory);
                self.progress.stats.phases.merge_ns += nanos(merging);
            } else {
                // The last wave's changes are folded in while the diff is built.
                last_wave = changes;
            }
            self.progress.stats.sequential_fallback |= sequential;
            self.learn(conflicts_before);
        }
        let finishing = Instant::now();
        let top = {
            let mut top = Overlay::with_changes(&committed, last_wave);
            pay_fees(&mut top, self.block.beneficiary, &mut self.progress.fees)?;
            top.into_changes()
        };
        let progress = &mut self.progress;
        let pool = (self.executor.threads > 1).then_some(&self.executor.pool);
        let (diff, memory) = committed.into_diff_in(top, pool);
        self.memory.overlays.extend(memory);
        self.memory.slots = std::mem::take(&mut self.slots);
        progress.stats.phases.diff_ns = nanos(finishing);
        Ok(BlockExecution {
            included: std::mem::take(&mut progress.included),
            skipped: std::mem::take(&mut progress.skipped),
            diff,
            gas_used: progress.gas_used,
        })
    }

    /// Drops kept results that no longer hold on `committed` and returns the transactions
    /// that need a speculative run.
    fn revalidate_kept(&mut self, committed: &Committed<'b>) -> Result<Vec<usize>> {
        let mut pending = Vec::with_capacity(self.txs.len() - self.progress.next);
        for index in self.progress.next..self.txs.len() {
            // No thread runs between waves: the slots are only this thread's to touch.
            let slot = &mut self.slots[index];
            let stale = match slot.spec.get_mut() {
                None => {
                    pending.push(index);
                    continue;
                }
                Some(Spec::Deferred) => {
                    *slot.spec.get_mut() = None;
                    *slot.ready.get_mut() = false;
                    pending.push(index);
                    continue;
                }
                Some(Spec::Exact) => None,
                Some(Spec::Done(done)) => first_stale(&done.reads, committed)?,
                Some(Spec::Invalid { reads, .. }) => first_stale(reads, committed)?,
            };
            if let Some(key) = stale {
                *slot.spec.get_mut() = None;
                *slot.ready.get_mut() = false;
                self.progress.conflicts.push((index, key));
                self.progress.stats.conflicts += 1;
                self.progress.stats.re_executions += 1;
                self.hints.add_conflict(index, key);
                pending.push(index);
            }
        }
        Ok(pending)
    }

    /// Plans a wave over `pending` and runs it. The pool's threads start first: while this
    /// thread plans, they execute pending transactions in block order as singles (see
    /// [`Early`]), and they join the wave once it is planned. Planning is the one part of a
    /// wave that would otherwise leave them idle, and a thread woken only once the plan is
    /// ready joins the wave late by however long it takes to wake.
    fn speculative_round(
        &mut self,
        committed: &Committed<'b>,
        pending: &[usize],
        round: usize,
        planning: Instant,
    ) -> Result<OverlayChanges> {
        let executor = self.executor;
        let threads = executor.threads;
        let inputs = Inputs::new(self.block, self.txs, committed, &self.slots, &self.hints);
        let early = Early {
            inputs,
            pending,
            next: AtomicUsize::new(0),
            // Too few pending transactions to be worth it: no early work.
            stop: AtomicBool::new(pending.len() < executor.early_min.max(1)),
            active: AtomicUsize::new(0),
            speculate_ns: AtomicU64::new(0),
        };
        let wave: OnceLock<Wave<'_, 'b>> = OnceLock::new();
        // Set if this thread leaves the scope without publishing the wave (it panicked), so
        // that the pool's threads do not wait for it forever.
        let abandoned = AtomicBool::new(false);
        let mut committer = None;
        let mut running = planning;
        let mut plan_ns = 0;
        executor.pool.in_place_scope(|scope| {
            let _guard = SetOnDrop(&abandoned);
            for me in 1..threads {
                let (early, wave, abandoned) = (&early, &wave, &abandoned);
                scope.spawn(move |_| {
                    early.work(me);
                    let mut backoff = Backoff::default();
                    loop {
                        if let Some(wave) = wave.get() {
                            wave.work(me, None);
                            return;
                        }
                        if abandoned.load(Ordering::SeqCst) {
                            return;
                        }
                        backoff.snooze();
                    }
                });
            }
            let mut plan = plan_lanes(self.txs, pending, &self.hints);
            let ran_early = early.finish();
            // Singles executed early are done. Lane members run again with their lane (the
            // earlier members' writes are only seen there), and the hot are executed by the
            // committer: their early results go, so that the committer does not find them
            // before their lane's.
            if !ran_early.is_empty() {
                let mut singles = Vec::with_capacity(ran_early.len());
                for &index in &ran_early {
                    if plan.singles.binary_search(&index).is_ok() {
                        singles.push(index);
                    } else {
                        self.slots[index].clear();
                    }
                }
                // Both in block order: one merge-like pass.
                let mut done = singles.iter().copied().peekable();
                plan.singles.retain(|&index| {
                    while done.next_if(|&ran| ran < index).is_some() {}
                    done.next_if_eq(&index).is_none()
                });
            }
            self.progress.stats.early += ran_early.len();
            // Hot lanes are executed by the committer, exactly, when it reaches them.
            self.hot.fill(false);
            for &index in &plan.hot {
                self.hot[index] = true;
            }
            // Only lane members in the second half of what is pending wait, so that each wave
            // covers at least half of it; the last speculative wave keeps its lanes whole.
            if round < executor.max_rounds
                && let Some(&from) = pending.get(pending.len() / 2)
            {
                plan.defer_distant(executor.defer_gap, from);
                for &index in &plan.deferred {
                    self.slots[index].put(Spec::Deferred);
                }
                self.progress.stats.deferred += plan.deferred.len();
            }
            let units = make_units(plan);
            let mut stats = wave_stats(&units);
            stats.planned = pending.len();
            let mut own = new_committer(
                committed,
                &mut self.memory,
                &mut self.progress,
                pending.len(),
                false,
                stats,
                threads,
            );
            let published =
                wave.get_or_init(|| Wave::new(inputs, &self.hot, units, ran_early.len(), threads));
            running = Instant::now();
            plan_ns = nanos(planning);
            published.work(0, Some(&mut own));
            committer = Some(own);
        });
        let waves_ns = nanos(running);
        let wave = wave.into_inner().expect("the wave was published");
        let committer = committer.expect("the wave was run");
        // The committer holds the block's progress until the wave is finished.
        let changes = finish_wave(&mut self.progress, committer, &wave);
        let phases = &mut self.progress.stats.phases;
        phases.plan_ns += plan_ns;
        phases.waves_ns += waves_ns;
        phases.speculate_ns += early.speculate_ns.load(Ordering::SeqCst);
        changes
    }

    /// Runs a wave without speculation: the committer executes the `pending` transactions in
    /// block order (the sequential fallback).
    fn run_alone(&mut self, committed: &Committed<'b>, pending: usize) -> Result<OverlayChanges> {
        let threads = self.executor.threads;
        let mut committer = new_committer(
            committed,
            &mut self.memory,
            &mut self.progress,
            pending,
            true,
            WaveStats::default(),
            threads,
        );
        let inputs = Inputs::new(self.block, self.txs, committed, &self.slots, &self.hints);
        let wave = Wave::new(inputs, &self.hot, Vec::new(), 0, threads);
        wave.commit_alone(&mut committer);
        finish_wave(&mut self.progress, committer, &wave)
    }

    /// Turns this wave's conflicts into hints for the next: a target most of whose calls so
    /// far conflicted on one key gets its own lane.
    fn learn(&mut self, conflicts_before: usize) {
        let new = &self.progress.conflicts[conflicts_before..];
        if new.is_empty() {
            return;
        }
        let mut by_target: HashMap<(Address, StateKey), usize> = HashMap::default();
        for (index, key) in &self.progress.conflicts {
            if let Some(to) = self.txs[*index].to() {
                *by_target.entry((to, *key)).or_default() += 1;
            }
        }
        let seen = self
            .progress
            .conflicts
            .iter()
            .map(|(i, _)| i + 1)
            .max()
            .unwrap_or(0)
            .max(self.progress.next);
        for ((target, key), count) in by_target {
            if count < 2 || self.hints.is_hot_target(&target) {
                continue;
            }
            let calls = self.txs[..seen]
                .iter()
                .filter(|tx| tx.to() == Some(target))
                .count();
            if count * HOT_SHARE >= calls {
                self.hints.add_hot(target, key);
            }
        }
    }

    /// Per target, the most frequent key of its calls' conflicts and lane dependencies.
    fn observations(&self) -> AddressMap<(TargetObservation, StateKey)> {
        let mut counts: HashMap<(Address, StateKey), usize> = HashMap::default();
        let conflicts = self
            .progress
            .conflicts
            .iter()
            .filter_map(|(index, key)| self.txs[*index].to().map(|to| (to, *key)));
        for (pair, run) in runs(conflicts).chain(self.progress.dependencies.0.iter().copied()) {
            *counts.entry(pair).or_default() += run;
        }
        let mut out: AddressMap<(TargetObservation, StateKey)> = AddressMap::default();
        for ((target, key), count) in counts {
            let entry = out
                .entry(target)
                .or_insert((TargetObservation::default(), key));
            if count > entry.0.dependent {
                *entry = (
                    TargetObservation {
                        calls: 0,
                        dependent: count,
                    },
                    key,
                );
            }
        }
        out
    }
}

/// Runs of equal neighbours in `items`, as (item, length). A block's conflicts and calls
/// mostly come in runs (every swap of one pool), so counting per run costs one map operation
/// per run instead of one per transaction.
fn runs<T: PartialEq>(items: impl Iterator<Item = T>) -> impl Iterator<Item = (T, usize)> {
    let mut items = items.peekable();
    std::iter::from_fn(move || {
        let first = items.next()?;
        let mut run = 1;
        while items.next_if_eq(&first).is_some() {
            run += 1;
        }
        Some((first, run))
    })
}

/// Fills in how many of the block's transactions called each observed or known target.
fn count_calls(
    txs: &[Recovered<TxEnvelope>],
    mut observed: AddressMap<(TargetObservation, StateKey)>,
    table: &HotKeys,
) -> AddressMap<(TargetObservation, StateKey)> {
    for entry in table.entries() {
        observed
            .entry(entry.target)
            .or_insert((TargetObservation::default(), entry.key));
    }
    for (to, run) in runs(txs.iter().filter_map(|tx| tx.to())) {
        if let Some((o, _)) = observed.get_mut(&to) {
            o.calls += run;
        }
    }
    observed
}

/// The pool's threads' work while a wave is planned (see [`BlockRun::speculative_round`]).
struct Early<'w, 'b> {
    inputs: Inputs<'w, 'b>,
    pending: &'w [usize],
    /// The next position in `pending` to claim.
    next: AtomicUsize,
    /// Set once the plan is ready.
    stop: AtomicBool,
    /// Threads between claiming a transaction and publishing its result.
    active: AtomicUsize,
    speculate_ns: AtomicU64,
}

impl Early<'_, '_> {
    /// A pool thread's early work, until the plan is ready.
    fn work(&self, me: usize) {
        if self.stop.load(Ordering::SeqCst) {
            return;
        }
        let started = Instant::now();
        // Built before the first claim: the EVM's first allocation on this thread is where
        // the allocator sorts the small blocks other threads freed into this thread's heap
        // since the last block (a few hundred microseconds after a block of ERC-20 receipts),
        // and the planning thread must not wait for that in `finish`.
        let mut evm = self.inputs.evm();
        let mut spare = Spare::new();
        loop {
            // Announced before the check, as in `Wave::claim`, so that `finish` never misses
            // a transaction in flight.
            self.active.fetch_add(1, Ordering::SeqCst);
            if self.stop.load(Ordering::SeqCst) {
                self.active.fetch_sub(1, Ordering::SeqCst);
                break;
            }
            let pos = self.next.fetch_add(1, Ordering::SeqCst);
            let Some(&index) = self.pending.get(pos) else {
                self.active.fetch_sub(1, Ordering::SeqCst);
                break;
            };
            let inputs = &self.inputs;
            // What a hint may group waits for the plan: it would likely run again.
            if !inputs.hints.may_group(index, &inputs.txs[index]) {
                inputs.speculate(&mut evm, index, me, &mut spare);
            }
            self.active.fetch_sub(1, Ordering::SeqCst);
        }
        self.speculate_ns
            .fetch_add(nanos(started), Ordering::SeqCst);
    }

    /// Stops the early work (waiting for transactions in flight) and returns what ran, in
    /// block order.
    fn finish(&self) -> Vec<usize> {
        self.stop.store(true, Ordering::SeqCst);
        while self.active.load(Ordering::SeqCst) > 0 {
            std::hint::spin_loop();
        }
        let claimed = self.next.load(Ordering::SeqCst).min(self.pending.len());
        self.pending[..claimed]
            .iter()
            .copied()
            .filter(|&index| self.inputs.slots[index].ready.load(Ordering::SeqCst))
            .collect()
    }
}

/// Work handed to one thread at a time: single transactions, or whole lanes.
struct Unit {
    txs: Vec<usize>,
    /// For a unit of lanes, where each lane ends in `txs`; empty for single transactions.
    lane_ends: Vec<usize>,
}

fn make_units(plan: LanePlan) -> Vec<Unit> {
    let mut units: Vec<Unit> = plan
        .singles
        .chunks(BATCH)
        .map(|txs| Unit {
            txs: txs.to_vec(),
            lane_ends: Vec::new(),
        })
        .collect();
    // Whole lanes, batched until a unit holds at least BATCH transactions.
    let (mut start, mut ends) = (0, Vec::new());
    for &end in &plan.lane_ends {
        ends.push(end - start);
        if end - start >= BATCH || end == plan.lanes.len() {
            units.push(Unit {
                txs: plan.lanes[start..end].to_vec(),
                lane_ends: std::mem::take(&mut ends),
            });
            start = end;
        }
    }
    units.sort_by_key(|u| u.txs[0]);
    units
}

/// The statistics a wave starts with: its lanes.
fn wave_stats(units: &[Unit]) -> WaveStats {
    let lanes: Vec<usize> = units
        .iter()
        .flat_map(|u| {
            u.lane_ends
                .iter()
                .scan(0, |start, end| Some(end - std::mem::replace(start, *end)))
        })
        .collect();
    WaveStats {
        lanes: lanes.len(),
        longest_lane: lanes.iter().copied().max().unwrap_or(0),
        ..Default::default()
    }
}

/// A wave's committer over `committed`, with the block's progress so far (taken from
/// `progress` until the wave is finished) and overlay memory from `memory`.
fn new_committer<'w>(
    committed: &'w Committed<'_>,
    memory: &mut BlockMemory,
    progress: &mut Progress,
    planned: usize,
    sequential: bool,
    wave: WaveStats,
    threads: usize,
) -> Committer<'w> {
    Committer {
        // Room in the arena for the sender and one more account per transaction, and for the
        // beneficiary the fees are paid to at the end, saving the copy of every account a full
        // vector of them would cost (the index grows with what is inserted, see
        // `Overlay::with_memory`).
        state: Overlay::with_memory(
            committed,
            memory.overlays.pop().unwrap_or_default(),
            2 * planned + 1,
        ),
        progress: std::mem::take(progress),
        sequential,
        wave,
        busy_ns: 0,
        error: None,
        trash: (0..threads).map(|_| Vec::new()).collect(),
    }
}

/// Folds a finished wave's statistics into the block's and returns its changes.
fn finish_wave(
    progress: &mut Progress,
    mut committer: Committer<'_>,
    wave: &Wave<'_, '_>,
) -> Result<OverlayChanges> {
    committer.wave.executed = wave.executed.load(Ordering::SeqCst);
    let mut block = committer.progress;
    let stats = &mut block.stats;
    stats.phases.commit_ns += committer.busy_ns;
    stats.phases.speculate_ns += wave.speculate_ns.load(Ordering::Relaxed);
    stats.waves += 1;
    stats.speculative += committer.wave.executed;
    stats.inline += committer.wave.inline;
    stats.hot += committer.wave.hot;
    stats.conflicts += committer.wave.conflicts;
    stats.re_executions += committer.wave.re_executions;
    stats.per_wave.push(committer.wave);
    *progress = block;
    if let Some(error) = committer.error {
        return Err(error);
    }
    Ok(committer.state.into_changes())
}

/// Sets a flag when dropped (see [`BlockRun::speculative_round`]).
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// What the threads of a wave read from the block run: the block, its transactions, the
/// snapshot they run on, the slots their results go to and the hints. Both the early work and
/// the wave execute speculatively from it.
#[derive(Clone, Copy)]
struct Inputs<'w, 'b> {
    block: &'b BlockContext,
    txs: &'b [Recovered<TxEnvelope>],
    snapshot: &'w Committed<'b>,
    slots: &'w [Slot],
    hints: &'w BlockHints,
}

impl<'w, 'b> Inputs<'w, 'b> {
    fn new(
        block: &'b BlockContext,
        txs: &'b [Recovered<TxEnvelope>],
        snapshot: &'w Committed<'b>,
        slots: &'w [Slot],
        hints: &'w BlockHints,
    ) -> Self {
        Self {
            block,
            txs,
            snapshot,
            slots,
            hints,
        }
    }

    /// An EVM for speculative runs on the snapshot.
    fn evm(&self) -> SpecEvm<'w, 'b> {
        build_evm(
            self.block,
            RecordingDb::new(self.snapshot, self.block.beneficiary),
        )
    }

    /// Runs transaction `index` speculatively and publishes its result in its slot.
    fn speculate(&self, evm: &mut SpecEvm<'w, 'b>, index: usize, me: usize, spare: &mut Spare) {
        let spec = speculate(evm, &self.txs[index], me, spare);
        self.slots[index].put(spec);
    }
}

/// One wave, shared by the threads running it.
struct Wave<'w, 'b> {
    inputs: Inputs<'w, 'b>,
    /// See [`BlockRun::hot`].
    hot: &'w [bool],
    units: Vec<Unit>,
    next_unit: AtomicUsize,
    /// Threads between claiming a unit and publishing its last result.
    active: AtomicUsize,
    executed: AtomicUsize,
    /// Time spent running units, all threads together.
    speculate_ns: AtomicU64,
    abort: AtomicBool,
    over: AtomicBool,
    /// Consumed results, by the thread that allocated them. glibc's allocator serialises
    /// threads that free each other's memory on an arena lock; handing results back to their
    /// producer to free keeps every thread on its own arena. The boxes are the producers'
    /// allocations, so they stay boxed.
    #[allow(clippy::vec_box)]
    trash: Vec<Mutex<Vec<Box<SpecDone>>>>,
}

#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// The next result is still being computed.
    Waiting,
    /// The wave is finished (block done, aborted, or failed).
    Over,
}

impl<'w, 'b> Wave<'w, 'b> {
    /// A wave of `units` over `inputs`, for `threads` threads, `executed` speculative
    /// executions already run for it (early, see [`Early`]).
    fn new(
        inputs: Inputs<'w, 'b>,
        hot: &'w [bool],
        units: Vec<Unit>,
        executed: usize,
        threads: usize,
    ) -> Self {
        Self {
            inputs,
            hot,
            units,
            next_unit: AtomicUsize::new(0),
            active: AtomicUsize::new(0),
            executed: AtomicUsize::new(executed),
            speculate_ns: AtomicU64::new(0),
            abort: AtomicBool::new(false),
            over: AtomicBool::new(false),
            trash: (0..threads).map(|_| Mutex::new(Vec::new())).collect(),
        }
    }

    /// Each thread's loop (the caller's is `me == 0`, and it holds the `committer`): commit
    /// what is ready, then run the next unit. Pool threads leave once no unit is left; the
    /// caller's thread stays until it has finished the wave.
    fn work(&self, me: usize, mut committer: Option<&mut Committer<'w>>) {
        let mut evm: Option<SpecEvm<'w, 'b>> = None;
        let mut commit_evm: Option<CommitEvm<'w>> = None;
        let mut backoff = Backoff::default();
        // Committed results of this thread, back for reuse.
        let mut spare = Spare::new();
        let mut speculating = 0;
        loop {
            if self.over.load(Ordering::SeqCst) {
                break;
            }
            if let Some(committer) = committer.as_deref_mut()
                && committer.advance(self, &mut commit_evm) == Step::Over
            {
                self.abort.store(true, Ordering::SeqCst);
                self.over.store(true, Ordering::SeqCst);
                break;
            }
            match self.claim() {
                Some(unit) => {
                    let evm = evm.get_or_insert_with(|| self.inputs.evm());
                    let started = Instant::now();
                    self.run_unit(evm, unit, me, &mut spare);
                    speculating += nanos(started);
                    self.active.fetch_sub(1, Ordering::SeqCst);
                    backoff.reset();
                }
                // Every unit is taken (or the wave aborted): a pool thread has nothing left
                // that the caller's thread cannot do, and waiting here would only take the
                // core from it on a busy machine.
                None if me != 0 => break,
                None => backoff.snooze(),
            }
            // Take back what the committer consumed of this thread's results.
            spare.append(&mut self.trash[me].lock());
            spare.truncate(MAX_SPARE);
        }
        drop(std::mem::take(&mut *self.trash[me].lock()));
        self.speculate_ns.fetch_add(speculating, Ordering::Relaxed);
    }

    /// Runs the committer alone on this thread (the sequential fallback).
    fn commit_alone(&self, committer: &mut Committer<'w>) {
        let mut evm = None;
        while committer.advance(self, &mut evm) != Step::Over {}
    }

    fn claim(&self) -> Option<&Unit> {
        if self.abort.load(Ordering::SeqCst) {
            return None;
        }
        // Announce the claim before making it, and check `abort` after announcing, so the
        // committer, which sets `abort` and then reads `active`, never misses a unit in flight.
        self.active.fetch_add(1, Ordering::SeqCst);
        if self.abort.load(Ordering::SeqCst) {
            self.active.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        let index = self.next_unit.fetch_add(1, Ordering::SeqCst);
        if index >= self.units.len() {
            self.active.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(&self.units[index])
    }

    fn run_unit(&self, evm: &mut SpecEvm<'w, 'b>, unit: &Unit, me: usize, spare: &mut Spare) {
        if unit.lane_ends.is_empty() {
            self.run_txs(evm, &unit.txs, me, spare);
            return;
        }
        let mut start = 0;
        for &end in &unit.lane_ends {
            evm.ctx.journaled_state.database.start_lane();
            self.run_txs(evm, &unit.txs[start..end], me, spare);
            evm.ctx.journaled_state.database.end_lane();
            start = end;
        }
    }

    fn run_txs(&self, evm: &mut SpecEvm<'w, 'b>, txs: &[usize], me: usize, spare: &mut Spare) {
        let mut executed = 0;
        for &index in txs {
            if self.abort.load(Ordering::Relaxed) {
                break;
            }
            self.inputs.speculate(evm, index, me, spare);
            executed += 1;
        }
        self.executed.fetch_add(executed, Ordering::Relaxed);
    }

    /// Whether every unit is finished or will never start, so that a missing result will not
    /// appear any more.
    fn producers_done(&self) -> bool {
        let all_claimed = self.abort.load(Ordering::SeqCst)
            || self.next_unit.load(Ordering::SeqCst) >= self.units.len();
        all_claimed && self.active.load(Ordering::SeqCst) == 0
    }
}

/// Runs one transaction speculatively, filling a result from `spare` if there is one.
fn speculate(
    evm: &mut SpecEvm<'_, '_>,
    tx: &Recovered<TxEnvelope>,
    producer: usize,
    spare: &mut Spare,
) -> Spec {
    evm.ctx.journaled_state.database.begin_tx(tx.signer());
    let result = transact_deferred(evm, tx_env(tx));
    let mut done = spare.pop().unwrap_or_default();
    let db = &mut evm.ctx.journaled_state.database;
    let Observed {
        beneficiary_read,
        lane_dependency,
    } = db.finish_tx(&mut done.reads);
    match result {
        Ok((out, fee)) => {
            // Reduce revm's state to the changes here, on the thread that allocated it.
            done.writes.clear();
            for (address, account) in &out.state {
                done.writes.push(*address, account);
            }
            if let Some(lane) = db.lane_mut()
                && lane.apply_writes(&done.writes, false).is_err()
            {
                spare.push(done);
                return Spec::Exact;
            }
            if beneficiary_read {
                spare.push(done);
                return Spec::Exact;
            }
            done.outcome = Some(outcome(out.result, 0));
            done.fee = fee;
            done.lane_dependency = lane_dependency;
            done.producer = producer;
            Spec::Done(done)
        }
        Err(EVMError::Transaction(invalid)) if !beneficiary_read => Spec::Invalid {
            reason: invalid.to_string(),
            reads: std::mem::take(&mut done.reads),
        },
        Err(_) => {
            spare.push(done);
            Spec::Exact
        }
    }
}

/// The block-order role: validates results, commits them, and executes what cannot be
/// committed as it is.
struct Committer<'w> {
    /// The wave's writes stacked on the snapshot (`None` only while an EVM borrows it).
    state: WaveState<'w>,
    progress: Progress,
    /// No speculative results will come: execute everything.
    sequential: bool,
    wave: WaveStats,
    /// Time spent in [`Committer::advance`].
    busy_ns: u64,
    error: Option<ExecError>,
    /// Consumed results not yet handed back to their producers (see [`Wave::trash`]).
    #[allow(clippy::vec_box)]
    trash: Vec<Vec<Box<SpecDone>>>,
}

impl<'w, 'b: 'w> Committer<'w> {
    /// Finalizes transactions in block order as far as results allow. `evm` is the calling
    /// thread's EVM for exact execution, built on first use.
    fn advance(&mut self, wave: &Wave<'w, 'b>, evm: &mut Option<CommitEvm<'w>>) -> Step {
        let started = Instant::now();
        let step = if self.error.is_some() {
            Step::Over
        } else {
            self.try_advance(wave, evm).unwrap_or_else(|error| {
                self.error = Some(error);
                Step::Over
            })
        };
        // Hand consumed results back to their producers in batches; a producer busy draining
        // gets them next time.
        for (producer, batch) in self.trash.iter_mut().enumerate() {
            if !batch.is_empty()
                && let Some(mut shared) = wave.trash[producer].try_lock()
            {
                shared.append(batch);
            }
        }
        self.busy_ns += nanos(started);
        step
    }

    fn try_advance(
        &mut self,
        wave: &Wave<'w, 'b>,
        evm: &mut Option<CommitEvm<'w>>,
    ) -> Result<Step> {
        while self.progress.next < wave.inputs.txs.len() {
            let index = self.progress.next;
            let gas_limit = wave.inputs.txs[index].gas_limit();
            let available = wave.inputs.block.gas_limit - self.progress.gas_used;
            if gas_limit > available {
                wave.inputs.slots[index].take();
                let reason = SkipReason::BlockFull {
                    available,
                    gas_limit,
                };
                self.finalize_skip(index, reason);
                continue;
            }
            if wave.hot[index] {
                self.wave.hot += 1;
                let key = wave.inputs.hints.hot_key(wave.inputs.txs[index].to());
                self.execute_exact(wave, evm, index, key)?;
                continue;
            }
            let mut spec = wave.inputs.slots[index].take();
            if spec.is_none() && !self.sequential {
                if !wave.producers_done() {
                    return Ok(Step::Waiting);
                }
                // Every unit is finished or will not start: the result is there now or never.
                spec = wave.inputs.slots[index].take();
                if spec.is_none() && wave.abort.load(Ordering::SeqCst) {
                    return Ok(Step::Over);
                }
            }
            match spec {
                None => self.execute_exact(wave, evm, index, None)?,
                Some(Spec::Exact) => {
                    self.wave.re_executions += 1;
                    self.execute_exact(wave, evm, index, None)?;
                }
                Some(Spec::Deferred) => return Ok(Step::Over),
                Some(Spec::Invalid { reason, reads }) => match self.stale_key(&reads)? {
                    None => self.finalize_skip(index, SkipReason::Invalid(reason)),
                    Some(key) => {
                        if let Some(step) = self.conflict(wave, evm, index, key) {
                            return Ok(step);
                        }
                    }
                },
                Some(Spec::Done(done)) => match self.stale_key(&done.reads)? {
                    None => {
                        let done = self.commit(wave, index, done)?;
                        if done.producer < self.trash.len() {
                            self.trash[done.producer].push(done);
                        }
                    }
                    Some(key) => {
                        if let Some(step) = self.conflict(wave, evm, index, key) {
                            return Ok(step);
                        }
                    }
                },
            }
        }
        Ok(Step::Over)
    }

    /// The first read of a result that the committed state no longer agrees with. A read the
    /// snapshot served can only be invalidated by this wave's changes; a read a lane
    /// predecessor served must match what that predecessor committed.
    fn stale_key(&self, reads: &[Read]) -> Result<Option<StateKey>, StateError> {
        first_stale_in_wave(reads, &self.state)
    }

    /// Handles a result that failed validation: either aborts the wave (returning the step)
    /// or executes the transaction exactly.
    fn conflict(
        &mut self,
        wave: &Wave<'w, 'b>,
        evm: &mut Option<CommitEvm<'w>>,
        index: usize,
        key: StateKey,
    ) -> Option<Step> {
        self.wave.conflicts += 1;
        self.wave.re_executions += 1;
        self.progress.conflicts.push((index, key));
        if !self.sequential {
            let checked = self.wave.finalized + self.wave.conflicts;
            if self.wave.conflicts >= ABORT_MIN_CONFLICTS
                && self.wave.conflicts * ABORT_SHARE >= checked
            {
                self.wave.aborted = true;
                wave.abort.store(true, Ordering::SeqCst);
            }
            if wave.abort.load(Ordering::SeqCst) {
                // Leave it to the next wave, once no thread can publish a result any more.
                return Some(if wave.producers_done() {
                    Step::Over
                } else {
                    Step::Waiting
                });
            }
        }
        match self.execute_exact(wave, evm, index, None) {
            Ok(()) => None,
            Err(error) => {
                self.error = Some(error);
                Some(Step::Over)
            }
        }
    }

    /// Commits a result and returns what is left of it, to be freed.
    fn commit(
        &mut self,
        wave: &Wave<'w, 'b>,
        index: usize,
        mut done: Box<SpecDone>,
    ) -> Result<Box<SpecDone>> {
        self.state.apply_writes(&done.writes, true)?;
        self.progress.fees.push(done.fee);
        if let Some(key) = done.lane_dependency {
            self.progress
                .dependencies
                .push(wave.inputs.txs[index].to(), key);
        }
        let mut outcome = done.outcome.take().expect("a result is committed once");
        outcome.cumulative_gas_used = self.progress.gas_used + outcome.gas_used;
        self.progress.gas_used = outcome.cumulative_gas_used;
        self.progress.included.push(IncludedTx { index, outcome });
        self.progress.next += 1;
        self.wave.finalized += 1;
        Ok(done)
    }

    /// Executes transaction `index` with revm on the exact committed state, after paying the
    /// pending fees.
    /// `hot_key`: for a transaction of a hot lane, the key its target is expected to write;
    /// if it does, that is recorded as a dependency for the hot-key table.
    fn execute_exact(
        &mut self,
        wave: &Wave<'w, 'b>,
        evm: &mut Option<CommitEvm<'w>>,
        index: usize,
        hot_key: Option<StateKey>,
    ) -> Result<()> {
        let beneficiary = wave.inputs.block.beneficiary;
        let state = &mut self.state;
        pay_fees(state, beneficiary, &mut self.progress.fees)?;
        self.wave.inline += 1;
        // The EVM holds an empty overlay between transactions; the committer's state is
        // swapped in for one transaction.
        let evm = evm.get_or_insert_with(|| {
            let snapshot: &'w (dyn StateView + 'w) = wave.inputs.snapshot;
            build_evm(wave.inputs.block, Overlay::new(snapshot))
        });
        std::mem::swap(&mut evm.ctx.journaled_state.database, &mut self.state);
        let result = evm.transact(tx_env(&wave.inputs.txs[index]));
        std::mem::swap(&mut evm.ctx.journaled_state.database, &mut self.state);
        match result {
            Ok(result) => {
                if let Some(key) = hot_key.filter(|key| writes(&result.state, key)) {
                    self.progress
                        .dependencies
                        .push(wave.inputs.txs[index].to(), key);
                }
                self.state.apply(result.state);
                self.finalize_included(index, result.result);
            }
            Err(error) => {
                let reason = ExecError::from_evm(index, error)?;
                self.finalize_skip(index, reason);
            }
        }
        Ok(())
    }

    fn finalize_included(&mut self, index: usize, result: ExecutionResult) {
        let outcome = outcome(result, self.progress.gas_used);
        self.progress.gas_used = outcome.cumulative_gas_used;
        self.progress.included.push(IncludedTx { index, outcome });
        self.progress.next += 1;
        self.wave.finalized += 1;
    }

    fn finalize_skip(&mut self, index: usize, reason: SkipReason) {
        self.progress.skipped.push(SkippedTx { index, reason });
        self.progress.next += 1;
        self.wave.finalized += 1;
    }
}

/// Whether a transaction's state changes write `key`.
fn writes(state: &revm::state::EvmState, key: &StateKey) -> bool {
    match key {
        StateKey::Account(address) => state
            .get(address)
            .is_some_and(|acc| acc.is_touched() && acc.is_changed()),
        StateKey::Storage(address, slot) => state
            .get(address)
            .and_then(|acc| acc.storage.get(slot))
            .is_some_and(|value| value.is_changed()),
    }
}

/// Pays the queued beneficiary fees in order, exactly as revm would have paid each at the end
/// of its transaction.
fn pay_fees<S: StateView + ?Sized>(
    state: &mut Overlay<'_, S>,
    beneficiary: Address,
    fees: &mut Vec<U256>,
) -> Result<(), StateError> {
    let Some(first) = fees.first() else {
        return Ok(());
    };
    let info = state.account(beneficiary)?;
    let non_empty = info.as_ref().is_some_and(|info| !info.is_empty());
    let balance = info.map(|info| info.balance).unwrap_or_default();
    let total = fees
        .iter()
        .try_fold(U256::ZERO, |sum, fee| sum.checked_add(*fee));
    // Once the account is non-empty, each payment only adds to its balance, so one payment of
    // the sum is the same, unless a sum overflows.
    match total {
        Some(total) if (non_empty || !first.is_zero()) && balance.checked_add(total).is_some() => {
            state.pay_beneficiary(beneficiary, total)?;
        }
        _ => {
            for fee in fees.iter() {
                state.pay_beneficiary(beneficiary, *fee)?;
            }
        }
    }
    fees.clear();
    Ok(())
}

/// How long a waiting thread yields before it sleeps (see [`Backoff`]).
const YIELD_FOR: Duration = Duration::from_micros(500);

/// Spin, then yield, then sleep. The waits here are short: the committer waits for a result a
/// unit of work away at most, a pool thread for the wave the caller is publishing. A thread
/// that sleeps for them wakes late, by the timer's slack (50 microseconds by default on
/// Linux) and more: the pool's thread joined the second wave of an ERC-20 block 80 to 100
/// microseconds after it was published. So a waiting thread yields for up to [`YIELD_FOR`]
/// (which gives the core to any other thread that wants it) and only then sleeps.
#[derive(Default)]
struct Backoff {
    step: u32,
    /// When the thread started yielding.
    yielding: Option<Instant>,
}

impl Backoff {
    fn reset(&mut self) {
        self.step = 0;
        self.yielding = None;
    }

    fn snooze(&mut self) {
        if self.step < 7 {
            for _ in 0..(1u32 << self.step) {
                std::hint::spin_loop();
            }
            self.step += 1;
        } else if self.yielding.get_or_insert_with(Instant::now).elapsed() < YIELD_FOR {
            std::thread::yield_now();
        } else {
            std::thread::sleep(Duration::from_micros(20));
        }
    }
}

#[cfg(test)]
mod tests {
    use alloy_primitives::address;

    use super::*;
    use crate::InMemoryState;

    #[test]
    fn runs_count_equal_neighbours() {
        let got: Vec<(u8, usize)> = runs([1u8, 1, 2, 1, 3, 3, 3].into_iter()).collect();
        assert_eq!(got, vec![(1, 2), (2, 1), (1, 1), (3, 3)]);
        assert_eq!(runs(std::iter::empty::<u8>()).count(), 0);
    }

    /// Paying queued fees at once gives the same diff as paying each at the end of its
    /// transaction, for every kind of beneficiary, including the EIP-161 corner of a first
    /// zero fee on an empty account and balances close to overflow.
    #[test]
    fn batched_fees_equal_fees_paid_one_by_one() {
        let beneficiary = address!("0x00000000000000000000000000000000000000be");
        let mut states = Vec::new();
        states.push(InMemoryState::new());
        let mut empty = InMemoryState::new();
        empty.insert_account(beneficiary, U256::ZERO, 0, None);
        empty.insert_storage(beneficiary, U256::from(1), U256::from(1));
        states.push(empty);
        let mut rich = InMemoryState::new();
        rich.insert_account(beneficiary, U256::from(1_000), 3, None);
        states.push(rich);
        let mut almost_full = InMemoryState::new();
        almost_full.insert_account(beneficiary, U256::MAX - U256::from(5), 0, None);
        states.push(almost_full);
        let fee_lists: Vec<Vec<U256>> = vec![
            vec![],
            vec![U256::ZERO],
            vec![U256::ZERO, U256::ZERO],
            vec![U256::ZERO, U256::from(7)],
            vec![U256::from(7), U256::ZERO, U256::from(3)],
            vec![U256::from(4), U256::from(4)],
            vec![U256::MAX, U256::from(1)],
        ];
        for state in &states {
            for fees in &fee_lists {
                let mut one_by_one = Overlay::new(state);
                for fee in fees {
                    one_by_one.pay_beneficiary(beneficiary, *fee).unwrap();
                }
                let mut batched = Overlay::new(state);
                pay_fees(&mut batched, beneficiary, &mut fees.clone()).unwrap();
                assert_eq!(one_by_one.into_diff(), batched.into_diff(), "fees {fees:?}");
            }
        }
    }
}
