//! Settlement without an L1: real blocks from a running sequencer go through the batch codec
//! and are re-executed by a second node, as a follower does with data read from L1.

use std::sync::Arc;

use alloy_consensus::{TxEnvelope, transaction::SignerRecoverable};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{B256, Bytes, TxKind, U256, keccak256};
use lanes_conflict::SequentialExecutor;
use lanes_sequencer::{
    builder::BlockBuilder,
    chain::ChainSpec,
    l1::{
        batch,
        batcher::collect_blocks,
        contracts::{BatchHeader, L2_WITHDRAWALS, withdrawal_leaf, withdrawals_root},
        derive::{DeriveError, check_batch},
    },
    node::Node,
    pool::PoolConfig,
};
use serde_json::json;

use crate::harness::{TestNode, dev_key, quantity, store_and_log_initcode};

fn header_for(data: &[u8], first: u64, last: u64, root: B256) -> BatchHeader {
    BatchHeader {
        stateCommitment: B256::ZERO,
        payloadHash: keccak256(data),
        index: 1,
        parentBatchHash: B256::ZERO,
        dataHash: keccak256(data),
        postStateRoot: root,
        firstBlock: first,
        lastBlock: last,
        withdrawalsRoot: B256::ZERO,
        depositCount: 0,
        depositHash: B256::ZERO,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_re_execute_to_the_same_blocks_and_reject_bad_data() {
    let dir = tempfile::tempdir().unwrap();
    let seq = TestNode::start(&dir.path().join("seq")).await;
    let alice = dev_key(1);
    let bob = dev_key(2);
    // Transfers, a contract deployment and calls, and a withdrawal to L1.
    let mut n = seq.nonce(alice.address()).await;
    for i in 0..20u64 {
        let raw = TestNode::sign(
            &alice,
            n,
            TxKind::Call(bob.address()),
            U256::from(1000 + i),
            Bytes::new(),
            21_000,
        );
        n += 1;
        seq.call("eth_sendRawTransaction", json!([raw])).await;
    }
    let deploy = TestNode::sign(
        &alice,
        n,
        TxKind::Create,
        U256::ZERO,
        store_and_log_initcode(),
        200_000,
    );
    let receipt = seq.send_sync(&deploy).await;
    let contract: alloy_primitives::Address = receipt["contractAddress"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let mut m = seq.nonce(bob.address()).await;
    for i in 1..6u64 {
        let raw = TestNode::sign(
            &bob,
            m,
            TxKind::Call(contract),
            U256::ZERO,
            B256::with_last_byte(i as u8).0.to_vec().into(),
            100_000,
        );
        m += 1;
        seq.send_sync(&raw).await;
    }
    let withdraw = lanes_sequencer::l1::contracts::IL2Withdrawals::withdrawCall {
        l1Recipient: alice.address(),
    };
    let raw = TestNode::sign(
        &bob,
        m,
        TxKind::Call(L2_WITHDRAWALS),
        U256::from(10u64.pow(18)),
        alloy_sol_types::SolCall::abi_encode(&withdraw).into(),
        100_000,
    );
    let r = seq.send_sync(&raw).await;
    assert_eq!(r["status"], "0x1", "{r}");
    let head = quantity(&seq.call("eth_blockNumber", json!([])).await);
    let head_block = seq
        .call(
            "eth_getBlockByNumber",
            json!([format!("0x{head:x}"), false]),
        )
        .await;

    let node = seq.running.as_ref().unwrap().node.clone();
    let collected = collect_blocks(&node, 1, head, usize::MAX).unwrap();
    let (blocks, withdrawals, txs) = (collected.blocks, collected.withdrawals, collected.tx_count);
    assert_eq!(collected.last_deposit, None);
    assert_eq!(txs, 27);
    assert_eq!(withdrawals.len(), 1);
    assert_eq!(withdrawals[0].to, alice.address());
    assert_ne!(
        withdrawals_root(&[withdrawal_leaf(&withdrawals[0].to_sol())]),
        B256::ZERO
    );
    // The batch's state diff, read from the sequencer's change sets.
    let diff = {
        let reader = node.store().reader().unwrap();
        lanes_sequencer::commitment::range_diff(&reader, head, 1, head).unwrap()
    };
    assert!(
        diff.len() >= 5,
        "senders, recipient, contract, its slots: {}",
        diff.len()
    );
    let data = batch::encode(&blocks, &diff).unwrap();
    println!(
        "batch of {txs} txs: {} bytes of RLP, {} bytes zstd ({:.2}x)",
        batch::rlp_len(&blocks),
        data.len(),
        batch::rlp_len(&blocks) as f64 / data.len() as f64
    );
    let root: B256 = head_block["stateRoot"].as_str().unwrap().parse().unwrap();
    let header = header_for(&data, 1, head, root);

    // A fresh node re-executes the batch.
    let chain = ChainSpec::dev(1337, lanes_sequencer::chain::DEFAULT_GAS_LIMIT).unwrap();
    let (follower, tries) =
        Node::open(chain, &dir.path().join("follower"), PoolConfig::default()).unwrap();
    let mut builder = BlockBuilder::new(
        follower.clone(),
        tries,
        Arc::new(SequentialExecutor),
        std::time::Duration::from_millis(50),
        alloy_primitives::Address::ZERO,
    );

    // Corrupt and truncated data are rejected before anything is executed.
    let mut corrupt = data.clone();
    let mid = corrupt.len() / 2;
    corrupt[mid] ^= 0x55;
    let e = check_batch(&header_for(&corrupt, 1, head, root), &corrupt, 0).unwrap_err();
    assert!(matches!(e, DeriveError::Halt { index: 1, .. }), "{e}");
    let cut = &data[..data.len() - 7];
    let e = check_batch(&header_for(cut, 1, head, root), cut, 0).unwrap_err();
    assert!(e.to_string().contains("bad batch data"), "{e}");
    let e = check_batch(&header, &corrupt, 0).unwrap_err();
    assert!(e.to_string().contains("hash mismatch"), "{e}");
    let e = check_batch(&header_for(&data, 1, head + 1, root), &data, 0).unwrap_err();
    assert!(e.to_string().contains("the commit says"), "{e}");
    assert_eq!(follower.head().number, 0);

    let decoded = check_batch(&header, &data, 0).unwrap();
    assert_eq!(decoded.diff, diff);
    for block in decoded.blocks {
        let txs = block
            .transactions
            .iter()
            .map(|raw| {
                let tx = TxEnvelope::decode_2718(&mut raw.as_ref()).unwrap();
                let from = tx.recover_signer().unwrap();
                alloy_consensus::transaction::Recovered::new_unchecked(tx, from)
            })
            .collect();
        builder
            .import_block(block.number, block.timestamp, txs)
            .unwrap();
    }
    let derived = follower.head();
    assert_eq!(derived.number, head);
    assert_eq!(derived.state_root, root);
    assert_eq!(
        format!("{:?}", derived.hash()),
        head_block["hash"].as_str().unwrap()
    );
    seq.stop().await;

    // Re-execution changes exactly what the batch's diff says, and the genesis commitment
    // advanced by the diff is the commitment of the follower's whole state, built from scratch.
    let reader = follower.store().reader().unwrap();
    let own = lanes_sequencer::commitment::range_diff(&reader, head, 1, head).unwrap();
    assert_eq!(own, diff);
    let genesis_diff = ChainSpec::dev(1337, lanes_sequencer::chain::DEFAULT_GAS_LIMIT)
        .unwrap()
        .genesis_diff();
    let mut tree = lanes_sequencer::commitment::genesis(&genesis_diff).unwrap();
    let before = tree.clone();
    lanes_sequencer::commitment::apply(&mut tree, &diff).unwrap();
    let scratch = lanes_sequencer::commitment::from_state(&reader).unwrap();
    assert_eq!(tree.root_b256(), scratch.root_b256());
    drop(reader);

    // The batch proves and verifies; tampering with the data, the diff or a public input
    // fails verification; an entry with a wrong old value cannot be proven.
    let entries = lanes_sequencer::commitment::diff_entries(&before, &diff);
    let mut state = before.clone();
    let witness =
        lanes_prover::BatchWitness::build(1, &mut state, data.clone(), entries.clone()).unwrap();
    assert_eq!(witness.new_root, tree.root_b256());
    let config = lanes_prover::ProverConfig {
        security: lanes_prover::Security::Fast,
        backend: lanes_prover::Backend::Cpu,
    };
    let proof = lanes_prover::prove(&witness, &config).unwrap();
    let pi = witness.public_inputs();
    lanes_prover::verify(&proof, &pi, &data, &entries).unwrap();
    let mut flipped = data.clone();
    flipped[data.len() / 3] ^= 1;
    assert!(lanes_prover::verify(&proof, &pi, &flipped, &entries).is_err());
    let mut other = entries.clone();
    other[0].new = None;
    assert!(lanes_prover::verify(&proof, &pi, &data, &other).is_err());
    let wrong_pi = lanes_prover::PublicInputs {
        new_commitment: pi.prev_commitment,
        ..pi
    };
    assert!(lanes_prover::verify(&proof, &wrong_pi, &data, &entries).is_err());
    let mut stale = entries.clone();
    stale[2].old = stale[2].new;
    let mut state = before.clone();
    match lanes_prover::BatchWitness::build(1, &mut state, data, stale) {
        Err(lanes_prover::CommitmentError::StaleOld { entry, .. }) => assert_eq!(entry, 2),
        other => panic!("an inconsistent diff was accepted: {:?}", other.map(|_| ())),
    }
}

/// L1 deposits put in the node's queue (as the batcher's L1 watcher does) become system
/// transactions at the start of the next block, in order; `L2Deposits` pays them out and the
/// batch header data (count and rolling hash) comes from their `DepositFinalized` events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_deposits_become_system_transactions_in_order() {
    use lanes_sequencer::{
        deposits::{L1Deposit, system_address},
        l1::contracts::{L2_DEPOSITS, deposit_hash},
    };
    let dir = tempfile::tempdir().unwrap();
    let seq = TestNode::start(&dir.path().join("seq")).await;
    let node = seq.running.as_ref().unwrap().node.clone();
    let from = alloy_primitives::Address::repeat_byte(0xa1);
    let to = alloy_primitives::Address::repeat_byte(0xd5);
    let mut prev = B256::ZERO;
    let mut total = U256::ZERO;
    let mut last_hash = B256::ZERO;
    for index in 0..3u64 {
        let value = U256::from(10u64.pow(15) * (index + 1));
        last_hash = deposit_hash(prev, index, from, to, value);
        assert!(node.deposits().push(L1Deposit {
            index,
            from,
            to,
            value,
            deposit_hash: last_hash,
            l1_block: 1,
        }));
        prev = last_hash;
        total += value;
        // A deposit that does not follow the last queued one is refused.
        assert!(!node.deposits().push(L1Deposit {
            index: index + 2,
            from,
            to,
            value,
            deposit_hash: last_hash,
            l1_block: 1,
        }));
    }
    let mut balance = U256::ZERO;
    for _ in 0..200 {
        let b = seq.call("eth_getBalance", json!([to, "latest"])).await;
        balance = b.as_str().unwrap().parse().unwrap();
        if balance == total {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(balance, total, "the three deposits were paid out");

    let head = quantity(&seq.call("eth_blockNumber", json!([])).await);
    let collected = collect_blocks(&node, 1, head, usize::MAX).unwrap();
    assert_eq!(collected.last_deposit, Some((2, last_hash)));
    // Three system transactions from the deposit account, nonces 0..3, to L2Deposits.
    let mut seen = 0;
    for block in &collected.blocks {
        for raw in &block.transactions {
            let tx = TxEnvelope::decode_2718(&mut raw.as_ref()).unwrap();
            assert_eq!(tx.recover_signer().unwrap(), system_address());
            assert_eq!(alloy_consensus::Transaction::nonce(&tx), seen);
            assert_eq!(alloy_consensus::Transaction::to(&tx), Some(L2_DEPOSITS));
            let receipt = seq
                .call("eth_getTransactionReceipt", json!([tx.tx_hash()]))
                .await;
            assert_eq!(receipt["status"], json!("0x1"));
            seen += 1;
        }
    }
    assert_eq!(seen, 3);
    // The queue drains once L2 has them.
    for _ in 0..100 {
        node.deposits().pending_from(3, 1);
        if node.deposits().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(node.deposits().is_empty());
    seq.stop().await;
}
