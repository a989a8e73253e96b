//! Block execution for Lanes: the [`Executor`] trait, the state view executors read from, the
//! state diff they produce, and the executors themselves.
//!
//! - [`SequentialExecutor`] runs a block's transactions one after another with revm. It is the
//!   reference every other executor is compared with.
//! - The parallel CPU executor (conflict detection over read/write sets, waves) and the GPU
//!   executor in `lanes-cuda-evm` implement the same trait.
//!
//! The crate has no feature flags.

mod error;
pub mod evm;
mod executor;
mod sequential;
pub mod state;

pub use error::{ExecError, Result};
pub use executor::{BlockContext, BlockExecution, Executor, IncludedTx, SkipReason, SkippedTx, TxOutcome};
pub use sequential::SequentialExecutor;
pub use state::{AccountDiff, InMemoryState, Overlay, StateDiff, StateError, StateView};
