//! The JSON-RPC namespaces, declared as jsonrpsee traits. Parameter parsing (and its -32602
//! errors) is generated from these signatures; `Option` parameters may be left out.

use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::{Address, B256, Bytes, U64, U256};
use alloy_rpc_types_eth::{
    Block, FeeHistory, Filter, FilterChanges, Index, Log, Transaction, TransactionReceipt,
    TransactionRequest,
    pubsub::{Params, SubscriptionKind},
};
use alloy_serde::JsonStorageKey;
use jsonrpsee::{core::SubscriptionResult, proc_macros::rpc};

use crate::{
    error::Result,
    txpool::{TxpoolContent, TxpoolContentFrom, TxpoolStatus},
    types::{FilterIdParam, Quantity},
};

/// `eth_` methods about chain, state, execution, fees and transactions.
#[rpc(server, namespace = "eth")]
pub trait EthApi {
    /// EIP-155 chain id.
    #[method(name = "chainId")]
    fn chain_id(&self) -> Result<U64>;

    /// Number of the latest block.
    #[method(name = "blockNumber")]
    fn block_number(&self) -> Result<U64>;

    /// Always `false`: the sequencer is the chain's source.
    #[method(name = "syncing")]
    fn syncing(&self) -> Result<bool>;

    /// Always `false`: there is no proof-of-work.
    #[method(name = "mining")]
    fn mining(&self) -> Result<bool>;

    /// Accounts the node advertises (dev accounts in `--dev`).
    #[method(name = "accounts")]
    fn accounts(&self) -> Result<Vec<Address>>;

    /// Balance of `address` at `block` (default `latest`).
    #[method(name = "getBalance")]
    async fn balance(&self, address: Address, block: Option<BlockId>) -> Result<U256>;

    /// Nonce of `address` at `block`; `pending` counts executable pool transactions.
    #[method(name = "getTransactionCount")]
    async fn transaction_count(&self, address: Address, block: Option<BlockId>) -> Result<U64>;

    /// Code of `address` at `block`.
    #[method(name = "getCode")]
    async fn code(&self, address: Address, block: Option<BlockId>) -> Result<Bytes>;

    /// Storage slot of `address` at `block`.
    #[method(name = "getStorageAt")]
    async fn storage_at(
        &self,
        address: Address,
        slot: JsonStorageKey,
        block: Option<BlockId>,
    ) -> Result<B256>;

    /// Simulates a call; reverts answer code 3 with the revert data.
    #[method(name = "call")]
    async fn call(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<serde_json::Value>,
    ) -> Result<Bytes>;

    /// Smallest gas limit with which the call succeeds.
    #[method(name = "estimateGas")]
    async fn estimate_gas(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<serde_json::Value>,
    ) -> Result<U64>;

    /// Next block's base fee plus the suggested priority fee.
    #[method(name = "gasPrice")]
    async fn gas_price(&self) -> Result<U256>;

    /// Suggested priority fee (see [`crate::GasOracleConfig`]).
    #[method(name = "maxPriorityFeePerGas")]
    async fn max_priority_fee_per_gas(&self) -> Result<U256>;

    /// Base fee of the next block.
    #[method(name = "baseFee")]
    fn base_fee(&self) -> Result<U256>;

    /// Base fees, gas use and reward percentiles of recent blocks.
    #[method(name = "feeHistory")]
    async fn fee_history(
        &self,
        block_count: Quantity,
        newest_block: BlockNumberOrTag,
        reward_percentiles: Option<Vec<f64>>,
    ) -> Result<FeeHistory>;

    /// Submits a signed transaction to the pool.
    #[method(name = "sendRawTransaction")]
    async fn send_raw_transaction(&self, tx: Bytes) -> Result<B256>;

    /// Submits a signed transaction and waits for its receipt (EIP-7966).
    #[method(name = "sendRawTransactionSync")]
    async fn send_raw_transaction_sync(
        &self,
        tx: Bytes,
        timeout_ms: Option<Quantity>,
    ) -> Result<TransactionReceipt>;

    /// A mined or pooled transaction.
    #[method(name = "getTransactionByHash")]
    async fn transaction_by_hash(&self, hash: B256) -> Result<Option<Transaction>>;

    /// Transaction `index` of the block with hash `block_hash`.
    #[method(name = "getTransactionByBlockHashAndIndex")]
    async fn transaction_by_block_hash_and_index(
        &self,
        block_hash: B256,
        index: Index,
    ) -> Result<Option<Transaction>>;

    /// Transaction `index` of block `number`.
    #[method(name = "getTransactionByBlockNumberAndIndex")]
    async fn transaction_by_block_number_and_index(
        &self,
        number: BlockNumberOrTag,
        index: Index,
    ) -> Result<Option<Transaction>>;

    /// Receipt of a mined transaction.
    #[method(name = "getTransactionReceipt")]
    async fn transaction_receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>>;

    /// Block by hash, with full transactions or their hashes.
    #[method(name = "getBlockByHash")]
    async fn block_by_hash(&self, hash: B256, full: bool) -> Result<Option<Block>>;

    /// Block by number or tag, with full transactions or their hashes.
    #[method(name = "getBlockByNumber")]
    async fn block_by_number(&self, number: BlockNumberOrTag, full: bool) -> Result<Option<Block>>;

    /// Transaction count of the block with this hash.
    #[method(name = "getBlockTransactionCountByHash")]
    async fn block_transaction_count_by_hash(&self, hash: B256) -> Result<Option<U64>>;

    /// Transaction count of block `number`.
    #[method(name = "getBlockTransactionCountByNumber")]
    async fn block_transaction_count_by_number(
        &self,
        number: BlockNumberOrTag,
    ) -> Result<Option<U64>>;

    /// Receipts of a whole block.
    #[method(name = "getBlockReceipts")]
    async fn block_receipts(&self, block: BlockId) -> Result<Option<Vec<TransactionReceipt>>>;

    /// Logs matching a filter, within the range and result limits.
    #[method(name = "getLogs")]
    async fn logs(&self, filter: Filter) -> Result<Vec<Log>>;
}

/// `eth_` polling filters.
#[rpc(server, namespace = "eth")]
pub trait EthFilterApi {
    /// Installs a log filter; returns its id.
    #[method(name = "newFilter")]
    fn new_filter(&self, filter: Filter) -> Result<String>;

    /// Installs a filter reporting new block hashes.
    #[method(name = "newBlockFilter")]
    fn new_block_filter(&self) -> Result<String>;

    /// Installs a filter reporting hashes of transactions entering the pool.
    #[method(name = "newPendingTransactionFilter")]
    fn new_pending_transaction_filter(&self) -> Result<String>;

    /// What the filter saw since the last poll.
    #[method(name = "getFilterChanges")]
    async fn filter_changes(&self, id: FilterIdParam) -> Result<FilterChanges>;

    /// All logs matching a log filter.
    #[method(name = "getFilterLogs")]
    async fn filter_logs(&self, id: FilterIdParam) -> Result<Vec<Log>>;

    /// Removes a filter; whether it existed.
    #[method(name = "uninstallFilter")]
    fn uninstall_filter(&self, id: FilterIdParam) -> Result<bool>;
}

/// `eth_subscribe` / `eth_unsubscribe` (WebSocket only).
#[rpc(server, namespace = "eth")]
pub trait EthPubSubApi {
    /// Subscribes to `newHeads`, `logs` (with an optional filter) or `newPendingTransactions`
    /// (hashes, or full transactions with `true`).
    #[subscription(
        name = "subscribe" => "subscription",
        unsubscribe = "unsubscribe",
        item = serde_json::Value
    )]
    async fn subscribe(&self, kind: SubscriptionKind, params: Option<Params>)
    -> SubscriptionResult;
}

/// `net_` methods.
#[rpc(server, namespace = "net")]
pub trait NetApi {
    /// Network id: the chain id in decimal.
    #[method(name = "version")]
    fn version(&self) -> Result<String>;

    /// Always `true`.
    #[method(name = "listening")]
    fn listening(&self) -> Result<bool>;

    /// Always 0: the sequencer has no peers.
    #[method(name = "peerCount")]
    fn peer_count(&self) -> Result<U64>;
}

/// `web3_` methods.
#[rpc(server, namespace = "web3")]
pub trait Web3Api {
    /// Client name and version.
    #[method(name = "clientVersion")]
    fn client_version(&self) -> Result<String>;

    /// Keccak-256 of the input.
    #[method(name = "sha3")]
    fn sha3(&self, input: Bytes) -> Result<B256>;
}

/// `txpool_` methods (geth format).
#[rpc(server, namespace = "txpool")]
pub trait TxPoolApi {
    /// Pending and queued counts.
    #[method(name = "status")]
    fn status(&self) -> Result<TxpoolStatus>;

    /// Every pooled transaction: pending/queued -> sender -> nonce -> transaction. Runs on the
    /// blocking pool: it copies the whole pool.
    #[method(name = "content", blocking)]
    fn content(&self) -> Result<TxpoolContent>;

    /// The pooled transactions of one sender: pending/queued -> nonce -> transaction.
    #[method(name = "contentFrom", blocking)]
    fn content_from(&self, address: Address) -> Result<TxpoolContentFrom>;
}
