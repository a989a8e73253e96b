//! Deferred beneficiary fees.
//!
//! Every transaction pays the block beneficiary, so if speculative execution paid it as revm
//! does, every pair of transactions would conflict on the beneficiary's balance. Speculative
//! runs therefore use `DeferredFeeHandler`: revm's mainnet handler with the final payment
//! replaced by recording its amount (priority fee times gas used). The committer queues the
//! amounts of the results it commits and pays them, in block order, right before anything must
//! see the beneficiary (a transaction it executes itself) and at the end of the block. Each
//! payment reproduces revm's own step exactly: the account is loaded without its code, its
//! balance raised unless that overflows, and it is touched, so that an account left empty is
//! deleted (EIP-161). Queued payments collapse into one once the account is non-empty (each is
//! then a pure balance increase); a zero first fee on an empty beneficiary is replayed one by
//! one, since revm deletes the account there before later fees recreate it.
//!
//! This is exact as long as nothing observes the beneficiary in between: a transaction whose
//! speculative run loaded the beneficiary's account (`BALANCE`, `SELFBALANCE` of the
//! beneficiary itself, a call or value transfer to it, the beneficiary sending a transaction)
//! is never committed from that run. The committer pays the queued fees and executes it again
//! in block order with revm's own handler, so it sees the beneficiary exactly as sequential
//! execution does and pays its own fee as revm does. A transaction that does not load the
//! beneficiary cannot write it either, so deferring the payments past it changes nothing.

use std::{cell::Cell, marker::PhantomData};

use alloy_primitives::U256;
use revm::{
    ExecuteEvm,
    context::{BlockEnv, CfgEnv, Context, ContextSetters, TxEnv},
    context_interface::{
        Block, Cfg, ContextTr, JournalTr, Transaction,
        result::{EVMError, ExecResultAndState, ExecutionResult, HaltReason, InvalidTransaction},
    },
    database_interface::Database,
    handler::{EvmTr, EvmTrError, FrameResult, FrameTr, Handler, MainnetEvm},
    interpreter::interpreter_action::FrameInit,
    primitives::hardfork::SpecId,
    state::EvmState,
};

/// revm's mainnet handler, except that the beneficiary is not paid: the fee it would have
/// received is recorded in [`DeferredFeeHandler::fee`] instead.
pub(crate) struct DeferredFeeHandler<EVM, ERROR, FRAME> {
    fee: Cell<U256>,
    _phantom: PhantomData<(EVM, ERROR, FRAME)>,
}

impl<EVM, ERROR, FRAME> Default for DeferredFeeHandler<EVM, ERROR, FRAME> {
    fn default() -> Self {
        Self {
            fee: Cell::new(U256::ZERO),
            _phantom: PhantomData,
        }
    }
}

impl<EVM, ERROR, FRAME> Handler for DeferredFeeHandler<EVM, ERROR, FRAME>
where
    EVM: EvmTr<Context: ContextTr<Journal: JournalTr<State = EvmState>>, Frame = FRAME>,
    ERROR: EvmTrError<EVM>,
    FRAME: FrameTr<FrameResult = FrameResult, FrameInit = FrameInit>,
{
    type Evm = EVM;
    type Error = ERROR;
    type HaltReason = HaltReason;

    fn reward_beneficiary(
        &self,
        evm: &mut EVM,
        exec_result: &mut FrameResult,
    ) -> Result<(), ERROR> {
        // The amount revm's `post_execution::reward_beneficiary` would add.
        let ctx = evm.ctx_ref();
        if ctx.cfg().is_fee_charge_disabled() {
            return Ok(());
        }
        let basefee = u128::from(ctx.block().basefee());
        let effective_gas_price = ctx.tx().effective_gas_price(basefee);
        let coinbase_gas_price = if ctx.cfg().spec().into().is_enabled_in(SpecId::LONDON) {
            effective_gas_price.saturating_sub(basefee)
        } else {
            effective_gas_price
        };
        let gas = exec_result.gas();
        let effective_used = gas.used().saturating_sub(gas.reservoir());
        self.fee
            .set(U256::from(coinbase_gas_price * u128::from(effective_used)));
        Ok(())
    }
}

/// revm's result and state changes for one transaction, plus the fee the beneficiary is owed.
pub(crate) type DeferredOutcome = (ExecResultAndState<ExecutionResult, EvmState>, U256);

/// Executes `tx` like `ExecuteEvm::transact`, but records the beneficiary's fee instead of
/// paying it.
pub(crate) fn transact_deferred<DB: Database>(
    evm: &mut MainnetEvm<Context<BlockEnv, TxEnv, CfgEnv, DB>>,
    tx: TxEnv,
) -> Result<DeferredOutcome, EVMError<DB::Error, InvalidTransaction>> {
    evm.ctx.set_tx(tx);
    let mut handler =
        DeferredFeeHandler::<_, EVMError<DB::Error, InvalidTransaction>, _>::default();
    let result = handler.run(evm);
    let state = evm.finalize();
    let result = result?;
    Ok((ExecResultAndState::new(result, state), handler.fee.get()))
}
