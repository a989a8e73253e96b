//! The Poseidon2 state commitment the batch proofs are about, as the node derives it.
//!
//! `lanes-prover`'s [`StateCommitment`] is a sparse Merkle tree over every account
//! (balance, nonce, code hash) and every non-zero storage slot. The node keeps it next to the
//! Ethereum MPT at batch granularity: each batch carries its **state diff** (every key the
//! batch's blocks changed, with its value after the batch, in [canonical order](diff_order)),
//! and the batch header carries the commitment after applying it. The diff is read from the
//! blocks' change sets in MDBX ([`range_diff`]), so it is off the block builder's path:
//! updating the tree costs 62 Poseidon2 compressions per key (~2.3 µs each on a portable
//! build, measured in `prover/README.md`), ~0.14 s for a 1,000-key block if done per block.
//!
//! Who holds a tree: the batcher (at its last closed batch, to state each new batch's
//! commitment), the prover (at the last finalized batch, to prove the next one) and a follower
//! (at its last derived batch, to check the sequencer's diff and commitment). Each rebuilds it
//! on start: the batcher and the prover from the genesis state plus the diffs of the batches
//! before theirs, a follower from its state at the head ([`from_state`]).

use alloy_primitives::{Address, B256, U256};
use lanes_conflict::{StateDiff, StateView};
use lanes_prover::{CommitmentError, DiffEntry, StateCommitment, StateKey, StateValue};
use revm::state::AccountInfo;

use crate::storage::{Reader, StateAt, StorageError};

/// One key of a batch's state diff with its value after the batch (`None`: absent; storage
/// slots that end at zero are `None` too).
pub type Change = (StateKey, Option<StateValue>);

/// Why a diff could not be read or applied.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    /// MDBX failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Reading historical state failed.
    #[error("reading state: {0}")]
    State(String),
    /// The commitment refused a key (an index collision or a kind mismatch).
    #[error(transparent)]
    Commitment(#[from] CommitmentError),
}

/// The commitment's value of an account.
pub fn account_value(info: &AccountInfo) -> StateValue {
    StateValue::Account {
        balance: info.balance,
        nonce: info.nonce,
        code_hash: info.code_hash,
    }
}

/// The commitment's key of a storage slot.
pub fn slot_key(address: Address, slot: U256) -> StateKey {
    StateKey::Storage(address, B256::from(slot.to_be_bytes::<32>()))
}

fn slot_value(value: U256) -> Option<StateValue> {
    (!value.is_zero()).then_some(StateValue::Storage(value))
}

/// The sort key of the canonical diff order: by address, an account before its slots, slots
/// ascending.
pub fn diff_order(key: &StateKey) -> (Address, u8, B256) {
    match key {
        StateKey::Account(a) => (*a, 0, B256::ZERO),
        StateKey::Storage(a, s) => (*a, 1, *s),
    }
}

/// The commitment of the genesis state.
pub fn genesis(diff: &StateDiff) -> Result<StateCommitment, CommitmentError> {
    let mut entries = Vec::new();
    for (address, change) in &diff.accounts {
        let Some(info) = &change.info else { continue };
        entries.push((StateKey::Account(*address), account_value(info)));
        for (slot, value) in &change.storage {
            if let Some(v) = slot_value(*value) {
                entries.push((slot_key(*address, *slot), v));
            }
        }
    }
    StateCommitment::from_entries(entries)
}

/// The commitment of the latest state in MDBX (a follower's start-up).
pub fn from_state(reader: &Reader<'_>) -> Result<StateCommitment, DiffError> {
    let mut entries = Vec::new();
    reader.for_each_account(|address, info, slots| {
        entries.push((StateKey::Account(address), account_value(&info)));
        for (slot, value) in slots {
            if let Some(v) = slot_value(value) {
                entries.push((slot_key(address, slot), v));
            }
        }
    })?;
    Ok(StateCommitment::from_entries(entries)?)
}

/// The state diff of blocks `first..=last` (`head` is the reader's head): every account and
/// slot whose value after `last` differs from its value before `first`, in canonical order.
pub fn range_diff(
    reader: &Reader<'_>,
    head: u64,
    first: u64,
    last: u64,
) -> Result<Vec<Change>, DiffError> {
    let changes = reader.changes_between(first, last)?;
    let state = StateAt::new(reader, head, last);
    let err = |e: lanes_conflict::StateError| DiffError::State(e.to_string());
    let mut out: Vec<Change> = Vec::with_capacity(changes.accounts.len() + changes.storage.len());
    for (address, before) in &changes.accounts {
        let after = state.account(*address).map_err(err)?;
        let (before, after) = (
            before.as_ref().map(account_value),
            after.as_ref().map(account_value),
        );
        if before != after {
            out.push((StateKey::Account(*address), after));
        }
    }
    for ((address, slot), before) in &changes.storage {
        let after = state.storage(*address, *slot).map_err(err)?;
        if after != *before {
            out.push((slot_key(*address, *slot), slot_value(after)));
        }
    }
    out.sort_by_key(|(k, _)| diff_order(k));
    Ok(out)
}

/// The diff as the prover takes it: each change with its old value from `state` (the
/// commitment before the batch).
pub fn diff_entries(state: &StateCommitment, changes: &[Change]) -> Vec<DiffEntry> {
    changes
        .iter()
        .map(|(key, new)| DiffEntry {
            key: *key,
            old: state.get(key).copied(),
            new: *new,
        })
        .collect()
}

/// Applies a diff to a commitment (all of it or, on error, possibly part: callers drop the
/// tree on error).
pub fn apply(state: &mut StateCommitment, changes: &[Change]) -> Result<(), CommitmentError> {
    for (key, value) in changes {
        state.set(*key, *value)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lanes_conflict::AccountDiff;

    fn info(balance: u64, nonce: u64) -> AccountInfo {
        AccountInfo {
            balance: U256::from(balance),
            nonce,
            ..Default::default()
        }
    }

    #[test]
    fn genesis_matches_setting_each_key() {
        let a = Address::repeat_byte(1);
        let b = Address::repeat_byte(2);
        let mut diff = StateDiff::default();
        let mut acc = AccountDiff {
            info: Some(info(5, 1)),
            ..Default::default()
        };
        acc.storage.insert(U256::from(3), U256::from(9));
        acc.storage.insert(U256::from(4), U256::ZERO);
        diff.accounts.insert(a, acc);
        diff.accounts.insert(
            b,
            AccountDiff {
                info: Some(info(7, 0)),
                ..Default::default()
            },
        );
        let g = genesis(&diff).unwrap();
        let mut manual = StateCommitment::new();
        apply(
            &mut manual,
            &[
                (StateKey::Account(a), Some(account_value(&info(5, 1)))),
                (slot_key(a, U256::from(3)), slot_value(U256::from(9))),
                (StateKey::Account(b), Some(account_value(&info(7, 0)))),
            ],
        )
        .unwrap();
        assert_eq!(g.root_b256(), manual.root_b256());
        assert_eq!(g.len(), 3, "the zero slot is not a leaf");
    }

    #[test]
    fn canonical_order_puts_accounts_before_their_slots() {
        let a = Address::repeat_byte(1);
        let mut keys = [
            slot_key(a, U256::from(2)),
            StateKey::Account(Address::repeat_byte(2)),
            slot_key(a, U256::from(1)),
            StateKey::Account(a),
        ];
        keys.sort_by_key(diff_order);
        assert_eq!(
            keys,
            [
                StateKey::Account(a),
                slot_key(a, U256::from(1)),
                slot_key(a, U256::from(2)),
                StateKey::Account(Address::repeat_byte(2)),
            ]
        );
    }
}
