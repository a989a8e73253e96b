//! `eth_subscribe` over WebSocket: `newHeads`, `logs`, `newPendingTransactions`.
//!
//! Each subscription holds a receiver of the backend's broadcast channel. A subscriber that
//! falls behind the channel misses items (logged) rather than making the node buffer without
//! bound; a slow socket is bounded by jsonrpsee's per-connection message buffer.

use std::sync::Arc;

use alloy_eips::BlockNumHash;
use alloy_rpc_types_eth::{
    Filter,
    pubsub::{Params, SubscriptionKind},
};
use jsonrpsee::{
    PendingSubscriptionSink, SubscriptionSink,
    core::{SubscriptionResult, async_trait},
    types::{ErrorObjectOwned, error::INVALID_PARAMS_CODE},
};
use serde::Serialize;
use tokio::sync::broadcast::{Receiver, error::RecvError};

use crate::{
    api::EthPubSubApiServer,
    backend::NewBlock,
    convert::{append_matching_logs, rpc_header, rpc_pool_transaction},
    state::EthState,
};

/// Implements [`EthPubSubApiServer`].
#[derive(Debug, Clone)]
pub(crate) struct EthPubSub {
    state: Arc<EthState>,
}

impl EthPubSub {
    pub(crate) const fn new(state: Arc<EthState>) -> Self {
        Self { state }
    }
}

fn invalid_params(message: &str) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(INVALID_PARAMS_CODE, message, None::<()>)
}

#[async_trait]
impl EthPubSubApiServer for EthPubSub {
    async fn subscribe(
        &self,
        pending: PendingSubscriptionSink,
        kind: SubscriptionKind,
        params: Option<Params>,
    ) -> SubscriptionResult {
        let backend = &self.state.backend;
        match (kind, params.unwrap_or_default()) {
            (SubscriptionKind::NewHeads, Params::None) => {
                let blocks = backend.subscribe_blocks();
                let sink = pending.accept().await?;
                forward(sink, blocks, |block| vec![rpc_header(&block.block)]).await;
            }
            (SubscriptionKind::Logs, params @ (Params::None | Params::Logs(_))) => {
                let filter = match params {
                    Params::Logs(filter) => *filter,
                    _ => Filter::default(),
                };
                let blocks = backend.subscribe_blocks();
                let sink = pending.accept().await?;
                forward(sink, blocks, |block| block_logs(&filter, &block)).await;
            }
            (
                SubscriptionKind::NewPendingTransactions,
                params @ (Params::None | Params::Bool(_)),
            ) => {
                let hashes = backend.subscribe_pending_transactions();
                let sink = pending.accept().await?;
                if matches!(params, Params::Bool(true)) {
                    let backend = Arc::clone(backend);
                    forward(sink, hashes, move |hash| {
                        // Gone already (mined or replaced): nothing to show.
                        backend
                            .pool_transaction(hash)
                            .map(|tx| rpc_pool_transaction(&tx))
                    })
                    .await;
                } else {
                    forward(sink, hashes, Some).await;
                }
            }
            (SubscriptionKind::Syncing | SubscriptionKind::TransactionReceipts, _) => {
                pending
                    .reject(invalid_params("unsupported subscription kind"))
                    .await;
            }
            (_, _) => {
                pending
                    .reject(invalid_params("invalid params for this subscription"))
                    .await
            }
        }
        Ok(())
    }
}

/// The logs of a new block that match a subscription's filter.
fn block_logs(filter: &Filter, block: &NewBlock) -> Vec<alloy_rpc_types_eth::Log> {
    let header = &block.block.header;
    let num_hash = BlockNumHash::new(header.number, header.hash());
    if !filter.matches_block(&num_hash) || !filter.matches_bloom(header.logs_bloom) {
        return Vec::new();
    }
    let mut logs = Vec::new();
    if let Err(err) = append_matching_logs(&mut logs, filter, &block.block, &block.receipts) {
        tracing::warn!(target: "lanes::rpc", %err, "skipping block in logs subscription");
    }
    logs
}

/// Sends what `map` makes of each broadcast item until the subscriber leaves or the channel
/// closes.
async fn forward<T, I, F>(sink: SubscriptionSink, mut items: Receiver<T>, mut map: F)
where
    T: Clone,
    I: IntoIterator,
    I::Item: Serialize,
    F: FnMut(T) -> I,
{
    loop {
        let item = tokio::select! {
            () = sink.closed() => return,
            item = items.recv() => item,
        };
        match item {
            Ok(item) => {
                for out in map(item) {
                    let message = match serde_json::value::to_raw_value(&out) {
                        Ok(message) => message,
                        Err(err) => {
                            tracing::error!(target: "lanes::rpc", %err, "unserialisable item");
                            continue;
                        }
                    };
                    if sink.send(message).await.is_err() {
                        return;
                    }
                }
            }
            Err(RecvError::Lagged(missed)) => {
                tracing::debug!(
                    target: "lanes::rpc",
                    missed,
                    method = sink.method_name(),
                    "subscriber fell behind"
                );
            }
            Err(RecvError::Closed) => return,
        }
    }
}
