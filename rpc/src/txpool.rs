//! The `txpool_` namespace, in geth's format: nonces are decimal strings.

use std::{collections::BTreeMap, sync::Arc};

use alloy_consensus::{TxEnvelope, transaction::Recovered};
use alloy_primitives::{Address, U64};
use alloy_rpc_types_eth::Transaction;
use serde::Serialize;

use crate::{api::TxPoolApiServer, convert::rpc_pool_transaction, error::Result, state::EthState};

/// `txpool_status`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TxpoolStatus {
    pending: U64,
    queued: U64,
}

/// Nonce (decimal) -> transaction.
type ByNonce = BTreeMap<String, Transaction>;

/// `txpool_content`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TxpoolContent {
    pending: BTreeMap<Address, ByNonce>,
    queued: BTreeMap<Address, ByNonce>,
}

/// `txpool_contentFrom`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TxpoolContentFrom {
    pending: ByNonce,
    queued: ByNonce,
}

fn by_nonce(txs: &BTreeMap<u64, Recovered<TxEnvelope>>) -> ByNonce {
    txs.iter()
        .map(|(nonce, tx)| (nonce.to_string(), rpc_pool_transaction(tx)))
        .collect()
}

fn by_sender(
    senders: &BTreeMap<Address, BTreeMap<u64, Recovered<TxEnvelope>>>,
) -> BTreeMap<Address, ByNonce> {
    senders
        .iter()
        .map(|(sender, txs)| (*sender, by_nonce(txs)))
        .collect()
}

/// Implements [`TxPoolApiServer`].
#[derive(Debug, Clone)]
pub(crate) struct TxPool {
    state: Arc<EthState>,
}

impl TxPool {
    pub(crate) const fn new(state: Arc<EthState>) -> Self {
        Self { state }
    }
}

impl TxPoolApiServer for TxPool {
    fn status(&self) -> Result<TxpoolStatus> {
        let (pending, queued) = self.state.backend.pool_status();
        Ok(TxpoolStatus {
            pending: U64::from(pending),
            queued: U64::from(queued),
        })
    }

    fn content(&self) -> Result<TxpoolContent> {
        let content = self.state.backend.pool_content();
        Ok(TxpoolContent {
            pending: by_sender(&content.pending),
            queued: by_sender(&content.queued),
        })
    }

    fn content_from(&self, address: Address) -> Result<TxpoolContentFrom> {
        let content = self.state.backend.pool_content();
        let of = |senders: &BTreeMap<Address, _>| {
            senders.get(&address).map(by_nonce).unwrap_or_default()
        };
        Ok(TxpoolContentFrom {
            pending: of(&content.pending),
            queued: of(&content.queued),
        })
    }
}
