//! The L1 contracts as the node calls them: ABI declarations of `Rollup` and `Bridge` per the
//! settlement interface (SETTLEMENT.md), the batch hash, and the withdrawals Merkle tree.

use alloy_primitives::{Address, B256, U256, address, keccak256};
use alloy_sol_types::{SolValue, sol};

sol! {
    /// A committed batch's header, as `Rollup.commitBatch` takes it.
    #[derive(Debug, PartialEq, Eq)]
    struct BatchHeader {
        uint64 index;
        bytes32 parentBatchHash;
        bytes32 dataHash;
        bytes32 postStateRoot;
        uint64 firstBlock;
        uint64 lastBlock;
        bytes32 withdrawalsRoot;
        uint64 depositCount;
        bytes32 depositHash;
    }

    /// A withdrawal as `Bridge.claimWithdrawal` takes it.
    #[derive(Debug, PartialEq, Eq)]
    struct Withdrawal {
        uint256 id;
        address from;
        address to;
        uint256 amount;
    }

    /// The functions and events of `Rollup` the node uses.
    interface IRollup {
        function commitBatch(BatchHeader calldata h, bytes calldata data) external;
        function commitBatchBlobs(BatchHeader calldata h, uint256 blobCount) external;
        function finalizeBatchUnproven(uint64 index) external;
        function revertBatches(uint64 fromIndex) external;
        function lastCommitted() external view returns (uint64);
        function lastFinalized() external view returns (uint64);
        function batchHash(uint64 index) external view returns (bytes32);
        function genesisBlockHash() external view returns (bytes32);
        function bridge() external view returns (address);
        event BatchCommitted(uint64 indexed index, bytes32 indexed batchHash, bytes32 dataHash, bytes32 postStateRoot, uint64 firstBlock, uint64 lastBlock, uint64 depositCount, uint8 da);
        event BatchFinalized(uint64 indexed index, bytes32 indexed batchHash, bytes32 proofHash, bytes32 publicInputsHash, bool proven);
        event BatchesReverted(uint64 indexed fromIndex);
    }

    /// The functions and events of `Bridge` the node uses.
    interface IBridge {
        function depositETH(address l2Recipient) external payable;
        function depositCount() external view returns (uint64);
        function depositHashAt(uint64 count) external view returns (bytes32);
        function claimWithdrawal(uint64 batchIndex, Withdrawal calldata w, uint256 leafIndex, bytes32[] calldata proof) external;
        event DepositQueued(uint64 indexed index, address indexed from, address indexed to, uint256 value, bytes32 depositHash);
    }

    /// The L2 system contract that records withdrawals.
    interface IL2Withdrawals {
        function withdraw(address l1Recipient) external payable;
        event WithdrawalInitiated(uint256 indexed id, address indexed from, address indexed to, uint256 amount);
    }
}

/// Address of the `L2Withdrawals` predeploy in the L2 genesis.
pub const L2_WITHDRAWALS: Address = address!("0x4c00000000000000000000000000000000000001");

impl BatchHeader {
    /// `keccak256(abi.encode(index, parentBatchHash, dataHash, postStateRoot, firstBlock,
    /// lastBlock, withdrawalsRoot, depositCount, depositHash))`.
    pub fn hash(&self) -> B256 {
        keccak256(self.abi_encode())
    }

    /// The genesis "batch" 0 for a genesis state root.
    pub fn genesis(state_root: B256) -> Self {
        Self {
            index: 0,
            parentBatchHash: B256::ZERO,
            dataHash: B256::ZERO,
            postStateRoot: state_root,
            firstBlock: 0,
            lastBlock: 0,
            withdrawalsRoot: B256::ZERO,
            depositCount: 0,
            depositHash: B256::ZERO,
        }
    }
}

impl Withdrawal {
    /// The Merkle leaf: `keccak256(abi.encode(id, from, to, amount))`.
    pub fn leaf(&self) -> B256 {
        keccak256(self.abi_encode())
    }
}

fn hash_pair(left: B256, right: B256) -> B256 {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(left.as_slice());
    buf[32..].copy_from_slice(right.as_slice());
    keccak256(buf)
}

/// The withdrawals root: pairs left to right, an odd last node pairs with zero; one leaf is
/// its own root; no leaves give zero.
pub fn merkle_root(leaves: &[B256]) -> B256 {
    if leaves.is_empty() {
        return B256::ZERO;
    }
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| hash_pair(p[0], p.get(1).copied().unwrap_or(B256::ZERO)))
            .collect();
    }
    level[0]
}

/// The siblings from leaf `index` up to the root (see [`merkle_root`]).
pub fn merkle_proof(leaves: &[B256], mut index: usize) -> Vec<B256> {
    let mut proof = Vec::new();
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        proof.push(level.get(index ^ 1).copied().unwrap_or(B256::ZERO));
        level = level
            .chunks(2)
            .map(|p| hash_pair(p[0], p.get(1).copied().unwrap_or(B256::ZERO)))
            .collect();
        index /= 2;
    }
    proof
}

/// Checks a proof the way `Bridge.claimWithdrawal` does.
pub fn merkle_verify(leaf: B256, index: U256, proof: &[B256], root: B256) -> bool {
    let mut h = leaf;
    for (k, sibling) in proof.iter().enumerate() {
        h = if index.bit(k) {
            hash_pair(*sibling, h)
        } else {
            hash_pair(h, *sibling)
        };
    }
    h == root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proofs_verify_for_every_leaf() {
        for n in 1..9usize {
            let leaves: Vec<B256> = (0..n).map(|i| keccak256([i as u8])).collect();
            let root = merkle_root(&leaves);
            for (i, leaf) in leaves.iter().enumerate() {
                let proof = merkle_proof(&leaves, i);
                assert!(merkle_verify(*leaf, U256::from(i), &proof, root), "{n} {i}");
                assert!(!merkle_verify(*leaf, U256::from(i ^ 1), &proof, root) || n == 1);
            }
        }
        assert_eq!(merkle_root(&[]), B256::ZERO);
        let one = keccak256([1]);
        assert_eq!(merkle_root(&[one]), one);
    }
}
