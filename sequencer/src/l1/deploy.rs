//! Deploys `Bridge` and `Rollup` (bytecode from `lanes-contracts`, i.e. the committed artifacts) and wires
//! them (`Bridge.initialize(rollup)`).

use std::time::{Duration, Instant};

use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, SolValue};
use eyre::{WrapErr, eyre};

use super::client::{L1Client, sign_eip1559};

/// Runtime bytecode of the `L2Deposits` predeploy.
pub fn l2_deposits_code() -> Bytes {
    lanes_contracts::bytecode::l2_deposits_runtime().clone()
}

/// Runtime bytecode of the `L2Withdrawals` predeploy.
pub fn l2_withdrawals_code() -> Bytes {
    lanes_contracts::bytecode::l2_withdrawals_runtime().clone()
}

/// Waits for a receipt (up to 60 s).
pub async fn wait_receipt(
    l1: &L1Client,
    hash: B256,
) -> eyre::Result<alloy_rpc_types_eth::TransactionReceipt> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(r) = l1.receipt(hash).await? {
            return Ok(r);
        }
        if Instant::now() > deadline {
            return Err(eyre!("L1 transaction {hash} not mined within 60 s"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Deploys Bridge and Rollup with `signer` as deployer and sequencer and `prover` as the
/// prover; `genesis` is the L2 genesis state root, block hash and state commitment. Returns
/// (rollup, bridge).
pub async fn deploy(
    l1: &L1Client,
    signer: &PrivateKeySigner,
    prover: Address,
    dev: bool,
    genesis: [B256; 3],
) -> eyre::Result<(Address, Address)> {
    let [genesis_state_root, genesis_hash, genesis_commitment] = genesis;
    let chain_id = l1.chain_id().await?;
    let me = signer.address();
    let nonce = l1.nonce(me, "pending").await?;
    let fees = l1.fees().await?;
    let bridge = me.create(nonce);
    let rollup = me.create(nonce + 1);
    let mut rollup_code = lanes_contracts::bytecode::rollup_creation().to_vec();
    let bridge_code = lanes_contracts::bytecode::bridge_creation().to_vec();
    if rollup_code.is_empty() || bridge_code.is_empty() {
        return Err(eyre!(
            "contract artifacts have no bytecode (contracts/artifacts)"
        ));
    }
    rollup_code.extend(
        (
            me,
            prover,
            bridge,
            dev,
            genesis_state_root,
            genesis_hash,
            genesis_commitment,
        )
            .abi_encode_params(),
    );
    let txs = [
        (None, bridge_code, 3_000_000u64),
        (None, rollup_code, 5_000_000),
        (
            Some(bridge),
            lanes_contracts::Bridge::initializeCall { rollup_: rollup }.abi_encode(),
            200_000,
        ),
    ];
    let mut last = B256::ZERO;
    for (i, (to, input, gas)) in txs.into_iter().enumerate() {
        let (_, raw) = sign_eip1559(
            signer,
            chain_id,
            nonce + i as u64,
            to,
            input,
            U256::ZERO,
            gas,
            fees,
        )?;
        last = l1
            .send_raw(&raw)
            .await
            .wrap_err("deploying the L1 contracts")?;
    }
    let receipt = wait_receipt(l1, last).await?;
    if !receipt.status() {
        return Err(eyre!("Bridge.initialize reverted in {last}"));
    }
    for address in [bridge, rollup] {
        if l1.code(address).await?.is_empty() {
            return Err(eyre!("deploying to {address} failed: no code there"));
        }
    }
    Ok((rollup, bridge))
}
