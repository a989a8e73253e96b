//! Creation and deployed (runtime) bytecode of each contract, from the committed artifacts.

use crate::{Bridge, L2Deposits, L2Withdrawals, Rollup};
use alloy_primitives::Bytes;

/// Creation bytecode of `Rollup` (constructor arguments go after it).
pub fn rollup_creation() -> &'static Bytes {
    &Rollup::BYTECODE
}

/// Deployed bytecode of `Rollup` (immutables are zero here; they are set at deployment).
pub fn rollup_deployed() -> &'static Bytes {
    &Rollup::DEPLOYED_BYTECODE
}

/// Creation bytecode of `Bridge`.
pub fn bridge_creation() -> &'static Bytes {
    &Bridge::BYTECODE
}

/// Deployed bytecode of `Bridge` (the `deployer` immutable is zero here).
pub fn bridge_deployed() -> &'static Bytes {
    &Bridge::DEPLOYED_BYTECODE
}

/// Creation bytecode of `L2Withdrawals`.
pub fn l2_withdrawals_creation() -> &'static Bytes {
    &L2Withdrawals::BYTECODE
}

/// Runtime bytecode of `L2Withdrawals`, which the node places at
/// [`crate::L2_WITHDRAWALS_ADDRESS`] in the L2 genesis (it has no constructor or immutables,
/// so this is exactly the code a deployment would leave).
pub fn l2_withdrawals_runtime() -> &'static Bytes {
    &L2Withdrawals::DEPLOYED_BYTECODE
}

/// Runtime bytecode of `L2Deposits`, which the node places at [`crate::L2_DEPOSITS_ADDRESS`] in
/// the L2 genesis with its storage (slot 0: the deposit system account).
pub fn l2_deposits_runtime() -> &'static Bytes {
    &L2Deposits::DEPLOYED_BYTECODE
}
