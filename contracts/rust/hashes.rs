//! Hashes the node computes exactly as the contracts do (tested against the contracts' own
//! results in `contracts/tests/`).

use crate::Rollup::BatchHeader;
use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_sol_types::SolValue;

/// The batch hash `Rollup` stores for a committed header:
/// `keccak256(abi.encode(index, parentBatchHash, dataHash, postStateRoot, firstBlock,
/// lastBlock, withdrawalsRoot, depositCount, depositHash, stateCommitment, payloadHash))`.
pub fn batch_hash(h: &BatchHeader) -> B256 {
    // All fields are static, so the struct's ABI encoding is the eleven words in order.
    keccak256(h.abi_encode())
}

/// The header of batch 0, which `Rollup`'s constructor commits and finalizes: everything
/// zero except the post state root and the state commitment.
pub fn genesis_header(genesis_state_root: B256, genesis_commitment: B256) -> BatchHeader {
    BatchHeader {
        postStateRoot: genesis_state_root,
        stateCommitment: genesis_commitment,
        ..Default::default()
    }
}

/// The batch hash of batch 0 for a given genesis state root and state commitment.
pub fn genesis_batch_hash(genesis_state_root: B256, genesis_commitment: B256) -> B256 {
    batch_hash(&genesis_header(genesis_state_root, genesis_commitment))
}

/// The public inputs hash `Rollup.finalizeBatch` requires for batch `index`:
/// `keccak256(abi.encode(uint64 index, prevCommitment, newCommitment, payloadHash))`, where
/// the commitments are those of batches `index - 1` and `index` and `payloadHash` is batch
/// `index`'s. The same as the prover's public inputs hash.
pub fn public_inputs_hash(
    index: u64,
    prev_commitment: B256,
    new_commitment: B256,
    payload_hash: B256,
) -> B256 {
    keccak256((index, prev_commitment, new_commitment, payload_hash).abi_encode())
}

/// The Bridge's rolling deposit hash after deposit `index`:
/// `keccak256(abi.encode(prev, uint64 index, from, to, value))`, where `prev` is the hash
/// after `index` deposits (`B256::ZERO` for the first).
pub fn deposit_hash(prev: B256, index: u64, from: Address, to: Address, value: U256) -> B256 {
    keccak256((prev, index, from, to, value).abi_encode())
}

/// `dataHash` of a calldata batch: `keccak256(data)`.
pub fn calldata_data_hash(data: &[u8]) -> B256 {
    keccak256(data)
}

/// `dataHash` of a blob batch: keccak256 of the blobs' versioned hashes, concatenated in
/// order (what `commitBatchBlobs` computes from `blobhash(0..n)`).
pub fn blob_data_hash(versioned_hashes: &[B256]) -> B256 {
    let mut buf = Vec::with_capacity(32 * versioned_hashes.len());
    for h in versioned_hashes {
        buf.extend_from_slice(h.as_slice());
    }
    keccak256(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deposit_hash_is_five_words() {
        let from = Address::repeat_byte(0x11);
        let to = Address::repeat_byte(0x22);
        let mut buf = [0u8; 160];
        buf[32 + 24..64].copy_from_slice(&7u64.to_be_bytes());
        buf[64 + 12..96].copy_from_slice(from.as_slice());
        buf[96 + 12..128].copy_from_slice(to.as_slice());
        buf[128..].copy_from_slice(&U256::from(5).to_be_bytes::<32>());
        assert_eq!(
            deposit_hash(B256::ZERO, 7, from, to, U256::from(5)),
            keccak256(buf)
        );
    }

    #[test]
    fn batch_hash_is_eleven_words() {
        let h = BatchHeader {
            index: 3,
            parentBatchHash: B256::repeat_byte(1),
            dataHash: B256::repeat_byte(2),
            postStateRoot: B256::repeat_byte(3),
            firstBlock: 10,
            lastBlock: 20,
            withdrawalsRoot: B256::repeat_byte(4),
            depositCount: 5,
            depositHash: B256::repeat_byte(6),
            stateCommitment: B256::repeat_byte(7),
            payloadHash: B256::repeat_byte(8),
        };
        let enc = h.abi_encode();
        assert_eq!(enc.len(), 11 * 32);
        assert_eq!(&enc[10 * 32..], B256::repeat_byte(8).as_slice());
        assert_eq!(enc[31], 3);
        assert_eq!(&enc[32..64], B256::repeat_byte(1).as_slice());
        assert_eq!(enc[4 * 32 + 31], 10);
        assert_eq!(batch_hash(&h), keccak256(enc));
    }

    #[test]
    fn public_inputs_hash_is_four_words() {
        let mut buf = [0u8; 128];
        buf[24..32].copy_from_slice(&9u64.to_be_bytes());
        buf[32..64].copy_from_slice(B256::repeat_byte(1).as_slice());
        buf[64..96].copy_from_slice(B256::repeat_byte(2).as_slice());
        buf[96..].copy_from_slice(B256::repeat_byte(3).as_slice());
        assert_eq!(
            public_inputs_hash(
                9,
                B256::repeat_byte(1),
                B256::repeat_byte(2),
                B256::repeat_byte(3)
            ),
            keccak256(buf)
        );
    }

    #[test]
    fn blob_data_hash_concatenates() {
        let a = B256::repeat_byte(1);
        let b = B256::repeat_byte(2);
        assert_eq!(
            blob_data_hash(&[a, b]),
            keccak256([a.as_slice(), b.as_slice()].concat())
        );
    }
}
