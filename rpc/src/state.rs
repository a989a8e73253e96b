//! What every namespace shares: the backend, limits, filters, the fee oracle, and helpers to
//! resolve block ids and to run blocking work.

use std::sync::Arc;

use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::{B256, Bytes};
use alloy_rpc_types_eth::{Transaction, TransactionReceipt};
use tokio::sync::Semaphore;

use crate::{
    backend::{BlockData, EthBackend},
    config::EthConfig,
    convert::{rpc_pool_transaction, rpc_receipt_at, rpc_transaction},
    error::{Result, RpcError},
    fees::GasOracle,
    filter::FilterManager,
    logs::resolve_range_tag,
};

/// State shared by all namespaces of one server (or one in-process module).
pub(crate) struct EthState {
    pub(crate) backend: Arc<dyn EthBackend>,
    pub(crate) config: EthConfig,
    pub(crate) filters: FilterManager,
    pub(crate) oracle: GasOracle,
    simulations: Arc<Semaphore>,
}

impl std::fmt::Debug for EthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EthState")
            .field("chain_id", &self.backend.chain_id())
            .field("config", &self.config)
            .field("filters", &self.filters.len())
            .finish_non_exhaustive()
    }
}

impl EthState {
    pub(crate) fn new(backend: Arc<dyn EthBackend>, config: EthConfig) -> Arc<Self> {
        Arc::new(Self {
            filters: FilterManager::new(config.clone()),
            oracle: GasOracle::new(config.gas_oracle.clone()),
            simulations: Arc::new(Semaphore::new(config.max_concurrent_simulations.max(1))),
            backend,
            config,
        })
    }

    /// Runs `f` on tokio's blocking pool: backend reads may touch the disk and must not stall
    /// the connection tasks.
    pub(crate) async fn blocking<T, F>(self: &Arc<Self>, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Self) -> Result<T> + Send + 'static,
    {
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || f(&this))
            .await
            .map_err(|err| RpcError::Internal(format!("blocking task failed: {err}")))?
    }

    /// Like [`Self::blocking`] for EVM simulations, of which at most
    /// [`EthConfig::max_concurrent_simulations`] run at once.
    pub(crate) async fn simulate<T, F>(self: &Arc<Self>, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Self) -> Result<T> + Send + 'static,
    {
        let permit = Arc::clone(&self.simulations)
            .acquire_owned()
            .await
            .map_err(|_| RpcError::Internal("simulation limiter closed".to_owned()))?;
        self.blocking(move |this| {
            let result = f(this);
            drop(permit);
            result
        })
        .await
    }

    /// The block whose state a state query (`eth_getBalance`, `eth_call`, ...) reads; default
    /// `latest`. A number above the head is an error, as in geth.
    pub(crate) fn state_block(&self, block: Option<BlockId>) -> Result<u64> {
        match block.unwrap_or(BlockId::Number(BlockNumberOrTag::Latest)) {
            BlockId::Hash(hash) => self.backend.block_number_by_hash(hash.block_hash)?.ok_or(
                RpcError::BlockHashNotFound {
                    hash: hash.block_hash,
                },
            ),
            BlockId::Number(tag) => self.block_number(tag).ok_or(RpcError::HeaderNotFound),
        }
    }

    /// The block a tag names, `None` above the head.
    pub(crate) fn block_number(&self, tag: BlockNumberOrTag) -> Option<u64> {
        let marks = self.backend.marks();
        Some(resolve_range_tag(tag, marks)).filter(|&number| number <= marks.head)
    }

    /// The block an id names, `None` if unknown.
    pub(crate) fn block_number_for_id(&self, id: BlockId) -> Result<Option<u64>> {
        match id {
            BlockId::Hash(hash) => Ok(self.backend.block_number_by_hash(hash.block_hash)?),
            BlockId::Number(tag) => Ok(self.block_number(tag)),
        }
    }

    /// A block by number, `None` if unknown.
    pub(crate) fn block(&self, number: Option<u64>) -> Result<Option<BlockData>> {
        match number {
            Some(number) => Ok(self.backend.block_by_number(number)?),
            None => Ok(None),
        }
    }

    /// A mined transaction, else a pooled one.
    pub(crate) fn transaction_by_hash(&self, hash: B256) -> Result<Option<Transaction>> {
        if let Some((number, index)) = self.backend.transaction_location(hash)?
            && let Some(block) = self.backend.block_by_number(number)?
            && let Some(tx) = usize::try_from(index)
                .ok()
                .and_then(|i| block.transactions.get(i))
        {
            return Ok(Some(rpc_transaction(&block, tx, index as usize)));
        }
        Ok(self
            .backend
            .pool_transaction(hash)
            .map(|tx| rpc_pool_transaction(&tx)))
    }

    /// The receipt of a mined transaction.
    pub(crate) fn receipt_by_hash(&self, hash: B256) -> Result<Option<TransactionReceipt>> {
        let Some((number, index)) = self.backend.transaction_location(hash)? else {
            return Ok(None);
        };
        let (Some(block), Some(receipts)) = (
            self.backend.block_by_number(number)?,
            self.backend.receipts(number)?,
        ) else {
            return Ok(None);
        };
        let index = usize::try_from(index)
            .map_err(|_| RpcError::Internal(format!("transaction index {index} out of range")))?;
        rpc_receipt_at(&block, &receipts, index)
    }

    /// Submits a raw transaction after the checks that need no state.
    pub(crate) async fn send_raw_transaction(self: &Arc<Self>, tx: Bytes) -> Result<B256> {
        if tx.len() > self.config.max_tx_size {
            return Err(RpcError::OversizedTransaction {
                size: tx.len(),
                max: self.config.max_tx_size,
            });
        }
        // Decoding and sender recovery cost ~0.1-0.3 ms: not on a connection task.
        self.blocking(move |this| Ok(this.backend.send_raw_transaction(tx)?))
            .await
    }

    /// `eth_gasPrice`: next base fee plus suggested tip.
    pub(crate) fn gas_price(&self) -> Result<u128> {
        let tip = self.oracle.suggest_tip(&*self.backend)?;
        Ok(u128::from(self.backend.next_base_fee()).saturating_add(tip))
    }
}

/// Index of the transaction with `hash` in `block`.
pub(crate) fn position_in_block(block: &BlockData, hash: B256) -> Option<usize> {
    block
        .transactions
        .iter()
        .position(|tx| *tx.tx_hash() == hash)
}
