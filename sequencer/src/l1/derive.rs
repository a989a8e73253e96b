//! Derivation: a follower rebuilds the L2 chain from L1 alone.
//!
//! It scans `BatchCommitted` events of the `Rollup` in L1 blocks at least `confirmations`
//! deep, fetches each batch's data from the commit transaction's calldata, checks
//! `keccak256(data) == dataHash` and the header against the event's batch hash, decodes the
//! blocks, re-executes them through the same block builder as the sequencer (so block hashes
//! match), and checks the post state root. Any mismatch halts derivation with a report naming
//! the batch and what differed; the node keeps serving what it has, read-only.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use alloy_consensus::{TxEnvelope, transaction::SignerRecoverable};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{B256, keccak256};
use alloy_rpc_types_eth::Filter;
use alloy_sol_types::{SolCall, SolEvent};
use tracing::{error, info, warn};

use super::{
    L1Settings, Settlement,
    batch::{self, DecodedBatch},
    contracts::{self, BatchHeader, IRollup},
    store::{DaKind, L1Store, PendingProof},
};
use crate::builder::BlockBuilder;

/// Most L1 blocks scanned per `eth_getLogs`.
const LOG_RANGE: u64 = 2_000;
/// How far back to rescan after an L1 reorg under the scanned range.
const REORG_RESCAN: u64 = 128;

/// Why derivation stopped.
#[derive(Debug, thiserror::Error)]
pub enum DeriveError {
    /// Halting: the data on L1 does not reproduce the committed chain.
    #[error("batch {index}: {reason}")]
    Halt {
        /// Batch index.
        index: u64,
        /// What differed.
        reason: String,
    },
    /// A transient failure (L1 unreachable); retried.
    #[error(transparent)]
    Retry(#[from] eyre::Report),
}

fn halt(index: u64, reason: impl Into<String>) -> DeriveError {
    DeriveError::Halt {
        index,
        reason: reason.into(),
    }
}

/// Starts the follower thread.
pub fn spawn(
    s: Arc<Settlement>,
    builder: BlockBuilder,
    settings: L1Settings,
    stop: Arc<AtomicBool>,
) -> eyre::Result<std::thread::JoinHandle<()>> {
    super::spawn_worker("derive", move || async move {
        let proof_source = match settings
            .proofs_from
            .as_deref()
            .map(super::client::L1Client::new)
        {
            Some(Ok(c)) => Some(c),
            Some(Err(e)) => {
                error!(error = %e, "--proofs-from is not a usable JSON-RPC URL; not checking proofs");
                None
            }
            None => None,
        };
        let mut d = Deriver {
            s,
            builder,
            settings,
            commitment: None,
            check_proofs: proof_source.is_some(),
            proof_source,
        };
        let mut last_error = String::new();
        while !stop.load(Ordering::Relaxed) {
            let ticked = d.tick(&stop).await;
            d.update_marks();
            match ticked {
                Ok(()) => last_error.clear(),
                Err(DeriveError::Halt { index, reason }) => {
                    let report = format!("derivation halted at batch {index}: {reason}");
                    error!("{report}; this node will not advance until restarted on good L1 data");
                    d.s.view.write().halted = Some(report);
                    break;
                }
                Err(DeriveError::Retry(e)) => {
                    let msg = format!("{e:#}");
                    if msg != last_error {
                        warn!(error = %msg, "derivation: will retry");
                        last_error = msg;
                    }
                }
            }
            tokio::time::sleep(d.settings.poll).await;
        }
        info!("derivation stopped");
    })
}

/// The derivation loop's state (progress is in MDBX).
pub struct Deriver {
    s: Arc<Settlement>,
    builder: BlockBuilder,
    settings: L1Settings,
    /// The commitment tree at the head (the last derived batch), built on first use.
    commitment: Option<lanes_prover::StateCommitment>,
    /// Whether derived batches are kept until their proofs are checked.
    check_proofs: bool,
    /// The node that serves proofs (`--proofs-from`).
    proof_source: Option<super::client::L1Client>,
}

impl std::fmt::Debug for Deriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deriver").finish_non_exhaustive()
    }
}

/// Decodes and checks one calldata batch's data against its header and the node's head: the
/// transactions of each block, with senders recovered.
pub fn check_batch(
    header: &BatchHeader,
    data: &[u8],
    head: u64,
) -> Result<DecodedBatch, DeriveError> {
    check_batch_as(header, data, head, DaKind::Calldata)
}

/// [`check_batch`] for either DA. For blobs the data hash covers the versioned hashes, which
/// the caller has checked against the blobs the data was decoded from.
pub fn check_batch_as(
    header: &BatchHeader,
    data: &[u8],
    head: u64,
    da: DaKind,
) -> Result<DecodedBatch, DeriveError> {
    let index = header.index;
    let hash = keccak256(data);
    // The payload hash is what the proof's data hash is; for blobs it is the only link between
    // the proof and the blobs' versioned hashes, so every follower checks it.
    if hash != header.payloadHash {
        return Err(halt(
            index,
            format!(
                "payload hash mismatch: the data hashes to {hash}, the header says {}",
                header.payloadHash
            ),
        ));
    }
    if da == DaKind::Calldata && hash != header.dataHash {
        return Err(halt(
            index,
            format!(
                "data hash mismatch: the data hashes to {hash}, the commit says {}",
                header.dataHash
            ),
        ));
    }
    if header.firstBlock != head + 1 {
        return Err(halt(
            index,
            format!(
                "starts at L2 block {}, but this node's head is {head}",
                header.firstBlock
            ),
        ));
    }
    let decoded = batch::decode(data, header.firstBlock)
        .map_err(|e| halt(index, format!("bad batch data: {e}")))?;
    let last = decoded.blocks.last().map_or(0, |b| b.number);
    if last != header.lastBlock {
        return Err(halt(
            index,
            format!(
                "data ends at block {last}, the commit says {}",
                header.lastBlock
            ),
        ));
    }
    Ok(decoded)
}

/// Reads batch `index` from its commit transaction `tx_hash` on L1: the header (checked
/// against `batch_hash`), the batch data (calldata, or the blobs fetched from the L1 node and
/// checked against their versioned hashes) and the DA kind.
pub async fn read_commit(
    l1: &super::client::L1Client,
    index: u64,
    batch_hash: B256,
    tx_hash: B256,
) -> Result<(BatchHeader, Vec<u8>, DaKind), DeriveError> {
    let tx = l1
        .transaction(tx_hash)
        .await
        .map_err(eyre::Report::from)?
        .ok_or_else(|| eyre::eyre!("commit transaction {tx_hash} not found on L1"))?;
    let input = alloy_consensus::Transaction::input(tx.inner.inner());
    let (header, data, da) = match IRollup::commitBatchCall::abi_decode(input) {
        Ok(call) => (call.h, call.data.to_vec(), DaKind::Calldata),
        Err(_) => match IRollup::commitBatchBlobsCall::abi_decode(input) {
            Ok(call) => {
                let stated: Vec<B256> =
                    alloy_consensus::Transaction::blob_versioned_hashes(tx.inner.inner())
                        .map(|h| h.to_vec())
                        .unwrap_or_default();
                if contracts::blob_data_hash(&stated) != call.h.dataHash {
                    return Err(halt(
                        index,
                        format!(
                            "the versioned hashes of {tx_hash} hash to {}, the header says {}",
                            contracts::blob_data_hash(&stated),
                            call.h.dataHash
                        ),
                    ));
                }
                let mut blobs = Vec::with_capacity(stated.len().min(super::blobs::MAX_BLOBS));
                for vh in stated.iter().take(super::blobs::MAX_BLOBS) {
                    // Unavailable blobs are an L1 access problem, not a bad batch: retry.
                    let blob = l1
                        .blob(*vh)
                        .await
                        .map_err(|e| eyre::eyre!("fetching blob {vh} of batch {index}: {e}"))?
                        .ok_or_else(|| {
                            eyre::eyre!(
                                "blob {vh} of batch {index} is not available from the L1 node"
                            )
                        })?;
                    blobs.push(blob);
                }
                let data = super::blobs::decode(&blobs, &stated)
                    .map_err(|e| halt(index, format!("bad blob data: {e}")))?;
                (call.h, data, DaKind::Blob)
            }
            Err(e) => {
                return Err(halt(
                    index,
                    format!("commit transaction {tx_hash} is not a commitBatch call: {e}"),
                ));
            }
        },
    };
    if header.index != index || contracts::batch_hash(&header) != batch_hash {
        return Err(halt(
            index,
            format!(
                "the header in transaction {tx_hash} hashes to {}, the event says {batch_hash}",
                contracts::batch_hash(&header)
            ),
        ));
    }
    Ok((header, data, da))
}

/// Finds committed batch `index` on L1 (through `Rollup.batches` and its `BatchCommitted`
/// event) and reads it with [`read_commit`]. `None` if the batch is not committed.
pub async fn fetch_batch(
    l1: &super::client::L1Client,
    rollup: alloy_primitives::Address,
    index: u64,
) -> Result<Option<(BatchHeader, Vec<u8>, DaKind)>, DeriveError> {
    let info = l1
        .view(rollup, IRollup::batchesCall { index })
        .await
        .map_err(eyre::Report::from)?;
    if info.batchHash == B256::ZERO {
        return Ok(None);
    }
    let filter = Filter::new()
        .address(rollup)
        .event_signature(IRollup::BatchCommitted::SIGNATURE_HASH)
        .topic1(B256::from(alloy_primitives::U256::from(index)))
        .from_block(info.l1Block)
        .to_block(info.l1Block);
    let logs = l1.logs(&filter).await.map_err(eyre::Report::from)?;
    for log in logs {
        let Ok(ev) = IRollup::BatchCommitted::decode_log_data(log.data()) else {
            continue;
        };
        if ev.index == index && ev.batchHash == info.batchHash {
            let tx = log
                .transaction_hash
                .ok_or_else(|| eyre::eyre!("log without a transaction hash"))?;
            return read_commit(l1, index, info.batchHash, tx).await.map(Some);
        }
    }
    Err(DeriveError::Retry(eyre::eyre!(
        "no BatchCommitted event for batch {index} in L1 block {}",
        info.l1Block
    )))
}

impl Deriver {
    fn store(&self) -> L1Store<'_> {
        L1Store(self.s.node.store())
    }

    /// The `safe` tag names what this node derived from L1, `finalized` what it verified (the
    /// genesis without proof checking: nothing is final then).
    fn update_marks(&self) {
        let final_block = match self.check_proofs {
            true => self.store().proof_cursor().map_or(0, |c| c.final_block),
            false => 0,
        };
        self.s
            .node
            .set_marks(self.s.node.head().number, final_block);
    }

    async fn tick(&mut self, stop: &AtomicBool) -> Result<(), DeriveError> {
        let l1 = self.s.l1.clone();
        let mut cursor = self
            .store()
            .cursor()
            .map_err(eyre::Report::from)?
            .unwrap_or_default();
        let view = self.s.refresh_view().await.map_err(eyre::Report::from)?;
        let head = view.l1_head;
        self.s.view.write().derived_batch = Some(cursor.batch);
        // An L1 reorg under the scanned range: rescan from further back (batches already
        // derived are recognised by their hash and skipped).
        if cursor.next_l1_block > 0 {
            let now = l1
                .block_hash(cursor.next_l1_block - 1)
                .await
                .map_err(eyre::Report::from)?;
            if now != Some(cursor.scanned_hash) {
                let back = cursor.next_l1_block.saturating_sub(REORG_RESCAN);
                warn!(
                    from = cursor.next_l1_block,
                    to = back,
                    "L1 reorg under the scanned blocks; rescanning"
                );
                cursor.next_l1_block = back;
                cursor.scanned_hash = match back {
                    0 => B256::ZERO,
                    n => l1
                        .block_hash(n - 1)
                        .await
                        .map_err(eyre::Report::from)?
                        .unwrap_or_default(),
                };
            }
        }
        // Proofs of derived batches that L1 has finalized.
        let mut checked = u64::MAX;
        if let Some(source) = &self.proof_source {
            let final_batch =
                super::verify::check_proofs(&self.s, source, &self.s.proofs, cursor.batch)
                    .await
                    .map_err(DeriveError::Retry);
            let pc = self.store().proof_cursor().map_err(eyre::Report::from)?;
            self.s.view.write().final_batch = Some(pc.final_batch);
            checked = pc.checked;
            if let Err(e) = final_batch {
                // Keep deriving while the proof source is unreachable (up to the bound below).
                warn!(error = %format!("{e:#}"), "checking batch proofs: will retry");
            }
        }
        let safe = head.saturating_sub(self.settings.confirmations);
        while cursor.next_l1_block <= safe && !stop.load(Ordering::Relaxed) {
            let to = safe.min(cursor.next_l1_block + LOG_RANGE - 1);
            let filter = Filter::new()
                .address(self.s.rollup)
                .event_signature(vec![
                    IRollup::BatchCommitted::SIGNATURE_HASH,
                    IRollup::BatchesReverted::SIGNATURE_HASH,
                ])
                .from_block(cursor.next_l1_block)
                .to_block(to);
            let logs = l1.logs(&filter).await.map_err(eyre::Report::from)?;
            for log in logs {
                let topic0 = log.topics().first().copied().unwrap_or_default();
                if topic0 == IRollup::BatchesReverted::SIGNATURE_HASH {
                    let ev = IRollup::BatchesReverted::decode_log_data(log.data())
                        .map_err(|e| eyre::eyre!("bad BatchesReverted log: {e}"))?;
                    if ev.fromIndex <= cursor.batch {
                        return Err(halt(
                            ev.fromIndex,
                            format!(
                                "the sequencer reverted batches from {} on L1, but this node already derived up to {}; it cannot unwind L2 blocks",
                                ev.fromIndex, cursor.batch
                            ),
                        ));
                    }
                    continue;
                }
                let ev = IRollup::BatchCommitted::decode_log_data(log.data())
                    .map_err(|e| eyre::eyre!("bad BatchCommitted log: {e}"))?;
                if ev.index == 0 {
                    continue;
                }
                if ev.index <= cursor.batch {
                    if ev.index == cursor.batch && ev.batchHash != cursor.batch_hash {
                        return Err(halt(
                            ev.index,
                            format!(
                                "L1 now commits hash {} for a batch this node derived as {}",
                                ev.batchHash, cursor.batch_hash
                            ),
                        ));
                    }
                    continue;
                }
                if ev.index != cursor.batch + 1 {
                    return Err(halt(
                        ev.index,
                        format!("expected batch {} next on L1", cursor.batch + 1),
                    ));
                }
                if self.check_proofs
                    && ev.index > checked.saturating_add(super::verify::MAX_UNCHECKED)
                {
                    // Too many derived batches wait for their proofs: hold derivation (what is
                    // kept for them is bounded) and rescan from here later.
                    return Ok(());
                }
                let tx_hash = log
                    .transaction_hash
                    .ok_or_else(|| eyre::eyre!("log without a transaction hash"))?;
                self.apply_commit(ev.index, ev.batchHash, tx_hash).await?;
                cursor.batch = ev.index;
                cursor.batch_hash = ev.batchHash;
                self.store()
                    .set_cursor(&cursor)
                    .map_err(eyre::Report::from)?;
                self.s.view.write().derived_batch = Some(cursor.batch);
            }
            cursor.next_l1_block = to + 1;
            cursor.scanned_hash = l1
                .block_hash(to)
                .await
                .map_err(eyre::Report::from)?
                .unwrap_or_default();
            self.store()
                .set_cursor(&cursor)
                .map_err(eyre::Report::from)?;
        }
        Ok(())
    }

    async fn apply_commit(
        &mut self,
        index: u64,
        batch_hash: B256,
        tx_hash: B256,
    ) -> Result<(), DeriveError> {
        let (header, data, da) = read_commit(&self.s.l1, index, batch_hash, tx_hash).await?;
        self.apply_batch(&header, &data, da)
    }

    /// Checks, decodes and re-executes one batch, then checks its post state root.
    pub fn apply_batch(
        &mut self,
        header: &BatchHeader,
        data: &[u8],
        da: DaKind,
    ) -> Result<(), DeriveError> {
        let index = header.index;
        let head = self.s.node.head().number;
        let batch = check_batch_as(header, data, head, da)?;
        // The commitment tree must be at the state before the batch: build it (first batch
        // after a start) before anything is imported.
        self.commitment()?;
        // Decode and recover every transaction before executing anything.
        let mut decoded = Vec::with_capacity(batch.blocks.len());
        for block in &batch.blocks {
            let mut txs = Vec::with_capacity(block.transactions.len());
            for (i, raw) in block.transactions.iter().enumerate() {
                let tx = TxEnvelope::decode_2718(&mut raw.as_ref()).map_err(|e| {
                    halt(
                        index,
                        format!("block {} tx {i} does not decode: {e}", block.number),
                    )
                })?;
                let signer = tx.recover_signer().map_err(|e| {
                    halt(
                        index,
                        format!("block {} tx {i} has a bad signature: {e}", block.number),
                    )
                })?;
                txs.push(alloy_consensus::transaction::Recovered::new_unchecked(
                    tx, signer,
                ));
            }
            decoded.push((block.number, block.timestamp, txs));
        }
        for (number, timestamp, txs) in decoded {
            self.builder
                .import_block(number, timestamp, txs)
                .map_err(|e| halt(index, format!("re-executing: {e}")))?;
        }
        let head = self.s.node.head();
        if head.state_root != header.postStateRoot {
            return Err(halt(
                index,
                format!(
                    "state root after block {} is {}, the commit says {}",
                    head.number, head.state_root, header.postStateRoot
                ),
            ));
        }
        // The deposits the batch consumed on L2 must be the L1 queue's: the header states the
        // count and rolling hash (which `commitBatch` checked against the Bridge), and
        // `L2Deposits` recomputed the hash from the deposits it paid out.
        let (count, hash) = {
            let reader = self
                .s
                .node
                .store()
                .reader()
                .map_err(|e| halt(index, format!("reading state: {e}")))?;
            let state = crate::storage::StateAt::new(&reader, head.number, head.number);
            crate::deposits::l2_progress(&state)
                .map_err(|e| halt(index, format!("reading L2Deposits: {e}")))?
        };
        if (count, hash) != (header.depositCount, header.depositHash) {
            return Err(halt(
                index,
                format!(
                    "L2 consumed {count} deposits (rolling hash {hash}) by block {}, the commit says {} ({})",
                    head.number, header.depositCount, header.depositHash
                ),
            ));
        }
        // The state diff the batch carries must be what re-execution changed, and applying it
        // to this node's commitment must give the header's commitment.
        let own = {
            let reader = self
                .s
                .node
                .store()
                .reader()
                .map_err(|e| halt(index, format!("reading state: {e}")))?;
            crate::commitment::range_diff(&reader, head.number, header.firstBlock, head.number)
                .map_err(|e| halt(index, format!("reading the state diff: {e}")))?
        };
        if own != batch.diff {
            let at = own
                .iter()
                .zip(&batch.diff)
                .position(|(a, b)| a != b)
                .unwrap_or(own.len().min(batch.diff.len()));
            return Err(halt(
                index,
                format!(
                    "the batch's state diff differs from re-execution at entry {at} ({} entries carried, {} re-executed): carried {:?}, re-executed {:?}",
                    batch.diff.len(),
                    own.len(),
                    batch.diff.get(at),
                    own.get(at)
                ),
            ));
        }
        let tree = self.commitment()?;
        let prev_commitment = tree.root_b256();
        let entries = crate::commitment::diff_entries(tree, &batch.diff);
        if let Err(e) = crate::commitment::apply(tree, &batch.diff) {
            self.commitment = None;
            return Err(halt(
                index,
                format!("the state commitment refuses the diff: {e}"),
            ));
        }
        let commitment = tree.root_b256();
        if commitment != header.stateCommitment {
            self.commitment = None;
            return Err(halt(
                index,
                format!(
                    "state commitment after the batch is {commitment}, the commit says {}",
                    header.stateCommitment
                ),
            ));
        }
        if self.check_proofs {
            let pending = PendingProof {
                batch_hash: contracts::batch_hash(header),
                last_block: header.lastBlock,
                public_inputs: lanes_prover::PublicInputs {
                    index,
                    prev_commitment,
                    new_commitment: commitment,
                    data_hash: keccak256(data),
                },
                data: data.to_vec().into(),
                diff: entries,
            };
            self.store()
                .set_pending_proof(index, Some(&pending))
                .map_err(|e| DeriveError::Retry(e.into()))?;
        }
        info!(
            batch = index,
            blocks = format!("{}..={}", header.firstBlock, header.lastBlock),
            head = %head.hash(),
            state_root = %head.state_root,
            %commitment,
            diff = batch.diff.len(),
            "batch derived and checked"
        );
        Ok(())
    }

    /// This node's commitment tree at its head (built from its state on first use).
    fn commitment(&mut self) -> Result<&mut lanes_prover::StateCommitment, DeriveError> {
        if self.commitment.is_none() {
            let started = std::time::Instant::now();
            let reader = self
                .s
                .node
                .store()
                .reader()
                .map_err(|e| DeriveError::Retry(e.into()))?;
            let tree = crate::commitment::from_state(&reader)
                .map_err(|e| halt(0, format!("building the state commitment: {e}")))?;
            info!(
                keys = tree.len(),
                ms = started.elapsed().as_millis() as u64,
                commitment = %tree.root_b256(),
                "state commitment built from the head state"
            );
            self.commitment = Some(tree);
        }
        self.commitment
            .as_mut()
            .ok_or_else(|| DeriveError::Retry(eyre::eyre!("no commitment tree")))
    }
}
