//! L1 deposits on L2.
//!
//! A deposit is `Bridge.depositETH(to)` on L1: the Bridge queues it with an index and a rolling
//! hash (`DepositQueued`). The sequencer's L1 watcher reads the queue into a [`DepositQueue`]
//! once the event is `--l1.confirmations` deep; the block builder then puts one system
//! transaction per deposit at the start of the next block, in queue order:
//! `L2Deposits.finalizeDeposit(index, from, to, value, depositHash)`, an EIP-1559 transaction
//! signed by the public deposit system key (`lanes_contracts::deposit_system_key`) and paying
//! the block's base fee from that account's genesis balance. `L2Deposits` pays the recipient
//! from its reserve and recomputes the rolling hash, so the L2 state after a batch holds the
//! number of deposits consumed and the hash after them; the batch header states both,
//! `Rollup.commitBatch` checks them against the Bridge, and followers check them against
//! the L2 state they re-executed.
//!
//! Deposits are ordinary transactions to every other part of the node: the executors run them,
//! receipts carry `DepositFinalized`, RPC shows them. The pool refuses transactions from the
//! system account, so only the builder makes them.

use std::{collections::VecDeque, sync::OnceLock};

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope, transaction::Recovered};
use alloy_primitives::{Address, B256, TxKind, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::SolCall;
use lanes_conflict::{StateError, StateView};
use parking_lot::Mutex;

use crate::l1::contracts::{IL2Deposits, L2_DEPOSITS, deposit_system_key};

/// Most deposits the queue holds; the watcher stops reading L1 while it is full.
pub const MAX_QUEUED: usize = 65_536;
/// Most deposit transactions at the start of one block.
pub const MAX_PER_BLOCK: usize = 256;
/// Gas limit of a deposit transaction (the payment to the recipient may use
/// `L2Deposits.PAYMENT_GAS` = 100,000 of it).
pub const DEPOSIT_TX_GAS: u64 = 250_000;

/// `L2Deposits` storage slot of `depositHash`.
pub const SLOT_DEPOSIT_HASH: U256 = U256::from_limbs([1, 0, 0, 0]);
/// `L2Deposits` storage slot of `nextIndex` (a `uint64`, alone in its slot).
pub const SLOT_NEXT_INDEX: U256 = U256::from_limbs([2, 0, 0, 0]);

/// One deposit of the Bridge's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L1Deposit {
    /// Position in the queue.
    pub index: u64,
    /// L1 depositor.
    pub from: Address,
    /// L2 recipient.
    pub to: Address,
    /// Wei.
    pub value: U256,
    /// The Bridge's rolling hash after this deposit.
    pub deposit_hash: B256,
    /// L1 block of the `DepositQueued` event.
    pub l1_block: u64,
}

/// Deposits read from L1 and not yet on L2, in index order, bounded by [`MAX_QUEUED`].
#[derive(Debug, Default)]
pub struct DepositQueue {
    inner: Mutex<VecDeque<L1Deposit>>,
}

impl DepositQueue {
    /// Appends the next deposit. Returns `false` (and keeps nothing) when the queue is full or
    /// `d` does not follow the last queued deposit; the watcher then reads it again later.
    pub fn push(&self, d: L1Deposit) -> bool {
        let mut q = self.inner.lock();
        if q.len() >= MAX_QUEUED {
            return false;
        }
        if let Some(last) = q.back()
            && d.index != last.index + 1
        {
            return false;
        }
        q.push_back(d);
        true
    }

    /// Index the next pushed deposit must have, if any is queued.
    pub fn next_expected(&self) -> Option<u64> {
        self.inner.lock().back().map(|d| d.index + 1)
    }

    /// Number of queued deposits.
    pub fn len(&self) -> usize {
        self.inner.lock().len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.inner.lock().is_empty()
    }

    /// Drops the deposits below `next` (already on L2) and returns up to `max` from `next` on,
    /// leaving them queued until a later call shows them consumed.
    pub fn pending_from(&self, next: u64, max: usize) -> Vec<L1Deposit> {
        let mut q = self.inner.lock();
        while q.front().is_some_and(|d| d.index < next) {
            q.pop_front();
        }
        if q.front().is_some_and(|d| d.index != next) {
            // A gap (the watcher restarted past a deposit): nothing is includable until it is
            // read again, so start over from L2's position.
            q.clear();
            return Vec::new();
        }
        q.iter().take(max).copied().collect()
    }

    /// Forgets everything (the watcher rereads from L2's position).
    pub fn clear(&self) {
        self.inner.lock().clear();
    }
}

/// Deposits consumed on L2 at `state` and the rolling hash after them, read from `L2Deposits`'
/// storage.
pub fn l2_progress(state: &dyn StateView) -> Result<(u64, B256), StateError> {
    let next = state.storage(L2_DEPOSITS, SLOT_NEXT_INDEX)?;
    let hash = state.storage(L2_DEPOSITS, SLOT_DEPOSIT_HASH)?;
    // The slot holds a uint64; anything above is not what L2Deposits writes.
    let next = u64::try_from(next).unwrap_or(u64::MAX);
    Ok((next, B256::from(hash)))
}

fn system_signer() -> &'static PrivateKeySigner {
    static SIGNER: OnceLock<PrivateKeySigner> = OnceLock::new();
    SIGNER.get_or_init(|| {
        PrivateKeySigner::from_bytes(&deposit_system_key())
            .expect("keccak of a fixed string is a valid secp256k1 key")
    })
}

/// The deposit system account (sender of every deposit transaction).
pub fn system_address() -> Address {
    system_signer().address()
}

/// The signed system transaction that finalizes `d` on L2, with the system account's `nonce`,
/// paying exactly `base_fee` per gas (no tip).
pub fn deposit_tx(
    d: &L1Deposit,
    nonce: u64,
    base_fee: u64,
    chain_id: u64,
) -> Result<Recovered<TxEnvelope>, alloy_signer::Error> {
    let input = IL2Deposits::finalizeDepositCall {
        index: d.index,
        from: d.from,
        to: d.to,
        value: d.value,
        stated: d.deposit_hash,
    }
    .abi_encode();
    let tx = TxEip1559 {
        chain_id,
        nonce,
        gas_limit: DEPOSIT_TX_GAS,
        max_fee_per_gas: u128::from(base_fee),
        max_priority_fee_per_gas: 0,
        to: TxKind::Call(L2_DEPOSITS),
        value: U256::ZERO,
        access_list: Default::default(),
        input: input.into(),
    };
    let signer = system_signer();
    let sig = signer.sign_hash_sync(&tx.signature_hash())?;
    Ok(Recovered::new_unchecked(
        tx.into_signed(sig).into(),
        signer.address(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(index: u64) -> L1Deposit {
        L1Deposit {
            index,
            from: Address::repeat_byte(1),
            to: Address::repeat_byte(2),
            value: U256::from(index + 1),
            deposit_hash: B256::repeat_byte(index as u8),
            l1_block: index,
        }
    }

    #[test]
    fn queue_keeps_order_and_drops_consumed() {
        let q = DepositQueue::default();
        assert!(q.push(dep(3)));
        assert!(!q.push(dep(5)), "a gap is refused");
        assert!(q.push(dep(4)));
        assert_eq!(q.next_expected(), Some(5));
        assert_eq!(
            q.pending_from(3, 10)
                .iter()
                .map(|d| d.index)
                .collect::<Vec<_>>(),
            [3, 4]
        );
        assert_eq!(q.pending_from(4, 1), vec![dep(4)]);
        assert_eq!(q.len(), 1);
        // L2 behind the queue's first deposit: a gap, start over.
        let q = DepositQueue::default();
        assert!(q.push(dep(7)));
        assert!(q.pending_from(6, 10).is_empty());
        assert!(q.is_empty());
    }

    #[test]
    fn deposit_tx_is_signed_by_the_system_account() {
        use alloy_consensus::{Transaction, transaction::SignerRecoverable};
        let tx = deposit_tx(&dep(0), 9, 7, 1337).unwrap();
        assert_eq!(tx.signer(), system_address());
        assert_eq!(tx.inner().recover_signer().unwrap(), system_address());
        assert_eq!(tx.inner().nonce(), 9);
        assert_eq!(tx.inner().max_fee_per_gas(), 7);
        assert_eq!(tx.inner().to(), Some(L2_DEPOSITS));
        assert_eq!(system_address(), lanes_contracts::deposit_system_address());
    }
}
