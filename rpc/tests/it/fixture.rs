//! TEST FIXTURE: an in-memory `EthBackend` with a small chain of really signed transactions and
//! receipts with logs. Not a node: `call` is scripted per target address (see [`Fixture::call`]).

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
};

use alloy_consensus::{
    EMPTY_OMMER_ROOT_HASH, Eip658Value, Header, Receipt, ReceiptEnvelope, SignableTransaction,
    Signed, TxEip1559, TxEip2930, TxEnvelope, TxLegacy,
    constants::EMPTY_ROOT_HASH,
    proofs::{calculate_receipt_root, calculate_transaction_root},
    transaction::{Recovered, SignerRecoverable},
};
use alloy_eips::eip2718::{Decodable2718, Encodable2718};
use alloy_primitives::{
    Address, B256, Bloom, Bytes, Log, LogData, TxKind, U256, address, b256, bytes,
};
use alloy_rpc_types_eth::TransactionRequest;
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{Revert, SolError};
use lanes_rpc::{
    AccountState, BackendError, BlockData, CallOutcome, EthBackend, NewBlock, PoolContent,
};
use parking_lot::{Mutex, RwLock};
use tokio::sync::broadcast;

pub(crate) const CHAIN_ID: u64 = 1337;
pub(crate) const GAS_LIMIT: u64 = 30_000_000;
pub(crate) const BASE_FEE: u64 = 1_000_000_000;
pub(crate) const NEXT_BASE_FEE: u64 = 875_000_000;
pub(crate) const GWEI: u128 = 1_000_000_000;

/// Emits a Transfer event when called (see the receipts of block 1).
pub(crate) const TOKEN: Address = address!("0x00000000000000000000000000000000000070c0");
/// Reverts with `Error("not allowed")`.
pub(crate) const REVERTER: Address = address!("0x000000000000000000000000000000000000dead");
/// Reverts with the custom error data `0xdeadbeef`.
pub(crate) const CUSTOM_REVERTER: Address = address!("0x000000000000000000000000000000000000beef");
/// Halts with `invalid opcode`.
pub(crate) const HALTER: Address = address!("0x0000000000000000000000000000000000000bad");
/// Needs [`HOG_GAS_NEEDED`] gas but reports [`HOG_GAS_USED`] (refunds), like an SSTORE clear.
pub(crate) const GAS_HOG: Address = address!("0x0000000000000000000000000000000000000409");
pub(crate) const HOG_GAS_NEEDED: u64 = 100_000;
pub(crate) const HOG_GAS_USED: u64 = 80_000;
/// Reading this account fails inside the "node" (answered as -32603).
pub(crate) const BROKEN: Address = address!("0x00000000000000000000000000000000000b0b0b");
pub(crate) const BENEFICIARY: Address = address!("0x00000000000000000000000000000000000c0ffe");
/// keccak256("Transfer(address,address,uint256)")
pub(crate) const TRANSFER_TOPIC: B256 =
    b256!("0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");

/// Two well-known dev keys (anvil's first two accounts).
pub(crate) fn alice() -> PrivateKeySigner {
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
        .parse()
        .unwrap()
}
pub(crate) fn bob() -> PrivateKeySigner {
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
        .parse()
        .unwrap()
}

pub(crate) fn sign<T: SignableTransaction<alloy_primitives::Signature>>(
    signer: &PrivateKeySigner,
    tx: T,
) -> Recovered<TxEnvelope>
where
    TxEnvelope: From<Signed<T>>,
{
    let signature = signer.sign_hash_sync(&tx.signature_hash()).unwrap();
    Recovered::new_unchecked(
        TxEnvelope::from(tx.into_signed(signature)),
        signer.address(),
    )
}

pub(crate) fn transfer_log(token: Address, from: Address, to: Address, amount: u64) -> Log {
    Log {
        address: token,
        data: LogData::new_unchecked(
            vec![TRANSFER_TOPIC, from.into_word(), to.into_word()],
            Bytes::from(U256::from(amount).to_be_bytes::<32>().to_vec()),
        ),
    }
}

pub(crate) fn receipt(
    tx: &TxEnvelope,
    success: bool,
    cumulative_gas_used: u64,
    logs: Vec<Log>,
) -> ReceiptEnvelope {
    let receipt = Receipt {
        status: Eip658Value::Eip658(success),
        cumulative_gas_used,
        logs,
    };
    ReceiptEnvelope::from_typed(tx.tx_type(), receipt.with_bloom())
}

/// A transaction that goes into [`Fixture::mine`]: signed tx, whether it succeeds, gas it used,
/// logs.
pub(crate) type Mined = (Recovered<TxEnvelope>, bool, u64, Vec<Log>);

pub(crate) struct Fixture {
    pub(crate) blocks: RwLock<Vec<(BlockData, Vec<ReceiptEnvelope>)>>,
    accounts: RwLock<HashMap<Address, AccountState>>,
    code: HashMap<Address, Bytes>,
    storage: HashMap<(Address, B256), B256>,
    pool: Mutex<PoolContent>,
    blocks_tx: broadcast::Sender<Arc<NewBlock>>,
    pending_tx: broadcast::Sender<B256>,
    /// Mine every submitted transaction into a block at once (`eth_sendRawTransactionSync`).
    pub(crate) auto_mine: AtomicBool,
    /// Number of `call`s, to bound `eth_estimateGas`'s work.
    pub(crate) calls: AtomicUsize,
}

impl Fixture {
    /// Blocks 0 (empty), 1 (legacy transfer + EIP-1559 token transfer with a log), 2 (EIP-2930
    /// contract creation with a log + reverted EIP-1559 call), and a pool with one pending and
    /// one queued transaction.
    pub(crate) fn new() -> Arc<Self> {
        let (alice, bob) = (alice(), bob());
        let mut accounts = HashMap::new();
        accounts.insert(
            alice.address(),
            AccountState {
                nonce: 2,
                balance: U256::from(100u128 * 10u128.pow(18)),
                code_hash: B256::ZERO,
            },
        );
        accounts.insert(
            bob.address(),
            AccountState {
                nonce: 2,
                balance: U256::from(10u128.pow(18)),
                code_hash: B256::ZERO,
            },
        );
        let mut code = HashMap::new();
        code.insert(TOKEN, bytes!("0x6080604052"));
        let mut storage = HashMap::new();
        storage.insert((TOKEN, B256::ZERO), B256::with_last_byte(42));

        let fixture = Arc::new(Self {
            blocks: RwLock::new(Vec::new()),
            accounts: RwLock::new(accounts),
            code,
            storage,
            pool: Mutex::new(PoolContent::default()),
            blocks_tx: broadcast::channel(64).0,
            pending_tx: broadcast::channel(64).0,
            auto_mine: AtomicBool::new(false),
            calls: AtomicUsize::new(0),
        });
        fixture.mine(Vec::new());

        let legacy = sign(
            &alice,
            TxLegacy {
                chain_id: Some(CHAIN_ID),
                nonce: 0,
                gas_price: 2 * GWEI,
                gas_limit: 21_000,
                to: TxKind::Call(bob.address()),
                value: U256::from(10u64.pow(18)),
                input: Bytes::new(),
            },
        );
        let token_transfer = sign(
            &bob,
            TxEip1559 {
                chain_id: CHAIN_ID,
                nonce: 0,
                gas_limit: 100_000,
                max_fee_per_gas: 3 * GWEI,
                max_priority_fee_per_gas: GWEI,
                to: TxKind::Call(TOKEN),
                value: U256::ZERO,
                access_list: Default::default(),
                input: bytes!("0xa9059cbb"),
            },
        );
        let log = transfer_log(TOKEN, bob.address(), alice.address(), 5);
        fixture.mine(vec![
            (legacy, true, 21_000, vec![]),
            (token_transfer, true, 30_000, vec![log]),
        ]);

        let creation = sign(
            &alice,
            TxEip2930 {
                chain_id: CHAIN_ID,
                nonce: 1,
                gas_price: 2 * GWEI,
                gas_limit: 200_000,
                to: TxKind::Create,
                value: U256::ZERO,
                access_list: Default::default(),
                input: bytes!("0x6080604052348015600f57600080fd5b50"),
            },
        );
        let created = alice.address().create(1);
        let reverted = sign(
            &bob,
            TxEip1559 {
                chain_id: CHAIN_ID,
                nonce: 1,
                gas_limit: 50_000,
                max_fee_per_gas: 2 * GWEI,
                max_priority_fee_per_gas: 3 * GWEI / 2,
                to: TxKind::Call(REVERTER),
                value: U256::ZERO,
                access_list: Default::default(),
                input: Bytes::new(),
            },
        );
        let log = transfer_log(created, Address::ZERO, alice.address(), 1_000);
        fixture.mine(vec![
            (creation, true, 120_000, vec![log]),
            (reverted, false, 23_000, vec![]),
        ]);

        let pending = sign(&alice, eip1559(2, Address::repeat_byte(7)));
        let queued = sign(&bob, eip1559(5, Address::repeat_byte(8)));
        {
            let mut pool = fixture.pool.lock();
            pool.pending
                .entry(alice.address())
                .or_default()
                .insert(2, pending);
            pool.queued
                .entry(bob.address())
                .or_default()
                .insert(5, queued);
        }
        fixture
    }

    /// Commits a block with these transactions and tells subscribers.
    pub(crate) fn mine(&self, txs: Vec<Mined>) -> Arc<NewBlock> {
        let mut blocks = self.blocks.write();
        let number = blocks.len() as u64;
        let parent_hash = blocks
            .last()
            .map_or(B256::ZERO, |(block, _)| block.header.hash());
        let mut cumulative = 0;
        let mut receipts = Vec::new();
        let mut transactions = Vec::new();
        for (tx, success, gas_used, logs) in txs {
            cumulative += gas_used;
            receipts.push(receipt(&tx, success, cumulative, logs));
            transactions.push(tx);
        }
        let mut logs_bloom = Bloom::ZERO;
        for receipt in &receipts {
            logs_bloom.accrue_bloom(receipt.logs_bloom());
        }
        let envelopes: Vec<TxEnvelope> = transactions.iter().map(|tx| tx.inner().clone()).collect();
        let header = Header {
            parent_hash,
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: BENEFICIARY,
            state_root: B256::repeat_byte(number as u8 + 1),
            transactions_root: calculate_transaction_root(&envelopes),
            receipts_root: calculate_receipt_root(&receipts),
            logs_bloom,
            number,
            gas_limit: GAS_LIMIT,
            gas_used: cumulative,
            timestamp: 1_700_000_000 + number,
            base_fee_per_gas: Some(BASE_FEE),
            withdrawals_root: Some(EMPTY_ROOT_HASH),
            ..Header::default()
        };
        let size = 600
            + envelopes
                .iter()
                .map(|tx| tx.encode_2718_len() as u64)
                .sum::<u64>();
        let block = BlockData {
            header: alloy_consensus::Sealed::new(header),
            transactions,
            size,
        };
        let new_block = Arc::new(NewBlock {
            block: block.clone(),
            receipts: receipts.clone(),
        });
        blocks.push((block, receipts));
        drop(blocks);
        // No subscriber is fine.
        let _ = self.blocks_tx.send(Arc::clone(&new_block));
        new_block
    }

    /// Mines `count` empty blocks.
    pub(crate) fn mine_empty(&self, count: usize) {
        for _ in 0..count {
            self.mine(Vec::new());
        }
    }

    pub(crate) fn block_hash(&self, number: u64) -> B256 {
        self.blocks.read()[number as usize].0.header.hash()
    }

    pub(crate) fn tx_hash(&self, number: u64, index: usize) -> B256 {
        *self.blocks.read()[number as usize].0.transactions[index].tx_hash()
    }

    pub(crate) fn pending_hash(&self) -> B256 {
        let pool = self.pool.lock();
        *pool
            .pending
            .values()
            .next()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .tx_hash()
    }

    /// Announces a transaction hash to pending-transaction subscribers.
    pub(crate) fn announce_pending(&self, hash: B256) {
        let _ = self.pending_tx.send(hash);
    }
}

/// A signed-able EIP-1559 transfer.
pub(crate) fn eip1559(nonce: u64, to: Address) -> TxEip1559 {
    TxEip1559 {
        chain_id: CHAIN_ID,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 3 * GWEI,
        max_priority_fee_per_gas: 2 * GWEI,
        to: TxKind::Call(to),
        value: U256::from(1u64),
        access_list: Default::default(),
        input: Bytes::new(),
    }
}

/// Raw bytes of a signed transaction.
pub(crate) fn raw(tx: &Recovered<TxEnvelope>) -> Bytes {
    tx.inner().encoded_2718().into()
}

fn rejected(message: impl Into<String>) -> BackendError {
    BackendError::Rejected {
        code: -32000,
        message: message.into(),
    }
}

impl EthBackend for Fixture {
    fn chain_id(&self) -> u64 {
        CHAIN_ID
    }

    fn client_version(&self) -> String {
        "lanes/v0.1.0-fixture/linux-x86_64".to_owned()
    }

    fn head_number(&self) -> u64 {
        self.blocks.read().len() as u64 - 1
    }

    fn block_gas_limit(&self) -> u64 {
        GAS_LIMIT
    }

    fn next_base_fee(&self) -> u64 {
        NEXT_BASE_FEE
    }

    fn accounts(&self) -> Vec<Address> {
        vec![alice().address()]
    }

    fn block_by_number(&self, number: u64) -> Result<Option<BlockData>, BackendError> {
        Ok(self
            .blocks
            .read()
            .get(number as usize)
            .map(|(block, _)| block.clone()))
    }

    fn block_number_by_hash(&self, hash: B256) -> Result<Option<u64>, BackendError> {
        Ok(self
            .blocks
            .read()
            .iter()
            .position(|(b, _)| b.header.hash() == hash)
            .map(|n| n as u64))
    }

    fn receipts(&self, number: u64) -> Result<Option<Vec<ReceiptEnvelope>>, BackendError> {
        Ok(self
            .blocks
            .read()
            .get(number as usize)
            .map(|(_, receipts)| receipts.clone()))
    }

    fn transaction_location(&self, hash: B256) -> Result<Option<(u64, u64)>, BackendError> {
        for (number, (block, _)) in self.blocks.read().iter().enumerate() {
            if let Some(index) = block
                .transactions
                .iter()
                .position(|tx| *tx.tx_hash() == hash)
            {
                return Ok(Some((number as u64, index as u64)));
            }
        }
        Ok(None)
    }

    fn account(&self, address: Address, at: u64) -> Result<Option<AccountState>, BackendError> {
        if address == BROKEN {
            return Err(BackendError::Internal("disk on fire".into()));
        }
        if at == 0 {
            return Ok(None);
        }
        Ok(self.accounts.read().get(&address).copied())
    }

    /// State of genesis is "pruned".
    fn storage(&self, address: Address, slot: B256, at: u64) -> Result<B256, BackendError> {
        if at == 0 {
            return Err(BackendError::StateUnavailable {
                requested: 0,
                oldest: 1,
                head: self.head_number(),
            });
        }
        Ok(self
            .storage
            .get(&(address, slot))
            .copied()
            .unwrap_or_default())
    }

    fn code(&self, address: Address, _at: u64) -> Result<Bytes, BackendError> {
        Ok(self.code.get(&address).cloned().unwrap_or_default())
    }

    /// Scripted by target: [`REVERTER`], [`CUSTOM_REVERTER`], [`HALTER`], [`GAS_HOG`],
    /// [`TOKEN`] (returns 42); anything else is a transfer costing 21000 + 16 per input byte.
    fn call(
        &self,
        request: &TransactionRequest,
        _at: u64,
        gas_limit: u64,
    ) -> Result<CallOutcome, BackendError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let input_len = request.input.input().map_or(0, |input| input.len() as u64);
        let intrinsic = 21_000 + 16 * input_len;
        if gas_limit < intrinsic {
            return Err(BackendError::InvalidRequest(format!(
                "intrinsic gas too low: have {gas_limit}, want {intrinsic}"
            )));
        }
        let out_of_gas = || CallOutcome::Halt {
            reason: "out of gas".into(),
            gas_used: gas_limit,
        };
        Ok(match request.to {
            Some(TxKind::Call(REVERTER)) => CallOutcome::Revert {
                output: Revert::from("not allowed").abi_encode().into(),
                gas_used: intrinsic + 100,
            },
            Some(TxKind::Call(CUSTOM_REVERTER)) => CallOutcome::Revert {
                output: bytes!("0xdeadbeef"),
                gas_used: intrinsic + 100,
            },
            Some(TxKind::Call(HALTER)) => CallOutcome::Halt {
                reason: "invalid opcode: INVALID".into(),
                gas_used: gas_limit,
            },
            Some(TxKind::Call(GAS_HOG)) if gas_limit < HOG_GAS_NEEDED => out_of_gas(),
            Some(TxKind::Call(GAS_HOG)) => CallOutcome::Success {
                output: Bytes::new(),
                gas_used: HOG_GAS_USED,
            },
            Some(TxKind::Call(TOKEN)) if gas_limit < 30_000 => out_of_gas(),
            Some(TxKind::Call(TOKEN)) => CallOutcome::Success {
                output: B256::with_last_byte(42).into(),
                gas_used: 30_000,
            },
            _ => CallOutcome::Success {
                output: Bytes::new(),
                gas_used: intrinsic,
            },
        })
    }

    fn send_raw_transaction(&self, raw: Bytes) -> Result<B256, BackendError> {
        let tx = TxEnvelope::decode_2718(&mut raw.as_ref())
            .map_err(|err| rejected(format!("rlp: {err}")))?;
        let sender = tx
            .recover_signer()
            .map_err(|_| rejected("invalid sender"))?;
        let hash = *tx.tx_hash();
        let next = self.accounts.read().get(&sender).map_or(0, |a| a.nonce);
        let nonce = alloy_consensus::Transaction::nonce(&tx);
        if nonce < next {
            return Err(rejected(format!(
                "nonce too low: next nonce {next}, tx nonce {nonce}"
            )));
        }
        let tx = Recovered::new_unchecked(tx, sender);
        if self.auto_mine.load(Ordering::Relaxed) {
            let _ = self.pending_tx.send(hash);
            if let Some(account) = self.accounts.write().get_mut(&sender) {
                account.nonce = nonce + 1;
            }
            let log = transfer_log(TOKEN, sender, Address::repeat_byte(1), 1);
            self.mine(vec![(tx, true, 21_000, vec![log])]);
        } else {
            self.pool
                .lock()
                .pending
                .entry(sender)
                .or_default()
                .insert(nonce, tx);
            // Announced once it can be looked up.
            let _ = self.pending_tx.send(hash);
        }
        Ok(hash)
    }

    fn pending_nonce(&self, address: Address) -> Result<u64, BackendError> {
        let next = self.accounts.read().get(&address).map_or(0, |a| a.nonce);
        let pool = self.pool.lock();
        Ok(pool
            .pending
            .get(&address)
            .and_then(|txs| txs.keys().last())
            .map_or(next, |n| n + 1))
    }

    fn pool_transaction(&self, hash: B256) -> Option<Recovered<TxEnvelope>> {
        let pool = self.pool.lock();
        pool.pending
            .values()
            .chain(pool.queued.values())
            .flat_map(BTreeMap::values)
            .find(|tx| *tx.tx_hash() == hash)
            .cloned()
    }

    fn pool_status(&self) -> (usize, usize) {
        let pool = self.pool.lock();
        let count = |m: &BTreeMap<Address, BTreeMap<u64, _>>| m.values().map(BTreeMap::len).sum();
        (count(&pool.pending), count(&pool.queued))
    }

    fn pool_content(&self) -> PoolContent {
        self.pool.lock().clone()
    }

    fn subscribe_blocks(&self) -> broadcast::Receiver<Arc<NewBlock>> {
        self.blocks_tx.subscribe()
    }

    fn subscribe_pending_transactions(&self) -> broadcast::Receiver<B256> {
        self.pending_tx.subscribe()
    }
}
