//! JSON-RPC error codes and messages that clients key on.

use alloy_primitives::{Address, B256, Bytes};
use alloy_sol_types::{Revert, SolError};
use lanes_rpc::EthConfig;
use serde_json::{Value, json};

use crate::{
    Rpc,
    fixture::{self, BROKEN, CUSTOM_REVERTER, HALTER, REVERTER, TOKEN, alice, bob, eip1559, sign},
};

fn code(error: &Value) -> i64 {
    error["code"].as_i64().unwrap()
}

#[tokio::test]
async fn unknown_methods_are_32601() {
    let rpc = Rpc::new();
    for method in [
        "eth_foo",
        "debug_traceTransaction",
        "engine_newPayloadV4",
        "",
        "eth_",
    ] {
        let err = rpc.error(method, json!([])).await;
        assert_eq!(code(&err), -32601, "{method}: {err}");
    }
}

#[tokio::test]
async fn bad_params_are_32602() {
    let rpc = Rpc::new();
    let alice = alice().address();
    let cases = [
        ("eth_getBalance", json!(["not an address"])),
        ("eth_getBalance", json!([])),
        ("eth_getBalance", json!([alice, "latestt"])),
        ("eth_getBlockByNumber", json!(["latest"])),
        ("eth_getBlockByHash", json!([123, false])),
        ("eth_getTransactionByHash", json!(["0x1234"])),
        (
            "eth_getStorageAt",
            json!([TOKEN, format!("0x{}", "1".repeat(65))]),
        ),
        ("eth_call", json!([{ "to": "0x12" }])),
        (
            "eth_call",
            json!([{ "to": TOKEN }, "latest", { (TOKEN.to_string()): { "balance": "0x1" } }]),
        ),
        ("eth_feeHistory", json!(["0x1", "latest", [90, 10]])),
        ("eth_feeHistory", json!(["-1", "latest"])),
        (
            "eth_getLogs",
            json!([{ "fromBlock": "0x2", "toBlock": "0x1" }]),
        ),
        (
            "eth_getLogs",
            json!([{ "fromBlock": "0x1", "blockHash": B256::ZERO }]),
        ),
        ("eth_newFilter", json!([{ "address": "nope" }])),
        ("eth_sendRawTransaction", json!(["0xzz"])),
        ("eth_sendRawTransactionSync", json!(["0x00", "soon"])),
        ("eth_getFilterChanges", json!([{}])),
        ("eth_subscribe", json!(["newHeads", { "address": TOKEN }])),
        ("eth_subscribe", json!(["fooBar"])),
        ("eth_subscribe", json!(["syncing"])),
    ];
    for (method, params) in cases {
        let err = rpc.error(method, params.clone()).await;
        assert_eq!(code(&err), -32602, "{method}({params}): {err}");
    }
}

#[tokio::test]
async fn reverts_are_code_3_with_data() {
    let rpc = Rpc::new();
    let reason = Bytes::from(Revert::from("not allowed").abi_encode());
    for method in ["eth_call", "eth_estimateGas"] {
        let err = rpc.error(method, json!([{ "to": REVERTER }])).await;
        assert_eq!(code(&err), 3, "{method}");
        assert_eq!(err["message"], "execution reverted: not allowed");
        assert_eq!(err["data"], json!(reason));

        let err = rpc.error(method, json!([{ "to": CUSTOM_REVERTER }])).await;
        assert_eq!(code(&err), 3);
        assert_eq!(err["message"], "execution reverted");
        assert_eq!(err["data"], "0xdeadbeef");

        let err = rpc.error(method, json!([{ "to": HALTER }])).await;
        assert_eq!(code(&err), -32000);
        assert_eq!(err["message"], "invalid opcode: INVALID");
    }
}

#[tokio::test]
async fn backend_errors_map_to_codes() {
    let rpc = Rpc::new();
    // Pool rejections pass through verbatim.
    let stale = sign(&bob(), eip1559(0, Address::ZERO));
    let err = rpc
        .error("eth_sendRawTransaction", json!([fixture::raw(&stale)]))
        .await;
    assert_eq!(code(&err), -32000);
    assert_eq!(err["message"], "nonce too low: next nonce 2, tx nonce 0");
    let err = rpc.error("eth_sendRawTransaction", json!(["0x02c0"])).await;
    assert_eq!(code(&err), -32000);
    assert!(
        err["message"].as_str().unwrap().starts_with("rlp: "),
        "{err}"
    );

    let err = rpc
        .error("eth_getStorageAt", json!([TOKEN, "0x0", "earliest"]))
        .await;
    assert_eq!(code(&err), -32000);
    assert_eq!(
        err["message"],
        "state for block 0 is not available (available: 1..=2)"
    );

    let err = rpc.error("eth_getBalance", json!([BROKEN])).await;
    assert_eq!(code(&err), -32603);
    assert_eq!(err["message"], "internal error: disk on fire");
}

#[tokio::test]
async fn oversized_transactions_are_refused_before_the_backend() {
    let rpc = Rpc::new();
    let raw = Bytes::from(vec![0u8; 128 * 1024 + 1]);
    let err = rpc.error("eth_sendRawTransaction", json!([raw])).await;
    assert_eq!(code(&err), -32000);
    assert_eq!(
        err["message"],
        "oversized data: transaction size 131073, limit 131072"
    );
}

#[tokio::test]
async fn log_queries_are_bounded() {
    let config = EthConfig {
        max_blocks_per_logs_query: 2,
        max_logs_per_response: 1,
        ..EthConfig::default()
    };
    let rpc = Rpc::with_config(&config);
    let err = rpc
        .error(
            "eth_getLogs",
            json!([{ "fromBlock": "0x0", "toBlock": "0x2" }]),
        )
        .await;
    assert_eq!(code(&err), -32005);
    assert_eq!(
        err["message"],
        "query exceeds max block range 2: requested 3 blocks"
    );

    // Blocks 1 and 2 hold one log each: two logs over a limit of one.
    let err = rpc
        .error(
            "eth_getLogs",
            json!([{ "fromBlock": "0x1", "toBlock": "0x2" }]),
        )
        .await;
    assert_eq!(code(&err), -32005);
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .starts_with("query exceeds max results 1"),
        "{err}"
    );
    // The hint is usable: this range fits.
    let logs = rpc
        .result(
            "eth_getLogs",
            json!([{ "fromBlock": "0x1", "toBlock": "0x1" }]),
        )
        .await;
    assert_eq!(logs.as_array().unwrap().len(), 1);

    // A range starting above the head is empty, not an error (pollers ask for the next block).
    assert_eq!(
        rpc.result("eth_getLogs", json!([{ "fromBlock": "0x9" }]))
            .await,
        json!([])
    );
    let err = rpc
        .error("eth_getLogs", json!([{ "blockHash": B256::ZERO }]))
        .await;
    assert_eq!(
        (code(&err), err["message"].as_str()),
        (-32000, Some("unknown block"))
    );
}
