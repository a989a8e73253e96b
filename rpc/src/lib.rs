//! Ethereum JSON-RPC for the Lanes node: HTTP and WebSocket on one port (jsonrpsee).
//!
//! The crate knows nothing about storage, the pool or execution. It asks an [`EthBackend`]
//! (implemented by `lanes-sequencer`) and answers with alloy's RPC types, so responses are
//! what wallets, viem, ethers, web3.py and cast expect. Served namespaces:
//!
//! - `eth_`: chain and state queries, `eth_call`, `eth_estimateGas`, fees (`eth_gasPrice`,
//!   `eth_maxPriorityFeePerGas`, `eth_feeHistory`), `eth_sendRawTransaction` and
//!   `eth_sendRawTransactionSync` (EIP-7966), transactions, receipts, blocks, `eth_getLogs`,
//!   polling filters, and `eth_subscribe` (`newHeads`, `logs`, `newPendingTransactions`) over
//!   WebSocket;
//! - `net_`, `web3_`, and `txpool_` (geth's format).
//!
//! Use [`start`] to serve, or [`module`] to call methods in-process (tests). Limits are in
//! [`RpcConfig`] / [`EthConfig`]; errors and their JSON-RPC codes in [`RpcError`]. Each request
//! increments the `lanes_rpc_requests_total{method}` counter of the `metrics` facade.
//!
//! Feature `test-utils`: [`schema_check`], validation of results against the execution-apis
//! OpenRPC spec, for tests here and in the node.

#[allow(unreachable_pub)] // the rpc macro makes the server traits `pub`; they stay crate-only
mod api;
pub mod backend;
mod config;
mod convert;
mod error;
mod estimate;
mod eth;
mod fees;
mod filter;
mod logs;
mod net;
mod pubsub;
#[cfg(feature = "test-utils")]
pub mod schema_check;
mod server;
mod state;
mod txpool;
mod types;

use std::sync::Arc;

pub use backend::{
    AccountState, BackendError, BlockData, CallOutcome, ChainMarks, EthBackend, NewBlock,
    PoolContent,
};
pub use config::{EthConfig, GWEI, GasOracleConfig, RpcConfig};
pub use error::{
    EXECUTION_REVERTED_CODE, LIMIT_EXCEEDED_CODE, Result, RpcError, TX_SYNC_TIMEOUT_CODE,
};
pub use jsonrpsee::RpcModule;
pub use server::{REQUESTS_METRIC, RpcHandle, start, start_with};

use crate::{
    api::{
        EthApiServer, EthFilterApiServer, EthPubSubApiServer, NetApiServer, TxPoolApiServer,
        Web3ApiServer,
    },
    eth::EthApi,
    filter::EthFilter,
    net::NetWeb3,
    pubsub::EthPubSub,
    state::EthState,
    txpool::TxPool,
};

/// All methods over `backend` with the default limits, for in-process calls
/// (`RpcModule::raw_json_request`, `RpcModule::call`, `RpcModule::subscribe_unbounded`).
pub fn module(backend: Arc<dyn EthBackend>) -> RpcModule<()> {
    module_with_config(backend, &EthConfig::default())
}

/// All methods over `backend` with the given limits.
pub fn module_with_config(backend: Arc<dyn EthBackend>, config: &EthConfig) -> RpcModule<()> {
    build_module(backend, config).0
}

/// The merged module and the state its methods share.
fn build_module(
    backend: Arc<dyn EthBackend>,
    config: &EthConfig,
) -> (RpcModule<()>, Arc<EthState>) {
    let state = EthState::new(backend, config.clone());
    let mut module = RpcModule::new(());
    let namespaces: [jsonrpsee::Methods; 6] = [
        EthApi::new(Arc::clone(&state)).into_rpc().into(),
        EthFilter::new(Arc::clone(&state)).into_rpc().into(),
        EthPubSub::new(Arc::clone(&state)).into_rpc().into(),
        NetApiServer::into_rpc(NetWeb3::new(Arc::clone(&state))).into(),
        Web3ApiServer::into_rpc(NetWeb3::new(Arc::clone(&state))).into(),
        TxPool::new(Arc::clone(&state)).into_rpc().into(),
    ];
    for methods in namespaces {
        // Names are fixed at compile time and distinct across namespaces (every test builds
        // the module), so a clash is a bug in this crate, not something a request can cause.
        module
            .merge(methods)
            .expect("JSON-RPC method names are unique");
    }
    (module, state)
}
