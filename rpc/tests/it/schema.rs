//! Conformance with the execution-apis OpenRPC spec: every spec method we serve is called on the
//! fixture and its result validated against the method's result schema; every example of the
//! spec must have its params accepted.

use std::collections::BTreeSet;

use alloy_primitives::Address;
use lanes_rpc::schema_check::{OpenRpcSpec, SchemaViolations};
use serde_json::{Value, json};

use crate::{
    Rpc,
    fixture::{self, TOKEN, alice, bob, eip1559, sign, transfer_log},
    hex,
};

/// Spec methods this node does not serve, and why. Keep it short and shrinking.
const NOT_SERVED: &[(&str, &str)] = &[
    ("debug_", "no debug namespace yet"),
    (
        "engine_",
        "no consensus client: the sequencer builds its own blocks",
    ),
    ("testing_", "test-fixture builder of other clients"),
    ("eth_blobBaseFee", "the chain takes no blob transactions"),
    ("eth_capabilities", "not yet"),
    (
        "eth_coinbase",
        "no etherbase: blocks are built by the sequencer",
    ),
    ("eth_config", "EIP-7910 fork config: not yet"),
    (
        "eth_createAccessList",
        "needs access-list tracing from the backend",
    ),
    ("eth_fillTransaction", "the node signs nothing"),
    ("eth_getBlockAccessList", "EIP-7928 is not active"),
    ("eth_getProof", "needs Merkle proofs from the backend"),
    ("eth_getStorageValues", "not yet"),
    ("eth_sendTransaction", "the node holds no keys"),
    ("eth_sign", "the node holds no keys"),
    ("eth_signTransaction", "the node holds no keys"),
    (
        "eth_simulateV1",
        "needs multi-block simulation from the backend",
    ),
];

fn skip_reason(method: &str) -> Option<&'static str> {
    NOT_SERVED
        .iter()
        .find(|(name, _)| {
            if name.ends_with('_') {
                method.starts_with(name)
            } else {
                method == *name
            }
        })
        .map(|(_, reason)| *reason)
}

fn load_spec() -> OpenRpcSpec {
    OpenRpcSpec::load_default().unwrap_or_else(|err| {
        panic!("conformance test needs the spec: {err}; the project keeps it in ../shared")
    })
}

/// Calls on the fixture whose results must match the spec, several per method to cover
/// variants (null results, hydrated blocks, each transaction type).
async fn cases(rpc: &Rpc) -> Vec<(&'static str, Value)> {
    let f = &rpc.fixture;
    let (alice, bob) = (alice().address(), bob().address());
    let (b1, b2) = (f.block_hash(1), f.block_hash(2));
    let (legacy, eip1559_tx, eip2930, reverted) = (
        f.tx_hash(1, 0),
        f.tx_hash(1, 1),
        f.tx_hash(2, 0),
        f.tx_hash(2, 1),
    );

    // Filters that will have seen something by the time they are polled.
    let log_filter = rpc
        .result("eth_newFilter", json!([{ "address": TOKEN }]))
        .await;
    let block_filter = rpc.result("eth_newBlockFilter", json!([])).await;
    let tx_filter = rpc
        .result("eth_newPendingTransactionFilter", json!([]))
        .await;
    let new_tx = sign(&fixture::alice(), eip1559(7, Address::repeat_byte(9)));
    f.announce_pending(*new_tx.tx_hash());
    let log = transfer_log(TOKEN, alice, bob, 9);
    f.mine(vec![(new_tx, true, 30_000, vec![log])]);
    let raw = fixture::raw(&sign(&fixture::bob(), eip1559(9, alice)));

    vec![
        ("eth_chainId", json!([])),
        ("eth_syncing", json!([])),
        ("eth_accounts", json!([])),
        ("eth_blockNumber", json!([])),
        ("net_version", json!([])),
        ("eth_getBalance", json!([alice, "latest"])),
        ("eth_getBalance", json!([bob, { "blockHash": b1 }])),
        ("eth_getBalance", json!([Address::ZERO])),
        ("eth_getStorageAt", json!([TOKEN, "0x0", "latest"])),
        ("eth_getTransactionCount", json!([alice, "pending"])),
        ("eth_getTransactionCount", json!([alice, "earliest"])),
        ("eth_getCode", json!([TOKEN, "latest"])),
        ("eth_getCode", json!([alice])),
        (
            "eth_call",
            json!([{ "to": TOKEN, "data": "0x70a08231" }, "latest"]),
        ),
        (
            "eth_estimateGas",
            json!([{ "from": alice, "to": bob, "value": "0x1" }]),
        ),
        (
            "eth_estimateGas",
            json!([{ "from": alice, "to": TOKEN, "data": "0x01" }, "latest"]),
        ),
        ("eth_gasPrice", json!([])),
        ("eth_maxPriorityFeePerGas", json!([])),
        ("eth_baseFee", json!([])),
        ("eth_feeHistory", json!(["0x3", "latest", [20, 30]])),
        ("eth_feeHistory", json!(["0x400", "pending", []])),
        ("eth_feeHistory", json!([1, "0x1"])),
        ("eth_sendRawTransaction", json!([raw])),
        ("eth_getTransactionByHash", json!([legacy])),
        ("eth_getTransactionByHash", json!([eip1559_tx])),
        ("eth_getTransactionByHash", json!([eip2930])),
        ("eth_getTransactionByHash", json!([b1])),
        ("eth_getTransactionByBlockHashAndIndex", json!([b1, "0x1"])),
        ("eth_getTransactionByBlockHashAndIndex", json!([b1, "0x9"])),
        (
            "eth_getTransactionByBlockNumberAndIndex",
            json!(["0x2", "0x0"]),
        ),
        ("eth_getTransactionReceipt", json!([legacy])),
        ("eth_getTransactionReceipt", json!([eip1559_tx])),
        ("eth_getTransactionReceipt", json!([eip2930])),
        ("eth_getTransactionReceipt", json!([reverted])),
        ("eth_getTransactionReceipt", json!([b2])),
        ("eth_getBlockByHash", json!([b1, false])),
        ("eth_getBlockByHash", json!([b2, true])),
        ("eth_getBlockByNumber", json!(["latest", true])),
        ("eth_getBlockByNumber", json!(["earliest", false])),
        ("eth_getBlockByNumber", json!([hex(99), false])),
        ("eth_getBlockTransactionCountByHash", json!([b1])),
        ("eth_getBlockTransactionCountByNumber", json!(["0x2"])),
        ("eth_getBlockTransactionCountByNumber", json!([hex(99)])),
        ("eth_getBlockReceipts", json!(["0x1"])),
        ("eth_getBlockReceipts", json!([b2])),
        ("eth_getBlockReceipts", json!(["latest"])),
        (
            "eth_getLogs",
            json!([{ "fromBlock": "0x0", "toBlock": "latest" }]),
        ),
        (
            "eth_getLogs",
            json!([{ "blockHash": b1, "address": TOKEN }]),
        ),
        (
            "eth_newFilter",
            json!([{ "fromBlock": "0x1", "topics": [fixture::TRANSFER_TOPIC] }]),
        ),
        ("eth_newBlockFilter", json!([])),
        ("eth_newPendingTransactionFilter", json!([])),
        ("eth_getFilterChanges", json!([log_filter])),
        ("eth_getFilterChanges", json!([block_filter])),
        ("eth_getFilterChanges", json!([tx_filter])),
        ("eth_getFilterLogs", json!([log_filter])),
        ("eth_uninstallFilter", json!([block_filter])),
        ("eth_uninstallFilter", json!([block_filter])),
        ("txpool_status", json!([])),
        ("txpool_content", json!([])),
        ("txpool_contentFrom", json!([alice])),
    ]
}

#[tokio::test]
async fn results_match_execution_apis_schemas() {
    let spec = load_spec();
    let rpc = Rpc::new();
    let served: BTreeSet<&str> = rpc.module.method_names().collect();
    let cases = cases(&rpc).await;

    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    let covered: BTreeSet<&str> = cases.iter().map(|(method, _)| *method).collect();
    for method in spec.method_names() {
        match (served.contains(method), skip_reason(method)) {
            (true, _) if !covered.contains(method) => {
                failures.push(format!("{method}: served but has no conformance case"));
            }
            (true, Some(reason)) => {
                failures.push(format!(
                    "{method}: served but listed as not served ({reason})"
                ));
            }
            (true, None) => {}
            (false, Some(_)) => skipped.push(method),
            (false, None) => failures.push(format!(
                "{method}: in the spec but neither served nor in NOT_SERVED with a reason"
            )),
        }
    }

    // A pooled transaction: the spec's eth_getTransactionByHash schema knows only mined ones;
    // geth and we answer with null block fields, the txpool spec's `PendingTransactionInfo`.
    let mut passed = 0;
    let pooled = rpc
        .result(
            "eth_getTransactionByHash",
            json!([rpc.fixture.pending_hash()]),
        )
        .await;
    match spec.validate_against("PendingTransactionInfo", &pooled) {
        Ok(()) => passed += 1,
        Err(err) => failures.push(format!(
            "eth_getTransactionByHash(pooled):\n    got: {pooled}\n    {err}"
        )),
    }

    for (method, params) in &cases {
        let response = rpc.request(method, params.clone()).await;
        match spec.validate_response(method, &response.to_string()) {
            Ok(()) => passed += 1,
            Err(SchemaViolations::Invalid(violations)) => failures.push(format!(
                "{method}({params}):\n    got: {}\n    violations: {}",
                response,
                violations.join("\n      ")
            )),
            Err(SchemaViolations::Spec(err)) => failures.push(format!("{method}: {err}")),
        }
    }

    println!(
        "{passed} passed, {} failed, {} skipped",
        failures.len(),
        skipped.len()
    );
    for failure in &failures {
        println!("FAIL {failure}");
    }
    assert!(
        failures.is_empty(),
        "{} conformance failures (see output)",
        failures.len()
    );
}

#[tokio::test]
async fn spec_example_params_are_accepted() {
    let spec = load_spec();
    let rpc = Rpc::new();
    let served: Vec<&str> = rpc.module.method_names().collect();
    let mut checked = 0;
    let mut failures = Vec::new();
    for method in spec.method_names().filter(|m| served.contains(m)) {
        for example in &spec.method(method).unwrap().examples {
            let response = rpc
                .request(method, Value::Array(example.params.clone()))
                .await;
            checked += 1;
            if let Some(error) = response.get("error")
                && error["code"] == -32602
            {
                failures.push(format!("{method} example {:?}: {error}", example.name));
            }
            // A successful answer to the spec's own example must match the schema too.
            if response.get("result").is_some()
                && let Err(err) = spec.validate_response(method, &response.to_string())
            {
                failures.push(format!("{method} example {:?}: {err}", example.name));
            }
        }
    }
    println!(
        "{} passed, {} failed, 0 skipped",
        checked - failures.len(),
        failures.len()
    );
    for failure in &failures {
        println!("FAIL {failure}");
    }
    assert!(checked > 30, "only {checked} examples found");
    assert!(failures.is_empty(), "{} examples rejected", failures.len());
}

/// The validator must be able to fail: a wrong-typed result is reported.
#[test]
fn validator_rejects_bad_results() {
    let spec = load_spec();
    assert!(spec.validate_result("eth_chainId", &json!("0x1")).is_ok());
    assert!(spec.validate_result("eth_chainId", &json!(1)).is_err());
    assert!(spec.validate_result("eth_chainId", &json!("0x01")).is_err());
    let receipt_without_from = json!({ "blockHash": "0x00" });
    assert!(
        spec.validate_result("eth_getTransactionReceipt", &receipt_without_from)
            .is_err()
    );
    assert!(
        spec.validate_result("eth_getTransactionReceipt", &Value::Null)
            .is_ok()
    );
    assert!(matches!(
        spec.validate_result("eth_noSuchMethod", &Value::Null),
        Err(SchemaViolations::Spec(_))
    ));
}

#[test]
fn missing_spec_is_a_clear_error() {
    let err = OpenRpcSpec::load(std::path::Path::new("/nonexistent/execution-apis")).unwrap_err();
    assert!(
        err.to_string().contains("execution-apis spec not found"),
        "{err}"
    );
}
