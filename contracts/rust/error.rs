//! The crate's error type.

use alloy_primitives::B256;
use std::{path::PathBuf, time::Duration};

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong deploying or talking to the contracts, or running anvil.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A contract call or transaction failed (RPC error, revert, ABI decoding).
    #[error("{what}: {source}")]
    Contract {
        /// Which step failed.
        what: &'static str,
        /// The underlying error.
        #[source]
        source: Box<alloy_contract::Error>,
    },
    /// Waiting for a transaction's receipt failed.
    #[error("{what}: waiting for the receipt: {source}")]
    Pending {
        /// Which step failed.
        what: &'static str,
        /// The underlying error.
        #[source]
        source: Box<alloy_provider::PendingTransactionError>,
    },
    /// A transaction was mined but reverted.
    #[error("{what}: transaction {tx} reverted")]
    Reverted {
        /// Which step failed.
        what: &'static str,
        /// The transaction hash.
        tx: B256,
    },
    /// A contract-creation receipt had no contract address.
    #[error("deploying {contract}: receipt of {tx} has no contract address")]
    NoContractAddress {
        /// The contract being deployed.
        contract: &'static str,
        /// The transaction hash.
        tx: B256,
    },
    /// The pinned anvil binary is not installed.
    #[error("anvil not found at {}: run scripts/setup.sh (installs the pinned npm package @foundry-rs/anvil-linux-amd64)", path.display())]
    AnvilMissing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// Starting anvil failed.
    #[error("starting anvil ({}): {source}", path.display())]
    AnvilSpawn {
        /// The binary.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// anvil exited or did not answer JSON-RPC in time.
    #[error("anvil on port {port} did not become ready within {waited:?}: {reason}")]
    AnvilNotReady {
        /// The port it was given.
        port: u16,
        /// How long we waited.
        waited: Duration,
        /// What was seen (exit status, last connection error).
        reason: String,
    },
    /// An RPC URL did not parse.
    #[error("bad RPC URL {url:?}: {reason}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// Why it is not a URL.
        reason: String,
    },
    /// A dev key could not be derived from the test mnemonic.
    #[error("deriving dev key {index}: {reason}")]
    DevKey {
        /// Account index.
        index: u32,
        /// What failed.
        reason: String,
    },
}
