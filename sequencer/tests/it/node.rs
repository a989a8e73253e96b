//! End-to-end behaviour of one node: transfers, contracts, logs, history, restart.

use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use serde_json::json;

use crate::harness::{TestNode, dev_key, quantity, store_and_log_initcode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_contract_logs_history_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let node = TestNode::start(dir.path()).await;
    let alice = dev_key(0);
    let bob = dev_key(1).address();

    assert_eq!(node.call("eth_chainId", json!([])).await, json!("0x539"));
    let accounts = node.call("eth_accounts", json!([])).await;
    assert_eq!(accounts.as_array().unwrap().len(), 10);

    // A transfer, acknowledged with its receipt.
    let raw = TestNode::sign(
        &alice,
        0,
        TxKind::Call(bob),
        U256::from(10u64.pow(18)),
        Bytes::new(),
        21_000,
    );
    let receipt = node.send_sync(&raw).await;
    assert_eq!(receipt["status"], json!("0x1"));
    assert_eq!(quantity(&receipt["gasUsed"]), 21_000);
    let first_block = quantity(&receipt["blockNumber"]);
    let balance = node.call("eth_getBalance", json!([bob, "latest"])).await;
    let bob_balance =
        U256::from_str_radix(balance.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    assert_eq!(
        bob_balance,
        U256::from(10_001u64) * U256::from(10u64.pow(18))
    );

    // State as of genesis is still served (change sets).
    let genesis_balance = node.call("eth_getBalance", json!([bob, "0x0"])).await;
    let genesis_balance = U256::from_str_radix(
        genesis_balance.as_str().unwrap().trim_start_matches("0x"),
        16,
    )
    .unwrap();
    assert_eq!(
        genesis_balance,
        U256::from(10_000u64) * U256::from(10u64.pow(18))
    );

    // Deploy the store-and-log contract and call it.
    let deploy = TestNode::sign(
        &alice,
        1,
        TxKind::Create,
        U256::ZERO,
        store_and_log_initcode(),
        200_000,
    );
    let receipt = node.send_sync(&deploy).await;
    assert_eq!(receipt["status"], json!("0x1"), "{receipt}");
    let contract: Address = serde_json::from_value(receipt["contractAddress"].clone()).unwrap();
    assert_eq!(contract, alice.address().create(1));
    let code = node.call("eth_getCode", json!([contract, "latest"])).await;
    assert_eq!(
        code,
        json!(format!("0x{}", crate::harness::STORE_AND_LOG_RUNTIME))
    );

    let word = B256::with_last_byte(42);
    let invoke = TestNode::sign(
        &alice,
        2,
        TxKind::Call(contract),
        U256::ZERO,
        Bytes::from(word.to_vec()),
        100_000,
    );
    let receipt = node.send_sync(&invoke).await;
    assert_eq!(receipt["status"], json!("0x1"));
    let logs = receipt["logs"].as_array().unwrap();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0]["data"], json!(word));
    assert_eq!(logs[0]["topics"][0], json!(B256::with_last_byte(0xaa)));
    let slot = node
        .call("eth_getStorageAt", json!([contract, "0x0", "latest"]))
        .await;
    assert_eq!(slot, json!(word));
    let found = node
        .call(
            "eth_getLogs",
            json!([{ "fromBlock": "0x0", "toBlock": "latest", "address": contract }]),
        )
        .await;
    assert_eq!(found.as_array().unwrap().len(), 1);

    // eth_call returns the word; a call without data reverts with code 3.
    let out = node
        .call(
            "eth_call",
            json!([{ "to": contract, "data": word }, "latest"]),
        )
        .await;
    assert_eq!(out, json!(word));
    let err = node
        .error("eth_call", json!([{ "to": contract }, "latest"]))
        .await;
    assert_eq!(err["code"], json!(3), "{err}");
    let gas = node
        .call(
            "eth_estimateGas",
            json!([{ "from": alice.address(), "to": contract, "data": word }]),
        )
        .await;
    assert!(quantity(&gas) > 21_000);

    // Pool errors are geth's.
    let err = node.error("eth_sendRawTransaction", json!([raw])).await;
    assert!(
        err["message"].as_str().unwrap().contains("nonce too low"),
        "{err}"
    );
    let err = node
        .error("eth_sendRawTransaction", json!(["0xdeadbeef"]))
        .await;
    assert!(err["code"].as_i64().unwrap() < 0, "{err}");
    let err = node.error("eth_unknownMethod", json!([])).await;
    assert_eq!(err["code"], json!(-32601));

    // Restart on the same data dir: same head, same block, same receipt, state root verified.
    let head = node
        .call("eth_getBlockByNumber", json!(["latest", false]))
        .await;
    let tx_hash = receipt["transactionHash"].clone();
    node.stop().await;
    let node = TestNode::start(dir.path()).await;
    let again = node
        .call("eth_getBlockByNumber", json!(["latest", false]))
        .await;
    assert_eq!(again["hash"], head["hash"]);
    assert_eq!(again["stateRoot"], head["stateRoot"]);
    let receipt_again = node
        .call("eth_getTransactionReceipt", json!([tx_hash]))
        .await;
    assert_eq!(receipt_again, receipt);
    assert!(first_block >= 1);
    // The chain continues after the restart.
    let raw = TestNode::sign(
        &alice,
        3,
        TxKind::Call(bob),
        U256::from(1),
        Bytes::new(),
        21_000,
    );
    let r = node.send_sync(&raw).await;
    assert_eq!(quantity(&r["blockNumber"]), quantity(&head["number"]) + 1);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_senders_many_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let node = TestNode::start(dir.path()).await;
    let bob = Address::repeat_byte(0x0b);
    let mut sent = Vec::new();
    for account in 0..5 {
        let key = dev_key(account);
        for nonce in 0..20 {
            let raw = TestNode::sign(
                &key,
                nonce,
                TxKind::Call(bob),
                U256::from(1),
                Bytes::new(),
                21_000,
            );
            let hash = node.call("eth_sendRawTransaction", json!([raw])).await;
            sent.push(hash);
        }
    }
    // Wait until all are mined.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let status = node.call("txpool_status", json!([])).await;
        if status["pending"] == json!("0x0") && status["queued"] == json!("0x0") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "pool did not drain: {status}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for hash in &sent {
        let r = node.call("eth_getTransactionReceipt", json!([hash])).await;
        assert_eq!(r["status"], json!("0x1"), "{r}");
    }
    let balance = node.call("eth_getBalance", json!([bob, "latest"])).await;
    assert_eq!(balance, json!("0x64"));
    for account in 0..5 {
        assert_eq!(node.nonce(dev_key(account).address()).await, 20);
    }
    node.stop().await;
}

/// `lanes node --genesis FILE` with a geth-style genesis: chain id, gas limit, base fee and
/// allocations with code and storage are what the node serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn geth_style_genesis_file() {
    let dir = tempfile::tempdir().unwrap();
    let genesis = dir.path().join("genesis.json");
    let funded = dev_key(3).address();
    let contract = Address::repeat_byte(0xcc);
    std::fs::write(
        &genesis,
        serde_json::to_vec(&json!({
            "config": { "chainId": 4242, "cancunTime": 0, "shanghaiTime": 0, "londonBlock": 0 },
            "nonce": "0x0",
            "timestamp": "0x6553f100",
            "gasLimit": "0x1c9c380",
            "difficulty": "0x0",
            "baseFeePerGas": "0x3b9aca00",
            "alloc": {
                funded.to_string(): { "balance": "0xde0b6b3a7640000" },
                contract.to_string(): {
                    "balance": "0x0",
                    "code": "0x602a60005260206000f3",
                    "storage": { "0x01": "0x07" }
                }
            }
        }))
        .unwrap(),
    )
    .unwrap();
    let mut cfg = crate::harness::config(&dir.path().join("data"), 50);
    cfg.dev = false;
    cfg.genesis = Some(genesis);
    let running = lanes_sequencer::launch::start_node(&cfg)
        .await
        .expect("node starts from genesis file");
    let node = TestNode::attach(running);
    assert_eq!(node.call("eth_chainId", json!([])).await, json!("0x1092"));
    assert_eq!(
        node.call("eth_getBalance", json!([funded, "latest"])).await,
        json!("0xde0b6b3a7640000")
    );
    assert_eq!(
        node.call("eth_getStorageAt", json!([contract, "0x1", "latest"]))
            .await,
        json!(B256::with_last_byte(7))
    );
    assert_eq!(
        node.call("eth_call", json!([{ "to": contract }, "latest"]))
            .await,
        json!(B256::with_last_byte(42))
    );
    assert_eq!(node.call("eth_accounts", json!([])).await, json!([]));
    let genesis_block = node
        .call("eth_getBlockByNumber", json!(["0x0", false]))
        .await;
    assert_eq!(genesis_block["gasLimit"], json!("0x1c9c380"));
    assert_eq!(genesis_block["timestamp"], json!("0x6553f100"));
    // A transfer signed for chain 4242 lands.
    let key = dev_key(3);
    let mut tx = alloy_consensus::TxEip1559 {
        chain_id: 4242,
        nonce: 0,
        // The call runs the contract's code: more than the intrinsic 21,000.
        gas_limit: 60_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1,
        to: TxKind::Call(contract),
        value: U256::from(1),
        access_list: Default::default(),
        input: Bytes::new(),
    };
    use alloy_consensus::SignableTransaction;
    use alloy_eips::eip2718::Encodable2718;
    use alloy_network::TxSignerSync;
    let sig = key.sign_transaction_sync(&mut tx).unwrap();
    let raw: Bytes = alloy_consensus::TxEnvelope::from(tx.into_signed(sig))
        .encoded_2718()
        .into();
    let receipt = node.send_sync(&raw).await;
    assert_eq!(receipt["status"], json!("0x1"));
    node.stop().await;
}
