//! EIP-4844 blob DA: batch data in blobs, and back.
//!
//! The batch data (the same bytes a calldata batch carries) is coded into blobs with alloy's
//! `SimpleCoder` (a length word, then 31 data bytes per 32-byte field element, so each field
//! element stays below the BLS modulus): 126,944 bytes per blob. `commitBatchBlobs` states
//! `dataHash = keccak256(versionedHash_0 ‖ … ‖ versionedHash_n-1)`, and each versioned hash
//! is `0x01 ‖ sha256(KZG commitment)[1..]` of its blob, so a follower that checks the data
//! hash against the transaction's versioned hashes, and each fetched blob's commitment against
//! its versioned hash, has exactly the data the sequencer committed to.
//!
//! KZG uses the Ethereum trusted setup that `c-kzg` embeds (nothing is downloaded), loaded
//! without precomputed tables: building them costs far more CPU than the few proofs per batch.

use alloy_eips::eip4844::{
    Blob, BlobTransactionSidecar, FIELD_ELEMENTS_PER_BLOB,
    builder::{SidecarBuilder, SidecarCoder, SimpleCoder},
    c_kzg::{self, KzgSettings},
    kzg_to_versioned_hash,
};
use alloy_eips::eip7594::BlobTransactionSidecarVariant;
use alloy_primitives::B256;

/// Most blobs one commit may carry (Cancun's per-block maximum).
pub const MAX_BLOBS: usize = 6;
/// Most batch data one commit carries: `SimpleCoder` puts 31 bytes in each 32-byte field
/// element after one length word, over [`MAX_BLOBS`] blobs of 4,096 field elements.
pub const MAX_DATA: usize = (MAX_BLOBS * FIELD_ELEMENTS_PER_BLOB as usize - 1) * 31;

/// Blobs needed for `len` bytes of batch data.
pub fn blobs_needed(len: usize) -> usize {
    (len.div_ceil(31) + 1).div_ceil(FIELD_ELEMENTS_PER_BLOB as usize)
}

/// Errors of blob coding.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The data needs more blobs than a commit may carry.
    #[error(
        "{len} bytes of batch data need {blobs} blobs; a commit carries at most {MAX_BLOBS} (lower --batch.max-bytes)"
    )]
    TooLarge {
        /// Data length.
        len: usize,
        /// Blobs needed.
        blobs: usize,
    },
    /// Empty data has no blob.
    #[error("empty batch data")]
    Empty,
    /// KZG failed.
    #[error("KZG: {0}")]
    Kzg(String),
    /// A blob does not match its versioned hash.
    #[error("blob {index} has versioned hash {computed}, the transaction says {stated}")]
    HashMismatch {
        /// Position.
        index: usize,
        /// From the blob's commitment.
        computed: B256,
        /// From the transaction.
        stated: B256,
    },
    /// The blobs do not decode to one piece of data.
    #[error("blobs do not decode to batch data")]
    Undecodable,
}

fn kzg() -> &'static KzgSettings {
    c_kzg::ethereum_kzg_settings(0)
}

/// Which sidecar form the L1 takes: classic EIP-4844 (one proof per blob, Cancun/Prague) or
/// EIP-7594 cell proofs (Osaka and later, anvil's default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SidecarForm {
    /// EIP-4844.
    Eip4844,
    /// EIP-7594.
    Eip7594,
}

/// The blobs, commitments and proofs for `data`.
pub fn sidecar(data: &[u8], form: SidecarForm) -> Result<BlobTransactionSidecarVariant, BlobError> {
    if data.is_empty() {
        return Err(BlobError::Empty);
    }
    let blobs = blobs_needed(data.len());
    if blobs > MAX_BLOBS {
        return Err(BlobError::TooLarge {
            len: data.len(),
            blobs,
        });
    }
    let builder = SidecarBuilder::<SimpleCoder>::from_slice(data);
    Ok(match form {
        SidecarForm::Eip4844 => BlobTransactionSidecarVariant::Eip4844(
            builder
                .build_4844_with_settings(kzg())
                .map_err(|e| BlobError::Kzg(e.to_string()))?,
        ),
        SidecarForm::Eip7594 => BlobTransactionSidecarVariant::Eip7594(
            builder
                .build_7594_with_settings(kzg())
                .map_err(|e| BlobError::Kzg(e.to_string()))?,
        ),
    })
}

/// The versioned hashes of the blobs carrying `data` (commitments only, no proofs).
pub fn versioned_hashes(data: &[u8]) -> Result<Vec<B256>, BlobError> {
    Ok(sidecar_blobs_only(data)?.versioned_hashes().collect())
}

fn sidecar_blobs_only(data: &[u8]) -> Result<BlobTransactionSidecar, BlobError> {
    if data.is_empty() {
        return Err(BlobError::Empty);
    }
    if blobs_needed(data.len()) > MAX_BLOBS {
        return Err(BlobError::TooLarge {
            len: data.len(),
            blobs: blobs_needed(data.len()),
        });
    }
    let blobs = SidecarBuilder::<SimpleCoder>::from_slice(data).take();
    let mut commitments = Vec::with_capacity(blobs.len());
    for blob in &blobs {
        let c = kzg()
            .blob_to_kzg_commitment(&c_kzg::Blob::new(blob.0))
            .map_err(|e| BlobError::Kzg(e.to_string()))?;
        commitments.push(alloy_eips::eip4844::Bytes48::from(
            c.to_bytes().into_inner(),
        ));
    }
    Ok(BlobTransactionSidecar {
        blobs,
        commitments,
        proofs: Vec::new(),
    })
}

/// Checks fetched blobs against the transaction's versioned hashes and decodes the batch data.
pub fn decode(blobs: &[Blob], stated: &[B256]) -> Result<Vec<u8>, BlobError> {
    if blobs.len() != stated.len() || blobs.is_empty() || blobs.len() > MAX_BLOBS {
        return Err(BlobError::Undecodable);
    }
    for (index, (blob, stated)) in blobs.iter().zip(stated).enumerate() {
        let c = kzg()
            .blob_to_kzg_commitment(&c_kzg::Blob::new(blob.0))
            .map_err(|e| BlobError::Kzg(e.to_string()))?;
        let computed = kzg_to_versioned_hash(c.as_slice());
        if computed != *stated {
            return Err(BlobError::HashMismatch {
                index,
                computed,
                stated: *stated,
            });
        }
    }
    let mut pieces = SimpleCoder::default()
        .decode_all(blobs)
        .ok_or(BlobError::Undecodable)?;
    if pieces.len() != 1 {
        return Err(BlobError::Undecodable);
    }
    Ok(pieces.remove(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let hashes = versioned_hashes(&data).unwrap();
        assert_eq!(hashes.len(), 2);
        let blobs = SidecarBuilder::<SimpleCoder>::from_slice(&data).take();
        assert_eq!(decode(&blobs, &hashes).unwrap(), data);
        let mut bad = blobs.clone();
        bad[1].0[100] ^= 1;
        assert!(matches!(
            decode(&bad, &hashes),
            Err(BlobError::HashMismatch { index: 1, .. })
        ));
        assert!(decode(&blobs[..1], &hashes).is_err());
        assert_eq!(
            SidecarBuilder::<SimpleCoder>::from_slice(&vec![1u8; MAX_DATA])
                .take()
                .len(),
            MAX_BLOBS
        );
        let big = vec![1u8; MAX_DATA + 1];
        assert!(matches!(
            versioned_hashes(&big),
            Err(BlobError::TooLarge { blobs: 7, .. })
        ));
    }
}
