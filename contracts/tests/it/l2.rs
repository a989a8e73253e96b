//! L2Withdrawals, deployed as the node does it: its runtime bytecode placed at the predeploy
//! address (here with `anvil_setCode` on an anvil standing in for L2).

use crate::common::*;
use alloy_primitives::{Address, U256};
use alloy_provider::{Provider, ext::AnvilApi};
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
