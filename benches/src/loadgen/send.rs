//! Rate-controlled submission of pre-signed transactions.
//!
//! A single pacer follows the rate clock: at each wake-up it takes every transaction that is due
//! (`rate * elapsed`), splits them into requests of at most `batch` transactions, and hands each
//! request to a task once one of `concurrency` slots is free. When the node answers slower than
//! the target rate, the slots run out and sending falls behind; the report shows the achieved
//! rate next to the target.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::sync::Semaphore;

use super::Progress;
use crate::{rpc::Rpc, sign::RawTx};

/// Not sent (yet, or the deadline came first).
pub const UNSENT: u8 = 0;
/// The node accepted the transaction into its pool.
pub const ACCEPTED: u8 = 1;
/// The node (or the transport) rejected the transaction.
pub const REJECTED: u8 = 2;

/// How to send.
#[derive(Debug, Clone, Copy)]
pub struct SendConfig {
    /// Target transactions per second.
    pub rate: f64,
    /// Most transactions per request.
    pub batch: usize,
    /// Most requests in flight.
    pub concurrency: usize,
    /// Nothing is sent after this.
    pub deadline: Instant,
}

/// What the sender did.
#[derive(Debug, Clone, Default)]
pub struct SendStats {
    /// Transactions dispatched (accepted or rejected).
    pub dispatched: usize,
    /// Requests made.
    pub requests: usize,
    /// When the first request was dispatched (ns since `t0`, plus one).
    pub first_ns: u64,
    /// When the last request was dispatched.
    pub last_ns: u64,
    /// When the last response arrived.
    pub done_ns: u64,
}

/// Sends `txs` in index order at `config.rate` and returns when every request has been answered.
pub async fn send_all(
    rpc: &Rpc,
    txs: Arc<Vec<RawTx>>,
    progress: Arc<Progress>,
    config: SendConfig,
) -> SendStats {
    let slots = Arc::new(Semaphore::new(config.concurrency));
    let last_dispatch = Arc::new(AtomicU64::new(0));
    let n = txs.len();
    let t0 = progress.t0;
    let mut stats = SendStats::default();
    let mut next = 0;
    while next < n {
        let now = Instant::now();
        if now >= config.deadline {
            tracing::warn!(unsent = n - next, "timeout reached while sending");
            break;
        }
        // +1: the first transaction is due at once.
        let due = (((now - t0).as_secs_f64() * config.rate) as usize + 1).min(n);
        while next < due {
            let end = due.min(next + config.batch);
            let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
                break;
            };
            let (rpc, txs, progress, last) = (
                rpc.clone(),
                Arc::clone(&txs),
                Arc::clone(&progress),
                Arc::clone(&last_dispatch),
            );
            let range = next..end;
            if stats.first_ns == 0 {
                stats.first_ns = progress.now();
            }
            tokio::spawn(async move {
                let _permit = permit;
                let at = progress.now();
                last.fetch_max(at, Ordering::Relaxed);
                for i in range.clone() {
                    progress.sent_at[i].store(at, Ordering::Relaxed);
                }
                send_range(&rpc, &txs, range, &progress).await;
            });
            stats.requests += 1;
            stats.dispatched += end - next;
            next = end;
        }
        if next < n {
            let next_due = t0 + Duration::from_secs_f64(next as f64 / config.rate);
            tokio::time::sleep_until(next_due.max(Instant::now()).into()).await;
        }
    }
    // Every slot free again means every request was answered (or timed out).
    let all = u32::try_from(config.concurrency).unwrap_or(u32::MAX);
    drop(slots.acquire_many(all).await);
    stats.last_ns = last_dispatch.load(Ordering::Relaxed);
    stats.done_ns = progress.now();
    stats
}

async fn send_range(rpc: &Rpc, txs: &[RawTx], range: std::ops::Range<usize>, progress: &Progress) {
    let results: Vec<Result<alloy_primitives::B256, String>> = if range.len() == 1 {
        vec![rpc.send_raw_one(&txs[range.start].hex).await]
    } else {
        let raws: Vec<&str> = txs[range.clone()].iter().map(|t| t.hex.as_str()).collect();
        match rpc.send_raw_batch(&raws).await {
            Ok(results) if results.len() == range.len() => results,
            Ok(results) => {
                progress.node_problem(format!(
                    "eth_sendRawTransaction batch of {} answered with {} responses",
                    range.len(),
                    results.len()
                ));
                vec![Err("batch answered with a wrong number of responses".into()); range.len()]
            }
            Err(e) => vec![Err(format!("batch failed: {e}")); range.len()],
        }
    };
    for (i, result) in range.zip(results) {
        match result {
            Ok(hash) => {
                if hash != txs[i].hash {
                    progress.node_problem(format!(
                        "eth_sendRawTransaction returned hash {hash}, the transaction's hash is {}",
                        txs[i].hash
                    ));
                }
                progress.status[i].store(ACCEPTED, Ordering::Relaxed);
            }
            Err(reason) => {
                progress.status[i].store(REJECTED, Ordering::Relaxed);
                progress.rejected.fetch_add(1, Ordering::Relaxed);
                progress.rejections.lock().add(&reason);
            }
        }
    }
}
