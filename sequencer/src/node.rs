//! The node's shared core: storage, pool, chain head and notification channels, and the
//! [`EthBackend`] the JSON-RPC layer talks to.

use std::{path::Path, sync::Arc, time::Instant};

use alloy_consensus::{Header, ReceiptEnvelope, Sealed, TxEnvelope, transaction::Recovered};
use alloy_eips::eip1559::BaseFeeParams;
use alloy_primitives::{Address, B256, Bytes, Sealable, TxKind, U256};
use alloy_rpc_types_eth::TransactionRequest;
use lanes_conflict::{BlockContext, Overlay, StateView, evm};
use lanes_rpc::backend::{
    AccountState, BackendError, BlockData, CallOutcome, EthBackend, NewBlock, PoolContent,
};
use parking_lot::RwLock;
use revm::{
    Context, ExecuteEvm, MainBuilder, MainContext,
    context::{
        TxEnv,
        result::{EVMError, ExecutionResult},
    },
    primitives::KECCAK_EMPTY,
};
use tokio::sync::broadcast;
use tracing::{info, warn};

use crate::{
    chain::{ChainIdentity, ChainSpec},
    pool::{Pool, PoolConfig, SenderState},
    state::StateTries,
    storage::{StateAt, StorageError, Store},
    validate::{ValidationContext, validate_raw},
};

/// Errors starting a node.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The data dir belongs to another chain.
    #[error(
        "data dir {datadir} holds chain {stored:?}, but the node was started for {wanted:?}; use another --datadir"
    )]
    ChainMismatch {
        /// The data dir.
        datadir: String,
        /// What is stored.
        stored: ChainIdentity,
        /// What the command line asked for.
        wanted: ChainIdentity,
    },
    /// The plain state does not hash to the head's state root.
    #[error(
        "state root mismatch at block {number}: header says {expected}, plain state hashes to {computed}; the data dir is corrupt"
    )]
    StateRootMismatch {
        /// Head block.
        number: u64,
        /// Header's root.
        expected: B256,
        /// Recomputed root.
        computed: B256,
    },
    /// The data dir has a chain config but no head block.
    #[error("data dir {0} is incomplete: no head block")]
    NoHead(String),
    /// The stored chain config did not parse.
    #[error("stored chain config is unreadable: {0}")]
    BadConfig(String),
}

/// The node's shared state. One [`crate::builder::BlockBuilder`] writes; RPC tasks read.
#[derive(Debug)]
pub struct Node {
    chain: ChainSpec,
    store: Store,
    pool: Pool,
    head: RwLock<Sealed<Header>>,
    blocks: broadcast::Sender<Arc<NewBlock>>,
    pending: broadcast::Sender<B256>,
    /// How many blocks back historical state queries may reach.
    history_blocks: u64,
    /// A follower takes no transactions (it derives blocks from L1).
    read_only: std::sync::atomic::AtomicBool,
    /// L1 deposits read by the watcher, waiting for the builder.
    deposits: crate::deposits::DepositQueue,
    /// With settlement: the newest safe and final blocks (`safe` / `finalized` tags); without,
    /// both tags name the head.
    marks: RwLock<Option<(u64, u64)>>,
}

fn internal(e: impl std::fmt::Display) -> BackendError {
    BackendError::Internal(e.to_string())
}

impl Node {
    /// Opens the data dir, writing genesis on first start, and rebuilds the state trie.
    /// Returns the node and the tries the block builder continues from.
    pub fn open(
        chain: ChainSpec,
        datadir: &Path,
        pool: PoolConfig,
    ) -> Result<(Arc<Self>, StateTries), NodeError> {
        let store = Store::open(datadir)?;
        let genesis_diff = chain.genesis_diff();
        let mut genesis_tries = StateTries::new();
        let genesis_root = genesis_tries.apply(&genesis_diff);
        let genesis = chain.genesis_header(genesis_root).seal_slow();
        let wanted = ChainIdentity {
            chain_id: chain.chain_id,
            genesis_hash: genesis.hash(),
            dev: chain.dev,
        };
        match store.chain_config()? {
            None => {
                let json =
                    serde_json::to_vec(&wanted).map_err(|e| NodeError::BadConfig(e.to_string()))?;
                store.init_genesis(&json, &genesis, &genesis_diff)?;
                info!(genesis = %genesis.hash(), state_root = %genesis_root, "wrote genesis");
            }
            Some(json) => {
                let stored: ChainIdentity = serde_json::from_slice(&json)
                    .map_err(|e| NodeError::BadConfig(e.to_string()))?;
                if stored != wanted {
                    return Err(NodeError::ChainMismatch {
                        datadir: datadir.display().to_string(),
                        stored,
                        wanted,
                    });
                }
            }
        }
        let started = Instant::now();
        let reader = store.reader()?;
        let number = reader
            .head()?
            .ok_or_else(|| NodeError::NoHead(datadir.display().to_string()))?;
        let header = reader
            .header(number)?
            .ok_or_else(|| NodeError::NoHead(datadir.display().to_string()))?;
        let mut tries = StateTries::new();
        reader
            .for_each_account(|address, info, slots| tries.insert_account(address, info, slots))?;
        let computed = tries.root();
        if computed != header.state_root {
            return Err(NodeError::StateRootMismatch {
                number,
                expected: header.state_root,
                computed,
            });
        }
        info!(
            head = number,
            accounts = tries.account_count(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "state trie rebuilt and verified against the head's state root"
        );
        drop(reader);
        let (blocks, _) = broadcast::channel(1024);
        let (pending, _) = broadcast::channel(16 * 1024);
        let node = Self {
            chain,
            store,
            pool: Pool::new(pool),
            head: RwLock::new(header.seal_slow()),
            blocks,
            pending,
            history_blocks: 100_000,
            read_only: std::sync::atomic::AtomicBool::new(false),
            deposits: crate::deposits::DepositQueue::default(),
            marks: RwLock::new(None),
        };
        Ok((Arc::new(node), tries))
    }

    /// Sets the blocks the `safe` and `finalized` tags name (settlement calls this as batches
    /// are committed and finalized).
    pub fn set_marks(&self, safe: u64, finalized: u64) {
        *self.marks.write() = Some((safe, finalized));
    }

    /// Makes the node refuse transactions (a follower derives its blocks from L1).
    pub fn set_read_only(&self, read_only: bool) {
        self.read_only
            .store(read_only, std::sync::atomic::Ordering::SeqCst);
    }

    /// The chain.
    pub fn chain(&self) -> &ChainSpec {
        &self.chain
    }

    /// The storage.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The pool.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// L1 deposits waiting to be included (filled only on a settling sequencer).
    pub fn deposits(&self) -> &crate::deposits::DepositQueue {
        &self.deposits
    }

    /// The head header.
    pub fn head(&self) -> Sealed<Header> {
        self.head.read().clone()
    }

    /// Base fee of the block after the head.
    pub fn next_base_fee_of(header: &Header) -> u64 {
        header
            .next_block_base_fee(BaseFeeParams::ethereum())
            .unwrap_or(crate::chain::INITIAL_BASE_FEE)
    }

    /// Called by the builder once a block is durable.
    pub(crate) fn on_new_block(&self, block: Arc<NewBlock>) {
        *self.head.write() = block.block.header.clone();
        // Nobody listening is fine.
        let _ = self.blocks.send(block);
    }

    fn sender_state(&self, address: Address) -> SenderState {
        match self.store.reader().and_then(|r| r.account(address)) {
            Ok(Some(info)) => SenderState {
                nonce: info.nonce,
                balance: info.balance,
            },
            Ok(None) => SenderState::default(),
            Err(e) => {
                warn!(%address, error = %e, "reading sender state failed; treating as empty");
                SenderState::default()
            }
        }
    }

    fn with_state<T>(
        &self,
        at: u64,
        f: impl FnOnce(&StateAt<'_, '_>) -> Result<T, BackendError>,
    ) -> Result<T, BackendError> {
        let reader = self.store.reader().map_err(internal)?;
        let head = reader.head().map_err(internal)?.unwrap_or_default();
        let oldest = head.saturating_sub(self.history_blocks);
        if at > head || at < oldest {
            return Err(BackendError::StateUnavailable {
                requested: at,
                oldest,
                head,
            });
        }
        f(&StateAt::new(&reader, head, at))
    }

    fn tx_env_for_call(
        request: &TransactionRequest,
        nonce: u64,
        gas_limit: u64,
        chain_id: u64,
    ) -> TxEnv {
        let legacy_price = request.gas_price;
        let max_fee = request.max_fee_per_gas;
        let tx_type = if max_fee.is_some() || request.max_priority_fee_per_gas.is_some() {
            2
        } else if request.access_list.is_some() && legacy_price.is_none() {
            1
        } else {
            0
        };
        TxEnv {
            tx_type,
            caller: request.from.unwrap_or_default(),
            gas_limit,
            gas_price: max_fee.or(legacy_price).unwrap_or_default(),
            kind: request.to.unwrap_or(TxKind::Create),
            value: request.value.unwrap_or_default(),
            data: request.input.input().cloned().unwrap_or_default(),
            nonce,
            chain_id: Some(chain_id),
            access_list: request.access_list.clone().unwrap_or_default(),
            gas_priority_fee: if tx_type == 2 {
                Some(request.max_priority_fee_per_gas.unwrap_or_default())
            } else {
                None
            },
            ..Default::default()
        }
    }
}

impl EthBackend for Node {
    fn chain_id(&self) -> u64 {
        self.chain.chain_id
    }

    fn client_version(&self) -> String {
        format!(
            "lanes/v{}/{}-{}",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS,
            std::env::consts::ARCH
        )
    }

    fn head_number(&self) -> u64 {
        self.head.read().number
    }

    fn marks(&self) -> lanes_rpc::ChainMarks {
        let head = self.head.read().number;
        match *self.marks.read() {
            None => lanes_rpc::ChainMarks::at_head(head),
            Some((safe, finalized)) => lanes_rpc::ChainMarks {
                head,
                safe: safe.min(head),
                finalized: finalized.min(safe).min(head),
            },
        }
    }

    fn block_gas_limit(&self) -> u64 {
        self.chain.gas_limit
    }

    fn next_base_fee(&self) -> u64 {
        Self::next_base_fee_of(&self.head.read())
    }

    fn accounts(&self) -> Vec<Address> {
        self.chain.dev_accounts.clone()
    }

    fn block_by_number(&self, number: u64) -> Result<Option<BlockData>, BackendError> {
        let reader = self.store.reader().map_err(internal)?;
        let Some(header) = reader.header(number).map_err(internal)? else {
            return Ok(None);
        };
        let Some(hash) = reader.block_hash(number).map_err(internal)? else {
            return Ok(None);
        };
        let (transactions, body_size) = reader.body(number).map_err(internal)?.unwrap_or_default();
        let size = (alloy_rlp::Encodable::length(&header) + body_size + 8) as u64;
        Ok(Some(BlockData {
            header: Sealed::new_unchecked(header, hash),
            transactions,
            size,
        }))
    }

    fn header_by_number(&self, number: u64) -> Result<Option<Sealed<Header>>, BackendError> {
        let reader = self.store.reader().map_err(internal)?;
        let Some(header) = reader.header(number).map_err(internal)? else {
            return Ok(None);
        };
        let Some(hash) = reader.block_hash(number).map_err(internal)? else {
            return Ok(None);
        };
        Ok(Some(Sealed::new_unchecked(header, hash)))
    }

    fn block_number_by_hash(&self, hash: B256) -> Result<Option<u64>, BackendError> {
        self.store
            .reader()
            .and_then(|r| r.block_number(hash))
            .map_err(internal)
    }

    fn receipts(&self, number: u64) -> Result<Option<Vec<ReceiptEnvelope>>, BackendError> {
        self.store
            .reader()
            .and_then(|r| r.receipts(number))
            .map_err(internal)
    }

    fn transaction_location(&self, hash: B256) -> Result<Option<(u64, u64)>, BackendError> {
        self.store
            .reader()
            .and_then(|r| r.transaction_location(hash))
            .map_err(internal)
    }

    fn account(&self, address: Address, at: u64) -> Result<Option<AccountState>, BackendError> {
        self.with_state(at, |state| {
            Ok(state
                .account(address)
                .map_err(internal)?
                .map(|info| AccountState {
                    nonce: info.nonce,
                    balance: info.balance,
                    code_hash: info.code_hash,
                }))
        })
    }

    fn storage(&self, address: Address, slot: B256, at: u64) -> Result<B256, BackendError> {
        self.with_state(at, |state| {
            let value = state
                .storage(address, U256::from_be_bytes(slot.0))
                .map_err(internal)?;
            Ok(B256::from(value.to_be_bytes::<32>()))
        })
    }

    fn code(&self, address: Address, at: u64) -> Result<Bytes, BackendError> {
        self.with_state(at, |state| {
            let Some(info) = state.account(address).map_err(internal)? else {
                return Ok(Bytes::new());
            };
            if info.code_hash == KECCAK_EMPTY {
                return Ok(Bytes::new());
            }
            Ok(state
                .code(info.code_hash)
                .map_err(internal)?
                .map(|c| c.original_bytes())
                .unwrap_or_default())
        })
    }

    fn call(
        &self,
        request: &TransactionRequest,
        at: u64,
        gas_limit: u64,
    ) -> Result<CallOutcome, BackendError> {
        let head = self.head();
        let block = BlockContext {
            number: at + 1,
            timestamp: head.timestamp.max(crate::builder::unix_now()),
            beneficiary: head.beneficiary,
            gas_limit: self.chain.gas_limit,
            base_fee: Self::next_base_fee_of(&head),
            prevrandao: head.hash(),
            chain_id: self.chain.chain_id,
            excess_blob_gas: 0,
        };
        self.with_state(at, |state| {
            let caller = request.from.unwrap_or_default();
            let nonce = state
                .account(caller)
                .map_err(internal)?
                .map_or(0, |a| a.nonce);
            let tx = Self::tx_env_for_call(
                request,
                request.nonce.unwrap_or(nonce),
                gas_limit,
                self.chain.chain_id,
            );
            let mut cfg = evm::cfg_env(self.chain.chain_id);
            cfg.disable_nonce_check = true;
            // Like geth: a call that names no fee is free, so it needs no balance for gas.
            if tx.gas_price == 0 {
                cfg.disable_base_fee = true;
            }
            cfg.disable_block_gas_limit = true;
            // Calls from contracts (EIP-3607) are fine in a simulation.
            cfg.disable_eip3607 = true;
            let mut vm = Context::mainnet()
                .with_cfg(cfg)
                .with_block(evm::block_env(&block))
                .with_db(Overlay::new(state))
                .build_mainnet();
            match vm.transact(tx) {
                Ok(result) => {
                    // Gas as a receipt would show it: refunds applied.
                    let gas_used = result.result.tx_gas_used();
                    Ok(match result.result {
                        ExecutionResult::Success { output, .. } => CallOutcome::Success {
                            output: output.into_data(),
                            gas_used,
                        },
                        ExecutionResult::Revert { output, .. } => {
                            CallOutcome::Revert { output, gas_used }
                        }
                        ExecutionResult::Halt { reason, .. } => CallOutcome::Halt {
                            reason: format!("{reason:?}"),
                            gas_used,
                        },
                    })
                }
                Err(EVMError::Transaction(e)) => Err(BackendError::InvalidRequest(e.to_string())),
                Err(e) => Err(internal(e)),
            }
        })
    }

    fn send_raw_transaction(&self, raw: Bytes) -> Result<B256, BackendError> {
        metrics::counter!("lanes_txpool_received_total").increment(1);
        if self.read_only.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(BackendError::Rejected {
                code: -32000,
                message:
                    "this node follows L1 and is read-only: send transactions to the sequencer"
                        .into(),
            });
        }
        let ctx = ValidationContext {
            chain_id: self.chain.chain_id,
            block_gas_limit: self.chain.gas_limit,
            base_fee: self.next_base_fee(),
        };
        let tx = validate_raw(&raw, &ctx).map_err(|e| {
            metrics::counter!("lanes_txpool_rejected_total", "reason" => e.reason()).increment(1);
            BackendError::Rejected {
                code: e.code(),
                message: e.to_string(),
            }
        })?;
        let added = self.pool.add(tx, |a| self.sender_state(a)).map_err(|e| {
            metrics::counter!("lanes_txpool_rejected_total", "reason" => e.reason()).increment(1);
            BackendError::Rejected {
                code: -32000,
                message: e.to_string(),
            }
        })?;
        let _ = self.pending.send(added.hash);
        Ok(added.hash)
    }

    fn pending_nonce(&self, address: Address) -> Result<u64, BackendError> {
        if let Some(n) = self.pool.pending_nonce(address) {
            return Ok(n);
        }
        let reader = self.store.reader().map_err(internal)?;
        Ok(reader
            .account(address)
            .map_err(internal)?
            .map_or(0, |a| a.nonce))
    }

    fn pool_transaction(&self, hash: B256) -> Option<Recovered<TxEnvelope>> {
        self.pool.get(&hash).map(|tx| (*tx).clone())
    }

    fn pool_status(&self) -> (usize, usize) {
        self.pool.status()
    }

    fn pool_content(&self) -> PoolContent {
        let (pending, queued) = self.pool.content();
        let unwrap = |m: std::collections::BTreeMap<
            Address,
            std::collections::BTreeMap<u64, Arc<Recovered<TxEnvelope>>>,
        >| {
            m.into_iter()
                .map(|(a, txs)| (a, txs.into_iter().map(|(n, t)| (n, (*t).clone())).collect()))
                .collect()
        };
        PoolContent {
            pending: unwrap(pending),
            queued: unwrap(queued),
        }
    }

    fn subscribe_blocks(&self) -> broadcast::Receiver<Arc<NewBlock>> {
        self.blocks.subscribe()
    }

    fn subscribe_pending_transactions(&self) -> broadcast::Receiver<B256> {
        self.pending.subscribe()
    }
}
