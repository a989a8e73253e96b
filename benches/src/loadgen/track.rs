//! Inclusion tracking: watch new blocks and time when each transaction appears in one.
//!
//! New heads come from an `eth_subscribe("newHeads")` subscription when a WebSocket endpoint is
//! given, else from polling `eth_blockNumber`. Either way every block from the start block on is
//! fetched once with `eth_getBlockByNumber(n, false)` (hashes only, batched when several are
//! new), so a missed notification cannot lose a block. A transaction's inclusion time is the
//! moment its block was seen; submit-to-inclusion latency therefore includes one notification
//! or polling delay, as a client would see it.

use std::{
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use alloy_primitives::map::FbHashMap;

use super::{Progress, send};
use crate::{
    Result,
    rpc::{Heads, Rpc},
    sign::RawTx,
};

/// Blocks fetched per batch when catching up.
const FETCH_CHUNK: u64 = 50;

/// How to track.
#[derive(Debug, Clone, Copy)]
pub struct TrackConfig {
    /// The head before the first send; only later blocks are fetched.
    pub start_block: u64,
    /// Tracking stops here (plus one last catch-up).
    pub deadline: Instant,
    /// Polling interval without a subscription.
    pub poll: Duration,
    /// Number of senders (transaction `i` is sent by `i % accounts`).
    pub accounts: u32,
}

/// One block seen during the run.
#[derive(Debug, Clone)]
pub struct SeenBlock {
    /// Block number.
    pub number: u64,
    /// When it was seen (ns since `t0`, plus one).
    pub seen_ns: u64,
    /// Transactions in it.
    pub txs: usize,
    /// Of which this run's.
    pub ours: usize,
    /// Gas used.
    pub gas_used: u64,
    /// Gas limit.
    pub gas_limit: u64,
    /// Timestamp (seconds).
    pub timestamp: u64,
}

/// What the tracker saw.
#[derive(Debug, Clone)]
pub struct Tracked {
    /// Per transaction: when its block was seen (ns since `t0`, plus one; 0 if never).
    pub included_at: Vec<u64>,
    /// Per transaction: the block that included it (0 if none).
    pub included_in: Vec<u64>,
    /// Number of included transactions.
    pub included: usize,
    /// Blocks after the start block, in order.
    pub blocks: Vec<SeenBlock>,
    /// The last block fetched: the end-state check reads state here.
    pub last_block: u64,
    /// `newHeads` or `poll`.
    pub source: &'static str,
}

/// Watches blocks until every transaction is included or can no longer be (rejected, or behind a
/// rejected nonce of the same sender), or until the deadline.
pub async fn track(
    rpc: Rpc,
    mut heads: Option<Heads>,
    config: TrackConfig,
    txs: Arc<Vec<RawTx>>,
    progress: Arc<Progress>,
) -> Result<Tracked> {
    let n = txs.len();
    let mut index: FbHashMap<32, u32> = FbHashMap::default();
    index.reserve(n);
    for (i, tx) in txs.iter().enumerate() {
        index.insert(tx.hash, i as u32);
    }
    let mut tracked = Tracked {
        included_at: vec![0; n],
        included_in: vec![0; n],
        included: 0,
        blocks: Vec::new(),
        last_block: config.start_block,
        source: if heads.is_some() { "newHeads" } else { "poll" },
    };
    loop {
        let head = next_head(&rpc, &mut heads, &config, &progress).await?;
        if let Some(head) = head {
            catch_up(&rpc, head, &index, &mut tracked, &progress).await?;
        }
        if finished(&tracked, &progress, config.accounts) {
            break;
        }
        if Instant::now() >= config.deadline {
            // One last look: blocks sealed just before the deadline count.
            let head = rpc.block_number().await?;
            catch_up(&rpc, head, &index, &mut tracked, &progress).await?;
            break;
        }
    }
    Ok(tracked)
}

/// Waits for the next head; `None` when nothing new arrived before a re-check is due.
async fn next_head(
    rpc: &Rpc,
    heads: &mut Option<Heads>,
    config: &TrackConfig,
    progress: &Progress,
) -> Result<Option<u64>> {
    let remaining = config.deadline.saturating_duration_since(Instant::now());
    if let Some(sub) = heads {
        // Re-check at least every 100 ms: rejections can finish a run without a new block.
        let wait = remaining.min(Duration::from_millis(100));
        match tokio::time::timeout(wait, sub.next()).await {
            Err(_) => return Ok(None),
            Ok(Some(Ok(number))) => return Ok(Some(number)),
            Ok(Some(Err(e))) => {
                progress.node_problem(format!("newHeads notification: {e}; polling instead"))
            }
            Ok(None) => progress
                .node_problem("newHeads subscription closed by the node; polling instead".into()),
        }
        *heads = None;
    }
    tokio::time::sleep(config.poll.min(remaining)).await;
    rpc.block_number().await.map(Some)
}

/// Fetches every block after the last one seen up to `head` and records inclusions.
async fn catch_up(
    rpc: &Rpc,
    head: u64,
    index: &FbHashMap<32, u32>,
    tracked: &mut Tracked,
    progress: &Progress,
) -> Result<()> {
    while tracked.last_block < head {
        let from = tracked.last_block + 1;
        let to = head.min(from + FETCH_CHUNK - 1);
        let blocks = rpc.blocks(from..=to).await?;
        let seen_ns = progress.now();
        for (number, block) in (from..=to).zip(blocks) {
            let Some(block) = block else {
                progress.node_problem(format!(
                    "eth_getBlockByNumber({number:#x}, false) returned null although eth_blockNumber/newHeads reported {head:#x}"
                ));
                return Ok(());
            };
            if block.number.to::<u64>() != number {
                progress.node_problem(format!(
                    "eth_getBlockByNumber({number:#x}) returned block {}",
                    block.number
                ));
            }
            let mut ours = 0;
            for hash in &block.transactions {
                if let Some(&i) = index.get(hash) {
                    let i = i as usize;
                    if tracked.included_at[i] == 0 {
                        tracked.included_at[i] = seen_ns;
                        tracked.included_in[i] = number;
                        tracked.included += 1;
                        ours += 1;
                    } else {
                        progress.node_problem(format!(
                            "transaction {hash} included twice: blocks {} and {number}",
                            tracked.included_in[i]
                        ));
                    }
                }
            }
            tracked.blocks.push(SeenBlock {
                number,
                seen_ns,
                txs: block.transactions.len(),
                ours,
                gas_used: block.gas_used.to(),
                gas_limit: block.gas_limit.to(),
                timestamp: block.timestamp.to(),
            });
            tracked.last_block = number;
        }
    }
    Ok(())
}

/// Whether nothing more can land: each transaction is included, rejected, or stranded behind a
/// rejected nonce of its sender.
fn finished(tracked: &Tracked, progress: &Progress, accounts: u32) -> bool {
    let n = tracked.included_at.len();
    if tracked.included == n {
        return true;
    }
    if progress.rejected.load(Ordering::Relaxed) == 0 {
        return false;
    }
    let k = accounts as usize;
    // Lowest not-included rejected position per sender; later positions cannot land.
    let mut blocked_from = vec![usize::MAX; k];
    for i in 0..n {
        if tracked.included_at[i] == 0
            && progress.status[i].load(Ordering::Relaxed) == send::REJECTED
        {
            let (s, pos) = (i % k, i / k);
            blocked_from[s] = blocked_from[s].min(pos);
        }
    }
    (0..n).all(|i| tracked.included_at[i] != 0 || blocked_from[i % k] <= i / k)
}
