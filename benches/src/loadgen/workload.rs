//! Which transaction index is sent by whom, with which nonce, doing what.

use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, Bytes, U256};

use super::{Mix, NATIVE_GAS, NATIVE_VALUE, TOKEN_AMOUNT, TOKEN_TRANSFER_GAS, setup::Setup};
use crate::{
    contracts,
    sign::{self, RawTx},
};

/// What one transaction does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxKind {
    /// Sends [`NATIVE_VALUE`] wei to the sender's recipient.
    Native,
    /// Transfers [`TOKEN_AMOUNT`] of `LanesToken` to the sender's recipient.
    Erc20,
}

/// The shape of a run: transaction `i` is sent by sender `i % accounts` with that sender's
/// `i / accounts`-th nonce, so each sender's transactions go out in nonce order, spread evenly
/// over time.
#[derive(Debug, Clone, Copy)]
pub struct Workload {
    /// Number of transactions.
    pub txs: usize,
    /// Number of senders.
    pub accounts: u32,
    /// Transaction mix.
    pub mix: Mix,
}

impl Workload {
    /// A workload of `txs` transactions over `accounts` senders.
    pub const fn new(txs: usize, accounts: u32, mix: Mix) -> Self {
        Self { txs, accounts, mix }
    }

    /// The sender of transaction `i`.
    pub const fn sender(&self, i: usize) -> usize {
        i % self.accounts as usize
    }

    /// Position of transaction `i` among its sender's transactions (its nonce offset).
    pub const fn position(&self, i: usize) -> usize {
        i / self.accounts as usize
    }

    /// What transaction `i` does.
    pub const fn kind(&self, i: usize) -> TxKind {
        match self.mix {
            Mix::Native => TxKind::Native,
            Mix::Erc20 => TxKind::Erc20,
            Mix::Both if self.position(i).is_multiple_of(2) => TxKind::Native,
            Mix::Both => TxKind::Erc20,
        }
    }

    /// Number of transactions of `kind` that `sender` sends.
    pub fn count(&self, sender: usize, kind: TxKind) -> usize {
        let k = self.accounts as usize;
        let total = self.txs / k + usize::from(sender < self.txs % k);
        match (self.mix, kind) {
            (Mix::Native, TxKind::Native) | (Mix::Erc20, TxKind::Erc20) => total,
            (Mix::Native, TxKind::Erc20) | (Mix::Erc20, TxKind::Native) => 0,
            (Mix::Both, TxKind::Native) => total.div_ceil(2),
            (Mix::Both, TxKind::Erc20) => total / 2,
        }
    }

    /// Whether the workload sends token transfers (and so needs the token deployed).
    pub fn uses_token(&self) -> bool {
        self.mix != Mix::Native
    }

    /// The most ETH `sender` can spend: value plus gas at the signed max fee.
    pub fn max_cost(&self, sender: usize, max_fee: u128) -> U256 {
        let native = self.count(sender, TxKind::Native) as u128;
        let erc20 = self.count(sender, TxKind::Erc20) as u128;
        U256::from(native * (u128::from(NATIVE_GAS) * max_fee + u128::from(NATIVE_VALUE)))
            + U256::from(erc20 * u128::from(TOKEN_TRANSFER_GAS) * max_fee)
    }

    /// The unsigned transaction `i`.
    pub fn build(&self, i: usize, setup: &Setup) -> TxEip1559 {
        let s = self.sender(i);
        let recipient = setup.recipients[s];
        let (to, value, input, gas_limit) = match self.kind(i) {
            TxKind::Native => (
                recipient,
                U256::from(NATIVE_VALUE),
                Bytes::new(),
                NATIVE_GAS,
            ),
            TxKind::Erc20 => (
                setup.token.unwrap_or(Address::ZERO),
                U256::ZERO,
                contracts::erc20_transfer(recipient, U256::from(TOKEN_AMOUNT)),
                TOKEN_TRANSFER_GAS,
            ),
        };
        TxEip1559 {
            chain_id: setup.chain_id,
            nonce: setup.base_nonces[s] + self.position(i) as u64,
            gas_limit,
            max_fee_per_gas: setup.max_fee,
            max_priority_fee_per_gas: setup.priority_fee,
            to: alloy_primitives::TxKind::Call(to),
            value,
            access_list: Default::default(),
            input,
        }
    }

    /// Builds and signs every transaction on all cores, in index order.
    pub fn sign(&self, setup: &Setup) -> Vec<RawTx> {
        sign::sign_all(self.txs, |i| {
            (self.build(i, setup), &setup.senders[self.sender(i)].key)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_indexes() {
        for mix in [Mix::Native, Mix::Erc20, Mix::Both] {
            let w = Workload::new(1_003, 7, mix);
            for kind in [TxKind::Native, TxKind::Erc20] {
                for s in 0..7 {
                    let by_index = (0..w.txs)
                        .filter(|&i| w.sender(i) == s && w.kind(i) == kind)
                        .count();
                    assert_eq!(w.count(s, kind), by_index, "{mix:?} {kind:?} sender {s}");
                }
            }
        }
    }
}
