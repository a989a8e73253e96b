//! Settlement state in MDBX (tables `L1Batches` and `L1Meta`): every batch the sequencer
//! built, with its data and L1 transactions, the transaction in flight, the contract
//! addresses, and the follower's progress. All of it survives restarts.

use alloy_primitives::{Address, B256, Bytes};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::{
    client::Fees,
    contracts::{BatchHeader, Withdrawal},
};
use crate::storage::{StorageError, StorageResult, Store, tables};

/// How a batch's data reaches L1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DaKind {
    /// The data is the calldata of `commitBatch`.
    #[default]
    Calldata,
    /// EIP-4844 blobs (`commitBatchBlobs`).
    Blob,
}

/// One withdrawal of a batch, in leaf order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawalRecord {
    /// Withdrawal id (the L2 contract's counter).
    pub id: B256,
    /// L2 sender.
    pub from: Address,
    /// L1 recipient.
    pub to: Address,
    /// Amount in wei.
    pub amount: B256,
    /// L2 transaction that started it.
    pub l2_tx: B256,
}

impl WithdrawalRecord {
    /// As the Bridge's `Withdrawal` struct.
    pub fn to_sol(&self) -> Withdrawal {
        Withdrawal {
            id: self.id.into(),
            from: self.from,
            to: self.to,
            amount: self.amount.into(),
        }
    }
}

/// A batch the sequencer built.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchRecord {
    /// The header committed on L1.
    pub header: StoredHeader,
    /// `keccak256(abi.encode(header))`.
    pub batch_hash: B256,
    /// Batch data (version, compression, compressed RLP).
    pub data: Bytes,
    /// Uncompressed RLP size of the blocks.
    pub rlp_len: usize,
    /// L2 transactions in the batch.
    pub tx_count: usize,
    /// Entries in the batch's state diff.
    #[serde(default)]
    pub diff_len: usize,
    /// DA of the last posting.
    pub da: DaKind,
    /// Every L1 transaction sent for this batch (fee bumps and re-posts), oldest first.
    pub l1_txs: Vec<B256>,
    /// The L1 transaction that landed last, its block and gas.
    pub landed: Option<Landed>,
    /// Withdrawals started in the batch, in leaf order.
    pub withdrawals: Vec<WithdrawalRecord>,
}

/// Where a commit landed on L1.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Landed {
    /// L1 transaction hash.
    pub tx: B256,
    /// L1 block number.
    pub block: u64,
    /// L1 block hash (a reorg changes it).
    pub block_hash: B256,
    /// Gas used.
    pub gas_used: u64,
    /// Blob gas used (blob DA).
    pub blob_gas_used: u64,
}

/// The batch header in storable form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredHeader {
    /// Batch index.
    pub index: u64,
    /// Parent batch hash.
    pub parent_batch_hash: B256,
    /// Hash of the data (or of the blob versioned hashes).
    pub data_hash: B256,
    /// State root after the last block.
    pub post_state_root: B256,
    /// First L2 block.
    pub first_block: u64,
    /// Last L2 block.
    pub last_block: u64,
    /// Withdrawals Merkle root.
    pub withdrawals_root: B256,
    /// Deposits consumed up to and including this batch.
    pub deposit_count: u64,
    /// The Bridge's rolling hash after `deposit_count` deposits.
    pub deposit_hash: B256,
    /// Poseidon2 state commitment after the batch.
    pub state_commitment: B256,
    /// keccak256 of the batch data.
    pub payload_hash: B256,
}

impl From<&StoredHeader> for BatchHeader {
    fn from(h: &StoredHeader) -> Self {
        Self {
            index: h.index,
            parentBatchHash: h.parent_batch_hash,
            dataHash: h.data_hash,
            postStateRoot: h.post_state_root,
            firstBlock: h.first_block,
            lastBlock: h.last_block,
            withdrawalsRoot: h.withdrawals_root,
            depositCount: h.deposit_count,
            depositHash: h.deposit_hash,
            stateCommitment: h.state_commitment,
            payloadHash: h.payload_hash,
        }
    }
}

impl From<&BatchHeader> for StoredHeader {
    fn from(h: &BatchHeader) -> Self {
        Self {
            index: h.index,
            parent_batch_hash: h.parentBatchHash,
            data_hash: h.dataHash,
            post_state_root: h.postStateRoot,
            first_block: h.firstBlock,
            last_block: h.lastBlock,
            withdrawals_root: h.withdrawalsRoot,
            deposit_count: h.depositCount,
            deposit_hash: h.depositHash,
            state_commitment: h.stateCommitment,
            payload_hash: h.payloadHash,
        }
    }
}

/// The L1 transaction in flight (one at a time).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Inflight {
    /// What it does.
    pub action: Action,
    /// Nonce.
    pub nonce: u64,
    /// Fees of the newest attempt.
    pub fees: Fees,
    /// Hashes of all attempts (replacements share the nonce).
    pub hashes: Vec<B256>,
    /// Unix seconds of the newest attempt.
    pub sent_at: u64,
    /// Gas limit.
    pub gas: u64,
    /// Calldata.
    pub input: Bytes,
    /// `maxFeePerBlobGas` when this is a blob commit (the sidecar is rebuilt from the batch's
    /// stored data for each attempt).
    #[serde(default)]
    pub blob_fee: Option<u128>,
}

/// What an L1 transaction does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Commit batch `n`.
    Commit(u64),
    /// Finalize batch `n` (dev, unproven).
    Finalize(u64),
    /// Revert batches from `n`.
    Revert(u64),
}

/// Contract addresses recorded in the data dir.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    /// L1 chain id.
    pub l1_chain_id: u64,
    /// Rollup.
    pub rollup: Address,
    /// Bridge.
    pub bridge: Address,
}

/// The follower's progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowCursor {
    /// Next L1 block to scan for events.
    pub next_l1_block: u64,
    /// Last batch derived and checked.
    pub batch: u64,
    /// Its batch hash.
    pub batch_hash: B256,
    /// Hash of L1 block `next_l1_block - 1` when it was scanned (an L1 reorg changes it).
    #[serde(default)]
    pub scanned_hash: B256,
}

const INFLIGHT: &[u8] = b"inflight";
const DEPLOYMENT: &[u8] = b"deployment";
const CURSOR: &[u8] = b"follow-cursor";
const PROOF_CURSOR: &[u8] = b"proof-cursor";

fn json<T: Serialize>(v: &T) -> Vec<u8> {
    // Serializing these plain structs cannot fail.
    serde_json::to_vec(v).unwrap_or_default()
}

fn parse<T: DeserializeOwned>(table: &'static str, bytes: &[u8]) -> StorageResult<T> {
    serde_json::from_slice(bytes).map_err(|e| StorageError::Corrupt {
        table,
        reason: e.to_string(),
    })
}

/// Typed access to the settlement tables.
#[derive(Debug, Clone, Copy)]
pub struct L1Store<'a>(pub &'a Store);

impl L1Store<'_> {
    /// Batch `index`.
    pub fn batch(&self, index: u64) -> StorageResult<Option<BatchRecord>> {
        self.0
            .get_aux(tables::L1_BATCHES, &index.to_be_bytes())?
            .map(|b| parse(tables::L1_BATCHES, &b))
            .transpose()
    }

    /// The newest batch.
    pub fn last_batch(&self) -> StorageResult<Option<BatchRecord>> {
        self.0
            .last_aux(tables::L1_BATCHES)?
            .map(|(_, b)| parse(tables::L1_BATCHES, &b))
            .transpose()
    }

    /// Writes a batch.
    pub fn put_batch(&self, record: &BatchRecord) -> StorageResult<()> {
        self.0.put_aux(
            tables::L1_BATCHES,
            &[(&record.header.index.to_be_bytes(), Some(&json(record)))],
        )
    }

    /// Deletes every batch from `from` on (after a re-deploy of the contracts).
    pub fn delete_batches_from(&self, from: u64) -> StorageResult<()> {
        while let Some(last) = self.last_batch()? {
            if last.header.index < from {
                break;
            }
            self.0.put_aux(
                tables::L1_BATCHES,
                &[(&last.header.index.to_be_bytes(), None)],
            )?;
        }
        Ok(())
    }

    fn meta<T: DeserializeOwned>(&self, key: &[u8]) -> StorageResult<Option<T>> {
        self.0
            .get_aux(tables::L1_META, key)?
            .map(|b| parse(tables::L1_META, &b))
            .transpose()
    }

    fn set_meta<T: Serialize>(&self, key: &[u8], v: Option<&T>) -> StorageResult<()> {
        let bytes = v.map(json);
        self.0.put_aux(tables::L1_META, &[(key, bytes.as_deref())])
    }

    /// The transaction in flight.
    pub fn inflight(&self) -> StorageResult<Option<Inflight>> {
        self.meta(INFLIGHT)
    }

    /// Sets or clears the transaction in flight.
    pub fn set_inflight(&self, v: Option<&Inflight>) -> StorageResult<()> {
        self.set_meta(INFLIGHT, v)
    }

    /// The recorded deployment.
    pub fn deployment(&self) -> StorageResult<Option<Deployment>> {
        self.meta(DEPLOYMENT)
    }

    /// Records the deployment.
    pub fn set_deployment(&self, d: &Deployment) -> StorageResult<()> {
        self.set_meta(DEPLOYMENT, Some(d))
    }

    /// The follower's cursor.
    pub fn cursor(&self) -> StorageResult<Option<FollowCursor>> {
        self.meta(CURSOR)
    }

    /// Saves the follower's cursor.
    pub fn set_cursor(&self, c: &FollowCursor) -> StorageResult<()> {
        self.set_meta(CURSOR, Some(c))
    }

    /// The follower's proof-checking progress.
    pub fn proof_cursor(&self) -> StorageResult<ProofCursor> {
        Ok(self.meta(PROOF_CURSOR)?.unwrap_or_default())
    }

    /// Saves the follower's proof-checking progress.
    pub fn set_proof_cursor(&self, c: &ProofCursor) -> StorageResult<()> {
        self.set_meta(PROOF_CURSOR, Some(c))
    }

    /// What a follower keeps of derived batch `index` until its proof is checked.
    pub fn pending_proof(&self, index: u64) -> StorageResult<Option<PendingProof>> {
        self.meta(&indexed(b"pending-proof/", index))
    }

    /// Keeps (or with `None` drops) what a follower needs to check batch `index`'s proof.
    pub fn set_pending_proof(&self, index: u64, p: Option<&PendingProof>) -> StorageResult<()> {
        self.set_meta(&indexed(b"pending-proof/", index), p)
    }

    /// How batch `index`'s proof check ended, if it did.
    pub fn proof_status(&self, index: u64) -> StorageResult<Option<ProofStatus>> {
        self.meta(&indexed(b"proof-status/", index))
    }

    /// Records how batch `index`'s proof check ended.
    pub fn set_proof_status(&self, index: u64, status: &ProofStatus) -> StorageResult<()> {
        self.set_meta(&indexed(b"proof-status/", index), Some(status))
    }
}

fn indexed(prefix: &[u8], index: u64) -> Vec<u8> {
    [prefix, &index.to_be_bytes()[..]].concat()
}

/// A follower's proof-checking progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProofCursor {
    /// Last batch whose proof was checked (verified or not).
    pub checked: u64,
    /// Last batch such that it and every batch before it has a verified proof: the
    /// follower's final batch.
    pub final_batch: u64,
    /// The last L2 block of `final_batch`.
    #[serde(default)]
    pub final_block: u64,
}

/// What a follower keeps of a derived batch to check its proof later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingProof {
    /// The batch hash it was derived from.
    pub batch_hash: B256,
    /// Its last L2 block.
    pub last_block: u64,
    /// The public inputs the follower computed itself.
    pub public_inputs: lanes_prover::PublicInputs,
    /// The batch data.
    pub data: Bytes,
    /// The batch's diff with old values from the follower's own commitment.
    pub diff: Vec<lanes_prover::DiffEntry>,
}

/// How a follower's check of a batch proof ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "status", content = "detail")]
pub enum ProofStatus {
    /// The proof's hash matches L1 and it verifies against the derived batch.
    Verified,
    /// L1 finalized the batch without a proof (`finalizeBatchUnproven`, dev only).
    Unproven,
    /// The proof is missing or does not verify (why).
    Invalid(String),
}
