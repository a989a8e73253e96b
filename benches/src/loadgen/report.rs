//! The run's report: human-readable text or one JSON object.

use std::{collections::BTreeMap, fmt};

use hdrhistogram::Histogram;
use serde::Serialize;

use super::{
    Config, Mix, Progress, send::SendStats, setup::Setup, track::Tracked, verify::EndState,
};

/// Distinct rejection reasons kept; the rest are counted under `other`.
const MAX_REASONS: usize = 32;

/// One rejection reason.
#[derive(Debug, Clone, Serialize)]
pub struct Rejection {
    /// Transactions rejected for it.
    pub count: usize,
    /// The first full message.
    pub example: String,
}

/// Rejection reasons, keyed by the message up to its first `:` (geth-style messages put the
/// specifics after it), so that the map stays small.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(transparent)]
pub struct Rejections(pub BTreeMap<String, Rejection>);

impl Rejections {
    /// Counts one rejection.
    pub fn add(&mut self, message: &str) {
        let mut key: String = message
            .split([':', '('])
            .next()
            .unwrap_or(message)
            .trim()
            .chars()
            .take(80)
            .collect();
        if !self.0.contains_key(&key) && self.0.len() >= MAX_REASONS {
            key = "other".into();
        }
        self.0
            .entry(key)
            .or_insert_with(|| Rejection {
                count: 0,
                example: message.chars().take(300).collect(),
            })
            .count += 1;
    }
}

/// Submit-to-inclusion latency in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

/// Blocks seen during the timed phase.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BlockStats {
    /// Blocks produced after the start block.
    pub seen: usize,
    /// Of which held at least one of this run's transactions.
    pub with_ours: usize,
    /// First and last block with this run's transactions.
    pub first: Option<u64>,
    /// Last block with this run's transactions.
    pub last: Option<u64>,
    /// Most of this run's transactions in one block.
    pub max_txs: usize,
    /// Mean of this run's transactions per block that had any.
    pub mean_txs: f64,
    /// Mean time between consecutive blocks as seen by the tracker, in milliseconds.
    pub mean_interval_ms: f64,
    /// Highest gas used / gas limit of a block, in percent.
    pub max_gas_percent: f64,
}

/// Everything a run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Whether every transaction landed and the end state agrees.
    pub ok: bool,
    /// The node.
    pub rpc: String,
    /// `newHeads` or `poll`.
    pub inclusion_source: &'static str,
    /// Chain id.
    pub chain_id: u64,
    /// Transaction mix.
    pub mix: Mix,
    /// Target submission rate (tx/s).
    pub target_rate: f64,
    /// Transactions in the workload.
    pub txs: usize,
    /// Senders.
    pub accounts: u32,
    /// Most transactions per request.
    pub batch: usize,
    /// Most requests in flight.
    pub concurrency: usize,
    /// Transactions the node accepted.
    pub sent: usize,
    /// Transactions the node rejected.
    pub rejected: usize,
    /// Transactions never sent (deadline).
    pub unsent: usize,
    /// Transactions seen in a block.
    pub included: usize,
    /// Rejection reasons.
    pub rejections: Rejections,
    /// Requests made.
    pub requests: usize,
    /// Achieved submission rate: dispatched transactions / time from first to last dispatch.
    pub send_rate: f64,
    /// Sustained throughput: included transactions / time from first send to last inclusion.
    pub tps: f64,
    /// Time from first send to last inclusion, in seconds.
    pub duration_s: f64,
    /// Submit-to-inclusion latency of included transactions.
    pub latency_ms: Latency,
    /// Blocks.
    pub blocks: BlockStats,
    /// The end-state check.
    pub end_state: EndState,
    /// Odd things the node did.
    pub node_problems: Vec<String>,
    /// Base fee when signing, and the signed max fee (wei).
    pub base_fee: u128,
    /// Signed `maxFeePerGas`.
    pub max_fee: u128,
    /// Set-up transactions sent.
    pub setup_txs: usize,
    /// Set-up time (accounts, funding, deployment), in seconds.
    pub setup_s: f64,
    /// Time to sign all transactions, in seconds.
    pub signing_s: f64,
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

impl Report {
    /// Assembles the report from the phases' results.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn build(
        config: &Config,
        setup: &Setup,
        progress: &Progress,
        sent: &SendStats,
        tracked: &Tracked,
        end_state: EndState,
        setup_s: f64,
        signing_s: f64,
    ) -> Self {
        use std::sync::atomic::Ordering::Relaxed;
        let n = tracked.included_at.len();
        let rejected = progress.rejected.load(Relaxed);
        let unsent = n - sent.dispatched;

        let mut hist =
            Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds");
        let mut last_inclusion = 0;
        for (at, sent_at) in tracked.included_at.iter().zip(&progress.sent_at) {
            let sent_at = sent_at.load(Relaxed);
            if *at == 0 || sent_at == 0 {
                continue;
            }
            last_inclusion = last_inclusion.max(*at);
            hist.saturating_record(at.saturating_sub(sent_at).div_ceil(1_000).max(1));
        }
        let us = |v: u64| v as f64 / 1e3;
        let latency = if hist.is_empty() {
            Latency::default()
        } else {
            Latency {
                p50: us(hist.value_at_quantile(0.5)),
                p90: us(hist.value_at_quantile(0.9)),
                p99: us(hist.value_at_quantile(0.99)),
                max: us(hist.max()),
                mean: hist.mean() / 1e3,
            }
        };
        let duration_ns = last_inclusion.saturating_sub(sent.first_ns);
        let send_ns = sent.last_ns.saturating_sub(sent.first_ns);

        let ours: Vec<_> = tracked.blocks.iter().filter(|b| b.ours > 0).collect();
        let blocks = BlockStats {
            seen: tracked.blocks.len(),
            with_ours: ours.len(),
            first: ours.first().map(|b| b.number),
            last: ours.last().map(|b| b.number),
            max_txs: ours.iter().map(|b| b.ours).max().unwrap_or(0),
            mean_txs: if ours.is_empty() {
                0.0
            } else {
                tracked.included as f64 / ours.len() as f64
            },
            mean_interval_ms: match (tracked.blocks.first(), tracked.blocks.last()) {
                (Some(a), Some(b)) if tracked.blocks.len() > 1 => {
                    ms(b.seen_ns - a.seen_ns) / (tracked.blocks.len() - 1) as f64
                }
                _ => 0.0,
            },
            max_gas_percent: tracked
                .blocks
                .iter()
                .filter(|b| b.gas_limit > 0)
                .map(|b| 100.0 * b.gas_used as f64 / b.gas_limit as f64)
                .fold(0.0, f64::max),
        };
        let included = tracked.included;
        Self {
            ok: included == n && end_state.ok,
            rpc: config.rpc.clone(),
            inclusion_source: tracked.source,
            chain_id: setup.chain_id,
            mix: config.mix,
            target_rate: config.rate,
            txs: n,
            accounts: config.accounts,
            batch: config.batch,
            concurrency: config.concurrency,
            sent: sent.dispatched - rejected,
            rejected,
            unsent,
            included,
            rejections: progress.rejections.lock().clone(),
            requests: sent.requests,
            send_rate: if send_ns == 0 {
                0.0
            } else {
                sent.dispatched as f64 / (send_ns as f64 / 1e9)
            },
            tps: if duration_ns == 0 {
                0.0
            } else {
                included as f64 / (duration_ns as f64 / 1e9)
            },
            duration_s: duration_ns as f64 / 1e9,
            latency_ms: latency,
            blocks,
            end_state,
            node_problems: progress.node_problems.lock().clone(),
            base_fee: setup.base_fee,
            max_fee: setup.max_fee,
            setup_txs: setup.setup_txs,
            setup_s,
            signing_s,
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = &self.latency_ms;
        let b = &self.blocks;
        writeln!(
            f,
            "lanes-loadgen {} ({})",
            if self.ok { "OK" } else { "FAILED" },
            self.rpc
        )?;
        writeln!(
            f,
            "  workload     {} txs, mix {:?}, {} senders, target {} tx/s, batch <= {}, {} in flight",
            self.txs, self.mix, self.accounts, self.target_rate, self.batch, self.concurrency
        )?;
        writeln!(
            f,
            "  set-up       {:.1} s ({} txs), signing {:.2} s ({:.0} tx/s)",
            self.setup_s,
            self.setup_txs,
            self.signing_s,
            self.txs as f64 / self.signing_s.max(1e-9)
        )?;
        writeln!(
            f,
            "  sent         {} accepted, {} rejected, {} unsent; {} requests at {:.0} tx/s",
            self.sent, self.rejected, self.unsent, self.requests, self.send_rate
        )?;
        for (reason, r) in &self.rejections.0 {
            writeln!(
                f,
                "    rejected   {} x {reason}  (e.g. {})",
                r.count, r.example
            )?;
        }
        writeln!(
            f,
            "  included     {} / {} in {:.2} s: {:.0} tx/s sustained (inclusion seen via {})",
            self.included, self.txs, self.duration_s, self.tps, self.inclusion_source
        )?;
        writeln!(
            f,
            "  latency      p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms (submit to inclusion)",
            l.p50, l.p90, l.p99, l.max
        )?;
        writeln!(
            f,
            "  blocks       {} seen, {} with ours (#{}..#{}), max {} / mean {:.0} ours per block, {:.0} ms apart, max gas {:.0}%",
            b.seen,
            b.with_ours,
            b.first.unwrap_or(0),
            b.last.unwrap_or(0),
            b.max_txs,
            b.mean_txs,
            b.mean_interval_ms,
            b.max_gas_percent
        )?;
        let e = &self.end_state;
        writeln!(
            f,
            "  end state    {} at block {}{}",
            if e.ok { "consistent" } else { "INCONSISTENT" },
            e.block,
            if e.read_at_latest {
                " (read at latest)"
            } else {
                ""
            }
        )?;
        for p in &e.problems {
            writeln!(f, "    {p}")?;
        }
        if e.problem_count > e.problems.len() {
            writeln!(f, "    ... {} more", e.problem_count - e.problems.len())?;
        }
        for p in &self.node_problems {
            writeln!(f, "  node problem {p}")?;
        }
        if self.included < self.txs {
            writeln!(
                f,
                "  note         transactions that did not land may still sit in the node's pool; \
                 use another --first-account for the next run"
            )?;
        }
        Ok(())
    }
}
