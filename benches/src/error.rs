//! The crate's error type.

/// Errors of the load generator and its helpers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A JSON-RPC call failed (transport error or an error object from the node).
    #[error("{method} failed: {message}")]
    Rpc {
        /// The JSON-RPC method.
        method: &'static str,
        /// What the client or the node said.
        message: String,
    },
    /// The node answered, but not with what the standard says.
    #[error("unexpected {method} response: expected {expected}, got {got}")]
    BadResponse {
        /// The JSON-RPC method.
        method: &'static str,
        /// What a standard node returns.
        expected: String,
        /// What this node returned.
        got: String,
    },
    /// A transaction of the set-up phase did not succeed.
    #[error("set-up transaction {hash} ({what}) failed: {reason}")]
    SetupTx {
        /// What the transaction was for.
        what: String,
        /// Its hash.
        hash: alloy_primitives::B256,
        /// Why it failed (status 0, no receipt before the deadline, ...).
        reason: String,
    },
    /// The arguments ask for something impossible.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Key derivation or signing failed.
    #[error("key error: {0}")]
    Key(String),
}

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
