//! Real batch proofs: verification, tampering, inconsistent diffs, edge sizes.

use alloy_primitives::{B256, U256, keccak256};
use lanes_prover::{
    BatchProof, BatchWitness, ProveError, ProverConfig, PublicInputs, Security, StateCommitment,
    StateValue, VerifyError, prove, verify,
};

use crate::util::{random_bytes, random_diff, random_state, random_value, rng};

fn config() -> ProverConfig {
    ProverConfig {
        security: Security::Fast,
        ..ProverConfig::default()
    }
}

fn flip(b: B256, byte: usize) -> B256 {
    let mut x = b.0;
    x[byte] ^= 1;
    B256::from(x)
}

#[test]
fn batch_proof_verifies_and_any_tampering_fails() {
    let mut r = rng(10);
    let (mut state, keys) = random_state(&mut r, 300);
    let diff = random_diff(&mut r, &state, &keys, 40);
    let data = random_bytes(&mut r, 1000);
    let w = BatchWitness::build(5, &mut state, data.clone(), diff.clone()).unwrap();
    let pi = w.public_inputs();
    assert_eq!(pi.new_commitment, state.root_b256());
    let proof = prove(&w, &config()).unwrap();
    verify(&proof, &pi, &data, &diff).unwrap();

    // Serialization round trip, and the hashes the contract sees.
    let bytes = proof.to_bytes();
    let decoded = BatchProof::from_bytes(&bytes).unwrap();
    verify(&decoded, &pi, &data, &diff).unwrap();
    assert_eq!(decoded.hash(), keccak256(&bytes));
    assert_eq!(lanes_prover::proof_hash(&bytes), proof.hash());

    // Public inputs.
    let bad = PublicInputs { index: 6, ..pi };
    assert!(verify(&proof, &bad, &data, &diff).is_err(), "batch index");
    for byte in [0, 17, 31] {
        let bad = PublicInputs {
            prev_commitment: flip(pi.prev_commitment, byte),
            ..pi
        };
        assert!(
            verify(&proof, &bad, &data, &diff).is_err(),
            "prev commitment"
        );
        let bad = PublicInputs {
            new_commitment: flip(pi.new_commitment, byte),
            ..pi
        };
        assert!(
            verify(&proof, &bad, &data, &diff).is_err(),
            "new commitment"
        );
        let bad = PublicInputs {
            data_hash: flip(pi.data_hash, byte),
            ..pi
        };
        assert!(verify(&proof, &bad, &data, &diff).is_err(), "data hash");
    }

    // Data bytes: alone (native hash check) and together with a matching public
    // data hash (then the Keccak proof itself must fail).
    for i in [0, 135, 136, 999] {
        let mut d = data.clone();
        d[i] ^= 0x40;
        assert!(matches!(
            verify(&proof, &pi, &d, &diff),
            Err(VerifyError::DataHash { .. })
        ));
        let bad = PublicInputs {
            data_hash: keccak256(&d),
            ..pi
        };
        assert!(
            matches!(verify(&proof, &bad, &d, &diff), Err(VerifyError::Keccak(_))),
            "data byte {i}"
        );
    }
    let mut longer = data.clone();
    longer.push(0);
    let bad = PublicInputs {
        data_hash: keccak256(&longer),
        ..pi
    };
    assert!(
        verify(&proof, &bad, &longer, &diff).is_err(),
        "appended byte"
    );

    // Diff entries: new value, old value, key, order, dropped and extra entries.
    let mut d = diff.clone();
    d[3].new = Some(random_value(&mut r, &d[3].key));
    assert!(matches!(
        verify(&proof, &pi, &data, &d),
        Err(VerifyError::State(_))
    ));
    let mut d = diff.clone();
    d[7].old = Some(random_value(&mut r, &d[7].key));
    assert!(verify(&proof, &pi, &data, &d).is_err(), "old value");
    let mut d = diff.clone();
    d[9].key = keys[0];
    assert!(verify(&proof, &pi, &data, &d).is_err(), "key");
    let mut d = diff.clone();
    d.swap(1, 2);
    assert!(verify(&proof, &pi, &data, &d).is_err(), "order");
    assert!(
        verify(&proof, &pi, &data, &diff[1..]).is_err(),
        "dropped entry"
    );
    let mut d = diff.clone();
    d.push(d[0]);
    assert!(verify(&proof, &pi, &data, &d).is_err(), "extra entry");

    // Proof bytes: flipped bytes either fail to decode or fail to verify, never panic.
    for pos in [0, 1, 5, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
        let mut b = bytes.clone();
        b[pos] ^= 0x01;
        if let Ok(p) = BatchProof::from_bytes(&b) {
            assert!(verify(&p, &pi, &data, &diff).is_err(), "proof byte {pos}");
        }
    }
    assert!(BatchProof::from_bytes(&bytes[..bytes.len() / 2]).is_err());
    for len in [0usize, 3, 100, 5000] {
        let junk = random_bytes(&mut r, len);
        if let Ok(p) = BatchProof::from_bytes(&junk) {
            assert!(verify(&p, &pi, &data, &diff).is_err());
        }
    }
    // The FRI setting is part of what the verifier checks against.
    let mut relabelled = BatchProof::from_bytes(&bytes).unwrap();
    relabelled.security = Security::Balanced;
    assert!(
        verify(&relabelled, &pi, &data, &diff).is_err(),
        "security label"
    );
    assert!(BatchProof::from_bytes(&vec![0u8; lanes_prover::MAX_PROOF_BYTES + 1]).is_err());
}

#[test]
fn inconsistent_diff_is_refused_naming_the_entry() {
    let mut r = rng(11);
    let (mut state, keys) = random_state(&mut r, 50);
    let diff = random_diff(&mut r, &state, &keys, 8);
    let mut w = BatchWitness::build(1, &mut state, vec![1, 2, 3], diff).unwrap();
    // A diff whose entry 4 claims an old value the commitment does not hold.
    let key = w.diff[4].key;
    w.diff[4].old = Some(random_value(&mut r, &key));
    let err = prove(&w, &config()).unwrap_err();
    assert!(
        matches!(&err, ProveError::InconsistentDiff { entry: 4, key: k, .. } if *k == key),
        "{err}"
    );
    assert!(err.to_string().contains("diff entry 4"), "{err}");
    // A witness claiming a different new root.
    let mut r2 = rng(12);
    let (mut state, keys) = random_state(&mut r2, 50);
    let diff = random_diff(&mut r2, &state, &keys, 3);
    let mut w = BatchWitness::build(1, &mut state, vec![], diff).unwrap();
    w.new_root = w.prev_root;
    assert!(matches!(
        prove(&w, &config()),
        Err(ProveError::InvalidWitness(_))
    ));
}

#[test]
fn empty_batch_and_block_boundaries() {
    let mut r = rng(13);
    let (mut state, keys) = random_state(&mut r, 20);
    for (i, len) in [0usize, 135, 136, 137, 272].into_iter().enumerate() {
        let data = random_bytes(&mut r, len);
        let diff = if i % 2 == 0 {
            Vec::new()
        } else {
            random_diff(&mut r, &state, &keys, 3)
        };
        let w = BatchWitness::build(i as u64, &mut state, data.clone(), diff.clone()).unwrap();
        let pi = w.public_inputs();
        if diff.is_empty() {
            assert_eq!(pi.prev_commitment, pi.new_commitment);
        }
        let proof = prove(&w, &config()).unwrap();
        verify(&proof, &pi, &data, &diff).unwrap_or_else(|e| panic!("len {len}: {e}"));
        let mut other = data.clone();
        other.push(1);
        let bad = PublicInputs {
            data_hash: keccak256(&other),
            ..pi
        };
        assert!(verify(&proof, &bad, &other, &diff).is_err(), "len {len}");
    }
}

#[test]
fn storage_set_to_zero_is_a_deletion() {
    let mut r = rng(14);
    let (mut state, keys) = random_state(&mut r, 30);
    let key = keys
        .iter()
        .find(|k| matches!(k, lanes_prover::StateKey::Storage(..)))
        .copied()
        .unwrap();
    let old = state.get(&key).copied();
    let diff = vec![lanes_prover::DiffEntry {
        key,
        old,
        new: Some(StateValue::Storage(U256::ZERO)),
    }];
    let before = state.clone();
    let w = BatchWitness::build(2, &mut state, vec![7; 10], diff.clone()).unwrap();
    assert_eq!(state.get(&key), None);
    assert_ne!(before.root(), state.root());
    let proof = prove(&w, &config()).unwrap();
    verify(&proof, &w.public_inputs(), &w.data, &diff).unwrap();
    let _ = StateCommitment::new();
}

#[test]
fn oversized_inputs_are_refused_before_proving() {
    let mut state = StateCommitment::new();
    let w = BatchWitness::build(
        0,
        &mut state,
        vec![0; lanes_prover::MAX_DATA_BYTES + 1],
        vec![],
    )
    .unwrap();
    assert!(matches!(
        prove(&w, &config()),
        Err(ProveError::TooLarge {
            what: "batch data",
            ..
        })
    ));
}

/// Data long enough for the sponge to be proven in two segments: the proof verifies,
/// and the segments are bound to their place and to the data on both sides of the cut.
#[test]
fn split_sponge_proof_verifies_and_segments_are_bound() {
    let mut r = rng(12);
    let (mut state, keys) = random_state(&mut r, 50);
    let diff = random_diff(&mut r, &state, &keys, 3);
    // 180 blocks: 4,320 rows would pad to 8,192; as segments 4,096 + 256.
    let data = random_bytes(&mut r, 180 * 136 - 50);
    let plan = lanes_prover::keccak_air::plan_segments(180);
    assert_eq!(plan.len(), 2);
    let w = BatchWitness::build(8, &mut state, data.clone(), diff.clone()).unwrap();
    let pi = w.public_inputs();
    let proof = prove(&w, &config()).unwrap();
    assert_eq!(proof.keccak.len(), 2);
    verify(&proof, &pi, &data, &diff).unwrap();

    // A byte in either segment, with a matching public data hash.
    for i in [10, plan[1].start * 136 + 3] {
        let mut d = data.clone();
        d[i] ^= 0x01;
        let bad = PublicInputs {
            data_hash: keccak256(&d),
            ..pi
        };
        assert!(
            matches!(verify(&proof, &bad, &d, &diff), Err(VerifyError::Keccak(_))),
            "data byte {i}"
        );
    }
    // Segments swapped, one dropped, one repeated.
    let bytes = proof.to_bytes();
    let mut swapped = BatchProof::from_bytes(&bytes).unwrap();
    swapped.keccak.swap(0, 1);
    assert!(verify(&swapped, &pi, &data, &diff).is_err(), "swapped");
    let mut dropped = BatchProof::from_bytes(&bytes).unwrap();
    dropped.keccak.pop();
    assert!(verify(&dropped, &pi, &data, &diff).is_err(), "dropped");
    let mut repeated = BatchProof::from_bytes(&bytes).unwrap();
    repeated.keccak[1] = BatchProof::from_bytes(&bytes).unwrap().keccak.remove(0);
    assert!(verify(&repeated, &pi, &data, &diff).is_err(), "repeated");
}
