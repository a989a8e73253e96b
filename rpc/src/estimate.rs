//! `eth_estimateGas`: the smallest gas limit with which the call succeeds, found by binary search
//! over [`EthBackend::call`], the way geth does it.

use alloy_primitives::{TxKind, U256};
use alloy_rpc_types_eth::TransactionRequest;

use crate::{
    backend::{BackendError, CallOutcome, EthBackend},
    error::{Result, RpcError},
};

/// Gas of a plain transfer, the least any transaction needs.
const TX_GAS: u64 = 21_000;
/// Gas a CALL with value hands to the callee for free; refunds and stipends make the gas used
/// smaller than the gas needed.
const CALL_STIPEND: u64 = 2_300;
/// Stop searching once the bracket is this narrow relative to its top (geth: 1.5%): the answer
/// may be that much above the minimum, and takes a handful fewer executions.
const ESTIMATE_ERROR_RATIO: f64 = 0.015;

/// Estimates the gas `request` needs on top of the state of block `at`. Blocking: runs the call
/// up to ~20 times.
pub(crate) fn estimate_gas(
    backend: &dyn EthBackend,
    request: &TransactionRequest,
    at: u64,
) -> Result<u64> {
    let block_gas_limit = backend.block_gas_limit();
    let mut hi = match request.gas {
        Some(gas) if gas >= TX_GAS => gas.min(block_gas_limit),
        _ => block_gas_limit,
    };
    hi = hi.min(fee_allowance(backend, request, at)?);

    // A transfer to an account without code needs exactly the intrinsic gas.
    let no_input = request.input.input().is_none_or(|input| input.is_empty());
    if no_input
        && let Some(TxKind::Call(to)) = request.to
        && backend.code(to, at)?.is_empty()
        && succeeds(backend, request, at, TX_GAS)?
    {
        return Ok(TX_GAS);
    }

    let used = match backend.call(request, at, hi)? {
        CallOutcome::Success { gas_used, .. } => gas_used,
        CallOutcome::Revert { output, .. } => return Err(RpcError::Reverted { output }),
        CallOutcome::Halt { reason, .. } if is_out_of_gas(&reason) => {
            return Err(RpcError::GasRequiredExceedsAllowance { allowance: hi });
        }
        CallOutcome::Halt { reason, .. } => return Err(RpcError::Halted { reason }),
    };

    // It succeeded with `used` after refunds, so it cannot succeed with less than that.
    let mut lo = used.saturating_sub(1).max(TX_GAS - 1);
    // Most calls succeed with what they used plus what EIP-150 keeps back from sub-calls (1/64
    // at each level) and the value-call stipend: try that first, which usually leaves a
    // bracket of a few percent.
    let optimistic = used.saturating_add(CALL_STIPEND).saturating_mul(64) / 63;
    if optimistic < hi {
        if succeeds(backend, request, at, optimistic)? {
            hi = optimistic;
        } else {
            lo = optimistic;
        }
    }
    while lo + 1 < hi {
        if ((hi - lo) as f64) / (hi as f64) < ESTIMATE_ERROR_RATIO {
            break;
        }
        let mut mid = lo + (hi - lo) / 2;
        // Bias toward small limits: when the optimistic guess failed, the need is usually
        // closer to it than to the block gas limit.
        if mid > lo.saturating_mul(2) {
            mid = lo * 2;
        }
        if succeeds(backend, request, at, mid)? {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(hi)
}

/// Whether the call succeeds with `gas`. Any failure, including the backend refusing a limit
/// below the intrinsic gas, means "needs more"; only node failures are errors.
fn succeeds(
    backend: &dyn EthBackend,
    request: &TransactionRequest,
    at: u64,
    gas: u64,
) -> Result<bool> {
    match backend.call(request, at, gas) {
        Ok(outcome) => Ok(matches!(outcome, CallOutcome::Success { .. })),
        Err(BackendError::Rejected { .. } | BackendError::InvalidRequest(_)) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// The most gas the sender can pay for at the request's fee cap, after the value it sends.
fn fee_allowance(backend: &dyn EthBackend, request: &TransactionRequest, at: u64) -> Result<u64> {
    let fee_cap = request
        .max_fee_per_gas
        .or(request.gas_price)
        .unwrap_or_default();
    let (Some(from), true) = (request.from, fee_cap > 0) else {
        return Ok(u64::MAX);
    };
    let balance = backend
        .account(from, at)?
        .map_or(U256::ZERO, |account| account.balance);
    let value = request.value.unwrap_or_default();
    let Some(available) = balance.checked_sub(value) else {
        return Err(RpcError::InsufficientFundsForTransfer);
    };
    Ok((available / U256::from(fee_cap)).saturating_to())
}

/// Halts that mean "more gas would help".
fn is_out_of_gas(reason: &str) -> bool {
    let reason = reason.to_ascii_lowercase();
    reason.contains("out of gas") || reason.contains("outofgas")
}
