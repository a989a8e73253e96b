//! Wires a node together in order: storage -> state -> pool -> executor -> block builder ->
//! RPC -> metrics, and tears it down on Ctrl-C / SIGTERM or a fatal error.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use alloy_primitives::Address;
use eyre::{WrapErr, eyre};
use lanes_conflict::{Executor, ParallelExecutor, SequentialExecutor};
use lanes_cuda_evm::GpuExecutor;
use lanes_rpc::{EthBackend, RpcConfig, RpcHandle};
use tracing::{info, warn};

use crate::{
    builder::{self, BlockBuilder},
    chain::{ChainSpec, DEFAULT_GAS_LIMIT, DEV_CHAIN_ID},
    cli::{ExecutorKind, NodeConfig},
    node::Node,
    pool::PoolConfig,
};

/// Builds the chain spec the config asks for.
pub fn chain_spec(config: &NodeConfig) -> eyre::Result<ChainSpec> {
    Ok(match &config.genesis {
        Some(path) => ChainSpec::from_genesis_file(path, config.chain_id, config.gas_limit)?,
        None => ChainSpec::dev(
            config.chain_id.unwrap_or(DEV_CHAIN_ID),
            config.gas_limit.unwrap_or(DEFAULT_GAS_LIMIT),
        )?,
    })
}

/// `lanes prove`: the prover loop as its own process.
pub async fn run_prover(args: crate::cli::ProveArgs) -> eyre::Result<()> {
    if !args.dev && args.genesis.is_none() {
        return Err(eyre::eyre!(
            "which chain? pass --dev or --genesis FILE (as given to the node)"
        ));
    }
    let config = crate::cli::NodeArgs {
        dev: args.dev,
        genesis: args.genesis.clone(),
        chain_id: args.chain_id,
        datadir: args.datadir.clone(),
        no_l1: true,
        ..Default::default()
    }
    .resolve()
    .map_err(|e| eyre::eyre!(e))?;
    let chain = chain_spec(&config)?;
    let genesis_hash = {
        let mut tries = crate::state::StateTries::new();
        let root = tries.apply(&chain.genesis_diff());
        alloy_primitives::Sealable::hash_slow(&chain.genesis_header(root))
    };
    let signer = match (&args.key_file, args.dev) {
        (Some(path), _) => crate::l1::read_key(path)?,
        (None, true) => crate::l1::dev_prover_signer()?,
        (None, false) => {
            return Err(eyre::eyre!(
                "lanes prove needs the prover's L1 key: pass --prover.key-file FILE"
            ));
        }
    };
    let l1 = crate::l1::client::L1Client::new(&args.l1_rpc)?;
    let store = crate::l1::proofs::ProofStore::open(&config.datadir.join("proofs"))?;
    let prover = crate::l1::prove::Prover::new(
        l1,
        args.rollup,
        signer,
        lanes_prover::ProverConfig {
            security: args.security.into(),
            backend: lanes_prover::Backend::Cpu,
        },
        store,
        crate::l1::prove::Genesis {
            hash: genesis_hash,
            tree: Box::new(move || {
                crate::commitment::genesis(&chain.genesis_diff())
                    .map_err(|e| eyre::eyre!("genesis commitment: {e}"))
            }),
        },
        crate::l1::prove::ProverThreads {
            threads: args
                .threads
                .unwrap_or_else(|| crate::l1::prove::ProverThreads::default().threads),
            nice: args.nice,
        },
    )
    .await?;
    info!(?prover, proofs = %config.datadir.join("proofs").display(), "proving batches");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let on_signal = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    });
    match crate::l1::prove::run(
        prover,
        std::time::Duration::from_millis(500),
        stop,
        args.once,
    )
    .await
    {
        None => Ok(()),
        Some(halted) => Err(eyre::eyre!(halted)),
    }
}

/// A started node: block production on its thread, JSON-RPC on its port.
#[derive(Debug)]
pub struct RunningNode {
    /// The node's shared core.
    pub node: Arc<Node>,
    /// The JSON-RPC server.
    pub rpc: RpcHandle,
    /// Settlement (batcher or follower), if on.
    pub l1: Option<crate::l1::L1Handle>,
    stop: Arc<AtomicBool>,
    failed: Arc<AtomicBool>,
    builder: Option<std::thread::JoinHandle<()>>,
}

impl RunningNode {
    /// Whether the node stopped itself (a fatal block production error).
    pub fn stopped_itself(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Stops RPC and block production (finishing the block in progress) and waits for both.
    pub async fn shutdown(self) -> eyre::Result<()> {
        self.rpc.stop();
        self.stop.store(true, Ordering::SeqCst);
        if let Some(builder) = self.builder {
            let _ = tokio::task::spawn_blocking(move || builder.join()).await;
        }
        if let Some(l1) = self.l1 {
            let _ = tokio::task::spawn_blocking(move || l1.shutdown()).await;
        }
        self.rpc.stopped().await;
        if self.failed.load(Ordering::SeqCst) {
            return Err(eyre!("block production failed; see the log above"));
        }
        Ok(())
    }
}

/// The executor `--executor` asks for. `gpu` without a usable CUDA device is an error that
/// names what is missing; `auto` falls back to `cpu-parallel` and logs why.
pub fn select_executor(kind: ExecutorKind, threads: usize) -> eyre::Result<Arc<dyn Executor>> {
    Ok(match kind {
        ExecutorKind::Sequential => Arc::new(SequentialExecutor),
        ExecutorKind::CpuParallel => Arc::new(ParallelExecutor::new(threads)),
        ExecutorKind::Gpu => {
            Arc::new(GpuExecutor::new().wrap_err("--executor gpu cannot start the GPU executor")?)
        }
        ExecutorKind::Auto => match GpuExecutor::new() {
            Ok(gpu) => Arc::new(gpu),
            Err(e) => {
                warn!(reason = %e, "--executor auto: no usable GPU, falling back to cpu-parallel");
                Arc::new(ParallelExecutor::new(threads))
            }
        },
    })
}

/// Starts a node: storage, state, pool, executor, block builder, RPC, in that order.
pub async fn start_node(config: &NodeConfig) -> eyre::Result<RunningNode> {
    let chain = chain_spec(config)?;
    info!(chain_id = chain.chain_id, dev = chain.dev, datadir = %config.datadir.display(), "opening storage");
    let pool = PoolConfig {
        max_per_sender: config.txpool_max_per_sender,
        max_total: config.txpool_max_total,
        ..Default::default()
    };
    let (node, tries) = Node::open(chain, &config.datadir, pool)
        .wrap_err_with(|| format!("cannot open data dir {}", config.datadir.display()))?;
    let head = node.head();
    info!(number = head.number, hash = %head.hash(), state_root = %head.state_root, "chain head");
    if node.chain().dev {
        info!(
            "dev chain: {} accounts from the test mnemonic \"test test ... junk\", 10000 ETH each",
            node.chain().dev_accounts.len()
        );
        for (i, a) in node.chain().dev_accounts.iter().enumerate() {
            info!("  ({i}) {a}");
        }
    }

    let executor = select_executor(config.executor, config.executor_threads)?;
    info!(
        executor = executor.name(),
        threads = config.executor_threads,
        "executor ready"
    );

    let stop = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicBool::new(false));
    let builder = BlockBuilder::new(
        node.clone(),
        tries,
        executor,
        config.block_time,
        Address::ZERO,
    );
    let following = config.l1.as_ref().is_some_and(|l| l.follow);
    let (builder, l1) = match &config.l1 {
        None => (
            Some(builder::spawn(builder, stop.clone(), failed.clone())?),
            None,
        ),
        Some(settings) if following => {
            let l1 =
                crate::l1::start(settings, &config.datadir, node.clone(), Some(builder)).await?;
            (None, Some(l1))
        }
        Some(settings) => {
            let l1 = crate::l1::start(settings, &config.datadir, node.clone(), None).await?;
            (
                Some(builder::spawn(builder, stop.clone(), failed.clone())?),
                Some(l1),
            )
        }
    };

    let rpc_config = RpcConfig {
        addr: config.http,
        ..Default::default()
    };
    let backend: Arc<dyn EthBackend> = node.clone();
    let extra: jsonrpsee::Methods = match &l1 {
        Some(l1) => crate::l1::rpc::module(l1.settlement.clone()).into(),
        None => jsonrpsee::Methods::new(),
    };
    let rpc = match lanes_rpc::start_with(rpc_config, backend, extra).await {
        Ok(rpc) => rpc,
        Err(e) => {
            stop.store(true, Ordering::SeqCst);
            if let Some(builder) = builder {
                let _ = builder.join();
            }
            if let Some(l1) = l1 {
                l1.shutdown();
            }
            return Err(eyre!("cannot start JSON-RPC on {}: {e}", config.http));
        }
    };
    info!(http = %rpc.http_url(), ws = %rpc.ws_url(), "JSON-RPC server listening (HTTP and WebSocket)");
    Ok(RunningNode {
        node,
        rpc,
        l1,
        stop,
        failed,
        builder,
    })
}

/// Runs a node until Ctrl-C, SIGTERM, or a fatal error.
pub async fn run_node(config: NodeConfig) -> eyre::Result<()> {
    if let Some(addr) = config.metrics {
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .with_http_listener(addr)
            .install()
            .wrap_err_with(|| format!("cannot serve metrics on {addr}"))?;
        info!(%addr, "metrics: Prometheus endpoint at http://{addr}/metrics");
    }
    let running = start_node(&config).await?;
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut poll = tokio::time::interval(std::time::Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => { info!("interrupt received, shutting down"); break }
            _ = sigterm.recv() => { info!("SIGTERM received, shutting down"); break }
            _ = poll.tick() => if running.stopped_itself() { break },
        }
    }
    running.shutdown().await?;
    info!("node stopped");
    Ok(())
}
