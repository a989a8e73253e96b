//! The wave loop shared by the host build and the device: marshal state into the kernel's
//! tables, run a wave, validate and commit in block order, fall back to revm where the kernel
//! cannot finish.
//!
//! One block runs as a series of waves over the transactions not yet finalized (at most
//! [`Geometry::max_wave_txs`] each). Before a wave, the beneficiary fees owed so far are paid
//! into the committed state and the tables are filled from it for every key of the block's
//! [`KeySet`] (seeded with senders, recipients, access lists and the beneficiary; code is
//! loaded with every account). Every transaction of the wave runs against that same state.
//! The committer then walks the wave in block order:
//!
//! - a transaction whose gas limit does not fit what is left of the block is skipped, as
//!   sequentially;
//! - a result that read a key an earlier transaction of this wave wrote (or that read the
//!   beneficiary after an earlier commit of this wave, whose fee is still owed) is stale: the
//!   wave stops there and the rest joins the next wave on the newer state;
//! - `MISSING_KEY`: the key joins the key set (those of later transactions of the wave too) and
//!   the wave stops; a transaction that keeps missing past [`MAX_MISSES`] runs on the CPU;
//! - `UNSUPPORTED` (a precompile not on the device, a full scratch or output slot): the
//!   transaction runs on the CPU with revm, exactly, in its place; counted by reason;
//! - `INVALID_TX`: revm checks it again on the exact state, which gives the skip reason in
//!   revm's words (and would include it, were the kernel wrong);
//! - otherwise the write set is committed, the outcome recorded and the beneficiary fee queued
//!   (paid lazily, as [`lanes_conflict::fees`] explains).
//!
//! After [`DEFAULT_MAX_ROUNDS`] waves that stopped on a stale read, the rest of the block runs
//! on the CPU one transaction after another. The result equals [`lanes_conflict::SequentialExecutor`]'s.

use std::{collections::BTreeMap, sync::Mutex};

use alloy_consensus::{Transaction, TxEnvelope, transaction::Recovered};
use alloy_primitives::{
    Address, U256,
    map::{AddressSet, HashSet},
};
use lanes_conflict::{
    BlockContext, BlockExecution, ExecError, IncludedTx, Overlay, SkipReason, SkippedTx, StateView,
    TxOutcome,
    evm::{block_env, build_evm, outcome, tx_env},
};
use revm::{
    ExecuteEvm,
    bytecode::Bytecode,
    context::TxEnv,
    state::{Account, AccountInfo, EvmStorageSlot},
};

use crate::{
    GpuError,
    abi::*,
    wave::{Geometry, Key, KeySet, TxResult, WaveBuf, build_wave, read_result},
};

/// Default bound on waves that stop on a stale read before the rest runs sequentially.
pub const DEFAULT_MAX_ROUNDS: usize = 8;
/// Times one transaction may end with `MISSING_KEY` before it runs on the CPU instead.
pub const MAX_MISSES: usize = 256;

/// What runs a wave: the host build on CPU threads, or the device.
pub trait WaveBackend: Send + Sync {
    /// Short name for logs (`gpu-host`, `gpu`).
    fn name(&self) -> &'static str;
    /// Runs every transaction of the wave in `wave` (a `LanesWave` buffer of `tx_count`
    /// transactions), filling `out` (`tx_count * geometry.out_stride` bytes).
    fn run_wave(
        &self,
        wave: &[u8],
        tx_count: usize,
        out: &mut [u8],
        geometry: &Geometry,
    ) -> Result<(), GpuError>;
}

/// Counters of the wave executor, cumulative since it was created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GpuStats {
    /// Blocks executed.
    pub blocks: usize,
    /// Waves run.
    pub waves: usize,
    /// Transactions executed by the kernel (all waves).
    pub kernel_runs: usize,
    /// Transactions committed from a kernel result.
    pub committed: usize,
    /// Waves that stopped on a stale read.
    pub conflicts: usize,
    /// Keys loaded because a transaction missed them.
    pub missing_keys: usize,
    /// Transactions the kernel reported invalid, checked again by revm.
    pub invalid_rechecked: usize,
    /// Transactions that ran on the CPU because the kernel could not finish them, by reason.
    pub unsupported: BTreeMap<String, usize>,
    /// Transactions that ran on the CPU in the sequential fallback.
    pub sequential_fallback: usize,
}

impl GpuStats {
    /// Transactions that ran on the CPU instead of the kernel, all reasons together.
    pub fn unsupported_total(&self) -> usize {
        self.unsupported.values().sum()
    }
}

fn unsupported_reason(reason: u32) -> String {
    match reason {
        LANES_UNSUP_SCRATCH_FULL => "scratch slot full".into(),
        LANES_UNSUP_OUTPUT_FULL => "output slot full".into(),
        LANES_UNSUP_PRECOMPILE => "precompile not in this build".into(),
        LANES_UNSUP_BAD_WAVE => "malformed wave".into(),
        LANES_UNSUP_OVERLAY_FULL => "transaction overlay full".into(),
        other => format!("unsupported reason {other}"),
    }
}

/// A block executor over a [`WaveBackend`].
#[derive(Debug)]
pub struct WaveExecutor<B> {
    backend: B,
    geometry: Geometry,
    max_rounds: usize,
    stats: Mutex<GpuStats>,
    out: BufferPool,
}

/// Reusable 8-aligned buffers, taken for the length of a call and given back after, so that
/// no lock is held while the call runs (blocks may execute concurrently, and the host build
/// waits on rayon, whose threads may pick up another block meanwhile). Keeps at most
/// [`BufferPool::KEEP`] buffers.
#[derive(Debug, Default)]
pub(crate) struct BufferPool(Mutex<Vec<Vec<u64>>>);

/// A buffer taken from a [`BufferPool`]; goes back on drop.
pub(crate) struct PooledBuffer<'p> {
    pool: &'p BufferPool,
    pub(crate) words: Vec<u64>,
}

impl BufferPool {
    const KEEP: usize = 4;

    /// A buffer of at least `words` 64-bit words (contents unspecified).
    pub(crate) fn take(&self, words: usize) -> PooledBuffer<'_> {
        let mut buf = self
            .0
            .lock()
            .expect("buffer pool lock")
            .pop()
            .unwrap_or_default();
        if buf.len() < words {
            buf.resize(words, 0);
        }
        PooledBuffer {
            pool: self,
            words: buf,
        }
    }
}

impl Drop for PooledBuffer<'_> {
    fn drop(&mut self) {
        let mut pool = self.pool.0.lock().expect("buffer pool lock");
        if pool.len() < BufferPool::KEEP {
            pool.push(std::mem::take(&mut self.words));
        }
    }
}

impl<B: WaveBackend> WaveExecutor<B> {
    /// An executor over `backend` with the given buffer sizes.
    pub fn with_backend(backend: B, geometry: Geometry) -> Self {
        Self {
            backend,
            geometry,
            max_rounds: DEFAULT_MAX_ROUNDS,
            stats: Mutex::new(GpuStats::default()),
            out: BufferPool::default(),
        }
    }

    /// Sets the number of stale-read waves after which the rest of a block runs sequentially.
    pub fn with_max_rounds(mut self, max_rounds: usize) -> Self {
        self.max_rounds = max_rounds;
        self
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Counters since creation.
    pub fn stats(&self) -> GpuStats {
        self.stats.lock().expect("stats lock").clone()
    }

    fn execute(
        &self,
        block: &BlockContext,
        txs: &[Recovered<TxEnvelope>],
        state: &dyn StateView,
    ) -> lanes_conflict::Result<BlockExecution> {
        let mut run = BlockRun {
            block,
            txs,
            envs: txs.iter().map(tx_env).collect(),
            committed: Overlay::new(state),
            keys: KeySet::default(),
            fees: Vec::new(),
            out: BlockExecution::default(),
            next: 0,
            misses: vec![0; txs.len()],
            stats: GpuStats {
                blocks: 1,
                ..Default::default()
            },
            last_cpu_touched: Vec::new(),
        };
        run.keys.add_account(block.beneficiary);
        for env in &run.envs {
            run.keys.seed(env);
        }
        let blob_base_fee = block_env(block)
            .blob_excess_gas_and_price
            .map_or(1, |b| b.blob_gasprice);
        let mut wave = WaveBuf::default();
        let mut out = self.out.take(0);
        let mut stale_rounds = 0;
        while run.next < txs.len() {
            if stale_rounds >= self.max_rounds {
                while run.next < txs.len() {
                    run.stats.sequential_fallback += 1;
                    run.on_cpu(run.next)?;
                }
                break;
            }
            run.pay_fees()?;
            let end = txs.len().min(run.next + self.geometry.max_wave_txs.max(1));
            let envs: Vec<&TxEnv> = run.envs[run.next..end].iter().collect();
            build_wave(
                &mut wave,
                block,
                blob_base_fee,
                &envs,
                &run.keys,
                &run.committed,
                &self.geometry,
            )?;
            let stride = self.geometry.out_stride;
            let need = (envs.len() * stride).div_ceil(8);
            if out.words.len() < need {
                out.words.resize(need, 0);
            }
            // SAFETY: a u64 vector viewed as its bytes.
            let out_bytes = unsafe {
                std::slice::from_raw_parts_mut(
                    out.words.as_mut_ptr().cast::<u8>(),
                    envs.len() * stride,
                )
            };
            self.backend
                .run_wave(wave.bytes(), envs.len(), out_bytes, &self.geometry)
                .map_err(|e| ExecError::Evm {
                    index: run.next,
                    message: e.to_string(),
                })?;
            run.stats.waves += 1;
            run.stats.kernel_runs += envs.len();
            let first = run.next;
            let results = (0..envs.len())
                .map(|i| {
                    read_result(&out_bytes[i * stride..(i + 1) * stride]).map_err(|message| {
                        ExecError::Evm {
                            index: first + i,
                            message: GpuError::Abi {
                                index: first + i,
                                message,
                            }
                            .to_string(),
                        }
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            if run.commit_wave(first, results)? == WaveEnd::Stale {
                stale_rounds += 1;
            }
        }
        run.pay_fees()?;
        let BlockRun {
            committed,
            mut out,
            stats,
            ..
        } = run;
        out.diff = committed.into_diff();
        let mut total = self.stats.lock().expect("stats lock");
        merge_stats(&mut total, &stats);
        if stats.unsupported_total() > 0 {
            tracing::debug!(unsupported = ?stats.unsupported, "transactions run on the CPU");
        }
        Ok(out)
    }
}

fn merge_stats(total: &mut GpuStats, block: &GpuStats) {
    total.blocks += block.blocks;
    total.waves += block.waves;
    total.kernel_runs += block.kernel_runs;
    total.committed += block.committed;
    total.conflicts += block.conflicts;
    total.missing_keys += block.missing_keys;
    total.invalid_rechecked += block.invalid_rechecked;
    total.sequential_fallback += block.sequential_fallback;
    for (reason, count) in &block.unsupported {
        *total.unsupported.entry(reason.clone()).or_default() += count;
    }
}

impl<B: WaveBackend> lanes_conflict::Executor for WaveExecutor<B> {
    fn name(&self) -> &'static str {
        self.backend.name()
    }

    fn execute_block(
        &self,
        block: &BlockContext,
        txs: &[Recovered<TxEnvelope>],
        state: &dyn StateView,
    ) -> lanes_conflict::Result<BlockExecution> {
        self.execute(block, txs, state)
    }
}

#[derive(Debug, PartialEq, Eq)]
enum WaveEnd {
    /// Every transaction of the wave was finalized, or it stopped on a miss.
    Done,
    /// It stopped on a stale read.
    Stale,
}

/// Keys written by the transactions committed so far in a wave.
#[derive(Default)]
struct Written {
    accounts: AddressSet,
    slots: HashSet<(Address, U256)>,
    /// Accounts whose storage was wiped, or that the CPU changed (conservatively: everything
    /// about them).
    whole: AddressSet,
    /// Something was committed: the beneficiary's balance lags by its fee.
    any: bool,
}

impl Written {
    /// Records a transaction the CPU executed: everything about the accounts it touched.
    fn mark_cpu(&mut self, touched: &[Address]) {
        self.whole.extend(touched.iter().copied());
        self.any = true;
    }

    fn stale(&self, key: &Key, beneficiary: Address) -> bool {
        match key {
            Key::Account(a) | Key::Code(a) => {
                (*a == beneficiary && self.any)
                    || self.accounts.contains(a)
                    || self.whole.contains(a)
            }
            Key::Storage(a, s) => self.whole.contains(a) || self.slots.contains(&(*a, *s)),
            Key::BlockHash(_) => false,
        }
    }
}

struct BlockRun<'b> {
    block: &'b BlockContext,
    txs: &'b [Recovered<TxEnvelope>],
    envs: Vec<TxEnv>,
    committed: Overlay<'b, dyn StateView + 'b>,
    keys: KeySet,
    fees: Vec<U256>,
    out: BlockExecution,
    next: usize,
    misses: Vec<usize>,
    stats: GpuStats,
    /// Addresses the last CPU execution touched.
    last_cpu_touched: Vec<Address>,
}

impl<'b> BlockRun<'b> {
    /// Validates and commits the wave's results (`results[i]` is transaction `first + i`) in
    /// block order, as far as they allow.
    fn commit_wave(
        &mut self,
        first: usize,
        results: Vec<TxResult>,
    ) -> lanes_conflict::Result<WaveEnd> {
        let mut written = Written::default();
        let mut stopped = false;
        let mut end = WaveEnd::Done;
        for (i, result) in results.into_iter().enumerate() {
            let index = first + i;
            if stopped {
                // Later transactions still tell which keys they need.
                if let Some(key) = result.missing
                    && self.keys.add(key)
                {
                    self.stats.missing_keys += 1;
                }
                continue;
            }
            debug_assert_eq!(index, self.next);
            let gas_limit = self.txs[index].gas_limit();
            let available = self.block.gas_limit - self.out.gas_used;
            if gas_limit > available {
                self.skip(
                    index,
                    SkipReason::BlockFull {
                        available,
                        gas_limit,
                    },
                );
                continue;
            }
            if result
                .reads
                .iter()
                .any(|k| written.stale(k, self.block.beneficiary))
            {
                self.stats.conflicts += 1;
                end = WaveEnd::Stale;
                stopped = true;
                continue;
            }
            match result.status {
                LANES_STATUS_MISSING_KEY => {
                    self.misses[index] += 1;
                    let key = result.missing.expect("decoded with the status");
                    let new = self.keys.add(key);
                    if new {
                        self.stats.missing_keys += 1;
                    }
                    if !new || self.misses[index] > MAX_MISSES {
                        // A miss on a key the tables hold, or one too many: the CPU runs it.
                        let reason = if new {
                            "too many missing keys"
                        } else {
                            "missed a key the tables hold"
                        };
                        self.count_unsupported(reason.into());
                        self.on_cpu(index)?;
                        written.mark_cpu(&self.last_cpu_touched);
                        continue;
                    }
                    stopped = true;
                }
                LANES_STATUS_UNSUPPORTED => {
                    self.count_unsupported(unsupported_reason(result.reason));
                    self.on_cpu(index)?;
                    written.mark_cpu(&self.last_cpu_touched);
                }
                LANES_STATUS_INVALID_TX => {
                    self.stats.invalid_rechecked += 1;
                    self.on_cpu(index)?;
                    written.mark_cpu(&self.last_cpu_touched);
                }
                _ => {
                    self.commit(index, &result, &mut written)?;
                }
            }
        }
        Ok(end)
    }

    fn count_unsupported(&mut self, reason: String) {
        *self.stats.unsupported.entry(reason).or_default() += 1;
    }

    fn skip(&mut self, index: usize, reason: SkipReason) {
        self.out.skipped.push(SkippedTx { index, reason });
        self.next += 1;
    }

    /// Commits a kernel result of transaction `index`.
    fn commit(
        &mut self,
        index: usize,
        result: &TxResult,
        written: &mut Written,
    ) -> lanes_conflict::Result<()> {
        let beneficiary = self.block.beneficiary;
        let mut changes: Vec<(Address, Account)> = Vec::new();
        for write in &result.account_writes {
            if write.flags == LANES_AW_DELETED && write.address == beneficiary {
                // revm pays the fee into the same account before it commits the transaction,
                // so the beneficiary goes only if it is still empty then. The fee payment
                // queued below touches it, which deletes it exactly in that case.
                continue;
            }
            // The kernel reports every account the transaction touched, as revm does, so that
            // the diffs are equal; one left as it was is not a write for validation.
            let unchanged = match write.flags {
                0 => StateView::account(&self.committed, write.address)?.is_some_and(|info| {
                    info.nonce == write.nonce
                        && info.balance == write.balance
                        && info.code_hash == write.code_hash
                }),
                LANES_AW_DELETED => StateView::account(&self.committed, write.address)?.is_none(),
                _ => false,
            };
            let mut account = if write.flags & (LANES_AW_DESTROYED | LANES_AW_DELETED) != 0 {
                let mut account = Account::new_not_existing(Default::default());
                account.mark_selfdestruct();
                account
            } else {
                let info = AccountInfo {
                    balance: write.balance,
                    nonce: write.nonce,
                    code_hash: write.code_hash,
                    code: write.code.clone().map(Bytecode::new_raw),
                    account_id: None,
                };
                let mut account = Account::from(info);
                if write.flags & LANES_AW_CREATED != 0 {
                    account.mark_created();
                }
                account
            };
            account.mark_touch();
            if !unchanged {
                written.accounts.insert(write.address);
                if write.flags & (LANES_AW_CREATED | LANES_AW_DESTROYED | LANES_AW_DELETED) != 0 {
                    written.whole.insert(write.address);
                }
            }
            changes.push((write.address, account));
        }
        // revm pays the fee into the beneficiary's account as it is at the end of the
        // transaction, code included if the transaction loaded it (and the diff records loaded
        // code). The kernel reports the beneficiary only if the transaction touched it: when
        // it merely read its code, commit it touched and unchanged so that the code is
        // recorded; the fee payment touches it anyway.
        if !changes.iter().any(|(a, _)| *a == beneficiary)
            && result.reads.contains(&Key::Code(beneficiary))
            && let Some(info) = StateView::account(&self.committed, beneficiary)?
        {
            let mut account = Account::from(info);
            account.mark_touch();
            changes.push((beneficiary, account));
        }
        for &(address, slot, value) in &result.storage_writes {
            let at = match changes.iter().position(|(a, _)| *a == address) {
                Some(at) => at,
                None => {
                    // Storage changed, account info did not: as revm reports it, touched with
                    // its committed info.
                    let info = StateView::account(&self.committed, address)?.unwrap_or_default();
                    let mut account = Account::from(info);
                    account.mark_touch();
                    changes.push((address, account));
                    changes.len() - 1
                }
            };
            // Any original different from `value` marks the slot changed, which is all the
            // overlay looks at.
            let original = if value.is_zero() {
                U256::from(1)
            } else {
                U256::ZERO
            };
            changes[at].1.storage.insert(
                slot,
                EvmStorageSlot::new_changed(original, value, Default::default()),
            );
            written.slots.insert((address, slot));
        }
        // revm's account carries the code it loaded, and the overlay records loaded code in
        // the diff: attach the committed code of every changed account whose code was read.
        for (address, account) in &mut changes {
            if account.info.code.is_none()
                && account.info.code_hash != revm::primitives::KECCAK_EMPTY
                && !account.is_selfdestructed()
                && result.reads.contains(&Key::Code(*address))
            {
                account.info.code = StateView::code(&self.committed, account.info.code_hash)?;
            }
        }
        self.committed.apply(changes);
        self.fees.push(result.coinbase_fee);
        written.any = true;
        let success = result.status == LANES_STATUS_SUCCESS;
        let create = matches!(self.envs[index].kind, revm::primitives::TxKind::Create);
        let outcome = TxOutcome {
            success,
            gas_used: result.gas_used,
            cumulative_gas_used: self.out.gas_used + result.gas_used,
            logs: if success {
                result.logs.clone()
            } else {
                Vec::new()
            },
            output: if result.status == LANES_STATUS_HALT {
                Default::default()
            } else {
                result.return_data.clone()
            },
            contract_address: (success && create).then_some(result.created_address),
        };
        self.out.gas_used = outcome.cumulative_gas_used;
        self.out.included.push(IncludedTx { index, outcome });
        self.stats.committed += 1;
        self.next += 1;
        Ok(())
    }

    /// Pays the queued beneficiary fees, one by one, exactly as revm pays each at the end of
    /// its transaction: the account loaded without code, its balance raised unless that
    /// overflows, touched (so an account left empty is deleted, EIP-161).
    fn pay_fees(&mut self) -> lanes_conflict::Result<()> {
        let beneficiary = self.block.beneficiary;
        for fee in std::mem::take(&mut self.fees) {
            let mut account = match StateView::account(&self.committed, beneficiary)? {
                Some(info) => Account::from(info),
                None => Account::new_not_existing(Default::default()),
            };
            account.mark_touch();
            if let Some(balance) = account.info.balance.checked_add(fee) {
                account.info.balance = balance;
            }
            self.committed.apply([(beneficiary, account)]);
        }
        Ok(())
    }

    /// Executes transaction `index` with revm on the exact committed state (owed fees paid
    /// first), records the addresses it touched in `last_cpu_touched`, and finalizes it.
    fn on_cpu(&mut self, index: usize) -> lanes_conflict::Result<()> {
        self.pay_fees()?;
        self.last_cpu_touched.clear();
        let available = self.block.gas_limit - self.out.gas_used;
        let gas_limit = self.txs[index].gas_limit();
        if gas_limit > available {
            self.skip(
                index,
                SkipReason::BlockFull {
                    available,
                    gas_limit,
                },
            );
            return Ok(());
        }
        let mut evm = build_evm(self.block, &mut self.committed);
        let result = evm.transact(self.envs[index].clone());
        drop(evm);
        match result {
            Ok(result) => {
                self.last_cpu_touched.extend(
                    result
                        .state
                        .iter()
                        .filter(|(_, a)| a.is_touched())
                        .map(|(a, _)| *a),
                );
                self.committed.apply(result.state);
                let outcome = outcome(result.result, self.out.gas_used);
                self.out.gas_used = outcome.cumulative_gas_used;
                self.out.included.push(IncludedTx { index, outcome });
                self.next += 1;
            }
            Err(error) => {
                let reason = ExecError::from_evm(index, error)?;
                self.skip(index, reason);
            }
        }
        Ok(())
    }
}
