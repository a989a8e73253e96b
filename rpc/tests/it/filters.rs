//! Polling filters: what they report, and their bounds.

use std::time::Duration;

use alloy_primitives::Address;
use lanes_rpc::EthConfig;
use serde_json::{Value, json};

use crate::{
    Rpc,
    fixture::{self, TOKEN, TRANSFER_TOPIC, alice, bob, eip1559, sign, transfer_log},
};

fn len(value: &Value) -> usize {
    value.as_array().unwrap().len()
}

/// Mines a block with one transaction emitting a Transfer log from `token`.
fn mine_log(rpc: &Rpc, nonce: u64, token: Address) {
    let (alice, bob) = (alice(), bob());
    let log = transfer_log(token, alice.address(), bob.address(), nonce);
    rpc.fixture.mine(vec![(
        sign(&alice, eip1559(nonce, bob.address())),
        true,
        30_000,
        vec![log],
    )]);
}

#[tokio::test]
async fn block_filter_reports_new_blocks_once() {
    let rpc = Rpc::new();
    let id = rpc.result("eth_newBlockFilter", json!([])).await;
    assert!(id.as_str().unwrap().starts_with("0x"));
    assert_eq!(
        rpc.result("eth_getFilterChanges", json!([id])).await,
        json!([])
    );
    rpc.fixture.mine_empty(2);
    let hashes = rpc.result("eth_getFilterChanges", json!([id])).await;
    assert_eq!(
        hashes,
        json!([rpc.fixture.block_hash(3), rpc.fixture.block_hash(4)])
    );
    assert_eq!(
        rpc.result("eth_getFilterChanges", json!([id])).await,
        json!([])
    );
}

#[tokio::test]
async fn log_filter_reports_matching_logs() {
    let rpc = Rpc::new();
    let by_address = rpc
        .result("eth_newFilter", json!([{ "address": TOKEN }]))
        .await;
    let by_topic = rpc
        .result(
            "eth_newFilter",
            json!([{ "topics": [TRANSFER_TOPIC, null, bob().address().into_word()] }]),
        )
        .await;
    mine_log(&rpc, 2, TOKEN);
    mine_log(&rpc, 3, Address::repeat_byte(0x55));

    let logs = rpc
        .result("eth_getFilterChanges", json!([by_address]))
        .await;
    assert_eq!(len(&logs), 1);
    assert_eq!(logs[0]["address"], json!(TOKEN));
    assert_eq!(logs[0]["blockNumber"], "0x3");
    // Topic 2 is the recipient (bob) in both new logs; null matches any sender.
    assert_eq!(
        len(&rpc.result("eth_getFilterChanges", json!([by_topic])).await),
        2
    );
    assert_eq!(
        rpc.result("eth_getFilterChanges", json!([by_address]))
            .await,
        json!([])
    );

    // eth_getFilterLogs answers the whole query, as eth_getLogs would.
    let all = rpc
        .result(
            "eth_newFilter",
            json!([{ "fromBlock": "earliest", "address": TOKEN }]),
        )
        .await;
    assert_eq!(len(&rpc.result("eth_getFilterLogs", json!([all])).await), 2);
    let block_filter = rpc.result("eth_newBlockFilter", json!([])).await;
    let err = rpc.error("eth_getFilterLogs", json!([block_filter])).await;
    assert_eq!(err["message"], "filter not found");
}

#[tokio::test]
async fn pending_transaction_filter_reports_submissions() {
    let rpc = Rpc::new();
    let id = rpc
        .result("eth_newPendingTransactionFilter", json!([]))
        .await;
    let tx = sign(&bob(), eip1559(2, alice().address()));
    let hash = rpc
        .result("eth_sendRawTransaction", json!([fixture::raw(&tx)]))
        .await;
    assert_eq!(
        rpc.result("eth_getFilterChanges", json!([id])).await,
        json!([hash])
    );
    assert_eq!(
        rpc.result("eth_getFilterChanges", json!([id])).await,
        json!([])
    );
}

#[tokio::test]
async fn uninstall_and_unknown_ids() {
    let rpc = Rpc::new();
    let id = rpc.result("eth_newBlockFilter", json!([])).await;
    assert_eq!(rpc.result("eth_uninstallFilter", json!([id])).await, true);
    assert_eq!(rpc.result("eth_uninstallFilter", json!([id])).await, false);
    for unknown in [id, json!("0x01"), json!("garbage"), json!(7)] {
        let err = rpc.error("eth_getFilterChanges", json!([unknown])).await;
        assert_eq!(
            (err["code"].as_i64(), err["message"].as_str()),
            (Some(-32000), Some("filter not found"))
        );
    }
}

#[tokio::test]
async fn filters_expire_when_idle() {
    let config = EthConfig {
        filter_idle_timeout: Duration::from_millis(200),
        ..EthConfig::default()
    };
    let rpc = Rpc::with_config(&config);
    let polled = rpc.result("eth_newBlockFilter", json!([])).await;
    let idle = rpc.result("eth_newBlockFilter", json!([])).await;
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Polling keeps a filter alive.
        rpc.result("eth_getFilterChanges", json!([polled])).await;
    }
    let err = rpc.error("eth_getFilterChanges", json!([idle])).await;
    assert_eq!(err["message"], "filter not found");
    rpc.result("eth_getFilterChanges", json!([polled])).await;
}

#[tokio::test]
async fn filter_count_is_bounded() {
    let config = EthConfig {
        max_filters: 2,
        filter_idle_timeout: Duration::from_millis(200),
        ..EthConfig::default()
    };
    let rpc = Rpc::with_config(&config);
    let first = rpc.result("eth_newBlockFilter", json!([])).await;
    rpc.result("eth_newPendingTransactionFilter", json!([]))
        .await;
    let err = rpc.error("eth_newFilter", json!([{}])).await;
    assert_eq!(err["code"], -32005);
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .starts_with("too many filters installed (limit 2)")
    );

    assert_eq!(
        rpc.result("eth_uninstallFilter", json!([first])).await,
        true
    );
    rpc.result("eth_newFilter", json!([{}])).await;
    assert_eq!(
        rpc.error("eth_newBlockFilter", json!([])).await["code"],
        -32005
    );
    // Expired filters make room.
    tokio::time::sleep(Duration::from_millis(300)).await;
    rpc.result("eth_newBlockFilter", json!([])).await;
    rpc.result("eth_newBlockFilter", json!([])).await;
}

#[tokio::test]
async fn changes_are_paged_not_dropped() {
    let config = EthConfig {
        max_filter_changes: 2,
        max_logs_per_response: 1,
        ..EthConfig::default()
    };
    let rpc = Rpc::with_config(&config);
    let blocks = rpc.result("eth_newBlockFilter", json!([])).await;
    let logs = rpc
        .result("eth_newFilter", json!([{ "address": TOKEN }]))
        .await;
    for nonce in 2..7 {
        mine_log(&rpc, nonce, TOKEN);
    }
    let mut block_pages = Vec::new();
    let mut log_blocks = Vec::new();
    for _ in 0..6 {
        block_pages.push(len(&rpc
            .result("eth_getFilterChanges", json!([blocks]))
            .await));
        let page = rpc.result("eth_getFilterChanges", json!([logs])).await;
        log_blocks.extend(
            page.as_array()
                .unwrap()
                .iter()
                .map(|log| log["blockNumber"].clone()),
        );
    }
    assert_eq!(block_pages, [2, 2, 1, 0, 0, 0]);
    let expected: Vec<Value> = (3..8).map(crate::hex).collect();
    assert_eq!(
        log_blocks, expected,
        "one log per poll, none lost, in order"
    );
}
