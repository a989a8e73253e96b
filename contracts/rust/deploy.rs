//! Deploying and wiring the L1 contracts (dev setup and tests).

use crate::{Bridge, Error, Result, Rollup};
use alloy_primitives::{Address, B256};
use alloy_provider::Provider;
use alloy_rpc_types_eth::TransactionReceipt;

/// What the Rollup is deployed with.
#[derive(Debug, Clone)]
pub struct DeployConfig {
    /// Address allowed to commit and revert batches.
    pub sequencer: Address,
    /// Address allowed to finalize batches (`finalizeBatch`).
    pub prover: Address,
    /// Enables `finalizeBatchUnproven` (local dev chains only).
    pub dev_mode: bool,
    /// L2 genesis state root (post state of batch 0).
    pub genesis_state_root: B256,
    /// L2 genesis block hash.
    pub genesis_block_hash: B256,
    /// Poseidon2 state commitment of the L2 genesis state (batch 0's).
    pub genesis_commitment: B256,
}

/// Addresses of a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deployment {
    /// The Rollup contract.
    pub rollup: Address,
    /// The Bridge contract.
    pub bridge: Address,
    /// L1 block the Rollup was deployed in (where a follower starts scanning for events).
    pub rollup_block: u64,
}

/// Deploys Bridge, then Rollup (with `cfg` and the Bridge's address), then calls
/// `Bridge.initialize(rollup)`, each from the provider's default sender and each awaited to a
/// successful receipt.
pub async fn deploy<P: Provider + Clone>(provider: &P, cfg: &DeployConfig) -> Result<Deployment> {
    let receipt = Bridge::deploy_builder(provider.clone())
        .send()
        .await
        .map_err(contract_err("deploying Bridge"))?
        .get_receipt()
        .await
        .map_err(pending_err("deploying Bridge"))?;
    let bridge = created_address("Bridge", &receipt)?;

    let receipt = Rollup::deploy_builder(
        provider.clone(),
        cfg.sequencer,
        cfg.prover,
        bridge,
        cfg.dev_mode,
        cfg.genesis_state_root,
        cfg.genesis_block_hash,
        cfg.genesis_commitment,
    )
    .send()
    .await
    .map_err(contract_err("deploying Rollup"))?
    .get_receipt()
    .await
    .map_err(pending_err("deploying Rollup"))?;
    let rollup = created_address("Rollup", &receipt)?;
    let rollup_block = receipt.block_number.unwrap_or_default();

    let receipt = Bridge::new(bridge, provider.clone())
        .initialize(rollup)
        .send()
        .await
        .map_err(contract_err("Bridge.initialize"))?
        .get_receipt()
        .await
        .map_err(pending_err("Bridge.initialize"))?;
    if !receipt.status() {
        return Err(Error::Reverted {
            what: "Bridge.initialize",
            tx: receipt.transaction_hash,
        });
    }
    Ok(Deployment {
        rollup,
        bridge,
        rollup_block,
    })
}

fn created_address(contract: &'static str, receipt: &TransactionReceipt) -> Result<Address> {
    let tx = receipt.transaction_hash;
    if !receipt.status() {
        return Err(Error::Reverted { what: contract, tx });
    }
    receipt
        .contract_address
        .ok_or(Error::NoContractAddress { contract, tx })
}

fn contract_err(what: &'static str) -> impl FnOnce(alloy_contract::Error) -> Error {
    move |e| Error::Contract {
        what,
        source: Box::new(e),
    }
}

fn pending_err(
    what: &'static str,
) -> impl FnOnce(alloy_provider::PendingTransactionError) -> Error {
    move |e| Error::Pending {
        what,
        source: Box::new(e),
    }
}
