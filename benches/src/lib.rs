//! Benchmarks and load generation for the Lanes node.
//!
//! - [`contracts`]: the compiled Solidity contracts of `contracts/` (ABI and bytecode from the
//!   committed artifacts) and hand-written ABI encoders for the calls the workloads make.
//! - [`accounts`] and [`sign`]: dev-chain accounts derived from the standard test mnemonic and
//!   fast, parallel EIP-1559 signing with libsecp256k1.
//! - [`rpc`]: a small typed Ethereum JSON-RPC client (batched calls over jsonrpsee).
//! - [`loadgen`]: the `lanes-loadgen` load generator: set-up (fund senders, deploy the token),
//!   pre-signing, rate-controlled submission, inclusion tracking, end-state checks and the report.
//!
//! The crate has no feature flags. Benchmarks are not tests: a workload asserts its end state so
//! that a broken run cannot report a fast number.

pub mod accounts;
pub mod contracts;
pub mod error;
pub mod loadgen;
pub mod rpc;
pub mod sign;

pub use error::{Error, Result};
