//! A small typed Ethereum JSON-RPC client over jsonrpsee, with batched calls.
//!
//! Response types hold only the fields the load generator reads, so a node that is still
//! growing its responses can be measured; each field is standard (execution-apis).

use std::time::Duration;

use alloy_primitives::{Address, B256, Bytes, U64, U128, U256};
use jsonrpsee::{
    core::{
        client::{ClientT, Error as ClientError, SubscriptionClientT},
        params::{ArrayParams, BatchRequestBuilder},
    },
    http_client::{HttpClient, HttpClientBuilder},
    rpc_params,
    types::ErrorObjectOwned,
    ws_client::{WsClient, WsClientBuilder},
};
use serde::{Deserialize, de::DeserializeOwned};

use crate::{Error, Result};

/// Requests per JSON-RPC batch in set-up and state queries; servers commonly cap batches (geth
/// at 1,000, reth at 100 by default), and small batches keep responses small.
pub const SETUP_BATCH: usize = 100;

/// The fields of a block (`eth_getBlockByNumber(n, false)`) the load generator uses.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockSummary {
    /// Block number.
    pub number: U64,
    /// Block hash.
    pub hash: B256,
    /// Unix timestamp in seconds.
    pub timestamp: U64,
    /// Gas used by all transactions.
    pub gas_used: U64,
    /// Block gas limit.
    pub gas_limit: U64,
    /// EIP-1559 base fee.
    #[serde(default)]
    pub base_fee_per_gas: Option<U128>,
    /// Transaction hashes in block order.
    pub transactions: Vec<B256>,
}

/// The fields of a receipt the load generator uses.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptSummary {
    /// Transaction hash.
    pub transaction_hash: B256,
    /// Block that included the transaction.
    pub block_number: Option<U64>,
    /// 1 for success, 0 for failure.
    pub status: Option<U64>,
    /// The created contract, for contract creations.
    pub contract_address: Option<Address>,
    /// Gas used by this transaction.
    pub gas_used: U64,
}

/// A `newHeads` notification (only the number is used).
#[derive(Debug, Clone, Deserialize)]
pub struct HeadSummary {
    /// Block number.
    pub number: U64,
}

/// Which state a query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockTag {
    /// `"latest"`.
    Latest,
    /// A block number.
    Number(u64),
}

impl BlockTag {
    fn param(self) -> String {
        match self {
            Self::Latest => "latest".to_string(),
            Self::Number(n) => format!("{n:#x}"),
        }
    }
}

/// Formats a JSON-RPC error object as `message (code C, data D)`.
pub fn describe_error_object(e: &ErrorObjectOwned) -> String {
    match e.data() {
        Some(data) => format!("{} (code {}, data {})", e.message(), e.code(), data.get()),
        None => format!("{} (code {})", e.message(), e.code()),
    }
}

fn describe(e: &ClientError) -> String {
    match e {
        ClientError::Call(obj) => describe_error_object(obj),
        other => other.to_string(),
    }
}

/// A JSON-RPC client over HTTP.
#[derive(Debug, Clone)]
pub struct Rpc {
    client: HttpClient,
    url: String,
}

impl Rpc {
    /// Connects (lazily) to `url`; each request fails after `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Result<Self> {
        let client = HttpClientBuilder::default()
            .request_timeout(timeout)
            .max_response_size(64 << 20)
            .build(url)
            .map_err(|e| Error::Config(format!("RPC URL {url}: {e}")))?;
        Ok(Self {
            client,
            url: url.to_string(),
        })
    }

    /// The endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// One call.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &'static str,
        params: ArrayParams,
    ) -> Result<T> {
        self.client
            .request(method, params)
            .await
            .map_err(|e| Error::Rpc {
                method,
                message: describe(&e),
            })
    }

    /// The same method with many parameter lists, in batches of [`SETUP_BATCH`]. Each entry is
    /// the result or the node's error message; a transport error fails the whole call.
    pub async fn batch<T: DeserializeOwned + std::fmt::Debug + 'static>(
        &self,
        method: &'static str,
        params: Vec<ArrayParams>,
    ) -> Result<Vec<Result<T, String>>> {
        let mut out = Vec::with_capacity(params.len());
        let mut params = params.into_iter().peekable();
        while params.peek().is_some() {
            let mut batch = BatchRequestBuilder::new();
            for p in params.by_ref().take(SETUP_BATCH) {
                batch
                    .insert(method, p)
                    .map_err(|e| Error::Config(e.to_string()))?;
            }
            let response = self
                .client
                .batch_request::<T>(batch)
                .await
                .map_err(|e| Error::Rpc {
                    method,
                    message: describe(&e),
                })?;
            out.extend(
                response
                    .into_iter()
                    .map(|r| r.map_err(|e| describe_error_object(&e))),
            );
        }
        Ok(out)
    }

    /// Like [`Rpc::batch`], failing on the first error entry.
    pub async fn batch_ok<T: DeserializeOwned + std::fmt::Debug + 'static>(
        &self,
        method: &'static str,
        params: Vec<ArrayParams>,
    ) -> Result<Vec<T>> {
        self.batch(method, params)
            .await?
            .into_iter()
            .map(|r| r.map_err(|message| Error::Rpc { method, message }))
            .collect()
    }

    /// `eth_chainId`.
    pub async fn chain_id(&self) -> Result<u64> {
        Ok(self.call::<U64>("eth_chainId", rpc_params![]).await?.to())
    }

    /// `eth_blockNumber`.
    pub async fn block_number(&self) -> Result<u64> {
        Ok(self
            .call::<U64>("eth_blockNumber", rpc_params![])
            .await?
            .to())
    }

    /// `eth_getBlockByNumber(tag, false)`.
    pub async fn block(&self, tag: BlockTag) -> Result<Option<BlockSummary>> {
        self.call("eth_getBlockByNumber", rpc_params![tag.param(), false])
            .await
    }

    /// `eth_getBlockByNumber(n, false)` for each of `numbers`, batched.
    pub async fn blocks(
        &self,
        numbers: impl IntoIterator<Item = u64>,
    ) -> Result<Vec<Option<BlockSummary>>> {
        let params = numbers
            .into_iter()
            .map(|n| rpc_params![BlockTag::Number(n).param(), false])
            .collect();
        self.batch_ok("eth_getBlockByNumber", params).await
    }

    /// `eth_getBalance` of each address, batched.
    pub async fn balances(&self, addresses: &[Address], tag: BlockTag) -> Result<Vec<U256>> {
        let params = addresses
            .iter()
            .map(|a| rpc_params![a, tag.param()])
            .collect();
        self.batch_ok("eth_getBalance", params).await
    }

    /// `eth_getTransactionCount` of each address, batched.
    pub async fn nonces(&self, addresses: &[Address], tag: BlockTag) -> Result<Vec<u64>> {
        let params = addresses
            .iter()
            .map(|a| rpc_params![a, tag.param()])
            .collect();
        Ok(self
            .batch_ok::<U64>("eth_getTransactionCount", params)
            .await?
            .into_iter()
            .map(|n| n.to())
            .collect())
    }

    /// `eth_getTransactionCount(address, "pending")`.
    pub async fn pending_nonce(&self, address: Address) -> Result<u64> {
        Ok(self
            .call::<U64>("eth_getTransactionCount", rpc_params![address, "pending"])
            .await?
            .to())
    }

    /// `eth_call` of each `(to, data)`, batched.
    pub async fn calls(&self, calls: &[(Address, Bytes)], tag: BlockTag) -> Result<Vec<Bytes>> {
        let params = calls
            .iter()
            .map(|(to, data)| {
                rpc_params![serde_json::json!({ "to": to, "data": data }), tag.param()]
            })
            .collect();
        self.batch_ok("eth_call", params).await
    }

    /// `eth_getCode`.
    pub async fn code(&self, address: Address, tag: BlockTag) -> Result<Bytes> {
        self.call("eth_getCode", rpc_params![address, tag.param()])
            .await
    }

    /// `eth_getTransactionReceipt` of each hash, batched (`None` while pending).
    pub async fn receipts(&self, hashes: &[B256]) -> Result<Vec<Option<ReceiptSummary>>> {
        let params = hashes.iter().map(|h| rpc_params![h]).collect();
        self.batch_ok("eth_getTransactionReceipt", params).await
    }

    /// `eth_sendRawTransaction` with one transaction.
    pub async fn send_raw(&self, raw_hex: &str) -> Result<B256> {
        self.call("eth_sendRawTransaction", rpc_params![raw_hex])
            .await
    }

    /// `eth_sendRawTransaction` of each transaction in one JSON-RPC batch; per-transaction
    /// results, or an error for the whole batch (transport, or a node without batches).
    pub async fn send_raw_batch(
        &self,
        raw_hex: &[&str],
    ) -> Result<Vec<Result<B256, String>>, String> {
        let mut batch = BatchRequestBuilder::new();
        for raw in raw_hex {
            batch
                .insert("eth_sendRawTransaction", rpc_params![raw])
                .map_err(|e| e.to_string())?;
        }
        let response = self
            .client
            .batch_request::<B256>(batch)
            .await
            .map_err(|e| describe(&e))?;
        Ok(response
            .into_iter()
            .map(|r| r.map_err(|e| describe_error_object(&e)))
            .collect())
    }

    /// `eth_sendRawTransaction` of one transaction, with the error as a string.
    pub async fn send_raw_one(&self, raw_hex: &str) -> Result<B256, String> {
        self.client
            .request("eth_sendRawTransaction", rpc_params![raw_hex])
            .await
            .map_err(|e| describe(&e))
    }
}

/// A `newHeads` subscription over WebSocket.
#[derive(Debug)]
pub struct Heads {
    // Kept alive: dropping the client closes the subscription.
    _client: WsClient,
    subscription: jsonrpsee::core::client::Subscription<HeadSummary>,
}

impl Heads {
    /// Connects to `url` and subscribes to `newHeads`.
    pub async fn subscribe(url: &str) -> Result<Self> {
        let client = WsClientBuilder::default()
            .max_response_size(64 << 20)
            .build(url)
            .await
            .map_err(|e| Error::Rpc {
                method: "eth_subscribe",
                message: format!("connecting to {url}: {}", describe(&e)),
            })?;
        let subscription = client
            .subscribe("eth_subscribe", rpc_params!["newHeads"], "eth_unsubscribe")
            .await
            .map_err(|e| Error::Rpc {
                method: "eth_subscribe",
                message: describe(&e),
            })?;
        Ok(Self {
            _client: client,
            subscription,
        })
    }

    /// The next head's number; `None` when the subscription ended.
    pub async fn next(&mut self) -> Option<Result<u64>> {
        let item = self.subscription.next().await?;
        Some(item.map(|h| h.number.to()).map_err(|e| Error::BadResponse {
            method: "eth_subscription",
            expected: "a newHeads block header".into(),
            got: e.to_string(),
        }))
    }
}
