//! Building revm for a block and converting transactions into revm's form.

use alloy_consensus::{Transaction, TxEnvelope, transaction::Recovered};
use alloy_eips::Typed2718;
use alloy_primitives::U256;
use revm::{
    Context, MainBuilder, MainContext,
    context::{BlockEnv, CfgEnv, TxEnv, result::ExecutionResult},
    context_interface::block::BlobExcessGasAndPrice,
    database_interface::Database,
    handler::MainnetEvm,
    primitives::{eip4844::BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN, hardfork::SpecId},
};

use crate::executor::{BlockContext, TxOutcome};

/// The hardfork Lanes executes under.
pub const SPEC: SpecId = SpecId::CANCUN;

/// revm's configuration for a chain.
pub fn cfg_env(chain_id: u64) -> CfgEnv {
    let mut cfg = CfgEnv::new_with_spec(SPEC);
    cfg.chain_id = chain_id;
    // Cancun's limit (EIP-4844: 786432 blob gas per block / 131072 per blob). revm checks it
    // only when configured.
    cfg.set_max_blobs_per_tx(MAX_BLOBS_PER_TX);
    cfg
}

/// Most blobs one transaction may carry under [`SPEC`].
pub const MAX_BLOBS_PER_TX: u64 = 6;

/// revm's block environment for `block`.
pub fn block_env(block: &BlockContext) -> BlockEnv {
    BlockEnv {
        number: U256::from(block.number),
        beneficiary: block.beneficiary,
        timestamp: U256::from(block.timestamp),
        gas_limit: block.gas_limit,
        basefee: block.base_fee,
        difficulty: U256::ZERO,
        prevrandao: Some(block.prevrandao),
        blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new(
            block.excess_blob_gas,
            BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN,
        )),
        ..Default::default()
    }
}

/// A mainnet revm over `db` for `block`.
pub fn build_evm<DB: Database>(
    block: &BlockContext,
    db: DB,
) -> MainnetEvm<Context<BlockEnv, TxEnv, CfgEnv, DB>> {
    Context::mainnet()
        .with_cfg(cfg_env(block.chain_id))
        .with_block(block_env(block))
        .with_db(db)
        .build_mainnet()
}

/// revm's transaction environment for a signed transaction with a recovered sender.
pub fn tx_env(tx: &Recovered<TxEnvelope>) -> TxEnv {
    let caller = tx.signer();
    let inner = tx.inner();
    TxEnv {
        tx_type: inner.ty(),
        caller,
        gas_limit: inner.gas_limit(),
        gas_price: inner.max_fee_per_gas(),
        kind: inner.kind(),
        value: inner.value(),
        data: inner.input().clone(),
        nonce: inner.nonce(),
        chain_id: inner.chain_id(),
        access_list: inner.access_list().cloned().unwrap_or_default(),
        gas_priority_fee: inner.max_priority_fee_per_gas(),
        blob_hashes: inner
            .blob_versioned_hashes()
            .map(<[_]>::to_vec)
            .unwrap_or_default(),
        max_fee_per_blob_gas: inner.max_fee_per_blob_gas().unwrap_or_default(),
        authorization_list: inner
            .authorization_list()
            .map(|list| {
                list.iter()
                    .cloned()
                    .map(revm::context_interface::either::Either::Left)
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Turns revm's result into our outcome, given the gas the block used before this transaction.
pub fn outcome(result: ExecutionResult, gas_before: u64) -> TxOutcome {
    let gas_used = result.tx_gas_used();
    let contract_address = if result.is_success() {
        result.created_address()
    } else {
        None
    };
    let (success, logs, output) = match result {
        ExecutionResult::Success { logs, output, .. } => (true, logs, output.into_data()),
        ExecutionResult::Revert { output, .. } => (false, Vec::new(), output),
        ExecutionResult::Halt { .. } => (false, Vec::new(), Default::default()),
    };
    TxOutcome {
        success,
        gas_used,
        cumulative_gas_used: gas_before + gas_used,
        logs,
        output,
        contract_address,
    }
}
