//! The Ethereum state root, maintained incrementally in memory.
//!
//! The account trie and one storage trie per contract live in memory with cached node hashes
//! ([`crate::trie::Trie`]); each block's [`StateDiff`] updates only the touched paths. Storage
//! roots of the changed accounts are recomputed in parallel. At start-up the tries are rebuilt
//! once from the plain state in MDBX and the result must equal the head header's state root,
//! which catches a data dir whose state and headers disagree.

use std::collections::HashMap;

use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_trie::TrieAccount;
use lanes_conflict::StateDiff;
use rayon::prelude::*;
use revm::state::AccountInfo;

use crate::trie::{EMPTY_ROOT_HASH, Trie};

/// In-memory account and storage tries.
#[derive(Debug, Default, Clone)]
pub struct StateTries {
    accounts: Trie,
    storage: HashMap<Address, Trie>,
    infos: HashMap<Address, AccountInfo>,
}

fn account_leaf(info: &AccountInfo, storage_root: B256) -> Vec<u8> {
    let account = TrieAccount {
        nonce: info.nonce,
        balance: info.balance,
        storage_root,
        code_hash: info.code_hash,
    };
    alloy_rlp::encode(account)
}

impl StateTries {
    /// Empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one account with its full storage (start-up rebuild).
    pub fn insert_account(
        &mut self,
        address: Address,
        info: AccountInfo,
        slots: Vec<(U256, U256)>,
    ) {
        let mut trie = Trie::new();
        for (slot, value) in slots {
            trie.insert(
                keccak256(slot.to_be_bytes::<32>()).as_slice(),
                alloy_rlp::encode(value),
            );
        }
        let root = trie.root();
        self.accounts
            .insert(keccak256(address).as_slice(), account_leaf(&info, root));
        if !trie.is_empty() {
            self.storage.insert(address, trie);
        }
        self.infos.insert(address, info);
    }

    /// Applies a block's changes and returns the new state root.
    pub fn apply(&mut self, diff: &StateDiff) -> B256 {
        let mut touched = Vec::with_capacity(diff.accounts.len());
        for (address, change) in &diff.accounts {
            let Some(info) = &change.info else {
                self.accounts.remove(keccak256(address).as_slice());
                self.storage.remove(address);
                self.infos.remove(address);
                continue;
            };
            if change.storage_wiped {
                self.storage.remove(address);
            }
            if !change.storage.is_empty() {
                let trie = self.storage.entry(*address).or_default();
                for (slot, value) in &change.storage {
                    let key = keccak256(slot.to_be_bytes::<32>());
                    if value.is_zero() {
                        trie.remove(key.as_slice());
                    } else {
                        trie.insert(key.as_slice(), alloy_rlp::encode(value));
                    }
                }
            }
            self.infos.insert(*address, info.clone());
            touched.push(*address);
        }
        // Storage roots of the touched accounts, hashed on all cores.
        let mut tries: Vec<(Address, Option<&mut Trie>)> = Vec::with_capacity(touched.len());
        let mut by_addr: HashMap<Address, &mut Trie> = self
            .storage
            .iter_mut()
            .filter(|(a, _)| diff.accounts.contains_key(*a))
            .map(|(a, t)| (*a, t))
            .collect();
        for address in &touched {
            tries.push((*address, by_addr.remove(address)));
        }
        let roots: Vec<(Address, B256)> = tries
            .into_par_iter()
            .map(|(address, trie)| (address, trie.map_or(EMPTY_ROOT_HASH, Trie::root)))
            .collect();
        for (address, root) in roots {
            if root == EMPTY_ROOT_HASH {
                self.storage.remove(&address);
            }
            let info = &self.infos[&address];
            self.accounts
                .insert(keccak256(address).as_slice(), account_leaf(info, root));
        }
        self.accounts.root()
    }

    /// The current state root.
    pub fn root(&mut self) -> B256 {
        self.accounts.root()
    }

    /// Number of accounts.
    pub fn account_count(&self) -> usize {
        self.accounts.len()
    }
}

#[cfg(test)]
mod tests {
    use alloy_primitives::{address, b256};
    use lanes_conflict::AccountDiff;
    use revm::primitives::KECCAK_EMPTY;

    use super::*;

    fn info(balance: u64, nonce: u64) -> AccountInfo {
        AccountInfo {
            balance: U256::from(balance),
            nonce,
            code_hash: KECCAK_EMPTY,
            code: None,
            account_id: None,
        }
    }

    #[test]
    fn incremental_equals_rebuild() {
        let a = address!("0x1000000000000000000000000000000000000001");
        let b = address!("0x2000000000000000000000000000000000000002");
        let mut inc = StateTries::new();
        let mut d1 = StateDiff::default();
        d1.accounts.insert(
            a,
            AccountDiff {
                info: Some(info(10, 1)),
                ..Default::default()
            },
        );
        let mut st = AccountDiff {
            info: Some(info(5, 0)),
            ..Default::default()
        };
        st.storage.insert(U256::from(1), U256::from(7));
        st.storage.insert(U256::from(2), U256::from(8));
        d1.accounts.insert(b, st);
        inc.apply(&d1);
        let mut d2 = StateDiff::default();
        let mut st = AccountDiff {
            info: Some(info(6, 0)),
            ..Default::default()
        };
        st.storage.insert(U256::from(1), U256::ZERO);
        d2.accounts.insert(b, st);
        let root = inc.apply(&d2);

        let mut rebuilt = StateTries::new();
        rebuilt.insert_account(a, info(10, 1), vec![]);
        rebuilt.insert_account(b, info(6, 0), vec![(U256::from(2), U256::from(8))]);
        assert_eq!(root, rebuilt.root());
    }

    /// The well-known root of a single account with 1 wei and nothing else is not needed; the
    /// empty state must hash to the empty trie root.
    #[test]
    fn empty_state_root() {
        assert_eq!(
            StateTries::new().root(),
            b256!("0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421")
        );
    }
}
