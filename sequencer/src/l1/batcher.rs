//! The batcher: closes batches of committed L2 blocks, posts them to the `Rollup`, and keeps
//! L1 in step with what it built.
//!
//! Every poll it reconciles, one L1 transaction at a time:
//! 1. a transaction in flight: done when it has a receipt; replaced with 25% higher fees when
//!    it has not landed after [`RESUBMIT_AFTER`];
//! 2. L1 behind the local batches (an L1 reorg dropped a commit, or the dev L1 restarted from
//!    an older dump): re-post the next batch from its stored data;
//! 3. L1 holding a batch whose hash differs from the local one: `revertBatches` from there;
//! 4. dev without the prover (`--prover off`): `finalizeBatchUnproven` for committed batches
//!    buried `confirmations` deep (with the prover on, the prover task finalizes with proofs);
//! 5. otherwise close a new batch when the blocks after the last one reach
//!    `--batch.max-bytes` of RLP or their oldest block is `--batch.max-age` old. A batch carries
//!    its state diff and the Poseidon2 state commitment after it (see [`crate::commitment`]);
//!    the batcher keeps the commitment tree at its last closed batch, rebuilt on start from the
//!    genesis state and the diffs of the stored batches.
//!
//! The batches (data included) and the transaction in flight are in MDBX, so a restart
//! continues where it stopped.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use alloy_eips::{eip2718::Encodable2718, eip7594::BlobTransactionSidecarVariant};
use alloy_primitives::{B256, Bytes, U256, keccak256};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::SolCall;
use eyre::eyre;
use tracing::{info, warn};

use super::{
    L1Settings, Settlement,
    batch::{self, BatchBlock},
    client::{L1Error, sign_eip1559, sign_eip4844},
    contracts::{
        BatchHeader, IBridge, IL2Deposits, IL2Withdrawals, IRollup, L2_DEPOSITS, L2_WITHDRAWALS,
        batch_hash, blob_data_hash, genesis_batch_hash, withdrawal_leaf, withdrawals_root,
    },
    store::{
        Action, BatchRecord, DaKind, Inflight, L1Store, Landed, StoredHeader, WithdrawalRecord,
    },
};
use crate::builder::unix_now;

/// A transaction not mined after this long is replaced with higher fees.
pub const RESUBMIT_AFTER: Duration = Duration::from_secs(6);

/// Starts the batcher thread. `finalize_unproven`: finalize committed batches with
/// `finalizeBatchUnproven` (dev deployments without a prover).
pub fn spawn(
    s: Arc<Settlement>,
    signer: PrivateKeySigner,
    finalize_unproven: bool,
    settings: L1Settings,
    stop: Arc<AtomicBool>,
) -> eyre::Result<std::thread::JoinHandle<()>> {
    super::spawn_worker("batcher", move || async move {
        let mut batcher = Batcher {
            s,
            signer,
            finalize_unproven,
            settings,
            commitment: None,
            deposit_scan: 0,
            deposit_next: 0,
            sidecar_form: super::blobs::SidecarForm::Eip7594,
            sidecar_cache: None,
        };
        let mut last_error = String::new();
        while !stop.load(Ordering::Relaxed) {
            match batcher.tick().await {
                Ok(()) => last_error.clear(),
                Err(e) => {
                    let msg = format!("{e:#}");
                    if msg != last_error {
                        warn!(error = %msg, "batcher: will retry");
                        last_error = msg;
                    }
                }
            }
            tokio::time::sleep(batcher.settings.poll).await;
        }
        info!("batcher stopped");
    })
}

/// The batcher's state between polls (everything else is in MDBX).
#[derive(Debug)]
pub struct Batcher {
    s: Arc<Settlement>,
    signer: PrivateKeySigner,
    finalize_unproven: bool,
    settings: L1Settings,
    /// The state commitment tree after batch `.0` (the last closed batch), built on first use.
    commitment: Option<(u64, lanes_prover::StateCommitment)>,
    /// Next L1 block to read `DepositQueued` events from.
    deposit_scan: u64,
    /// Index of the next deposit the scan would queue.
    deposit_next: u64,
    /// The sidecar form the L1 takes (switched once if it refuses the other).
    sidecar_form: super::blobs::SidecarForm,
    /// The last sidecar built: batch index, form, sidecar (fee bumps reuse it).
    sidecar_cache: Option<(
        u64,
        super::blobs::SidecarForm,
        BlobTransactionSidecarVariant,
    )>,
}

/// Blocks read for a batch, with what the batch header needs from their receipts.
#[derive(Debug, Clone, Default)]
pub struct CollectedBlocks {
    /// The blocks, in order.
    pub blocks: Vec<BatchBlock>,
    /// Withdrawals started in them (`WithdrawalInitiated`), in leaf order.
    pub withdrawals: Vec<WithdrawalRecord>,
    /// Transactions in them.
    pub tx_count: usize,
    /// The last L1 deposit they finalized (`DepositFinalized`): its index and the rolling hash
    /// after it.
    pub last_deposit: Option<(u64, B256)>,
}

/// Reads blocks `first..=last` of the node as batch blocks (stopping once their RLP reaches
/// `max_bytes`), with their withdrawals and deposits.
pub fn collect_blocks(
    node: &crate::node::Node,
    first: u64,
    last: u64,
    max_bytes: usize,
) -> eyre::Result<CollectedBlocks> {
    let reader = node.store().reader()?;
    let mut out = CollectedBlocks::default();
    let mut size = 0usize;
    for number in first..=last {
        let header = reader
            .header(number)?
            .ok_or_else(|| eyre!("block {number} missing"))?;
        let (body, _) = reader.body(number)?.unwrap_or_default();
        let receipts = reader.receipts(number)?.unwrap_or_default();
        for (tx, receipt) in body.iter().zip(&receipts) {
            for log in receipt.logs() {
                let t = log.topics();
                if log.address == L2_WITHDRAWALS
                    && t.first() == Some(&IL2Withdrawals::WithdrawalInitiated::SIGNATURE_HASH)
                    && t.len() == 4
                    && log.data.data.len() == 32
                {
                    out.withdrawals.push(WithdrawalRecord {
                        id: t[1],
                        from: alloy_primitives::Address::from_word(t[2]),
                        to: alloy_primitives::Address::from_word(t[3]),
                        amount: B256::from_slice(&log.data.data),
                        l2_tx: *tx.tx_hash(),
                    });
                } else if log.address == L2_DEPOSITS
                    && t.first() == Some(&IL2Deposits::DepositFinalized::SIGNATURE_HASH)
                    && t.len() == 4
                    && log.data.data.len() == 64
                {
                    // topics: signature, index, from, to; data: value, depositHash.
                    let index = U256::from_be_bytes(t[1].0);
                    let index = u64::try_from(index)
                        .map_err(|_| eyre!("block {number}: deposit index {index} out of range"))?;
                    out.last_deposit = Some((index, B256::from_slice(&log.data.data[32..])));
                }
            }
        }
        let block = BatchBlock {
            number,
            timestamp: header.timestamp,
            transactions: body
                .iter()
                .map(|t| Bytes::from(t.inner().encoded_2718()))
                .collect(),
        };
        out.tx_count += block.transactions.len();
        size += alloy_rlp::Encodable::length(&block);
        out.blocks.push(block);
        if size >= max_bytes {
            break;
        }
    }
    Ok(out)
}

use alloy_sol_types::SolEvent as _;

impl Batcher {
    fn store(&self) -> L1Store<'_> {
        L1Store(self.s.node.store())
    }

    async fn tick(&mut self) -> eyre::Result<()> {
        let view = self.s.refresh_view().await?;
        let (committed, finalized, l1_head) =
            (view.last_committed, view.last_finalized, view.l1_head);
        // The `safe` and `finalized` tags: the last blocks of the last committed and finalized
        // batches on L1.
        let last_block = |index: u64| -> eyre::Result<u64> {
            Ok(self
                .store()
                .batch(index)?
                .map_or(0, |b| b.header.last_block))
        };
        let marks = (last_block(committed)?, last_block(finalized)?);
        self.s.node.set_marks(marks.0, marks.1);
        // 0. L1 deposits for the block builder.
        self.read_deposits(l1_head).await?;
        let l1 = self.s.l1.clone();
        let l1 = &l1;
        let rollup = self.s.rollup;

        // 1. The transaction in flight.
        if let Some(mut inflight) = self.store().inflight()? {
            for hash in inflight.hashes.clone() {
                if let Some(receipt) = l1.receipt(hash).await? {
                    self.landed(&inflight, hash, &receipt)?;
                    self.store().set_inflight(None)?;
                    return Ok(());
                }
            }
            let mined_nonce = l1.nonce(self.signer.address(), "latest").await?;
            if mined_nonce < inflight.nonce {
                // An earlier transaction of ours is no longer on L1 (a reorg dropped it): this
                // one waits behind a gap and can never be mined. Reconcile from the contract's
                // view; the next transaction takes the mined nonce.
                warn!(
                    nonce = inflight.nonce,
                    mined_nonce, "an earlier L1 transaction was dropped (reorg?); reconciling"
                );
                self.store().set_inflight(None)?;
                return Ok(());
            }
            if mined_nonce > inflight.nonce {
                // Something with this nonce was mined, but none of ours has a receipt: an
                // L1 reorg or a replacement elsewhere. Reconcile from the contract's view.
                warn!(
                    nonce = inflight.nonce,
                    "in-flight L1 transaction vanished; reconciling"
                );
                self.store().set_inflight(None)?;
                return Ok(());
            }
            if unix_now() >= inflight.sent_at + RESUBMIT_AFTER.as_secs() {
                inflight.fees = inflight.fees.bumped();
                // Replacing a blob transaction needs the blob fee doubled (geth's rule).
                inflight.blob_fee = inflight.blob_fee.map(|f| f * 2 + 1);
                let (hash, raw) = self.sign(&inflight)?;
                match l1.send_raw(&raw).await {
                    Ok(_) => {}
                    Err(L1Error::Rpc { message, .. }) if message.contains("nonce too low") => {
                        self.store().set_inflight(None)?;
                        return Ok(());
                    }
                    Err(e) => return Err(e.into()),
                }
                inflight.hashes.push(hash);
                inflight.sent_at = unix_now();
                self.store().set_inflight(Some(&inflight))?;
                self.note_tx(inflight.action, hash)?;
                info!(action = ?inflight.action, %hash, max_fee = inflight.fees.max_fee, "L1 transaction not mined; replaced with higher fees");
            }
            return Ok(());
        }

        // 2./3. Reconcile the contract with the local batches.
        let local_last = self.store().last_batch()?.map_or(0, |b| b.header.index);
        if committed > local_last {
            return Err(eyre!(
                "the Rollup has batch {committed} but this node built only up to {local_last}: the data dir does not belong to this Rollup"
            ));
        }
        if committed > 0 {
            let on_l1 = l1
                .view(rollup, IRollup::batchHashCall { index: committed })
                .await?;
            let ours = self.store().batch(committed)?.map(|b| b.batch_hash);
            if Some(on_l1) != ours {
                let mut from = committed;
                while from > finalized + 1 {
                    let prev = from - 1;
                    let h = l1
                        .view(rollup, IRollup::batchHashCall { index: prev })
                        .await?;
                    if Some(h) == self.store().batch(prev)?.map(|b| b.batch_hash) {
                        break;
                    }
                    from = prev;
                }
                warn!(
                    from,
                    "L1 holds batches this node did not build; reverting them"
                );
                let input = IRollup::revertBatchesCall { fromIndex: from }.abi_encode();
                return self.send(Action::Revert(from), input, None).await;
            }
        }
        if committed < local_last {
            // Batches past `committed` are not on L1 (whatever landed them was reorged out, or
            // they were never posted): forget where they landed, then post the next one again.
            for index in committed + 1..=local_last {
                if let Some(mut record) = self.store().batch(index)?
                    && record.landed.take().is_some()
                {
                    warn!(
                        index,
                        "batch fell out of L1 (reorg?); it will be posted again"
                    );
                    self.store().put_batch(&record)?;
                }
            }
            let record = self
                .store()
                .batch(committed + 1)?
                .ok_or_else(|| eyre!("batch {} missing from storage", committed + 1))?;
            return self.post(&record).await;
        }

        // 4. Dev without a prover: finalize what is committed and buried deep enough.
        if self.finalize_unproven && finalized < committed {
            let next = finalized + 1;
            let buried = self
                .store()
                .batch(next)?
                .and_then(|b| b.landed)
                .is_some_and(|l| l.block + self.settings.confirmations <= l1_head);
            if buried {
                let input = IRollup::finalizeBatchUnprovenCall { index: next }.abi_encode();
                return self.send(Action::Finalize(next), input, None).await;
            }
        }

        // 5. A new batch when due.
        if let Some(record) = self.close_batch(local_last)? {
            self.store().put_batch(&record)?;
            info!(
                index = record.header.index,
                blocks = format!(
                    "{}..={}",
                    record.header.first_block, record.header.last_block
                ),
                txs = record.tx_count,
                diff = record.diff_len,
                commitment = %record.header.state_commitment,
                rlp_bytes = record.rlp_len,
                data_bytes = record.data.len(),
                withdrawals = record.withdrawals.len(),
                "batch closed"
            );
            return self.post(&record).await;
        }
        Ok(())
    }

    /// Reads the Bridge's `DepositQueued` events that are `confirmations` deep into the node's
    /// deposit queue, in index order, from where L2 (or the queue) stands. The scan position
    /// is kept in memory: after a restart it starts from L1 block 0 and skips the deposits L2
    /// already has.
    async fn read_deposits(&mut self, l1_head: u64) -> eyre::Result<()> {
        /// Most L1 blocks per `eth_getLogs`.
        const SPAN: u64 = 10_000;
        let safe = l1_head.saturating_sub(self.settings.confirmations);
        let queue = self.s.node.deposits();
        let l2_next = {
            let reader = self.s.node.store().reader()?;
            let head = self.s.node.head().number;
            let state = crate::storage::StateAt::new(&reader, head, head);
            crate::deposits::l2_progress(&state)?.0
        };
        if queue.is_empty() && self.deposit_next > l2_next {
            // The builder dropped queued deposits that L2 does not have (the queue fell out of
            // step): read L1 again from the start.
            self.deposit_scan = 0;
        }
        let mut want = queue.next_expected().unwrap_or(l2_next).max(l2_next);
        while self.deposit_scan <= safe && queue.len() < crate::deposits::MAX_QUEUED {
            let to = safe.min(self.deposit_scan + SPAN - 1);
            let filter = alloy_rpc_types_eth::Filter::new()
                .address(self.s.bridge)
                .event_signature(IBridge::DepositQueued::SIGNATURE_HASH)
                .from_block(self.deposit_scan)
                .to_block(to);
            let logs = self.s.l1.logs(&filter).await?;
            for log in logs {
                let block = log.block_number.unwrap_or(to);
                let ev = log
                    .log_decode::<IBridge::DepositQueued>()
                    .map_err(|e| eyre!("undecodable DepositQueued in L1 block {block}: {e}"))?;
                let ev = ev.inner.data;
                if ev.index < want {
                    continue;
                }
                if ev.index > want {
                    // A deposit before this one was missed (the queue was reset): read again
                    // from the start.
                    warn!(
                        index = ev.index,
                        want, "deposit queue out of step with L1; rescanning"
                    );
                    queue.clear();
                    self.deposit_scan = 0;
                    self.deposit_next = l2_next;
                    return Ok(());
                }
                let d = crate::deposits::L1Deposit {
                    index: ev.index,
                    from: ev.from,
                    to: ev.to,
                    value: ev.value,
                    deposit_hash: ev.depositHash,
                    l1_block: block,
                };
                if !queue.push(d) {
                    // Full: continue from this block once the builder has drained some.
                    self.deposit_scan = block;
                    self.deposit_next = want;
                    return Ok(());
                }
                info!(index = d.index, from = %d.from, to = %d.to, value = %d.value, l1_block = block, "L1 deposit queued for L2");
                want += 1;
            }
            self.deposit_scan = to + 1;
        }
        self.deposit_next = want;
        Ok(())
    }

    /// The commitment tree after batch `index`, from the cached one or rebuilt from the
    /// genesis state and the diffs of stored batches `1..=index`.
    fn commitment_at(&mut self, index: u64) -> eyre::Result<&mut lanes_prover::StateCommitment> {
        if self.commitment.as_ref().map(|(i, _)| *i) != Some(index) {
            self.commitment = None;
            let started = std::time::Instant::now();
            let mut tree = self.s.genesis_tree()?;
            for i in 1..=index {
                let record = self
                    .store()
                    .batch(i)?
                    .ok_or_else(|| eyre!("batch {i} missing from storage"))?;
                let decoded = batch::decode(&record.data, record.header.first_block)
                    .map_err(|e| eyre!("stored batch {i} does not decode: {e}"))?;
                crate::commitment::apply(&mut tree, &decoded.diff)
                    .map_err(|e| eyre!("replaying the diff of batch {i}: {e}"))?;
                if tree.root_b256() != record.header.state_commitment {
                    return Err(eyre!(
                        "replaying stored batch {i} gives commitment {}, it was closed with {}",
                        tree.root_b256(),
                        record.header.state_commitment
                    ));
                }
            }
            info!(
                batch = index,
                keys = tree.len(),
                ms = started.elapsed().as_millis() as u64,
                "state commitment rebuilt"
            );
            self.commitment = Some((index, tree));
        }
        match &mut self.commitment {
            Some((_, tree)) => Ok(tree),
            None => Err(eyre!("no commitment tree")),
        }
    }

    /// Builds the next batch if it is due.
    fn close_batch(&mut self, last_index: u64) -> eyre::Result<Option<BatchRecord>> {
        let prev = self.store().batch(last_index)?;
        let (first, parent_hash) = match &prev {
            Some(p) => (p.header.last_block + 1, p.batch_hash),
            None => {
                let genesis = self
                    .s
                    .node
                    .store()
                    .reader()?
                    .header(0)?
                    .ok_or_else(|| eyre!("no genesis"))?;
                (
                    1,
                    genesis_batch_hash(genesis.state_root, self.s.genesis_commitment),
                )
            }
        };
        let head = self.s.node.head();
        if head.number < first {
            return Ok(None);
        }
        let mut collected = collect_blocks(
            &self.s.node,
            first,
            head.number,
            self.settings.batch_max_bytes,
        )?;
        let rlp_len = batch::rlp_len(&collected.blocks);
        let oldest = collected.blocks.first().map_or(0, |b| b.timestamp);
        let due = rlp_len >= self.settings.batch_max_bytes
            || unix_now() >= oldest + self.settings.batch_max_age.as_secs();
        if !due {
            return Ok(None);
        }
        // The state diff of the blocks; a batch the prover could not take (too many keys)
        // gives up blocks from its end.
        let diff = loop {
            let last = collected.blocks.last().map_or(first, |b| b.number);
            let diff = {
                let reader = self.s.node.store().reader()?;
                crate::commitment::range_diff(&reader, head.number, first, last)?
            };
            if diff.len() <= lanes_prover::MAX_DIFF_ENTRIES || collected.blocks.len() == 1 {
                break diff;
            }
            collected = collect_blocks(&self.s.node, first, last - 1, usize::MAX)?;
        };
        if diff.len() > lanes_prover::MAX_DIFF_ENTRIES {
            return Err(eyre!(
                "block {first} alone changes {} keys, over the prover's limit of {}",
                diff.len(),
                lanes_prover::MAX_DIFF_ENTRIES
            ));
        }
        let CollectedBlocks {
            blocks,
            withdrawals,
            tx_count,
            last_deposit,
        } = collected;
        let rlp_len = batch::rlp_len(&blocks);
        // Deposits consumed up to the end of this batch: its last finalized deposit, else
        // the same as the previous batch.
        let (deposit_count, deposit_hash) = match (last_deposit, &prev) {
            (Some((index, hash)), _) => (index + 1, hash),
            (None, Some(p)) => (p.header.deposit_count, p.header.deposit_hash),
            (None, None) => (0, B256::ZERO),
        };
        let last_block = blocks.last().map_or(first, |b| b.number);
        let post_state_root = self
            .s
            .node
            .store()
            .reader()?
            .header(last_block)?
            .ok_or_else(|| eyre!("block {last_block} missing"))?
            .state_root;
        let data = batch::encode(&blocks, &diff)?;
        let state_commitment = {
            let tree = self.commitment_at(last_index)?;
            let applied = crate::commitment::apply(tree, &diff);
            let root = tree.root_b256();
            if let Err(e) = applied {
                self.commitment = None;
                return Err(eyre!(
                    "batch {}: the state commitment refuses the diff: {e}",
                    last_index + 1
                ));
            }
            root
        };
        let leaves: Vec<B256> = withdrawals
            .iter()
            .map(|w| withdrawal_leaf(&w.to_sol()))
            .collect();
        let da = self.s.da;
        let payload_hash = keccak256(&data);
        let data_hash = match da {
            DaKind::Calldata => payload_hash,
            DaKind::Blob => blob_data_hash(&super::blobs::versioned_hashes(&data)?),
        };
        let header = BatchHeader {
            index: last_index + 1,
            parentBatchHash: parent_hash,
            dataHash: data_hash,
            postStateRoot: post_state_root,
            firstBlock: first,
            lastBlock: last_block,
            withdrawalsRoot: withdrawals_root(&leaves),
            depositCount: deposit_count,
            depositHash: deposit_hash,
            stateCommitment: state_commitment,
            payloadHash: payload_hash,
        };
        if let Some((i, _)) = &mut self.commitment {
            *i = last_index + 1;
        }
        Ok(Some(BatchRecord {
            batch_hash: batch_hash(&header),
            header: StoredHeader::from(&header),
            data: data.into(),
            rlp_len,
            tx_count,
            diff_len: diff.len(),
            da,
            l1_txs: Vec::new(),
            landed: None,
            withdrawals,
        }))
    }

    async fn post(&mut self, record: &BatchRecord) -> eyre::Result<()> {
        let h = BatchHeader::from(&record.header);
        let action = Action::Commit(record.header.index);
        match record.da {
            DaKind::Calldata => {
                let input = IRollup::commitBatchCall {
                    h,
                    data: record.data.clone(),
                }
                .abi_encode();
                self.send(action, input, None).await
            }
            DaKind::Blob => {
                let blobs = super::blobs::blobs_needed(record.data.len());
                let input = IRollup::commitBatchBlobsCall {
                    h,
                    blobCount: U256::from(blobs),
                }
                .abi_encode();
                let blob_fee = self.s.l1.blob_base_fee().await? * 2 + 1;
                self.send(action, input, Some(blob_fee)).await
            }
        }
    }

    /// The sidecar of blob batch `index` in the current form (built once per batch and form).
    fn sidecar_for(&mut self, index: u64) -> eyre::Result<BlobTransactionSidecarVariant> {
        if let Some((i, form, sidecar)) = &self.sidecar_cache
            && *i == index
            && *form == self.sidecar_form
        {
            return Ok(sidecar.clone());
        }
        let record = self
            .store()
            .batch(index)?
            .ok_or_else(|| eyre!("batch {index} missing from storage"))?;
        let started = std::time::Instant::now();
        let sidecar = super::blobs::sidecar(&record.data, self.sidecar_form)?;
        info!(
            index,
            blobs = sidecar.versioned_hashes().count(),
            form = ?self.sidecar_form,
            ms = started.elapsed().as_millis() as u64,
            "blob sidecar built"
        );
        self.sidecar_cache = Some((index, self.sidecar_form, sidecar.clone()));
        Ok(sidecar)
    }

    fn sign(&mut self, inflight: &Inflight) -> eyre::Result<(B256, Vec<u8>)> {
        if let (Some(blob_fee), Action::Commit(index)) = (inflight.blob_fee, inflight.action) {
            let sidecar = self.sidecar_for(index)?;
            return Ok(sign_eip4844(
                &self.signer,
                self.s.l1_chain_id,
                inflight.nonce,
                self.s.rollup,
                inflight.input.to_vec(),
                inflight.gas,
                inflight.fees,
                blob_fee,
                sidecar,
            )?);
        }
        Ok(sign_eip1559(
            &self.signer,
            self.s.l1_chain_id,
            inflight.nonce,
            Some(self.s.rollup),
            inflight.input.to_vec(),
            U256::ZERO,
            inflight.gas,
            inflight.fees,
        )?)
    }

    async fn send(
        &mut self,
        action: Action,
        input: Vec<u8>,
        blob_fee: Option<u128>,
    ) -> eyre::Result<()> {
        let l1 = self.s.l1.clone();
        let me = self.signer.address();
        let gas = match (blob_fee, action) {
            (Some(fee), Action::Commit(index)) => {
                let hashes: Vec<B256> = self.sidecar_for(index)?.versioned_hashes().collect();
                l1.estimate_gas_with_blobs(me, self.s.rollup, &input, &hashes, fee)
                    .await
            }
            _ => {
                l1.estimate_gas(me, Some(self.s.rollup), &input, U256::ZERO)
                    .await
            }
        }
        .map_err(|e| eyre!("{action:?} would revert on L1: {e}"))?;
        let mut inflight = Inflight {
            action,
            // One transaction in flight at a time, so the next nonce is the mined count; a
            // "pending" count would include a stale transaction of ours that a reorg left
            // stranded behind a gap.
            nonce: l1.nonce(me, "latest").await?,
            fees: l1.fees().await?,
            hashes: Vec::new(),
            sent_at: unix_now(),
            gas: gas + gas / 5,
            input: input.into(),
            blob_fee,
        };
        let (mut hash, mut raw) = self.sign(&inflight)?;
        // Record first: if we crash after sending, the restart looks for this hash.
        inflight.hashes = vec![hash];
        self.store().set_inflight(Some(&inflight))?;
        self.note_tx(action, hash)?;
        if let Err(e) = l1.send_raw(&raw).await {
            let msg = e.to_string().to_lowercase();
            let form_refused = blob_fee.is_some()
                && ["sidecar", "7594", "cell", "proof", "version"]
                    .iter()
                    .any(|w| msg.contains(w));
            if !form_refused {
                return Err(e.into());
            }
            // The L1 takes the other sidecar form (EIP-4844 before Osaka, EIP-7594 after).
            self.sidecar_form = match self.sidecar_form {
                super::blobs::SidecarForm::Eip7594 => super::blobs::SidecarForm::Eip4844,
                super::blobs::SidecarForm::Eip4844 => super::blobs::SidecarForm::Eip7594,
            };
            warn!(error = %e, form = ?self.sidecar_form, "L1 refused the blob sidecar; switching form");
            (hash, raw) = self.sign(&inflight)?;
            inflight.hashes.push(hash);
            self.store().set_inflight(Some(&inflight))?;
            self.note_tx(action, hash)?;
            l1.send_raw(&raw).await?;
        }
        info!(?action, %hash, nonce = inflight.nonce, bytes = inflight.input.len(), blob_fee = ?inflight.blob_fee, "L1 transaction sent");
        Ok(())
    }

    fn note_tx(&self, action: Action, hash: B256) -> eyre::Result<()> {
        if let Action::Commit(index) = action
            && let Some(mut record) = self.store().batch(index)?
            && !record.l1_txs.contains(&hash)
        {
            // A re-post after a reorg may sign the very same transaction again (same nonce,
            // fees and data): it is one L1 transaction, listed once.
            record.l1_txs.push(hash);
            self.store().put_batch(&record)?;
        }
        Ok(())
    }

    fn landed(
        &self,
        inflight: &Inflight,
        hash: B256,
        receipt: &alloy_rpc_types_eth::TransactionReceipt,
    ) -> eyre::Result<()> {
        let block = receipt.block_number.unwrap_or_default();
        if !receipt.status() {
            warn!(action = ?inflight.action, %hash, block, "L1 transaction reverted; reconciling");
            return Ok(());
        }
        info!(action = ?inflight.action, %hash, block, gas_used = receipt.gas_used, "L1 transaction mined");
        if let Action::Commit(index) = inflight.action
            && let Some(mut record) = self.store().batch(index)?
        {
            record.landed = Some(Landed {
                tx: hash,
                block,
                block_hash: receipt.block_hash.unwrap_or_default(),
                gas_used: receipt.gas_used,
                blob_gas_used: receipt.blob_gas_used.unwrap_or_default(),
            });
            self.store().put_batch(&record)?;
        }
        Ok(())
    }
}
