//! The real node's responses conform to the execution-apis OpenRPC schemas
//! (`../shared/execution-apis`), for every method with a result schema that we call here.

use alloy_primitives::{B256, Bytes, TxKind, U256};
use lanes_rpc::schema_check::{OpenRpcSpec, SchemaViolations};
use serde_json::json;

use crate::harness::{TestNode, dev_key, store_and_log_initcode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_node_matches_execution_apis_schemas() {
    let spec = OpenRpcSpec::load_default()
        .unwrap_or_else(|e| panic!("the conformance test needs ../shared/execution-apis: {e}"));
    let dir = tempfile::tempdir().unwrap();
    let node = TestNode::start(dir.path()).await;
    let alice = dev_key(0);
    let bob = dev_key(1).address();

    let log_filter = node
        .call("eth_newFilter", json!([{ "fromBlock": "0x0" }]))
        .await;
    let block_filter = node.call("eth_newBlockFilter", json!([])).await;
    let tx_filter = node
        .call("eth_newPendingTransactionFilter", json!([]))
        .await;

    let transfer = node
        .send_sync(&TestNode::sign(
            &alice,
            0,
            TxKind::Call(bob),
            U256::from(5),
            Bytes::new(),
            21_000,
        ))
        .await;
    let deploy = node
        .send_sync(&TestNode::sign(
            &alice,
            1,
            TxKind::Create,
            U256::ZERO,
            store_and_log_initcode(),
            200_000,
        ))
        .await;
    let contract = deploy["contractAddress"].clone();
    let word = B256::with_last_byte(7);
    let invoke = node
        .send_sync(&TestNode::sign(
            &alice,
            2,
            TxKind::Call(serde_json::from_value(contract.clone()).unwrap()),
            U256::ZERO,
            Bytes::from(word.to_vec()),
            100_000,
        ))
        .await;
    let reverted = node
        .send_sync(&TestNode::sign(
            &alice,
            3,
            TxKind::Call(serde_json::from_value(contract.clone()).unwrap()),
            U256::ZERO,
            Bytes::new(),
            100_000,
        ))
        .await;
    assert_eq!(reverted["status"], json!("0x0"));
    let queued = TestNode::sign(
        &alice,
        9,
        TxKind::Call(bob),
        U256::from(1),
        Bytes::new(),
        21_000,
    );
    let pending_raw = TestNode::sign(
        &dev_key(2),
        0,
        TxKind::Call(bob),
        U256::from(1),
        Bytes::new(),
        21_000,
    );
    let b1 = transfer["blockHash"].clone();
    let tx1 = transfer["transactionHash"].clone();

    let cases = vec![
        ("web3_clientVersion", json!([])),
        ("net_version", json!([])),
        ("eth_chainId", json!([])),
        ("eth_syncing", json!([])),
        ("eth_accounts", json!([])),
        ("eth_blockNumber", json!([])),
        ("eth_getBalance", json!([bob, "latest"])),
        ("eth_getBalance", json!([bob, "0x0"])),
        ("eth_getStorageAt", json!([contract, "0x0", "latest"])),
        (
            "eth_getTransactionCount",
            json!([alice.address(), "pending"]),
        ),
        ("eth_getCode", json!([contract, "latest"])),
        (
            "eth_call",
            json!([{ "to": contract, "data": word }, "latest"]),
        ),
        (
            "eth_estimateGas",
            json!([{ "from": alice.address(), "to": bob, "value": "0x1" }]),
        ),
        ("eth_gasPrice", json!([])),
        ("eth_maxPriorityFeePerGas", json!([])),
        ("eth_feeHistory", json!(["0x400", "pending", [10, 50, 90]])),
        ("eth_feeHistory", json!(["0x2", "latest", []])),
        ("eth_sendRawTransaction", json!([queued])),
        ("eth_sendRawTransaction", json!([pending_raw])),
        ("eth_getTransactionByHash", json!([tx1])),
        ("eth_getTransactionByBlockHashAndIndex", json!([b1, "0x0"])),
        (
            "eth_getTransactionByBlockNumberAndIndex",
            json!([transfer["blockNumber"], "0x0"]),
        ),
        ("eth_getTransactionReceipt", json!([tx1])),
        (
            "eth_getTransactionReceipt",
            json!([deploy["transactionHash"]]),
        ),
        (
            "eth_getTransactionReceipt",
            json!([invoke["transactionHash"]]),
        ),
        (
            "eth_getTransactionReceipt",
            json!([reverted["transactionHash"]]),
        ),
        ("eth_getBlockByHash", json!([b1, true])),
        ("eth_getBlockByNumber", json!(["latest", false])),
        ("eth_getBlockByNumber", json!(["earliest", true])),
        ("eth_getBlockTransactionCountByHash", json!([b1])),
        ("eth_getBlockTransactionCountByNumber", json!(["latest"])),
        ("eth_getBlockReceipts", json!([invoke["blockNumber"]])),
        (
            "eth_getLogs",
            json!([{ "fromBlock": "0x0", "toBlock": "latest" }]),
        ),
        ("eth_getFilterChanges", json!([log_filter])),
        ("eth_getFilterChanges", json!([block_filter])),
        ("eth_getFilterChanges", json!([tx_filter])),
        ("eth_getFilterLogs", json!([log_filter])),
        ("eth_uninstallFilter", json!([block_filter])),
        ("txpool_status", json!([])),
        ("txpool_content", json!([])),
    ];
    let (mut passed, mut failures, mut skipped) = (0, Vec::new(), 0);
    for (method, params) in cases {
        if spec.method(method).is_none() {
            skipped += 1;
            continue;
        }
        let response = node.request(method, params.clone()).await;
        match spec.validate_response(method, &response.to_string()) {
            Ok(()) => passed += 1,
            Err(SchemaViolations::Invalid(v)) => failures.push(format!(
                "{method}({params}):\n    got: {response}\n    {}",
                v.join("\n    ")
            )),
            Err(SchemaViolations::Spec(e)) => failures.push(format!("{method}: {e}")),
        }
    }
    println!(
        "{passed} passed, {} failed, {skipped} skipped",
        failures.len()
    );
    for f in &failures {
        println!("FAIL {f}");
    }
    node.stop().await;
    assert!(
        failures.is_empty(),
        "{} responses violate the execution-apis schemas",
        failures.len()
    );
}
