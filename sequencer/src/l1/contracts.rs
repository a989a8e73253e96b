//! The L1 contracts as the node calls them. Everything comes from `lanes-contracts`: its `sol!`
//! bindings are generated from the committed artifacts, and its hashes and withdrawals Merkle
//! tree are tested against the contracts' own results. This module only names them the way the
//! batcher, the follower and the RPC use them.

use alloy_primitives::B256;

pub use lanes_contracts::{
    Bridge as IBridge,
    Bridge::Withdrawal,
    L2_DEPOSITS_ADDRESS as L2_DEPOSITS, L2_WITHDRAWALS_ADDRESS as L2_WITHDRAWALS,
    L2Deposits as IL2Deposits, L2Withdrawals as IL2Withdrawals, Rollup as IRollup,
    Rollup::BatchHeader,
    deposit_system_key,
    hashes::{batch_hash, blob_data_hash, deposit_hash, genesis_batch_hash},
    merkle::{verify_withdrawal_proof, withdrawal_proof, withdrawals_root},
};

/// The Merkle leaf of a withdrawal: `keccak256(abi.encode(id, from, to, amount))`.
pub fn withdrawal_leaf(w: &Withdrawal) -> B256 {
    lanes_contracts::merkle::withdrawal_leaf(w.id, w.from, w.to, w.amount)
}
