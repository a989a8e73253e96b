//! `eth_subscribe` in-process (the WebSocket path is in `server`).

use std::time::Duration;

use alloy_primitives::Address;
use jsonrpsee::{core::server::Subscription, rpc_params};
use serde_json::{Value, json};

use crate::{
    Rpc,
    fixture::{self, TOKEN, alice, bob, eip1559, sign, transfer_log},
};

async fn next(subscription: &mut Subscription) -> Value {
    let item = tokio::time::timeout(Duration::from_secs(5), subscription.next::<Value>())
        .await
        .expect("no notification within 5 s")
        .expect("subscription ended")
        .expect("bad notification");
    item.0
}

#[tokio::test]
async fn new_heads() {
    let rpc = Rpc::new();
    let mut heads = rpc
        .module
        .subscribe_unbounded("eth_subscribe", rpc_params!["newHeads"])
        .await
        .unwrap();
    let block = rpc.fixture.mine(Vec::new());
    let head = next(&mut heads).await;
    assert_eq!(head["number"], "0x3");
    assert_eq!(head["hash"], json!(block.block.header.hash()));
    assert_eq!(head["baseFeePerGas"], "0x3b9aca00");
}

#[tokio::test]
async fn logs_matching_the_filter() {
    let rpc = Rpc::new();
    let mut logs = rpc
        .module
        .subscribe_unbounded(
            "eth_subscribe",
            rpc_params!["logs", json!({ "address": TOKEN })],
        )
        .await
        .unwrap();
    let (alice, bob) = (alice(), bob());
    let other = transfer_log(
        Address::repeat_byte(0x55),
        alice.address(),
        bob.address(),
        1,
    );
    let ours = transfer_log(TOKEN, alice.address(), bob.address(), 2);
    rpc.fixture.mine(vec![(
        sign(&alice, eip1559(2, bob.address())),
        true,
        30_000,
        vec![other, ours],
    )]);
    let log = next(&mut logs).await;
    assert_eq!(log["address"], json!(TOKEN));
    assert_eq!(
        log["logIndex"], "0x1",
        "index within the block, not within the match"
    );
    assert_eq!(log["blockNumber"], "0x3");
    assert_eq!(log["removed"], false);

    // Without a filter: every log.
    let mut all = rpc
        .module
        .subscribe_unbounded("eth_subscribe", rpc_params!["logs"])
        .await
        .unwrap();
    let log = transfer_log(
        Address::repeat_byte(0x66),
        bob.address(),
        alice.address(),
        3,
    );
    rpc.fixture.mine(vec![(
        sign(&bob, eip1559(2, alice.address())),
        true,
        30_000,
        vec![log],
    )]);
    assert_eq!(next(&mut all).await["blockNumber"], "0x4");
}

#[tokio::test]
async fn pending_transactions() {
    let rpc = Rpc::new();
    let mut hashes = rpc
        .module
        .subscribe_unbounded("eth_subscribe", rpc_params!["newPendingTransactions"])
        .await
        .unwrap();
    let mut full = rpc
        .module
        .subscribe_unbounded("eth_subscribe", rpc_params!["newPendingTransactions", true])
        .await
        .unwrap();
    let tx = sign(&bob(), eip1559(2, alice().address()));
    rpc.result("eth_sendRawTransaction", json!([fixture::raw(&tx)]))
        .await;
    assert_eq!(next(&mut hashes).await, json!(tx.tx_hash()));
    let object = next(&mut full).await;
    assert_eq!(object["hash"], json!(tx.tx_hash()));
    assert_eq!(object["blockHash"], Value::Null);
}
