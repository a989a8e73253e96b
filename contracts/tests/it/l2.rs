//! L2Withdrawals, deployed as the node does it: its runtime bytecode placed at the predeploy
//! address (here with `anvil_setCode` on an anvil standing in for L2).

use crate::common::*;
use alloy_primitives::{Address, U256};
use alloy_provider::{Provider, ext::AnvilApi};
use alloy_sol_types::SolCall;
use lanes_contracts::{
    L2_WITHDRAWALS_ADDRESS,
    L2Withdrawals::{self, L2WithdrawalsErrors},
    anvil::Anvil,
    bytecode,
};

#[tokio::test]
async fn withdraw_counts_locks_and_emits() {
    let l2 = Anvil::spawn().unwrap();
    let user = l2.dev_provider(USER).unwrap();
    user.anvil_set_code(
        L2_WITHDRAWALS_ADDRESS,
        bytecode::l2_withdrawals_runtime().clone(),
    )
    .await
    .unwrap();
    let w = L2Withdrawals::new(L2_WITHDRAWALS_ADDRESS, &user);
    assert_eq!(w.nextId().call().await.unwrap(), U256::ZERO);

    for i in 0..3u64 {
        let to = Address::repeat_byte(0x10 + i as u8);
        let amount = U256::from(1000 + i);
        let receipt = mined(w.withdraw(to).value(amount)).await;
        let ev = receipt
            .decoded_log::<L2Withdrawals::WithdrawalInitiated>()
            .unwrap();
        assert_eq!(ev.address, L2_WITHDRAWALS_ADDRESS);
        assert_eq!(
            (ev.id, ev.from, ev.to, ev.amount),
            (U256::from(i), addr(USER), to, amount)
        );
    }
    assert_eq!(w.nextId().call().await.unwrap(), U256::from(3));
    // The id counter is storage slot 0 (the node and tools may read it directly).
    assert_eq!(
        user.get_storage_at(L2_WITHDRAWALS_ADDRESS, U256::ZERO)
            .await
            .unwrap(),
        U256::from(3)
    );
    assert_eq!(
        user.get_balance(L2_WITHDRAWALS_ADDRESS).await.unwrap(),
        U256::from(3003)
    );

    let e: L2WithdrawalsErrors = reverts(w.withdraw(addr(USER))).await;
    assert!(matches!(e, L2WithdrawalsErrors::ZeroWithdrawal(_)), "{e:?}");
    // A plain transfer is not a withdrawal: no receive function, it reverts.
    let tx = alloy_rpc_types_eth::TransactionRequest::default()
        .to(L2_WITHDRAWALS_ADDRESS)
        .value(U256::from(1));
    assert!(user.estimate_gas(tx).await.is_err());

    // What a deployment leaves is exactly the runtime bytecode the genesis uses.
    let deployed = L2Withdrawals::deploy(&user).await.unwrap();
    assert_eq!(
        user.get_code_at(*deployed.address()).await.unwrap(),
        *bytecode::l2_withdrawals_runtime()
    );
}

/// L2Deposits placed as the node's genesis does (runtime code, slot 0 = the system account,
/// a reserve balance), driven by the public deposit system key.
#[tokio::test]
async fn deposits_finalize_in_order_with_the_bridge_hash() {
    use lanes_contracts::{
        L2_DEPOSITS_ADDRESS,
        L2Deposits::{self, L2DepositsErrors},
        deposit_system_address, deposit_system_key, hashes, signing_provider,
    };
    let l2 = Anvil::spawn().unwrap();
    let user = l2.dev_provider(USER).unwrap();
    let system = deposit_system_address();
    let reserve = U256::from(10u64.pow(24));
    user.anvil_set_code(L2_DEPOSITS_ADDRESS, bytecode::l2_deposits_runtime().clone())
        .await
        .unwrap();
    user.anvil_set_storage_at(
        L2_DEPOSITS_ADDRESS,
        U256::ZERO,
        alloy_primitives::B256::left_padding_from(system.as_slice()),
    )
    .await
    .unwrap();
    user.anvil_set_balance(L2_DEPOSITS_ADDRESS, reserve)
        .await
        .unwrap();
    user.anvil_set_balance(system, U256::from(10u64.pow(20)))
        .await
        .unwrap();
    let sys = signing_provider(
        &l2.endpoint(),
        alloy_signer_local::PrivateKeySigner::from_bytes(&deposit_system_key()).unwrap(),
    )
    .unwrap();
    let d = L2Deposits::new(L2_DEPOSITS_ADDRESS, &sys);
    assert_eq!(d.system().call().await.unwrap(), system);

    let from = addr(STRANGER);
    let to = Address::repeat_byte(0xd7);
    let value = U256::from(12345);
    let h0 = hashes::deposit_hash(alloy_primitives::B256::ZERO, 0, from, to, value);
    // Out of order, wrong hash, wrong sender: named errors, nothing changes.
    let e: L2DepositsErrors = reverts(d.finalizeDeposit(1, from, to, value, h0)).await;
    assert!(matches!(e, L2DepositsErrors::OutOfOrder(_)), "{e:?}");
    let e: L2DepositsErrors =
        reverts(d.finalizeDeposit(0, from, to, value + U256::from(1), h0)).await;
    assert!(
        matches!(e, L2DepositsErrors::DepositHashMismatch(_)),
        "{e:?}"
    );
    let as_user = L2Deposits::new(L2_DEPOSITS_ADDRESS, &user);
    let e: L2DepositsErrors = reverts(as_user.finalizeDeposit(0, from, to, value, h0)).await;
    assert!(matches!(e, L2DepositsErrors::NotSystem(_)), "{e:?}");

    let receipt = mined(d.finalizeDeposit(0, from, to, value, h0)).await;
    let ev = receipt
        .decoded_log::<L2Deposits::DepositFinalized>()
        .unwrap();
    assert_eq!(
        (ev.index, ev.from, ev.to, ev.value, ev.depositHash),
        (0, from, to, value, h0)
    );
    assert_eq!(user.get_balance(to).await.unwrap(), value);
    assert_eq!(d.nextIndex().call().await.unwrap(), 1);
    assert_eq!(d.depositHash().call().await.unwrap(), h0);
    // Replaying deposit 0 is out of order.
    let e: L2DepositsErrors = reverts(d.finalizeDeposit(0, from, to, value, h0)).await;
    assert!(matches!(e, L2DepositsErrors::OutOfOrder(_)), "{e:?}");

    // A recipient that refuses ETH (L2Withdrawals has no receive function): held, claimable
    // only by that address; the deposit still counts.
    user.anvil_set_code(
        L2_WITHDRAWALS_ADDRESS,
        bytecode::l2_withdrawals_runtime().clone(),
    )
    .await
    .unwrap();
    let h1 = hashes::deposit_hash(h0, 1, from, L2_WITHDRAWALS_ADDRESS, value);
    let receipt = mined(d.finalizeDeposit(1, from, L2_WITHDRAWALS_ADDRESS, value, h1)).await;
    assert!(receipt.decoded_log::<L2Deposits::DepositHeld>().is_some());
    assert_eq!(d.held(L2_WITHDRAWALS_ADDRESS).call().await.unwrap(), value);
    assert_eq!(d.nextIndex().call().await.unwrap(), 2);
    assert_eq!(
        user.get_balance(L2_DEPOSITS_ADDRESS).await.unwrap(),
        reserve - value
    );
    let e: L2DepositsErrors = reverts(as_user.claimHeld()).await;
    assert!(matches!(e, L2DepositsErrors::NothingHeld(_)), "{e:?}");
    // The held address itself claims: while it still refuses ETH the claim reverts
    // (TransferFailed) and stays held; once it takes ETH the claim pays once.
    l2.dev_provider(USER)
        .unwrap()
        .anvil_impersonate_account(L2_WITHDRAWALS_ADDRESS)
        .await
        .unwrap();
    user.anvil_set_balance(L2_WITHDRAWALS_ADDRESS, U256::from(10u64.pow(18)))
        .await
        .unwrap();
    let claim = || {
        let data = L2Deposits::claimHeldCall {}.abi_encode();
        alloy_rpc_types_eth::TransactionRequest::default()
            .from(L2_WITHDRAWALS_ADDRESS)
            .to(L2_DEPOSITS_ADDRESS)
            .input(data.into())
    };
    let err = user.estimate_gas(claim()).await.unwrap_err();
    assert!(
        err.to_string().contains("0x90b8ec18"),
        "TransferFailed: {err}"
    );
    user.anvil_set_code(L2_WITHDRAWALS_ADDRESS, Default::default())
        .await
        .unwrap();
    let before = user.get_balance(L2_WITHDRAWALS_ADDRESS).await.unwrap();
    // Sent unsigned from the impersonated address (eth_sendTransaction), not by the wallet.
    let hash: alloy_primitives::B256 = user
        .raw_request(
            "eth_sendTransaction".into(),
            (claim()
                .gas_limit(100_000)
                .max_fee_per_gas(10u128.pow(11))
                .max_priority_fee_per_gas(0),),
        )
        .await
        .unwrap();
    // anvil mines at once, but under load the receipt can lag the send by a moment.
    let mut receipt = None;
    for _ in 0..100 {
        receipt = user.get_transaction_receipt(hash).await.unwrap();
        if receipt.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let receipt = receipt.expect("anvil mined the claim within 5 s");
    assert!(receipt.status());
    let fee = U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);
    assert_eq!(
        user.get_balance(L2_WITHDRAWALS_ADDRESS).await.unwrap(),
        before + value - fee
    );
    assert_eq!(
        d.held(L2_WITHDRAWALS_ADDRESS).call().await.unwrap(),
        U256::ZERO
    );
    assert!(
        receipt
            .decoded_log::<L2Deposits::HeldClaimed>()
            .is_some_and(|e| e.value == value)
    );
}
