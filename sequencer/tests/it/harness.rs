//! Starts a node in-process and talks to it over HTTP.

use std::{net::SocketAddr, path::Path, time::Duration};

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_network::TxSignerSync;
use alloy_primitives::{Address, Bytes, TxKind, U256};
use alloy_signer_local::{MnemonicBuilder, PrivateKeySigner, coins_bip39::English};
use lanes_sequencer::{
    chain::DEV_MNEMONIC,
    cli::{ExecutorKind, LogFormat, NodeConfig},
    launch::{RunningNode, start_node},
};
use serde_json::{Value, json};

/// Dev account `index` of the test mnemonic.
pub(crate) fn dev_key(index: u32) -> PrivateKeySigner {
    MnemonicBuilder::<English>::default()
        .phrase(DEV_MNEMONIC)
        .index(index)
        .unwrap()
        .build()
        .unwrap()
}

/// A dev node on an ephemeral port with its own data dir.
pub(crate) struct TestNode {
    pub(crate) running: Option<RunningNode>,
    pub(crate) url: String,
    client: reqwest::Client,
}

pub(crate) fn config(datadir: &Path, block_time_ms: u64) -> NodeConfig {
    NodeConfig {
        dev: true,
        genesis: None,
        datadir: datadir.to_path_buf(),
        http: SocketAddr::from(([127, 0, 0, 1], 0)),
        chain_id: None,
        block_time: Duration::from_millis(block_time_ms),
        gas_limit: None,
        metrics: None,
        executor: ExecutorKind::CpuParallel,
        executor_threads: 2,
        txpool_max_per_sender: 4096,
        txpool_max_total: 100_000,
        log_format: LogFormat::Text,
        l1: None,
    }
}

impl TestNode {
    pub(crate) async fn start(datadir: &Path) -> Self {
        let running = start_node(&config(datadir, 50)).await.expect("node starts");
        let url = running.rpc.http_url();
        Self {
            running: Some(running),
            url,
            client: reqwest::Client::new(),
        }
    }

    /// Wraps a node started with a custom config.
    pub(crate) fn attach(running: RunningNode) -> Self {
        let url = running.rpc.http_url();
        Self {
            running: Some(running),
            url,
            client: reqwest::Client::new(),
        }
    }

    pub(crate) async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await.expect("clean shutdown");
        }
    }

    /// The full JSON-RPC response object.
    pub(crate) async fn request(&self, method: &str, params: Value) -> Value {
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        self.client
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The result, panicking on an error response.
    pub(crate) async fn call(&self, method: &str, params: Value) -> Value {
        let response = self.request(method, params.clone()).await;
        match response.get("result") {
            Some(result) => result.clone(),
            None => panic!("{method}({params}) failed: {response}"),
        }
    }

    /// The error object, panicking on success.
    pub(crate) async fn error(&self, method: &str, params: Value) -> Value {
        let response = self.request(method, params.clone()).await;
        match response.get("error") {
            Some(e) => e.clone(),
            None => panic!("{method}({params}) unexpectedly succeeded: {response}"),
        }
    }

    pub(crate) async fn nonce(&self, address: Address) -> u64 {
        let n = self
            .call("eth_getTransactionCount", json!([address, "pending"]))
            .await;
        u64::from_str_radix(n.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    }

    /// Signs an EIP-1559 transaction from `signer` with an explicit nonce.
    pub(crate) fn sign(
        signer: &PrivateKeySigner,
        nonce: u64,
        to: TxKind,
        value: U256,
        input: Bytes,
        gas: u64,
    ) -> Bytes {
        let mut tx = TxEip1559 {
            chain_id: 1337,
            nonce,
            gas_limit: gas,
            max_fee_per_gas: 10_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to,
            value,
            access_list: Default::default(),
            input,
        };
        let sig = signer.sign_transaction_sync(&mut tx).unwrap();
        TxEnvelope::from(tx.into_signed(sig)).encoded_2718().into()
    }

    /// Sends and waits for the receipt (`eth_sendRawTransactionSync`).
    pub(crate) async fn send_sync(&self, raw: &Bytes) -> Value {
        self.call("eth_sendRawTransactionSync", json!([raw])).await
    }
}

/// A tiny contract (raw bytecode): any call with data stores the first word in slot 0, emits
/// it as LOG1 with topic 0xaa and returns it; a call without data reverts.
pub(crate) const STORE_AND_LOG_RUNTIME: &str =
    "3615601b576000358060005560005260aa60206000a160206000f35b60006000fd";

/// Init code deploying [`STORE_AND_LOG_RUNTIME`].
pub(crate) fn store_and_log_initcode() -> Bytes {
    let runtime = alloy_primitives::hex::decode(STORE_AND_LOG_RUNTIME).unwrap();
    let mut code = alloy_primitives::hex::decode("6021600c60003960216000f3").unwrap();
    assert_eq!(runtime.len(), 0x21);
    code.extend(runtime);
    code.into()
}

pub(crate) fn quantity(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}
