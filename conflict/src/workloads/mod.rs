//! Deterministic benchmark workloads, shared by the criterion benches and `lanes bench`.
//!
//! Each generator returns a [`Workload`]: a genesis state, a block, validly signed transactions
//! (EIP-1559, signed with libsecp256k1 in parallel) and an end-state check, so that a broken
//! workload cannot report a fast number. [`run_bench`] times the sequential and the parallel
//! executor on the same block and checks both end states.
//!
//! - [`raw_transfers`]: ether transfers between distinct accounts (no conflicts).
//! - [`erc20_transfers`]: ERC-20 transfers among 10k holders, each from a distinct sender to a
//!   distinct recipient while the block has at most 5k transfers (beyond that senders repeat
//!   and form nonce chains).
//! - [`amm_swaps`]: swaps on one constant-product pool: every pair of transactions conflicts.
//! - [`mixed`]: ERC-20 transfers with a share `hot_ratio` of calls that increment one hot slot.

pub mod asm;
pub mod contracts;

use std::{
    collections::HashMap,
    fmt,
    str::FromStr,
    time::{Duration, Instant},
};

use alloy_consensus::{SignableTransaction, Signed, TxEip1559, TxEnvelope, transaction::Recovered};
use alloy_primitives::{Address, B256, Bytes, Signature, TxKind, U256, address, keccak256};
use rayon::prelude::*;
use revm::bytecode::Bytecode;
use secp256k1::{Message, PublicKey, SECP256K1, SecretKey};
use serde::Serialize;

use crate::{
    BlockContext, BlockExecution, ExecError, Executor, InMemoryState, ParallelExecutor, Result,
    SequentialExecutor, parallel::ExecStats, state::StateView,
};

/// Chain id of the workloads' transactions.
pub const CHAIN_ID: u64 = 1337;
/// Base fee of the workloads' block (1 gwei).
pub const BASE_FEE: u64 = 1_000_000_000;
/// Fee cap of the workloads' transactions (3 gwei).
pub const MAX_FEE_PER_GAS: u128 = 3_000_000_000;
/// Priority fee of the workloads' transactions (1 gwei): what the beneficiary earns per gas.
pub const PRIORITY_FEE: u128 = 1_000_000_000;
/// The workloads' block beneficiary.
pub const BENEFICIARY: Address = address!("0xbeefbeefbeefbeefbeefbeefbeefbeefbeefbeef");
/// The ERC-20 token of [`erc20_transfers`] and [`mixed`].
pub const TOKEN: Address = address!("0x7070707070707070707070707070707070707070");
/// The pool of [`amm_swaps`].
pub const AMM: Address = address!("0xa3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3");
/// The contract whose slot 0 every hot transaction of [`mixed`] increments.
pub const COUNTER: Address = address!("0xc0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0");
/// Holders of [`erc20_transfers`].
pub const ERC20_HOLDERS: usize = 10_000;

const ETHER: u128 = 1_000_000_000_000_000_000;
const FUNDING: u128 = 10 * ETHER;
const TOKEN_BALANCE: u128 = 1_000_000 * ETHER;
const POOL_RESERVE: u128 = 1_000_000_000 * ETHER;
const TRADER_BALANCE: u128 = 1_000_000 * ETHER;

/// A private key and its address, deterministically derived for workloads and tests.
#[derive(Debug, Clone)]
pub struct Signer {
    key: SecretKey,
    address: Address,
}

impl Signer {
    /// The `index`-th key of `domain`.
    pub fn derive(domain: &str, index: u64) -> Self {
        let mut attempt = 0u64;
        loop {
            let mut seed = domain.as_bytes().to_vec();
            seed.extend_from_slice(&index.to_be_bytes());
            seed.extend_from_slice(&attempt.to_be_bytes());
            if let Ok(key) = SecretKey::from_byte_array(keccak256(&seed).0) {
                let public = PublicKey::from_secret_key(SECP256K1, &key);
                let address = Address::from_raw_public_key(&public.serialize_uncompressed()[1..]);
                return Self { key, address };
            }
            attempt += 1;
        }
    }

    /// `count` keys of `domain`, derived in parallel.
    pub fn derive_many(domain: &str, count: usize) -> Vec<Self> {
        (0..count as u64)
            .into_par_iter()
            .map(|i| Self::derive(domain, i))
            .collect()
    }

    /// The key's address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// Signs `tx` (a real ECDSA signature over its signing hash) and pairs it with this
    /// signer's address, which is what recovering the signature yields.
    pub fn sign(&self, tx: TxEip1559) -> Recovered<TxEnvelope> {
        self.sign_any(tx)
    }

    /// [`Signer::sign`] for any transaction type (legacy, EIP-2930, EIP-1559, ...).
    pub fn sign_any<T>(&self, tx: T) -> Recovered<TxEnvelope>
    where
        T: SignableTransaction<Signature>,
        TxEnvelope: From<Signed<T>>,
    {
        let sighash = tx.signature_hash();
        let signature =
            SECP256K1.sign_ecdsa_recoverable(Message::from_digest(sighash.0), &self.key);
        let (recid, rs) = signature.serialize_compact();
        let signature = Signature::from_scalars_and_parity(
            B256::from_slice(&rs[..32]),
            B256::from_slice(&rs[32..]),
            i32::from(recid) != 0,
        );
        Recovered::new_unchecked(TxEnvelope::from(tx.into_signed(signature)), self.address)
    }
}

/// An EIP-1559 transaction with the workloads' fees.
pub fn eip1559(nonce: u64, to: TxKind, value: U256, input: Bytes, gas_limit: u64) -> TxEip1559 {
    TxEip1559 {
        chain_id: CHAIN_ID,
        nonce,
        gas_limit,
        max_fee_per_gas: MAX_FEE_PER_GAS,
        max_priority_fee_per_gas: PRIORITY_FEE,
        to,
        value,
        access_list: Default::default(),
        input,
    }
}

/// Signs `txs` in parallel, keeping their order.
pub fn sign_all(txs: Vec<(TxEip1559, &Signer)>) -> Vec<Recovered<TxEnvelope>> {
    txs.into_par_iter()
        .map(|(tx, signer)| signer.sign(tx))
        .collect()
}

/// The workloads' block with room for `gas` gas.
pub fn block_context(gas: u64) -> BlockContext {
    BlockContext {
        number: 1,
        timestamp: 1_800_000_000,
        beneficiary: BENEFICIARY,
        gas_limit: gas.max(30_000_000),
        base_fee: BASE_FEE,
        prevrandao: B256::repeat_byte(0x42),
        chain_id: CHAIN_ID,
        excess_blob_gas: 0,
    }
}

type Check =
    Box<dyn Fn(&InMemoryState, &BlockExecution) -> std::result::Result<(), String> + Send + Sync>;

/// A block to execute and what its end state must be.
pub struct Workload {
    /// Name, e.g. `erc20`.
    pub name: String,
    /// State before the block.
    pub genesis: InMemoryState,
    /// The block.
    pub block: BlockContext,
    /// Its transactions, in block order.
    pub txs: Vec<Recovered<TxEnvelope>>,
    check: Check,
}

impl fmt::Debug for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Workload")
            .field("name", &self.name)
            .field("txs", &self.txs.len())
            .finish()
    }
}

impl Workload {
    /// Executes the block once with `executor` and checks the result: the end state the
    /// workload expects, and, given the `reference` (sequential) execution, equality with it.
    pub fn execute_checked(
        &self,
        executor: &dyn Executor,
        reference: Option<&BlockExecution>,
    ) -> Result<BlockExecution> {
        let exec = executor.execute_block(&self.block, &self.txs, &self.genesis)?;
        let failed = |message: String| ExecError::Bench {
            executor: executor.name(),
            message,
        };
        self.check(&exec).map_err(failed)?;
        if reference.is_some_and(|reference| *reference != exec) {
            return Err(failed("execution differs from sequential".into()));
        }
        Ok(exec)
    }

    /// Checks an execution of this block: every transaction included and succeeded, and the
    /// state after it (genesis plus the diff) is what the workload's own model says.
    pub fn check(&self, exec: &BlockExecution) -> std::result::Result<(), String> {
        if let Some(skipped) = exec.skipped.first() {
            return Err(format!(
                "transaction {} skipped: {:?}",
                skipped.index, skipped.reason
            ));
        }
        if let Some(failed) = exec.included.iter().find(|tx| !tx.outcome.success) {
            return Err(format!(
                "transaction {} failed: {:?}",
                failed.index, failed.outcome.output
            ));
        }
        if exec.included.len() != self.txs.len() {
            return Err(format!(
                "{} of {} transactions included",
                exec.included.len(),
                self.txs.len()
            ));
        }
        let mut post = self.genesis.clone();
        post.apply_diff(&exec.diff);
        let tips = U256::from(exec.gas_used) * U256::from(PRIORITY_FEE);
        let beneficiary = balance(&post, BENEFICIARY);
        if beneficiary != tips {
            return Err(format!(
                "beneficiary balance: expected {tips}, found {beneficiary}"
            ));
        }
        (self.check)(&post, exec)
    }
}

fn balance(state: &InMemoryState, address: Address) -> U256 {
    state
        .account(address)
        .ok()
        .flatten()
        .map(|info| info.balance)
        .unwrap_or_default()
}

fn slot(state: &InMemoryState, address: Address, slot: U256) -> U256 {
    state.storage(address, slot).unwrap_or_default()
}

fn expect_eq<T: PartialEq + fmt::Display>(
    what: impl fmt::Display,
    expected: T,
    found: T,
) -> std::result::Result<(), String> {
    if expected == found {
        Ok(())
    } else {
        Err(format!("{what}: expected {expected}, found {found}"))
    }
}

fn fund(state: &mut InMemoryState, signers: &[Signer]) {
    for signer in signers {
        state.insert_account(signer.address, U256::from(FUNDING), 0, None);
    }
}

fn deploy(state: &mut InMemoryState, address: Address, runtime: Bytes) {
    state.insert_account(address, U256::ZERO, 1, Some(Bytecode::new_raw(runtime)));
}

fn total_gas(txs: &[(TxEip1559, &Signer)]) -> u64 {
    txs.iter().map(|(tx, _)| tx.gas_limit).sum()
}

/// `n` ether transfers from `n` distinct funded senders to `n` distinct new accounts.
pub fn raw_transfers(n: usize) -> Workload {
    let senders = Signer::derive_many("lanes-raw-sender", n);
    let recipients: Vec<Address> = (0..n as u64)
        .map(|i| {
            Address::from_word(keccak256(
                [b"lanes-raw-recipient".as_slice(), &i.to_be_bytes()].concat(),
            ))
        })
        .collect();
    let mut genesis = InMemoryState::new();
    fund(&mut genesis, &senders);
    let value = |i: usize| U256::from(1_000 + i);
    let txs: Vec<_> = (0..n)
        .map(|i| {
            (
                eip1559(
                    0,
                    TxKind::Call(recipients[i]),
                    value(i),
                    Bytes::new(),
                    21_000,
                ),
                &senders[i],
            )
        })
        .collect();
    let block = block_context(total_gas(&txs));
    let txs = sign_all(txs);
    let check: Check = Box::new(move |post, _| {
        for (i, recipient) in recipients.iter().enumerate() {
            expect_eq(
                format_args!("balance of recipient {i}"),
                value(i),
                balance(post, *recipient),
            )?;
        }
        let fee = U256::from(21_000u64) * U256::from(u128::from(BASE_FEE) + PRIORITY_FEE);
        for (i, sender) in senders.iter().enumerate() {
            let expected = U256::from(FUNDING) - value(i) - fee;
            expect_eq(
                format_args!("balance of sender {i}"),
                expected,
                balance(post, sender.address),
            )?;
        }
        Ok(())
    });
    Workload {
        name: "raw".into(),
        genesis,
        block,
        txs,
        check,
    }
}

/// ERC-20 token balances, as the workloads model them.
struct TokenModel {
    balances: HashMap<Address, U256>,
}

impl TokenModel {
    fn transfer(&mut self, from: Address, to: Address, amount: U256) {
        *self.balances.get_mut(&from).expect("holder") -= amount;
        *self.balances.entry(to).or_default() += amount;
    }

    fn check(&self, post: &InMemoryState) -> std::result::Result<(), String> {
        for (holder, expected) in &self.balances {
            let found = slot(post, TOKEN, contracts::mapping_slot(*holder, 0));
            expect_eq(format_args!("token balance of {holder}"), *expected, found)?;
        }
        Ok(())
    }
}

/// ERC-20 transfers: holders `2k` send to holders `2 * perm(k) + 1`.
struct Erc20Plan {
    holders: Vec<Signer>,
    nonces: Vec<u64>,
    next: usize,
}

impl Erc20Plan {
    fn new(holders: usize, genesis: &mut InMemoryState) -> Self {
        assert!(
            holders >= 2 && holders.is_multiple_of(2),
            "an even number of holders"
        );
        let holders = Signer::derive_many("lanes-erc20-holder", holders);
        fund(genesis, &holders);
        deploy(genesis, TOKEN, contracts::token());
        for holder in &holders {
            genesis.insert_storage(
                TOKEN,
                contracts::mapping_slot(holder.address, 0),
                U256::from(TOKEN_BALANCE),
            );
        }
        let nonces = vec![0; holders.len()];
        Self {
            holders,
            nonces,
            next: 0,
        }
    }

    fn model(&self) -> TokenModel {
        TokenModel {
            balances: self
                .holders
                .iter()
                .map(|h| (h.address, U256::from(TOKEN_BALANCE)))
                .collect(),
        }
    }

    /// The next transfer: (sender index, recipient, amount, nonce).
    fn next(&mut self) -> (usize, Address, U256, u64) {
        let pairs = self.holders.len() / 2;
        let k = self.next % pairs;
        // A fixed permutation of the recipients, so that consecutive transfers touch unrelated
        // holders.
        let to = (k * 1597 + 11) % pairs;
        let amount = U256::from(1 + self.next % 1000);
        self.next += 1;
        let sender = 2 * k;
        let nonce = self.nonces[sender];
        self.nonces[sender] += 1;
        (sender, self.holders[2 * to + 1].address, amount, nonce)
    }
}

/// `n` ERC-20 transfers among [`ERC20_HOLDERS`] holders.
pub fn erc20_transfers(n: usize) -> Workload {
    erc20_transfers_among(n, ERC20_HOLDERS)
}

/// `n` ERC-20 transfers among `holders` holders (an even number).
pub fn erc20_transfers_among(n: usize, holders: usize) -> Workload {
    let mut genesis = InMemoryState::new();
    let mut plan = Erc20Plan::new(holders, &mut genesis);
    let mut model = plan.model();
    let mut unsigned = Vec::with_capacity(n);
    for _ in 0..n {
        let (sender, to, amount, nonce) = plan.next();
        model.transfer(plan.holders[sender].address, to, amount);
        let input = contracts::transfer_calldata(to, amount);
        unsigned.push((
            eip1559(nonce, TxKind::Call(TOKEN), U256::ZERO, input, 60_000),
            sender,
        ));
    }
    let unsigned: Vec<_> = unsigned
        .into_iter()
        .map(|(tx, s)| (tx, &plan.holders[s]))
        .collect();
    let block = block_context(total_gas(&unsigned));
    let txs = sign_all(unsigned);
    let check: Check = Box::new(move |post, _| model.check(post));
    Workload {
        name: "erc20".into(),
        genesis,
        block,
        txs,
        check,
    }
}

/// `n` swaps on one [`contracts::amm`] pool by `n` distinct traders, alternating direction.
pub fn amm_swaps(n: usize) -> Workload {
    let traders = Signer::derive_many("lanes-amm-trader", n);
    let mut genesis = InMemoryState::new();
    fund(&mut genesis, &traders);
    deploy(&mut genesis, AMM, contracts::amm());
    genesis.insert_storage(AMM, U256::ZERO, U256::from(POOL_RESERVE));
    genesis.insert_storage(AMM, U256::from(1), U256::from(POOL_RESERVE));
    for trader in &traders {
        genesis.insert_storage(
            AMM,
            contracts::mapping_slot(trader.address, 2),
            U256::from(TRADER_BALANCE),
        );
        genesis.insert_storage(
            AMM,
            contracts::mapping_slot(trader.address, 3),
            U256::from(TRADER_BALANCE),
        );
    }
    // Model the pool to know the end state.
    let mut reserves = [U256::from(POOL_RESERVE), U256::from(POOL_RESERVE)];
    let mut expected = Vec::with_capacity(n);
    let mut unsigned = Vec::with_capacity(n);
    for (i, trader) in traders.iter().enumerate() {
        let zero_for_one = i % 2 == 0;
        let amount_in = U256::from(ETHER / 1000 * (1 + (i % 7) as u128));
        let (r_in, r_out) = if zero_for_one { (0, 1) } else { (1, 0) };
        let out = contracts::amm_amount_out(amount_in, reserves[r_in], reserves[r_out]);
        reserves[r_in] += amount_in;
        reserves[r_out] -= out;
        let mut balances = [U256::from(TRADER_BALANCE); 2];
        balances[r_in] -= amount_in;
        balances[r_out] += out;
        expected.push((trader.address, balances));
        let input = contracts::swap_calldata(amount_in, zero_for_one);
        unsigned.push((
            eip1559(0, TxKind::Call(AMM), U256::ZERO, input, 100_000),
            trader,
        ));
    }
    let block = block_context(total_gas(&unsigned));
    let txs = sign_all(unsigned);
    let check: Check = Box::new(move |post, _| {
        expect_eq("reserve0", reserves[0], slot(post, AMM, U256::ZERO))?;
        expect_eq("reserve1", reserves[1], slot(post, AMM, U256::from(1)))?;
        for (trader, balances) in &expected {
            expect_eq(
                format_args!("token0 of {trader}"),
                balances[0],
                slot(post, AMM, contracts::mapping_slot(*trader, 2)),
            )?;
            expect_eq(
                format_args!("token1 of {trader}"),
                balances[1],
                slot(post, AMM, contracts::mapping_slot(*trader, 3)),
            )?;
        }
        Ok(())
    });
    Workload {
        name: "amm".into(),
        genesis,
        block,
        txs,
        check,
    }
}

/// `n` transactions of which a share `hot_ratio` (spread evenly) increment slot 0 of
/// [`COUNTER`] and the rest are ERC-20 transfers among [`ERC20_HOLDERS`] holders.
pub fn mixed(n: usize, hot_ratio: f64) -> Workload {
    let hot_ratio = hot_ratio.clamp(0.0, 1.0);
    let is_hot = |i: usize| ((i + 1) as f64 * hot_ratio).floor() > (i as f64 * hot_ratio).floor();
    let hot = (0..n).filter(|i| is_hot(*i)).count();
    let callers = Signer::derive_many("lanes-hot-caller", hot);
    let mut genesis = InMemoryState::new();
    fund(&mut genesis, &callers);
    deploy(&mut genesis, COUNTER, contracts::counter());
    let mut plan = Erc20Plan::new(ERC20_HOLDERS, &mut genesis);
    let mut model = plan.model();
    // (transaction, whether a hot caller signs it, index of its signer)
    let mut planned = Vec::with_capacity(n);
    let mut hot_seen = 0;
    for i in 0..n {
        if is_hot(i) {
            let tx = eip1559(0, TxKind::Call(COUNTER), U256::ZERO, Bytes::new(), 50_000);
            planned.push((tx, true, hot_seen));
            hot_seen += 1;
        } else {
            let (sender, to, amount, nonce) = plan.next();
            model.transfer(plan.holders[sender].address, to, amount);
            let input = contracts::transfer_calldata(to, amount);
            let tx = eip1559(nonce, TxKind::Call(TOKEN), U256::ZERO, input, 60_000);
            planned.push((tx, false, sender));
        }
    }
    let unsigned: Vec<_> = planned
        .into_iter()
        .map(|(tx, hot, signer)| {
            (
                tx,
                if hot {
                    &callers[signer]
                } else {
                    &plan.holders[signer]
                },
            )
        })
        .collect();
    let block = block_context(total_gas(&unsigned));
    let txs = sign_all(unsigned);
    let check: Check = Box::new(move |post, _| {
        expect_eq("counter", U256::from(hot), slot(post, COUNTER, U256::ZERO))?;
        model.check(post)
    });
    Workload {
        name: format!("mixed-{hot_ratio}"),
        genesis,
        block,
        txs,
        check,
    }
}

/// A workload by name, for `lanes bench --workload`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkloadKind {
    /// [`raw_transfers`].
    Raw,
    /// [`erc20_transfers`].
    Erc20,
    /// [`amm_swaps`].
    Amm,
    /// [`mixed`] with this hot ratio.
    Mixed {
        /// Share of transactions that hit the hot slot, in `[0, 1]`.
        hot_ratio: f64,
    },
}

impl WorkloadKind {
    /// Default hot ratio of `mixed` when none is given.
    pub const DEFAULT_HOT_RATIO: f64 = 0.1;

    /// Generates the workload with `txs` transactions.
    pub fn generate(self, txs: usize) -> Workload {
        match self {
            Self::Raw => raw_transfers(txs),
            Self::Erc20 => erc20_transfers(txs),
            Self::Amm => amm_swaps(txs),
            Self::Mixed { hot_ratio } => mixed(txs, hot_ratio),
        }
    }
}

impl fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Raw => f.write_str("raw"),
            Self::Erc20 => f.write_str("erc20"),
            Self::Amm => f.write_str("amm"),
            Self::Mixed { hot_ratio } => write!(f, "mixed (hot ratio {hot_ratio})"),
        }
    }
}

impl FromStr for WorkloadKind {
    type Err = String;

    /// `raw`, `erc20`, `amm` or `mixed` (with [`WorkloadKind::DEFAULT_HOT_RATIO`]).
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "raw" => Ok(Self::Raw),
            "erc20" => Ok(Self::Erc20),
            "amm" => Ok(Self::Amm),
            "mixed" => Ok(Self::Mixed {
                hot_ratio: Self::DEFAULT_HOT_RATIO,
            }),
            other => Err(format!(
                "unknown workload {other:?}: expected raw, erc20, amm or mixed"
            )),
        }
    }
}

/// What [`run_bench`] measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    /// The workload.
    pub workload: String,
    /// Transactions in the block.
    pub txs: usize,
    /// Threads of the parallel executor.
    pub threads: usize,
    /// Timed runs of each executor; the figures are their medians.
    pub runs: usize,
    /// Sequential executor: gas per second.
    pub sequential_gas_per_s: f64,
    /// Parallel executor: gas per second.
    pub parallel_gas_per_s: f64,
    /// Sequential executor: transactions per second.
    pub sequential_tx_per_s: f64,
    /// Parallel executor: transactions per second.
    pub parallel_tx_per_s: f64,
    /// Parallel over sequential throughput (median times of the same runs).
    pub speedup: f64,
    /// Statistics of the parallel executor's last timed run.
    pub parallel_stats: ExecStats,
    /// [`core_round_trip_ns`] just before and just after the timed runs (`None` with one
    /// thread, or where it cannot be measured).
    pub core_round_trip_ns: Option<[f64; 2]>,
}

/// Default number of timed runs of each executor in [`run_bench`].
pub const DEFAULT_RUNS: usize = 21;

/// Generates `workload` with `txs` transactions, executes it with the sequential executor and
/// with a [`ParallelExecutor`] of `threads` threads, checks both end states and that both
/// executions are identical, then times `runs` runs of each (at least one; interleaved, after
/// one warm-up run each) and reports the medians. Interleaving exposes both executors to the
/// same load on the machine. The parallel executor is the same instance throughout, as in a
/// node, so its hot-key table has seen the warm-up block.
pub fn run_bench(
    workload: WorkloadKind,
    txs: usize,
    threads: usize,
    runs: usize,
) -> Result<BenchResult> {
    let runs = runs.max(1);
    let w = workload.generate(txs);
    let sequential = SequentialExecutor;
    let parallel = ParallelExecutor::new(threads);
    let run = |executor: &dyn Executor| -> Result<(BlockExecution, Duration)> {
        let start = Instant::now();
        let exec = executor.execute_block(&w.block, &w.txs, &w.genesis)?;
        Ok((exec, start.elapsed()))
    };
    let reference = w.execute_checked(&sequential, None)?;
    w.execute_checked(&parallel, Some(&reference))?;
    let probe = || {
        (threads > 1)
            .then(|| core_round_trip_ns(ROUND_TRIPS))
            .flatten()
    };
    let before = probe();
    let mut seq_times = Vec::with_capacity(runs);
    let mut par_times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let (exec, t) = run(&sequential)?;
        drop(exec);
        seq_times.push(t);
        let (exec, t) = run(&parallel)?;
        if exec != reference {
            return Err(ExecError::Bench {
                executor: "cpu-parallel",
                message: "execution differs from sequential".into(),
            });
        }
        drop(exec);
        par_times.push(t);
    }
    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2].as_secs_f64()
    };
    let (seq, par) = (median(&mut seq_times), median(&mut par_times));
    let gas = reference.gas_used as f64;
    let n = txs as f64;
    Ok(BenchResult {
        workload: workload.to_string(),
        txs,
        threads,
        runs,
        sequential_gas_per_s: gas / seq,
        parallel_gas_per_s: gas / par,
        sequential_tx_per_s: n / seq,
        parallel_tx_per_s: n / par,
        speedup: seq / par,
        parallel_stats: parallel.last_stats().unwrap_or_default(),
        core_round_trip_ns: before.zip(probe()).map(|(before, after)| [before, after]),
    })
}

/// Round trips [`run_bench`] times.
const ROUND_TRIPS: u32 = 20_000;

/// How long a cache line takes to go from one core to another and back, in nanoseconds: two
/// threads, pinned to the first two cores this process may run on, hand a counter back and
/// forth `rounds` times (fewer if that takes more than 50 ms), and this is the mean round
/// trip. `None` where fewer than two cores are allowed, or where threads cannot be pinned
/// (outside Linux with glibc).
///
/// Every result the parallel executor hands from one thread to the other crosses between
/// cores, so its speed depends on this figure as well as on the cores' own. On a virtual
/// machine it is not fixed: the host may run the two virtual cores far apart (on other
/// chiplets or sockets) for seconds at a time, and the round trip then takes several times as
/// long (about 70 ns and about 430 ns on the 2-core machine of the README). Benchmarks print
/// it so that such periods can be told apart from changes to the executor.
pub fn core_round_trip_ns(rounds: u32) -> Option<f64> {
    use std::sync::atomic::{AtomicU32, Ordering};

    /// Its own cache lines, so that nothing else moves with it.
    #[repr(align(128))]
    struct Line(AtomicU32);

    /// Tells the other thread to stop.
    const STOP: u32 = u32::MAX;
    /// The measurement ends after this long even if rounds are left (on a busy machine, each
    /// round can wait for the scheduler).
    const BUDGET: std::time::Duration = std::time::Duration::from_millis(50);

    /// Waits until the line holds `value` (true) or [`STOP`] (false).
    fn wait_for(line: &Line, value: u32) -> bool {
        loop {
            match line.0.load(Ordering::Acquire) {
                v if v == value => return true,
                STOP => return false,
                _ => std::hint::spin_loop(),
            }
        }
    }

    let [first, second] = affinity::first_two_cores()?;
    let rounds = rounds.clamp(2, STOP / 2 - 1);
    let line = Line(AtomicU32::new(0));
    std::thread::scope(|scope| {
        let line = &line;
        scope.spawn(move || {
            if !affinity::pin_to(second) {
                line.0.store(STOP, Ordering::Release);
                return;
            }
            let mut round = 0;
            while wait_for(line, 2 * round + 1) {
                line.0.store(2 * round + 2, Ordering::Release);
                round += 1;
            }
        });
        scope
            .spawn(move || {
                if !affinity::pin_to(first) {
                    line.0.store(STOP, Ordering::Release);
                    return None;
                }
                // The other thread's start is not part of any round trip; it may have given
                // up already.
                if line
                    .0
                    .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire)
                    .is_err()
                    || !wait_for(line, 2)
                {
                    return None;
                }
                let start = Instant::now();
                let mut done = 0u32;
                for round in 1..rounds {
                    line.0.store(2 * round + 1, Ordering::Release);
                    if !wait_for(line, 2 * round + 2) {
                        return None;
                    }
                    done += 1;
                    if done.is_multiple_of(256) && start.elapsed() > BUDGET {
                        break;
                    }
                }
                let round_trip = start.elapsed().as_secs_f64() * 1e9 / f64::from(done);
                line.0.store(STOP, Ordering::Release);
                Some(round_trip)
            })
            .join()
            .expect("the probe thread does not panic")
    })
}

/// Pinning threads to cores, for [`core_round_trip_ns`].
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod affinity {
    /// The first two cores the calling thread may run on.
    pub(super) fn first_two_cores() -> Option<[usize; 2]> {
        // SAFETY: a zeroed cpu_set_t is a valid empty set, and sched_getaffinity writes at
        // most the size it is given.
        let set = unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
                return None;
            }
            set
        };
        let mut cores = (0..libc::CPU_SETSIZE as usize)
            // SAFETY: `cpu` is below CPU_SETSIZE.
            .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) });
        Some([cores.next()?, cores.next()?])
    }

    /// Pins the calling thread to `cpu`; whether it worked.
    pub(super) fn pin_to(cpu: usize) -> bool {
        // SAFETY: as above; `cpu` came from the allowed set, below CPU_SETSIZE.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod affinity {
    pub(super) fn first_two_cores() -> Option<[usize; 2]> {
        None
    }

    pub(super) fn pin_to(_cpu: usize) -> bool {
        false
    }
}
