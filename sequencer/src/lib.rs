//! The Lanes node: the `lanes` binary and its parts.
//!
//! - [`storage`]: MDBX tables for blocks, receipts, indices, plain state and change sets;
//! - [`trie`] and [`state`]: the Ethereum state root, maintained incrementally in memory;
//! - [`validate`] and [`pool`]: stateless transaction checks and the transaction pool;
//! - [`builder`]: block production on a fixed interval through an executor of
//!   `lanes-conflict`;
//! - [`node`]: the shared core and the JSON-RPC backend;
//! - [`chain`], [`cli`], [`launch`]: chain specs, configuration and start-up;
//! - [`statetest`]: `lanes statetest`, the GeneralStateTests runner of `lanes-cuda-evm`.
//! - [`l1`]: settlement on Ethereum (batcher, derivation, dev L1, `lanes_` RPC);
//! - [`deposits`]: L1 deposits as L2 system transactions.
//!
//! The crate has no feature flags.

pub mod bench;
pub mod builder;
pub mod chain;
pub mod cli;
pub mod commitment;
pub mod deposits;
pub mod l1;
pub mod launch;
pub mod node;
pub mod pool;
pub mod state;
pub mod statetest;
pub mod storage;
pub mod trie;
pub mod validate;
