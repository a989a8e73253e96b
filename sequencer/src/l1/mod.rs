//! Settlement on Ethereum: the node's side of the `Rollup` and `Bridge` contracts.
//!
//! - [`batch`]: the batch data format (version, compression, zstd of the RLP blocks and the
//!   state diff);
//! - [`batcher`]: the sequencer posts batches to L1, tracks and re-posts them, finalizes in dev
//!   when no prover runs;
//! - [`prove`]: the prover proves committed batches and finalizes them with their proofs;
//!   [`proofs`]: the proofs on disk;
//! - [`derive`]: a follower rebuilds the chain from L1 alone and checks every state root and
//!   state commitment; [`verify`]: it checks each finalized batch's proof;
//! - [`anvil`]: the dev L1 that `lanes node --dev` starts when no `--l1-rpc` is given;
//! - [`deploy`], [`contracts`], [`client`]: deployment, ABI, and a small L1 JSON-RPC client;
//! - [`store`]: batcher and follower state in MDBX; [`rpc`]: the `lanes_` JSON-RPC methods.

pub mod anvil;
pub mod batch;
pub mod batcher;
pub mod blobs;
pub mod client;
// `sol!` generates a constructor with one argument per struct field (nine for BatchHeader).
#[allow(clippy::too_many_arguments)]
pub mod contracts;
pub mod deploy;
pub mod derive;
pub mod proofs;
pub mod prove;
pub mod rpc;
pub mod store;
pub mod verify;

use std::{
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::Duration,
};

use alloy_primitives::{Address, B256};
use alloy_signer_local::{MnemonicBuilder, PrivateKeySigner, coins_bip39::English};
use eyre::{WrapErr, eyre};
use parking_lot::RwLock;
use serde::Serialize;
use tracing::{error, info, warn};

use crate::{builder::BlockBuilder, chain::DEV_MNEMONIC, node::Node};
use client::L1Client;
use store::{DaKind, Deployment, L1Store};

/// Index of the dev-mnemonic account that signs L1 transactions in dev mode (the last of the
/// ten, so the first accounts stay free for users on L1).
pub const DEV_SEQUENCER_INDEX: u32 = 9;
/// Index of the dev-mnemonic account that is the Rollup's prover in dev mode (its own key, so
/// the prover's and the batcher's L1 nonces never collide).
pub const DEV_PROVER_INDEX: u32 = 8;

/// Settlement settings resolved from the command line.
#[derive(Debug, Clone)]
pub struct L1Settings {
    /// L1 JSON-RPC URL; `None` in dev starts anvil.
    pub rpc: Option<String>,
    /// Rollup address (required to follow; deployed in dev when absent).
    pub rollup: Option<Address>,
    /// Bridge address (read from the Rollup when absent).
    pub bridge: Option<Address>,
    /// File with the sequencer's L1 private key (hex); dev mode uses a dev account.
    pub key_file: Option<PathBuf>,
    /// Follow L1 instead of producing blocks.
    pub follow: bool,
    /// DA for new batches.
    pub da: DaKind,
    /// Close a batch at this many uncompressed bytes.
    pub batch_max_bytes: usize,
    /// Close a batch when its oldest block is this old.
    pub batch_max_age: Duration,
    /// L1 blocks a commit must be buried under before it counts (finalize, derive).
    pub confirmations: u64,
    /// anvil binary for the dev L1.
    pub anvil_bin: Option<PathBuf>,
    /// How often the batcher and follower poll L1.
    pub poll: Duration,
    /// Run the prover inside the node (`--prover on`).
    pub prover: bool,
    /// Dev only: finalize committed batches without proofs (`--prover off`).
    pub finalize_unproven: bool,
    /// File with the prover's L1 private key (hex); dev mode uses a dev account.
    pub prover_key_file: Option<PathBuf>,
    /// Proof settings.
    pub prover_config: lanes_prover::ProverConfig,
    /// The prover's threads and their priority.
    pub prover_threads: prove::ProverThreads,
    /// A follower fetches batch proofs from this node's JSON-RPC (`--proofs-from`).
    pub proofs_from: Option<String>,
}

/// Which side of settlement this node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Builds blocks and posts batches.
    Sequencer,
    /// Derives blocks from L1.
    Follower,
}

/// What the node last saw on L1 (for `lanes_rollupConfig`).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct L1View {
    /// `Rollup.lastCommitted()`.
    pub last_committed: u64,
    /// `Rollup.lastFinalized()`.
    pub last_finalized: u64,
    /// L1 head block.
    pub l1_head: u64,
    /// Last batch this follower derived and checked.
    pub derived_batch: Option<u64>,
    /// Why the follower stopped, if it did.
    pub halted: Option<String>,
    /// A follower that checks proofs: the last batch that, with every batch before it, has a
    /// verified proof.
    pub final_batch: Option<u64>,
}

/// Settlement state shared by the batcher or follower and the RPC.
#[derive(Debug)]
pub struct Settlement {
    /// L1 endpoint.
    pub l1: L1Client,
    /// L1 chain id.
    pub l1_chain_id: u64,
    /// Rollup address.
    pub rollup: Address,
    /// Bridge address.
    pub bridge: Address,
    /// Sequencer or follower.
    pub role: Role,
    /// DA of new batches.
    pub da: DaKind,
    /// The node.
    pub node: Arc<Node>,
    /// Latest L1 view.
    pub view: RwLock<L1View>,
    /// Poseidon2 state commitment of the genesis state (batch 0's on L1).
    pub genesis_commitment: B256,
    /// Batch proofs on disk (served by `lanes_getBatchProof`).
    pub proofs: proofs::ProofStore,
    /// Whether this node runs the prover.
    pub prover: bool,
}

/// A running batcher or follower (and the dev anvil, if started).
#[derive(Debug)]
pub struct L1Handle {
    /// Shared state (RPC).
    pub settlement: Arc<Settlement>,
    stop: Arc<AtomicBool>,
    worker: Option<JoinHandle<()>>,
    prover: Option<JoinHandle<()>>,
    anvil: Option<anvil::Anvil>,
}

impl Settlement {
    /// The state commitment tree of the genesis state.
    pub fn genesis_tree(&self) -> eyre::Result<lanes_prover::StateCommitment> {
        crate::commitment::genesis(&self.node.chain().genesis_diff())
            .map_err(|e| eyre!("the genesis state has no state commitment: {e}"))
    }

    /// Reads the Rollup's last committed and finalized batch and the L1 head into
    /// [`Settlement::view`], and returns what it read. Called before the RPC serves (so
    /// `lanes_rollupConfig` never reports a batch count it has not read) and on every poll.
    pub async fn refresh_view(&self) -> client::L1Result<L1View> {
        let committed = self
            .l1
            .view(self.rollup, contracts::IRollup::lastCommittedCall {})
            .await?;
        let finalized = self
            .l1
            .view(self.rollup, contracts::IRollup::lastFinalizedCall {})
            .await?;
        let head = self.l1.block_number().await?;
        let mut v = self.view.write();
        v.last_committed = committed;
        v.last_finalized = finalized;
        v.l1_head = head;
        Ok(v.clone())
    }
}

impl L1Handle {
    /// Stops the worker and waits for it; stops anvil.
    pub fn shutdown(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for w in [self.worker.take(), self.prover.take()]
            .into_iter()
            .flatten()
        {
            let _ = w.join();
        }
        drop(self.anvil.take());
    }
}

/// Account `index` of the test mnemonic (dev mode only).
fn dev_key(index: u32) -> eyre::Result<PrivateKeySigner> {
    MnemonicBuilder::<English>::default()
        .phrase(DEV_MNEMONIC)
        .index(index)?
        .build()
        .map_err(|e| eyre!("deriving dev key {index}: {e}"))
}

/// The dev sequencer key: account [`DEV_SEQUENCER_INDEX`] of the test mnemonic.
pub fn dev_signer() -> eyre::Result<PrivateKeySigner> {
    dev_key(DEV_SEQUENCER_INDEX)
}

/// The dev prover key: account [`DEV_PROVER_INDEX`] of the test mnemonic.
pub fn dev_prover_signer() -> eyre::Result<PrivateKeySigner> {
    dev_key(DEV_PROVER_INDEX)
}

/// Reads a hex private key from a file (never echoing it).
pub fn read_key(path: &std::path::Path) -> eyre::Result<PrivateKeySigner> {
    let text = std::fs::read_to_string(path)
        .wrap_err_with(|| format!("cannot read L1 key file {}", path.display()))?;
    // Never echo the file's content in errors.
    text.trim().parse::<PrivateKeySigner>().map_err(|_| {
        eyre!(
            "L1 key file {} does not hold a hex private key",
            path.display()
        )
    })
}

/// Starts settlement for a node whose storage is open: the dev anvil if needed, deployment in
/// dev, then the batcher (sequencer) or the follower. A follower also gets `builder`, the
/// block builder it imports derived blocks through.
pub async fn start(
    settings: &L1Settings,
    datadir: &std::path::Path,
    node: Arc<Node>,
    builder: Option<BlockBuilder>,
) -> eyre::Result<L1Handle> {
    let dev = node.chain().dev;
    let blob_room = blobs::MAX_DATA;
    if settings.da == DaKind::Blob && !settings.follow && settings.batch_max_bytes > blob_room {
        return Err(eyre!(
            "--da blob carries at most {blob_room} bytes of batch data ({} blobs); --batch.max-bytes {} could exceed it",
            blobs::MAX_BLOBS,
            settings.batch_max_bytes
        ));
    }
    let anvil = match &settings.rpc {
        Some(_) => None,
        None => {
            let bin = anvil::find_anvil(settings.anvil_bin.as_deref())?;
            info!(anvil = %bin.display(), "starting the dev L1 (anvil)");
            Some(anvil::start(&bin, &datadir.join("l1")).await?)
        }
    };
    let url = settings
        .rpc
        .clone()
        .or_else(|| anvil.as_ref().map(|a| a.url().to_string()))
        .ok_or_else(|| eyre!("no L1 endpoint"))?;
    let l1 = L1Client::new(&url)?;
    let l1_chain_id = l1
        .chain_id()
        .await
        .wrap_err_with(|| format!("cannot reach the L1 at {url}"))?;
    let store = L1Store(node.store());
    let genesis = node
        .store()
        .reader()?
        .header(0)?
        .ok_or_else(|| eyre!("no genesis block"))?;
    let genesis_root = genesis.state_root;
    let genesis_hash = alloy_primitives::Sealable::hash_slow(&genesis);
    let genesis_commitment = crate::commitment::genesis(&node.chain().genesis_diff())
        .map_err(|e| eyre!("the genesis state has no state commitment: {e}"))?
        .root_b256();
    let proofs = proofs::ProofStore::open(&datadir.join("proofs"))?;

    let stop = Arc::new(AtomicBool::new(false));
    if settings.follow {
        let rollup = settings
            .rollup
            .ok_or_else(|| eyre!("--follow needs --rollup ADDRESS"))?;
        let on_l1: B256 = l1
            .view(rollup, contracts::IRollup::genesisBlockHashCall {})
            .await
            .wrap_err_with(|| format!("reading Rollup {rollup} on {url}"))?;
        if on_l1 != genesis_hash {
            return Err(eyre!(
                "the Rollup at {rollup} was deployed for L2 genesis {on_l1}, but this node's genesis is {genesis_hash}: start it with the same chain (--dev / --genesis / --chain-id) as the sequencer"
            ));
        }
        let batch0 = l1
            .view(rollup, contracts::IRollup::batchesCall { index: 0 })
            .await?;
        if batch0.stateCommitment != genesis_commitment {
            return Err(eyre!(
                "the Rollup at {rollup} has genesis state commitment {}, this node computes {genesis_commitment}",
                batch0.stateCommitment
            ));
        }
        let bridge = match settings.bridge {
            Some(b) => b,
            None => l1.view(rollup, contracts::IRollup::bridgeCall {}).await?,
        };
        node.set_read_only(true);
        let settlement = Arc::new(Settlement {
            l1,
            l1_chain_id,
            rollup,
            bridge,
            role: Role::Follower,
            da: settings.da,
            node,
            view: RwLock::new(L1View::default()),
            genesis_commitment,
            proofs,
            prover: false,
        });
        settlement
            .refresh_view()
            .await
            .wrap_err_with(|| format!("reading Rollup {rollup} on {url}"))?;
        let builder = builder.ok_or_else(|| eyre!("a follower needs a block builder"))?;
        let worker = derive::spawn(settlement.clone(), builder, settings.clone(), stop.clone())?;
        info!(%rollup, %bridge, l1 = %url, proofs_from = ?settings.proofs_from, "following L1");
        return Ok(L1Handle {
            settlement,
            stop,
            worker: Some(worker),
            prover: None,
            anvil,
        });
    }

    let prover_signer = match (&settings.prover_key_file, settings.prover) {
        (Some(path), _) => Some(read_key(path)?),
        (None, true) if dev => Some(dev_prover_signer()?),
        (None, true) => {
            return Err(eyre!(
                "--prover on needs the prover's L1 key: pass --prover.key-file FILE (or --prover off)"
            ));
        }
        (None, false) => None,
    };
    let signer = match &settings.key_file {
        Some(path) => read_key(path)?,
        None if dev => dev_signer()?,
        None => {
            return Err(eyre!(
                "settlement needs the sequencer's L1 key: pass --l1-key-file FILE (or --no-l1)"
            ));
        }
    };
    let recorded = store.deployment()?;
    let wanted = match (settings.rollup, settings.bridge) {
        (Some(rollup), Some(bridge)) => Some(Deployment {
            l1_chain_id,
            rollup,
            bridge,
        }),
        (Some(rollup), None) => Some(Deployment {
            l1_chain_id,
            rollup,
            bridge: l1.view(rollup, contracts::IRollup::bridgeCall {}).await?,
        }),
        (None, _) => recorded,
    };
    let usable = match wanted {
        Some(d) if d.l1_chain_id == l1_chain_id && !l1.code(d.rollup).await?.is_empty() => Some(d),
        Some(d) => {
            warn!(rollup = %d.rollup, "the recorded Rollup is not on this L1 (a new L1?)");
            None
        }
        None => None,
    };
    let deployment = match usable {
        Some(d) => d,
        None if dev => {
            // The dev prover account is the Rollup's prover whether or not this run proves, so
            // a later `--prover on` (or `lanes prove`) can finalize.
            let prover_address = dev_prover_signer()?.address();
            let (rollup, bridge) = deploy::deploy(
                &l1,
                &signer,
                prover_address,
                true,
                [genesis_root, genesis_hash, genesis_commitment],
            )
            .await?;
            info!(%rollup, %bridge, "deployed the dev L1 contracts");
            // A new L1: every batch must be posted again.
            store.delete_batches_from(0)?;
            store.set_inflight(None)?;
            Deployment {
                l1_chain_id,
                rollup,
                bridge,
            }
        }
        None => {
            return Err(eyre!(
                "no Rollup contract on the L1 at {url}: pass --rollup ADDRESS (and --bridge)"
            ));
        }
    };
    if recorded != Some(deployment) {
        store.set_deployment(&deployment)?;
    }
    std::fs::write(
        datadir.join("l1-contracts.json"),
        serde_json::to_vec_pretty(&serde_json::json!({
            "l1ChainId": l1_chain_id,
            "l1Rpc": url,
            "rollup": deployment.rollup,
            "bridge": deployment.bridge,
        }))?,
    )
    .wrap_err("writing l1-contracts.json")?;
    let settlement = Arc::new(Settlement {
        l1,
        l1_chain_id,
        rollup: deployment.rollup,
        bridge: deployment.bridge,
        role: Role::Sequencer,
        da: settings.da,
        node,
        view: RwLock::new(L1View::default()),
        genesis_commitment,
        proofs: proofs.clone(),
        prover: prover_signer.is_some(),
    });
    settlement
        .refresh_view()
        .await
        .wrap_err_with(|| format!("reading Rollup {} on {url}", deployment.rollup))?;
    info!(
        rollup = %deployment.rollup,
        bridge = %deployment.bridge,
        l1 = %url,
        sequencer = %signer.address(),
        "settling on L1"
    );
    let prover = match prover_signer {
        Some(key) => {
            let chain = settlement.node.chain().clone();
            let p = prove::Prover::new(
                settlement.l1.clone(),
                deployment.rollup,
                key,
                settings.prover_config,
                proofs,
                prove::Genesis {
                    hash: genesis_hash,
                    tree: Box::new(move || {
                        crate::commitment::genesis(&chain.genesis_diff())
                            .map_err(|e| eyre!("genesis commitment: {e}"))
                    }),
                },
                settings.prover_threads,
            )
            .await?;
            info!(prover = ?p, threads = ?settings.prover_threads, "proving batches");
            Some(prove::spawn(p, settings.poll, stop.clone())?)
        }
        None => None,
    };
    let worker = batcher::spawn(
        settlement.clone(),
        signer,
        dev && settings.finalize_unproven && prover.is_none(),
        settings.clone(),
        stop.clone(),
    )?;
    Ok(L1Handle {
        settlement,
        stop,
        worker: Some(worker),
        prover,
        anvil,
    })
}

/// Runs `f` on a new thread with its own single-threaded tokio runtime, until `stop`.
pub(crate) fn spawn_worker<F, Fut>(name: &str, f: F) -> eyre::Result<JoinHandle<()>>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let name = name.to_string();
    std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(f()),
                Err(e) => error!(worker = name, error = %e, "cannot start a runtime"),
            }
        })
        .wrap_err("cannot spawn a settlement thread")
}
