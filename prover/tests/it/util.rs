//! Shared helpers: deterministic states and diffs.

use alloy_primitives::{Address, B256, U256};
use lanes_prover::{DiffEntry, StateCommitment, StateKey, StateValue};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub(crate) fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

pub(crate) fn random_key(rng: &mut StdRng) -> StateKey {
    let addr = Address::from(rng.random::<[u8; 20]>());
    if rng.random_bool(0.3) {
        StateKey::Account(addr)
    } else {
        StateKey::Storage(addr, B256::from(rng.random::<[u8; 32]>()))
    }
}

pub(crate) fn random_value(rng: &mut StdRng, key: &StateKey) -> StateValue {
    match key {
        StateKey::Account(_) => StateValue::Account {
            balance: U256::from(rng.random::<u128>()),
            nonce: rng.random_range(0..1000),
            code_hash: B256::from(rng.random::<[u8; 32]>()),
        },
        StateKey::Storage(..) => StateValue::Storage(U256::from(rng.random::<u64>() | 1)),
    }
}

/// A state with `n` random keys, and those keys.
pub(crate) fn random_state(rng: &mut StdRng, n: usize) -> (StateCommitment, Vec<StateKey>) {
    let keys: Vec<StateKey> = (0..n).map(|_| random_key(rng)).collect();
    let entries: Vec<(StateKey, StateValue)> =
        keys.iter().map(|k| (*k, random_value(rng, k))).collect();
    (StateCommitment::from_entries(entries).unwrap(), keys)
}

/// A diff of `updates` entries against `state`: updates of existing keys, inserts
/// of new keys and deletions.
pub(crate) fn random_diff(
    rng: &mut StdRng,
    state: &StateCommitment,
    keys: &[StateKey],
    updates: usize,
) -> Vec<DiffEntry> {
    let mut used = std::collections::HashSet::new();
    let mut diff = Vec::with_capacity(updates);
    while diff.len() < updates {
        let key = if !keys.is_empty() && rng.random_bool(0.6) {
            keys[rng.random_range(0..keys.len())]
        } else {
            random_key(rng)
        };
        if !used.insert(key) {
            continue;
        }
        let old = state.get(&key).copied();
        let new = if old.is_some() && rng.random_bool(0.1) {
            None
        } else {
            Some(random_value(rng, &key))
        };
        diff.push(DiffEntry { key, old, new });
    }
    diff
}

pub(crate) fn random_bytes(rng: &mut StdRng, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.random()).collect()
}
