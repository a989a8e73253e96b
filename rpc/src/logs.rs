//! Log queries (`eth_getLogs`, `eth_getFilterLogs`, log filters' changes).
//!
//! Every block's header bloom is tested first; only blocks whose bloom may contain the filter's
//! addresses and topics have their body and receipts read.

use alloy_eips::BlockNumberOrTag;
use alloy_rpc_types_eth::{Filter, FilterBlockOption, Log};

use crate::{
    backend::{ChainMarks, EthBackend},
    convert::append_matching_logs,
    error::{Result, RpcError},
};

/// What to do when a range holds more matching logs than the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnOverflow {
    /// Fail the query (`eth_getLogs`): the client must narrow it.
    Fail,
    /// Stop after the last whole block that fits (filter polling): the rest comes next poll.
    /// A single block over the limit is returned whole, so polling always progresses.
    StopAtBlock,
}

/// Logs found in a block range.
#[derive(Debug, Default)]
pub(crate) struct CollectedLogs {
    /// Matching logs in chain order.
    pub(crate) logs: Vec<Log>,
    /// Last block whose logs are all in `logs`.
    pub(crate) last_block: u64,
}

/// Resolves a block tag: `pending` is the head (there is no pending block), `earliest` is
/// genesis, `safe` and `finalized` are what the node says they are ([`ChainMarks`]).
pub(crate) const fn resolve_range_tag(tag: BlockNumberOrTag, marks: ChainMarks) -> u64 {
    match tag {
        BlockNumberOrTag::Number(n) => n,
        BlockNumberOrTag::Earliest => 0,
        BlockNumberOrTag::Safe => marks.safe,
        BlockNumberOrTag::Finalized => marks.finalized,
        BlockNumberOrTag::Latest | BlockNumberOrTag::Pending => marks.head,
    }
}

/// Resolves `fromBlock`/`toBlock` (both default to `latest`) against `head` and clamps the end
/// to it. `None` when the range starts above the head (nothing there yet: a poller asking from
/// the next block gets `[]`, not an error); a range that ends before it starts is a params
/// error.
pub(crate) fn resolve_range(
    from: Option<BlockNumberOrTag>,
    to: Option<BlockNumberOrTag>,
    marks: ChainMarks,
) -> Result<Option<(u64, u64)>> {
    let head = marks.head;
    let from = from.map_or(head, |tag| resolve_range_tag(tag, marks));
    let to = to.map_or(head, |tag| resolve_range_tag(tag, marks));
    if from > head {
        return Ok(None);
    }
    if from > to {
        return Err(RpcError::InvalidParams(format!(
            "invalid block range params: fromBlock {from} is after toBlock {to}"
        )));
    }
    Ok(Some((from, to.min(head))))
}

/// `eth_getLogs`: the logs matching `filter`, within the block-range and result limits.
pub(crate) fn get_logs(
    backend: &dyn EthBackend,
    filter: &Filter,
    max_blocks: u64,
    max_logs: usize,
) -> Result<Vec<Log>> {
    match filter.block_option {
        FilterBlockOption::AtBlockHash(hash) => {
            let number = backend
                .block_number_by_hash(hash)?
                .ok_or(RpcError::UnknownBlock)?;
            Ok(collect_logs(backend, filter, number, number, max_logs, OnOverflow::Fail)?.logs)
        }
        FilterBlockOption::Range {
            from_block,
            to_block,
        } => {
            let Some((from, to)) = resolve_range(from_block, to_block, backend.marks())? else {
                return Ok(Vec::new());
            };
            let requested = to - from + 1;
            if requested > max_blocks {
                return Err(RpcError::LogsBlockRangeTooLarge {
                    requested,
                    max: max_blocks,
                });
            }
            Ok(collect_logs(backend, filter, from, to, max_logs, OnOverflow::Fail)?.logs)
        }
    }
}

/// Scans `from..=to` (the caller bounds its length) for logs matching `filter`'s addresses and
/// topics.
pub(crate) fn collect_logs(
    backend: &dyn EthBackend,
    filter: &Filter,
    from: u64,
    to: u64,
    max_logs: usize,
    on_overflow: OnOverflow,
) -> Result<CollectedLogs> {
    let address_bloom = filter.address_bloom_filter();
    let topics_bloom = filter.topics_bloom_filter();
    let mut collected = CollectedLogs {
        logs: Vec::new(),
        last_block: from.saturating_sub(1),
    };
    let mut block_logs = Vec::new();
    for number in from..=to {
        // A missing block (history not kept) has no logs to give.
        let bloom = backend
            .header_by_number(number)?
            .map(|header| header.logs_bloom);
        if let Some(bloom) = bloom
            && address_bloom.matches(bloom)
            && topics_bloom.iter().all(|t| t.matches(bloom))
        {
            let (Some(block), Some(receipts)) =
                (backend.block_by_number(number)?, backend.receipts(number)?)
            else {
                return Err(RpcError::Internal(format!(
                    "block {number} body or receipts missing"
                )));
            };
            block_logs.clear();
            append_matching_logs(&mut block_logs, filter, &block, &receipts)?;
            if collected.logs.len() + block_logs.len() > max_logs {
                match on_overflow {
                    OnOverflow::Fail => {
                        return Err(RpcError::TooManyLogs {
                            max: max_logs,
                            from,
                            last_fitting: number.saturating_sub(1).max(from),
                        });
                    }
                    OnOverflow::StopAtBlock if !collected.logs.is_empty() => break,
                    OnOverflow::StopAtBlock => {}
                }
            }
            collected.logs.append(&mut block_logs);
        }
        collected.last_block = number;
    }
    Ok(collected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use BlockNumberOrTag::*;
        assert_eq!(
            resolve_range(None, None, ChainMarks::at_head(10)).unwrap(),
            Some((10, 10))
        );
        assert_eq!(
            resolve_range(Some(Earliest), Some(Pending), ChainMarks::at_head(10)).unwrap(),
            Some((0, 10))
        );
        assert_eq!(
            resolve_range(Some(Number(3)), Some(Number(50)), ChainMarks::at_head(10)).unwrap(),
            Some((3, 10))
        );
        // Starts above the head: empty, not an error.
        assert_eq!(
            resolve_range(Some(Number(11)), Some(Number(20)), ChainMarks::at_head(10)).unwrap(),
            None
        );
        assert_eq!(
            resolve_range(Some(Number(11)), None, ChainMarks::at_head(10)).unwrap(),
            None
        );
        assert!(resolve_range(Some(Number(5)), Some(Number(4)), ChainMarks::at_head(10)).is_err());
    }
}
