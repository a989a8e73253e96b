//! The withdrawals Merkle tree shared by the node (which builds a batch's root) and the
//! Bridge (which verifies claims against it).
//!
//! Leaves are [`withdrawal_leaf`]s in L2 order. Each level pairs nodes left to right,
//! `parent = keccak256(left ++ right)`; an odd last node is paired with `B256::ZERO`; the root of
//! one leaf is that leaf, of no leaves `B256::ZERO`. A proof lists the siblings bottom-up; bit
//! `k` of the leaf index says whether the node at level `k` is a right child.

use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_sol_types::SolValue;

/// The leaf of one withdrawal: `keccak256(abi.encode(id, from, to, amount))`.
pub fn withdrawal_leaf(id: U256, from: Address, to: Address, amount: U256) -> B256 {
    keccak256((id, from, to, amount).abi_encode())
}

fn hash_pair(left: B256, right: B256) -> B256 {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(left.as_slice());
    buf[32..].copy_from_slice(right.as_slice());
    keccak256(buf)
}

fn next_level(level: &[B256]) -> Vec<B256> {
    level
        .chunks(2)
        .map(|pair| hash_pair(pair[0], pair.get(1).copied().unwrap_or(B256::ZERO)))
        .collect()
}

/// The withdrawals root of a batch's leaves.
pub fn withdrawals_root(leaves: &[B256]) -> B256 {
    let Some(first) = leaves.first() else {
        return B256::ZERO;
    };
    if leaves.len() == 1 {
        return *first;
    }
    let mut level = next_level(leaves);
    while level.len() > 1 {
        level = next_level(&level);
    }
    level[0]
}

/// The inclusion proof (siblings bottom-up) of leaf `index`; `None` if `index` is out of range.
pub fn withdrawal_proof(leaves: &[B256], index: usize) -> Option<Vec<B256>> {
    if index >= leaves.len() {
        return None;
    }
    let mut proof = Vec::new();
    let mut level = leaves.to_vec();
    let mut i = index;
    while level.len() > 1 {
        proof.push(level.get(i ^ 1).copied().unwrap_or(B256::ZERO));
        level = next_level(&level);
        i /= 2;
    }
    Some(proof)
}

/// Whether `proof` shows `leaf` at `index` under `root`, as `Bridge.verifyWithdrawalProof`
/// decides it (the index must fit in `proof.len()` bits).
pub fn verify_withdrawal_proof(root: B256, leaf: B256, index: U256, proof: &[B256]) -> bool {
    if proof.len() < 256 && (index >> proof.len()) != U256::ZERO {
        return false;
    }
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

    fn leaves(n: usize) -> Vec<B256> {
        (0..n)
            .map(|i| keccak256((i as u64).to_be_bytes()))
            .collect()
    }

    #[test]
    fn small_roots_by_hand() {
        assert_eq!(withdrawals_root(&[]), B256::ZERO);
        let l = leaves(3);
        assert_eq!(withdrawals_root(&l[..1]), l[0]);
        assert_eq!(withdrawals_root(&l[..2]), hash_pair(l[0], l[1]));
        assert_eq!(
            withdrawals_root(&l),
            hash_pair(hash_pair(l[0], l[1]), hash_pair(l[2], B256::ZERO))
        );
    }

    #[test]
    fn every_proof_verifies_and_tampering_fails() {
        for n in 1..=17 {
            let l = leaves(n);
            let root = withdrawals_root(&l);
            for i in 0..n {
                let p = withdrawal_proof(&l, i).unwrap();
                let idx = U256::from(i);
                assert!(verify_withdrawal_proof(root, l[i], idx, &p), "n={n} i={i}");
                assert!(!verify_withdrawal_proof(root, l[(i + 1) % n], idx, &p) || n == 1);
                if !p.is_empty() {
                    let mut bad = p.clone();
                    bad[0] = B256::repeat_byte(0xee);
                    assert!(!verify_withdrawal_proof(root, l[i], idx, &bad));
                    // Same path, index with a bit above the tree's height.
                    let high = idx | (U256::from(1) << p.len());
                    assert!(!verify_withdrawal_proof(root, l[i], high, &p));
                }
            }
            assert!(withdrawal_proof(&l, n).is_none());
        }
    }
}
