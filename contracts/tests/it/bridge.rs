//! Bridge: initialization, the deposit queue and its rolling hash, withdrawal proofs, and every
//! claim path.

use crate::common::*;
use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_provider::Provider;
use lanes_contracts::{
    Bridge::{self, BridgeErrors, Withdrawal},
    anvil::Anvil,
    hashes, merkle,
};

#[tokio::test]
async fn initialize_once_by_the_deployer() {
    let anvil = Anvil::spawn().unwrap();
    let deployer = anvil.dev_provider(USER).unwrap();
    let stranger = anvil.dev_provider(STRANGER).unwrap();
    let bridge = Bridge::deploy(&deployer).await.unwrap();
    let addr_bridge = *bridge.address();
    assert_eq!(bridge.deployer().call().await.unwrap(), addr(USER));
    assert_eq!(bridge.rollup().call().await.unwrap(), Address::ZERO);

    // Claims need a Rollup.
    let w = Withdrawal {
        id: U256::ZERO,
        from: addr(USER),
        to: addr(USER),
        amount: U256::from(1),
    };
    let e: BridgeErrors = reverts(bridge.claimWithdrawal(1, w, U256::ZERO, vec![])).await;
    assert!(matches!(e, BridgeErrors::NotInitialized(_)), "{e:?}");

    let as_stranger = Bridge::new(addr_bridge, &stranger);
    let e: BridgeErrors = reverts(as_stranger.initialize(Address::repeat_byte(9))).await;
    assert!(matches!(e, BridgeErrors::NotDeployer(_)), "{e:?}");
    let e: BridgeErrors = reverts(bridge.initialize(Address::ZERO)).await;
    assert!(matches!(e, BridgeErrors::AlreadyInitialized(_)), "{e:?}");

    let receipt = mined(bridge.initialize(Address::repeat_byte(9))).await;
    assert_eq!(
        receipt.decoded_log::<Bridge::Initialized>().unwrap().rollup,
        Address::repeat_byte(9)
    );
    assert_eq!(
        bridge.rollup().call().await.unwrap(),
        Address::repeat_byte(9)
    );
    let e: BridgeErrors = reverts(bridge.initialize(Address::repeat_byte(8))).await;
    assert!(matches!(e, BridgeErrors::AlreadyInitialized(_)), "{e:?}");
}

#[tokio::test]
async fn deposits_roll_like_rust() {
    let env = Env::new(true).await;
    let senders = [&env.user, &env.stranger, &env.user, &env.prover];
    let from = [addr(USER), addr(STRANGER), addr(USER), addr(PROVER)];
    let mut expected = vec![B256::ZERO];
    let mut total = U256::ZERO;
    for (i, p) in senders.iter().enumerate() {
        let to = Address::repeat_byte(0x40 + i as u8);
        let value = U256::from(10u64.pow(15) * (i as u64 + 1) + 7);
        let receipt = mined(env.bridge(p).depositETH(to).value(value)).await;
        let next = hashes::deposit_hash(*expected.last().unwrap(), i as u64, from[i], to, value);
        expected.push(next);
        total += value;
        let ev = receipt.decoded_log::<Bridge::DepositQueued>().unwrap();
        assert_eq!(
            (ev.index, ev.from, ev.to, ev.value, ev.depositHash),
            (i as u64, from[i], to, value, next)
        );
    }
    let b = env.bridge(&env.user);
    assert_eq!(b.depositCount().call().await.unwrap(), 4);
    for (count, want) in expected.iter().enumerate() {
        assert_eq!(
            b.depositHashAt(count as u64).call().await.unwrap(),
            *want,
            "after {count} deposits"
        );
    }
    assert_eq!(env.balance(env.dep.bridge).await, total);

    match b
        .depositHashAt(5)
        .call()
        .await
        .map_err(|e| lanes_contracts::decode_revert::<BridgeErrors>(&e))
    {
        Err(Some(BridgeErrors::DepositCountTooHigh(e))) => {
            assert_eq!((e.count, e.depositCount), (5, 4))
        }
        other => panic!("{other:?}"),
    }
    let e: BridgeErrors = reverts(b.depositETH(addr(USER))).await;
    assert!(matches!(e, BridgeErrors::ZeroDeposit(_)), "{e:?}");

    // A batch can state it consumed the first 3 deposits, with the Rust-computed hash.
    let mut h = env.next_header(1, b"d", B256::ZERO).await;
    h.depositCount = 3;
    h.depositHash = expected[3];
    env.commit(&h, b"d").await;
}

#[tokio::test]
async fn merkle_helpers_match_the_contract() {
    let env = Env::new(true).await;
    let b = env.bridge(&env.user);
    for n in [1usize, 2, 3, 5, 8] {
        let ws: Vec<Withdrawal> = (0..n)
            .map(|i| Withdrawal {
                id: U256::from(100 + i),
                from: Address::repeat_byte(i as u8 + 1),
                to: Address::repeat_byte(0xa0 + i as u8),
                amount: U256::from(i * 1000 + 1),
            })
            .collect();
        let leaves: Vec<B256> = ws
            .iter()
            .map(|w| merkle::withdrawal_leaf(w.id, w.from, w.to, w.amount))
            .collect();
        let root = merkle::withdrawals_root(&leaves);
        for (i, w) in ws.iter().enumerate() {
            assert_eq!(b.withdrawalLeaf(w.clone()).call().await.unwrap(), leaves[i]);
            let proof = merkle::withdrawal_proof(&leaves, i).unwrap();
            let idx = U256::from(i);
            assert!(
                b.verifyWithdrawalProof(root, leaves[i], idx, proof.clone())
                    .call()
                    .await
                    .unwrap(),
                "n={n} i={i}"
            );
            // A flipped sibling, another index, or a bit above the tree's height: rejected by both.
            if !proof.is_empty() {
                let mut bad = proof.clone();
                bad[proof.len() - 1] ^= B256::with_last_byte(1);
                assert!(
                    !b.verifyWithdrawalProof(root, leaves[i], idx, bad)
                        .call()
                        .await
                        .unwrap()
                );
                let other = U256::from(i ^ 1);
                let want = merkle::verify_withdrawal_proof(root, leaves[i], other, &proof);
                assert_eq!(
                    b.verifyWithdrawalProof(root, leaves[i], other, proof.clone())
                        .call()
                        .await
                        .unwrap(),
                    want
                );
                assert!(!want);
                let high = idx | (U256::from(1) << proof.len());
                assert!(
                    !b.verifyWithdrawalProof(root, leaves[i], high, proof.clone())
                        .call()
                        .await
                        .unwrap()
                );
            }
        }
    }
}

/// Three withdrawals committed in batch 1 (bridge funded by a deposit); returns them, their
/// leaves and the batch's withdrawals root.
async fn batch_with_withdrawals(env: &Env) -> (Vec<Withdrawal>, Vec<B256>) {
    mined(
        env.bridge(&env.user)
            .depositETH(addr(USER))
            .value(U256::from(10u64.pow(18))),
    )
    .await;
    let ws: Vec<Withdrawal> = (0..3u64)
        .map(|i| Withdrawal {
            id: U256::from(i),
            from: addr(USER),
            to: Address::repeat_byte(0x70 + i as u8),
            amount: U256::from(10u64.pow(16) * (i + 1)),
        })
        .collect();
    let leaves: Vec<B256> = ws
        .iter()
        .map(|w| merkle::withdrawal_leaf(w.id, w.from, w.to, w.amount))
        .collect();
    let h = env
        .next_header(4, b"withdrawals", merkle::withdrawals_root(&leaves))
        .await;
    env.commit(&h, b"withdrawals").await;
    (ws, leaves)
}

#[tokio::test]
async fn claims_need_finalization_and_valid_proofs_once() {
    let env = Env::new(true).await;
    let (ws, leaves) = batch_with_withdrawals(&env).await;
    let b = env.bridge(&env.stranger); // anyone may submit a claim
    let proof = |i: usize| merkle::withdrawal_proof(&leaves, i).unwrap();

    // Not finalized yet (and a batch that does not exist).
    for batch in [1u64, 2] {
        match reverts(b.claimWithdrawal(batch, ws[0].clone(), U256::ZERO, proof(0))).await {
            BridgeErrors::BatchNotFinalized(e) => assert_eq!(e.index, batch),
            e => panic!("{e:?}"),
        }
    }
    mined(env.rollup(&env.seq).finalizeBatchUnproven(1)).await;

    // Bad proofs: wrong sibling, wrong index, altered amount or recipient, proof against batch 0.
    let mut bad = proof(0);
    bad[0] = keccak256("forged");
    let cases: Vec<(u64, Withdrawal, usize, Vec<B256>)> = vec![
        (1, ws[0].clone(), 0, bad),
        (1, ws[0].clone(), 1, proof(0)),
        (
            1,
            Withdrawal {
                amount: ws[0].amount + U256::from(1),
                ..ws[0].clone()
            },
            0,
            proof(0),
        ),
        (
            1,
            Withdrawal {
                to: addr(STRANGER),
                ..ws[0].clone()
            },
            0,
            proof(0),
        ),
        (1, ws[0].clone(), 0, vec![]),
        (0, ws[0].clone(), 0, proof(0)),
    ];
    for (k, (batch, w, i, p)) in cases.into_iter().enumerate() {
        let e: BridgeErrors = reverts(b.claimWithdrawal(batch, w, U256::from(i), p)).await;
        assert!(
            matches!(e, BridgeErrors::InvalidWithdrawalProof(_)),
            "case {k}: {e:?}"
        );
    }

    // Valid claims pay the recipient, once.
    for (i, w) in ws.iter().enumerate() {
        let before = env.balance(w.to).await;
        let receipt = mined(b.claimWithdrawal(1, w.clone(), U256::from(i), proof(i))).await;
        let ev = receipt.decoded_log::<Bridge::WithdrawalClaimed>().unwrap();
        assert_eq!((ev.id, ev.to, ev.amount), (w.id, w.to, w.amount));
        assert_eq!(env.balance(w.to).await, before + w.amount);
        assert!(b.claimed(w.id).call().await.unwrap());
    }
    match reverts(b.claimWithdrawal(1, ws[1].clone(), U256::from(1), proof(1))).await {
        BridgeErrors::AlreadyClaimed(e) => assert_eq!(e.id, ws[1].id),
        e => panic!("{e:?}"),
    }
    let paid: U256 = ws.iter().map(|w| w.amount).sum();
    assert_eq!(
        env.balance(env.dep.bridge).await,
        U256::from(10u64.pow(18)) - paid
    );
}

#[tokio::test]
async fn claim_reverts_when_the_transfer_fails() {
    let env = Env::new(true).await;
    mined(
        env.bridge(&env.user)
            .depositETH(addr(USER))
            .value(U256::from(1000)),
    )
    .await;
    // The Rollup has no receive function, so paying it fails; the second withdrawal asks for
    // more than the Bridge holds.
    let ws = [
        Withdrawal {
            id: U256::from(7),
            from: addr(USER),
            to: env.dep.rollup,
            amount: U256::from(10),
        },
        Withdrawal {
            id: U256::from(8),
            from: addr(USER),
            to: addr(USER),
            amount: U256::from(5000),
        },
    ];
    let leaves: Vec<B256> = ws
        .iter()
        .map(|w| merkle::withdrawal_leaf(w.id, w.from, w.to, w.amount))
        .collect();
    let h = env
        .next_header(1, b"w", merkle::withdrawals_root(&leaves))
        .await;
    env.commit(&h, b"w").await;
    mined(env.rollup(&env.seq).finalizeBatchUnproven(1)).await;
    let b = env.bridge(&env.user);
    for (i, w) in ws.iter().enumerate() {
        let p = merkle::withdrawal_proof(&leaves, i).unwrap();
        let e: BridgeErrors = reverts(b.claimWithdrawal(1, w.clone(), U256::from(i), p)).await;
        assert!(matches!(e, BridgeErrors::TransferFailed(_)), "{e:?}");
        assert!(!b.claimed(w.id).call().await.unwrap());
    }
    assert_eq!(
        env.seq.get_balance(env.dep.bridge).await.unwrap(),
        U256::from(1000)
    );
}
