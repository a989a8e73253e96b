//! The reference executor: one transaction after another.

use alloy_consensus::{Transaction, TxEnvelope, transaction::Recovered};
use revm::ExecuteEvm;

use crate::{
    ExecError, Result,
    evm::{build_evm, outcome, tx_env},
    executor::{BlockContext, BlockExecution, Executor, IncludedTx, SkipReason, SkippedTx},
    state::{Overlay, StateView},
};

/// Executes a block's transactions sequentially with revm, in block order.
#[derive(Debug, Default, Clone, Copy)]
pub struct SequentialExecutor;

impl Executor for SequentialExecutor {
    fn name(&self) -> &'static str {
        "sequential"
    }

    fn execute_block(
        &self,
        block: &BlockContext,
        txs: &[Recovered<TxEnvelope>],
        state: &dyn StateView,
    ) -> Result<BlockExecution> {
        let mut evm = build_evm(block, Overlay::new(state));
        let mut out = BlockExecution::default();
        for (index, tx) in txs.iter().enumerate() {
            let available = block.gas_limit - out.gas_used;
            if tx.gas_limit() > available {
                let reason = SkipReason::BlockFull {
                    available,
                    gas_limit: tx.gas_limit(),
                };
                out.skipped.push(SkippedTx { index, reason });
                continue;
            }
            match evm.transact(tx_env(tx)) {
                Ok(result) => {
                    evm.ctx.journaled_state.database.apply(result.state);
                    let outcome = outcome(result.result, out.gas_used);
                    out.gas_used = outcome.cumulative_gas_used;
                    out.included.push(IncludedTx { index, outcome });
                }
                Err(error) => {
                    let reason = ExecError::from_evm(index, error)?;
                    out.skipped.push(SkippedTx { index, reason });
                }
            }
        }
        out.diff = evm.ctx.journaled_state.database.into_diff();
        Ok(out)
    }
}
