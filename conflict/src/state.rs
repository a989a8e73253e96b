//! Committed state as executors see it, and the changes they produce.

use std::{
    collections::{BTreeMap, HashMap},
    mem::MaybeUninit,
};

use crate::{prefetch::prefetch, sorted::SortedMap};

use alloy_primitives::{
    Address, B256, U256, keccak256,
    map::{AddressMap as FastAddressMap, B256Map, HashMap as FastMap},
};
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
    pub storage: SortedMap<U256, U256>,
}

/// All state changes of a block, in a deterministic order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateDiff {
    /// Changed accounts.
    pub accounts: SortedMap<Address, AccountDiff>,
    /// Code deployed in the block, by hash.
    pub codes: BTreeMap<B256, Bytecode>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct OverlayAccount {
    info: Option<AccountInfo>,
    storage_wiped: bool,
    storage: FastMap<U256, U256>,
}

/// A transaction's write set: its account changes reduced from revm's state, the same effect
/// as [`Overlay::apply_account`] on the revm accounts they came from, without revm's
/// bookkeeping, so that it is cheap to hand from thread to thread. Every slot of every account
/// lives in one vector and the buffers are kept by [`WriteSet::clear`], so a set reused for
/// transaction after transaction stops allocating.
#[derive(Debug, Default)]
pub(crate) struct WriteSet {
    accounts: Vec<(Address, AccountChange)>,
    storage: Vec<(U256, U256)>,
}

/// One account's change from one transaction (see [`WriteSet`]).
#[derive(Debug, Clone)]
enum AccountChange {
    /// Self-destructed, or touched while empty (EIP-161): the account and its storage go.
    Destroyed,
    /// New info (without code); `created` wipes the storage it had; its changed slots are
    /// `storage[start..end]` of the write set.
    Updated {
        info: AccountInfo,
        created: bool,
        code: CodeChange,
        start: u32,
        end: u32,
    },
}

/// What an updated account says about its code.
#[derive(Debug, Clone)]
enum CodeChange {
    /// Its code was not loaded.
    NotLoaded,
    /// Its code was loaded from state: known by its hash.
    Loaded,
    /// It was deployed by the transaction.
    Deployed(Bytecode),
}

impl WriteSet {
    /// Empties the set, keeping its memory.
    pub(crate) fn clear(&mut self) {
        self.accounts.clear();
        self.storage.clear();
    }

    /// Adds the change `account` makes, if it was touched.
    pub(crate) fn push(&mut self, address: Address, account: &Account) {
        if !account.is_touched() {
            return;
        }
        if account.is_selfdestructed() || account.is_empty() {
            self.accounts.push((address, AccountChange::Destroyed));
            return;
        }
        let created = account.is_created();
        let code = match &account.info.code {
            None => CodeChange::NotLoaded,
            Some(code) if created => CodeChange::Deployed(code.clone()),
            Some(_) => CodeChange::Loaded,
        };
        let index = |len: usize| u32::try_from(len).expect("fewer than 2^32 changed slots");
        let start = index(self.storage.len());
        self.storage.extend(
            account
                .storage
                .iter()
                .filter(|(_, value)| value.is_changed())
                .map(|(slot, value)| (*slot, value.present_value)),
        );
        let end = index(self.storage.len());
        self.accounts.push((
            address,
            AccountChange::Updated {
                info: account.info.copy_without_code(),
                created,
                code,
                start,
                end,
            },
        ));
    }
}

impl OverlayAccount {
    fn into_diff(self) -> AccountDiff {
        AccountDiff {
            info: self.info,
            storage_wiped: self.storage_wiped,
            storage: sorted_slots(self.storage),
        }
    }
}

/// Distinct slots in any order, as a [`SortedMap`].
fn sorted_slots(slots: impl IntoIterator<Item = (U256, U256)>) -> SortedMap<U256, U256> {
    let mut slots: Vec<(U256, U256)> = slots.into_iter().collect();
    slots.sort_unstable_by(by_slot);
    SortedMap::from_sorted(slots)
}

/// Orders (slot, value) pairs by slot, comparing the most significant 64 bits first: slots
/// of Solidity mappings are hashes, which those almost always tell apart.
fn by_slot((a, _): &(U256, U256), (b, _): &(U256, U256)) -> std::cmp::Ordering {
    a.as_limbs()[3].cmp(&b.as_limbs()[3]).then_with(|| a.cmp(b))
}

/// Orders addresses comparing the first eight bytes as an integer before the whole address:
/// several times faster than comparing 20-byte arrays, same order.
fn address_order(a: &Address, b: &Address) -> std::cmp::Ordering {
    let prefix =
        |address: &Address| u64::from_be_bytes(address.0[..8].try_into().expect("eight bytes"));
    prefix(a).cmp(&prefix(b)).then_with(|| a.cmp(b))
}

/// [`address_order`] of pairs' addresses.
fn by_address<T>((a, _): &(Address, T), (b, _): &(Address, T)) -> std::cmp::Ordering {
    address_order(a, b)
}

/// How many accounts ahead [`Overlay::into_diff_in`] asks for the entries it will convert.
const PREFETCH_AHEAD: usize = 8;

/// No entry in a layer (see [`Overlay::into_diff_in`]).
const NONE: u32 = u32::MAX;

/// An account's diff from its entries in a lower overlay and in changes made on top of it:
/// what [`Overlay::merge`] would leave, as a diff.
fn combined_diff(lower: Option<&OverlayAccount>, upper: Option<&OverlayAccount>) -> AccountDiff {
    AccountDiff {
        storage: sorted_slots(diff_slots(lower, upper)),
        ..diff_without_slots(lower, upper)
    }
}

/// How an account's entries in a lower overlay and in changes made on top of it combine: the
/// entry whose info and slots count (`top`), whether the storage the block started with was
/// wiped, and the entry below whose slots still count where `top` lacks them (none when the
/// upper entry wiped the storage, or when there is no upper entry and `top` is the lower one).
struct Layers<'a> {
    top: &'a OverlayAccount,
    storage_wiped: bool,
    below: Option<&'a OverlayAccount>,
}

fn layers<'a>(lower: Option<&'a OverlayAccount>, upper: Option<&'a OverlayAccount>) -> Layers<'a> {
    match (lower, upper) {
        (Some(lower), Some(upper)) if !upper.storage_wiped => Layers {
            top: upper,
            storage_wiped: lower.storage_wiped,
            below: Some(lower),
        },
        (_, Some(top)) | (Some(top), None) => Layers {
            top,
            storage_wiped: top.storage_wiped,
            below: None,
        },
        (None, None) => unreachable!("every address of the diff has an entry in a layer"),
    }
}

/// [`combined_diff`] with its slots left out.
fn diff_without_slots(
    lower: Option<&OverlayAccount>,
    upper: Option<&OverlayAccount>,
) -> AccountDiff {
    let Layers {
        top, storage_wiped, ..
    } = layers(lower, upper);
    AccountDiff {
        info: top.info.clone(),
        storage_wiped,
        storage: SortedMap::default(),
    }
}

/// The slots of [`combined_diff`], in no order: the top entry's, then those of the entry below
/// that it does not have. Sorting them once, not once per layer, is what saves the time where
/// waves write the same slots (a token's balances).
fn diff_slots<'a>(
    lower: Option<&'a OverlayAccount>,
    upper: Option<&'a OverlayAccount>,
) -> impl Iterator<Item = (U256, U256)> + 'a {
    diff_slots_where(lower, upper, |_| true)
}

/// The slots of [`diff_slots`] that `keep` accepts. `keep` is asked first, so that a slot of
/// the entry below that it rejects is never looked up in the top entry: the two threads that
/// share a heavy account's slots (see [`Overlay::into_diff_in`]) each look up only their own
/// half, not every slot of the layer below (for a token's ten thousand balances written in two
/// waves, ten thousand lookups in a map of a megabyte: the ERC-20 block's fees-and-diff phase
/// on two threads went from 1.41 to 1.19 ms).
fn diff_slots_where<'a>(
    lower: Option<&'a OverlayAccount>,
    upper: Option<&'a OverlayAccount>,
    keep: impl Fn(&U256) -> bool + Copy + 'a,
) -> impl Iterator<Item = (U256, U256)> + 'a {
    let Layers { top, below, .. } = layers(lower, upper);
    top.storage
        .iter()
        .filter(move |(slot, _)| keep(slot))
        .chain(
            below
                .into_iter()
                .flat_map(|below| below.storage.iter())
                .filter(move |(slot, _)| keep(slot) && !top.storage.contains_key(*slot)),
        )
        .map(|(slot, value)| (*slot, *value))
}

/// An account whose slots are many enough for the two threads building a diff to sort half
/// each (see [`Overlay::into_diff_in`]): its address, its entries in the two layers, and the
/// most significant 64 bits of slot at which its slots are split.
type Heavy<'a> = (
    Address,
    Option<&'a OverlayAccount>,
    Option<&'a OverlayAccount>,
    u64,
);

/// Changed slots (in one layer) from which an account's slots are split between threads.
const HEAVY_SLOTS: usize = 1024;

/// Slots sampled to split a heavy account's slots.
const SLOT_SAMPLE: usize = 64;

/// The median of the most significant 64 bits of a sample of the account's slots: the first
/// ones its maps hold, whose order is that of their hashes, not of the slots, so that they
/// are spread like the rest.
fn slot_pivot(lower: Option<&OverlayAccount>, upper: Option<&OverlayAccount>) -> u64 {
    let mut sample: Vec<u64> = diff_slots(lower, upper)
        .take(SLOT_SAMPLE)
        .map(|(slot, _)| slot.as_limbs()[3])
        .collect();
    if sample.is_empty() {
        return 0;
    }
    let middle = sample.len() / 2;
    *sample.select_nth_unstable(middle).1
}

/// Below this many changed accounts a diff is built on one thread: a hand-over to another
/// thread costs more than the work it would take.
const PARALLEL_DIFF_MIN: usize = 2048;

/// Changed accounts: an append-only arena indexed by address. The index stays small (an
/// address and a position per account), so lookups stay in cache, and the arena is already a
/// vector when the diff is built.
#[derive(Debug, Clone, Default)]
struct Accounts {
    index: FastAddressMap<u32>,
    entries: Vec<(Address, OverlayAccount)>,
}

impl Accounts {
    #[inline]
    fn get(&self, address: &Address) -> Option<&OverlayAccount> {
        self.index
            .get(address)
            .map(|at| &self.entries[*at as usize].1)
    }

    #[inline]
    fn contains(&self, address: &Address) -> bool {
        self.index.contains_key(address)
    }

    /// The entry of `address`, created empty if missing.
    #[inline]
    fn entry(&mut self, address: Address) -> &mut OverlayAccount {
        let len = self.entries.len();
        let at = *self
            .index
            .entry(address)
            .or_insert_with(|| u32::try_from(len).expect("fewer than 2^32 accounts"));
        if at as usize == len {
            self.entries.push((address, OverlayAccount::default()));
        }
        &mut self.entries[at as usize].1
    }

    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn clear(&mut self) {
        self.index.clear();
        self.entries.clear();
    }

    /// Empties the accounts for a new overlay of up to about `bound` of them: the arena
    /// gets room for all (growing it would copy every entry), while the index starts afresh
    /// and grows with what is inserted. An index sized for the bound stays sparse when fewer
    /// accounts change (an ERC-20 block changes one account per transaction, not two), and
    /// then every insertion lands on a line of its own that is not in the cache; a growing
    /// index is rehashed a few times, which moves only an address and a position per entry
    /// and leaves the table in the cache.
    fn reset_for(&mut self, bound: usize) {
        self.index = FastAddressMap::default();
        self.entries.clear();
        self.entries.reserve(bound);
    }

    /// Positions of the entries in address order.
    fn sorted_positions(&self) -> Vec<(Address, u32)> {
        let mut order: Vec<(Address, u32)> = self
            .index
            .iter()
            .map(|(address, at)| (*address, *at))
            .collect();
        order.sort_unstable_by(by_address);
        order
    }
}

/// The changes an [`Overlay`] holds, detached from the view it stacks on, so that they can be
/// folded into another overlay with [`Overlay::merge`]. Emptied, it is memory to build the next
/// overlay in ([`Overlay::with_memory`]).
#[derive(Debug, Default)]
pub(crate) struct OverlayChanges {
    accounts: Accounts,
    codes: B256Map<Bytecode>,
}

impl OverlayChanges {
    /// Forgets every change, keeping the memory.
    pub(crate) fn clear(&mut self) {
        self.accounts.clear();
        self.codes.clear();
    }
}

/// Pending changes stacked on a [`StateView`]: what a block has written so far. It is a revm
/// [`Database`] (reads fall through to the base) and a [`DatabaseCommit`] (transactions'
/// results are folded in).
#[derive(Debug)]
pub struct Overlay<'a, S: ?Sized> {
    base: &'a S,
    accounts: Accounts,
    codes: B256Map<Bytecode>,
}

impl<'a, S: StateView + ?Sized> Overlay<'a, S> {
    /// An empty overlay on `base`.
    pub fn new(base: &'a S) -> Self {
        Self {
            base,
            accounts: Accounts::default(),
            codes: B256Map::default(),
        }
    }

    /// The state this overlay stacks on.
    pub fn base(&self) -> &'a S {
        self.base
    }

    /// Folds one transaction's changes in, applying EIP-161 (touched empty accounts are
    /// deleted) and self-destruct semantics.
    pub fn apply(&mut self, changes: impl IntoIterator<Item = (Address, Account)>) {
        for (address, account) in changes {
            self.apply_account(address, &account);
        }
    }

    /// Folds one account of a transaction's changes in (see [`Overlay::apply`]).
    pub(crate) fn apply_account(&mut self, address: Address, account: &Account) {
        if !account.is_touched() {
            return;
        }
        let entry = self.accounts.entry(address);
        if account.is_selfdestructed() || account.is_empty() {
            // A destroyed or empty account leaves nothing behind, storage included.
            // Empty-and-touched also covers accounts that were never created.
            entry.info = None;
            entry.storage.clear();
            entry.storage_wiped = true;
            return;
        }
        if account.is_created() {
            entry.storage.clear();
            entry.storage_wiped = true;
        }
        // Copy the info without its code: cloning the code would be an atomic reference count
        // update on bytecode shared by every thread.
        let info = account.info.copy_without_code();
        if let Some(code) = &account.info.code
            && info.code_hash != KECCAK_EMPTY
            && !self.codes.contains_key(&info.code_hash)
        {
            self.codes.insert(info.code_hash, code.clone());
        }
        entry.info = Some(info);
        for (slot, value) in &account.storage {
            if value.is_changed() {
                entry.storage.insert(*slot, value.present_value);
            }
        }
    }

    /// Folds in a write set; the same as [`Overlay::apply_account`] on the accounts it was
    /// computed from. With `record_loaded_code` false, code that was merely loaded is not
    /// copied in: enough for an overlay that only serves reads (its base has that code) and is
    /// never turned into a diff.
    pub(crate) fn apply_writes(
        &mut self,
        writes: &WriteSet,
        record_loaded_code: bool,
    ) -> Result<(), StateError> {
        for (address, change) in &writes.accounts {
            let (info, created, code, storage) = match change {
                AccountChange::Destroyed => {
                    let entry = self.accounts.entry(*address);
                    entry.info = None;
                    entry.storage.clear();
                    entry.storage_wiped = true;
                    continue;
                }
                AccountChange::Updated {
                    info,
                    created,
                    code,
                    start,
                    end,
                } => (
                    info,
                    created,
                    code,
                    &writes.storage[*start as usize..*end as usize],
                ),
            };
            if info.code_hash != KECCAK_EMPTY && !self.codes.contains_key(&info.code_hash) {
                let code = match code {
                    CodeChange::NotLoaded => None,
                    CodeChange::Deployed(code) => Some(code.clone()),
                    // revm loads code from the database by hash, so the state holds it.
                    CodeChange::Loaded if record_loaded_code => {
                        Some(StateView::code(self, info.code_hash)?.ok_or_else(|| {
                            StateError(format!("code {} not found", info.code_hash))
                        })?)
                    }
                    CodeChange::Loaded => None,
                };
                if let Some(code) = code {
                    self.codes.insert(info.code_hash, code);
                }
            }
            let entry = self.accounts.entry(*address);
            if *created {
                entry.storage.clear();
                entry.storage_wiped = true;
            }
            entry.info = Some(info.copy_without_code());
            entry.storage.extend(storage.iter().copied());
        }
        Ok(())
    }

    /// The account info of `address` if this overlay itself determines it (the account
    /// changed: `Some(None)` when it no longer exists), or `None` when it comes from the base.
    pub(crate) fn own_account(&self, address: &Address) -> Option<Option<&AccountInfo>> {
        self.accounts.get(address).map(|acc| acc.info.as_ref())
    }

    /// The value of `slot` of `address` if this overlay itself determines it (written, or
    /// wiped with its account), or `None` when it comes from the base.
    pub(crate) fn own_storage(&self, address: &Address, slot: &U256) -> Option<U256> {
        let acc = self.accounts.get(address)?;
        match acc.storage.get(slot) {
            Some(value) => Some(*value),
            None if acc.storage_wiped || acc.info.is_none() => Some(U256::ZERO),
            None => None,
        }
    }

    /// Pays `fee` to the block beneficiary exactly as revm's post-execution step does at the end
    /// of a transaction that did not otherwise load the beneficiary: the account is loaded
    /// without its code, its balance raised (unless that overflows) and it is touched, so an
    /// account that stays empty is deleted (EIP-161).
    pub(crate) fn pay_beneficiary(
        &mut self,
        beneficiary: Address,
        fee: U256,
    ) -> Result<(), StateError> {
        let mut account = match self.basic_info(beneficiary)? {
            Some(info) => Account::from(info),
            None => Account::new_not_existing(Default::default()),
        };
        account.mark_touch();
        if let Some(balance) = account.info.balance.checked_add(fee) {
            account.info.balance = balance;
        }
        self.apply_account(beneficiary, &account);
        Ok(())
    }

    /// Whether this overlay holds changes to `address` (its account or its storage).
    pub(crate) fn has_account(&self, address: Address) -> bool {
        self.accounts.contains(&address)
    }

    /// Forgets every change, keeping the memory for the next use.
    pub(crate) fn clear(&mut self) {
        self.accounts.clear();
        self.codes.clear();
    }

    /// Whether this overlay itself determines `slot` of `address` (written, or wiped).
    pub(crate) fn has_slot(&self, address: Address, slot: U256) -> bool {
        self.accounts.get(&address).is_some_and(|acc| {
            acc.storage_wiped || acc.info.is_none() || acc.storage.contains_key(&slot)
        })
    }

    /// Detaches the changes from the view they stack on.
    pub(crate) fn into_changes(self) -> OverlayChanges {
        OverlayChanges {
            accounts: self.accounts,
            codes: self.codes,
        }
    }

    /// Folds in changes that were made on top of this overlay. The result equals applying the
    /// same transactions to this overlay directly: every account entry of `upper` holds its
    /// authoritative info, a wipe there clears what this overlay holds, and code already known
    /// here keeps its first version.
    /// Returns `upper`'s memory, emptied, for reuse.
    pub(crate) fn merge(&mut self, mut upper: OverlayChanges) -> OverlayChanges {
        if self.accounts.is_empty() {
            std::mem::swap(&mut self.accounts, &mut upper.accounts);
        } else {
            for (address, acc) in upper.accounts.entries.drain(..) {
                let entry = self.accounts.entry(address);
                if acc.storage_wiped {
                    entry.storage.clear();
                    entry.storage_wiped = true;
                }
                entry.info = acc.info;
                entry.storage.extend(acc.storage);
            }
        }
        for (hash, code) in upper.codes.drain() {
            self.codes.entry(hash).or_insert(code);
        }
        upper.clear();
        upper
    }

    /// Adds `amount` wei to `address` (used for lazily applied fee credits).
    pub fn credit(&mut self, address: Address, amount: U256) -> Result<(), StateError> {
        if amount.is_zero() {
            return Ok(());
        }
        let mut info = self.basic_info(address)?.unwrap_or_default();
        info.balance = info.balance.saturating_add(amount);
        self.accounts.entry(address).info = Some(info);
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
        // Sort small (address, position) pairs rather than whole entries, then move the
        // entries out in that order, that is at random places: see `into_diff_in` for the
        // prefetching.
        let order = self.accounts.sorted_positions();
        let mut entries = self.accounts.entries;
        for &(_, at) in order.iter().take(PREFETCH_AHEAD) {
            prefetch::<_, 2>(&entries[at as usize].1);
        }
        let accounts = (0..order.len())
            .map(|i| {
                if let Some(&(_, ahead)) = order.get(i + PREFETCH_AHEAD) {
                    prefetch::<_, 2>(&entries[ahead as usize].1);
                }
                let (address, at) = order[i];
                (
                    address,
                    std::mem::take(&mut entries[at as usize].1).into_diff(),
                )
            })
            .collect();
        StateDiff {
            accounts: SortedMap::from_sorted(accounts),
            codes: self.codes.into_iter().collect(),
        }
    }
}

impl<'a, S: StateView + ?Sized> Overlay<'a, S> {
    /// The diff of this overlay with `upper` (changes made on top of it) folded in, the same as
    /// [`Overlay::merge`] followed by [`Overlay::into_diff`], without building the merged
    /// overlay: each account's entries in the two layers are combined as the diff is built.
    /// (Folding a wave of ERC-20 transfers into the one before cost milliseconds of
    /// random-access hash-map inserts into the token's storage, on one thread.)
    ///
    /// Given a `pool`, the work is split between this thread and one of the pool's: the
    /// accounts are split at the median address (a linear-time selection), and each thread
    /// sorts and converts its half, so the two halves, one after the other, are the sorted
    /// diff. The slots of accounts with many of them ([`HEAVY_SLOTS`] in a layer) are split
    /// between the two threads apart from that, at a sampled slot, and joined after. (One
    /// hand-over only: on a busy machine every wait for a pool thread to be scheduled can cost
    /// more than the work it takes off this one.)
    ///
    /// Also returns the memory of both layers, emptied, for reuse.
    pub(crate) fn into_diff_in(
        self,
        upper: OverlayChanges,
        pool: Option<&rayon::ThreadPool>,
    ) -> (StateDiff, [OverlayChanges; 2]) {
        let Accounts {
            index: mut lower_index,
            entries: mut lower,
        } = self.accounts;
        let Accounts {
            index: mut upper_index,
            entries: mut upper_entries,
        } = upper.accounts;
        // (address, position in the lower layer, position in the upper layer); NONE where
        // the layer has no entry. Built in the lower layer's order, so that its position is
        // also the row to complete with the upper layer's.
        let mut order: Vec<(Address, (u32, u32))> =
            Vec::with_capacity(lower.len() + upper_entries.len());
        // Accounts with many slots in a layer.
        let mut heavy: Vec<Address> = Vec::new();
        order.extend(lower.iter().enumerate().map(|(at, (address, account))| {
            if account.storage.len() >= HEAVY_SLOTS {
                heavy.push(*address);
            }
            (*address, (at as u32, NONE))
        }));
        for (at, (address, account)) in upper_entries.iter().enumerate() {
            if account.storage.len() >= HEAVY_SLOTS {
                heavy.push(*address);
            }
            match lower_index.get(address) {
                Some(&row) => order[row as usize].1.1 = at as u32,
                None => order.push((*address, (NONE, at as u32))),
            }
        }
        let (lower_ref, upper_ref) = (&lower, &upper_entries);
        // Sorts `part` and writes its accounts' diffs into `out`, as many as `part` has; given
        // heavy accounts, their slots are left out here (see below). Returns how many it wrote.
        let convert = |part: &mut [(Address, (u32, u32))],
                       heavy: &[Heavy<'_>],
                       out: &mut [MaybeUninit<(Address, AccountDiff)>]|
         -> usize {
            part.sort_unstable_by(by_address);
            // The entries are read in address order, that is at random: their cache lines are
            // requested a few accounts ahead, so that the misses overlap instead of stalling
            // one after another.
            let entries = |(low, up): (u32, u32)| {
                let low = (low != NONE).then(|| &lower_ref[low as usize].1);
                let up = (up != NONE).then(|| &upper_ref[up as usize].1);
                (low, up)
            };
            for &(_, at) in part.iter().take(PREFETCH_AHEAD) {
                let (low, up) = entries(at);
                low.into_iter().chain(up).for_each(prefetch::<_, 2>);
            }
            let diffs = part.iter().enumerate().map(|(i, &(address, at))| {
                if let Some(&(_, ahead)) = part.get(i + PREFETCH_AHEAD) {
                    let (low, up) = entries(ahead);
                    low.into_iter().chain(up).for_each(prefetch::<_, 2>);
                }
                let (low, up) = entries(at);
                if !heavy.is_empty() && heavy.iter().any(|(a, ..)| *a == address) {
                    (address, diff_without_slots(low, up))
                } else {
                    (address, combined_diff(low, up))
                }
            });
            let mut written = 0;
            for (slot, diff) in out.iter_mut().zip(diffs) {
                slot.write(diff);
                written += 1;
            }
            written
        };
        // One side of the slots of each heavy account, sorted.
        let share = |heavy: &[Heavy<'_>], below_pivot: bool| -> Vec<Vec<(U256, U256)>> {
            heavy
                .iter()
                .map(|&(_, low, up, pivot)| {
                    let mut slots: Vec<(U256, U256)> = diff_slots_where(low, up, move |slot| {
                        (slot.as_limbs()[3] < pivot) == below_pivot
                    })
                    .collect();
                    slots.sort_unstable_by(by_slot);
                    slots
                })
                .collect()
        };
        // The threads write their halves of the diff straight into its vector, so that they
        // need not be joined by a copy of the second (a tenth of a millisecond for 20k
        // accounts).
        let count = order.len();
        let mut accounts: Vec<(Address, AccountDiff)> = Vec::with_capacity(count);
        let out = &mut accounts.spare_capacity_mut()[..count];
        if let Some(pool) = pool.filter(|_| count >= PARALLEL_DIFF_MIN) {
            let middle = count / 2;
            order.select_nth_unstable_by(middle, by_address);
            let (low, high) = order.split_at_mut(middle);
            let (low_out, high_out) = out.split_at_mut(middle);
            // A heavy account's slots are split between the threads at the median of a
            // sample of its slots (by the order of `by_slot`), so that one account's slots
            // do not keep one thread busy while the other waits.
            heavy.sort_unstable();
            heavy.dedup();
            let heavy: Vec<Heavy<'_>> = heavy
                .into_iter()
                .map(|address| {
                    let low = lower_index.get(&address).map(|&at| &lower[at as usize].1);
                    let up = upper_index
                        .get(&address)
                        .map(|&at| &upper_entries[at as usize].1);
                    (address, low, up, slot_pivot(low, up))
                })
                .collect();
            let heavy = &heavy;
            let (mut below, mut above) = (Vec::new(), Vec::new());
            let (mut written_low, mut written_high) = (0, 0);
            pool.in_place_scope(|scope| {
                let (written_high, above) = (&mut written_high, &mut above);
                scope.spawn(move |_| {
                    *written_high = convert(high, heavy, high_out);
                    *above = share(heavy, false);
                });
                written_low = convert(low, heavy, low_out);
                below = share(heavy, true);
            });
            assert_eq!(written_low + written_high, count, "every account converted");
            // SAFETY: the first `count` elements of the spare capacity were written: the
            // first `middle` by this thread, the rest by the pool's, each one per account of
            // its half (counted above).
            unsafe { accounts.set_len(count) };
            for ((address, ..), (mut slots, mut rest)) in
                heavy.iter().zip(below.into_iter().zip(above))
            {
                // Every slot below the pivot sorts before every slot at or above it.
                slots.append(&mut rest);
                let at = accounts
                    .binary_search_by(|(other, _)| address_order(other, address))
                    .expect("a heavy account is in the diff");
                accounts[at].1.storage = SortedMap::from_sorted(slots);
            }
        } else {
            let written = convert(&mut order, &[], out);
            assert_eq!(written, count, "every account converted");
            // SAFETY: `convert` wrote the first `count` elements of the spare capacity, one
            // per account (counted above).
            unsafe { accounts.set_len(count) };
        }
        // Code already known below keeps its first version, as in `merge`.
        let (mut codes, mut upper_codes) = (self.codes, upper.codes);
        let mut all_codes: BTreeMap<B256, Bytecode> = upper_codes.drain().collect();
        all_codes.extend(codes.drain());
        let diff = StateDiff {
            accounts: SortedMap::from_sorted(accounts),
            codes: all_codes,
        };
        lower_index.clear();
        lower.clear();
        upper_index.clear();
        upper_entries.clear();
        let memory = [
            OverlayChanges {
                accounts: Accounts {
                    index: lower_index,
                    entries: lower,
                },
                codes,
            },
            OverlayChanges {
                accounts: Accounts {
                    index: upper_index,
                    entries: upper_entries,
                },
                codes: upper_codes,
            },
        ];
        (diff, memory)
    }

    /// An overlay on `base` holding `changes` (detached from an overlay on the same state).
    pub(crate) fn with_changes(base: &'a S, changes: OverlayChanges) -> Self {
        Self {
            base,
            accounts: changes.accounts,
            codes: changes.codes,
        }
    }

    /// An empty overlay on `base` built in `memory` (emptied changes of an earlier overlay),
    /// with room for `accounts` changed accounts in its arena; its index starts empty (see
    /// `Accounts::reset_for`).
    pub(crate) fn with_memory(base: &'a S, memory: OverlayChanges, accounts: usize) -> Self {
        let OverlayChanges {
            accounts: mut changed,
            codes,
        } = memory;
        changed.reset_for(accounts);
        Self {
            base,
            accounts: changed,
            codes,
        }
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
    accounts: FastAddressMap<AccountInfo>,
    storage: FastAddressMap<FastMap<U256, U256>>,
    codes: B256Map<Bytecode>,
    block_hashes: HashMap<u64, B256>,
}

impl InMemoryState {
    /// Empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets an account's balance and nonce, and its code if given.
    pub fn insert_account(
        &mut self,
        address: Address,
        balance: U256,
        nonce: u64,
        code: Option<Bytecode>,
    ) {
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
            AccountInfo {
                balance,
                nonce,
                code_hash,
                code: None,
                account_id: None,
            },
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
        Ok(self
            .storage
            .get(&address)
            .and_then(|s| s.get(&slot))
            .copied()
            .unwrap_or_default())
    }

    fn code(&self, code_hash: B256) -> Result<Option<Bytecode>, StateError> {
        Ok(self.codes.get(&code_hash).cloned())
    }

    fn block_hash(&self, number: u64) -> Result<B256, StateError> {
        Ok(self.block_hashes.get(&number).copied().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use revm::state::{AccountStatus, EvmStorageSlot};

    use super::*;

    fn base() -> InMemoryState {
        let mut state = InMemoryState::new();
        state.insert_account(Address::repeat_byte(1), U256::from(10), 1, None);
        state.insert_storage(Address::repeat_byte(1), U256::from(1), U256::from(11));
        state.insert_account(Address::repeat_byte(2), U256::ZERO, 0, None);
        state.insert_storage(Address::repeat_byte(2), U256::from(2), U256::from(22));
        state.insert_account(
            Address::repeat_byte(3),
            U256::from(5),
            1,
            Some(Bytecode::new_raw(vec![0x00].into())),
        );
        state
    }

    /// Accounts of every shape `apply_account` distinguishes.
    fn accounts() -> Vec<(Address, Account)> {
        let code = Bytecode::new_raw(vec![0x60, 0x00].into());
        let known = Bytecode::new_raw(vec![0x00].into());
        let mut out = Vec::new();
        for (k, status) in [
            AccountStatus::empty(),
            AccountStatus::Touched,
            AccountStatus::Touched | AccountStatus::SelfDestructed,
            AccountStatus::Touched | AccountStatus::Created,
        ]
        .into_iter()
        .enumerate()
        {
            for (j, balance) in [0u64, 7].into_iter().enumerate() {
                for with_code in [false, true] {
                    let address = Address::repeat_byte(
                        1 + ((k * 4 + j * 2 + usize::from(with_code)) % 4) as u8,
                    );
                    let mut info = AccountInfo::from_balance(U256::from(balance));
                    if with_code && status.contains(AccountStatus::Created) {
                        info = info.with_code(code.clone());
                    } else if with_code {
                        // Code revm loaded is always the state's, by hash.
                        info = info.with_code(known.clone());
                    } else {
                        info.code = None;
                    }
                    let mut account = Account::from(info);
                    account.status = status;
                    account.storage.insert(
                        U256::from(1),
                        EvmStorageSlot::new_changed(
                            U256::from(11),
                            U256::from(12),
                            Default::default(),
                        ),
                    );
                    account.storage.insert(
                        U256::from(2),
                        EvmStorageSlot::new(U256::from(22), Default::default()),
                    );
                    out.push((address, account));
                }
            }
        }
        out
    }

    #[test]
    fn apply_writes_equals_apply_account() {
        let base = base();
        let accounts = accounts();
        // Every prefix of the sequence, so that changes stack on earlier ones.
        for n in 0..=accounts.len() {
            let mut direct = Overlay::new(&base);
            let mut one_by_one = Overlay::new(&base);
            let mut writes = WriteSet::default();
            for (address, account) in &accounts[..n] {
                direct.apply_account(*address, account);
                // One reused write set per account, as executors use them.
                writes.clear();
                writes.push(*address, account);
                one_by_one.apply_writes(&writes, true).unwrap();
            }
            // All of them as one write set: slots of several accounts in one vector.
            let mut at_once = Overlay::new(&base);
            writes.clear();
            for (address, account) in &accounts[..n] {
                writes.push(*address, account);
            }
            at_once.apply_writes(&writes, true).unwrap();
            let expected = direct.into_diff();
            assert_eq!(expected, one_by_one.into_diff(), "after {n} accounts");
            assert_eq!(expected, at_once.into_diff(), "{n} accounts in one set");
        }
    }

    #[test]
    fn merge_equals_applying_directly() {
        let base = base();
        let accounts = accounts();
        for split in 0..=accounts.len() {
            let mut direct = Overlay::new(&base);
            for (address, account) in &accounts {
                direct.apply_account(*address, account);
            }
            let mut lower = Overlay::new(&base);
            for (address, account) in &accounts[..split] {
                lower.apply_account(*address, account);
            }
            let changes = {
                let lower_view = &lower;
                let mut upper = Overlay::new(lower_view);
                for (address, account) in &accounts[split..] {
                    upper.apply_account(*address, account);
                }
                upper.into_changes()
            };
            let memory = lower.merge(changes);
            assert!(memory.accounts.is_empty() && memory.codes.is_empty());
            assert_eq!(direct.into_diff(), lower.into_diff(), "split at {split}");
        }
    }

    /// A pool for the diff's second half, as the parallel executor on two threads has.
    fn two_threads() -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap()
    }

    /// Building the diff of two layers equals merging them and building the diff of one, for
    /// every split of the account changes, on one thread and on two, small and large.
    #[test]
    fn two_layer_diff_equals_merge_then_diff() {
        let base = base();
        let pool = two_threads();
        let mut cases = vec![accounts()];
        // Many accounts, a third of them in both layers, with overlapping storage, some
        // wiped by a re-creation in the upper layer.
        let mut many = Vec::new();
        for i in 0..3 * PARALLEL_DIFF_MIN as u64 {
            let address = Address::from_word(keccak256(
                (i % (2 * PARALLEL_DIFF_MIN as u64)).to_be_bytes(),
            ));
            let mut account = Account::from(AccountInfo::from_balance(U256::from(i + 1)));
            account.mark_touch();
            if i % 7 == 3 {
                account.mark_created();
            }
            for slot in 0..(i % 4) {
                account.storage.insert(
                    U256::from(slot + i % 3),
                    EvmStorageSlot::new_changed(
                        U256::ZERO,
                        U256::from(i * 10 + slot),
                        Default::default(),
                    ),
                );
            }
            many.push((address, account));
        }
        cases.push(many);
        // Accounts with many slots (split between the threads by slot), written again and
        // again with overlapping slots, one re-created on the way, among enough light ones
        // for the diff to be split.
        let mut heavy = Vec::new();
        for round in 0..4u64 {
            for h in 0..3u64 {
                if (h == 0 && round == 3) || (h == 2 && round == 0) {
                    continue;
                }
                let address = Address::repeat_byte(0xa0 + h as u8);
                let mut account = Account::from(AccountInfo::from_balance(U256::from(round)));
                account.mark_touch();
                if h == 1 && round == 2 {
                    account.mark_created();
                }
                for k in 0..HEAVY_SLOTS as u64 + 500 {
                    let n = round * 700 + k;
                    // Hashes (spread over the whole range) and small numbers (all alike in
                    // their most significant bits).
                    let slot = if k % 5 == 0 {
                        U256::from(n)
                    } else {
                        U256::from_be_bytes(
                            keccak256([h.to_be_bytes(), n.to_be_bytes()].concat()).0,
                        )
                    };
                    let value = U256::from(round * 1_000_000 + k + 1);
                    account.storage.insert(
                        slot,
                        EvmStorageSlot::new_changed(U256::ZERO, value, Default::default()),
                    );
                }
                heavy.push((address, account));
            }
            for i in 0..PARALLEL_DIFF_MIN as u64 / 2 {
                let address =
                    Address::from_word(keccak256([round.to_be_bytes(), i.to_be_bytes()].concat()));
                let mut account = Account::from(AccountInfo::from_balance(U256::from(i + 1)));
                account.mark_touch();
                heavy.push((address, account));
            }
        }
        cases.push(heavy);
        for accounts in cases {
            let splits: Vec<usize> = if accounts.len() > 100 {
                vec![
                    0,
                    accounts.len() / 3,
                    2 * accounts.len() / 3,
                    accounts.len(),
                ]
            } else {
                (0..=accounts.len()).collect()
            };
            for split in splits {
                let layers = || {
                    let mut lower = Overlay::new(&base);
                    for (address, account) in &accounts[..split] {
                        lower.apply_account(*address, account);
                    }
                    let upper = {
                        let mut upper = Overlay::new(&lower);
                        for (address, account) in &accounts[split..] {
                            upper.apply_account(*address, account);
                        }
                        upper.into_changes()
                    };
                    (lower, upper)
                };
                let (mut lower, upper) = layers();
                lower.merge(upper);
                let merged = lower.into_diff();
                for pool in [None, Some(&pool)] {
                    let (lower, upper) = layers();
                    let (diff, _) = lower.into_diff_in(upper, pool);
                    assert_eq!(merged, diff, "split at {split} of {}", accounts.len());
                }
            }
        }
    }

    #[test]
    fn into_diff_in_equals_into_diff() {
        let base = base();
        let pool = two_threads();
        let build = || {
            let mut overlay = Overlay::new(&base);
            for (address, account) in accounts() {
                overlay.apply_account(address, &account);
            }
            for i in 0..100u8 {
                let mut account =
                    Account::from(AccountInfo::from_balance(U256::from(i) + U256::from(1)));
                account.mark_touch();
                overlay.apply_account(Address::repeat_byte(i.wrapping_mul(7)), &account);
            }
            overlay
        };
        let none = OverlayChanges::default;
        assert_eq!(
            build().into_diff(),
            build().into_diff_in(none(), Some(&pool)).0
        );
        assert_eq!(build().into_diff(), build().into_diff_in(none(), None).0);
        // Few and many accounts (on one thread and split between two), with addresses in no
        // order or sharing their first eight bytes, some with storage.
        let min = PARALLEL_DIFF_MIN as u64;
        let sizes = [0u64, 1, 2, 3, 1_000, min - 1, min, min + 1, 5_001];
        for (n, same_prefix) in sizes.into_iter().flat_map(|n| [(n, false), (n, true)]) {
            let build = || {
                let mut overlay = Overlay::new(&base);
                for i in 0..n {
                    let mut address = Address::from_word(keccak256(i.to_be_bytes()));
                    if same_prefix {
                        address.0[..8].fill(0xab);
                    }
                    let mut account = Account::from(AccountInfo::from_balance(U256::from(i + 1)));
                    account.mark_touch();
                    account.storage.insert(
                        U256::from(i % 3),
                        EvmStorageSlot::new_changed(U256::ZERO, U256::from(i), Default::default()),
                    );
                    overlay.apply_account(address, &account);
                }
                overlay
            };
            // Also built in the memory the previous overlay handed back.
            let (diff, [memory, _]) = build().into_diff_in(none(), Some(&pool));
            assert_eq!(build().into_diff(), diff, "{n} accounts");
            assert_eq!(diff.accounts.len() as u64, n);
            let mut reused = Overlay::with_memory(&base, memory, 10);
            reused
                .pay_beneficiary(Address::ZERO, U256::from(1))
                .unwrap();
            let mut fresh = Overlay::new(&base);
            fresh.pay_beneficiary(Address::ZERO, U256::from(1)).unwrap();
            assert_eq!(
                fresh.into_diff(),
                reused.into_diff(),
                "reused after {n} accounts"
            );
        }
    }
}
