//! The native state commitment.

use alloy_primitives::{Address, B256, U256};
use lanes_prover::commitment::{TREE_DEPTH, empty_hashes, leaf_digest};
use lanes_prover::hash::{b256_to_digest, digest_to_b256};
use lanes_prover::{CommitmentError, DiffEntry, StateCommitment, StateKey, StateValue};

use crate::util::{random_diff, random_state, random_value, rng};

#[test]
fn empty_root_is_the_empty_subtree() {
    let s = StateCommitment::new();
    assert_eq!(s.root(), empty_hashes()[TREE_DEPTH]);
    assert!(s.is_empty());
}

#[test]
fn set_get_delete_and_paths() {
    let mut r = rng(1);
    let (mut s, keys) = random_state(&mut r, 200);
    let root0 = s.root();
    let key = keys[17];
    let old = *s.get(&key).unwrap();
    let new = random_value(&mut r, &key);
    s.set(key, Some(new)).unwrap();
    assert_eq!(s.get(&key), Some(&new));
    assert_ne!(s.root(), root0);
    let path = s.path(&key);
    assert_eq!(path.leaf, leaf_digest(&key, Some(&new)));
    assert_eq!(path.root(), s.root());
    s.set(key, Some(old)).unwrap();
    assert_eq!(s.root(), root0);
    // Deleting and re-inserting restores the root; a zero storage value is absent.
    let slot = StateKey::Storage(Address::repeat_byte(9), B256::repeat_byte(1));
    s.set(slot, Some(StateValue::Storage(U256::from(5))))
        .unwrap();
    s.set(slot, Some(StateValue::Storage(U256::ZERO))).unwrap();
    assert_eq!(s.root(), root0);
    assert_eq!(s.get(&slot), None);
}

#[test]
fn bulk_build_equals_incremental_and_snapshot_round_trips() {
    let mut r = rng(2);
    let (bulk, keys) = random_state(&mut r, 500);
    let mut inc = StateCommitment::new();
    for k in &keys {
        inc.set(*k, bulk.get(k).copied()).unwrap();
    }
    assert_eq!(inc.root(), bulk.root());
    let mut restored = StateCommitment::from_bytes(&bulk.to_bytes()).unwrap();
    assert_eq!(restored.root(), bulk.root());
    assert_eq!(restored.len(), bulk.len());
    assert!(restored.verify_integrity());
    // The restored tree keeps working: an update gives the same root as on the original.
    let mut original = bulk.clone();
    let v = crate::util::random_value(&mut r, &keys[3]);
    original.set(keys[3], Some(v)).unwrap();
    restored.set(keys[3], Some(v)).unwrap();
    assert_eq!(restored.root(), original.root());
    assert!(StateCommitment::from_bytes(&[0xff, 0xff, 0xff]).is_err());
    // Truncated snapshots fail to decode, never panic.
    let bytes = bulk.to_bytes();
    for cut in [1, bytes.len() / 2, bytes.len() - 1] {
        assert!(StateCommitment::from_bytes(&bytes[..cut]).is_err());
    }
}

#[test]
fn apply_diff_refuses_stale_entry_and_changes_nothing() {
    let mut r = rng(3);
    let (mut s, keys) = random_state(&mut r, 100);
    let mut diff = random_diff(&mut r, &s, &keys, 10);
    let root0 = s.root();
    diff[6].old = Some(random_value(&mut r, &diff[6].key));
    let err = s.apply_diff(&diff).unwrap_err();
    assert!(
        matches!(err, CommitmentError::StaleOld { entry: 6, .. }),
        "{err}"
    );
    assert_eq!(s.root(), root0);
}

#[test]
fn kind_mismatch_is_refused() {
    let mut s = StateCommitment::new();
    let key = StateKey::Account(Address::repeat_byte(1));
    let err = s
        .set(key, Some(StateValue::Storage(U256::from(1))))
        .unwrap_err();
    assert!(matches!(err, CommitmentError::KindMismatch { .. }));
    let diff = [DiffEntry {
        key,
        old: None,
        new: Some(StateValue::Storage(U256::from(1))),
    }];
    assert!(s.apply_diff(&diff).is_err());
}

#[test]
fn bytes32_encoding_round_trips_and_rejects_non_canonical() {
    let s = StateCommitment::new();
    let b = digest_to_b256(&s.root());
    assert_eq!(b256_to_digest(&b).unwrap(), s.root());
    let mut bad = b.0;
    bad[0..4].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        b256_to_digest(&B256::from(bad)),
        Err(CommitmentError::NonCanonical { word: 0, .. })
    ));
}

/// Random inserts, updates and deletions, applied one by one, always give the same
/// root as building the final key set from scratch, and every path proves the root.
#[test]
fn incremental_updates_match_a_fresh_build() {
    let mut r = rng(4);
    let (mut s, mut keys) = random_state(&mut r, 300);
    for round in 0..5 {
        let diff = random_diff(&mut r, &s, &keys, 60);
        let paths = s.apply_diff(&diff).unwrap();
        assert_eq!(paths.len(), diff.len());
        keys.extend(diff.iter().map(|e| e.key));
        keys.sort_by_key(|k| k.index());
        keys.dedup();
        let fresh =
            StateCommitment::from_entries(keys.iter().filter_map(|k| s.get(k).map(|v| (*k, *v))))
                .unwrap();
        assert_eq!(fresh.root(), s.root(), "round {round}");
        for k in keys.iter().take(20) {
            assert_eq!(s.path(k).root(), s.root());
        }
    }
}
