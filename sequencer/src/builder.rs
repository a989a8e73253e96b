//! Block production: on every tick, take the best pool transactions, execute them, compute the
//! roots, write the block durably, then tell the pool and subscribers.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use alloy_consensus::{
    Eip658Value, Header, Receipt, ReceiptEnvelope, ReceiptWithBloom, TxEnvelope, TxType,
    proofs::{calculate_receipt_root, calculate_transaction_root},
    transaction::Recovered,
};
use alloy_primitives::{Address, B256, Bloom, Sealable, keccak256};
use lanes_conflict::{BlockContext, BlockExecution, Executor, SkipReason};
use lanes_rpc::backend::{BlockData, NewBlock};
use tracing::{debug, error, info};

use crate::{
    chain::cancun_header,
    node::Node,
    pool::SenderState,
    state::StateTries,
    storage::{BlockWrite, StateAt, StorageError},
};

/// Most transactions considered for one block.
const MAX_BLOCK_TXS: usize = 20_000;

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Errors that stop block production.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Storage failed; the node must stop (the in-memory trie may be ahead of the disk).
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The executor failed.
    #[error(transparent)]
    Exec(#[from] lanes_conflict::ExecError),
    /// Reading the parent state failed.
    #[error(transparent)]
    State(#[from] lanes_conflict::StateError),
    /// Signing a deposit transaction failed.
    #[error("signing a deposit transaction: {0}")]
    Sign(String),
}

/// Why a block from elsewhere could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Storage or execution failed.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The block does not follow the head.
    #[error("block {number} does not follow the head {head}")]
    NotNext {
        /// The block's number.
        number: u64,
        /// The head.
        head: u64,
    },
    /// The timestamp goes backwards.
    #[error("block {number} has timestamp {timestamp}, before its parent's {parent}")]
    Timestamp {
        /// The block's number.
        number: u64,
        /// Its timestamp.
        timestamp: u64,
        /// The parent's.
        parent: u64,
    },
    /// A transaction could not be included.
    #[error("block {number}: transaction {index} ({hash}) cannot be included: {reason}")]
    Skipped {
        /// The block's number.
        number: u64,
        /// Index in the block.
        index: usize,
        /// Its hash.
        hash: B256,
        /// Why.
        reason: String,
    },
}

/// The single writer of the chain.
pub struct BlockBuilder {
    node: Arc<Node>,
    tries: StateTries,
    executor: Arc<dyn Executor>,
    block_time: Duration,
    coinbase: Address,
}

impl std::fmt::Debug for BlockBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockBuilder")
            .field("executor", &self.executor.name())
            .finish_non_exhaustive()
    }
}

fn receipt_envelope(ty: TxType, receipt: ReceiptWithBloom<Receipt>) -> ReceiptEnvelope {
    match ty {
        TxType::Legacy => ReceiptEnvelope::Legacy(receipt),
        TxType::Eip2930 => ReceiptEnvelope::Eip2930(receipt),
        TxType::Eip1559 => ReceiptEnvelope::Eip1559(receipt),
        TxType::Eip4844 => ReceiptEnvelope::Eip4844(receipt),
        TxType::Eip7702 => ReceiptEnvelope::Eip7702(receipt),
    }
}

impl BlockBuilder {
    /// A builder continuing from the node's head with the given tries.
    pub fn new(
        node: Arc<Node>,
        tries: StateTries,
        executor: Arc<dyn Executor>,
        block_time: Duration,
        coinbase: Address,
    ) -> Self {
        Self {
            node,
            tries,
            executor,
            block_time,
            coinbase,
        }
    }

    /// Produces blocks until `stop` is set. Returns an error if a block could not be made
    /// durable; the caller must then shut the node down.
    pub fn run(mut self, stop: &AtomicBool) -> Result<(), BuildError> {
        info!(
            executor = self.executor.name(),
            block_time_ms = self.block_time.as_millis() as u64,
            "block builder started"
        );
        let mut next = Instant::now() + self.block_time;
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            if now < next {
                std::thread::sleep((next - now).min(Duration::from_millis(50)));
                continue;
            }
            next += self.block_time;
            if next < now {
                // We fell behind (a slow block); do not try to catch up with a burst.
                next = now + self.block_time;
            }
            if self.node.pool().has_pending() || !self.node.deposits().is_empty() {
                self.build_block()?;
            }
        }
        info!("block builder stopped");
        Ok(())
    }

    /// Builds, commits and announces one block from the pool. Returns `None` if no transaction
    /// was includable.
    pub fn build_block(&mut self) -> Result<Option<Arc<NewBlock>>, BuildError> {
        let started = Instant::now();
        let parent = self.node.head();
        let base_fee = Node::next_base_fee_of(&parent);
        let gas_limit = self.node.chain().gas_limit;
        // L1 deposits first, in queue order; then the pool's best.
        let mut candidates = self.deposit_txs(&parent, base_fee)?;
        let deposits = candidates.len();
        let deposit_gas = deposits as u64 * crate::deposits::DEPOSIT_TX_GAS;
        candidates.extend(
            self.node
                .pool()
                .best(
                    base_fee,
                    gas_limit.saturating_sub(deposit_gas),
                    MAX_BLOCK_TXS,
                )
                .into_iter()
                .map(|t| (*t).clone()),
        );
        if candidates.is_empty() {
            return Ok(None);
        }
        let ctx = BlockContext {
            number: parent.number + 1,
            timestamp: unix_now().max(parent.timestamp),
            beneficiary: self.coinbase,
            gas_limit,
            base_fee,
            prevrandao: keccak256(parent.hash()),
            chain_id: self.node.chain().chain_id,
            excess_blob_gas: 0,
        };
        let exec_started = Instant::now();
        let mut execution = {
            let reader = self.node.store().reader()?;
            let state = StateAt::new(&reader, parent.number, parent.number);
            self.executor.execute_block(&ctx, &candidates, &state)?
        };
        let exec_elapsed = exec_started.elapsed();
        let invalid: Vec<B256> = execution
            .skipped
            .iter()
            .filter(|s| matches!(s.reason, SkipReason::Invalid(_)))
            .map(|s| {
                let hash = *candidates[s.index].tx_hash();
                if s.index < deposits {
                    error!(%hash, reason = ?s.reason, "deposit transaction not includable; retried next block");
                } else {
                    debug!(%hash, reason = ?s.reason, "dropping transaction invalid at execution");
                }
                hash
            })
            .collect();
        if execution.included.is_empty() {
            self.node.pool().on_block(&[], &invalid);
            return Ok(None);
        }
        let block = self.seal(&ctx, &parent, candidates, &mut execution);
        let new_block = self.commit(block, &execution, &invalid)?;
        log_block(&new_block, base_fee, started, exec_elapsed, &self.node);
        Ok(Some(new_block))
    }

    /// The system transactions for the L1 deposits not yet on L2 at `parent`, in queue order.
    fn deposit_txs(
        &self,
        parent: &alloy_consensus::Sealed<Header>,
        base_fee: u64,
    ) -> Result<Vec<Recovered<TxEnvelope>>, BuildError> {
        let queue = self.node.deposits();
        if queue.is_empty() {
            return Ok(Vec::new());
        }
        let reader = self.node.store().reader()?;
        let state = StateAt::new(&reader, parent.number, parent.number);
        let (next, _) = crate::deposits::l2_progress(&state)?;
        let pending = queue.pending_from(next, crate::deposits::MAX_PER_BLOCK);
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        let system = crate::deposits::system_address();
        let nonce = lanes_conflict::StateView::account(&state, system)?.map_or(0, |a| a.nonce);
        let chain_id = self.node.chain().chain_id;
        let txs = pending
            .iter()
            .zip(nonce..)
            .map(|(d, nonce)| crate::deposits::deposit_tx(d, nonce, base_fee, chain_id))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| BuildError::Sign(e.to_string()))?;
        debug!(
            first = pending[0].index,
            count = pending.len(),
            "including L1 deposits"
        );
        Ok(txs)
    }

    /// Re-executes a block received from elsewhere (derivation from L1): the given
    /// transactions, in order, on top of the head, with the context the sequencer used. Every
    /// transaction must be included; otherwise nothing is written and the error says which
    /// transaction failed.
    pub fn import_block(
        &mut self,
        number: u64,
        timestamp: u64,
        transactions: Vec<Recovered<TxEnvelope>>,
    ) -> Result<Arc<NewBlock>, ImportError> {
        let started = Instant::now();
        let parent = self.node.head();
        if number != parent.number + 1 {
            return Err(ImportError::NotNext {
                number,
                head: parent.number,
            });
        }
        if timestamp < parent.timestamp {
            return Err(ImportError::Timestamp {
                number,
                timestamp,
                parent: parent.timestamp,
            });
        }
        let base_fee = Node::next_base_fee_of(&parent);
        let ctx = BlockContext {
            number,
            timestamp,
            beneficiary: self.coinbase,
            gas_limit: self.node.chain().gas_limit,
            base_fee,
            prevrandao: keccak256(parent.hash()),
            chain_id: self.node.chain().chain_id,
            excess_blob_gas: 0,
        };
        let exec_started = Instant::now();
        let mut execution = {
            let reader = self.node.store().reader().map_err(BuildError::from)?;
            let state = StateAt::new(&reader, parent.number, parent.number);
            self.executor
                .execute_block(&ctx, &transactions, &state)
                .map_err(BuildError::from)?
        };
        let exec_elapsed = exec_started.elapsed();
        if let Some(skip) = execution.skipped.first() {
            return Err(ImportError::Skipped {
                number,
                index: skip.index,
                hash: *transactions[skip.index].tx_hash(),
                reason: format!("{:?}", skip.reason),
            });
        }
        let block = self.seal(&ctx, &parent, transactions, &mut execution);
        let new_block = self.commit(block, &execution, &[])?;
        log_block(&new_block, base_fee, started, exec_elapsed, &self.node);
        Ok(new_block)
    }

    /// Writes a sealed block durably, updates the pool, and announces the block.
    fn commit(
        &mut self,
        block: NewBlock,
        execution: &BlockExecution,
        invalid: &[B256],
    ) -> Result<Arc<NewBlock>, BuildError> {
        let new_block = Arc::new(block);
        self.node.store().write_block(&BlockWrite {
            header: &new_block.block.header,
            transactions: &new_block.block.transactions,
            receipts: &new_block.receipts,
            diff: &execution.diff,
        })?;
        let changed: Vec<(Address, SenderState)> = execution
            .diff
            .accounts
            .iter()
            .map(|(a, d)| {
                let s = d
                    .info
                    .as_ref()
                    .map_or_else(SenderState::default, |i| SenderState {
                        nonce: i.nonce,
                        balance: i.balance,
                    });
                (*a, s)
            })
            .collect();
        self.node.pool().on_block(&changed, invalid);
        self.node.on_new_block(new_block.clone());
        Ok(new_block)
    }

    /// The node this builder writes to.
    pub fn node(&self) -> &Arc<Node> {
        &self.node
    }

    fn seal(
        &mut self,
        ctx: &BlockContext,
        parent: &alloy_consensus::Sealed<Header>,
        candidates: Vec<Recovered<TxEnvelope>>,
        execution: &mut BlockExecution,
    ) -> NewBlock {
        // Included transactions and their logs move into the block; nothing reads them later.
        let mut candidates: Vec<Option<Recovered<TxEnvelope>>> =
            candidates.into_iter().map(Some).collect();
        let mut transactions = Vec::with_capacity(execution.included.len());
        let mut receipts = Vec::with_capacity(execution.included.len());
        let mut logs_bloom = Bloom::ZERO;
        for included in &mut execution.included {
            let Some(tx) = candidates[included.index].take() else {
                continue;
            };
            let outcome = &mut included.outcome;
            let receipt = Receipt {
                status: Eip658Value::Eip658(outcome.success),
                cumulative_gas_used: outcome.cumulative_gas_used,
                logs: std::mem::take(&mut outcome.logs),
            }
            .with_bloom();
            logs_bloom.accrue_bloom(&receipt.logs_bloom);
            receipts.push(receipt_envelope(tx.inner().tx_type(), receipt));
            transactions.push(tx);
        }
        let state_root = self.tries.apply(&execution.diff);
        let envelopes: Vec<&TxEnvelope> = transactions.iter().map(|t| t.inner()).collect();
        let header = Header {
            parent_hash: parent.hash(),
            beneficiary: ctx.beneficiary,
            state_root,
            transactions_root: calculate_transaction_root(&envelopes),
            receipts_root: calculate_receipt_root(&receipts),
            logs_bloom,
            number: ctx.number,
            gas_limit: ctx.gas_limit,
            gas_used: execution.gas_used,
            timestamp: ctx.timestamp,
            mix_hash: ctx.prevrandao,
            base_fee_per_gas: Some(ctx.base_fee),
            ..cancun_header()
        };
        let body_size: usize = envelopes
            .iter()
            .map(|t| alloy_eips::eip2718::Encodable2718::encode_2718_len(*t))
            .sum();
        let size = (alloy_rlp::Encodable::length(&header) + body_size + 8) as u64;
        NewBlock {
            block: BlockData {
                header: header.seal_slow(),
                transactions,
                size,
            },
            receipts,
        }
    }
}

fn log_block(
    new_block: &NewBlock,
    base_fee: u64,
    started: Instant,
    exec_elapsed: Duration,
    node: &Node,
) {
    let elapsed = started.elapsed();
    let header = &new_block.block.header;
    let txs = new_block.block.transactions.len();
    metrics::counter!("lanes_blocks_total").increment(1);
    metrics::counter!("lanes_transactions_included_total").increment(txs as u64);
    metrics::histogram!("lanes_block_build_seconds").record(elapsed.as_secs_f64());
    metrics::histogram!("lanes_block_execution_seconds").record(exec_elapsed.as_secs_f64());
    metrics::gauge!("lanes_gas_per_second")
        .set(header.gas_used as f64 / exec_elapsed.as_secs_f64().max(1e-9));
    metrics::gauge!("lanes_head_block").set(header.number as f64);
    let (pending, queued) = node.pool().status();
    metrics::gauge!("lanes_txpool_pending").set(pending as f64);
    metrics::gauge!("lanes_txpool_queued").set(queued as f64);
    info!(
        number = header.number,
        hash = %header.hash(),
        txs,
        gas_used = header.gas_used,
        base_fee,
        exec_ms = exec_elapsed.as_secs_f64() * 1e3,
        build_ms = elapsed.as_secs_f64() * 1e3,
        "block committed"
    );
}

/// Runs the builder on its own thread; logs and flags a fatal error.
pub fn spawn(
    builder: BlockBuilder,
    stop: Arc<AtomicBool>,
    failed: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("block-builder".into())
        .spawn(move || {
            if let Err(e) = builder.run(&stop) {
                error!(error = %e, "block production failed; shutting down");
                failed.store(true, Ordering::SeqCst);
                stop.store(true, Ordering::SeqCst);
            }
        })
}
