//! Error types of the crate.

use crate::commitment::{StateKey, StateValue};

/// Errors of the native state commitment.
#[derive(Debug, thiserror::Error)]
pub enum CommitmentError {
    /// A bytes32 word is not a canonical KoalaBear element.
    #[error("commitment word {word} is {value:#x}, not below the KoalaBear modulus")]
    NonCanonical {
        /// Word index (0..8).
        word: usize,
        /// The word's value.
        value: u32,
    },
    /// A value of one kind (account/storage) was given for a key of the other.
    #[error("value kind does not match key {key:?}")]
    KindMismatch {
        /// The key.
        key: StateKey,
    },
    /// Two keys map to the same leaf index.
    #[error("key {key:?} collides with stored key {existing:?} at leaf index {index:#x}")]
    IndexCollision {
        /// The key being set.
        key: StateKey,
        /// The key already stored at that index.
        existing: StateKey,
        /// The shared index.
        index: u64,
    },
    /// A diff entry's old value is not the stored one.
    #[error(
        "diff entry {entry} ({key:?}): old value {claimed:?} but the commitment holds {stored:?}"
    )]
    StaleOld {
        /// Position of the entry in the diff.
        entry: usize,
        /// The entry's key.
        key: StateKey,
        /// The value stored in the commitment.
        stored: Box<Option<StateValue>>,
        /// The value the entry claims.
        claimed: Box<Option<StateValue>>,
    },
    /// A diff entry could not be applied.
    #[error("diff entry {entry}: {source}")]
    Entry {
        /// Position of the entry in the diff.
        entry: usize,
        /// Why.
        source: Box<CommitmentError>,
    },
    /// A snapshot is larger than the limit.
    #[error("snapshot is {len} bytes, limit {max}")]
    SnapshotTooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A snapshot could not be decoded.
    #[error("snapshot decode: {0}")]
    Decode(String),
}

/// Errors of [`crate::prove`].
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    /// The diff does not match the previous commitment (or its Merkle paths).
    #[error("diff entry {entry} ({key:?}) is inconsistent with the state commitment: {reason}")]
    InconsistentDiff {
        /// Position of the entry in the diff.
        entry: usize,
        /// The entry's key.
        key: StateKey,
        /// What does not match.
        reason: String,
    },
    /// The witness is malformed (wrong number of paths, bad roots, ...).
    #[error("invalid witness: {0}")]
    InvalidWitness(String),
    /// An input is larger than the configured limits.
    #[error("{what} is {got}, limit {max}")]
    TooLarge {
        /// Which input.
        what: &'static str,
        /// Its size.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// The value kind of a diff entry does not match its key, or similar.
    #[error(transparent)]
    Commitment(#[from] CommitmentError),
    /// Plonky3 refused to prove.
    #[error("STARK prover: {0}")]
    Stark(String),
    /// The selected backend cannot run here (for `cuda`: no driver, no device, no NVRTC).
    #[error("prover backend {backend} is unavailable: {reason}")]
    Backend {
        /// [`crate::Backend::name`].
        backend: &'static str,
        /// What is missing.
        reason: String,
    },
}

/// Errors of [`crate::verify`] and of proof decoding.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The proof bytes are larger than [`crate::MAX_PROOF_BYTES`].
    #[error("proof is {len} bytes, limit {max}")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The proof bytes do not decode.
    #[error("proof decode: {0}")]
    Decode(String),
    /// The proof's format version is not this crate's.
    #[error("proof format version {got}, expected {expected}")]
    Version {
        /// Found.
        got: u32,
        /// Expected.
        expected: u32,
    },
    /// keccak-256 of the data is not the public data hash.
    #[error("data hash mismatch: public input {expected}, keccak-256 of the data {got}")]
    DataHash {
        /// The public input.
        expected: alloy_primitives::B256,
        /// keccak-256 of the given data.
        got: alloy_primitives::B256,
    },
    /// A public commitment is not a canonical encoding.
    #[error(transparent)]
    Commitment(#[from] CommitmentError),
    /// The Keccak (data hash) proof does not verify.
    #[error("keccak proof does not verify: {0}")]
    Keccak(String),
    /// The state-transition proof does not verify.
    #[error("state-transition proof does not verify: {0}")]
    State(String),
}
