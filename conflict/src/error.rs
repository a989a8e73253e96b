use revm::context::result::EVMError;

use crate::{SkipReason, state::StateError};

/// Result alias for this crate.
pub type Result<T, E = ExecError> = std::result::Result<T, E>;

/// Why an executor could not execute a block at all. A transaction that is merely invalid
/// (bad nonce, unaffordable) is not an error: it is skipped and reported in
/// [`crate::BlockExecution::skipped`].
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// Reading committed state failed.
    #[error("state read failed: {0}")]
    State(#[from] StateError),
    /// The EVM reported a failure that is not the transaction's fault.
    #[error("evm failure executing transaction {index}: {message}")]
    Evm {
        /// Position of the transaction in the block.
        index: usize,
        /// What revm said.
        message: String,
    },
    /// A benchmark workload's end-state check failed, or the executors disagreed.
    #[error("benchmark check failed for {executor}: {message}")]
    Bench {
        /// The executor whose result failed.
        executor: &'static str,
        /// What was expected and what was found.
        message: String,
    },
}

impl ExecError {
    /// Sorts what revm returned for transaction `index` instead of a result: an invalid
    /// transaction is the transaction's fault and is skipped (`Ok` with the reason); a state
    /// read failure or any other EVM failure stops the block (`Err`). Every executor sorts
    /// revm's errors this way, so that they skip and fail on exactly the same cases.
    pub fn from_evm(index: usize, error: EVMError<StateError>) -> Result<SkipReason> {
        match error {
            EVMError::Transaction(invalid) => Ok(SkipReason::Invalid(invalid.to_string())),
            EVMError::Database(e) => Err(Self::State(e)),
            other => Err(Self::Evm {
                index,
                message: other.to_string(),
            }),
        }
    }
}
