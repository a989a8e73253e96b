//! Fee suggestions: the priority-fee oracle (`eth_maxPriorityFeePerGas`, `eth_gasPrice`) and
//! `eth_feeHistory`.

use alloy_consensus::Transaction as _;
use alloy_eips::BlockNumberOrTag;
use alloy_rpc_types_eth::FeeHistory;
use parking_lot::Mutex;

use crate::{
    backend::{BlockData, EthBackend},
    config::GasOracleConfig,
    error::{Result, RpcError},
    logs::resolve_range_tag,
};

/// Suggests a priority fee from recent blocks (see [`GasOracleConfig`] for the rule). The
/// answer is cached per head block.
#[derive(Debug)]
pub(crate) struct GasOracle {
    config: GasOracleConfig,
    /// (head block the suggestion was computed at, suggestion).
    cache: Mutex<Option<(u64, u128)>>,
}

impl GasOracle {
    pub(crate) const fn new(config: GasOracleConfig) -> Self {
        Self {
            config,
            cache: Mutex::new(None),
        }
    }

    /// The suggested tip in wei. Blocking: reads up to [`GasOracleConfig::blocks`] blocks.
    pub(crate) fn suggest_tip(&self, backend: &dyn EthBackend) -> Result<u128> {
        let head = backend.head_number();
        if let Some((at, tip)) = *self.cache.lock()
            && at == head
        {
            return Ok(tip);
        }
        let first = head.saturating_sub(self.config.blocks.max(1) - 1);
        let mut samples = Vec::new();
        for number in first..=head {
            if let Some(block) = backend.block_by_number(number)? {
                samples.extend(self.lowest_tips(&block));
            }
        }
        let tip = if samples.is_empty() {
            self.config.default_tip
        } else {
            samples.sort_unstable();
            let percentile = usize::from(self.config.percentile.min(100));
            samples[(samples.len() - 1) * percentile / 100]
        }
        .min(self.config.max_tip);
        *self.cache.lock() = Some((head, tip));
        Ok(tip)
    }

    /// The lowest effective tips of a block, leaving out the block producer's own transactions
    /// (it may include them at any price).
    fn lowest_tips(&self, block: &BlockData) -> Vec<u128> {
        let base_fee = block.header.base_fee_per_gas.unwrap_or_default();
        let mut tips: Vec<u128> = block
            .transactions
            .iter()
            .filter(|tx| tx.signer() != block.header.beneficiary)
            .filter_map(|tx| tx.effective_tip_per_gas(base_fee))
            .collect();
        tips.sort_unstable();
        tips.truncate(self.config.samples_per_block);
        tips
    }
}

/// `eth_feeHistory`. The range is clamped to the blocks that exist and to `max_blocks`;
/// `pending` means the head (the pending block is not materialised). Blob fields are zeros:
/// the chain takes no blob transactions. Blocking: reads headers, and bodies and receipts when
/// percentiles are asked for.
pub(crate) fn fee_history(
    backend: &dyn EthBackend,
    max_blocks: u64,
    block_count: u64,
    newest: BlockNumberOrTag,
    percentiles: Option<&[f64]>,
) -> Result<FeeHistory> {
    let percentiles = percentiles.filter(|p| !p.is_empty());
    if let Some(percentiles) = percentiles {
        validate_percentiles(percentiles)?;
    }
    if block_count == 0 {
        // geth answers an empty history too.
        return Ok(FeeHistory::default());
    }
    let marks = backend.marks();
    let head = marks.head;
    let newest = resolve_range_tag(newest, marks);
    if newest > head {
        return Err(RpcError::RequestBeyondHead {
            requested: newest,
            head,
        });
    }
    let count = block_count.min(max_blocks.max(1)).min(newest + 1);
    let oldest = newest + 1 - count;

    let mut history = FeeHistory {
        oldest_block: oldest,
        base_fee_per_gas: Vec::with_capacity(count as usize + 1),
        gas_used_ratio: Vec::with_capacity(count as usize),
        base_fee_per_blob_gas: vec![0; count as usize + 1],
        blob_gas_used_ratio: vec![0.0; count as usize],
        reward: percentiles.map(|_| Vec::with_capacity(count as usize)),
    };
    for number in oldest..=newest {
        let missing = || RpcError::Internal(format!("block {number} missing below the head"));
        let header = backend.header_by_number(number)?.ok_or_else(missing)?;
        history
            .base_fee_per_gas
            .push(u128::from(header.base_fee_per_gas.unwrap_or_default()));
        history.gas_used_ratio.push(if header.gas_limit == 0 {
            0.0
        } else {
            header.gas_used as f64 / header.gas_limit as f64
        });
        if let (Some(percentiles), Some(rewards)) = (percentiles, history.reward.as_mut()) {
            let block = backend.block_by_number(number)?.ok_or_else(missing)?;
            let receipts = backend.receipts(number)?.ok_or_else(missing)?;
            rewards.push(block_rewards(&block, &receipts, percentiles));
        }
    }
    let next_base_fee = if newest == head {
        backend.next_base_fee()
    } else {
        backend
            .header_by_number(newest + 1)?
            .and_then(|header| header.base_fee_per_gas)
            .unwrap_or_default()
    };
    history.base_fee_per_gas.push(u128::from(next_base_fee));
    Ok(history)
}

fn validate_percentiles(percentiles: &[f64]) -> Result<()> {
    let mut previous = 0.0;
    for (i, &p) in percentiles.iter().enumerate() {
        if !(0.0..=100.0).contains(&p) {
            return Err(RpcError::InvalidParams(format!(
                "invalid reward percentile: #{i} = {p} is outside 0..=100"
            )));
        }
        if p < previous {
            return Err(RpcError::InvalidParams(format!(
                "invalid reward percentile: #{i} = {p} < #{} = {previous}",
                i - 1
            )));
        }
        previous = p;
    }
    Ok(())
}

/// The effective tips at `percentiles` of a block's gas, as geth computes them: transactions
/// sorted by tip, each weighted by the gas it used. Zeros for an empty block.
fn block_rewards(
    block: &BlockData,
    receipts: &[alloy_consensus::ReceiptEnvelope],
    percentiles: &[f64],
) -> Vec<u128> {
    let base_fee = block.header.base_fee_per_gas.unwrap_or_default();
    let mut previous_cumulative = 0;
    let mut txs: Vec<(u64, u128)> = block
        .transactions
        .iter()
        .zip(receipts)
        .map(|(tx, receipt)| {
            let gas_used = receipt
                .cumulative_gas_used()
                .saturating_sub(previous_cumulative);
            previous_cumulative = receipt.cumulative_gas_used();
            (
                gas_used,
                tx.effective_tip_per_gas(base_fee).unwrap_or_default(),
            )
        })
        .collect();
    if txs.is_empty() {
        return vec![0; percentiles.len()];
    }
    txs.sort_unstable_by_key(|&(_, tip)| tip);
    let block_gas = block.header.gas_used as f64;
    let mut index = 0;
    let mut cumulative = txs[0].0;
    percentiles
        .iter()
        .map(|p| {
            let threshold = (block_gas * p / 100.0) as u64;
            while cumulative < threshold && index < txs.len() - 1 {
                index += 1;
                cumulative += txs[index].0;
            }
            txs[index].1
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_must_rise_within_bounds() {
        assert!(validate_percentiles(&[0.0, 25.0, 25.0, 100.0]).is_ok());
        assert!(validate_percentiles(&[50.0, 10.0]).is_err());
        assert!(validate_percentiles(&[101.0]).is_err());
        assert!(validate_percentiles(&[-1.0]).is_err());
        assert!(validate_percentiles(&[f64::NAN]).is_err());
    }
}
