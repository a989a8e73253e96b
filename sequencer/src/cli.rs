//! Command line and configuration file.
//!
//! Every setting can come from (highest precedence first) a flag, an environment variable
//! (`LANES_*`), the TOML file given by `--config`, or the built-in default.

use std::{
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    time::Duration,
};

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Deserialize;

/// Lanes: a GPU-parallel Ethereum L2 sequencer.
#[derive(Debug, Parser)]
#[command(name = "lanes", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a node: JSON-RPC, transaction pool, block production.
    ///
    /// `lanes node --dev` starts a local development chain with 10 prefunded accounts from the
    /// standard test mnemonic ("test test ... junk"), so cast, viem, ethers, web3.py and
    /// MetaMask work with their defaults against http://127.0.0.1:8545.
    Node(Box<NodeArgs>),
    /// Benchmark the block executors on synthetic workloads: sequential revm against the
    /// parallel executor, same block, both end states checked, medians of interleaved runs
    /// (--runs). `lanes bench prover` benchmarks batch proofs instead.
    ///
    /// Example: `lanes bench --workload mixed --hot-ratio 0.1,0.3,0.6 --txs 10000 --json`.
    Bench(BenchArgs),
    /// Run ethereum/tests GeneralStateTests (Cancun post-states) and check every case's state
    /// root and logs hash, like revm's `revme statetest`.
    ///
    /// Example: `lanes statetest --executor gpu-host ../shared/ethereum-tests/GeneralStateTests`.
    Statetest(StatetestArgs),
    /// Prove committed batches in order and finalize them on L1, from L1 data alone.
    ///
    /// The same loop as the node's `--prover on` task, as its own process: for each batch after
    /// the Rollup's last finalized one it reads the batch from L1, proves that the data hashes
    /// to the committed payload hash and that the batch's state diff takes the previous state
    /// commitment to the committed one, writes the proof to `<datadir>/proofs/`, and sends
    /// `finalizeBatch` with the prover key. Point `--datadir` at a node's data dir and that
    /// node serves the proofs (`lanes_getBatchProof`).
    ///
    /// Example: `lanes prove --dev --l1-rpc http://127.0.0.1:8546 --rollup 0x... --once`.
    Prove(ProveArgs),
}

/// `lanes prove` flags.
#[derive(Debug, Args)]
pub struct ProveArgs {
    /// The chain is the dev chain (the prover key defaults to dev account 8).
    #[arg(long, conflicts_with = "genesis")]
    pub dev: bool,
    /// The chain's genesis file (as given to `lanes node --genesis`).
    #[arg(long, value_name = "FILE")]
    pub genesis: Option<PathBuf>,
    /// Chain id override (as given to `lanes node`).
    #[arg(long = "chain-id")]
    pub chain_id: Option<u64>,
    /// L1 JSON-RPC URL.
    #[arg(long = "l1-rpc", env = "LANES_L1_RPC", value_name = "URL")]
    pub l1_rpc: String,
    /// Address of the Rollup contract on L1.
    #[arg(long, env = "LANES_ROLLUP", value_name = "ADDRESS")]
    pub rollup: alloy_primitives::Address,
    /// File holding the prover's L1 private key (hex) [dev: dev account 8].
    #[arg(
        long = "prover.key-file",
        env = "LANES_PROVER_KEY_FILE",
        value_name = "FILE"
    )]
    pub key_file: Option<PathBuf>,
    /// Data dir whose `proofs/` receives the proofs [default: the node's default data dir].
    #[arg(long, value_name = "DIR")]
    pub datadir: Option<PathBuf>,
    /// FRI setting; all three give 100 conjectured bits (see the prover README).
    #[arg(long = "prover.security", value_enum, default_value = "balanced")]
    pub security: SecurityArg,
    /// Stop once every committed batch is finalized instead of waiting for more.
    #[arg(long)]
    pub once: bool,
    /// Threads proving [default: the number of CPU cores].
    #[arg(long = "prover.threads", value_name = "N")]
    pub threads: Option<usize>,
    /// Nice value of the proving threads (Linux; 0 = normal priority, 19 = lowest).
    #[arg(long = "prover.nice", default_value_t = 0, value_parser = clap::value_parser!(i32).range(0..=19))]
    pub nice: i32,
}

/// `--prover.security` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SecurityArg {
    /// Blowup 2, 84 queries: fastest proving, largest proofs (2.7 MB for 1,000 updates + 100 KB).
    Fast,
    /// Blowup 4, 42 queries (1.6 MB for 1,000 updates + 100 KB).
    #[default]
    Balanced,
    /// Blowup 8, 28 queries: smallest proofs (1.2 MB for 1,000 updates + 100 KB), slowest.
    Compact,
}

impl From<SecurityArg> for lanes_prover::Security {
    fn from(s: SecurityArg) -> Self {
        match s {
            SecurityArg::Fast => Self::Fast,
            SecurityArg::Balanced => Self::Balanced,
            SecurityArg::Compact => Self::Compact,
        }
    }
}

/// Who finalizes batches on L1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProverMode {
    /// This node proves each committed batch and finalizes it with the proof.
    On,
    /// No proofs. A dev node finalizes its batches without proofs (`finalizeBatchUnproven`,
    /// which followers do not treat as final); elsewhere batches stay unfinalized.
    Off,
    /// Another process proves and finalizes (`lanes prove`); this node only commits.
    External,
}

/// `lanes statetest` flags.
#[derive(Debug, Args)]
pub struct StatetestArgs {
    /// Executor under test.
    #[arg(long, value_enum, default_value = "gpu-host")]
    pub executor: StatetestExecutor,
    /// Also list every skipped case with why.
    #[arg(long)]
    pub verbose: bool,
    /// Test files, or directories searched recursively for `.json` files.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// Executors `lanes statetest` can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatetestExecutor {
    /// The CUDA kernels' host build (the GPU executor's logic on the CPU).
    GpuHost,
    /// revm, sequential (the reference).
    Cpu,
}

/// `lanes bench` flags.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    /// Benchmark something other than the executors.
    #[command(subcommand)]
    pub target: Option<BenchTarget>,
    /// Workloads: `raw` (transfers between distinct accounts), `erc20` (transfers among 10k
    /// holders), `amm` (swaps on one pool: fully conflicting), `mixed` (a share of transactions
    /// hits one hot slot, see --hot-ratio). Comma-separated or repeated.
    #[arg(long, value_delimiter = ',', default_value = "raw,erc20,amm,mixed")]
    pub workload: Vec<String>,
    /// Hot ratios for `mixed`, in [0, 1]; several give a curve (comma-separated).
    #[arg(long = "hot-ratio", value_delimiter = ',', default_value = "0.1")]
    pub hot_ratio: Vec<f64>,
    /// Transactions per block.
    #[arg(long, default_value_t = 10_000)]
    pub txs: usize,
    /// Threads of the parallel executor [default: the number of CPU cores].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Timed runs of each executor per workload, interleaved; medians are reported.
    #[arg(long, default_value_t = lanes_conflict::workloads::DEFAULT_RUNS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1000))]
    pub runs: usize,
    /// Print one JSON object per workload instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `lanes bench` targets other than the executors.
#[derive(Debug, Subcommand)]
pub enum BenchTarget {
    /// Batch proofs: a random state of `--state-keys` keys, a diff of `--updates` entries (half
    /// updates, half inserts) and `--data-bytes` of batch data, proven and verified on each
    /// backend; proving time, verifying time, peak memory (VmHWM) and proof size.
    ///
    /// Example: `lanes bench prover --updates 100,1000 --data-bytes 10000,100000 --json`.
    Prover(ProverBenchArgs),
}

/// `lanes bench prover` flags.
#[derive(Debug, Args)]
pub struct ProverBenchArgs {
    /// Diff entries per batch (comma-separated for several runs).
    #[arg(long, value_delimiter = ',', default_value = "1000")]
    pub updates: Vec<usize>,
    /// Bytes of batch data (comma-separated for several runs).
    #[arg(long = "data-bytes", value_delimiter = ',', default_value = "100000")]
    pub data_bytes: Vec<usize>,
    /// Backends, side by side: `cpu` (Plonky3's), `gpu-host` (the CUDA kernels' host build),
    /// `cuda` (needs a GPU).
    #[arg(long, value_delimiter = ',', default_value = "cpu,gpu-host")]
    pub backend: Vec<String>,
    /// FRI setting.
    #[arg(long, value_enum, default_value = "balanced")]
    pub security: SecurityArg,
    /// Keys in the state before the batch.
    #[arg(long = "state-keys", default_value_t = 20_000)]
    pub state_keys: usize,
    /// Random seed of the state, diff and data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print one JSON object per run instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Which block executor runs transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ExecutorKind {
    /// revm on all cores: conflict detection over read/write sets, parallel waves; results
    /// identical to `sequential`.
    #[default]
    CpuParallel,
    /// revm, one transaction after another (the reference).
    Sequential,
    /// The CUDA EVM on the GPU; fails at start if there is no CUDA driver or device.
    Gpu,
    /// `gpu` if a CUDA device is usable, otherwise `cpu-parallel` (the log says why).
    Auto,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `lanes node` flags. Unset flags fall back to the config file, then to defaults.
#[derive(Debug, Args, Default)]
pub struct NodeArgs {
    /// TOML configuration file; its keys are the flag names (`datadir`, `chain-id`,
    /// `block-time`, `[http] addr/port`, `[txpool] max-per-sender/max-total`, ...).
    #[arg(long, env = "LANES_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Run the built-in development chain (prefunded test accounts, chain id 1337).
    #[arg(long, env = "LANES_DEV")]
    pub dev: bool,

    /// A geth-style genesis JSON file (`config.chainId`, `alloc`, `gasLimit`, ...).
    #[arg(
        long,
        env = "LANES_GENESIS",
        value_name = "FILE",
        conflicts_with = "dev"
    )]
    pub genesis: Option<PathBuf>,

    /// Data directory [default: <user data dir>/lanes/<dev|chain-ID>].
    #[arg(long, env = "LANES_DATADIR", value_name = "DIR")]
    pub datadir: Option<PathBuf>,

    /// Address the JSON-RPC server (HTTP and WebSocket) listens on [default: 127.0.0.1].
    #[arg(long = "http.addr", env = "LANES_HTTP_ADDR", value_name = "IP")]
    pub http_addr: Option<IpAddr>,

    /// Port of the JSON-RPC server, serving HTTP and WebSocket [default: 8545].
    #[arg(long = "http.port", env = "LANES_HTTP_PORT", value_name = "PORT")]
    pub http_port: Option<u16>,

    /// EIP-155 chain id [default: 1337 with --dev; the genesis file's otherwise].
    #[arg(long = "chain-id", env = "LANES_CHAIN_ID", value_name = "ID")]
    pub chain_id: Option<u64>,

    /// Block interval, e.g. `250ms`, `1s`; a bare number is milliseconds [default: 250ms].
    /// Blocks are produced only when there are executable transactions.
    #[arg(long = "block-time", env = "LANES_BLOCK_TIME", value_name = "DURATION", value_parser = parse_duration)]
    pub block_time: Option<Duration>,

    /// Block gas limit [default: 120000000, or the genesis file's].
    #[arg(long = "gas-limit", env = "LANES_GAS_LIMIT", value_name = "GAS")]
    pub gas_limit: Option<u64>,

    /// Serve Prometheus metrics on this address, e.g. `127.0.0.1:9001` (off by default).
    #[arg(long, env = "LANES_METRICS", value_name = "ADDR")]
    pub metrics: Option<SocketAddr>,

    /// Block executor [default: cpu-parallel].
    #[arg(long, env = "LANES_EXECUTOR", value_enum)]
    pub executor: Option<ExecutorKind>,

    /// Threads of the parallel executor [default: the number of CPU cores].
    #[arg(
        long = "executor.threads",
        env = "LANES_EXECUTOR_THREADS",
        value_name = "N"
    )]
    pub executor_threads: Option<usize>,

    /// Most transactions one sender may have in the pool [default: 4096].
    #[arg(
        long = "txpool.max-per-sender",
        env = "LANES_TXPOOL_MAX_PER_SENDER",
        value_name = "N"
    )]
    pub txpool_max_per_sender: Option<usize>,

    /// Most transactions in the pool; the cheapest are evicted beyond it [default: 100000].
    #[arg(
        long = "txpool.max-total",
        env = "LANES_TXPOOL_MAX_TOTAL",
        value_name = "N"
    )]
    pub txpool_max_total: Option<usize>,

    /// Log format [default: text]. Verbosity follows `RUST_LOG` (default `info`).
    #[arg(long = "log.format", env = "LANES_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,

    /// Run without settlement: no L1, no batches (the single-node behaviour).
    #[arg(long = "no-l1", env = "LANES_NO_L1", conflicts_with_all = ["l1_rpc", "follow"])]
    pub no_l1: bool,

    /// L1 JSON-RPC URL. Without it, `--dev` starts the pinned anvil as its L1.
    #[arg(long = "l1-rpc", env = "LANES_L1_RPC", value_name = "URL")]
    pub l1_rpc: Option<String>,

    /// Address of the Rollup contract on L1 (deployed automatically in dev mode).
    #[arg(long, env = "LANES_ROLLUP", value_name = "ADDRESS")]
    pub rollup: Option<alloy_primitives::Address>,

    /// Address of the Bridge contract on L1 [default: read from the Rollup].
    #[arg(long, env = "LANES_BRIDGE", value_name = "ADDRESS")]
    pub bridge: Option<alloy_primitives::Address>,

    /// File holding the sequencer's L1 private key (hex). Dev mode uses dev account 9.
    #[arg(long = "l1-key-file", env = "LANES_L1_KEY_FILE", value_name = "FILE")]
    pub l1_key_file: Option<PathBuf>,

    /// Follow L1: rebuild the chain from the Rollup's batches; read-only JSON-RPC.
    /// Needs --l1-rpc and --rollup.
    #[arg(long, env = "LANES_FOLLOW", requires_all = ["l1_rpc", "rollup"])]
    pub follow: bool,

    /// How batches reach L1 [default: calldata].
    #[arg(long, env = "LANES_DA", value_enum)]
    pub da: Option<crate::l1::store::DaKind>,

    /// Close a batch at this many bytes of uncompressed block RLP [default: 120000].
    #[arg(
        long = "batch.max-bytes",
        env = "LANES_BATCH_MAX_BYTES",
        value_name = "BYTES"
    )]
    pub batch_max_bytes: Option<usize>,

    /// Close a batch when its oldest block is this old, e.g. `2s` [default: 2s].
    #[arg(long = "batch.max-age", env = "LANES_BATCH_MAX_AGE", value_name = "DURATION", value_parser = parse_duration)]
    pub batch_max_age: Option<Duration>,

    /// L1 blocks a commit must be buried under before the dev node finalizes it or a
    /// follower derives it [default: 1].
    #[arg(
        long = "l1.confirmations",
        env = "LANES_L1_CONFIRMATIONS",
        value_name = "N"
    )]
    pub l1_confirmations: Option<u64>,

    /// The anvil binary for the dev L1 [default: $LANES_ANVIL, node_modules, PATH].
    #[arg(long = "l1.anvil", env = "LANES_ANVIL", value_name = "FILE")]
    pub anvil: Option<PathBuf>,

    /// Who proves and finalizes committed batches [default: on for a dev sequencer, off
    /// otherwise].
    #[arg(long, env = "LANES_PROVER", value_enum)]
    pub prover: Option<ProverMode>,

    /// File holding the prover's L1 private key (hex). Dev mode uses dev account 8.
    #[arg(
        long = "prover.key-file",
        env = "LANES_PROVER_KEY_FILE",
        value_name = "FILE"
    )]
    pub prover_key_file: Option<PathBuf>,

    /// FRI setting of the node's proofs [default: balanced]; all give 100 conjectured bits.
    #[arg(long = "prover.security", env = "LANES_PROVER_SECURITY", value_enum)]
    pub prover_security: Option<SecurityArg>,

    /// Threads of the node's prover [default: the number of CPU cores].
    #[arg(
        long = "prover.threads",
        env = "LANES_PROVER_THREADS",
        value_name = "N"
    )]
    pub prover_threads: Option<usize>,

    /// Nice value of the node's proving threads (Linux; 0 = the node's priority, 19 =
    /// lowest), so that block production keeps its latency while a batch is proven
    /// [default: 10].
    #[arg(long = "prover.nice", env = "LANES_PROVER_NICE", value_name = "N", value_parser = clap::value_parser!(i32).range(0..=19))]
    pub prover_nice: Option<i32>,

    /// Follower: fetch batch proofs from this node's JSON-RPC (`lanes_getBatchProof`),
    /// verify them, and report a batch final only when its proof verified.
    #[arg(
        long = "proofs-from",
        env = "LANES_PROOFS_FROM",
        value_name = "URL",
        requires = "follow"
    )]
    pub proofs_from: Option<String>,
}

/// Parses `250ms`, `2s`, `1.5s` or a bare number of milliseconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else {
        (s, 1e-3)
    };
    let value: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("invalid duration `{s}`: use e.g. 250ms or 1s"))?;
    let secs = value * scale;
    if !secs.is_finite() || secs <= 0.0 || secs > 3600.0 {
        return Err(format!("duration `{s}` out of range (0, 1h]"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The TOML config file.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FileConfig {
    /// See `--dev`.
    pub dev: Option<bool>,
    /// See `--genesis`.
    pub genesis: Option<PathBuf>,
    /// See `--datadir`.
    pub datadir: Option<PathBuf>,
    /// See `--chain-id`.
    pub chain_id: Option<u64>,
    /// See `--block-time`.
    pub block_time: Option<String>,
    /// See `--gas-limit`.
    pub gas_limit: Option<u64>,
    /// See `--metrics`.
    pub metrics: Option<SocketAddr>,
    /// See `--executor`.
    pub executor: Option<ExecutorKind>,
    /// See `--executor.threads`.
    pub executor_threads: Option<usize>,
    /// `[http]`.
    #[serde(default)]
    pub http: HttpSection,
    /// `[txpool]`.
    #[serde(default)]
    pub txpool: TxpoolSection,
    /// `[log]`.
    #[serde(default)]
    pub log: LogSection,
}

/// `[http]` section.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct HttpSection {
    /// See `--http.addr`.
    pub addr: Option<IpAddr>,
    /// See `--http.port`.
    pub port: Option<u16>,
}

/// `[txpool]` section.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TxpoolSection {
    /// See `--txpool.max-per-sender`.
    pub max_per_sender: Option<usize>,
    /// See `--txpool.max-total`.
    pub max_total: Option<usize>,
}

/// `[log]` section.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LogSection {
    /// See `--log.format`.
    pub format: Option<LogFormat>,
}

/// Fully resolved node settings.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Dev chain?
    pub dev: bool,
    /// Genesis file.
    pub genesis: Option<PathBuf>,
    /// Data dir.
    pub datadir: PathBuf,
    /// RPC listen address.
    pub http: SocketAddr,
    /// Chain id override.
    pub chain_id: Option<u64>,
    /// Block interval.
    pub block_time: Duration,
    /// Gas limit override.
    pub gas_limit: Option<u64>,
    /// Metrics address.
    pub metrics: Option<SocketAddr>,
    /// Executor.
    pub executor: ExecutorKind,
    /// Threads of the parallel executor.
    pub executor_threads: usize,
    /// Pool limits.
    pub txpool_max_per_sender: usize,
    /// Pool limits.
    pub txpool_max_total: usize,
    /// Log format.
    pub log_format: LogFormat,
    /// Settlement (`None`: no L1).
    pub l1: Option<crate::l1::L1Settings>,
}

impl NodeArgs {
    /// Merges flags, environment, config file and defaults.
    pub fn resolve(self) -> Result<NodeConfig, String> {
        let file: FileConfig = match &self.config {
            None => FileConfig::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
                toml::from_str(&text)
                    .map_err(|e| format!("invalid config file {}: {e}", path.display()))?
            }
        };
        let dev = self.dev || file.dev.unwrap_or(false);
        let genesis = self.genesis.or(file.genesis);
        if dev && genesis.is_some() {
            return Err("--dev and --genesis exclude each other".into());
        }
        if !dev && genesis.is_none() {
            return Err(
                "nothing to run: pass --dev for a local development chain, or --genesis FILE"
                    .into(),
            );
        }
        let chain_id = self.chain_id.or(file.chain_id);
        let block_time = match (self.block_time, file.block_time) {
            (Some(d), _) => d,
            (None, Some(s)) => parse_duration(&s)?,
            (None, None) => Duration::from_millis(250),
        };
        let datadir = match self.datadir.or(file.datadir) {
            Some(d) => d,
            None => {
                let base =
                    dirs::data_dir().ok_or("cannot find the user data dir; pass --datadir")?;
                let leaf = if dev {
                    "dev".to_string()
                } else {
                    format!(
                        "chain-{}",
                        chain_id.map_or("genesis".into(), |c| c.to_string())
                    )
                };
                base.join("lanes").join(leaf)
            }
        };
        let l1 = if self.no_l1 || (!dev && self.l1_rpc.is_none()) {
            None
        } else {
            Some(crate::l1::L1Settings {
                rpc: self.l1_rpc.clone(),
                rollup: self.rollup,
                bridge: self.bridge,
                key_file: self.l1_key_file.clone(),
                follow: self.follow,
                da: self.da.unwrap_or_default(),
                batch_max_bytes: self.batch_max_bytes.unwrap_or(120_000).max(1),
                batch_max_age: self.batch_max_age.unwrap_or(Duration::from_secs(2)),
                confirmations: self.l1_confirmations.unwrap_or(1),
                anvil_bin: self.anvil.clone(),
                poll: Duration::from_millis(500),
                prover: match self.prover {
                    Some(p) => p == ProverMode::On && !self.follow,
                    None => dev && !self.follow,
                },
                finalize_unproven: dev && self.prover == Some(ProverMode::Off),
                prover_key_file: self.prover_key_file.clone(),
                prover_config: lanes_prover::ProverConfig {
                    security: self.prover_security.unwrap_or_default().into(),
                    backend: lanes_prover::Backend::Cpu,
                },
                prover_threads: crate::l1::prove::ProverThreads {
                    threads: match self.prover_threads {
                        Some(0) => return Err("--prover.threads must be at least 1".into()),
                        Some(n) => n,
                        None => crate::l1::prove::ProverThreads::default().threads,
                    },
                    nice: self.prover_nice.unwrap_or(10),
                },
                proofs_from: self.proofs_from.clone(),
            })
        };
        let addr = self
            .http_addr
            .or(file.http.addr)
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let port = self.http_port.or(file.http.port).unwrap_or(8545);
        Ok(NodeConfig {
            dev,
            genesis,
            datadir,
            http: SocketAddr::new(addr, port),
            chain_id,
            block_time,
            gas_limit: self.gas_limit.or(file.gas_limit),
            metrics: self.metrics.or(file.metrics),
            executor: self.executor.or(file.executor).unwrap_or_default(),
            executor_threads: match self.executor_threads.or(file.executor_threads) {
                Some(0) => return Err("--executor.threads must be at least 1".into()),
                Some(n) => n,
                None => std::thread::available_parallelism().map_or(1, usize::from),
            },
            txpool_max_per_sender: self
                .txpool_max_per_sender
                .or(file.txpool.max_per_sender)
                .unwrap_or(4096),
            txpool_max_total: self
                .txpool_max_total
                .or(file.txpool.max_total)
                .unwrap_or(100_000),
            log_format: self.log_format.or(file.log.format).unwrap_or_default(),
            l1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("100").unwrap(), Duration::from_millis(100));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn flags_beat_file_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lanes.toml");
        std::fs::write(
            &path,
            "dev = true\nchain-id = 7\nblock-time = \"1s\"\n[http]\nport = 9000\n",
        )
        .unwrap();
        let args = NodeArgs {
            config: Some(path.clone()),
            http_port: Some(9100),
            ..Default::default()
        };
        let cfg = args.resolve().unwrap();
        assert!(cfg.dev);
        assert_eq!(cfg.chain_id, Some(7));
        assert_eq!(cfg.block_time, Duration::from_secs(1));
        assert_eq!(cfg.http.port(), 9100);
        std::fs::write(&path, "dve = true\n").unwrap();
        let err = NodeArgs {
            config: Some(path),
            ..Default::default()
        }
        .resolve()
        .unwrap_err();
        assert!(err.contains("unknown field"), "{err}");
    }

    #[test]
    fn needs_a_chain() {
        assert!(NodeArgs::default().resolve().unwrap_err().contains("--dev"));
    }
}
