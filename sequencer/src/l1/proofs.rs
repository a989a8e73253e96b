//! Batch proofs on disk: `<datadir>/proofs/batch-<index>.proof` (the proof bytes, as posted
//! by hash to L1) next to `batch-<index>.json` (what it proves), and the prover's commitment
//! tree snapshot `state.bin`. Files are written to a temporary name and renamed, so a reader
//! never sees half a proof. The prover writes them; every node serves them with
//! `lanes_getBatchProof`; a follower that verified a proof keeps a copy, so it serves it too.

use std::path::{Path, PathBuf};

use alloy_primitives::B256;
use eyre::{WrapErr, eyre};
use lanes_prover::{MAX_PROOF_BYTES, PublicInputs, StateCommitment};
use serde::{Deserialize, Serialize};

/// What a stored proof proves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProofMeta {
    /// Batch index.
    pub index: u64,
    /// The batch hash on L1 when it was proven (a re-committed batch has another).
    pub batch_hash: B256,
    /// keccak256 of the proof bytes (what `finalizeBatch` records).
    pub proof_hash: B256,
    /// The proof's public inputs.
    pub public_inputs: PublicInputs,
    /// `keccak256(abi.encode(index, prevCommitment, newCommitment, dataHash))`.
    pub public_inputs_hash: B256,
    /// FRI setting (`fast`, `balanced`, `compact`).
    pub security: String,
    /// Seconds the proof took (0 for a copy fetched from another node).
    pub prove_s: f64,
}

/// The proofs directory.
#[derive(Debug, Clone)]
pub struct ProofStore {
    dir: PathBuf,
}

fn write_atomic(path: &Path, bytes: &[u8]) -> eyre::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).wrap_err_with(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).wrap_err_with(|| format!("renaming to {}", path.display()))
}

impl ProofStore {
    /// The store in `dir` (created if missing).
    pub fn open(dir: &Path) -> eyre::Result<Self> {
        std::fs::create_dir_all(dir)
            .wrap_err_with(|| format!("creating the proofs directory {}", dir.display()))?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn proof_path(&self, index: u64) -> PathBuf {
        self.dir.join(format!("batch-{index}.proof"))
    }

    fn meta_path(&self, index: u64) -> PathBuf {
        self.dir.join(format!("batch-{index}.json"))
    }

    /// Stores a proof (bytes first, then its description).
    pub fn put(&self, meta: &ProofMeta, proof: &[u8]) -> eyre::Result<()> {
        write_atomic(&self.proof_path(meta.index), proof)?;
        write_atomic(
            &self.meta_path(meta.index),
            &serde_json::to_vec_pretty(meta)?,
        )
    }

    /// The stored proof of batch `index`, if any (and if its bytes still hash as recorded).
    pub fn get(&self, index: u64) -> eyre::Result<Option<(ProofMeta, Vec<u8>)>> {
        let meta_path = self.meta_path(index);
        let meta = match std::fs::read(&meta_path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).wrap_err_with(|| format!("reading {}", meta_path.display())),
        };
        let meta: ProofMeta = serde_json::from_slice(&meta)
            .wrap_err_with(|| format!("{} is not a proof description", meta_path.display()))?;
        let path = self.proof_path(index);
        let len = std::fs::metadata(&path)
            .wrap_err_with(|| format!("reading {}", path.display()))?
            .len();
        if len > MAX_PROOF_BYTES as u64 {
            return Err(eyre!("{} is {len} bytes, over the limit", path.display()));
        }
        let bytes = std::fs::read(&path).wrap_err_with(|| format!("reading {}", path.display()))?;
        if lanes_prover::proof_hash(&bytes) != meta.proof_hash {
            return Err(eyre!(
                "{} does not hash to the recorded proof hash",
                path.display()
            ));
        }
        Ok(Some((meta, bytes)))
    }

    /// Saves the prover's commitment tree after batch `index`.
    pub fn save_state(&self, index: u64, tree: &StateCommitment) -> eyre::Result<()> {
        let mut bytes = index.to_be_bytes().to_vec();
        bytes.extend_from_slice(&tree.to_bytes());
        write_atomic(&self.dir.join("state.bin"), &bytes)
    }

    /// The saved commitment tree and the batch it is after, if any (a corrupt snapshot is
    /// reported and ignored: the caller rebuilds).
    pub fn load_state(&self) -> Option<(u64, StateCommitment)> {
        let path = self.dir.join("state.bin");
        let bytes = std::fs::read(&path).ok()?;
        if bytes.len() < 8 {
            return None;
        }
        let index = u64::from_be_bytes(bytes[..8].try_into().ok()?);
        match StateCommitment::from_bytes(&bytes[8..]) {
            Ok(tree) => Some((index, tree)),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "ignoring an unreadable commitment snapshot");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_and_tamper() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProofStore::open(&dir.path().join("proofs")).unwrap();
        assert!(store.get(1).unwrap().is_none());
        let proof = vec![7u8; 1000];
        let meta = ProofMeta {
            index: 1,
            batch_hash: B256::repeat_byte(1),
            proof_hash: lanes_prover::proof_hash(&proof),
            public_inputs: PublicInputs {
                index: 1,
                prev_commitment: B256::ZERO,
                new_commitment: B256::repeat_byte(2),
                data_hash: B256::repeat_byte(3),
            },
            public_inputs_hash: B256::repeat_byte(4),
            security: "fast".into(),
            prove_s: 1.5,
        };
        store.put(&meta, &proof).unwrap();
        assert_eq!(store.get(1).unwrap(), Some((meta, proof)));
        std::fs::write(dir.path().join("proofs/batch-1.proof"), [8u8; 10]).unwrap();
        assert!(store.get(1).is_err(), "bytes that do not hash as recorded");
    }

    #[test]
    fn state_snapshot_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProofStore::open(dir.path()).unwrap();
        assert!(store.load_state().is_none());
        let mut tree = StateCommitment::new();
        tree.set(
            lanes_prover::StateKey::Account(alloy_primitives::Address::repeat_byte(1)),
            Some(lanes_prover::StateValue::Account {
                balance: alloy_primitives::U256::from(5),
                nonce: 1,
                code_hash: B256::ZERO,
            }),
        )
        .unwrap();
        store.save_state(3, &tree).unwrap();
        let (index, back) = store.load_state().unwrap();
        assert_eq!((index, back.root_b256()), (3, tree.root_b256()));
    }
}
