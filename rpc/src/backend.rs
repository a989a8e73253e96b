//! The contract between the JSON-RPC layer and the node.
//!
//! The RPC crate knows nothing about storage, the pool or execution; it asks an [`EthBackend`]
//! (implemented by `lanes-sequencer`) and turns the answers into Ethereum JSON-RPC responses.
//! Everything here is expressed in alloy's consensus types so the node can hand over what it
//! stores without conversion.

use std::{collections::BTreeMap, sync::Arc};

use alloy_consensus::{Header, ReceiptEnvelope, Sealed, TxEnvelope, transaction::Recovered};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_rpc_types_eth::TransactionRequest;
use tokio::sync::broadcast;

/// A canonical block as the node stores it.
#[derive(Debug, Clone)]
pub struct BlockData {
    /// The sealed header (its hash is the block hash).
    pub header: Sealed<Header>,
    /// Transactions in block order, each with its recovered sender.
    pub transactions: Vec<Recovered<TxEnvelope>>,
    /// Size of the RLP-encoded block in bytes.
    pub size: u64,
}

/// A block that was just committed, with its receipts, as broadcast to subscribers.
#[derive(Debug, Clone)]
pub struct NewBlock {
    /// The block.
    pub block: BlockData,
    /// Receipts in transaction order (logs use `alloy_primitives::Log`).
    pub receipts: Vec<ReceiptEnvelope>,
}

/// An account's state at some block.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountState {
    /// Nonce.
    pub nonce: u64,
    /// Balance in wei.
    pub balance: U256,
    /// Keccak-256 of the code (`KECCAK_EMPTY` for accounts without code).
    pub code_hash: B256,
}

/// How a simulated call (`eth_call`, `eth_estimateGas`) ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallOutcome {
    /// The call returned normally.
    Success {
        /// Return data.
        output: Bytes,
        /// Gas used, refunds applied.
        gas_used: u64,
    },
    /// The call executed REVERT.
    Revert {
        /// Revert data (e.g. an ABI-encoded `Error(string)`).
        output: Bytes,
        /// Gas used.
        gas_used: u64,
    },
    /// The call halted exceptionally (out of gas, invalid opcode, ...).
    Halt {
        /// Human-readable reason, e.g. `out of gas`.
        reason: String,
        /// Gas used (all of the limit).
        gas_used: u64,
    },
}

/// Transactions in the pool, grouped like geth's `txpool_content`.
#[derive(Debug, Clone, Default)]
pub struct PoolContent {
    /// Executable transactions: sender -> nonce -> transaction.
    pub pending: BTreeMap<Address, BTreeMap<u64, Recovered<TxEnvelope>>>,
    /// Transactions waiting for a nonce gap to close.
    pub queued: BTreeMap<Address, BTreeMap<u64, Recovered<TxEnvelope>>>,
}

/// Errors the backend reports; the RPC layer maps each to a JSON-RPC error object.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum BackendError {
    /// A transaction was refused (decode error, validation, pool rules). `code` is the
    /// JSON-RPC code to answer with (-32000 for geth-style pool errors, -32602 for bad
    /// params, -32003 for "transaction rejected"); `message` is geth-compatible.
    #[error("{message}")]
    Rejected {
        /// JSON-RPC error code.
        code: i32,
        /// Message, e.g. `nonce too low: next nonce 7, tx nonce 5`.
        message: String,
    },
    /// State at the requested block is no longer (or not yet) available.
    #[error("state for block {requested} is not available (available: {oldest}..={head})")]
    StateUnavailable {
        /// Block asked for.
        requested: u64,
        /// Oldest block whose state is still served.
        oldest: u64,
        /// Current head.
        head: u64,
    },
    /// A request that cannot be simulated, e.g. a call whose gas exceeds the cap.
    #[error("{0}")]
    InvalidRequest(String),
    /// Something failed inside the node (storage, execution). Logged; answered as -32603.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The blocks the `latest`, `safe` and `finalized` tags name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainMarks {
    /// The latest block.
    pub head: u64,
    /// The newest block the node considers safe from reorgs (a rollup: posted to L1).
    pub safe: u64,
    /// The newest final block (a rollup: in a batch finalized on L1 with a proof).
    pub finalized: u64,
}

impl ChainMarks {
    /// All three at `head` (a node with no notion of finality beyond its own head).
    pub const fn at_head(head: u64) -> Self {
        Self {
            head,
            safe: head,
            finalized: head,
        }
    }
}

/// What the JSON-RPC layer needs from a node. Implementations must be cheap to call from many
/// tasks at once; reads see a consistent snapshot of committed blocks.
///
/// Block numbers passed in are already resolved by the RPC layer: `latest` maps to
/// [`EthBackend::head_number`], `safe` and `finalized` to [`EthBackend::marks`], `earliest` to 0,
/// and `pending` to the head as well (the pending block is not materialised), except where a
/// method says otherwise.
pub trait EthBackend: Send + Sync + 'static {
    /// EIP-155 chain id.
    fn chain_id(&self) -> u64;
    /// `web3_clientVersion`, e.g. `lanes/v0.1.0/linux-x86_64`.
    fn client_version(&self) -> String;
    /// Number of the latest committed block.
    fn head_number(&self) -> u64;
    /// The blocks `latest`, `safe` and `finalized` name; by default all the head.
    fn marks(&self) -> ChainMarks {
        ChainMarks::at_head(self.head_number())
    }
    /// Block gas limit of the next block.
    fn block_gas_limit(&self) -> u64;
    /// Base fee the next block will have (EIP-1559), in wei.
    fn next_base_fee(&self) -> u64;
    /// Accounts this node can sign for or advertises (the dev accounts in `--dev`, else empty).
    fn accounts(&self) -> Vec<Address>;

    /// Canonical block by number.
    fn block_by_number(&self, number: u64) -> Result<Option<BlockData>, BackendError>;
    /// Header of the canonical block `number`. Log queries, fee history and the gas oracle read
    /// only headers (to test the logs bloom, or read the base fee) for most blocks, so a node
    /// that stores headers apart from bodies should override this; the default loads the block.
    fn header_by_number(&self, number: u64) -> Result<Option<Sealed<Header>>, BackendError> {
        Ok(self.block_by_number(number)?.map(|block| block.header))
    }
    /// Number of the canonical block with this hash.
    fn block_number_by_hash(&self, hash: B256) -> Result<Option<u64>, BackendError>;
    /// Receipts of a canonical block, in transaction order.
    fn receipts(&self, number: u64) -> Result<Option<Vec<ReceiptEnvelope>>, BackendError>;
    /// Where a mined transaction is: (block number, index in block).
    fn transaction_location(&self, hash: B256) -> Result<Option<(u64, u64)>, BackendError>;

    /// Account at the end of block `at`; `None` if it does not exist.
    fn account(&self, address: Address, at: u64) -> Result<Option<AccountState>, BackendError>;
    /// Storage slot value at the end of block `at`.
    fn storage(&self, address: Address, slot: B256, at: u64) -> Result<B256, BackendError>;
    /// Contract code at the end of block `at` (empty if none).
    fn code(&self, address: Address, at: u64) -> Result<Bytes, BackendError>;
    /// Simulates `request` on top of the state at the end of block `at`, in a block with the
    /// next block's number, base fee and gas limit. `gas_limit` overrides the request's gas.
    /// No state is changed.
    fn call(
        &self,
        request: &TransactionRequest,
        at: u64,
        gas_limit: u64,
    ) -> Result<CallOutcome, BackendError>;

    /// Decodes, validates and adds a raw signed transaction to the pool; returns its hash.
    fn send_raw_transaction(&self, raw: Bytes) -> Result<B256, BackendError>;
    /// The next nonce for `address` counting executable pool transactions (`pending` tag).
    fn pending_nonce(&self, address: Address) -> Result<u64, BackendError>;
    /// A transaction still waiting in the pool.
    fn pool_transaction(&self, hash: B256) -> Option<Recovered<TxEnvelope>>;
    /// (pending, queued) counts.
    fn pool_status(&self) -> (usize, usize);
    /// Every pooled transaction.
    fn pool_content(&self) -> PoolContent;

    /// Committed blocks, in order, as they are made durable.
    fn subscribe_blocks(&self) -> broadcast::Receiver<Arc<NewBlock>>;
    /// Hashes of transactions as they enter the pool.
    fn subscribe_pending_transactions(&self) -> broadcast::Receiver<B256>;
}
