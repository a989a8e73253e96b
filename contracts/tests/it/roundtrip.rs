//! Deposit on L1 -> withdrawal on L2 -> batch committed and finalized on L1 -> claim on L1.
//! A second anvil stands in for L2 (the node itself is tested elsewhere): the deposit is
//! credited there as the node would mint it, L2Withdrawals sits at its predeploy address, and
//! the withdrawals root is built from its events, the way the node builds it from receipts.

use crate::common::*;
use alloy_primitives::{Address, B256, U256};
use alloy_provider::{Provider, ext::AnvilApi};
use alloy_rpc_types_eth::Filter;
use alloy_sol_types::SolEvent;
use lanes_contracts::{
    Bridge::{self, Withdrawal},
    L2_WITHDRAWALS_ADDRESS, L2Withdrawals,
    anvil::Anvil,
    bytecode, hashes, merkle,
};

#[tokio::test]
async fn deposit_withdraw_finalize_claim() {
    let env = Env::new(true).await;
    let l2 = Anvil::spawn().unwrap();
    let l2_user = l2.dev_provider(USER).unwrap();
    l2_user
        .anvil_set_code(
            L2_WITHDRAWALS_ADDRESS,
            bytecode::l2_withdrawals_runtime().clone(),
        )
        .await
        .unwrap();

    // 1. Deposit 2 ETH on L1 to a fresh L2 account.
    let l2_recipient = Address::repeat_byte(0xd1);
    let deposit = U256::from(2) * U256::from(10u64.pow(18));
    let receipt = mined(
        env.bridge(&env.user)
            .depositETH(l2_recipient)
            .value(deposit),
    )
    .await;
    let queued = receipt.decoded_log::<Bridge::DepositQueued>().unwrap();
    let deposit_hash = hashes::deposit_hash(B256::ZERO, 0, addr(USER), l2_recipient, deposit);
    assert_eq!(queued.depositHash, deposit_hash);

    // 2. "L2": the deposit is minted to the recipient; the user then withdraws twice to L1.
    l2_user
        .anvil_set_balance(l2_recipient, deposit)
        .await
        .unwrap();
    assert_eq!(l2_user.get_balance(l2_recipient).await.unwrap(), deposit);
    let w = L2Withdrawals::new(L2_WITHDRAWALS_ADDRESS, &l2_user);
    let l1_recipients = [Address::repeat_byte(0xe1), Address::repeat_byte(0xe2)];
    let amounts = [
        U256::from(3) * U256::from(10u64.pow(17)),
        U256::from(10u64.pow(18)),
    ];
    for (to, amount) in l1_recipients.iter().zip(amounts) {
        mined(w.withdraw(*to).value(amount)).await;
    }

    // 3. The batch's withdrawals, in L2 order, from the system contract's events.
    let filter = Filter::new()
        .address(L2_WITHDRAWALS_ADDRESS)
        .event_signature(L2Withdrawals::WithdrawalInitiated::SIGNATURE_HASH)
        .from_block(0);
    let withdrawals: Vec<Withdrawal> = l2_user
        .get_logs(&filter)
        .await
        .unwrap()
        .iter()
        .map(|log| {
            let ev = log
                .log_decode::<L2Withdrawals::WithdrawalInitiated>()
                .unwrap()
                .inner
                .data;
            Withdrawal {
                id: ev.id,
                from: ev.from,
                to: ev.to,
                amount: ev.amount,
            }
        })
        .collect();
    assert_eq!(withdrawals.len(), 2);
    let leaves: Vec<B256> = withdrawals
        .iter()
        .map(|w| merkle::withdrawal_leaf(w.id, w.from, w.to, w.amount))
        .collect();
    let root = merkle::withdrawals_root(&leaves);

    // 4. Commit the batch on L1 (it consumed the one deposit) and finalize it.
    let l2_head = l2_user.get_block_number().await.unwrap();
    let mut h = env.next_header(l2_head, b"l2 blocks", root).await;
    assert_eq!((h.depositCount, h.depositHash), (1, deposit_hash));
    h.postStateRoot = l2_user
        .get_block_by_number(l2_head.into())
        .await
        .unwrap()
        .unwrap()
        .header
        .state_root;
    env.commit(&h, b"l2 blocks").await;
    mined(env.rollup(&env.seq).finalizeBatchUnproven(1)).await;

    // 5. Anyone claims each withdrawal on L1; the recipients are paid from the deposit.
    let b = env.bridge(&env.stranger);
    for (i, w) in withdrawals.iter().enumerate() {
        assert_eq!(env.balance(w.to).await, U256::ZERO);
        let proof = merkle::withdrawal_proof(&leaves, i).unwrap();
        mined(b.claimWithdrawal(1, w.clone(), U256::from(i), proof)).await;
        assert_eq!(env.balance(w.to).await, w.amount);
    }
    assert_eq!(
        env.balance(env.dep.bridge).await,
        deposit - amounts[0] - amounts[1]
    );
}
