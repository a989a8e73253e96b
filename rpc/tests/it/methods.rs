//! What the methods answer, field by field, on the fixture chain.

use std::{
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, B256};
use lanes_rpc::{EthConfig, GasOracleConfig};
use serde_json::{Value, json};

use crate::{
    Rpc,
    fixture::{
        self, BASE_FEE, GAS_HOG, GWEI, HOG_GAS_NEEDED, NEXT_BASE_FEE, TOKEN, alice, bob, eip1559,
        sign, transfer_log,
    },
    hex,
};

#[tokio::test]
async fn chain_and_node_info() {
    let rpc = Rpc::new();
    assert_eq!(rpc.result("eth_chainId", json!([])).await, "0x539");
    assert_eq!(rpc.result("net_version", json!([])).await, "1337");
    assert_eq!(rpc.result("eth_blockNumber", json!([])).await, "0x2");
    assert_eq!(rpc.result("eth_syncing", json!([])).await, false);
    assert_eq!(rpc.result("eth_mining", json!([])).await, false);
    assert_eq!(rpc.result("net_listening", json!([])).await, true);
    assert_eq!(rpc.result("net_peerCount", json!([])).await, "0x0");
    assert_eq!(
        rpc.result("eth_accounts", json!([])).await,
        json!([alice().address()])
    );
    assert_eq!(
        rpc.result("web3_clientVersion", json!([])).await,
        "lanes/v0.1.0-fixture/linux-x86_64"
    );
    assert_eq!(
        rpc.result("web3_sha3", json!(["0x68656c6c6f20776f726c64"]))
            .await,
        "0x47173285a8d7341e5e972fc677286384f802f8ef42a5ec5f03bbfa254cb01fad"
    );
}

#[tokio::test]
async fn block_tags_and_eip1898() {
    let rpc = Rpc::new();
    for tag in ["latest", "safe", "finalized", "pending"] {
        let block = rpc
            .result("eth_getBlockByNumber", json!([tag, false]))
            .await;
        assert_eq!(block["number"], "0x2", "{tag}");
    }
    let genesis = rpc
        .result("eth_getBlockByNumber", json!(["earliest", false]))
        .await;
    assert_eq!(genesis["number"], "0x0");
    assert_eq!(
        rpc.result("eth_getBlockByNumber", json!(["0x3", false]))
            .await,
        Value::Null
    );

    let alice = alice().address();
    let b1 = rpc.fixture.block_hash(1);
    let balance = rpc.result("eth_getBalance", json!([alice, "latest"])).await;
    assert_eq!(balance, "0x56bc75e2d63100000");
    assert_eq!(rpc.result("eth_getBalance", json!([alice])).await, balance);
    assert_eq!(
        rpc.result("eth_getBalance", json!([alice, { "blockHash": b1 }]))
            .await,
        balance
    );
    assert_eq!(
        rpc.result(
            "eth_getBalance",
            json!([alice, { "blockHash": b1, "requireCanonical": true }])
        )
        .await,
        balance
    );
    assert_eq!(
        rpc.result("eth_getBalance", json!([alice, { "blockNumber": "0x1" }]))
            .await,
        balance
    );
    assert_eq!(
        rpc.result("eth_getBalance", json!([alice, "earliest"]))
            .await,
        "0x0"
    );

    let err = rpc
        .error(
            "eth_getBalance",
            json!([alice, { "blockHash": B256::repeat_byte(1) }]),
        )
        .await;
    assert_eq!(
        (err["code"].as_i64(), err["message"].as_str()),
        (Some(-32000), Some("header for hash not found"))
    );
    let err = rpc.error("eth_getBalance", json!([alice, "0x3"])).await;
    assert_eq!(
        (err["code"].as_i64(), err["message"].as_str()),
        (Some(-32000), Some("header not found"))
    );
}

#[tokio::test]
async fn state_queries() {
    let rpc = Rpc::new();
    let alice = alice().address();
    assert_eq!(
        rpc.result("eth_getTransactionCount", json!([alice, "latest"]))
            .await,
        "0x2"
    );
    // One executable transaction of hers waits in the pool.
    assert_eq!(
        rpc.result("eth_getTransactionCount", json!([alice, "pending"]))
            .await,
        "0x3"
    );
    assert_eq!(
        rpc.result("eth_getTransactionCount", json!([Address::ZERO]))
            .await,
        "0x0"
    );
    assert_eq!(
        rpc.result("eth_getCode", json!([TOKEN])).await,
        "0x6080604052"
    );
    assert_eq!(rpc.result("eth_getCode", json!([alice])).await, "0x");
    let slot_value = format!("{}", B256::with_last_byte(42));
    assert_eq!(
        rpc.result("eth_getStorageAt", json!([TOKEN, "0x0"])).await,
        slot_value
    );
    assert_eq!(
        rpc.result("eth_getStorageAt", json!([TOKEN, B256::ZERO, "latest"]))
            .await,
        slot_value
    );
    assert_eq!(
        rpc.result("eth_getStorageAt", json!([TOKEN, "0x1"])).await,
        format!("{}", B256::ZERO)
    );
}

#[tokio::test]
async fn receipts_are_derived_from_the_block() {
    let rpc = Rpc::new();
    let f = &rpc.fixture;

    let transfer = rpc
        .result("eth_getTransactionReceipt", json!([f.tx_hash(1, 0)]))
        .await;
    assert_eq!(transfer["type"], "0x0");
    assert_eq!(transfer["gasUsed"], hex(21_000));
    assert_eq!(transfer["effectiveGasPrice"], hex(2 * GWEI as u64));
    assert_eq!(transfer["from"], json!(alice().address()));
    assert_eq!(transfer["to"], json!(bob().address()));
    assert_eq!(transfer["contractAddress"], Value::Null);

    let token = rpc
        .result("eth_getTransactionReceipt", json!([f.tx_hash(1, 1)]))
        .await;
    assert_eq!(token["type"], "0x2");
    assert_eq!(token["cumulativeGasUsed"], hex(51_000));
    assert_eq!(
        token["gasUsed"],
        hex(30_000),
        "cumulative minus the previous receipt's"
    );
    // min(maxFee 3 gwei, base fee 1 gwei + tip 1 gwei)
    assert_eq!(token["effectiveGasPrice"], hex(BASE_FEE + GWEI as u64));
    assert_eq!(token["transactionIndex"], "0x1");
    assert_eq!(token["blockHash"], json!(f.block_hash(1)));
    assert_eq!(token["blockNumber"], "0x1");
    assert_eq!(token["status"], "0x1");
    let log = &token["logs"][0];
    assert_eq!(log["logIndex"], "0x0");
    assert_eq!(log["transactionHash"], json!(f.tx_hash(1, 1)));
    assert_eq!(log["transactionIndex"], "0x1");
    assert_eq!(log["blockNumber"], "0x1");
    assert_eq!(log["removed"], false);

    let creation = rpc
        .result("eth_getTransactionReceipt", json!([f.tx_hash(2, 0)]))
        .await;
    assert_eq!(creation["type"], "0x1");
    assert_eq!(creation["to"], Value::Null);
    assert_eq!(
        creation["contractAddress"],
        json!(alice().address().create(1))
    );

    let reverted = rpc
        .result("eth_getTransactionReceipt", json!([f.tx_hash(2, 1)]))
        .await;
    assert_eq!(reverted["status"], "0x0");
    assert_eq!(reverted["gasUsed"], hex(23_000));
    // The fee cap binds: min(2 gwei, 1 gwei + 1.5 gwei)
    assert_eq!(reverted["effectiveGasPrice"], hex(2 * GWEI as u64));
    assert!(reverted.get("blobGasUsed").is_none());

    assert_eq!(
        rpc.result("eth_getTransactionReceipt", json!([B256::ZERO]))
            .await,
        Value::Null
    );
    // Not mined yet: no receipt.
    let pending = rpc.fixture.pending_hash();
    assert_eq!(
        rpc.result("eth_getTransactionReceipt", json!([pending]))
            .await,
        Value::Null
    );
}

#[tokio::test]
async fn log_indices_count_across_the_block() {
    let rpc = Rpc::new();
    let (alice, bob) = (fixture::alice(), fixture::bob());
    let two_logs = vec![
        transfer_log(TOKEN, alice.address(), bob.address(), 1),
        transfer_log(TOKEN, alice.address(), bob.address(), 2),
    ];
    let one_log = vec![transfer_log(TOKEN, bob.address(), alice.address(), 3)];
    rpc.fixture.mine(vec![
        (
            sign(&alice, eip1559(2, bob.address())),
            true,
            30_000,
            two_logs,
        ),
        (
            sign(&bob, eip1559(2, alice.address())),
            true,
            60_000,
            one_log,
        ),
    ]);
    let receipts = rpc.result("eth_getBlockReceipts", json!(["latest"])).await;
    let indices: Vec<&Value> = receipts
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["logs"].as_array().unwrap())
        .map(|log| &log["logIndex"])
        .collect();
    assert_eq!(indices, [&json!("0x0"), &json!("0x1"), &json!("0x2")]);
    assert_eq!(receipts[1]["gasUsed"], hex(60_000));
    assert_eq!(receipts[1]["cumulativeGasUsed"], hex(90_000));

    let single = rpc
        .result(
            "eth_getTransactionReceipt",
            json!([rpc.fixture.tx_hash(3, 1)]),
        )
        .await;
    assert_eq!(
        single["logs"][0]["logIndex"], "0x2",
        "same index alone as in the block"
    );

    let logs = rpc
        .result(
            "eth_getLogs",
            json!([{ "fromBlock": "0x3", "toBlock": "0x3" }]),
        )
        .await;
    assert_eq!(logs.as_array().unwrap().len(), 3);
    assert_eq!(logs[2]["logIndex"], "0x2");
    assert_eq!(logs[2]["transactionIndex"], "0x1");
}

#[tokio::test]
async fn transactions_and_blocks() {
    let rpc = Rpc::new();
    let f = &rpc.fixture;
    let (b1, tx) = (f.block_hash(1), f.tx_hash(1, 1));

    let mined = rpc.result("eth_getTransactionByHash", json!([tx])).await;
    assert_eq!(mined["hash"], json!(tx));
    assert_eq!(mined["blockHash"], json!(b1));
    assert_eq!(mined["transactionIndex"], "0x1");
    assert_eq!(mined["from"], json!(bob().address()));
    assert_eq!(
        mined["gasPrice"],
        hex(BASE_FEE + GWEI as u64),
        "effective price once mined"
    );

    let pooled = rpc
        .result("eth_getTransactionByHash", json!([f.pending_hash()]))
        .await;
    assert_eq!(pooled["blockHash"], Value::Null);
    assert_eq!(pooled["blockNumber"], Value::Null);
    assert_eq!(
        rpc.result("eth_getTransactionByHash", json!([B256::ZERO]))
            .await,
        Value::Null
    );

    let by_hash = rpc
        .result("eth_getTransactionByBlockHashAndIndex", json!([b1, "0x1"]))
        .await;
    let by_number = rpc
        .result(
            "eth_getTransactionByBlockNumberAndIndex",
            json!(["0x1", "0x1"]),
        )
        .await;
    assert_eq!(by_hash, mined);
    assert_eq!(by_number, mined);
    assert_eq!(
        rpc.result(
            "eth_getTransactionByBlockNumberAndIndex",
            json!(["0x1", "0x2"])
        )
        .await,
        Value::Null
    );

    let hashes = rpc.result("eth_getBlockByHash", json!([b1, false])).await;
    assert_eq!(hashes["transactions"], json!([f.tx_hash(1, 0), tx]));
    assert_eq!(hashes["withdrawals"], json!([]));
    assert_eq!(hashes["uncles"], json!([]));
    assert_eq!(hashes["baseFeePerGas"], hex(BASE_FEE));
    assert_eq!(hashes["totalDifficulty"], "0x0");
    assert!(hashes["size"].as_str().unwrap().starts_with("0x"));
    let full = rpc
        .result("eth_getBlockByNumber", json!(["0x1", true]))
        .await;
    assert_eq!(full["transactions"][1], mined);
    assert_eq!(full["hash"], json!(b1));

    assert_eq!(
        rpc.result("eth_getBlockTransactionCountByHash", json!([b1]))
            .await,
        "0x2"
    );
    assert_eq!(
        rpc.result("eth_getBlockTransactionCountByNumber", json!(["0x0"]))
            .await,
        "0x0"
    );
    assert_eq!(
        rpc.result("eth_getBlockTransactionCountByNumber", json!(["0x7"]))
            .await,
        Value::Null
    );
    assert_eq!(
        rpc.result("eth_getBlockReceipts", json!(["0x7"])).await,
        Value::Null
    );
    let receipts = rpc
        .result("eth_getBlockReceipts", json!([{ "blockHash": b1 }]))
        .await;
    assert_eq!(receipts.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn call_returns_output() {
    let rpc = Rpc::new();
    let output = rpc
        .result("eth_call", json!([{ "to": TOKEN, "input": "0x70a08231" }]))
        .await;
    assert_eq!(output, json!(B256::with_last_byte(42)));
    // `data` is accepted as well as `input`, and a gas above the block limit is capped.
    let output = rpc
        .result(
            "eth_call",
            json!([{ "to": TOKEN, "data": "0x70a08231", "gas": "0xffffffffff" }, "latest"]),
        )
        .await;
    assert_eq!(output, json!(B256::with_last_byte(42)));
}

#[tokio::test]
async fn estimate_gas_searches_efficiently() {
    let rpc = Rpc::new();
    let calls = || rpc.fixture.calls.load(Ordering::Relaxed);

    // A plain transfer to an account without code: one execution at 21000.
    let before = calls();
    let gas = rpc
        .result(
            "eth_estimateGas",
            json!([{ "to": bob().address(), "value": "0x1" }]),
        )
        .await;
    assert_eq!(gas, hex(21_000));
    assert_eq!(calls() - before, 1);

    // Needs 100000 but reports 80000 used: the 64/63 guess fails, then a short search.
    let before = calls();
    let gas = rpc
        .result("eth_estimateGas", json!([{ "to": GAS_HOG }]))
        .await;
    let gas = u64::from_str_radix(gas.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    assert!(
        (HOG_GAS_NEEDED..=HOG_GAS_NEEDED * 1015 / 1000).contains(&gas),
        "estimate {gas}"
    );
    assert!(calls() - before <= 12, "{} executions", calls() - before);

    // The caller's gas is the ceiling.
    let err = rpc
        .error(
            "eth_estimateGas",
            json!([{ "to": GAS_HOG, "gas": "0xc350" }]),
        )
        .await;
    assert_eq!(err["code"], -32000);
    assert_eq!(err["message"], "gas required exceeds allowance (50000)");

    // So is what the sender can pay: 1 ETH at 2e13 wei/gas buys 50000 gas.
    let bob = bob().address();
    let request = json!({ "from": bob, "to": GAS_HOG, "maxFeePerGas": "0x12309ce54000" });
    let err = rpc.error("eth_estimateGas", json!([request])).await;
    assert_eq!(err["message"], "gas required exceeds allowance (50000)");
    let request =
        json!({ "from": bob, "to": GAS_HOG, "gasPrice": "0x1", "value": "0xde0b6b3a7640001" });
    let err = rpc.error("eth_estimateGas", json!([request])).await;
    assert_eq!(err["message"], "insufficient funds for transfer");
}

#[tokio::test]
async fn gas_price_is_next_base_fee_plus_tip() {
    let rpc = Rpc::new();
    // Every fixture transaction tips 1 gwei.
    assert_eq!(
        rpc.result("eth_maxPriorityFeePerGas", json!([])).await,
        hex(GWEI as u64)
    );
    assert_eq!(
        rpc.result("eth_gasPrice", json!([])).await,
        hex(NEXT_BASE_FEE + GWEI as u64)
    );
    assert_eq!(
        rpc.result("eth_baseFee", json!([])).await,
        hex(NEXT_BASE_FEE)
    );
}

#[tokio::test]
async fn priority_fee_oracle_percentile_and_default() {
    let config = EthConfig {
        gas_oracle: GasOracleConfig {
            blocks: 1,
            samples_per_block: 10,
            ..GasOracleConfig::default()
        },
        ..EthConfig::default()
    };
    let rpc = Rpc::with_config(&config);
    rpc.fixture.mine_empty(1);
    // No transactions in the window: the 1 gwei default.
    assert_eq!(
        rpc.result("eth_maxPriorityFeePerGas", json!([])).await,
        hex(GWEI as u64)
    );

    let alice = alice();
    let txs = (1..=5u64)
        .map(|tip| {
            let tx = TxEip1559 {
                max_fee_per_gas: 10 * GWEI,
                max_priority_fee_per_gas: u128::from(tip) * GWEI,
                ..eip1559(tip, Address::repeat_byte(3))
            };
            (sign(&alice, tx), true, 21_000, Vec::new())
        })
        .collect();
    rpc.fixture.mine(txs);
    // Tips 1..=5 gwei; 60th percentile of five samples is the third.
    assert_eq!(
        rpc.result("eth_maxPriorityFeePerGas", json!([])).await,
        hex(3 * GWEI as u64)
    );
}

#[tokio::test]
async fn fee_history_clamps_and_weights() {
    let rpc = Rpc::new();
    let history = rpc
        .result("eth_feeHistory", json!(["0x64", "latest", [50]]))
        .await;
    assert_eq!(history["oldestBlock"], "0x0");
    let base_fees = history["baseFeePerGas"].as_array().unwrap();
    assert_eq!(base_fees.len(), 4, "three blocks and the next");
    assert_eq!(base_fees[3], hex(NEXT_BASE_FEE));
    assert_eq!(history["gasUsedRatio"].as_array().unwrap().len(), 3);
    assert_eq!(history["gasUsedRatio"][1], 51_000.0 / 30_000_000.0);
    assert_eq!(history["reward"][0], json!(["0x0"]), "empty block");
    assert_eq!(history["baseFeePerBlobGas"].as_array().unwrap().len(), 4);
    assert_eq!(history["blobGasUsedRatio"].as_array().unwrap().len(), 3);
    assert_eq!(
        rpc.result("eth_feeHistory", json!([100, "pending", [50]]))
            .await,
        history
    );

    // Newest below the head: the next base fee is the following block's.
    let history = rpc.result("eth_feeHistory", json!(["2", "0x1"])).await;
    assert_eq!(history["oldestBlock"], "0x0");
    assert_eq!(
        history["baseFeePerGas"],
        json!([hex(BASE_FEE), hex(BASE_FEE), hex(BASE_FEE)])
    );
    assert!(history.get("reward").is_none());

    // Rewards are weighted by gas: a cheap small transaction and an expensive large one.
    let (alice, bob) = (fixture::alice(), fixture::bob());
    let small = TxEip1559 {
        max_fee_per_gas: 10 * GWEI,
        max_priority_fee_per_gas: GWEI,
        ..eip1559(2, bob.address())
    };
    let large = TxEip1559 {
        max_fee_per_gas: 10 * GWEI,
        max_priority_fee_per_gas: 5 * GWEI,
        ..eip1559(2, alice.address())
    };
    rpc.fixture.mine(vec![
        (sign(&alice, small), true, 21_000, vec![]),
        (sign(&bob, large), true, 121_000, vec![]),
    ]);
    let history = rpc
        .result("eth_feeHistory", json!(["0x1", "latest", [10, 50, 100]]))
        .await;
    assert_eq!(
        history["reward"],
        json!([[hex(GWEI as u64), hex(5 * GWEI as u64), hex(5 * GWEI as u64)]])
    );

    assert_eq!(
        rpc.result("eth_feeHistory", json!(["0x0", "latest", []]))
            .await["oldestBlock"],
        "0x0"
    );
    let err = rpc
        .error("eth_feeHistory", json!(["0x1", "0x10", []]))
        .await;
    assert_eq!(err["code"], -32000);
    assert_eq!(
        err["message"],
        "request beyond head block: requested 16, head 3"
    );
}

#[tokio::test]
async fn send_raw_transaction_enters_the_pool() {
    let rpc = Rpc::new();
    let tx = sign(&bob(), eip1559(2, alice().address()));
    let hash = rpc
        .result("eth_sendRawTransaction", json!([fixture::raw(&tx)]))
        .await;
    assert_eq!(hash, json!(tx.tx_hash()));
    let pooled = rpc.result("eth_getTransactionByHash", json!([hash])).await;
    assert_eq!(pooled["blockHash"], Value::Null);
    let content = rpc.result("txpool_content", json!([])).await;
    assert_eq!(
        content["pending"][bob().address().to_string().to_lowercase()]["2"]["hash"],
        hash
    );
    assert_eq!(
        rpc.result("txpool_status", json!([])).await,
        json!({ "pending": "0x2", "queued": "0x1" })
    );
    let mine = rpc
        .result("txpool_contentFrom", json!([bob().address()]))
        .await;
    assert_eq!(mine["pending"]["2"]["hash"], hash);
    assert_eq!(mine["queued"]["5"]["nonce"], "0x5");
}

#[tokio::test]
async fn send_raw_transaction_sync_returns_the_receipt() {
    let rpc = Rpc::new();
    rpc.fixture.auto_mine.store(true, Ordering::Relaxed);
    let tx = sign(&bob(), eip1559(2, alice().address()));
    // The fixture commits the block inside the submit call: only a subscription taken before
    // submitting sees it.
    let receipt = rpc
        .result("eth_sendRawTransactionSync", json!([fixture::raw(&tx)]))
        .await;
    assert_eq!(receipt["transactionHash"], json!(tx.tx_hash()));
    assert_eq!(receipt["blockNumber"], "0x3");
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(receipt["logs"][0]["logIndex"], "0x0");

    // The timeout may come as a number or a hex quantity.
    let tx = sign(&bob(), eip1559(3, alice().address()));
    let receipt = rpc
        .result(
            "eth_sendRawTransactionSync",
            json!([fixture::raw(&tx), 1000]),
        )
        .await;
    assert_eq!(receipt["blockNumber"], "0x4");
}

#[tokio::test]
async fn send_raw_transaction_sync_times_out_with_code_4() {
    let config = EthConfig {
        send_sync_max_timeout: Duration::from_millis(300),
        ..EthConfig::default()
    };
    let rpc = Rpc::with_config(&config);
    let tx = sign(&bob(), eip1559(2, alice().address()));
    let started = Instant::now();
    let err = rpc
        .error(
            "eth_sendRawTransactionSync",
            json!([fixture::raw(&tx), "0x64"]),
        )
        .await;
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(err["code"], 4);
    assert_eq!(err["data"], json!(tx.tx_hash()));
    assert_eq!(
        err["message"],
        "The transaction was added to the mempool but wasn't processed in 100ms."
    );

    // A timeout above the node's maximum is clamped to it.
    let tx = sign(&bob(), eip1559(3, alice().address()));
    let started = Instant::now();
    let err = rpc
        .error(
            "eth_sendRawTransactionSync",
            json!([fixture::raw(&tx), 60_000]),
        )
        .await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(err["code"], 4);
    assert!(err["message"].as_str().unwrap().contains("300ms"));

    // Refused transactions fail at once, with the pool's error.
    let stale = sign(&bob(), eip1559(0, alice().address()));
    let err = rpc
        .error("eth_sendRawTransactionSync", json!([fixture::raw(&stale)]))
        .await;
    assert_eq!(err["message"], "nonce too low: next nonce 2, tx nonce 0");
}

#[tokio::test]
async fn contract_creation_request_is_estimated() {
    let rpc = Rpc::new();
    let request = json!({ "from": alice().address(), "data": "0x6080" });
    // Not a plain transfer (no `to`): searched, lands within the error ratio of 21032.
    let gas = rpc.result("eth_estimateGas", json!([request])).await;
    let gas = u64::from_str_radix(gas.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    assert!((21_032..=21_032 * 1015 / 1000).contains(&gas), "{gas}");
}
