//! Contract tests against the pinned anvil, through the `lanes-contracts` bindings: every
//! function and every revert path of Rollup, Bridge and L2Withdrawals, the Rust hash and Merkle
//! helpers against the contracts' own results, blob commits with real EIP-4844 transactions,
//! and a deposit -> L2 withdrawal -> finalize -> claim round trip. Each test starts its own
//! anvil (killed on drop). Reverts are asserted by error name, decoded with the bindings.

mod blobs;
mod bridge;
mod common;
mod harness;
mod l2;
mod rollup;
mod roundtrip;
