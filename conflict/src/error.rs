use crate::state::StateError;

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
