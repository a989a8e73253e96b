//! Access sets: what a transaction read while it executed, recorded by a database wrapper, and
//! the check that the reads still hold on newer state.
//!
//! revm loads an account's balance, nonce and code hash in one database call, so a read covers
//! the account as a whole; storage is read slot by slot. Code is addressed by its hash and never
//! changes, so code reads need no record. Validation compares the *values* read with the values
//! the state holds now: equal values mean revm saw exactly the inputs it would have seen in
//! block order, hence produced exactly the same result. A value the wave's snapshot served is
//! compared only where the changes committed since the snapshot hold that key
//! (`first_stale_in_wave`), so validating never reaches into the node's state.
//!
//! A transaction's write set is the list of account changes its speculative run produced
//! (`WriteSet` in [`crate::state`], reduced from revm's state on the executing thread):
//! per account, either destroyed (self-destruct, or touched while empty under EIP-161) or its
//! new balance, nonce and code hash, whether its storage was wiped (creation), its bytecode if
//! it was deployed, and every changed storage slot. The beneficiary's fee is not part of it
//! (see [`crate::fees`]).

use alloy_primitives::{Address, B256, Bytes, U256, map::B256Map};
use revm::{
    bytecode::{Bytecode, JumpTable},
    database_interface::Database,
    primitives::KECCAK_EMPTY,
    state::AccountInfo,
};

use crate::state::{Overlay, StateError, StateView};

/// A piece of state a transaction can read, at the granularity revm reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum StateKey {
    /// An account's balance, nonce and code hash.
    Account(Address),
    /// One storage slot.
    Storage(Address, U256),
}

impl StateKey {
    /// The account the key belongs to.
    pub fn address(&self) -> Address {
        match self {
            Self::Account(address) | Self::Storage(address, _) => *address,
        }
    }
}

/// One recorded read and the value it returned.
#[derive(Debug, Clone)]
pub(crate) struct Read {
    value: ReadValue,
    /// Served by an earlier transaction of the lane rather than by the snapshot.
    pub(crate) from_lane: bool,
}

#[derive(Debug, Clone)]
enum ReadValue {
    Account(Address, Option<AccountStamp>),
    Storage(Address, U256, U256),
}

/// What execution can observe of an account: exactly the fields `AccountInfo`'s equality
/// compares (balance, nonce, code hash), without the code and bookkeeping it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AccountStamp {
    balance: U256,
    code_hash: B256,
    nonce: u64,
}

impl AccountStamp {
    fn of(info: Option<&AccountInfo>) -> Option<Self> {
        info.map(|info| Self {
            balance: info.balance,
            code_hash: info.code_hash,
            nonce: info.nonce,
        })
    }
}

impl Read {
    pub(crate) fn key(&self) -> StateKey {
        match &self.value {
            ReadValue::Account(address, _) => StateKey::Account(*address),
            ReadValue::Storage(address, slot, _) => StateKey::Storage(*address, *slot),
        }
    }

    /// Whether `state` still returns what this read returned.
    pub(crate) fn holds<S: StateView + ?Sized>(&self, state: &S) -> Result<bool, StateError> {
        Ok(match &self.value {
            ReadValue::Account(address, stamp) => {
                AccountStamp::of(state.account(*address)?.as_ref()) == *stamp
            }
            ReadValue::Storage(address, slot, value) => state.storage(*address, *slot)? == *value,
        })
    }

    /// Whether `wave`, which stacks changes on the snapshot this read was served from, still
    /// returns what it returned. Only the changes are looked at: where `wave` does not
    /// determine the key itself, it returns the snapshot's value, which is what was read.
    fn holds_over_snapshot<S: StateView + ?Sized>(&self, wave: &Overlay<'_, S>) -> bool {
        match &self.value {
            ReadValue::Account(address, stamp) => wave
                .own_account(address)
                .is_none_or(|info| AccountStamp::of(info) == *stamp),
            ReadValue::Storage(address, slot, value) => wave
                .own_storage(address, slot)
                .is_none_or(|current| current == *value),
        }
    }
}

/// The first read in `reads` that `state` no longer agrees with, if any.
pub(crate) fn first_stale<S: StateView + ?Sized>(
    reads: &[Read],
    state: &S,
) -> Result<Option<StateKey>, StateError> {
    for read in reads {
        if !read.holds(state)? {
            return Ok(Some(read.key()));
        }
    }
    Ok(None)
}

/// [`first_stale`] for reads served by `wave`'s base (the snapshot) or by the lane, where
/// `wave` holds the changes committed since that snapshot was taken. A read the snapshot served
/// can only be invalidated by those changes, so it is checked against them alone; a read a
/// lane predecessor served is checked against the whole state.
pub(crate) fn first_stale_in_wave<S: StateView + ?Sized>(
    reads: &[Read],
    wave: &Overlay<'_, S>,
) -> Result<Option<StateKey>, StateError> {
    for read in reads {
        let holds = if read.from_lane {
            read.holds(wave)?
        } else {
            read.holds_over_snapshot(wave)
        };
        if !holds {
            return Ok(Some(read.key()));
        }
    }
    Ok(None)
}

/// A revm database for speculative execution: reads come from a snapshot of committed state,
/// or from the writes of earlier transactions of the same lane stacked on it, and every read is
/// recorded with its value.
#[derive(Debug)]
pub(crate) struct RecordingDb<'a, S: ?Sized> {
    snapshot: &'a S,
    /// Writes of the lane's earlier transactions (empty outside a lane).
    lane: Overlay<'a, S>,
    in_lane: bool,
    reads: Vec<Read>,
    beneficiary: Address,
    beneficiary_read: bool,
    caller: Address,
    lane_dependency: Option<StateKey>,
    /// Code this thread loaded, by hash. revm clones the code of every account it loads and
    /// drops it after the transaction; the clones share one reference count, which threads
    /// running the same contract would otherwise update in turns from every core. A code used
    /// twice gets a copy of its own (same bytes, hence same hash and same execution).
    codes: B256Map<(Bytecode, bool)>,
    /// The empty code this database gives accounts without code (see [`RecordingDb::basic`]).
    empty_code: Bytecode,
}

/// A new value of the empty code, equal to revm's `Bytecode::default()` in every respect but
/// its reference count, which revm's value shares across the whole process.
fn own_empty_code() -> Bytecode {
    // SAFETY: the parts of revm's own empty code (`Bytecode::new`): one STOP as the analysed,
    // padded code, none of it original, no jump destinations; execution reads it exactly as
    // it reads revm's value.
    unsafe { Bytecode::new_analyzed(Bytes::from_static(&[0x00]), 0, JumpTable::default()) }
}

/// What a [`RecordingDb`] observed during one transaction besides its reads.
#[derive(Debug, Default)]
pub(crate) struct Observed {
    /// The transaction loaded the block beneficiary's account.
    pub(crate) beneficiary_read: bool,
    /// The first key whose value came from an earlier transaction of the lane: a slot it
    /// wrote, or an account (other than the caller's) it changed.
    pub(crate) lane_dependency: Option<StateKey>,
}

impl<'a, S: StateView + ?Sized> RecordingDb<'a, S> {
    pub(crate) fn new(snapshot: &'a S, beneficiary: Address) -> Self {
        Self {
            snapshot,
            lane: Overlay::new(snapshot),
            in_lane: false,
            reads: Vec::new(),
            beneficiary,
            beneficiary_read: false,
            caller: Address::ZERO,
            lane_dependency: None,
            codes: B256Map::default(),
            empty_code: own_empty_code(),
        }
    }

    /// Starts recording a transaction sent by `caller`.
    pub(crate) fn begin_tx(&mut self, caller: Address) {
        self.caller = caller;
    }

    /// Starts a lane: later transactions see the writes of earlier ones.
    pub(crate) fn start_lane(&mut self) {
        self.in_lane = true;
    }

    /// Ends the lane: transactions read the snapshot only.
    pub(crate) fn end_lane(&mut self) {
        self.in_lane = false;
        self.lane.clear();
    }

    /// The lane's pending writes, if a lane is running.
    pub(crate) fn lane_mut(&mut self) -> Option<&mut Overlay<'a, S>> {
        self.in_lane.then_some(&mut self.lane)
    }

    /// Ends the transaction: its reads are swapped into `reads` (which should be empty; its
    /// memory is kept for the next transaction's reads), and the rest of what was observed
    /// is returned.
    pub(crate) fn finish_tx(&mut self, reads: &mut Vec<Read>) -> Observed {
        std::mem::swap(&mut self.reads, reads);
        self.reads.clear();
        Observed {
            beneficiary_read: std::mem::take(&mut self.beneficiary_read),
            lane_dependency: self.lane_dependency.take(),
        }
    }
}

impl<S: StateView + ?Sized> Database for RecordingDb<'_, S> {
    type Error = StateError;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, StateError> {
        if address == self.beneficiary {
            self.beneficiary_read = true;
        }
        let from_lane = self.in_lane && self.lane.has_account(address);
        let info = if from_lane {
            let info = StateView::account(&self.lane, address)?;
            if self.lane_dependency.is_none()
                && address != self.caller
                && info != self.snapshot.account(address)?
            {
                self.lane_dependency = Some(StateKey::Account(address));
            }
            info
        } else {
            self.snapshot.account(address)?
        };
        self.reads.push(Read {
            value: ReadValue::Account(address, AccountStamp::of(info.as_ref())),
            from_lane,
        });
        // revm gives an account loaded without code `Bytecode::default()`, one value for the
        // whole process (a singleton since bluealloy/revm#2436, to save an allocation), whose
        // reference count it updates for every such account a transaction touches (both
        // parties of a transfer, every sender); updated from every thread, that cache line
        // travels between the cores. An existing account without code gets this thread's own
        // empty code instead (an empty account is left to revm, which keys its handling of
        // empty accounts on its own value).
        let mut info = info;
        if let Some(info) = &mut info
            && info.code.is_none()
            && info.code_hash == KECCAK_EMPTY
            && !info.is_empty()
        {
            info.code = Some(self.empty_code.clone());
        }
        Ok(info)
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode, StateError> {
        if code_hash == KECCAK_EMPTY || code_hash.is_zero() {
            return Ok(self.empty_code.clone());
        }
        if let Some((code, own)) = self.codes.get_mut(&code_hash) {
            if !*own {
                // Used again on this thread: worth a copy of its own (see `codes`).
                if let Ok(copy) =
                    Bytecode::new_raw_checked(Bytes::copy_from_slice(code.original_byte_slice()))
                {
                    *code = copy;
                }
                *own = true;
            }
            return Ok(code.clone());
        }
        let code = if self.in_lane {
            StateView::code(&self.lane, code_hash)?
        } else {
            self.snapshot.code(code_hash)?
        }
        .ok_or_else(|| StateError(format!("code {code_hash} not found")))?;
        self.codes.insert(code_hash, (code.clone(), false));
        Ok(code)
    }

    fn storage(&mut self, address: Address, index: U256) -> Result<U256, StateError> {
        if address == self.beneficiary {
            self.beneficiary_read = true;
        }
        let from_lane = self.in_lane && self.lane.has_slot(address, index);
        let value = if from_lane {
            if self.lane_dependency.is_none() {
                self.lane_dependency = Some(StateKey::Storage(address, index));
            }
            StateView::storage(&self.lane, address, index)?
        } else {
            self.snapshot.storage(address, index)?
        };
        self.reads.push(Read {
            value: ReadValue::Storage(address, index, value),
            from_lane,
        });
        Ok(value)
    }

    fn block_hash(&mut self, number: u64) -> Result<B256, StateError> {
        self.snapshot.block_hash(number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InMemoryState;

    /// The empty code the speculation gives accounts is revm's in every observable respect
    /// (bytes, length, hash, what the interpreter runs, kind), but a value of its own.
    #[test]
    fn own_empty_code_is_revms_empty_code() {
        let own = own_empty_code();
        let revm = Bytecode::default();
        assert_eq!(own, revm);
        assert!(own.is_empty());
        assert_eq!(own.len(), revm.len());
        assert_eq!(own.original_byte_slice(), revm.original_byte_slice());
        assert_eq!(own.bytecode(), revm.bytecode());
        assert_eq!(own.hash_slow(), KECCAK_EMPTY);
        assert_eq!(own.kind(), revm.kind());
        assert!(own.legacy_jump_table().is_some());
        assert!(revm.is_default() && !own.is_default());
    }

    /// An existing account without code comes out of the recording database with an empty code
    /// of the database's own, not revm's shared value; an empty account comes out as stored.
    #[test]
    fn accounts_without_code_get_an_empty_code_of_their_own() {
        let mut state = InMemoryState::new();
        let sender = Address::repeat_byte(1);
        let empty = Address::repeat_byte(2);
        state.insert_account(sender, U256::from(1), 0, None);
        state.insert_account(empty, U256::ZERO, 0, None);
        let mut db = RecordingDb::new(&state, Address::ZERO);
        let code = db.basic(sender).unwrap().unwrap().code.unwrap();
        assert!(code.is_empty() && !code.is_default());
        assert!(db.basic(empty).unwrap().unwrap().code.is_none());
        let by_hash = db.code_by_hash(KECCAK_EMPTY).unwrap();
        assert!(by_hash.is_empty() && !by_hash.is_default());
    }
}
