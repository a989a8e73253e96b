//! Rollup: genesis, commits, finalization, reverts of batches, and every revert path.

use crate::common::*;
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use lanes_contracts::{
    Rollup::{self, BatchHeader, RollupErrors},
    anvil::Anvil,
    decode_revert, hashes,
};

#[tokio::test]
async fn genesis_batch_is_committed_and_finalized() {
    let env = Env::new(true).await;
    let r = env.rollup(&env.user);
    assert_eq!(r.lastCommitted().call().await.unwrap(), 0);
    assert_eq!(r.lastFinalized().call().await.unwrap(), 0);
    assert_eq!(r.sequencer().call().await.unwrap(), addr(SEQUENCER));
    assert_eq!(r.prover().call().await.unwrap(), addr(PROVER));
    assert_eq!(r.bridge().call().await.unwrap(), env.dep.bridge);
    assert!(r.devMode().call().await.unwrap());
    assert_eq!(
        r.genesisBlockHash().call().await.unwrap(),
        keccak256("lanes test genesis block")
    );
    assert_eq!(r.DA_CALLDATA().call().await.unwrap(), 0);
    assert_eq!(r.DA_BLOB().call().await.unwrap(), 1);
    assert_eq!(r.MAX_BLOBS().call().await.unwrap(), U256::from(16));

    let genesis = hashes::genesis_batch_hash(genesis_root(), genesis_commitment());
    assert_eq!(r.batchHash(0).call().await.unwrap(), genesis);
    assert!(r.isFinalized(0).call().await.unwrap());
    assert!(!r.isFinalized(1).call().await.unwrap());
    assert_eq!(r.withdrawalsRoot(0).call().await.unwrap(), B256::ZERO);
    let b = r.batches(0).call().await.unwrap();
    assert_eq!(
        (b.batchHash, b.postStateRoot, b.finalized, b.lastBlock),
        (genesis, genesis_root(), true, 0)
    );
    assert_eq!(b.stateCommitment, genesis_commitment());
    assert_eq!(b.l1Block, env.dep.rollup_block);
    assert_eq!(
        r.batches(1).call().await.unwrap(),
        Rollup::BatchInfo::default()
    );

    // The constructor announces batch 0 like any other batch.
    let committed = r
        .BatchCommitted_filter()
        .from_block(0)
        .query()
        .await
        .unwrap();
    assert_eq!(committed.len(), 1);
    assert_eq!(
        (committed[0].0.index, committed[0].0.batchHash),
        (0, genesis)
    );
    let finalized = r
        .BatchFinalized_filter()
        .from_block(0)
        .query()
        .await
        .unwrap();
    assert_eq!((finalized[0].0.index, finalized[0].0.proven), (0, false));
}

#[tokio::test]
async fn batch_hash_in_rust_matches_the_contract() {
    let env = Env::new(true).await;
    let r = env.rollup(&env.user);
    for i in 0..8u8 {
        let h = BatchHeader {
            index: u64::from(i) * 0x0101_0101_0101,
            parentBatchHash: keccak256([i, 1]),
            dataHash: keccak256([i, 2]),
            postStateRoot: keccak256([i, 3]),
            firstBlock: u64::MAX - u64::from(i),
            lastBlock: u64::from(i) << 40,
            withdrawalsRoot: keccak256([i, 4]),
            depositCount: u64::from(i) * 7,
            depositHash: keccak256([i, 5]),
            stateCommitment: keccak256([i, 6]),
            payloadHash: keccak256([i, 7]),
        };
        assert_eq!(
            r.computeBatchHash(h.clone()).call().await.unwrap(),
            hashes::batch_hash(&h),
            "header {i}"
        );
    }
}

#[tokio::test]
async fn commits_chain_of_calldata_batches() {
    let env = Env::new(true).await;
    let r = env.rollup(&env.user);
    let mut parent = hashes::genesis_batch_hash(genesis_root(), genesis_commitment());
    for i in 1..=3u64 {
        let data = vec![i as u8; 100 * i as usize];
        let h = env.next_header(i, &data, keccak256([i as u8])).await;
        assert_eq!(h.parentBatchHash, parent);
        let receipt = env.commit(&h, &data).await;
        let ev = receipt.decoded_log::<Rollup::BatchCommitted>().unwrap();
        let want = hashes::batch_hash(&h);
        assert_eq!(
            (ev.index, ev.batchHash, ev.dataHash, ev.postStateRoot),
            (i, want, h.dataHash, h.postStateRoot)
        );
        assert_eq!(
            (ev.firstBlock, ev.lastBlock, ev.depositCount, ev.da),
            (h.firstBlock, h.lastBlock, 0, 0)
        );

        assert_eq!(r.lastCommitted().call().await.unwrap(), i);
        assert_eq!(r.batchHash(i).call().await.unwrap(), want);
        let b = r.batches(i).call().await.unwrap();
        assert_eq!(b.dataHash, keccak256(&data));
        assert_eq!(b.withdrawalsRoot, keccak256([i as u8]));
        assert_eq!(
            r.withdrawalsRoot(i).call().await.unwrap(),
            keccak256([i as u8])
        );
        assert_eq!(
            (b.firstBlock, b.lastBlock, b.da, b.finalized),
            (h.firstBlock, h.lastBlock, 0, false)
        );
        assert_eq!(b.l1Block, receipt.block_number.unwrap());
        parent = want;
    }
    assert_eq!(r.lastFinalized().call().await.unwrap(), 0);
}

#[tokio::test]
async fn commit_rejects_bad_batches() {
    let env = Env::new(true).await;
    let data = b"batch one".to_vec();
    let good = env.next_header(2, &data, B256::ZERO).await;
    let r = env.rollup(&env.seq);
    let send = |h: BatchHeader, d: Vec<u8>| r.commitBatch(h, Bytes::from(d));

    // Unknown sender.
    let rs = env.rollup(&env.stranger);
    let e: RollupErrors = reverts(rs.commitBatch(good.clone(), Bytes::from(data.clone()))).await;
    assert!(matches!(e, RollupErrors::NotSequencer(_)), "{e:?}");

    // Wrong index, both ways.
    for idx in [0u64, 2, 7] {
        let h = BatchHeader {
            index: idx,
            ..good.clone()
        };
        match reverts(send(h, data.clone())).await {
            RollupErrors::WrongBatchIndex(e) => assert_eq!((e.expected, e.got), (1, idx)),
            e => panic!("{e:?}"),
        }
    }
    // Wrong parent.
    let bad_parent = keccak256("not the genesis batch");
    match reverts(send(
        BatchHeader {
            parentBatchHash: bad_parent,
            ..good.clone()
        },
        data.clone(),
    ))
    .await
    {
        RollupErrors::WrongParentBatch(e) => {
            assert_eq!((e.expected, e.got), (good.parentBatchHash, bad_parent))
        }
        e => panic!("{e:?}"),
    }
    // Block range: gap, overlap with genesis, and last < first.
    for (first, last) in [(2, 5), (0, 3), (1, 0)] {
        let h = BatchHeader {
            firstBlock: first,
            lastBlock: last,
            ..good.clone()
        };
        let e: RollupErrors = reverts(send(h, data.clone())).await;
        assert!(
            matches!(e, RollupErrors::WrongBlockRange(_)),
            "{first}..{last}: {e:?}"
        );
    }
    // Data hash that is not keccak(calldata).
    let e: RollupErrors = reverts(send(good.clone(), b"other data".to_vec())).await;
    assert!(matches!(e, RollupErrors::DataHashMismatch(_)), "{e:?}");
    // A calldata batch's payload hash must be its data hash.
    let e: RollupErrors = reverts(send(
        BatchHeader {
            payloadHash: keccak256("other payload"),
            ..good.clone()
        },
        data.clone(),
    ))
    .await;
    assert!(matches!(e, RollupErrors::PayloadHashMismatch(_)), "{e:?}");
    // Deposits the Bridge has not queued, and a wrong rolling hash.
    let e: RollupErrors = reverts(send(
        BatchHeader {
            depositCount: 1,
            ..good.clone()
        },
        data.clone(),
    ))
    .await;
    assert!(matches!(e, RollupErrors::DepositsOutOfRange(_)), "{e:?}");
    let e: RollupErrors = reverts(send(
        BatchHeader {
            depositHash: keccak256("x"),
            ..good.clone()
        },
        data.clone(),
    ))
    .await;
    assert!(matches!(e, RollupErrors::DepositHashMismatch(_)), "{e:?}");

    // The good batch commits; replaying it is a duplicate.
    env.commit(&good, &data).await;
    match reverts(send(good.clone(), data.clone())).await {
        RollupErrors::WrongBatchIndex(e) => assert_eq!((e.expected, e.got), (2, 1)),
        e => panic!("{e:?}"),
    }
    // A next batch that restates the old parent (a fork of batch 1) is rejected too.
    let fork = BatchHeader {
        index: 2,
        firstBlock: 3,
        lastBlock: 3,
        ..good.clone()
    };
    match reverts(send(fork, data.clone())).await {
        RollupErrors::WrongParentBatch(e) => assert_eq!(e.expected, hashes::batch_hash(&good)),
        e => panic!("{e:?}"),
    }
}

#[tokio::test]
async fn deposit_count_cannot_go_backwards() {
    let env = Env::new(true).await;
    let b = env.bridge(&env.user);
    for _ in 0..2 {
        mined(b.depositETH(addr(USER)).value(U256::from(1000))).await;
    }
    let h1 = env.next_header(1, b"one", B256::ZERO).await;
    assert_eq!(h1.depositCount, 2);
    env.commit(&h1, b"one").await;
    assert_eq!(
        env.rollup(&env.user)
            .batches(1)
            .call()
            .await
            .unwrap()
            .depositCount,
        2
    );

    let h2 = env.next_header(1, b"two", B256::ZERO).await;
    let r = env.rollup(&env.seq);
    let zero = env.bridge(&env.user).depositHashAt(1).call().await.unwrap();
    let back = BatchHeader {
        depositCount: 1,
        depositHash: zero,
        ..h2.clone()
    };
    let e: RollupErrors = reverts(r.commitBatch(back, Bytes::from_static(b"two"))).await;
    assert!(matches!(e, RollupErrors::DepositsOutOfRange(_)), "{e:?}");
    // Same count as before (no new deposits consumed) is fine.
    env.commit(&h2, b"two").await;
}

#[tokio::test]
async fn finalize_in_order_by_the_prover() {
    let env = Env::new(false).await;
    let mut headers = Vec::new();
    for i in 1..=2u64 {
        let d = vec![i as u8];
        let h = env.next_header(1, &d, B256::ZERO).await;
        env.commit(&h, &d).await;
        headers.push(h);
    }
    let rp = env.rollup(&env.prover);
    let proof = keccak256("proof");
    // The public inputs of batch i: (i, commitment of i - 1, commitment of i, payload hash).
    let inputs_of = |i: usize| {
        let prev = match i {
            1 => genesis_commitment(),
            _ => headers[i - 2].stateCommitment,
        };
        let h = &headers[i - 1];
        hashes::public_inputs_hash(i as u64, prev, h.stateCommitment, h.payloadHash)
    };
    let inputs = inputs_of(1);
    assert_eq!(rp.publicInputsHashOf(1).call().await.unwrap(), inputs);
    assert_eq!(rp.publicInputsHashOf(2).call().await.unwrap(), inputs_of(2));

    let rs = env.rollup(&env.seq);
    let e: RollupErrors = reverts(rs.finalizeBatch(1, proof, inputs)).await;
    assert!(matches!(e, RollupErrors::NotProver(_)), "{e:?}");
    match reverts(rp.finalizeBatch(0, proof, inputs)).await {
        RollupErrors::AlreadyFinalized(e) => assert_eq!(e.index, 0),
        e => panic!("{e:?}"),
    }
    match reverts(rp.finalizeBatch(3, proof, inputs)).await {
        RollupErrors::BatchNotCommitted(e) => assert_eq!(e.index, 3),
        e => panic!("{e:?}"),
    }
    let e: RollupErrors = reverts(rp.finalizeBatch(2, proof, inputs_of(2))).await;
    assert!(matches!(e, RollupErrors::FinalizeOutOfOrder(_)), "{e:?}");
    // Public inputs of another batch, or a zero proof hash, are refused.
    match reverts(rp.finalizeBatch(1, proof, inputs_of(2))).await {
        RollupErrors::PublicInputsMismatch(e) => {
            assert_eq!((e.expected, e.got), (inputs, inputs_of(2)))
        }
        e => panic!("{e:?}"),
    }
    let e: RollupErrors = reverts(rp.finalizeBatch(1, B256::ZERO, inputs)).await;
    assert!(matches!(e, RollupErrors::ZeroProofHash(_)), "{e:?}");

    let receipt = mined(rp.finalizeBatch(1, proof, inputs)).await;
    let ev = receipt.decoded_log::<Rollup::BatchFinalized>().unwrap();
    let bh = rp.batchHash(1).call().await.unwrap();
    assert_eq!(
        (
            ev.index,
            ev.batchHash,
            ev.proofHash,
            ev.publicInputsHash,
            ev.proven
        ),
        (1, bh, proof, inputs, true)
    );
    assert_eq!(rp.lastFinalized().call().await.unwrap(), 1);
    assert!(rp.isFinalized(1).call().await.unwrap());
    let b = rp.batches(1).call().await.unwrap();
    assert_eq!(
        (b.finalized, b.proofHash, b.stateCommitment, b.payloadHash),
        (
            true,
            proof,
            headers[0].stateCommitment,
            headers[0].payloadHash
        )
    );

    match reverts(rp.finalizeBatch(1, proof, inputs)).await {
        RollupErrors::AlreadyFinalized(e) => assert_eq!(e.index, 1),
        e => panic!("{e:?}"),
    }
    mined(rp.finalizeBatch(2, proof, inputs_of(2))).await;
    assert_eq!(rp.lastFinalized().call().await.unwrap(), 2);

    // Not a dev deployment: no unproven finalization, not even for the sequencer.
    let d = b"3".to_vec();
    let h = env.next_header(1, &d, B256::ZERO).await;
    env.commit(&h, &d).await;
    let e: RollupErrors = reverts(rs.finalizeBatchUnproven(3)).await;
    assert!(matches!(e, RollupErrors::NotDevDeployment(_)), "{e:?}");
    assert!(!rs.devMode().call().await.unwrap());
}

#[tokio::test]
async fn finalize_unproven_in_dev_deployments() {
    let env = Env::new(true).await;
    for i in 1..=2u64 {
        let d = vec![i as u8];
        let h = env.next_header(1, &d, B256::ZERO).await;
        env.commit(&h, &d).await;
    }
    let rs = env.rollup(&env.seq);
    let e: RollupErrors = reverts(env.rollup(&env.prover).finalizeBatchUnproven(1)).await;
    assert!(matches!(e, RollupErrors::NotSequencer(_)), "{e:?}");
    let e: RollupErrors = reverts(rs.finalizeBatchUnproven(2)).await;
    assert!(matches!(e, RollupErrors::FinalizeOutOfOrder(_)), "{e:?}");
    match reverts(rs.finalizeBatchUnproven(5)).await {
        RollupErrors::BatchNotCommitted(e) => assert_eq!(e.index, 5),
        e => panic!("{e:?}"),
    }
    let receipt = mined(rs.finalizeBatchUnproven(1)).await;
    let ev = receipt.decoded_log::<Rollup::BatchFinalized>().unwrap();
    assert_eq!((ev.index, ev.proofHash, ev.proven), (1, B256::ZERO, false));
    match reverts(rs.finalizeBatchUnproven(1)).await {
        RollupErrors::AlreadyFinalized(e) => assert_eq!(e.index, 1),
        e => panic!("{e:?}"),
    }
    // The prover path works in dev deployments as well, and continues the same order.
    let inputs = env
        .rollup(&env.prover)
        .publicInputsHashOf(2)
        .call()
        .await
        .unwrap();
    mined(
        env.rollup(&env.prover)
            .finalizeBatch(2, keccak256("p"), inputs),
    )
    .await;
    assert_eq!(rs.lastFinalized().call().await.unwrap(), 2);
}

#[tokio::test]
async fn revert_unfinalized_batches_and_recommit() {
    let env = Env::new(true).await;
    let mut headers = Vec::new();
    for i in 1..=3u64 {
        let d = vec![i as u8];
        let h = env.next_header(2, &d, B256::ZERO).await;
        env.commit(&h, &d).await;
        headers.push(h);
    }
    let rs = env.rollup(&env.seq);
    mined(rs.finalizeBatchUnproven(1)).await;

    let e: RollupErrors = reverts(env.rollup(&env.stranger).revertBatches(2)).await;
    assert!(matches!(e, RollupErrors::NotSequencer(_)), "{e:?}");
    match reverts(rs.revertBatches(4)).await {
        RollupErrors::BatchNotCommitted(e) => assert_eq!(e.index, 4),
        e => panic!("{e:?}"),
    }
    for i in [0, 1] {
        match reverts(rs.revertBatches(i)).await {
            RollupErrors::AlreadyFinalized(e) => assert_eq!(e.index, i),
            e => panic!("{e:?}"),
        }
    }
    let receipt = mined(rs.revertBatches(2)).await;
    assert_eq!(
        receipt
            .decoded_log::<Rollup::BatchesReverted>()
            .unwrap()
            .fromIndex,
        2
    );
    assert_eq!(rs.lastCommitted().call().await.unwrap(), 1);
    assert_eq!(
        rs.batches(2).call().await.unwrap(),
        Rollup::BatchInfo::default()
    );
    assert_eq!(
        rs.batches(3).call().await.unwrap(),
        Rollup::BatchInfo::default()
    );
    assert_eq!(
        rs.batchHash(1).call().await.unwrap(),
        hashes::batch_hash(&headers[0])
    );

    // Batch 2 again, with different data, on top of batch 1.
    let h = env.next_header(1, b"resubmitted", B256::ZERO).await;
    assert_eq!((h.index, h.firstBlock), (2, 3));
    env.commit(&h, b"resubmitted").await;
    assert_eq!(
        rs.batchHash(2).call().await.unwrap(),
        hashes::batch_hash(&h)
    );
}

#[tokio::test]
async fn constructor_rejects_zero_addresses() {
    let anvil = Anvil::spawn().unwrap();
    let p = anvil.dev_provider(SEQUENCER).unwrap();
    let one = Address::repeat_byte(1);
    for (s, pr, b) in [
        (Address::ZERO, one, one),
        (one, Address::ZERO, one),
        (one, one, Address::ZERO),
    ] {
        let err = Rollup::deploy_builder(&p, s, pr, b, true, B256::ZERO, B256::ZERO, B256::ZERO)
            .send()
            .await
            .unwrap_err();
        let e = decode_revert::<RollupErrors>(&err).unwrap();
        assert!(matches!(e, RollupErrors::ZeroAddress(_)), "{e:?}");
    }
}
