//! `sol!` bindings generated from the committed artifacts in `contracts/artifacts/`, so the
//! ABI, the creation bytecode and the deployed bytecode used from Rust are exactly what
//! `node contracts/build.mjs` wrote (and `contracts/check.mjs` keeps in sync with the sources).
//!
//! Each contract module has the calls (`Rollup::commitBatchCall`), events
//! (`Rollup::BatchCommitted`), errors (`Rollup::RollupErrors`, with one variant per custom
//! error), structs (`Rollup::BatchHeader`), an RPC instance type (`Rollup::RollupInstance`,
//! from `#[sol(rpc)]`), `deploy`/`deploy_builder`, and `BYTECODE` / `DEPLOYED_BYTECODE`.

#![allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]

use alloy_sol_types::sol;

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq, Default)]
    Rollup,
    "artifacts/Rollup.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq, Default)]
    Bridge,
    "artifacts/Bridge.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq, Default)]
    L2Withdrawals,
    "artifacts/L2Withdrawals.json"
);

sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq, Default)]
    L2Deposits,
    "artifacts/L2Deposits.json"
);
