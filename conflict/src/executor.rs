//! The executor interface shared by the sequential, parallel-CPU and GPU executors.

use alloy_consensus::{TxEnvelope, transaction::Recovered};
use alloy_primitives::{Address, B256, Bytes, Log};

use crate::{
    Result,
    state::{StateDiff, StateView},
};

/// The block a set of transactions executes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockContext {
    /// Block number.
    pub number: u64,
    /// Block timestamp (seconds).
    pub timestamp: u64,
    /// Fee recipient.
    pub beneficiary: Address,
    /// Block gas limit.
    pub gas_limit: u64,
    /// EIP-1559 base fee (wei).
    pub base_fee: u64,
    /// `PREVRANDAO` value (the header's mix hash).
    pub prevrandao: B256,
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// EIP-4844 excess blob gas, from which the blob base fee (`BLOBBASEFEE`, the price a
    /// blob transaction pays) derives. Lanes carries no blobs, so its own blocks have 0 (the
    /// minimum price); Ethereum's state tests set it.
    pub excess_blob_gas: u64,
}

/// How one included transaction ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxOutcome {
    /// `true` if it succeeded, `false` if it reverted or halted (it is still included).
    pub success: bool,
    /// Gas used by this transaction, refunds applied.
    pub gas_used: u64,
    /// Gas used by the block up to and including this transaction.
    pub cumulative_gas_used: u64,
    /// Logs it emitted (empty unless it succeeded).
    pub logs: Vec<Log>,
    /// Return or revert data.
    pub output: Bytes,
    /// Address of the contract it created, if it was a successful creation.
    pub contract_address: Option<Address>,
}

/// An included transaction: its position in the input and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncludedTx {
    /// Index into the transactions handed to [`Executor::execute_block`].
    pub index: usize,
    /// Outcome.
    pub outcome: TxOutcome,
}

/// Why a candidate transaction was left out of the block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// Its gas limit does not fit in what is left of the block.
    BlockFull {
        /// Gas left in the block.
        available: u64,
        /// The transaction's gas limit.
        gas_limit: u64,
    },
    /// It is invalid against the state it would execute on (nonce, balance, fee cap, ...).
    Invalid(String),
}

/// A transaction that was not included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedTx {
    /// Index into the transactions handed to [`Executor::execute_block`].
    pub index: usize,
    /// Why.
    pub reason: SkipReason,
}

/// The result of executing a block's candidate transactions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockExecution {
    /// Included transactions in block order.
    pub included: Vec<IncludedTx>,
    /// Candidates left out, in input order.
    pub skipped: Vec<SkippedTx>,
    /// Every state change of the block, the beneficiary's fees included.
    pub diff: StateDiff,
    /// Total gas used.
    pub gas_used: u64,
}

/// Executes an ordered list of candidate transactions on top of committed state.
///
/// Semantics every implementation must match exactly: candidates are considered in order; a
/// candidate is included iff its gas limit fits in the gas left in the block and it is valid
/// against the state produced by the transactions included before it; the result (outcomes,
/// skipped set, state diff) equals that of executing the included transactions one after
/// another with revm.
pub trait Executor: Send + Sync {
    /// A short name for logs and metrics, e.g. `sequential`.
    fn name(&self) -> &'static str;

    /// Executes `txs` in block `block` on top of `state`.
    fn execute_block(
        &self,
        block: &BlockContext,
        txs: &[Recovered<TxEnvelope>],
        state: &dyn StateView,
    ) -> Result<BlockExecution>;
}
