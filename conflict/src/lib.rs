//! Block execution for Lanes: the [`Executor`] trait, the state view executors read from, the
//! state diff they produce, and the executors themselves.
//!
//! - [`SequentialExecutor`] runs a block's transactions one after another with revm. It is the
//!   reference every other executor is compared with.
//! - [`ParallelExecutor`] (`cpu-parallel`) runs them in optimistic parallel waves on all cores
//!   and commits in block order, with a result identical to the sequential one (see
//!   [`parallel`]). Access sets are recorded by [`access`], transactions grouped by the hints
//!   of [`hints`], and the beneficiary's fees paid lazily
//!   ([`fees`]).
//! - The GPU executor in `lanes-cuda-evm` implements the same trait.
//! - [`workloads`] holds the benchmark workloads (signed blocks with end-state checks) and
//!   [`workloads::run_bench`], shared by the benches and `lanes bench`.
//!
//! - [`memory::configure_allocator`] keeps the memory a block frees for the next block and has
//!   what one thread frees of another's sorted in at once; binaries that execute blocks call it
//!   at start-up.
//!
//! The crate has no feature flags.

pub mod access;
mod error;
pub mod evm;
mod executor;
pub mod fees;
pub mod hints;
pub mod memory;
pub mod parallel;
mod prefetch;
mod sequential;
pub mod sorted;
pub mod state;
pub mod workloads;

pub use access::StateKey;
pub use error::{ExecError, Result};
pub use executor::{
    BlockContext, BlockExecution, Executor, IncludedTx, SkipReason, SkippedTx, TxOutcome,
};
pub use hints::{HotEntry, HotKeys};
pub use parallel::{ExecStats, ParallelExecutor, PhaseTimes, WaveStats};
pub use sequential::SequentialExecutor;
pub use sorted::SortedMap;
pub use state::{AccountDiff, InMemoryState, Overlay, StateDiff, StateError, StateView};
