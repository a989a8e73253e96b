//! The crate's error type and its mapping to JSON-RPC error objects.
//!
//! Codes follow what clients key on: -32602 for bad params, -32601 (from jsonrpsee) for unknown
//! methods, 3 with the revert bytes in `data` for reverted calls, -32000 with geth's messages
//! for execution and pool errors, -32005 for "limit exceeded" (EIP-1474), 4 for an
//! `eth_sendRawTransactionSync` timeout (EIP-7966), -32603 for failures inside the node.

use std::net::SocketAddr;

use alloy_primitives::{B256, Bytes};
use alloy_sol_types::{Revert, SolError};
use jsonrpsee::types::{
    ErrorObjectOwned,
    error::{CALL_EXECUTION_FAILED_CODE, INTERNAL_ERROR_CODE, INVALID_PARAMS_CODE},
};

use crate::backend::BackendError;

/// Result alias of this crate.
pub type Result<T, E = RpcError> = std::result::Result<T, E>;

/// JSON-RPC code of a reverted `eth_call` / `eth_estimateGas` (geth, reth, execution-apis).
pub const EXECUTION_REVERTED_CODE: i32 = 3;
/// JSON-RPC code of an `eth_sendRawTransactionSync` that timed out (EIP-7966).
pub const TX_SYNC_TIMEOUT_CODE: i32 = 4;
/// JSON-RPC code for "limit exceeded" (EIP-1474).
pub const LIMIT_EXCEEDED_CODE: i32 = -32005;

/// Everything that can go wrong in this crate. Each variant maps to one JSON-RPC error object
/// (see [`RpcError::code`]).
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The params parsed but make no sense (bad percentiles, inverted range, ...).
    #[error("{0}")]
    InvalidParams(String),
    /// The backend refused a transaction; code and message pass through verbatim.
    #[error("{message}")]
    Rejected {
        /// JSON-RPC code chosen by the backend.
        code: i32,
        /// geth-compatible message.
        message: String,
    },
    /// The simulated call executed REVERT.
    #[error("{}", revert_message(.output))]
    Reverted {
        /// Revert data, returned in `error.data`.
        output: Bytes,
    },
    /// The simulated call halted exceptionally.
    #[error("{reason}")]
    Halted {
        /// Why, e.g. `out of gas`.
        reason: String,
    },
    /// `eth_estimateGas`: the call fails even with all the gas it may have.
    #[error("gas required exceeds allowance ({allowance})")]
    GasRequiredExceedsAllowance {
        /// The highest gas limit tried.
        allowance: u64,
    },
    /// `eth_estimateGas`: the sender cannot pay the value it sends.
    #[error("insufficient funds for transfer")]
    InsufficientFundsForTransfer,
    /// The backend does not (or no longer) hold state for that block.
    #[error("{0}")]
    StateUnavailable(BackendError),
    /// A state query named a block number above the head.
    #[error("header not found")]
    HeaderNotFound,
    /// A query named a block hash the node does not know.
    #[error("header for hash not found")]
    BlockHashNotFound {
        /// The hash asked for.
        hash: B256,
    },
    /// `eth_feeHistory` asked for a newest block above the head.
    #[error("request beyond head block: requested {requested}, head {head}")]
    RequestBeyondHead {
        /// Block asked for.
        requested: u64,
        /// Current head.
        head: u64,
    },
    /// The backend cannot simulate the request.
    #[error("{0}")]
    InvalidRequest(String),
    /// A raw transaction larger than the limit.
    #[error("oversized data: transaction size {size}, limit {max}")]
    OversizedTransaction {
        /// Bytes received.
        size: usize,
        /// Limit in bytes.
        max: usize,
    },
    /// `eth_sendRawTransactionSync` gave up waiting; the transaction is still in the pool.
    #[error("The transaction was added to the mempool but wasn't processed in {timeout_ms}ms.")]
    TxSyncTimeout {
        /// Hash of the submitted transaction, returned in `error.data`.
        hash: B256,
        /// How long we waited.
        timeout_ms: u64,
    },
    /// A log query spans too many blocks.
    #[error("query exceeds max block range {max}: requested {requested} blocks")]
    LogsBlockRangeTooLarge {
        /// Blocks asked for.
        requested: u64,
        /// Limit.
        max: u64,
    },
    /// A log query matched too many logs.
    #[error(
        "query exceeds max results {max}, retry with the range {from}-{last_fitting} \
         or narrow the filter"
    )]
    TooManyLogs {
        /// Limit.
        max: usize,
        /// First block of the query.
        from: u64,
        /// Last block whose logs fit in the limit.
        last_fitting: u64,
    },
    /// A filter id that is not installed (never was, expired, or uninstalled).
    #[error("filter not found")]
    FilterNotFound,
    /// The node holds as many filters as it allows.
    #[error("too many filters installed (limit {max}); uninstall some or poll with eth_getLogs")]
    TooManyFilters {
        /// Limit.
        max: usize,
    },
    /// A log query by block hash named an unknown block.
    #[error("unknown block")]
    UnknownBlock,
    /// Binding the server's socket failed.
    #[error("failed to bind JSON-RPC server to {addr}: {source}")]
    Bind {
        /// Address we tried.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A failure inside the node (storage, a crashed task).
    #[error("internal error: {0}")]
    Internal(String),
}

impl RpcError {
    /// The JSON-RPC error code this error is answered with.
    pub const fn code(&self) -> i32 {
        match self {
            Self::InvalidParams(_) => INVALID_PARAMS_CODE,
            Self::Rejected { code, .. } => *code,
            Self::Reverted { .. } => EXECUTION_REVERTED_CODE,
            Self::TxSyncTimeout { .. } => TX_SYNC_TIMEOUT_CODE,
            Self::LogsBlockRangeTooLarge { .. }
            | Self::TooManyLogs { .. }
            | Self::TooManyFilters { .. } => LIMIT_EXCEEDED_CODE,
            Self::Halted { .. }
            | Self::GasRequiredExceedsAllowance { .. }
            | Self::InsufficientFundsForTransfer
            | Self::StateUnavailable(_)
            | Self::HeaderNotFound
            | Self::BlockHashNotFound { .. }
            | Self::RequestBeyondHead { .. }
            | Self::InvalidRequest(_)
            | Self::OversizedTransaction { .. }
            | Self::FilterNotFound
            | Self::UnknownBlock => CALL_EXECUTION_FAILED_CODE,
            Self::Bind { .. } | Self::Internal(_) => INTERNAL_ERROR_CODE,
        }
    }
}

/// `execution reverted`, with `: <reason>` when the data is a Solidity `Error(string)`.
fn revert_message(output: &Bytes) -> String {
    match Revert::abi_decode(output) {
        Ok(revert) => format!("execution reverted: {}", revert.reason),
        Err(_) => "execution reverted".to_owned(),
    }
}

impl From<BackendError> for RpcError {
    fn from(err: BackendError) -> Self {
        match err {
            BackendError::Rejected { code, message } => Self::Rejected { code, message },
            err @ BackendError::StateUnavailable { .. } => Self::StateUnavailable(err),
            BackendError::InvalidRequest(message) => Self::InvalidRequest(message),
            BackendError::Internal(message) => Self::Internal(message),
        }
    }
}

impl From<RpcError> for ErrorObjectOwned {
    fn from(err: RpcError) -> Self {
        let code = err.code();
        match &err {
            RpcError::Reverted { output } => {
                ErrorObjectOwned::owned(code, err.to_string(), Some(output))
            }
            RpcError::TxSyncTimeout { hash, .. } => {
                ErrorObjectOwned::owned(code, err.to_string(), Some(hash))
            }
            RpcError::Internal(_) | RpcError::Bind { .. } => {
                tracing::error!(target: "lanes::rpc", error = %err, "internal error answered");
                ErrorObjectOwned::owned(code, err.to_string(), None::<()>)
            }
            _ => ErrorObjectOwned::owned(code, err.to_string(), None::<()>),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::hex;

    #[test]
    fn revert_with_error_string_carries_the_reason() {
        let output = Bytes::from(Revert::from("nope").abi_encode());
        let obj = ErrorObjectOwned::from(RpcError::Reverted {
            output: output.clone(),
        });
        assert_eq!(obj.code(), 3);
        assert_eq!(obj.message(), "execution reverted: nope");
        let data: Bytes = serde_json::from_str(obj.data().unwrap().get()).unwrap();
        assert_eq!(data, output);
    }

    #[test]
    fn revert_with_custom_error_has_plain_message_and_data() {
        let output = Bytes::from(hex!("deadbeef"));
        let obj = ErrorObjectOwned::from(RpcError::Reverted { output });
        assert_eq!(obj.code(), 3);
        assert_eq!(obj.message(), "execution reverted");
        assert_eq!(obj.data().unwrap().get(), "\"0xdeadbeef\"");
    }

    #[test]
    fn empty_revert_has_data() {
        let obj = ErrorObjectOwned::from(RpcError::Reverted {
            output: Bytes::new(),
        });
        assert_eq!(obj.message(), "execution reverted");
        assert_eq!(obj.data().unwrap().get(), "\"0x\"");
    }

    #[test]
    fn backend_errors_map_to_codes() {
        let rejected: RpcError = BackendError::Rejected {
            code: -32000,
            message: "nonce too low: next nonce 7, tx nonce 5".into(),
        }
        .into();
        let obj = ErrorObjectOwned::from(rejected);
        assert_eq!(
            (obj.code(), obj.message()),
            (-32000, "nonce too low: next nonce 7, tx nonce 5")
        );

        let unavailable: RpcError = BackendError::StateUnavailable {
            requested: 1,
            oldest: 5,
            head: 9,
        }
        .into();
        let obj = ErrorObjectOwned::from(unavailable);
        assert_eq!(obj.code(), -32000);
        assert_eq!(
            obj.message(),
            "state for block 1 is not available (available: 5..=9)"
        );

        let internal: RpcError = BackendError::Internal("disk on fire".into()).into();
        assert_eq!(ErrorObjectOwned::from(internal).code(), -32603);
    }

    #[test]
    fn sync_timeout_carries_hash() {
        let hash = B256::repeat_byte(0xab);
        let obj = ErrorObjectOwned::from(RpcError::TxSyncTimeout {
            hash,
            timeout_ms: 5000,
        });
        assert_eq!(obj.code(), 4);
        assert!(obj.message().contains("5000ms"));
        assert_eq!(obj.data().unwrap().get(), format!("\"{hash}\""));
    }
}
