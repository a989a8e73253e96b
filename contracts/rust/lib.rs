//! The Lanes settlement contracts from Rust: bindings, bytecode, deployment, and the hashes and
//! Merkle trees that the node must compute exactly as the contracts do.
//!
//! - [`Rollup`], [`Bridge`], [`L2Withdrawals`], [`L2Deposits`]: `alloy_sol_types::sol!` bindings (with
//!   `#[sol(rpc)]` instances) generated from the committed artifacts in `contracts/artifacts/`;
//!   [`bytecode`] has the creation and deployed bytecode of each.
//! - [`deploy()`]: deploys Bridge and Rollup, wires them, returns the addresses (dev setup).
//! - [`hashes`]: batch hash, genesis batch hash, rolling deposit hash, data hashes.
//! - [`merkle`]: withdrawal leaves, the withdrawals root and inclusion proofs.
//! - [`anvil`]: spawns the pinned anvil (`node_modules/@foundry-rs/anvil-linux-amd64`, installed
//!   by `scripts/setup.sh`) on a free port and kills it on drop; anvil's well-known dev keys.
//!   Dev and test use only; the node's `--dev` mode uses it too.
//!
//! No feature flags. The L1 provider speaks plain HTTP (alloy-provider's `reqwest` transport
//! without TLS).

pub mod anvil;
mod bindings;
pub mod bytecode;
mod deploy;
mod error;
pub mod hashes;
pub mod merkle;

pub use bindings::{Bridge, L2Deposits, L2Withdrawals, Rollup};
pub use deploy::{DeployConfig, Deployment, deploy};
pub use error::{Error, Result};

use alloy_network::EthereumWallet;
use alloy_primitives::{Address, address};
use alloy_provider::{DynProvider, Provider, ProviderBuilder};
use alloy_signer_local::PrivateKeySigner;

/// Address of the L2Withdrawals system contract in the L2 genesis (`0x4c` = 'L').
pub const L2_WITHDRAWALS_ADDRESS: Address = address!("0x4c00000000000000000000000000000000000001");

/// Address of the L2Deposits system contract in the L2 genesis.
pub const L2_DEPOSITS_ADDRESS: Address = address!("0x4c00000000000000000000000000000000000002");

/// The private key of the L2 deposit system account, the only sender `L2Deposits` accepts.
///
/// It is public on purpose, like the sender of a deposit on other rollups: a deposit
/// transaction proves nothing by its signature. Safety comes from elsewhere: the node's pool
/// refuses every transaction from this account (only the block builder makes them, from the
/// Bridge's queue), and followers check that the rolling deposit hash on L2 after each batch
/// equals the batch header's, which `Rollup.commitBatch` checked against the L1 Bridge.
/// `keccak256("lanes/l2/deposit-system")`.
pub fn deposit_system_key() -> alloy_primitives::B256 {
    alloy_primitives::keccak256("lanes/l2/deposit-system")
}

/// The address of [`deposit_system_key`].
pub fn deposit_system_address() -> Address {
    PrivateKeySigner::from_bytes(&deposit_system_key())
        .expect("keccak of a fixed string is a valid secp256k1 key")
        .address()
}

/// An HTTP provider for `url` that signs with `signer` and fills gas, blob gas, nonce and
/// chain id.
///
/// Unlike `ProviderBuilder::new()`, it asks the node for the pending nonce on every
/// transaction: alloy's default cached nonce manager hands out a nonce before gas estimation,
/// so a transaction that fails estimation (a revert) burns that nonce, and every later
/// transaction from the sender then waits forever behind the gap.
pub fn signing_provider(url: &str, signer: PrivateKeySigner) -> Result<DynProvider> {
    let url = url.parse().map_err(|e: url::ParseError| Error::BadUrl {
        url: url.to_string(),
        reason: e.to_string(),
    })?;
    Ok(ProviderBuilder::new()
        .disable_recommended_fillers()
        .with_gas_estimation()
        .with_blob_gas_estimation()
        .with_simple_nonce_management()
        .fetch_chain_id()
        .wallet(EthereumWallet::from(signer))
        .connect_http(url)
        .erased())
}

/// Decodes the revert data carried by a failed contract call (from `eth_call`,
/// `eth_estimateGas` or a send) into an error enum such as [`Rollup::RollupErrors`] or
/// [`Bridge::BridgeErrors`]. `None` when the call did not revert with one of its errors.
pub fn decode_revert<E: alloy_sol_types::SolInterface>(err: &alloy_contract::Error) -> Option<E> {
    err.as_decoded_interface_error::<E>()
}

#[cfg(test)]
mod tests {
    #[test]
    fn deposit_system_key_is_a_key() {
        let a = super::deposit_system_address();
        assert_ne!(a, alloy_primitives::Address::ZERO);
        assert_eq!(a, super::deposit_system_address());
    }
}
