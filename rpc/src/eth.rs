//! The `eth_` namespace (chain, state, execution, fees, transactions, blocks, logs).

use std::{sync::Arc, time::Duration};

use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::{Address, B256, Bytes, U64, U256};
use alloy_rpc_types_eth::{
    Block, FeeHistory, Filter, Index, Log, Transaction, TransactionReceipt, TransactionRequest,
};
use alloy_serde::JsonStorageKey;
use jsonrpsee::core::async_trait;
use tokio::sync::broadcast::{Receiver, error::RecvError};

use crate::{
    api::EthApiServer,
    backend::{CallOutcome, NewBlock},
    convert::{rpc_block, rpc_receipt_at, rpc_receipts, rpc_transaction},
    error::{Result, RpcError},
    estimate::estimate_gas,
    fees::fee_history,
    logs::get_logs,
    state::{EthState, position_in_block},
    types::Quantity,
};

/// Implements [`EthApiServer`].
#[derive(Debug, Clone)]
pub(crate) struct EthApi {
    state: Arc<EthState>,
}

impl EthApi {
    pub(crate) const fn new(state: Arc<EthState>) -> Self {
        Self { state }
    }
}

/// State overrides (the third `eth_call` param) are not simulated; say so rather than answer
/// for the unmodified state.
fn reject_state_overrides(overrides: Option<&serde_json::Value>) -> Result<()> {
    match overrides {
        None | Some(serde_json::Value::Null) => Ok(()),
        Some(serde_json::Value::Object(map)) if map.is_empty() => Ok(()),
        Some(_) => Err(RpcError::InvalidParams(
            "state overrides are not supported".to_owned(),
        )),
    }
}

#[async_trait]
impl EthApiServer for EthApi {
    fn chain_id(&self) -> Result<U64> {
        Ok(U64::from(self.state.backend.chain_id()))
    }

    fn block_number(&self) -> Result<U64> {
        Ok(U64::from(self.state.backend.head_number()))
    }

    fn syncing(&self) -> Result<bool> {
        Ok(false)
    }

    fn mining(&self) -> Result<bool> {
        Ok(false)
    }

    fn accounts(&self) -> Result<Vec<Address>> {
        Ok(self.state.backend.accounts())
    }

    async fn balance(&self, address: Address, block: Option<BlockId>) -> Result<U256> {
        self.state
            .blocking(move |s| {
                let at = s.state_block(block)?;
                Ok(s.backend
                    .account(address, at)?
                    .map_or(U256::ZERO, |account| account.balance))
            })
            .await
    }

    async fn transaction_count(&self, address: Address, block: Option<BlockId>) -> Result<U64> {
        self.state
            .blocking(move |s| {
                if block == Some(BlockId::Number(BlockNumberOrTag::Pending)) {
                    return Ok(U64::from(s.backend.pending_nonce(address)?));
                }
                let at = s.state_block(block)?;
                Ok(U64::from(
                    s.backend
                        .account(address, at)?
                        .map_or(0, |account| account.nonce),
                ))
            })
            .await
    }

    async fn code(&self, address: Address, block: Option<BlockId>) -> Result<Bytes> {
        self.state
            .blocking(move |s| {
                let at = s.state_block(block)?;
                Ok(s.backend.code(address, at)?)
            })
            .await
    }

    async fn storage_at(
        &self,
        address: Address,
        slot: JsonStorageKey,
        block: Option<BlockId>,
    ) -> Result<B256> {
        self.state
            .blocking(move |s| {
                let at = s.state_block(block)?;
                Ok(s.backend.storage(address, slot.as_b256(), at)?)
            })
            .await
    }

    async fn call(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<serde_json::Value>,
    ) -> Result<Bytes> {
        reject_state_overrides(state_overrides.as_ref())?;
        self.state
            .simulate(move |s| {
                let at = s.state_block(block)?;
                let block_gas_limit = s.backend.block_gas_limit();
                let gas = request
                    .gas
                    .map_or(block_gas_limit, |gas| gas.min(block_gas_limit));
                match s.backend.call(&request, at, gas)? {
                    CallOutcome::Success { output, .. } => Ok(output),
                    CallOutcome::Revert { output, .. } => Err(RpcError::Reverted { output }),
                    CallOutcome::Halt { reason, .. } => Err(RpcError::Halted { reason }),
                }
            })
            .await
    }

    async fn estimate_gas(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<serde_json::Value>,
    ) -> Result<U64> {
        reject_state_overrides(state_overrides.as_ref())?;
        self.state
            .simulate(move |s| {
                let at = s.state_block(block)?;
                estimate_gas(&*s.backend, &request, at).map(U64::from)
            })
            .await
    }

    async fn gas_price(&self) -> Result<U256> {
        self.state.blocking(|s| s.gas_price().map(U256::from)).await
    }

    async fn max_priority_fee_per_gas(&self) -> Result<U256> {
        self.state
            .blocking(|s| s.oracle.suggest_tip(&*s.backend).map(U256::from))
            .await
    }

    fn base_fee(&self) -> Result<U256> {
        Ok(U256::from(self.state.backend.next_base_fee()))
    }

    async fn fee_history(
        &self,
        block_count: Quantity,
        newest_block: BlockNumberOrTag,
        reward_percentiles: Option<Vec<f64>>,
    ) -> Result<FeeHistory> {
        self.state
            .blocking(move |s| {
                fee_history(
                    &*s.backend,
                    s.config.max_fee_history_blocks,
                    block_count.0,
                    newest_block,
                    reward_percentiles.as_deref(),
                )
            })
            .await
    }

    async fn send_raw_transaction(&self, tx: Bytes) -> Result<B256> {
        self.state.send_raw_transaction(tx).await
    }

    async fn send_raw_transaction_sync(
        &self,
        tx: Bytes,
        timeout_ms: Option<Quantity>,
    ) -> Result<TransactionReceipt> {
        let config = &self.state.config;
        let timeout = match timeout_ms {
            Some(Quantity(ms)) if ms > 0 => {
                Duration::from_millis(ms).min(config.send_sync_max_timeout)
            }
            _ => config.send_sync_default_timeout,
        };
        // Subscribe before submitting: the block holding the transaction may be committed
        // before `send_raw_transaction` returns.
        let mut blocks = self.state.backend.subscribe_blocks();
        let hash = self.state.send_raw_transaction(tx).await?;
        match tokio::time::timeout(timeout, self.wait_for_receipt(&mut blocks, hash)).await {
            Ok(receipt) => receipt,
            Err(_elapsed) => Err(RpcError::TxSyncTimeout {
                hash,
                timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            }),
        }
    }

    async fn transaction_by_hash(&self, hash: B256) -> Result<Option<Transaction>> {
        self.state
            .blocking(move |s| s.transaction_by_hash(hash))
            .await
    }

    async fn transaction_by_block_hash_and_index(
        &self,
        block_hash: B256,
        index: Index,
    ) -> Result<Option<Transaction>> {
        self.transaction_in_block(BlockId::from(block_hash), index)
            .await
    }

    async fn transaction_by_block_number_and_index(
        &self,
        number: BlockNumberOrTag,
        index: Index,
    ) -> Result<Option<Transaction>> {
        self.transaction_in_block(BlockId::Number(number), index)
            .await
    }

    async fn transaction_receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>> {
        self.state.blocking(move |s| s.receipt_by_hash(hash)).await
    }

    async fn block_by_hash(&self, hash: B256, full: bool) -> Result<Option<Block>> {
        self.block(BlockId::from(hash), full).await
    }

    async fn block_by_number(&self, number: BlockNumberOrTag, full: bool) -> Result<Option<Block>> {
        self.block(BlockId::Number(number), full).await
    }

    async fn block_transaction_count_by_hash(&self, hash: B256) -> Result<Option<U64>> {
        self.transaction_count_in_block(BlockId::from(hash)).await
    }

    async fn block_transaction_count_by_number(
        &self,
        number: BlockNumberOrTag,
    ) -> Result<Option<U64>> {
        self.transaction_count_in_block(BlockId::Number(number))
            .await
    }

    async fn block_receipts(&self, block: BlockId) -> Result<Option<Vec<TransactionReceipt>>> {
        self.state
            .blocking(move |s| {
                let Some(number) = s.block_number_for_id(block)? else {
                    return Ok(None);
                };
                let (Some(block), Some(receipts)) = (
                    s.backend.block_by_number(number)?,
                    s.backend.receipts(number)?,
                ) else {
                    return Ok(None);
                };
                rpc_receipts(&block, &receipts).map(Some)
            })
            .await
    }

    async fn logs(&self, filter: Filter) -> Result<Vec<Log>> {
        self.state
            .blocking(move |s| {
                get_logs(
                    &*s.backend,
                    &filter,
                    s.config.max_blocks_per_logs_query,
                    s.config.max_logs_per_response,
                )
            })
            .await
    }
}

impl EthApi {
    async fn block(&self, id: BlockId, full: bool) -> Result<Option<Block>> {
        self.state
            .blocking(move |s| {
                let block = s.block(s.block_number_for_id(id)?)?;
                Ok(block.map(|block| rpc_block(&block, full)))
            })
            .await
    }

    async fn transaction_count_in_block(&self, id: BlockId) -> Result<Option<U64>> {
        self.state
            .blocking(move |s| {
                let block = s.block(s.block_number_for_id(id)?)?;
                Ok(block.map(|block| U64::from(block.transactions.len())))
            })
            .await
    }

    async fn transaction_in_block(&self, id: BlockId, index: Index) -> Result<Option<Transaction>> {
        self.state
            .blocking(move |s| {
                let Some(block) = s.block(s.block_number_for_id(id)?)? else {
                    return Ok(None);
                };
                let index = usize::from(index);
                Ok(block
                    .transactions
                    .get(index)
                    .map(|tx| rpc_transaction(&block, tx, index)))
            })
            .await
    }

    /// Waits until a committed block holds `hash` and returns its receipt.
    async fn wait_for_receipt(
        &self,
        blocks: &mut Receiver<Arc<NewBlock>>,
        hash: B256,
    ) -> Result<TransactionReceipt> {
        loop {
            match blocks.recv().await {
                Ok(new_block) => {
                    if let Some(index) = position_in_block(&new_block.block, hash) {
                        return rpc_receipt_at(&new_block.block, &new_block.receipts, index)?
                            .ok_or_else(|| {
                                RpcError::Internal(format!("receipt of {hash} missing"))
                            });
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    // Our block may be among the missed ones: look in storage.
                    tracing::debug!(target: "lanes::rpc", missed, %hash, "sync send lagged");
                    if let Some(receipt) = self
                        .state
                        .blocking(move |s| s.receipt_by_hash(hash))
                        .await?
                    {
                        return Ok(receipt);
                    }
                }
                Err(RecvError::Closed) => {
                    return Err(RpcError::Internal("block notifications ended".to_owned()));
                }
            }
        }
    }
}
