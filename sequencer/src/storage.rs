//! Durable chain storage in MDBX, with typed tables in the spirit of reth's.
//!
//! | table | key | value |
//! |---|---|---|
//! | `Meta` | name | chain config (JSON), head number |
//! | `CanonicalHeaders` | number (8, BE) | block hash |
//! | `HeaderNumbers` | block hash | number (8, BE) |
//! | `Headers` | number | header RLP |
//! | `BlockBodies` | number | RLP `[[sender..], [tx (EIP-2718)..]]` |
//! | `Receipts` | number | RLP `[receipt (EIP-2718)..]` |
//! | `TransactionLookup` | tx hash | number (8) ‖ index (4) |
//! | `PlainAccountState` | address | nonce (8) ‖ balance (32) ‖ code hash (32) |
//! | `PlainStorageState` | address ‖ slot | value (32) |
//! | `Bytecodes` | code hash | raw code |
//! | `AccountChangeSets` | number ‖ address | account before the block (empty: absent) |
//! | `StorageChangeSets` | number ‖ address ‖ slot | value before the block |
//! | `L1Batches` | batch index (8, BE) | batch record (JSON, see `crate::l1::store`) |
//! | `L1Meta` | name | settlement state: contract addresses, follower cursor |
//!
//! A block, its receipts, its indices and its state changes are written in one write
//! transaction, committed durably before anyone is told about the block. The Ethereum state
//! trie is not stored: it is rebuilt from the plain state at start-up and checked against the
//! head's state root (see [`crate::state`]).

use std::path::Path;

use alloy_consensus::{Header, ReceiptEnvelope, Sealed, TxEnvelope, transaction::Recovered};
use alloy_eips::eip2718::{Decodable2718, Encodable2718};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_rlp::{Decodable, Encodable};
use lanes_conflict::{StateDiff, StateError, StateView};
use libmdbx::{
    Database, DatabaseOptions, Mode, NoWriteMap, RO, RW, ReadWriteOptions, SyncMode, Table,
    TableFlags, Transaction, WriteFlags,
};
use revm::{bytecode::Bytecode, state::AccountInfo};

/// Storage errors.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// MDBX failed.
    #[error("mdbx: {0}")]
    Mdbx(#[from] libmdbx::Error),
    /// A stored value did not decode: the data dir is corrupt or from another version.
    #[error("corrupt entry in table {table}: {reason}")]
    Corrupt {
        /// Table name.
        table: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// Creating the data directory failed.
    #[error("cannot create data directory {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Result alias for storage operations.
pub type StorageResult<T> = Result<T, StorageError>;

/// The tables, by name.
pub mod tables {
    /// Node metadata.
    pub const META: &str = "Meta";
    /// number -> hash.
    pub const CANONICAL_HEADERS: &str = "CanonicalHeaders";
    /// hash -> number.
    pub const HEADER_NUMBERS: &str = "HeaderNumbers";
    /// number -> header.
    pub const HEADERS: &str = "Headers";
    /// number -> body.
    pub const BLOCK_BODIES: &str = "BlockBodies";
    /// number -> receipts.
    pub const RECEIPTS: &str = "Receipts";
    /// tx hash -> location.
    pub const TRANSACTION_LOOKUP: &str = "TransactionLookup";
    /// address -> account.
    pub const PLAIN_ACCOUNT_STATE: &str = "PlainAccountState";
    /// address ‖ slot -> value.
    pub const PLAIN_STORAGE_STATE: &str = "PlainStorageState";
    /// code hash -> code.
    pub const BYTECODES: &str = "Bytecodes";
    /// number ‖ address -> previous account.
    pub const ACCOUNT_CHANGE_SETS: &str = "AccountChangeSets";
    /// number ‖ address ‖ slot -> previous value.
    pub const STORAGE_CHANGE_SETS: &str = "StorageChangeSets";

    /// batch index -> batch record (settlement).
    pub const L1_BATCHES: &str = "L1Batches";
    /// name -> settlement state.
    pub const L1_META: &str = "L1Meta";

    /// Every table.
    pub const ALL: [&str; 14] = [
        META,
        CANONICAL_HEADERS,
        HEADER_NUMBERS,
        HEADERS,
        BLOCK_BODIES,
        RECEIPTS,
        TRANSACTION_LOOKUP,
        PLAIN_ACCOUNT_STATE,
        PLAIN_STORAGE_STATE,
        BYTECODES,
        ACCOUNT_CHANGE_SETS,
        STORAGE_CHANGE_SETS,
        L1_BATCHES,
        L1_META,
    ];
}

const META_HEAD: &[u8] = b"head";
const META_CHAIN: &[u8] = b"chain";

fn corrupt(table: &'static str, reason: impl ToString) -> StorageError {
    StorageError::Corrupt {
        table,
        reason: reason.to_string(),
    }
}

/// Account encoding in `PlainAccountState`.
pub fn encode_account(info: &AccountInfo) -> [u8; 72] {
    let mut out = [0u8; 72];
    out[..8].copy_from_slice(&info.nonce.to_be_bytes());
    out[8..40].copy_from_slice(&info.balance.to_be_bytes::<32>());
    out[40..].copy_from_slice(info.code_hash.as_slice());
    out
}

/// Decodes [`encode_account`]'s output.
pub fn decode_account(bytes: &[u8]) -> StorageResult<AccountInfo> {
    if bytes.len() != 72 {
        return Err(corrupt(
            tables::PLAIN_ACCOUNT_STATE,
            format!("account entry of {} bytes", bytes.len()),
        ));
    }
    let mut nonce = [0u8; 8];
    nonce.copy_from_slice(&bytes[..8]);
    Ok(AccountInfo {
        nonce: u64::from_be_bytes(nonce),
        balance: U256::from_be_slice(&bytes[8..40]),
        code_hash: B256::from_slice(&bytes[40..72]),
        code: None,
        account_id: None,
    })
}

fn storage_key(address: &Address, slot: &U256) -> [u8; 52] {
    let mut k = [0u8; 52];
    k[..20].copy_from_slice(address.as_slice());
    k[20..].copy_from_slice(&slot.to_be_bytes::<32>());
    k
}

fn account_change_key(number: u64, address: &Address) -> [u8; 28] {
    let mut k = [0u8; 28];
    k[..8].copy_from_slice(&number.to_be_bytes());
    k[8..].copy_from_slice(address.as_slice());
    k
}

fn storage_change_key(number: u64, address: &Address, slot: &U256) -> [u8; 60] {
    let mut k = [0u8; 60];
    k[..8].copy_from_slice(&number.to_be_bytes());
    k[8..].copy_from_slice(&storage_key(address, slot));
    k
}

fn u64_value(table: &'static str, bytes: &[u8]) -> StorageResult<u64> {
    let arr: [u8; 8] = bytes
        .try_into()
        .map_err(|_| corrupt(table, "expected 8 bytes"))?;
    Ok(u64::from_be_bytes(arr))
}

/// Everything stored for one block.
#[derive(Debug)]
pub struct BlockWrite<'a> {
    /// Sealed header.
    pub header: &'a Sealed<Header>,
    /// Transactions with senders.
    pub transactions: &'a [Recovered<TxEnvelope>],
    /// Receipts.
    pub receipts: &'a [ReceiptEnvelope],
    /// State changes.
    pub diff: &'a StateDiff,
}

/// The MDBX database of one node.
#[derive(Debug)]
pub struct Store {
    db: Database<NoWriteMap>,
}

impl Store {
    /// Opens (creating if needed) the database in `dir`.
    pub fn open(dir: &Path) -> StorageResult<Self> {
        std::fs::create_dir_all(dir).map_err(|source| StorageError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let options = DatabaseOptions {
            max_tables: Some(32),
            max_readers: Some(512),
            mode: Mode::ReadWrite(ReadWriteOptions {
                // Durable: a block is on disk before any client hears of it.
                sync_mode: SyncMode::Durable,
                min_size: None,
                max_size: Some(1 << 40),
                growth_step: Some(64 << 20),
                shrink_threshold: None,
            }),
            ..Default::default()
        };
        let db = Database::open_with_options(dir, options)?;
        let txn = db.begin_rw_txn()?;
        for name in tables::ALL {
            txn.create_table(Some(name), TableFlags::default())?;
        }
        txn.commit()?;
        Ok(Self { db })
    }

    /// A consistent read snapshot.
    pub fn reader(&self) -> StorageResult<Reader<'_>> {
        Ok(Reader {
            txn: self.db.begin_ro_txn()?,
        })
    }

    /// The stored chain configuration (JSON), if the database was initialised.
    pub fn chain_config(&self) -> StorageResult<Option<Vec<u8>>> {
        let txn = self.db.begin_ro_txn()?;
        let t = txn.open_table(Some(tables::META))?;
        Ok(txn.get::<Vec<u8>>(&t, META_CHAIN)?)
    }

    /// Writes the genesis block and its allocations, and the chain configuration.
    pub fn init_genesis(
        &self,
        config_json: &[u8],
        header: &Sealed<Header>,
        diff: &StateDiff,
    ) -> StorageResult<()> {
        let txn = self.db.begin_rw_txn()?;
        let meta = txn.open_table(Some(tables::META))?;
        txn.put(&meta, META_CHAIN, config_json, WriteFlags::empty())?;
        Self::write_block_in(
            &txn,
            &BlockWrite {
                header,
                transactions: &[],
                receipts: &[],
                diff,
            },
            false,
        )?;
        txn.commit()?;
        Ok(())
    }

    /// Writes (or with `None` deletes) entries of a settlement table in one durable
    /// transaction. Only for [`tables::L1_BATCHES`] and [`tables::L1_META`].
    pub fn put_aux(
        &self,
        table: &'static str,
        entries: &[(&[u8], Option<&[u8]>)],
    ) -> StorageResult<()> {
        let txn = self.db.begin_rw_txn()?;
        let t = txn.open_table(Some(table))?;
        for (key, value) in entries {
            match value {
                Some(v) => txn.put(&t, key, v, WriteFlags::empty())?,
                None => {
                    txn.del(&t, key, None)?;
                }
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// One entry of a settlement table.
    pub fn get_aux(&self, table: &'static str, key: &[u8]) -> StorageResult<Option<Vec<u8>>> {
        let txn = self.db.begin_ro_txn()?;
        let t = txn.open_table(Some(table))?;
        Ok(txn.get::<Vec<u8>>(&t, key)?)
    }

    /// The entry with the greatest key of a settlement table.
    pub fn last_aux(&self, table: &'static str) -> StorageResult<Option<(Vec<u8>, Vec<u8>)>> {
        let txn = self.db.begin_ro_txn()?;
        let t = txn.open_table(Some(table))?;
        let mut cursor = txn.cursor(&t)?;
        Ok(cursor.last::<Vec<u8>, Vec<u8>>()?)
    }

    /// Writes one block durably, in one transaction.
    pub fn write_block(&self, block: &BlockWrite<'_>) -> StorageResult<()> {
        let txn = self.db.begin_rw_txn()?;
        Self::write_block_in(&txn, block, true)?;
        txn.commit()?;
        Ok(())
    }

    fn write_block_in(
        txn: &Transaction<'_, RW, NoWriteMap>,
        block: &BlockWrite<'_>,
        changesets: bool,
    ) -> StorageResult<()> {
        let number = block.header.number;
        let hash = block.header.hash();
        let key = number.to_be_bytes();
        let t = |name| txn.open_table(Some(name));

        let mut header_rlp = Vec::with_capacity(600);
        block.header.inner().encode(&mut header_rlp);
        txn.put(&t(tables::HEADERS)?, key, &header_rlp, WriteFlags::empty())?;
        txn.put(
            &t(tables::CANONICAL_HEADERS)?,
            key,
            hash,
            WriteFlags::empty(),
        )?;
        txn.put(&t(tables::HEADER_NUMBERS)?, hash, key, WriteFlags::empty())?;

        let senders: Vec<Address> = block.transactions.iter().map(|tx| tx.signer()).collect();
        let txs: Vec<Bytes> = block
            .transactions
            .iter()
            .map(|tx| tx.inner().encoded_2718().into())
            .collect();
        let mut body = Vec::new();
        alloy_rlp::encode_list::<_, dyn Encodable>(&[&senders as &dyn Encodable, &txs], &mut body);
        txn.put(&t(tables::BLOCK_BODIES)?, key, &body, WriteFlags::empty())?;

        let receipts: Vec<Bytes> = block
            .receipts
            .iter()
            .map(|r| r.encoded_2718().into())
            .collect();
        txn.put(
            &t(tables::RECEIPTS)?,
            key,
            alloy_rlp::encode(&receipts),
            WriteFlags::empty(),
        )?;

        let lookup = t(tables::TRANSACTION_LOOKUP)?;
        for (index, tx) in block.transactions.iter().enumerate() {
            let mut loc = [0u8; 12];
            loc[..8].copy_from_slice(&key);
            loc[8..].copy_from_slice(&(index as u32).to_be_bytes());
            txn.put(&lookup, tx.tx_hash(), loc, WriteFlags::empty())?;
        }

        Self::write_state(txn, number, block.diff, changesets)?;

        let meta = t(tables::META)?;
        txn.put(&meta, META_HEAD, key, WriteFlags::empty())?;
        Ok(())
    }

    fn write_state(
        txn: &Transaction<'_, RW, NoWriteMap>,
        number: u64,
        diff: &StateDiff,
        changesets: bool,
    ) -> StorageResult<()> {
        let accounts = txn.open_table(Some(tables::PLAIN_ACCOUNT_STATE))?;
        let storage = txn.open_table(Some(tables::PLAIN_STORAGE_STATE))?;
        let account_cs = txn.open_table(Some(tables::ACCOUNT_CHANGE_SETS))?;
        let storage_cs = txn.open_table(Some(tables::STORAGE_CHANGE_SETS))?;
        let codes = txn.open_table(Some(tables::BYTECODES))?;

        for (hash, code) in &diff.codes {
            txn.put(
                &codes,
                hash,
                code.original_byte_slice(),
                WriteFlags::empty(),
            )?;
        }
        for (address, change) in &diff.accounts {
            if changesets {
                let prev = txn.get::<Vec<u8>>(&accounts, address)?.unwrap_or_default();
                txn.put(
                    &account_cs,
                    account_change_key(number, address),
                    prev,
                    WriteFlags::empty(),
                )?;
            }
            if change.storage_wiped || change.info.is_none() {
                // Remember and delete every slot the account had.
                let mut cursor = txn.cursor(&storage)?;
                let mut doomed = Vec::new();
                for item in cursor.iter_from::<Vec<u8>, Vec<u8>>(address.as_slice()) {
                    let (k, v) = item?;
                    if !k.starts_with(address.as_slice()) {
                        break;
                    }
                    doomed.push((k, v));
                }
                drop(cursor);
                for (k, v) in doomed {
                    if changesets {
                        let mut cs_key = Vec::with_capacity(60);
                        cs_key.extend_from_slice(&number.to_be_bytes());
                        cs_key.extend_from_slice(&k);
                        txn.put(&storage_cs, cs_key, v, WriteFlags::empty())?;
                    }
                    txn.del(&storage, k, None)?;
                }
            }
            match &change.info {
                None => {
                    txn.del(&accounts, address, None)?;
                }
                Some(info) => {
                    txn.put(
                        &accounts,
                        address,
                        encode_account(info),
                        WriteFlags::empty(),
                    )?;
                    for (slot, value) in &change.storage {
                        let key = storage_key(address, slot);
                        if changesets {
                            let cs_key = storage_change_key(number, address, slot);
                            if txn.get::<()>(&storage_cs, cs_key)?.is_none() {
                                let prev = txn.get::<[u8; 32]>(&storage, key)?.unwrap_or([0u8; 32]);
                                txn.put(&storage_cs, cs_key, prev, WriteFlags::empty())?;
                            }
                        }
                        if value.is_zero() {
                            txn.del(&storage, key, None)?;
                        } else {
                            txn.put(
                                &storage,
                                key,
                                value.to_be_bytes::<32>(),
                                WriteFlags::empty(),
                            )?;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// What a range of blocks changed ([`Reader::changes_between`]): every touched account and
/// slot with its value before the range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeChanges {
    /// Accounts, with their info before the range (`None`: did not exist).
    pub accounts: std::collections::BTreeMap<Address, Option<AccountInfo>>,
    /// Storage slots, with their value before the range (zero: empty).
    pub storage: std::collections::BTreeMap<(Address, U256), U256>,
}

/// A read-only snapshot of the database. Every read through one reader sees the same
/// committed blocks.
#[derive(Debug)]
pub struct Reader<'db> {
    txn: Transaction<'db, RO, NoWriteMap>,
}

impl<'db> Reader<'db> {
    fn table(&self, name: &str) -> StorageResult<Table<'_>> {
        Ok(self.txn.open_table(Some(name))?)
    }

    fn get(&self, name: &str, key: impl AsRef<[u8]>) -> StorageResult<Option<Vec<u8>>> {
        let t = self.table(name)?;
        Ok(self.txn.get::<Vec<u8>>(&t, key)?)
    }

    /// The head block number (`None` before genesis is written).
    pub fn head(&self) -> StorageResult<Option<u64>> {
        self.get(tables::META, META_HEAD)?
            .map(|v| u64_value(tables::META, &v))
            .transpose()
    }

    /// Canonical header by number.
    pub fn header(&self, number: u64) -> StorageResult<Option<Header>> {
        let Some(bytes) = self.get(tables::HEADERS, number.to_be_bytes())? else {
            return Ok(None);
        };
        Header::decode(&mut bytes.as_slice())
            .map(Some)
            .map_err(|e| corrupt(tables::HEADERS, e))
    }

    /// Canonical block hash by number.
    pub fn block_hash(&self, number: u64) -> StorageResult<Option<B256>> {
        Ok(self
            .get(tables::CANONICAL_HEADERS, number.to_be_bytes())?
            .map(|v| B256::from_slice(&v)))
    }

    /// Block number by hash.
    pub fn block_number(&self, hash: B256) -> StorageResult<Option<u64>> {
        self.get(tables::HEADER_NUMBERS, hash)?
            .map(|v| u64_value(tables::HEADER_NUMBERS, &v))
            .transpose()
    }

    /// Transactions of a block with senders, and the encoded body size.
    pub fn body(&self, number: u64) -> StorageResult<Option<(Vec<Recovered<TxEnvelope>>, usize)>> {
        let Some(bytes) = self.get(tables::BLOCK_BODIES, number.to_be_bytes())? else {
            return Ok(None);
        };
        let err = |e: alloy_rlp::Error| corrupt(tables::BLOCK_BODIES, e);
        let mut buf = bytes.as_slice();
        let header = alloy_rlp::Header::decode(&mut buf).map_err(err)?;
        if !header.list {
            return Err(corrupt(tables::BLOCK_BODIES, "body is not a list"));
        }
        let senders = Vec::<Address>::decode(&mut buf).map_err(err)?;
        let txs = Vec::<Bytes>::decode(&mut buf).map_err(err)?;
        if senders.len() != txs.len() {
            return Err(corrupt(
                tables::BLOCK_BODIES,
                "senders and transactions differ in count",
            ));
        }
        let mut out = Vec::with_capacity(txs.len());
        let mut size = 0;
        for (sender, raw) in senders.into_iter().zip(txs) {
            size += raw.len();
            let tx = TxEnvelope::decode_2718(&mut raw.as_ref())
                .map_err(|e| corrupt(tables::BLOCK_BODIES, e))?;
            out.push(Recovered::new_unchecked(tx, sender));
        }
        Ok(Some((out, size)))
    }

    /// Receipts of a block.
    pub fn receipts(&self, number: u64) -> StorageResult<Option<Vec<ReceiptEnvelope>>> {
        let Some(bytes) = self.get(tables::RECEIPTS, number.to_be_bytes())? else {
            return Ok(None);
        };
        let err = |e: alloy_rlp::Error| corrupt(tables::RECEIPTS, e);
        let raw = Vec::<Bytes>::decode(&mut bytes.as_slice()).map_err(err)?;
        raw.iter()
            .map(|r| {
                ReceiptEnvelope::decode_2718(&mut r.as_ref())
                    .map_err(|e| corrupt(tables::RECEIPTS, e))
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }

    /// Where a transaction was included.
    pub fn transaction_location(&self, hash: B256) -> StorageResult<Option<(u64, u64)>> {
        let Some(v) = self.get(tables::TRANSACTION_LOOKUP, hash)? else {
            return Ok(None);
        };
        if v.len() != 12 {
            return Err(corrupt(tables::TRANSACTION_LOOKUP, "expected 12 bytes"));
        }
        let number = u64_value(tables::TRANSACTION_LOOKUP, &v[..8])?;
        let mut idx = [0u8; 4];
        idx.copy_from_slice(&v[8..]);
        Ok(Some((number, u64::from(u32::from_be_bytes(idx)))))
    }

    /// Latest state of an account.
    pub fn account(&self, address: Address) -> StorageResult<Option<AccountInfo>> {
        self.get(tables::PLAIN_ACCOUNT_STATE, address)?
            .map(|v| decode_account(&v))
            .transpose()
    }

    /// Latest value of a storage slot.
    pub fn storage(&self, address: Address, slot: U256) -> StorageResult<U256> {
        Ok(self
            .get(tables::PLAIN_STORAGE_STATE, storage_key(&address, &slot))?
            .map(|v| U256::from_be_slice(&v))
            .unwrap_or_default())
    }

    /// Code by hash.
    pub fn code(&self, hash: B256) -> StorageResult<Option<Bytes>> {
        Ok(self.get(tables::BYTECODES, hash)?.map(Bytes::from))
    }

    /// The account as it was before block `number` changed it, if block `number` changed it:
    /// `Some(None)` means it did not exist then.
    pub fn account_before(
        &self,
        number: u64,
        address: Address,
    ) -> StorageResult<Option<Option<AccountInfo>>> {
        match self.get(
            tables::ACCOUNT_CHANGE_SETS,
            account_change_key(number, &address),
        )? {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(Some(None)),
            Some(v) => decode_account(&v).map(|a| Some(Some(a))),
        }
    }

    /// The slot's value before block `number` changed it, if it did.
    pub fn storage_before(
        &self,
        number: u64,
        address: Address,
        slot: U256,
    ) -> StorageResult<Option<U256>> {
        Ok(self
            .get(
                tables::STORAGE_CHANGE_SETS,
                storage_change_key(number, &address, &slot),
            )?
            .map(|v| U256::from_be_slice(&v)))
    }

    /// Every account and slot blocks `first..=last` changed, each with its value before
    /// `first` (the earliest change set wins): `None` for an account that did not exist, zero
    /// for an empty slot. Keys whose value ends where it started are included; the caller
    /// compares.
    pub fn changes_between(&self, first: u64, last: u64) -> StorageResult<RangeChanges> {
        let mut out = RangeChanges::default();
        if first > last {
            return Ok(out);
        }
        let t = self.table(tables::ACCOUNT_CHANGE_SETS)?;
        let mut cursor = self.txn.cursor(&t)?;
        for item in cursor.iter_from::<Vec<u8>, Vec<u8>>(&first.to_be_bytes()[..]) {
            let (k, v) = item?;
            if k.len() != 28 {
                return Err(corrupt(tables::ACCOUNT_CHANGE_SETS, "key of wrong length"));
            }
            if u64_value(tables::ACCOUNT_CHANGE_SETS, &k[..8])? > last {
                break;
            }
            let address = Address::from_slice(&k[8..]);
            if let std::collections::btree_map::Entry::Vacant(e) = out.accounts.entry(address) {
                e.insert(match v.is_empty() {
                    true => None,
                    false => Some(decode_account(&v)?),
                });
            }
        }
        let t = self.table(tables::STORAGE_CHANGE_SETS)?;
        let mut cursor = self.txn.cursor(&t)?;
        for item in cursor.iter_from::<Vec<u8>, Vec<u8>>(&first.to_be_bytes()[..]) {
            let (k, v) = item?;
            if k.len() != 60 || v.len() != 32 {
                return Err(corrupt(
                    tables::STORAGE_CHANGE_SETS,
                    "entry of wrong length",
                ));
            }
            if u64_value(tables::STORAGE_CHANGE_SETS, &k[..8])? > last {
                break;
            }
            let key = (
                Address::from_slice(&k[8..28]),
                U256::from_be_slice(&k[28..]),
            );
            out.storage
                .entry(key)
                .or_insert_with(|| U256::from_be_slice(&v));
        }
        Ok(out)
    }

    /// Visits every account and its storage (for rebuilding the state trie).
    pub fn for_each_account(
        &self,
        mut f: impl FnMut(Address, AccountInfo, Vec<(U256, U256)>),
    ) -> StorageResult<()> {
        let accounts = self.table(tables::PLAIN_ACCOUNT_STATE)?;
        let storage = self.table(tables::PLAIN_STORAGE_STATE)?;
        let mut acc_cursor = self.txn.cursor(&accounts)?;
        let mut st_cursor = self.txn.cursor(&storage)?;
        let mut slots_iter = st_cursor.iter_start::<Vec<u8>, Vec<u8>>().peekable();
        for item in acc_cursor.iter_start::<Vec<u8>, Vec<u8>>() {
            let (k, v) = item?;
            let address = Address::from_slice(&k);
            let info = decode_account(&v)?;
            let mut slots = Vec::new();
            while let Some(Ok((sk, _))) = slots_iter.peek() {
                if sk.len() != 52 {
                    return Err(corrupt(tables::PLAIN_STORAGE_STATE, "key of wrong length"));
                }
                match sk[..20].cmp(address.as_slice()) {
                    std::cmp::Ordering::Less => {
                        return Err(corrupt(
                            tables::PLAIN_STORAGE_STATE,
                            "storage of a missing account",
                        ));
                    }
                    std::cmp::Ordering::Greater => break,
                    std::cmp::Ordering::Equal => {
                        let Some(Ok((sk, sv))) = slots_iter.next() else {
                            break;
                        };
                        slots.push((U256::from_be_slice(&sk[20..]), U256::from_be_slice(&sv)));
                    }
                }
            }
            if let Some(Err(_)) = slots_iter.peek()
                && let Some(Err(e)) = slots_iter.next()
            {
                return Err(e.into());
            }
            f(address, info, slots);
        }
        Ok(())
    }
}

/// The state at the end of block `at`, read from a [`Reader`]: latest plain state, rewound
/// through the change sets of the blocks after `at`.
#[derive(Debug)]
pub struct StateAt<'r, 'db> {
    reader: &'r Reader<'db>,
    head: u64,
    at: u64,
}

impl<'r, 'db> StateAt<'r, 'db> {
    /// State at the end of block `at` (`at <= head`).
    pub fn new(reader: &'r Reader<'db>, head: u64, at: u64) -> Self {
        Self {
            reader,
            head,
            at: at.min(head),
        }
    }
}

fn state_err(e: StorageError) -> StateError {
    StateError(e.to_string())
}

impl StateView for StateAt<'_, '_> {
    fn account(&self, address: Address) -> Result<Option<AccountInfo>, StateError> {
        for number in self.at + 1..=self.head {
            if let Some(before) = self
                .reader
                .account_before(number, address)
                .map_err(state_err)?
            {
                return Ok(before);
            }
        }
        self.reader.account(address).map_err(state_err)
    }

    fn storage(&self, address: Address, slot: U256) -> Result<U256, StateError> {
        for number in self.at + 1..=self.head {
            if let Some(before) = self
                .reader
                .storage_before(number, address, slot)
                .map_err(state_err)?
            {
                return Ok(before);
            }
        }
        self.reader.storage(address, slot).map_err(state_err)
    }

    fn code(&self, code_hash: B256) -> Result<Option<Bytecode>, StateError> {
        Ok(self
            .reader
            .code(code_hash)
            .map_err(state_err)?
            .map(Bytecode::new_raw))
    }

    fn block_hash(&self, number: u64) -> Result<B256, StateError> {
        // BLOCKHASH only sees the 256 most recent ancestors; revm enforces the window.
        if number > self.at {
            return Ok(B256::ZERO);
        }
        Ok(self
            .reader
            .block_hash(number)
            .map_err(state_err)?
            .unwrap_or_default())
    }
}
