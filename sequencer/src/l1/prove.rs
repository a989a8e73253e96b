//! The prover: proves committed batches in order and finalizes them on L1.
//!
//! It works from L1 alone (the node's `--prover on` task and `lanes prove` run the same
//! loop): for the next unfinalized batch it reads the header and the data from the commit
//! transaction, decodes the state diff the data carries, takes the old values from its own
//! commitment tree (at the last finalized batch), checks that applying the diff gives the
//! header's commitment, proves ([`lanes_prover::prove`]), writes the proof to the proofs
//! directory, and sends `Rollup.finalizeBatch(index, proofHash, publicInputsHash)` with the
//! prover key. The contract checks those public inputs against the committed batches.
//!
//! The tree is rebuilt on start from the snapshot the prover saves after each batch (or from
//! the genesis state), then advanced over any batches finalized since by replaying their
//! diffs from L1.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use alloy_primitives::{Address, U256, keccak256};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::SolCall;
use eyre::eyre;
use lanes_prover::{BatchWitness, ProverConfig, StateCommitment};
use tracing::{error, info, warn};

use super::{
    batch,
    client::{L1Client, sign_eip1559},
    contracts::IRollup,
    derive::{DeriveError, fetch_batch},
    proofs::{ProofMeta, ProofStore},
};

/// How often a long proof reports that it is still running.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// How the prover shares the machine with block production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProverThreads {
    /// Threads proving (the rayon pool the proof's DFTs and hashing run on).
    pub threads: usize,
    /// Nice value of those threads (Linux; 0 = the node's own priority, 19 = lowest): a proof
    /// is batch work that may wait, a block is not.
    pub nice: i32,
}

impl Default for ProverThreads {
    fn default() -> Self {
        Self {
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            nice: 10,
        }
    }
}

/// The prover's own thread pool, each thread at `nice`.
fn prover_pool(t: ProverThreads) -> eyre::Result<rayon::ThreadPool> {
    let nice = t.nice;
    rayon::ThreadPoolBuilder::new()
        .num_threads(t.threads.max(1))
        .thread_name(|i| format!("prover-{i}"))
        .start_handler(move |_| lower_priority(nice))
        .build()
        .map_err(|e| eyre!("cannot start the prover's threads: {e}"))
}

#[cfg(target_os = "linux")]
fn lower_priority(nice: i32) {
    if nice == 0 {
        return;
    }
    // SAFETY: `gettid` has no preconditions; `setpriority` on this thread's own id only
    // changes its scheduling priority (an error leaves it unchanged, which is harmless).
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice);
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority(_nice: i32) {}

/// Why the prover stopped or waits: the follower's error type, since the cases are the same. A
/// `Halt` is a committed batch that cannot be proven as committed (wrong diff or commitment;
/// the prover will not finalize it), a `Retry` a transient failure (L1 unreachable, a
/// transaction not mined).
pub type ProveTaskError = DeriveError;

fn halt(index: u64, reason: impl Into<String>) -> ProveTaskError {
    DeriveError::Halt {
        index,
        reason: reason.into(),
    }
}

/// The L2 genesis the prover checks the Rollup against and starts its tree from.
pub struct Genesis {
    /// The genesis block hash (`Rollup.genesisBlockHash`).
    pub hash: alloy_primitives::B256,
    /// Builds the genesis state's commitment tree (batch 0's commitment).
    pub tree: Box<dyn Fn() -> eyre::Result<StateCommitment> + Send>,
}

impl std::fmt::Debug for Genesis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Genesis")
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

/// What one step of the prover did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing to prove: every committed batch is finalized.
    Idle,
    /// Batch `n` was proven and finalized.
    Finalized(u64),
}

/// The prover's state.
pub struct Prover {
    l1: L1Client,
    l1_chain_id: u64,
    rollup: Address,
    signer: PrivateKeySigner,
    config: ProverConfig,
    store: ProofStore,
    genesis: Genesis,
    /// The commitment tree after batch `.0`.
    tree: Option<(u64, StateCommitment)>,
    /// Where proofs run.
    pool: rayon::ThreadPool,
}

impl std::fmt::Debug for Prover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prover")
            .field("rollup", &self.rollup)
            .field("prover", &self.signer.address())
            .field("security", &self.config.security)
            .finish_non_exhaustive()
    }
}

impl Prover {
    /// A prover for `rollup` on `l1`, signing with `signer` (the Rollup's prover key), with
    /// proofs in `store`, for the chain of `genesis` (checked against the Rollup), proving on
    /// `threads`.
    pub async fn new(
        l1: L1Client,
        rollup: Address,
        signer: PrivateKeySigner,
        config: ProverConfig,
        store: ProofStore,
        genesis: Genesis,
        threads: ProverThreads,
    ) -> eyre::Result<Self> {
        let l1_chain_id = l1.chain_id().await?;
        let deployed_for = l1.view(rollup, IRollup::genesisBlockHashCall {}).await?;
        let genesis_hash = genesis.hash;
        if deployed_for != genesis_hash {
            return Err(eyre!(
                "the Rollup at {rollup} was deployed for L2 genesis {deployed_for}, this chain's genesis is {genesis_hash}: prove with the same chain (--dev / --genesis / --chain-id) as the sequencer"
            ));
        }
        let on_l1 = l1.view(rollup, IRollup::proverCall {}).await?;
        if on_l1 != signer.address() {
            return Err(eyre!(
                "the Rollup at {rollup} takes proofs from {on_l1}, but the prover key is {}",
                signer.address()
            ));
        }
        let genesis_on_l1 = l1.view(rollup, IRollup::batchesCall { index: 0 }).await?;
        let ours = (genesis.tree)()?.root_b256();
        if genesis_on_l1.stateCommitment != ours {
            return Err(eyre!(
                "the Rollup's genesis state commitment is {}, this chain's is {ours}: prove with the same chain (--dev / --genesis / --chain-id) as the sequencer",
                genesis_on_l1.stateCommitment
            ));
        }
        Ok(Self {
            l1,
            l1_chain_id,
            rollup,
            signer,
            config,
            store,
            genesis,
            tree: None,
            pool: prover_pool(threads)?,
        })
    }

    /// The proofs directory.
    pub fn store(&self) -> &ProofStore {
        &self.store
    }

    /// The tree after finalized batch `index`, from the cache, the snapshot or genesis, then
    /// advanced over batches up to `index` read from L1.
    async fn tree_at(&mut self, index: u64) -> Result<&mut StateCommitment, ProveTaskError> {
        let usable = |i: u64| i <= index;
        if !self.tree.as_ref().is_some_and(|(i, _)| usable(*i)) {
            self.tree = match self.store.load_state() {
                Some((i, t)) if usable(i) => Some((i, t)),
                _ => Some((0, (self.genesis.tree)()?)),
            };
        }
        let Some((at, tree)) = &mut self.tree else {
            return Err(eyre!("no commitment tree").into());
        };
        while *at < index {
            let next = *at + 1;
            let (header, data, _) = fetch_batch(&self.l1, self.rollup, next)
                .await?
                .ok_or_else(|| eyre!("finalized batch {next} is not on L1"))?;
            let decoded = batch::decode(&data, header.firstBlock)
                .map_err(|e| halt(next, format!("bad batch data: {e}")))?;
            crate::commitment::apply(tree, &decoded.diff)
                .map_err(|e| halt(next, format!("replaying the diff: {e}")))?;
            if tree.root_b256() != header.stateCommitment {
                return Err(halt(
                    next,
                    format!(
                        "replaying finalized batch {next} gives commitment {}, L1 has {}",
                        tree.root_b256(),
                        header.stateCommitment
                    ),
                ));
            }
            *at = next;
            info!(batch = next, "replayed a batch finalized elsewhere");
        }
        Ok(tree)
    }

    /// Proves and finalizes the next batch, if there is one.
    pub async fn step(&mut self) -> Result<Step, ProveTaskError> {
        let rollup = self.rollup;
        let committed = self
            .l1
            .view(rollup, IRollup::lastCommittedCall {})
            .await
            .map_err(eyre::Report::from)?;
        let finalized = self
            .l1
            .view(rollup, IRollup::lastFinalizedCall {})
            .await
            .map_err(eyre::Report::from)?;
        if finalized >= committed {
            return Ok(Step::Idle);
        }
        let index = finalized + 1;
        let security = self.config.security;
        let config = self.config;
        let (header, data, da) = fetch_batch(&self.l1, rollup, index)
            .await?
            .ok_or_else(|| eyre!("batch {index} is no longer committed"))?;
        let batch_hash = super::contracts::batch_hash(&header);
        if keccak256(&data) != header.payloadHash {
            return Err(halt(
                index,
                format!(
                    "the {da:?} data hashes to {}, the header's payload hash is {}",
                    keccak256(&data),
                    header.payloadHash
                ),
            ));
        }
        let decoded = batch::decode(&data, header.firstBlock)
            .map_err(|e| halt(index, format!("bad batch data: {e}")))?;
        let prev_on_l1 = self
            .l1
            .view(rollup, IRollup::batchesCall { index: finalized })
            .await
            .map_err(eyre::Report::from)?
            .stateCommitment;
        let tree = self.tree_at(finalized).await?;
        if tree.root_b256() != prev_on_l1 {
            return Err(halt(
                finalized,
                format!(
                    "this prover's commitment after batch {finalized} is {}, L1 has {prev_on_l1}",
                    tree.root_b256()
                ),
            ));
        }
        let entries = crate::commitment::diff_entries(tree, &decoded.diff);
        let mut next_tree = tree.clone();
        let witness = BatchWitness::build(index, &mut next_tree, data, entries)
            .map_err(|e| halt(index, format!("the batch's diff does not apply: {e}")))?;
        if witness.new_root != header.stateCommitment {
            return Err(halt(
                index,
                format!(
                    "applying the batch's diff gives commitment {}, the header says {}",
                    witness.new_root, header.stateCommitment
                ),
            ));
        }
        let pi = witness.public_inputs();
        let (meta, bytes) = match self.store.get(index)? {
            Some((meta, bytes)) if meta.batch_hash == batch_hash && meta.public_inputs == pi => {
                info!(batch = index, "reusing the proof on disk");
                (meta, bytes)
            }
            _ => {
                let (bytes, secs) = prove_with_progress(&self.pool, index, &witness, config)?;
                let meta = ProofMeta {
                    index,
                    batch_hash,
                    proof_hash: lanes_prover::proof_hash(&bytes),
                    public_inputs: pi,
                    public_inputs_hash: pi.hash(),
                    security: security.name().to_string(),
                    prove_s: secs,
                };
                self.store.put(&meta, &bytes)?;
                (meta, bytes)
            }
        };
        self.finalize(index, &meta).await?;
        info!(
            batch = index,
            proof_bytes = bytes.len(),
            proof_hash = %meta.proof_hash,
            public_inputs_hash = %meta.public_inputs_hash,
            "batch finalized on L1 with its proof"
        );
        self.store.save_state(index, &next_tree)?;
        self.tree = Some((index, next_tree));
        Ok(Step::Finalized(index))
    }

    /// Sends `finalizeBatch` and waits for it.
    async fn finalize(&self, index: u64, meta: &ProofMeta) -> Result<(), ProveTaskError> {
        let input = IRollup::finalizeBatchCall {
            index,
            proofHash: meta.proof_hash,
            publicInputsHash: meta.public_inputs_hash,
        }
        .abi_encode();
        let me = self.signer.address();
        let gas = self
            .l1
            .estimate_gas(me, Some(self.rollup), &input, U256::ZERO)
            .await
            .map_err(|e| eyre!("finalizeBatch({index}) would revert on L1: {e}"))?;
        let nonce = self
            .l1
            .nonce(me, "pending")
            .await
            .map_err(eyre::Report::from)?;
        let fees = self.l1.fees().await.map_err(eyre::Report::from)?;
        let (hash, raw) = sign_eip1559(
            &self.signer,
            self.l1_chain_id,
            nonce,
            Some(self.rollup),
            input,
            U256::ZERO,
            gas + gas / 5,
            fees,
        )
        .map_err(eyre::Report::from)?;
        self.l1.send_raw(&raw).await.map_err(eyre::Report::from)?;
        let receipt = super::deploy::wait_receipt(&self.l1, hash).await?;
        if !receipt.status() {
            return Err(eyre!("finalizeBatch({index}) reverted in {hash}").into());
        }
        Ok(())
    }
}

/// Proves on this thread and logs every [`PROGRESS_EVERY`] while it runs. Returns the proof
/// bytes and the seconds it took.
fn prove_with_progress(
    pool: &rayon::ThreadPool,
    index: u64,
    witness: &BatchWitness,
    config: ProverConfig,
) -> Result<(Vec<u8>, f64), ProveTaskError> {
    info!(
        batch = index,
        diff = witness.diff.len(),
        data_bytes = witness.data.len(),
        security = config.security.name(),
        "proving"
    );
    let started = Instant::now();
    let done = AtomicBool::new(false);
    let result = std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut next = PROGRESS_EVERY;
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                if started.elapsed() >= next {
                    info!(batch = index, elapsed_s = next.as_secs(), "still proving");
                    next += PROGRESS_EVERY;
                }
            }
        });
        let r = pool.install(|| lanes_prover::prove(witness, &config));
        done.store(true, Ordering::Relaxed);
        r
    });
    let proof = result.map_err(|e| halt(index, format!("proving failed: {e}")))?;
    let secs = started.elapsed().as_secs_f64();
    let bytes = proof.to_bytes();
    info!(
        batch = index,
        prove_s = format!("{secs:.2}"),
        proof_bytes = bytes.len(),
        "batch proven"
    );
    Ok((bytes, secs))
}

/// Runs the prover until `stop` (or, with `once`, until nothing is left to prove), polling
/// every `poll`. Returns why it halted if a batch cannot be proven as committed.
pub async fn run(
    mut prover: Prover,
    poll: Duration,
    stop: Arc<AtomicBool>,
    once: bool,
) -> Option<String> {
    let mut last_error = String::new();
    while !stop.load(Ordering::Relaxed) {
        match prover.step().await {
            Ok(Step::Finalized(_)) => {
                last_error.clear();
                continue;
            }
            Ok(Step::Idle) => {
                last_error.clear();
                if once {
                    break;
                }
            }
            Err(ProveTaskError::Halt { index, reason }) => {
                error!(
                    batch = index,
                    reason, "the prover stopped: this batch cannot be proven as committed"
                );
                return Some(format!("batch {index}: {reason}"));
            }
            Err(ProveTaskError::Retry(e)) => {
                let msg = format!("{e:#}");
                if msg != last_error {
                    warn!(error = %msg, "prover: will retry");
                    last_error = msg;
                }
            }
        }
        tokio::time::sleep(poll).await;
    }
    info!("prover stopped");
    None
}

/// Starts the prover on its own thread (the node's `--prover on`).
pub fn spawn(
    prover: Prover,
    poll: Duration,
    stop: Arc<AtomicBool>,
) -> eyre::Result<std::thread::JoinHandle<()>> {
    super::spawn_worker("prover", move || async move {
        run(prover, poll, stop, false).await;
    })
}
