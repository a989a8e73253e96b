//! `lanes-loadgen`: a load generator for any node that speaks standard Ethereum JSON-RPC.
//!
//! A run has four phases; only the third is timed:
//! 1. [`setup`]: derive sender accounts from the dev mnemonic, fund them from dev account 0, and
//!    deploy `LanesToken` minting to them (for ERC-20 transfers); wait for every receipt.
//! 2. [`Workload::sign`]: build and sign every transaction on all cores (explicit nonces, fixed
//!    gas limits, `maxFee = 2 * baseFee + tip`).
//! 3. [`send`] at the target rate (`eth_sendRawTransaction`, batched JSON-RPC, bounded
//!    concurrency) while [`track`] watches new blocks (`newHeads` over WebSocket, or polling
//!    `eth_blockNumber`) and fetches each block's transaction hashes to time submit-to-inclusion.
//! 4. [`verify`]: read the end state (sender nonces, recipient ETH and token balances) and
//!    compare it with what the observed blocks say landed; the [`Report`] is only `ok` when
//!    every transaction landed and the state agrees.

mod report;
pub mod send;
pub mod setup;
pub mod track;
pub mod verify;
mod workload;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use clap::{Parser, ValueEnum};
use serde::Serialize;

pub use report::{BlockStats, Latency, Rejection, Report};
pub use workload::{TxKind, Workload};

use crate::{Error, Result, accounts::DEV_MNEMONIC, rpc::Rpc};

/// Gas limit of a native ETH transfer.
pub const NATIVE_GAS: u64 = 21_000;

/// Gas limit of a `LanesToken.transfer`: the most expensive one (to a fresh account, a
/// zero-to-non-zero SSTORE) uses about 52,000; a unit test checks the margin.
pub const TOKEN_TRANSFER_GAS: u64 = 65_000;

/// Value of each native transfer, in wei.
pub const NATIVE_VALUE: u64 = 1;

/// Amount of each token transfer, in the token's smallest unit.
pub const TOKEN_AMOUNT: u64 = 1;

/// Which transactions a run sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mix {
    /// Native ETH transfers (21,000 gas).
    Native,
    /// `LanesToken.transfer` calls.
    Erc20,
    /// Both, alternating per sender.
    Both,
}

/// Command-line configuration of a run (also usable as a flattened subcommand).
#[derive(Debug, Clone, Parser)]
#[command(
    name = "lanes-loadgen",
    about = "Load generator for Ethereum JSON-RPC nodes: sends pre-signed transactions at a target \
             rate and measures submit-to-inclusion latency and sustained throughput.",
    long_about = None,
    after_help = "Exit status: 0 when every transaction landed and the end state is consistent, \
                  1 when not (the report says why), 2 when set-up or the node failed before a \
                  report. Progress goes to stderr (RUST_LOG sets verbosity), the report to stdout."
)]
pub struct Config {
    /// HTTP JSON-RPC endpoint of the node.
    #[arg(long, default_value = "http://127.0.0.1:8545")]
    pub rpc: String,

    /// WebSocket endpoint: when given, new blocks are seen through an `eth_subscribe("newHeads")`
    /// subscription; otherwise `eth_blockNumber` is polled every --poll-ms.
    #[arg(long)]
    pub ws: Option<String>,

    /// Number of transactions to send in the timed phase.
    #[arg(long, default_value_t = 10_000)]
    pub txs: usize,

    /// Target submission rate in transactions per second.
    #[arg(long, default_value_t = 1_000.0)]
    pub rate: f64,

    /// Number of sender accounts; transaction i is sent by sender i mod K, to a fresh recipient
    /// of its own, so senders never touch the same state.
    #[arg(long, default_value_t = 100)]
    pub accounts: u32,

    /// Transaction mix: native ETH transfers, ERC-20 (LanesToken) transfers, or both.
    #[arg(long, value_enum, default_value_t = Mix::Native)]
    pub mix: Mix,

    /// Most transactions per `eth_sendRawTransaction` HTTP request (a JSON-RPC batch); the sender
    /// groups whatever is due at each tick of the rate clock, up to this size. 1 sends one plain
    /// request per transaction.
    #[arg(long, default_value_t = 50)]
    pub batch: usize,

    /// Most send requests in flight at once; when all are busy, sending falls behind the target
    /// rate (the report shows the achieved send rate).
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,

    /// Block polling interval in milliseconds, when --ws is not given.
    #[arg(long, default_value_t = 10)]
    pub poll_ms: u64,

    /// Seconds the timed phase may last, from the first send: afterwards the run reports what
    /// landed and exits non-zero if not everything did.
    #[arg(long, default_value_t = 60.0)]
    pub timeout: f64,

    /// Seconds the set-up phase (funding, deployment, their receipts) may last.
    #[arg(long, default_value_t = 120.0)]
    pub setup_timeout: f64,

    /// Mnemonic index of the first sender account; senders are indexes first..first+K.
    /// Dev account 0 (index 0) funds them. Pick a different range to run next to another load.
    #[arg(long, default_value_t = 100)]
    pub first_account: u32,

    /// Priority fee (tip) per gas in wei.
    #[arg(long, default_value_t = 1_000_000_000)]
    pub priority_fee: u128,

    /// Mnemonic of the prefunded dev accounts [default: the standard dev mnemonic
    /// `test test test test test test test test test test test junk`].
    #[arg(long, default_value = DEV_MNEMONIC, hide_default_value = true)]
    pub mnemonic: String,

    /// Print the report as one JSON object on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

impl Config {
    /// Checks the numbers make sense together.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::Config(m.to_string()));
        if self.txs == 0 {
            return bad("--txs must be at least 1");
        }
        if self.txs > u32::MAX as usize {
            return bad("--txs must fit in u32");
        }
        if !(self.rate.is_finite() && self.rate > 0.0) {
            return bad("--rate must be a positive number");
        }
        if self.accounts == 0 {
            return bad("--accounts must be at least 1");
        }
        if self.batch == 0 || self.concurrency == 0 || self.poll_ms == 0 {
            return bad("--batch, --concurrency and --poll-ms must be at least 1");
        }
        if !(self.timeout > 0.0 && self.setup_timeout > 0.0) {
            return bad("--timeout and --setup-timeout must be positive");
        }
        if self.first_account == 0 {
            return bad("--first-account must not be 0: dev account 0 funds the senders");
        }
        Ok(())
    }
}

/// Shared between the sender and the tracker during the timed phase.
#[derive(Debug)]
pub struct Progress {
    /// Start of the timed phase; every time below is nanoseconds since `t0`, plus one (0 means
    /// "not yet").
    pub t0: Instant,
    /// When each transaction's request was dispatched.
    pub sent_at: Vec<std::sync::atomic::AtomicU64>,
    /// Per transaction: [`send::UNSENT`], [`send::ACCEPTED`] or [`send::REJECTED`].
    pub status: Vec<std::sync::atomic::AtomicU8>,
    /// Number of rejected transactions.
    pub rejected: std::sync::atomic::AtomicUsize,
    /// Rejection reasons.
    pub rejections: parking_lot::Mutex<report::Rejections>,
    /// Odd things the node did (bounded list).
    pub node_problems: parking_lot::Mutex<Vec<String>>,
}

impl Progress {
    fn new(n: usize, t0: Instant) -> Self {
        Self {
            t0,
            sent_at: (0..n).map(|_| Default::default()).collect(),
            status: (0..n).map(|_| Default::default()).collect(),
            rejected: Default::default(),
            rejections: Default::default(),
            node_problems: Default::default(),
        }
    }

    /// Nanoseconds since `t0`, plus one.
    pub fn now(&self) -> u64 {
        u64::try_from(self.t0.elapsed().as_nanos()).unwrap_or(u64::MAX - 1) + 1
    }

    /// Records something the node did wrong, keeping at most 20 entries.
    pub fn node_problem(&self, problem: String) {
        let mut list = self.node_problems.lock();
        if list.len() < 20 {
            tracing::warn!("{problem}");
            list.push(problem);
        }
    }
}

/// Runs set-up, the timed phase and the end-state check, and returns the report.
pub async fn run(config: &Config) -> Result<Report> {
    config.validate()?;
    let rpc = Rpc::new(&config.rpc, Duration::from_secs(30))?;
    let setup_start = Instant::now();
    let setup = setup::prepare(&rpc, config).await?;
    let setup_s = setup_start.elapsed().as_secs_f64();

    let workload = Workload::new(config.txs, config.accounts, config.mix);
    let sign_start = Instant::now();
    let txs = Arc::new(workload.sign(&setup));
    let signing_s = sign_start.elapsed().as_secs_f64();
    tracing::info!(txs = txs.len(), secs = signing_s, "signed");

    let heads = match &config.ws {
        Some(url) => Some(crate::rpc::Heads::subscribe(url).await?),
        None => None,
    };
    let start_block = rpc.block_number().await?;
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs_f64(config.timeout);
    let progress = Arc::new(Progress::new(txs.len(), t0));

    let tracker = tokio::spawn(track::track(
        rpc.clone(),
        heads,
        track::TrackConfig {
            start_block,
            deadline,
            poll: Duration::from_millis(config.poll_ms),
            accounts: config.accounts,
        },
        Arc::clone(&txs),
        Arc::clone(&progress),
    ));
    tracing::info!(rate = config.rate, txs = txs.len(), "sending");
    let sent = send::send_all(
        &rpc,
        Arc::clone(&txs),
        Arc::clone(&progress),
        send::SendConfig {
            rate: config.rate,
            batch: config.batch,
            concurrency: config.concurrency,
            deadline,
        },
    )
    .await;
    let tracked = tracker
        .await
        .map_err(|e| Error::Config(format!("tracker task failed: {e}")))??;
    tracing::info!(
        included = tracked.included,
        blocks = tracked.blocks.len(),
        "timed phase over"
    );

    let end_state = verify::verify(&rpc, &setup, &workload, &tracked, &progress).await?;
    Ok(Report::build(
        config, &setup, &progress, &sent, &tracked, end_state, setup_s, signing_s,
    ))
}
