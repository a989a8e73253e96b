//! Building a wave buffer (block environment, state hash tables, code arena, transactions)
//! from committed state, and reading the kernel's per-transaction outputs back.
//!
//! The layout is `kernels/lanes_abi.h`'s: every offset is a byte offset from the start of the
//! wave buffer and a multiple of 8.

use alloy_primitives::{
    Address, B256, Bytes, Log, LogData, U256,
    map::{AddressMap, AddressSet, HashSet},
};
use lanes_conflict::{BlockContext, StateError, StateView};
use revm::{context::TxEnv, primitives::TxKind};

use crate::abi::{self, *};

/// A key the kernel read or missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    Account(Address),
    Storage(Address, U256),
    Code(Address),
    BlockHash(u64),
}

impl Key {
    fn from_abi(key: &LanesKey) -> Option<Self> {
        let address = Address::from(key.address);
        Some(match key.kind {
            LANES_KEY_ACCOUNT => Self::Account(address),
            LANES_KEY_STORAGE => Self::Storage(address, key.slot.into()),
            LANES_KEY_CODE => Self::Code(address),
            LANES_KEY_BLOCKHASH => Self::BlockHash(key.slot.limbs[0]),
            _ => return None,
        })
    }
}

/// The keys a block's waves load into the tables. Grows as transactions miss; the values are
/// read again from the committed state for every wave, so the tables always show it.
#[derive(Debug, Default)]
pub(crate) struct KeySet {
    pub(crate) accounts: Vec<Address>,
    account_set: AddressSet,
    pub(crate) slots: Vec<(Address, U256)>,
    slot_set: HashSet<(Address, U256)>,
    pub(crate) block_hashes: Vec<u64>,
}

impl KeySet {
    pub(crate) fn add_account(&mut self, address: Address) -> bool {
        let new = self.account_set.insert(address);
        if new {
            self.accounts.push(address);
        }
        new
    }

    pub(crate) fn add_slot(&mut self, address: Address, slot: U256) -> bool {
        self.add_account(address);
        let new = self.slot_set.insert((address, slot));
        if new {
            self.slots.push((address, slot));
        }
        new
    }

    /// Adds what a miss asks for; `false` if it was already there (the kernel missed a key
    /// the table holds: a bug, which the caller must not loop on).
    pub(crate) fn add(&mut self, key: Key) -> bool {
        match key {
            Key::Account(address) | Key::Code(address) => self.add_account(address),
            Key::Storage(address, slot) => self.add_slot(address, slot),
            Key::BlockHash(number) => {
                if self.block_hashes.contains(&number) {
                    false
                } else {
                    self.block_hashes.push(number);
                    true
                }
            }
        }
    }

    /// Seeds the keys a transaction surely reads: sender, recipient, access list.
    pub(crate) fn seed(&mut self, tx: &TxEnv) {
        self.add_account(tx.caller);
        if let TxKind::Call(to) = tx.kind {
            self.add_account(to);
        }
        for item in tx.access_list.iter() {
            self.add_account(item.address);
            for key in &item.storage_keys {
                self.add_slot(item.address, U256::from_be_bytes(key.0));
            }
        }
    }
}

/// Per-transaction buffer sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Bytes of each transaction's output slot.
    pub out_stride: usize,
    /// Bytes of each transaction's scratch slot (stacks, memory, frames, journal).
    pub scratch_stride: usize,
    /// Most transactions in one wave.
    pub max_wave_txs: usize,
}

impl Default for Geometry {
    fn default() -> Self {
        Self {
            out_stride: 256 << 10,
            scratch_stride: 2 << 20,
            max_wave_txs: 256,
        }
    }
}

/// A wave buffer: 8-byte aligned bytes.
#[derive(Debug, Default)]
pub(crate) struct WaveBuf {
    words: Vec<u64>,
    len: usize,
    pub(crate) tx_count: usize,
}

impl WaveBuf {
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: a u64 vector viewed as the bytes it holds; `len` ≤ its byte length.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast::<u8>(), self.len) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`, uniquely borrowed.
        unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr().cast::<u8>(), self.len) }
    }

    fn reset(&mut self, len: usize) {
        self.words.clear();
        self.words.resize(len.div_ceil(8), 0);
        self.len = len;
    }
}

/// An 8-aligned bump allocator over offsets.
struct Layout(usize);

impl Layout {
    fn take(&mut self, bytes: usize) -> usize {
        let at = self.0;
        self.0 += bytes.next_multiple_of(8);
        at
    }
}

fn table_capacity(entries: usize) -> usize {
    (entries * 2).max(16).next_power_of_two()
}

/// Account as loaded from committed state for the tables.
struct LoadedAccount {
    address: Address,
    info: Option<revm::state::AccountInfo>,
    code: Bytes,
}

/// Fills `buf` with a wave of `txs` over `keys` read from `state`.
pub(crate) fn build_wave<S: StateView + ?Sized>(
    buf: &mut WaveBuf,
    block: &BlockContext,
    blob_base_fee: u128,
    txs: &[&TxEnv],
    keys: &KeySet,
    state: &S,
    geometry: &Geometry,
) -> Result<(), StateError> {
    let mut accounts = Vec::with_capacity(keys.accounts.len());
    let mut exists: AddressMap<bool> = AddressMap::default();
    for &address in &keys.accounts {
        let info = state.account(address)?;
        let code = match &info {
            Some(info) if info.code_hash != revm::primitives::KECCAK_EMPTY => state
                .code(info.code_hash)?
                .ok_or_else(|| StateError(format!("code {} not found", info.code_hash)))?
                .original_bytes(),
            _ => Bytes::new(),
        };
        exists.insert(address, info.is_some());
        accounts.push(LoadedAccount {
            address,
            info,
            code,
        });
    }
    let mut slots = Vec::with_capacity(keys.slots.len());
    for &(address, slot) in &keys.slots {
        if exists.get(&address).copied().unwrap_or(false) {
            slots.push((address, slot, state.storage(address, slot)?));
        }
    }
    let mut block_hashes = Vec::with_capacity(keys.block_hashes.len());
    for &number in &keys.block_hashes {
        block_hashes.push((number, state.block_hash(number)?));
    }

    let accounts_capacity = table_capacity(accounts.len());
    let storage_capacity = table_capacity(slots.len());
    let mut layout = Layout(0);
    let header_at = layout.take(std::mem::size_of::<LanesWave>());
    let accounts_at = layout.take(accounts_capacity * std::mem::size_of::<LanesAccount>());
    let storage_at = layout.take(storage_capacity * std::mem::size_of::<LanesStorage>());
    let code_at = layout.0;
    let code_offsets: Vec<usize> = accounts.iter().map(|a| layout.take(a.code.len())).collect();
    let code_len = layout.0 - code_at;
    let blockhash_at =
        layout.take(LANES_BLOCKHASH_ENTRIES as usize * std::mem::size_of::<LanesBlockHashEntry>());
    let txs_at = layout.take(txs.len() * std::mem::size_of::<LanesTxInput>());
    let input_at = layout.0;
    let mut inputs: Vec<(usize, usize, usize)> = Vec::with_capacity(txs.len());
    for tx in txs {
        let data = layout.take(tx.data.len());
        let list = layout.take(tx.access_list.len() * std::mem::size_of::<LanesAccessListEntry>());
        let blobs = layout.take(tx.blob_hashes.len() * 32);
        inputs.push((data, list, blobs));
    }
    let mut key_offsets: Vec<Vec<usize>> = Vec::with_capacity(txs.len());
    for tx in txs {
        key_offsets.push(
            tx.access_list
                .iter()
                .map(|item| layout.take(item.storage_keys.len() * 32))
                .collect(),
        );
    }
    let input_len = layout.0 - input_at;
    let wave_len = layout.0;

    buf.reset(wave_len);
    buf.tx_count = txs.len();
    let bytes = buf.bytes_mut();

    let mut env = LanesBlockEnv {
        number: block.number,
        timestamp: block.timestamp,
        gas_limit: block.gas_limit,
        chain_id: block.chain_id,
        coinbase: block.beneficiary.0.0,
        base_fee: U256::from(block.base_fee).into(),
        blob_base_fee: U256::from(blob_base_fee).into(),
        ..Default::default()
    };
    env.prevrandao = block.prevrandao.0;
    let header = LanesWave {
        magic: LANES_ABI_MAGIC,
        version: LANES_ABI_VERSION,
        tx_count: txs.len() as u32,
        flags: 0,
        block: env,
        accounts_offset: accounts_at as u64,
        storage_offset: storage_at as u64,
        accounts_capacity: accounts_capacity as u32,
        storage_capacity: storage_capacity as u32,
        code_offset: code_at as u64,
        code_len: code_len as u64,
        blockhash_offset: blockhash_at as u64,
        txs_offset: txs_at as u64,
        input_offset: input_at as u64,
        input_len: input_len as u64,
        wave_len: wave_len as u64,
        out_stride: geometry.out_stride as u64,
        scratch_stride: geometry.scratch_stride as u64,
    };
    abi::put(bytes, header_at, &header);

    let account_size = std::mem::size_of::<LanesAccount>();
    for (account, &code_offset) in accounts.iter().zip(&code_offsets) {
        let address = account.address.0.0;
        let mut entry = LanesAccount {
            address,
            flags: LANES_ENTRY_USED,
            ..Default::default()
        };
        if let Some(info) = &account.info {
            entry.flags |= LANES_ACCOUNT_EXISTS | LANES_ACCOUNT_CODE_LOADED;
            entry.nonce = info.nonce;
            entry.balance = info.balance.into();
            entry.code_hash = info.code_hash.0;
            entry.code_offset = code_offset as u64;
            entry.code_len = account.code.len() as u32;
            bytes[code_offset..code_offset + account.code.len()].copy_from_slice(&account.code);
        }
        let mut index = abi::hash_address(&address) as usize & (accounts_capacity - 1);
        loop {
            let at = accounts_at + index * account_size;
            let used: LanesAccount = abi::get(bytes, at).expect("inside the table");
            if used.flags & LANES_ENTRY_USED == 0 {
                abi::put(bytes, at, &entry);
                break;
            }
            index = (index + 1) & (accounts_capacity - 1);
        }
    }
    let storage_size = std::mem::size_of::<LanesStorage>();
    for (address, slot, value) in &slots {
        let address = address.0.0;
        let entry = LanesStorage {
            address,
            flags: LANES_ENTRY_USED,
            slot: (*slot).into(),
            value: (*value).into(),
        };
        let mut index = abi::hash_slot(&address, slot) as usize & (storage_capacity - 1);
        loop {
            let at = storage_at + index * storage_size;
            let used: LanesStorage = abi::get(bytes, at).expect("inside the table");
            if used.flags & LANES_ENTRY_USED == 0 {
                abi::put(bytes, at, &entry);
                break;
            }
            index = (index + 1) & (storage_capacity - 1);
        }
    }
    let hash_size = std::mem::size_of::<LanesBlockHashEntry>();
    for (number, hash) in &block_hashes {
        let entry = LanesBlockHashEntry {
            number: *number,
            flags: LANES_ENTRY_USED,
            _pad0: 0,
            hash: hash.0,
        };
        let at = blockhash_at + (*number % u64::from(LANES_BLOCKHASH_ENTRIES)) as usize * hash_size;
        abi::put(bytes, at, &entry);
    }

    let tx_size = std::mem::size_of::<LanesTxInput>();
    for (i, tx) in txs.iter().enumerate() {
        let (data_at, list_at, blobs_at) = inputs[i];
        bytes[data_at..data_at + tx.data.len()].copy_from_slice(&tx.data);
        for (j, item) in tx.access_list.iter().enumerate() {
            let keys_at = key_offsets[i][j];
            for (k, key) in item.storage_keys.iter().enumerate() {
                bytes[keys_at + 32 * k..keys_at + 32 * (k + 1)].copy_from_slice(&key.0);
            }
            let entry = LanesAccessListEntry {
                address: item.address.0.0,
                keys_count: item.storage_keys.len() as u32,
                keys_offset: keys_at as u64,
            };
            abi::put(
                bytes,
                list_at + j * std::mem::size_of::<LanesAccessListEntry>(),
                &entry,
            );
        }
        for (k, hash) in tx.blob_hashes.iter().enumerate() {
            bytes[blobs_at + 32 * k..blobs_at + 32 * (k + 1)].copy_from_slice(&hash.0);
        }
        let mut flags = 0;
        let to = match tx.kind {
            TxKind::Create => {
                flags |= LANES_TXF_CREATE;
                [0u8; 20]
            }
            TxKind::Call(to) => to.0.0,
        };
        if tx.gas_priority_fee.is_some() {
            flags |= LANES_TXF_HAS_PRIORITY_FEE;
        }
        if tx.chain_id.is_some() {
            flags |= LANES_TXF_HAS_CHAIN_ID;
        }
        let input = LanesTxInput {
            tx_type: u32::from(tx.tx_type),
            flags,
            caller: tx.caller.0.0,
            to,
            nonce: tx.nonce,
            gas_limit: tx.gas_limit,
            chain_id: tx.chain_id.unwrap_or_default(),
            data_offset: data_at as u64,
            data_len: tx.data.len() as u32,
            access_list_count: tx.access_list.len() as u32,
            access_list_offset: list_at as u64,
            blob_hashes_offset: blobs_at as u64,
            blob_hashes_count: tx.blob_hashes.len() as u32,
            value: tx.value.into(),
            gas_price: U256::from(tx.gas_price).into(),
            gas_priority_fee: U256::from(tx.gas_priority_fee.unwrap_or_default()).into(),
            max_fee_per_blob_gas: U256::from(tx.max_fee_per_blob_gas).into(),
            ..Default::default()
        };
        abi::put(bytes, txs_at + i * tx_size, &input);
    }
    Ok(())
}

/// An account the transaction touched (EIP-161) or changed, as the kernel reports it.
#[derive(Debug, Clone)]
pub(crate) struct AccountWrite {
    pub(crate) address: Address,
    pub(crate) flags: u32,
    pub(crate) nonce: u64,
    pub(crate) balance: U256,
    pub(crate) code_hash: B256,
    pub(crate) code: Option<Bytes>,
}

/// One transaction's output slot, decoded and checked.
#[derive(Debug, Clone)]
pub(crate) struct TxResult {
    pub(crate) status: u32,
    pub(crate) reason: u32,
    pub(crate) gas_used: u64,
    pub(crate) coinbase_fee: U256,
    pub(crate) missing: Option<Key>,
    pub(crate) created_address: Address,
    pub(crate) return_data: Bytes,
    pub(crate) logs: Vec<Log>,
    pub(crate) reads: Vec<Key>,
    pub(crate) account_writes: Vec<AccountWrite>,
    pub(crate) storage_writes: Vec<(Address, U256, U256)>,
}

fn span(slot: &[u8], span: LanesSpan, item: usize) -> Result<&[u8], String> {
    let start = span.offset as usize;
    let len = (span.count as usize)
        .checked_mul(item)
        .ok_or("span length overflows")?;
    slot.get(start..start.checked_add(len).ok_or("span end overflows")?)
        .ok_or_else(|| {
            format!(
                "span {}+{} outside the {}-byte slot",
                span.offset,
                len,
                slot.len()
            )
        })
}

fn records<T: abi::Pod>(slot: &[u8], s: LanesSpan) -> Result<Vec<T>, String> {
    let size = std::mem::size_of::<T>();
    let bytes = span(slot, s, size)?;
    Ok((0..s.count as usize)
        .map(|i| abi::get(bytes, i * size).expect("inside the checked span"))
        .collect())
}

/// Decodes the output slot of one transaction; an error names what is malformed.
pub(crate) fn read_result(slot: &[u8]) -> Result<TxResult, String> {
    let out: LanesTxOutput = abi::get(slot, 0).ok_or("slot smaller than LanesTxOutput")?;
    let missing = if out.status == LANES_STATUS_MISSING_KEY {
        Some(
            Key::from_abi(&out.missing)
                .ok_or_else(|| format!("missing key of unknown kind {}", out.missing.kind))?,
        )
    } else {
        None
    };
    let executed = matches!(
        out.status,
        LANES_STATUS_SUCCESS | LANES_STATUS_REVERT | LANES_STATUS_HALT
    );
    let mut result = TxResult {
        status: out.status,
        reason: out.reason,
        gas_used: out.gas_used,
        coinbase_fee: out.coinbase_fee.into(),
        missing,
        created_address: Address::from(out.created_address),
        return_data: Bytes::new(),
        logs: Vec::new(),
        reads: Vec::new(),
        account_writes: Vec::new(),
        storage_writes: Vec::new(),
    };
    if !matches!(
        out.status,
        LANES_STATUS_SUCCESS
            | LANES_STATUS_REVERT
            | LANES_STATUS_HALT
            | LANES_STATUS_INVALID_TX
            | LANES_STATUS_MISSING_KEY
            | LANES_STATUS_UNSUPPORTED
    ) {
        return Err(format!("unknown status {}", out.status));
    }
    // Reads matter for every status that can be committed or skipped on their strength.
    for key in records::<LanesKey>(slot, out.reads)? {
        result
            .reads
            .push(Key::from_abi(&key).ok_or_else(|| format!("read of unknown kind {}", key.kind))?);
    }
    if !executed {
        return Ok(result);
    }
    result.return_data = Bytes::copy_from_slice(span(slot, out.return_data, 1)?);
    for log in records::<LanesLog>(slot, out.logs)? {
        if log.topics_count > 4 {
            return Err(format!("log with {} topics", log.topics_count));
        }
        let topics = log.topics[..log.topics_count as usize]
            .iter()
            .map(|t| B256::from(*t))
            .collect();
        let data = Bytes::copy_from_slice(span(slot, log.data, 1)?);
        result.logs.push(Log {
            address: Address::from(log.address),
            data: LogData::new_unchecked(topics, data),
        });
    }
    for write in records::<LanesAccountWrite>(slot, out.account_writes)? {
        let code = if write.flags & LANES_AW_CODE != 0 {
            let code = Bytes::copy_from_slice(span(slot, write.code, 1)?);
            let hash = alloy_primitives::keccak256(&code);
            if hash != B256::from(write.code_hash) {
                return Err(format!(
                    "new code of {} hashes to {hash}, reported {}",
                    Address::from(write.address),
                    B256::from(write.code_hash)
                ));
            }
            Some(code)
        } else {
            None
        };
        result.account_writes.push(AccountWrite {
            address: Address::from(write.address),
            flags: write.flags,
            nonce: write.nonce,
            balance: write.balance.into(),
            code_hash: B256::from(write.code_hash),
            code,
        });
    }
    for write in records::<LanesStorageWrite>(slot, out.storage_writes)? {
        result.storage_writes.push((
            Address::from(write.address),
            write.slot.into(),
            write.value.into(),
        ));
    }
    Ok(result)
}
