//! Stored blocks and receipts to alloy's RPC objects.
//!
//! Receipt fields that are not stored are derived from the block: `gasUsed` is the difference of
//! cumulative gas with the previous receipt, `effectiveGasPrice` is `min(maxFee, baseFee + tip)`
//! (legacy and EIP-2930: `gasPrice`), `logIndex` counts across the block, and `contractAddress`
//! is `sender.create(nonce)` for creations.

use alloy_consensus::{
    ReceiptEnvelope, Transaction as _, TxEnvelope,
    transaction::{Recovered, TransactionInfo},
};
use alloy_eips::eip4895::Withdrawals;
use alloy_primitives::{B256, U256};
use alloy_rpc_types_eth::{
    Block, BlockTransactions, Filter, Header, Log, Transaction, TransactionReceipt,
};

use crate::{
    backend::BlockData,
    error::{Result, RpcError},
};

/// RPC header of a stored block, with `size` and a zero `totalDifficulty` (some clients still
/// read it; after the merge it is constant).
pub(crate) fn rpc_header(block: &BlockData) -> Header {
    let mut header = Header::from_sealed(block.header.clone());
    header.size = Some(U256::from(block.size));
    header.total_difficulty = Some(U256::ZERO);
    header
}

/// RPC block, with full transaction objects or only their hashes.
pub(crate) fn rpc_block(block: &BlockData, full: bool) -> Block {
    let transactions = if full {
        BlockTransactions::Full(
            block
                .transactions
                .iter()
                .enumerate()
                .map(|(index, tx)| rpc_transaction(block, tx, index))
                .collect(),
        )
    } else {
        BlockTransactions::Hashes(block.transactions.iter().map(|tx| *tx.tx_hash()).collect())
    };
    // An L2 block has no validator withdrawals; the list is present (empty) exactly when the
    // header commits to one, as after Shanghai on L1.
    let withdrawals = block
        .header
        .withdrawals_root
        .map(|_| Withdrawals::default());
    Block {
        header: rpc_header(block),
        uncles: Vec::new(),
        transactions,
        withdrawals,
    }
}

/// RPC object of the mined transaction at `index` of `block`.
pub(crate) fn rpc_transaction(
    block: &BlockData,
    tx: &Recovered<TxEnvelope>,
    index: usize,
) -> Transaction {
    let header = block.header.inner();
    Transaction::from_transaction(
        tx.clone(),
        TransactionInfo {
            hash: Some(*tx.tx_hash()),
            index: Some(index as u64),
            block_hash: Some(block.header.hash()),
            block_number: Some(header.number),
            base_fee: header.base_fee_per_gas,
            block_timestamp: Some(header.timestamp),
        },
    )
}

/// RPC object of a transaction still in the pool: block fields are `null`, `gasPrice` is the
/// fee cap (what it may pay; execution-apis asks for that before inclusion).
pub(crate) fn rpc_pool_transaction(tx: &Recovered<TxEnvelope>) -> Transaction {
    Transaction::from_transaction(
        tx.clone(),
        TransactionInfo {
            hash: Some(*tx.tx_hash()),
            ..TransactionInfo::default()
        },
    )
}

/// Receipts of a whole block.
pub(crate) fn rpc_receipts(
    block: &BlockData,
    receipts: &[ReceiptEnvelope],
) -> Result<Vec<TransactionReceipt>> {
    check_receipt_count(block, receipts)?;
    let mut previous_cumulative = 0;
    let mut first_log_index = 0;
    let mut out = Vec::with_capacity(receipts.len());
    for (index, (tx, receipt)) in block.transactions.iter().zip(receipts).enumerate() {
        out.push(rpc_receipt(
            block,
            tx,
            receipt,
            index,
            previous_cumulative,
            first_log_index,
        ));
        previous_cumulative = receipt.cumulative_gas_used();
        first_log_index += receipt.logs().len() as u64;
    }
    Ok(out)
}

/// The receipt of the transaction at `index`, or `None` if the block has fewer transactions.
pub(crate) fn rpc_receipt_at(
    block: &BlockData,
    receipts: &[ReceiptEnvelope],
    index: usize,
) -> Result<Option<TransactionReceipt>> {
    check_receipt_count(block, receipts)?;
    let (Some(tx), Some(receipt)) = (block.transactions.get(index), receipts.get(index)) else {
        return Ok(None);
    };
    let previous_cumulative = index
        .checked_sub(1)
        .map_or(0, |prev| receipts[prev].cumulative_gas_used());
    let first_log_index = receipts[..index]
        .iter()
        .map(|r| r.logs().len() as u64)
        .sum();
    Ok(Some(rpc_receipt(
        block,
        tx,
        receipt,
        index,
        previous_cumulative,
        first_log_index,
    )))
}

fn check_receipt_count(block: &BlockData, receipts: &[ReceiptEnvelope]) -> Result<()> {
    if block.transactions.len() == receipts.len() {
        Ok(())
    } else {
        Err(RpcError::Internal(format!(
            "block {} has {} transactions but {} receipts",
            block.header.number,
            block.transactions.len(),
            receipts.len()
        )))
    }
}

fn rpc_receipt(
    block: &BlockData,
    tx: &Recovered<TxEnvelope>,
    receipt: &ReceiptEnvelope,
    index: usize,
    previous_cumulative: u64,
    first_log_index: u64,
) -> TransactionReceipt {
    let header = block.header.inner();
    let meta = LogMeta::new(block, *tx.tx_hash(), index);
    let mut log_index = first_log_index;
    let inner = receipt.clone().map_logs(|log| {
        let log = meta.rpc_log(log, log_index);
        log_index += 1;
        log
    });
    let sender = tx.signer();
    TransactionReceipt {
        inner,
        transaction_hash: meta.transaction_hash,
        transaction_index: Some(index as u64),
        block_hash: Some(meta.block_hash),
        block_number: Some(meta.block_number),
        gas_used: receipt
            .cumulative_gas_used()
            .saturating_sub(previous_cumulative),
        effective_gas_price: tx.effective_gas_price(header.base_fee_per_gas),
        blob_gas_used: None,
        blob_gas_price: None,
        from: sender,
        to: tx.to(),
        contract_address: tx.is_create().then(|| sender.create(tx.nonce())),
    }
}

/// Block and transaction context stamped on each log.
#[derive(Debug, Clone, Copy)]
struct LogMeta {
    block_hash: B256,
    block_number: u64,
    block_timestamp: u64,
    transaction_hash: B256,
    transaction_index: u64,
}

impl LogMeta {
    fn new(block: &BlockData, transaction_hash: B256, index: usize) -> Self {
        Self {
            block_hash: block.header.hash(),
            block_number: block.header.number,
            block_timestamp: block.header.timestamp,
            transaction_hash,
            transaction_index: index as u64,
        }
    }

    fn rpc_log(&self, log: alloy_primitives::Log, log_index: u64) -> Log {
        Log {
            inner: log,
            block_hash: Some(self.block_hash),
            block_number: Some(self.block_number),
            block_timestamp: Some(self.block_timestamp),
            transaction_hash: Some(self.transaction_hash),
            transaction_index: Some(self.transaction_index),
            log_index: Some(log_index),
            removed: false,
        }
    }
}

/// Appends the logs of `block` that match `filter`'s addresses and topics (not its block range)
/// to `out`, with block-wide log indices.
pub(crate) fn append_matching_logs(
    out: &mut Vec<Log>,
    filter: &Filter,
    block: &BlockData,
    receipts: &[ReceiptEnvelope],
) -> Result<()> {
    check_receipt_count(block, receipts)?;
    let mut log_index = 0u64;
    for (index, (tx, receipt)) in block.transactions.iter().zip(receipts).enumerate() {
        let meta = LogMeta::new(block, *tx.tx_hash(), index);
        for log in receipt.logs() {
            if filter.matches(log) {
                out.push(meta.rpc_log(log.clone(), log_index));
            }
            log_index += 1;
        }
    }
    Ok(())
}
