//! The end-state check: what the chain's state says landed must match what the observed blocks
//! say landed, so that a broken run (dropped transactions, reverted transfers, a node that lists
//! transactions it did not execute) cannot report a fast number.

use alloy_primitives::U256;
use serde::Serialize;

use super::{
    NATIVE_VALUE, Progress, TOKEN_AMOUNT, TxKind, Workload,
    setup::{Setup, snapshot},
    track::Tracked,
};
use crate::{
    Result,
    rpc::{BlockTag, Rpc},
};

/// Problems listed in the report at most; the count is always exact.
const MAX_LISTED: usize = 20;

/// Result of the end-state check.
#[derive(Debug, Clone, Serialize)]
pub struct EndState {
    /// No problem found.
    pub ok: bool,
    /// The block whose state was read.
    pub block: u64,
    /// Whether state was read at `latest` because the node rejected a block-number tag.
    pub read_at_latest: bool,
    /// Number of problems.
    pub problem_count: usize,
    /// The first problems, as sentences.
    pub problems: Vec<String>,
}

/// Per sender: how many of its transactions of each kind landed, and whether they form a prefix
/// of its nonces (a node must not include nonce n+1 without n).
fn landed(workload: &Workload, tracked: &Tracked) -> (Vec<[usize; 2]>, Vec<String>) {
    let k = workload.accounts as usize;
    let mut counts = vec![[0usize; 2]; k];
    let mut first_missing = vec![usize::MAX; k];
    let mut problems = Vec::new();
    for i in 0..workload.txs {
        let s = workload.sender(i);
        if tracked.included_at[i] == 0 {
            first_missing[s] = first_missing[s].min(workload.position(i));
            continue;
        }
        counts[s][usize::from(workload.kind(i) == TxKind::Erc20)] += 1;
        if first_missing[s] < workload.position(i) {
            problems.push(format!(
                "sender {s}: nonce offset {} included while offset {} was not",
                workload.position(i),
                first_missing[s]
            ));
        }
    }
    (counts, problems)
}

/// Reads the end state at the last tracked block and compares it with the inclusions seen.
pub async fn verify(
    rpc: &Rpc,
    setup: &Setup,
    workload: &Workload,
    tracked: &Tracked,
    progress: &Progress,
) -> Result<EndState> {
    let (counts, mut problems) = landed(workload, tracked);
    let addresses: Vec<_> = setup.senders.iter().map(|a| a.address).collect();

    let mut tag = BlockTag::Number(tracked.last_block);
    let nonces = match rpc.nonces(&addresses, tag).await {
        Ok(n) => n,
        Err(e) => {
            progress.node_problem(format!(
                "eth_getTransactionCount(addr, {:#x}) failed ({e}); reading state at latest",
                tracked.last_block
            ));
            tag = BlockTag::Latest;
            rpc.nonces(&addresses, tag).await?
        }
    };
    let after = snapshot(rpc, setup, tag).await?;
    let before = &setup.before;

    for (s, [native, erc20]) in counts.iter().copied().enumerate() {
        let expected_nonce = setup.base_nonces[s] + (native + erc20) as u64;
        if nonces[s] != expected_nonce {
            problems.push(format!(
                "sender {s} ({}): nonce {}, expected {expected_nonce} ({} before + {} included)",
                addresses[s],
                nonces[s],
                setup.base_nonces[s],
                native + erc20
            ));
        }
        let eth_delta = after.recipient_eth[s].saturating_sub(before.recipient_eth[s]);
        let expected_eth = U256::from(native as u64 * NATIVE_VALUE);
        if after.recipient_eth[s] < before.recipient_eth[s] || eth_delta != expected_eth {
            problems.push(format!(
                "recipient {s} ({}): ETH balance {} -> {}, expected +{expected_eth} from {native} transfers",
                setup.recipients[s], before.recipient_eth[s], after.recipient_eth[s]
            ));
        }
        if setup.token.is_some() {
            let moved = U256::from(erc20 as u64 * TOKEN_AMOUNT);
            let (r0, r1) = (before.recipient_tokens[s], after.recipient_tokens[s]);
            if r1 != r0 + moved {
                problems.push(format!(
                    "recipient {s}: token balance {r0} -> {r1}, expected +{moved} from {erc20} transfers"
                ));
            }
            let (s0, s1) = (before.sender_tokens[s], after.sender_tokens[s]);
            if s0.checked_sub(moved) != Some(s1) {
                problems.push(format!(
                    "sender {s}: token balance {s0} -> {s1}, expected -{moved}"
                ));
            }
        }
    }
    if after.total_supply != before.total_supply {
        problems.push(format!(
            "token total supply changed: {} -> {}",
            before.total_supply, after.total_supply
        ));
    }
    let problem_count = problems.len();
    problems.truncate(MAX_LISTED);
    Ok(EndState {
        ok: problem_count == 0,
        block: tracked.last_block,
        read_at_latest: tag == BlockTag::Latest,
        problem_count,
        problems,
    })
}
