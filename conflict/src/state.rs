//! Committed state as executors see it, and the changes they produce.

use std::collections::{BTreeMap, HashMap};

use alloy_primitives::{Address, B256, U256, keccak256};
use revm::{
    DatabaseCommit,
    bytecode::Bytecode,
    database_interface::{DBErrorMarker, Database},
    primitives::{AddressMap, KECCAK_EMPTY},
    state::{Account, AccountInfo},
};

/// A failure to read committed state (storage I/O, corruption, missing history).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct StateError(pub String);

impl DBErrorMarker for StateError {}

/// Read access to committed state at one point in the chain.
///
/// Implementations: the node's MDBX-backed views (latest and historical), [`InMemoryState`]
/// for tests and benchmarks, and [`Overlay`], which stacks pending changes on another view.
pub trait StateView: Send + Sync {
    /// Account info without code (`code` is `None`; load it with [`StateView::code`]).
    fn account(&self, address: Address) -> Result<Option<AccountInfo>, StateError>;
    /// Storage slot value (zero when unset).
    fn storage(&self, address: Address, slot: U256) -> Result<U256, StateError>;
    /// Code by its hash; `None` if unknown.
    fn code(&self, code_hash: B256) -> Result<Option<Bytecode>, StateError>;
    /// Hash of canonical block `number` (for `BLOCKHASH`); zero if unknown.
    fn block_hash(&self, number: u64) -> Result<B256, StateError>;
}

/// How one account changed over a block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountDiff {
    /// New account info without code, or `None` if the account no longer exists
    /// (self-destructed, or touched while empty: EIP-161).
    pub info: Option<AccountInfo>,
    /// Whether all storage that existed before the block was wiped (self-destruct or
    /// re-creation). `storage` then lists everything the account has afterwards.
    pub storage_wiped: bool,
    /// Changed storage slots and their new values (zero means deleted).
    pub storage: BTreeMap<U256, U256>,
}

/// All state changes of a block, in a deterministic order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateDiff {
    /// Changed accounts.
    pub accounts: BTreeMap<Address, AccountDiff>,
    /// Code deployed in the block, by hash.
    pub codes: BTreeMap<B256, Bytecode>,
}

#[derive(Debug, Clone, Default)]
struct OverlayAccount {
    info: Option<AccountInfo>,
    storage_wiped: bool,
    storage: HashMap<U256, U256>,
}

/// Pending changes stacked on a [`StateView`]: what a block has written so far. It is a revm
/// [`Database`] (reads fall through to the base) and a [`DatabaseCommit`] (transactions'
/// results are folded in).
#[derive(Debug)]
pub struct Overlay<'a, S: ?Sized> {
    base: &'a S,
    accounts: HashMap<Address, OverlayAccount>,
    codes: HashMap<B256, Bytecode>,
}

impl<'a, S: StateView + ?Sized> Overlay<'a, S> {
    /// An empty overlay on `base`.
    pub fn new(base: &'a S) -> Self {
        Self { base, accounts: HashMap::new(), codes: HashMap::new() }
    }

    /// The state this overlay stacks on.
    pub fn base(&self) -> &'a S {
        self.base
    }

    /// Folds one transaction's changes in, applying EIP-161 (touched empty accounts are
    /// deleted) and self-destruct semantics.
    pub fn apply(&mut self, changes: impl IntoIterator<Item = (Address, Account)>) {
        for (address, account) in changes {
            if !account.is_touched() {
                continue;
            }
            let entry = self.accounts.entry(address).or_default();
            if account.is_selfdestructed() || account.is_empty() {
                // A destroyed or empty account leaves nothing behind, storage included.
                // Empty-and-touched also covers accounts that were never created.
                entry.info = None;
                entry.storage.clear();
                entry.storage_wiped = true;
                continue;
            }
            if account.is_created() {
                entry.storage.clear();
                entry.storage_wiped = true;
            }
            let mut info = account.info;
            if let Some(code) = info.code.take() {
                if info.code_hash != KECCAK_EMPTY && !self.codes.contains_key(&info.code_hash) {
                    self.codes.insert(info.code_hash, code);
                }
            }
            entry.info = Some(info);
            for (slot, value) in account.storage {
                if value.is_changed() {
                    entry.storage.insert(slot, value.present_value);
                }
            }
        }
    }

    /// Adds `amount` wei to `address` (used for lazily applied fee credits).
    pub fn credit(&mut self, address: Address, amount: U256) -> Result<(), StateError> {
        if amount.is_zero() {
            return Ok(());
        }
        let mut info = self.basic_info(address)?.unwrap_or_default();
        info.balance = info.balance.saturating_add(amount);
        self.accounts.entry(address).or_default().info = Some(info);
        Ok(())
    }

    fn basic_info(&self, address: Address) -> Result<Option<AccountInfo>, StateError> {
        match self.accounts.get(&address) {
            Some(acc) => Ok(acc.info.clone()),
            None => self.base.account(address),
        }
    }

    /// The accumulated changes as a deterministic [`StateDiff`].
    pub fn into_diff(self) -> StateDiff {
        let accounts = self
            .accounts
            .into_iter()
            .map(|(address, acc)| {
                let diff = AccountDiff {
                    info: acc.info,
                    storage_wiped: acc.storage_wiped,
                    storage: acc.storage.into_iter().collect(),
                };
                (address, diff)
            })
            .collect();
        StateDiff { accounts, codes: self.codes.into_iter().collect() }
    }
}

impl<S: StateView + ?Sized> StateView for Overlay<'_, S> {
    fn account(&self, address: Address) -> Result<Option<AccountInfo>, StateError> {
        self.basic_info(address)
    }

    fn storage(&self, address: Address, slot: U256) -> Result<U256, StateError> {
        if let Some(acc) = self.accounts.get(&address) {
            if let Some(value) = acc.storage.get(&slot) {
                return Ok(*value);
            }
            if acc.storage_wiped || acc.info.is_none() {
                return Ok(U256::ZERO);
            }
        }
        self.base.storage(address, slot)
    }

    fn code(&self, code_hash: B256) -> Result<Option<Bytecode>, StateError> {
        match self.codes.get(&code_hash) {
            Some(code) => Ok(Some(code.clone())),
            None => self.base.code(code_hash),
        }
    }

    fn block_hash(&self, number: u64) -> Result<B256, StateError> {
        self.base.block_hash(number)
    }
}

impl<S: StateView + ?Sized> Database for Overlay<'_, S> {
    type Error = StateError;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, StateError> {
        self.basic_info(address)
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode, StateError> {
        if code_hash == KECCAK_EMPTY || code_hash.is_zero() {
            return Ok(Bytecode::default());
        }
        StateView::code(self, code_hash)?
            .ok_or_else(|| StateError(format!("code {code_hash} not found")))
    }

    fn storage(&mut self, address: Address, index: U256) -> Result<U256, StateError> {
        StateView::storage(self, address, index)
    }

    fn block_hash(&mut self, number: u64) -> Result<B256, StateError> {
        StateView::block_hash(self, number)
    }
}

impl<S: StateView + ?Sized> DatabaseCommit for Overlay<'_, S> {
    fn commit(&mut self, changes: AddressMap<Account>) {
        self.apply(changes);
    }
}

/// A whole state in memory: genesis allocations for tests, benchmark workloads, state tests.
#[derive(Debug, Clone, Default)]
pub struct InMemoryState {
    accounts: HashMap<Address, AccountInfo>,
    storage: HashMap<Address, HashMap<U256, U256>>,
    codes: HashMap<B256, Bytecode>,
    block_hashes: HashMap<u64, B256>,
}

impl InMemoryState {
    /// Empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets an account's balance and nonce, and its code if given.
    pub fn insert_account(&mut self, address: Address, balance: U256, nonce: u64, code: Option<Bytecode>) {
        let (code_hash, code) = match code {
            Some(code) if !code.is_empty() => {
                let hash = keccak256(code.original_byte_slice());
                (hash, Some(code))
            }
            _ => (KECCAK_EMPTY, None),
        };
        if let Some(code) = code {
            self.codes.insert(code_hash, code);
        }
        self.accounts.insert(
            address,
            AccountInfo { balance, nonce, code_hash, code: None, account_id: None },
        );
    }

    /// Sets a storage slot.
    pub fn insert_storage(&mut self, address: Address, slot: U256, value: U256) {
        self.storage.entry(address).or_default().insert(slot, value);
    }

    /// Records a block hash for `BLOCKHASH`.
    pub fn insert_block_hash(&mut self, number: u64, hash: B256) {
        self.block_hashes.insert(number, hash);
    }

    /// Applies a block's diff.
    pub fn apply_diff(&mut self, diff: &StateDiff) {
        for (hash, code) in &diff.codes {
            self.codes.insert(*hash, code.clone());
        }
        for (address, change) in &diff.accounts {
            if change.storage_wiped {
                self.storage.remove(address);
            }
            match &change.info {
                None => {
                    self.accounts.remove(address);
                    self.storage.remove(address);
                }
                Some(info) => {
                    self.accounts.insert(*address, info.clone());
                    let slots = self.storage.entry(*address).or_default();
                    for (slot, value) in &change.storage {
                        if value.is_zero() {
                            slots.remove(slot);
                        } else {
                            slots.insert(*slot, *value);
                        }
                    }
                }
            }
        }
    }

    /// Every account, for root computations and assertions.
    pub fn accounts(&self) -> impl Iterator<Item = (&Address, &AccountInfo)> {
        self.accounts.iter()
    }

    /// Every non-zero storage slot of `address`.
    pub fn storage_of(&self, address: &Address) -> impl Iterator<Item = (&U256, &U256)> {
        self.storage.get(address).into_iter().flat_map(|s| s.iter())
    }
}

impl StateView for InMemoryState {
    fn account(&self, address: Address) -> Result<Option<AccountInfo>, StateError> {
        Ok(self.accounts.get(&address).cloned())
    }

    fn storage(&self, address: Address, slot: U256) -> Result<U256, StateError> {
        Ok(self.storage.get(&address).and_then(|s| s.get(&slot)).copied().unwrap_or_default())
    }

    fn code(&self, code_hash: B256) -> Result<Option<Bytecode>, StateError> {
        Ok(self.codes.get(&code_hash).cloned())
    }

    fn block_hash(&self, number: u64) -> Result<B256, StateError> {
        Ok(self.block_hashes.get(&number).copied().unwrap_or_default())
    }
}
