//! `lanes-prover`: STARK proofs (Plonky3, KoalaBear) for Lanes L2 batches.
//!
//! # The statement
//! Public inputs are the batch index, the previous state commitment, the new state
//! commitment, and the keccak-256 of the batch data ([`PublicInputs`]). A
//! [`BatchProof`] shows that
//! 1. the batch data hashes to that keccak digest (Keccak AIR: Plonky3's Keccak-f AIR
//!    with the keccak-256 sponge — padding, absorption, chaining, digest — constrained
//!    around it; [`keccak_air`]), and
//! 2. applying the batch's state diff to the state commitment (a Poseidon2 sparse
//!    Merkle tree over accounts and storage slots, [`commitment`]) turns the previous
//!    commitment into the new one ([`state_air`]).
//!
//! It does not prove that the EVM executed correctly; followers re-execute for that.
//!
//! # Several proofs, one bundle
//! A [`BatchProof`] holds uni-stark proofs with the same configuration: one per
//! segment of the Keccak sponge ([`keccak_air::plan_segments`]: one for small data, up
//! to four for large) and one for the state transition. The Keccak sponge trace is
//! ~2,900 columns wide and the state trace ~380, with unrelated heights, so one
//! combined uni-stark trace would pay the Keccak width on every Merkle row; and a
//! sponge cut into power-of-two segments pads far fewer rows than one trace. Every
//! proof carries the batch index among its public values (it enters every Fiat-Shamir
//! transcript). The verifier ([`verify`]) is given the data and the diff (a follower
//! has both): it checks keccak-256 of the data against the public data hash, runs the
//! sponge over the data for the segments' boundary states, computes from the diff each
//! entry's leaf index and old and new leaves and their Poseidon2 hash chain
//! ([`state_air`]'s diff digest), and checks every proof against public values built
//! from those.
//!
//! # Encodings
//! - commitment bytes32 <-> 8 field elements: [`hash::digest_to_b256`].
//! - [`PublicInputs::hash`]: keccak-256 of the ABI encoding of
//!   `(uint64 index, bytes32 prevCommitment, bytes32 newCommitment, bytes32 dataHash)`:
//!   128 bytes, the index left-padded with zeros to 32 bytes big-endian, then the
//!   three words as they are. The Rollup contract's `finalizeBatch(uint64 index,
//!   bytes32 proofHash, bytes32 publicInputsHash)` recomputes it.
//! - [`BatchProof::to_bytes`]: postcard; [`BatchProof::hash`] is keccak-256 of those
//!   bytes. [`BatchProof::from_bytes`] refuses more than [`MAX_PROOF_BYTES`].
//!
//! # GPU seam
//! The DFT and Merkle hashing go through [`backend`]'s types, selected by
//! [`ProverConfig::backend`]: Plonky3's CPU code (default), the host build of the CUDA
//! kernels in `kernels/prover/` (`gpu-host`), or their device build on a GPU ([`cuda`]).
//! All three give byte-identical commitments; see [`backend`] and the README.
//!
//! [`bench`](mod@bench) is the batch-proof benchmark behind `lanes bench prover`.
//!
//! # Features
//! None; Plonky3 runs multi-threaded through rayon (`p3-maybe-rayon/parallel`).

pub mod backend;
pub mod bench;
pub mod commitment;
pub mod config;
pub mod cuda;
mod error;
pub mod hash;
pub mod keccak_air;
mod kernels;
pub mod state_air;

use std::panic::{AssertUnwindSafe, catch_unwind};

use alloy_primitives::{B256, keccak256};
use p3_maybe_rayon::prelude::*;
use p3_uni_stark::Proof;
use serde::{Deserialize, Serialize};

pub use backend::Backend;
pub use commitment::{DiffEntry, MerklePath, StateCommitment, StateKey, StateValue};
pub use config::{ProverConfig, Security};
pub use error::{CommitmentError, ProveError, VerifyError};

use crate::commitment::{TREE_DEPTH, leaf_digest};
use crate::config::{LanesStarkConfig, stark_config};
use crate::hash::{Digest, b256_to_digest};
use crate::keccak_air::SpongeAir;
use crate::state_air::{LeafUpdate, StateAir};

/// Largest batch data accepted by [`prove`] and [`verify`] (1 MiB: a 2^18-row,
/// ~2,900-column Keccak trace, about 3 GB before the low-degree extension).
pub const MAX_DATA_BYTES: usize = 1 << 20;
/// Most diff entries accepted by [`prove`] and [`verify`] (2^15: a 2^21-row,
/// ~380-column state trace, about 3 GB before the low-degree extension).
pub const MAX_DIFF_ENTRIES: usize = 1 << 15;
/// Largest serialized proof accepted by [`BatchProof::from_bytes`] (64 MiB).
pub const MAX_PROOF_BYTES: usize = 64 << 20;
/// Version of the [`BatchProof`] format (2: the sponge proven in segments).
pub const PROOF_VERSION: u32 = 2;

/// The public inputs of a batch proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicInputs {
    /// Batch index on L1.
    pub index: u64,
    /// State commitment before the batch ([`hash::digest_to_b256`] of the root).
    pub prev_commitment: B256,
    /// State commitment after the batch.
    pub new_commitment: B256,
    /// keccak-256 of the batch data.
    pub data_hash: B256,
}

impl PublicInputs {
    /// keccak-256 of `abi.encode(uint64 index, bytes32 prevCommitment, bytes32
    /// newCommitment, bytes32 dataHash)` (see the crate docs).
    pub fn hash(&self) -> B256 {
        let mut buf = [0u8; 128];
        buf[24..32].copy_from_slice(&self.index.to_be_bytes());
        buf[32..64].copy_from_slice(self.prev_commitment.as_slice());
        buf[64..96].copy_from_slice(self.new_commitment.as_slice());
        buf[96..128].copy_from_slice(self.data_hash.as_slice());
        keccak256(buf)
    }
}

/// Everything the prover needs for one batch.
#[derive(Clone, Debug)]
pub struct BatchWitness {
    /// Batch index.
    pub index: u64,
    /// State commitment before the batch.
    pub prev_root: B256,
    /// State commitment after the batch.
    pub new_root: B256,
    /// The batch data exactly as posted to L1.
    pub data: Vec<u8>,
    /// The batch's state diff, in application order.
    pub diff: Vec<DiffEntry>,
    /// Per diff entry, the Merkle path of its key just before it is applied.
    pub paths: Vec<MerklePath>,
    /// The path of leaf index 0 after the whole diff (used for padding rows).
    pub tail: MerklePath,
}

impl BatchWitness {
    /// Applies `diff` to `state` (which must hold the state before the batch),
    /// recording the Merkle paths the proof needs. On error `state` is unchanged and
    /// the error names the offending entry.
    pub fn build(
        index: u64,
        state: &mut StateCommitment,
        data: Vec<u8>,
        diff: Vec<DiffEntry>,
    ) -> Result<Self, CommitmentError> {
        let prev_root = state.root_b256();
        let paths = state.apply_diff(&diff)?;
        Ok(Self {
            index,
            prev_root,
            new_root: state.root_b256(),
            data,
            diff,
            paths,
            tail: state.path_at(0),
        })
    }

    /// The public inputs this witness proves.
    pub fn public_inputs(&self) -> PublicInputs {
        PublicInputs {
            index: self.index,
            prev_commitment: self.prev_root,
            new_commitment: self.new_root,
            data_hash: keccak256(&self.data),
        }
    }
}

/// A batch proof: the Keccak sponge proof and the state-transition proof.
#[derive(Serialize, Deserialize)]
pub struct BatchProof {
    /// Format version ([`PROOF_VERSION`]).
    pub version: u32,
    /// FRI setting every proof was made with.
    pub security: Security,
    /// Proof of the keccak-256 digest of the data: one proof per sponge segment
    /// ([`keccak_air::plan_segments`]), in order.
    pub keccak: Vec<Proof<LanesStarkConfig>>,
    /// Proof of the state transition.
    pub state: Proof<LanesStarkConfig>,
}

impl std::fmt::Debug for BatchProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchProof")
            .field("version", &self.version)
            .field("security", &self.security)
            .field(
                "keccak_degree_bits",
                &self
                    .keccak
                    .iter()
                    .map(|p| p.degree_bits)
                    .collect::<Vec<_>>(),
            )
            .field("state_degree_bits", &self.state.degree_bits)
            .finish_non_exhaustive()
    }
}

impl BatchProof {
    /// Serializes the proof (postcard).
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("serializing to memory cannot fail")
    }

    /// Decodes [`Self::to_bytes`] output from untrusted bytes (at most
    /// [`MAX_PROOF_BYTES`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, VerifyError> {
        if bytes.len() > MAX_PROOF_BYTES {
            return Err(VerifyError::TooLarge {
                len: bytes.len(),
                max: MAX_PROOF_BYTES,
            });
        }
        let proof: Self = catch_unwind(|| postcard::from_bytes(bytes))
            .map_err(|_| VerifyError::Decode("decoder panicked".into()))?
            .map_err(|e| VerifyError::Decode(e.to_string()))?;
        if proof.version != PROOF_VERSION {
            return Err(VerifyError::Version {
                got: proof.version,
                expected: PROOF_VERSION,
            });
        }
        Ok(proof)
    }

    /// keccak-256 of [`Self::to_bytes`]: the `proofHash` posted to L1.
    pub fn hash(&self) -> B256 {
        proof_hash(&self.to_bytes())
    }
}

/// keccak-256 of serialized proof bytes.
pub fn proof_hash(proof_bytes: &[u8]) -> B256 {
    keccak256(proof_bytes)
}

/// keccak-256 of the ABI-encoded public inputs ([`PublicInputs::hash`]).
pub fn public_inputs_hash(pi: &PublicInputs) -> B256 {
    pi.hash()
}

fn check_limits(data: &[u8], diff: &[DiffEntry]) -> Result<(), (&'static str, usize, usize)> {
    if data.len() > MAX_DATA_BYTES {
        return Err(("batch data", data.len(), MAX_DATA_BYTES));
    }
    if diff.len() > MAX_DIFF_ENTRIES {
        return Err(("state diff", diff.len(), MAX_DIFF_ENTRIES));
    }
    Ok(())
}

/// The `(index, old leaf, new leaf)` of every diff entry.
fn diff_leaves(diff: &[DiffEntry]) -> Vec<(u64, Digest, Digest)> {
    diff.par_iter()
        .map(|e| {
            (
                e.key.index(),
                leaf_digest(&e.key, e.old.as_ref()),
                leaf_digest(&e.key, e.new.as_ref()),
            )
        })
        .collect()
}

fn kind_ok(key: &StateKey, v: &Option<StateValue>) -> bool {
    matches!(
        (key, v),
        (_, None)
            | (StateKey::Account(_), Some(StateValue::Account { .. }))
            | (StateKey::Storage(..), Some(StateValue::Storage(_)))
    )
}

/// Checks the witness and returns the AIR's updates (padded to a power of two).
fn check_witness(
    w: &BatchWitness,
    prev: &Digest,
    new: &Digest,
) -> Result<Vec<LeafUpdate>, ProveError> {
    if w.paths.len() != w.diff.len() {
        return Err(ProveError::InvalidWitness(format!(
            "{} Merkle paths for {} diff entries",
            w.paths.len(),
            w.diff.len()
        )));
    }
    // Per entry (in parallel): shape checks, and the roots before and after.
    let leaves = diff_leaves(&w.diff);
    let checked: Vec<Result<(Digest, LeafUpdate), ProveError>> = w
        .diff
        .par_iter()
        .zip(w.paths.par_iter())
        .zip(leaves.into_par_iter())
        .enumerate()
        .map(|(i, ((e, path), (index, old, new_leaf)))| {
            let bad = |reason: String| ProveError::InconsistentDiff {
                entry: i,
                key: e.key,
                reason,
            };
            if !kind_ok(&e.key, &e.old) || !kind_ok(&e.key, &e.new) {
                return Err(bad("value kind does not match the key".into()));
            }
            if path.index != index || path.siblings.len() != TREE_DEPTH {
                return Err(bad(format!(
                    "Merkle path is for index {:#x} with {} siblings, key index is {index:#x}",
                    path.index,
                    path.siblings.len()
                )));
            }
            if path.leaf != old {
                return Err(bad(
                    "old value does not match the leaf in the commitment".into()
                ));
            }
            Ok((
                path.root_with_leaf(&old),
                LeafUpdate::from_path(path, new_leaf, true),
            ))
        })
        .collect();
    // In order: each entry starts from the previous entry's root.
    let mut updates = Vec::with_capacity(w.diff.len().max(1).next_power_of_two());
    let mut root = *prev;
    for (i, c) in checked.into_iter().enumerate() {
        let (before, update) = c?;
        if before != root {
            return Err(ProveError::InconsistentDiff {
                entry: i,
                key: w.diff[i].key,
                reason: "old value and Merkle path do not lead to the current commitment".into(),
            });
        }
        root = update.root_after;
        updates.push(update);
    }
    if root != *new {
        return Err(ProveError::InvalidWitness(format!(
            "the diff leads to commitment {}, the witness claims {}",
            hash::digest_to_b256(&root),
            hash::digest_to_b256(new)
        )));
    }
    if w.tail.siblings.len() != TREE_DEPTH || w.tail.root() != *new {
        return Err(ProveError::InvalidWitness(
            "tail path does not lead to the new commitment".into(),
        ));
    }
    let pad = LeafUpdate::from_path(&w.tail, w.tail.leaf, false);
    updates.resize(updates.len().max(1).next_power_of_two(), pad);
    Ok(updates)
}

/// Proves a batch. The diff is checked against the previous commitment first; an
/// inconsistent entry is reported as [`ProveError::InconsistentDiff`] with its position.
pub fn prove(witness: &BatchWitness, config: &ProverConfig) -> Result<BatchProof, ProveError> {
    check_limits(&witness.data, &witness.diff)
        .map_err(|(what, got, max)| ProveError::TooLarge { what, got, max })?;
    let prev = b256_to_digest(&witness.prev_root)?;
    let new = b256_to_digest(&witness.new_root)?;
    let updates = check_witness(witness, &prev, &new)?;
    let leaves = updates
        .iter()
        .filter(|u| u.real)
        .map(|u| (u.index, u.leaf_old, u.leaf_new));
    let digest = state_air::diff_digest(leaves);

    if config.backend == Backend::Cuda {
        cuda::device().map_err(|reason| ProveError::Backend {
            backend: config.backend.name(),
            reason,
        })?;
    }
    let sc = stark_config(config.security, config.backend);
    let state_pv = state_air::public_values(witness.index, &prev, &new, &digest);
    let state_trace = state_air::generate_trace(&updates, &prev);
    drop(updates);
    let state = p3_uni_stark::prove(&sc, &StateAir::new(), state_trace, &state_pv)
        .map_err(|e| ProveError::Stark(format!("state proof: {e:?}")))?;

    let len = witness.data.len();
    let (padded, states) = keccak_air::sponge_states(&witness.data);
    let keccak = keccak_air::plan_segments(states.len() - 1)
        .into_iter()
        .map(|seg| {
            let pv = keccak_air::public_values(witness.index, len, seg, &states);
            let trace = keccak_air::generate_trace(len, &padded, &states, seg);
            p3_uni_stark::prove(&sc, &SpongeAir::default(), trace, &pv)
                .map_err(|e| ProveError::Stark(format!("keccak proof: {e:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;

    Ok(BatchProof {
        version: PROOF_VERSION,
        security: config.security,
        keccak,
        state,
    })
}

/// Verifies a batch proof against its public inputs, the batch data and the diff.
pub fn verify(
    proof: &BatchProof,
    public_inputs: &PublicInputs,
    data: &[u8],
    diff: &[DiffEntry],
) -> Result<(), VerifyError> {
    if proof.version != PROOF_VERSION {
        return Err(VerifyError::Version {
            got: proof.version,
            expected: PROOF_VERSION,
        });
    }
    if let Err((_, len, max)) = check_limits(data, diff) {
        return Err(VerifyError::TooLarge { len, max });
    }
    // One pass of the sponge gives both the digest and the segments' boundary states.
    let (_, states) = keccak_air::sponge_states(data);
    let got = keccak_air::digest(&states);
    if got != public_inputs.data_hash {
        return Err(VerifyError::DataHash {
            expected: public_inputs.data_hash,
            got,
        });
    }
    let prev = b256_to_digest(&public_inputs.prev_commitment)?;
    let new = b256_to_digest(&public_inputs.new_commitment)?;
    let digest = state_air::diff_digest(diff_leaves(diff));
    let sc = stark_config(proof.security, Backend::Cpu);

    let state_pv = state_air::public_values(public_inputs.index, &prev, &new, &digest);
    catch_unwind(AssertUnwindSafe(|| {
        p3_uni_stark::verify(&sc, &StateAir::new(), &proof.state, &state_pv)
    }))
    .map_err(|_| VerifyError::State("verifier panicked on a malformed proof".into()))?
    .map_err(|e| VerifyError::State(format!("{e:?}")))?;

    // The segment boundaries' sponge states come from the data itself; the final
    // segment's end state holds the digest checked above.
    let plan = keccak_air::plan_segments(states.len() - 1);
    if proof.keccak.len() != plan.len() {
        return Err(VerifyError::Keccak(format!(
            "{} sponge proofs for {} segments",
            proof.keccak.len(),
            plan.len()
        )));
    }
    for (i, (seg, segment_proof)) in plan.into_iter().zip(&proof.keccak).enumerate() {
        let pv = keccak_air::public_values(public_inputs.index, data.len(), seg, &states);
        catch_unwind(AssertUnwindSafe(|| {
            p3_uni_stark::verify(&sc, &SpongeAir::default(), segment_proof, &pv)
        }))
        .map_err(|_| {
            VerifyError::Keccak(format!(
                "segment {i}: verifier panicked on a malformed proof"
            ))
        })?
        .map_err(|e| VerifyError::Keccak(format!("segment {i}: {e:?}")))?;
    }
    Ok(())
}
