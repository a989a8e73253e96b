//! A small L1 JSON-RPC client: the calls the batcher and the follower make, and EIP-1559
//! transaction signing with the sequencer key.

use std::time::Duration;

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use alloy_rpc_types_eth::{Filter, Log, Transaction, TransactionReceipt};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::SolCall;
use jsonrpsee::{
    core::{client::ClientT, params::ArrayParams},
    http_client::{HttpClient, HttpClientBuilder},
    rpc_params,
};
use serde::de::DeserializeOwned;

/// L1 errors.
#[derive(Debug, thiserror::Error)]
pub enum L1Error {
    /// Transport or JSON-RPC error.
    #[error("L1 RPC {method}: {message}")]
    Rpc {
        /// Method.
        method: &'static str,
        /// What the client or the node said.
        message: String,
    },
    /// A call returned bytes that do not decode.
    #[error("L1 call {0} returned undecodable data: {1}")]
    Decode(&'static str, String),
}

/// Result alias.
pub type L1Result<T> = Result<T, L1Error>;

/// An L1 JSON-RPC endpoint.
#[derive(Debug, Clone)]
pub struct L1Client {
    url: String,
    http: HttpClient,
}

/// Fees of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fees {
    /// `maxFeePerGas`.
    pub max_fee: u128,
    /// `maxPriorityFeePerGas`.
    pub tip: u128,
}

impl Fees {
    /// Both raised by 25% (replacement needs at least 10%), plus one wei.
    pub fn bumped(self) -> Self {
        Self {
            max_fee: self.max_fee + self.max_fee / 4 + 1,
            tip: self.tip + self.tip / 4 + 1,
        }
    }
}

impl L1Client {
    /// A client for `url` (http or https).
    pub fn new(url: &str) -> L1Result<Self> {
        let http = HttpClientBuilder::default()
            .request_timeout(Duration::from_secs(30))
            .max_response_size(256 << 20)
            .max_request_size(64 << 20)
            .build(url)
            .map_err(|e| L1Error::Rpc {
                method: "connect",
                message: e.to_string(),
            })?;
        Ok(Self {
            url: url.to_string(),
            http,
        })
    }

    /// The endpoint URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    async fn req<T: DeserializeOwned>(
        &self,
        method: &'static str,
        params: ArrayParams,
    ) -> L1Result<T> {
        self.http
            .request(method, params)
            .await
            .map_err(|e| L1Error::Rpc {
                method,
                message: e.to_string(),
            })
    }

    /// Raw request (for anvil's and tests' methods).
    pub async fn raw<T: DeserializeOwned>(
        &self,
        method: &'static str,
        params: ArrayParams,
    ) -> L1Result<T> {
        self.req(method, params).await
    }

    /// `eth_chainId`.
    pub async fn chain_id(&self) -> L1Result<u64> {
        let v: U256 = self.req("eth_chainId", rpc_params![]).await?;
        Ok(v.to::<u64>())
    }

    /// `eth_blockNumber`.
    pub async fn block_number(&self) -> L1Result<u64> {
        let v: U256 = self.req("eth_blockNumber", rpc_params![]).await?;
        Ok(v.to::<u64>())
    }

    /// Hash of block `number`, if it exists.
    pub async fn block_hash(&self, number: u64) -> L1Result<Option<B256>> {
        let v: Option<serde_json::Value> = self
            .req(
                "eth_getBlockByNumber",
                rpc_params![format!("0x{number:x}"), false],
            )
            .await?;
        Ok(v.and_then(|b| {
            b.get("hash")
                .and_then(|h| serde_json::from_value(h.clone()).ok())
        }))
    }

    /// `eth_getTransactionCount(address, tag)`.
    pub async fn nonce(&self, address: Address, tag: &str) -> L1Result<u64> {
        let v: U256 = self
            .req("eth_getTransactionCount", rpc_params![address, tag])
            .await?;
        Ok(v.to::<u64>())
    }

    /// `eth_getCode(address, latest)`.
    pub async fn code(&self, address: Address) -> L1Result<Bytes> {
        self.req("eth_getCode", rpc_params![address, "latest"])
            .await
    }

    /// `eth_getBalance(address, latest)`.
    pub async fn balance(&self, address: Address) -> L1Result<U256> {
        self.req("eth_getBalance", rpc_params![address, "latest"])
            .await
    }

    /// Fees for a new transaction: tip from `eth_maxPriorityFeePerGas`, cap 2 x base fee + tip.
    pub async fn fees(&self) -> L1Result<Fees> {
        let block: serde_json::Value = self
            .req("eth_getBlockByNumber", rpc_params!["latest", false])
            .await?;
        let base: U256 = block
            .get("baseFeePerGas")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or(U256::from(1_000_000_000u64));
        let tip: U256 = self
            .req("eth_maxPriorityFeePerGas", rpc_params![])
            .await
            .unwrap_or(U256::from(1_000_000_000u64));
        let base = base.to::<u128>();
        let tip = tip.to::<u128>().max(1);
        Ok(Fees {
            max_fee: base * 2 + tip,
            tip,
        })
    }

    /// `eth_call` against latest; returns the output.
    pub async fn call(&self, to: Address, data: Vec<u8>) -> L1Result<Bytes> {
        let req = serde_json::json!({ "to": to, "data": Bytes::from(data) });
        self.req("eth_call", rpc_params![req, "latest"]).await
    }

    /// Calls a view function and decodes its return.
    pub async fn view<C: SolCall>(&self, to: Address, call: C) -> L1Result<C::Return> {
        let out = self.call(to, call.abi_encode()).await?;
        C::abi_decode_returns(&out).map_err(|e| L1Error::Decode(C::SIGNATURE, e.to_string()))
    }

    /// `eth_estimateGas` from `from`.
    pub async fn estimate_gas(
        &self,
        from: Address,
        to: Option<Address>,
        data: &[u8],
        value: U256,
    ) -> L1Result<u64> {
        let mut req = serde_json::json!({ "from": from, "data": Bytes::copy_from_slice(data), "value": value });
        if let Some(to) = to {
            req["to"] = serde_json::json!(to);
        }
        let v: U256 = self.req("eth_estimateGas", rpc_params![req]).await?;
        Ok(v.to::<u64>())
    }

    /// `eth_sendRawTransaction`.
    pub async fn send_raw(&self, raw: &[u8]) -> L1Result<B256> {
        self.req(
            "eth_sendRawTransaction",
            rpc_params![Bytes::copy_from_slice(raw)],
        )
        .await
    }

    /// `eth_getTransactionReceipt`.
    pub async fn receipt(&self, hash: B256) -> L1Result<Option<TransactionReceipt>> {
        self.req("eth_getTransactionReceipt", rpc_params![hash])
            .await
    }

    /// `eth_getTransactionByHash`.
    pub async fn transaction(&self, hash: B256) -> L1Result<Option<Transaction>> {
        self.req("eth_getTransactionByHash", rpc_params![hash])
            .await
    }

    /// `eth_blobBaseFee`.
    pub async fn blob_base_fee(&self) -> L1Result<u128> {
        let v: U256 = self.req("eth_blobBaseFee", rpc_params![]).await?;
        Ok(v.to::<u128>())
    }

    /// `eth_estimateGas` for a call that reads `blobhash(i)`: the request carries the
    /// versioned hashes it will have.
    pub async fn estimate_gas_with_blobs(
        &self,
        from: Address,
        to: Address,
        data: &[u8],
        versioned_hashes: &[B256],
        max_fee_per_blob_gas: u128,
    ) -> L1Result<u64> {
        let req = serde_json::json!({
            "from": from,
            "to": to,
            "data": Bytes::copy_from_slice(data),
            "blobVersionedHashes": versioned_hashes,
            "maxFeePerBlobGas": U256::from(max_fee_per_blob_gas),
        });
        let v: U256 = self.req("eth_estimateGas", rpc_params![req]).await?;
        Ok(v.to::<u64>())
    }

    /// The blob with `versioned_hash`, from the L1 node (`anvil_getBlobByHash`). Execution
    /// clients do not serve blobs; this is the dev L1's method, and a beacon-API source is not
    /// built yet.
    pub async fn blob(&self, versioned_hash: B256) -> L1Result<Option<alloy_eips::eip4844::Blob>> {
        let v: Option<Bytes> = self
            .req("anvil_getBlobByHash", rpc_params![versioned_hash])
            .await?;
        match v {
            None => Ok(None),
            Some(b) => alloy_eips::eip4844::Blob::try_from(b.as_ref())
                .map(Some)
                .map_err(|_| {
                    L1Error::Decode(
                        "anvil_getBlobByHash",
                        format!("{} bytes is not a blob", b.len()),
                    )
                }),
        }
    }

    /// `eth_getLogs`.
    pub async fn logs(&self, filter: &Filter) -> L1Result<Vec<Log>> {
        self.req("eth_getLogs", rpc_params![filter]).await
    }
}

/// Signs an EIP-4844 transaction carrying `sidecar` to `to` and returns (hash, raw bytes in
/// the network form, with the sidecar).
#[allow(clippy::too_many_arguments)]
pub fn sign_eip4844(
    signer: &PrivateKeySigner,
    chain_id: u64,
    nonce: u64,
    to: Address,
    input: Vec<u8>,
    gas_limit: u64,
    fees: Fees,
    max_fee_per_blob_gas: u128,
    sidecar: alloy_eips::eip7594::BlobTransactionSidecarVariant,
) -> Result<(B256, Vec<u8>), alloy_signer::Error> {
    use alloy_consensus::{TxEip4844, TxEip4844Variant, TxEip4844WithSidecar};
    let tx = TxEip4844 {
        chain_id,
        nonce,
        gas_limit,
        max_fee_per_gas: fees.max_fee,
        max_priority_fee_per_gas: fees.tip,
        to,
        value: U256::ZERO,
        access_list: Default::default(),
        blob_versioned_hashes: sidecar.versioned_hashes().collect(),
        max_fee_per_blob_gas,
        input: input.into(),
    };
    let sig = signer.sign_hash_sync(&tx.signature_hash())?;
    // The transaction hash covers the transaction without its sidecar.
    let hash = *tx.clone().into_signed(sig).hash();
    let variant = TxEip4844Variant::TxEip4844WithSidecar(
        TxEip4844WithSidecar::from_tx_and_sidecar(tx, sidecar),
    );
    let envelope: TxEnvelope = variant.into_signed(sig).into();
    Ok((hash, envelope.encoded_2718()))
}

/// Signs an EIP-1559 transaction and returns (hash, raw bytes).
#[allow(clippy::too_many_arguments)]
pub fn sign_eip1559(
    signer: &PrivateKeySigner,
    chain_id: u64,
    nonce: u64,
    to: Option<Address>,
    input: Vec<u8>,
    value: U256,
    gas_limit: u64,
    fees: Fees,
) -> Result<(B256, Vec<u8>), alloy_signer::Error> {
    let tx = TxEip1559 {
        chain_id,
        nonce,
        gas_limit,
        max_fee_per_gas: fees.max_fee,
        max_priority_fee_per_gas: fees.tip,
        to: to.map_or(TxKind::Create, TxKind::Call),
        value,
        access_list: Default::default(),
        input: input.into(),
    };
    let sig = signer.sign_hash_sync(&tx.signature_hash())?;
    let envelope: TxEnvelope = tx.into_signed(sig).into();
    Ok((*envelope.tx_hash(), envelope.encoded_2718()))
}
