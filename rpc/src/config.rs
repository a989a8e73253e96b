//! Server and method limits.

use std::{
    net::{Ipv4Addr, SocketAddr},
    time::Duration,
};

/// One gwei in wei.
pub const GWEI: u128 = 1_000_000_000;

/// Configuration of the JSON-RPC server ([`crate::start`]).
#[derive(Debug, Clone)]
pub struct RpcConfig {
    /// Address to listen on; HTTP and WebSocket share it. Port 0 picks a free port.
    pub addr: SocketAddr,
    /// Largest request body accepted, in bytes (a transaction is at most 128 KiB; batches and
    /// large `eth_call` inputs need more).
    pub max_request_body_size: u32,
    /// Largest response body produced, in bytes (a full block or 10,000 logs fit).
    pub max_response_body_size: u32,
    /// Open HTTP + WebSocket connections at once.
    pub max_connections: u32,
    /// Live `eth_subscribe` subscriptions per WebSocket connection.
    pub max_subscriptions_per_connection: u32,
    /// Calls per batch request; larger batches are refused as a whole.
    pub max_batch_size: u32,
    /// Answer CORS preflights and add `Access-Control-Allow-Origin: *`, so browser dapps and
    /// wallets can call the node directly.
    pub cors_allow_any_origin: bool,
    /// Limits and defaults of the `eth_` methods.
    pub eth: EthConfig,
}

impl Default for RpcConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 8545)),
            max_request_body_size: 10 * 1024 * 1024,
            max_response_body_size: 64 * 1024 * 1024,
            max_connections: 1_000,
            max_subscriptions_per_connection: 1_024,
            max_batch_size: 1_000,
            cors_allow_any_origin: true,
            eth: EthConfig::default(),
        }
    }
}

/// Limits and defaults of the `eth_` methods, shared by the server and by [`crate::module`].
#[derive(Debug, Clone)]
pub struct EthConfig {
    /// Largest raw transaction accepted by `eth_sendRawTransaction`, in bytes (geth: 128 KiB).
    pub max_tx_size: usize,
    /// Most blocks one `eth_getLogs` / `eth_getFilterLogs` query may span.
    pub max_blocks_per_logs_query: u64,
    /// Most logs one log query may return.
    pub max_logs_per_response: usize,
    /// Installed filters (`eth_newFilter` and friends) across all clients.
    pub max_filters: usize,
    /// A filter not polled for this long is removed.
    pub filter_idle_timeout: Duration,
    /// Most items (block hashes, transaction hashes) one `eth_getFilterChanges` returns; the
    /// rest stay for the next poll (block filters) or are dropped when the backend's broadcast
    /// buffer overflows (pending-transaction filters).
    pub max_filter_changes: usize,
    /// Most blocks one `eth_feeHistory` covers (geth: 1024).
    pub max_fee_history_blocks: u64,
    /// Default wait of `eth_sendRawTransactionSync` when the caller gives none.
    pub send_sync_default_timeout: Duration,
    /// Longest wait of `eth_sendRawTransactionSync`; larger requests are clamped to it.
    pub send_sync_max_timeout: Duration,
    /// `eth_call` / `eth_estimateGas` simulations running at once; further ones wait. Each
    /// occupies a blocking thread and a core.
    pub max_concurrent_simulations: usize,
    /// Priority-fee oracle behind `eth_maxPriorityFeePerGas` and `eth_gasPrice`.
    pub gas_oracle: GasOracleConfig,
}

impl Default for EthConfig {
    fn default() -> Self {
        Self {
            max_tx_size: 128 * 1024,
            max_blocks_per_logs_query: 10_000,
            max_logs_per_response: 10_000,
            max_filters: 1_024,
            filter_idle_timeout: Duration::from_secs(5 * 60),
            max_filter_changes: 10_000,
            max_fee_history_blocks: 1_024,
            send_sync_default_timeout: Duration::from_millis(5_000),
            send_sync_max_timeout: Duration::from_millis(60_000),
            max_concurrent_simulations: std::thread::available_parallelism()
                .map_or(2, std::num::NonZeroUsize::get),
            gas_oracle: GasOracleConfig::default(),
        }
    }
}

/// The priority-fee oracle.
///
/// It looks at the last [`Self::blocks`] blocks, takes from each the
/// [`Self::samples_per_block`] lowest effective tips (so that a few generous senders do not
/// drag the suggestion up, as geth does), and suggests the [`Self::percentile`]th percentile of
/// all samples, capped at [`Self::max_tip`]. With no transactions in the window it suggests
/// [`Self::default_tip`].
#[derive(Debug, Clone)]
pub struct GasOracleConfig {
    /// How many recent blocks to sample.
    pub blocks: u64,
    /// Percentile (0-100) of the sampled tips to suggest.
    pub percentile: u8,
    /// Lowest tips taken from each block.
    pub samples_per_block: usize,
    /// Suggestion when the window holds no transactions, in wei.
    pub default_tip: u128,
    /// Upper bound of the suggestion, in wei.
    pub max_tip: u128,
}

impl Default for GasOracleConfig {
    fn default() -> Self {
        Self {
            blocks: 20,
            percentile: 60,
            samples_per_block: 3,
            default_tip: GWEI,
            max_tip: 500 * GWEI,
        }
    }
}
