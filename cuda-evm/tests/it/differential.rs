//! Differential fuzzing of the host build against revm: random bytecode programs (arithmetic on
//! edge values, memory, storage, transient storage, logs, jumps, calls into a second random
//! contract and to accounts without code, creates, self-destructs, reverts) run as a block of
//! transactions from several senders through
//! `GpuHostExecutor` and `SequentialExecutor`: the outcomes (status, gas, logs, output,
//! created address), the skipped set, the post-state and the state diff must be equal.

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope, transaction::Recovered};
use alloy_primitives::{Address, Bytes, Signature, TxKind, U256, address};
use std::collections::BTreeMap;

use lanes_conflict::{BlockContext, Executor, InMemoryState, SequentialExecutor, StateDiff};
use lanes_cuda_evm::GpuHostExecutor;
use proptest::prelude::*;
use revm::bytecode::Bytecode;

const MAIN: Address = address!("0x00000000000000000000000000000000000a0001");
const OTHER: Address = address!("0x00000000000000000000000000000000000b0002");
const COINBASE: Address = address!("0x00000000000000000000000000000000000c0003");
const SENDERS: [Address; 3] = [
    address!("0x1000000000000000000000000000000000000001"),
    address!("0x1000000000000000000000000000000000000002"),
    address!("0x1000000000000000000000000000000000000003"),
];
/// An address without code: absent from the state, or an empty account (nonce, balance and
/// code all zero, as before EIP-161), as the case has it.
const DEAD: Address = address!("0x00000000000000000000000000000000000dead1");
/// The identity precompile.
const IDENTITY: Address = address!("0x0000000000000000000000000000000000000004");
/// What calls, self-destructs and transactions are sent to, besides the contracts: each is
/// touched (EIP-161) without running code (the beneficiary runs the second program when the
/// case gives it code), and the empty ones are deleted.
const TARGETS: [Address; 6] = [OTHER, OTHER, COINBASE, IDENTITY, DEAD, SENDERS[1]];

/// Words the arithmetic is most likely to get wrong.
fn edge_word() -> impl Strategy<Value = U256> {
    prop_oneof![
        Just(U256::ZERO),
        Just(U256::from(1)),
        Just(U256::from(2)),
        Just(U256::from(31)),
        Just(U256::from(32)),
        Just(U256::from(255)),
        Just(U256::from(256)),
        Just(U256::from(1) << 255),
        Just(U256::MAX),
        Just(U256::MAX - U256::from(1)),
        Just((U256::from(1) << 255) - U256::from(1)),
        any::<u64>().prop_map(U256::from),
        any::<[u64; 4]>().prop_map(U256::from_limbs),
    ]
}

const BINARY: &[u8] = &[
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0a, 0x0b, 0x10, 0x11, 0x12, 0x13, 0x14, 0x16, 0x17,
    0x18, 0x1a, 0x1b, 0x1c, 0x1d,
];
const UNARY: &[u8] = &[0x15, 0x19];
const TERNARY: &[u8] = &[0x08, 0x09];
/// Opcodes that push one value from the environment.
const ENV: &[u8] = &[
    0x30, 0x32, 0x33, 0x34, 0x36, 0x38, 0x3a, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x4a,
    0x58, 0x59, 0x5a,
];

#[derive(Debug, Clone)]
enum Snippet {
    /// `op(a, b)` stored to slot `slot`.
    Binary(u8, U256, U256, u8),
    Unary(u8, U256, u8),
    Ternary(u8, U256, U256, U256, u8),
    /// An environment value stored to a slot.
    Env(u8, u8),
    /// MSTORE / MSTORE8 of a word at a small offset.
    MStore(bool, U256, u16),
    /// MLOAD at an offset, stored.
    MLoad(u16, u8),
    /// MCOPY dst, src, len.
    MCopy(u16, u16, u8),
    /// SLOAD slot and store it to another.
    SLoadCopy(u8, u8),
    /// TSTORE then TLOAD into storage.
    Transient(u8, U256),
    /// LOGn over a memory range with n topics.
    Log(u8, u16, u8, U256),
    /// Jump over `skip` junk bytes (conditionally if `cond`).
    Jump(bool, U256, Vec<u8>),
    /// CALL-family into one of [`TARGETS`] (kind, gas, value, slot, target), result stored.
    Call(u8, u64, u8, u8, u8),
    /// CREATE (or CREATE2 with a fixed salt) of the first `len` bytes of memory as initcode,
    /// with a value; the address (or 0) stored.
    Create(bool, u8, u8, u8),
    /// BALANCE / EXTCODESIZE / EXTCODEHASH of one of the known addresses, stored.
    Account(u8, u8, u8),
    /// A raw byte (often an invalid opcode or a stack underflow).
    Raw(u8),
}

fn snippet() -> impl Strategy<Value = Snippet> {
    let slot = 0u8..8;
    prop_oneof![
        6 => (prop::sample::select(BINARY), edge_word(), edge_word(), slot.clone())
            .prop_map(|(op, a, b, s)| Snippet::Binary(op, a, b, s)),
        1 => (prop::sample::select(UNARY), edge_word(), slot.clone())
            .prop_map(|(op, a, s)| Snippet::Unary(op, a, s)),
        2 => (prop::sample::select(TERNARY), edge_word(), edge_word(), edge_word(), slot.clone())
            .prop_map(|(op, a, b, n, s)| Snippet::Ternary(op, a, b, n, s)),
        2 => (prop::sample::select(ENV), slot.clone()).prop_map(|(op, s)| Snippet::Env(op, s)),
        2 => (any::<bool>(), edge_word(), 0u16..200).prop_map(|(b, v, o)| Snippet::MStore(b, v, o)),
        1 => (0u16..300, slot.clone()).prop_map(|(o, s)| Snippet::MLoad(o, s)),
        1 => (0u16..200, 0u16..200, any::<u8>()).prop_map(|(d, s, l)| Snippet::MCopy(d, s, l)),
        2 => (slot.clone(), slot.clone()).prop_map(|(a, b)| Snippet::SLoadCopy(a, b)),
        1 => (slot.clone(), edge_word()).prop_map(|(s, v)| Snippet::Transient(s, v)),
        1 => (0u8..3, 0u16..100, 0u8..64, edge_word()).prop_map(|(n, o, l, t)| Snippet::Log(n, o, l, t)),
        1 => (any::<bool>(), edge_word(), prop::collection::vec(any::<u8>(), 0..4))
            .prop_map(|(c, v, junk)| Snippet::Jump(c, v, junk)),
        2 => (0u8..4, 0u64..100_000, 0u8..3, slot.clone(), 0u8..6)
            .prop_map(|(k, g, v, s, t)| Snippet::Call(k, g, v, s, t)),
        1 => (any::<bool>(), 0u8..6, 0u8..3, slot.clone())
            .prop_map(|(c2, len, v, s)| Snippet::Create(c2, len, v, s)),
        1 => (0u8..3, 0u8..5, slot.clone()).prop_map(|(k, w, s)| Snippet::Account(k, w, s)),
        1 => prop_oneof![Just(0xfeu8), Just(0x0cu8), Just(0x01u8), Just(0x50u8), Just(0x56u8)]
            .prop_map(Snippet::Raw),
    ]
}

/// How a program ends.
#[derive(Debug, Clone)]
enum End {
    Stop,
    Return(u8),
    Revert(u8),
    Invalid,
    /// SELFDESTRUCT to one of [`TARGETS`] (the contracts are not created in the transaction:
    /// since Cancun only their balance moves).
    SelfDestruct(u8),
}

fn end() -> impl Strategy<Value = End> {
    prop_oneof![
        3 => Just(End::Stop),
        2 => (0u8..64).prop_map(End::Return),
        2 => (0u8..64).prop_map(End::Revert),
        1 => Just(End::Invalid),
        1 => (0u8..6).prop_map(End::SelfDestruct),
    ]
}

struct Asm(Vec<u8>);

impl Asm {
    fn push(&mut self, v: U256) {
        let bytes = v.to_be_bytes::<32>();
        let skip = bytes.iter().take_while(|b| **b == 0).count().min(31);
        let n = 32 - skip;
        self.0.push(0x5f + n as u8);
        self.0.extend_from_slice(&bytes[skip..]);
    }

    fn push_n(&mut self, v: u64) {
        self.push(U256::from(v));
    }

    fn op(&mut self, op: u8) {
        self.0.push(op);
    }

    fn store_to(&mut self, slot: u8) {
        self.push_n(u64::from(slot));
        self.op(0x55);
    }
}

fn assemble(snippets: &[Snippet], end: &End, second: bool) -> Bytes {
    let mut a = Asm(Vec::new());
    for s in snippets {
        match s {
            Snippet::Binary(op, x, y, slot) => {
                a.push(*y);
                a.push(*x);
                a.op(*op);
                a.store_to(*slot);
            }
            Snippet::Unary(op, x, slot) => {
                a.push(*x);
                a.op(*op);
                a.store_to(*slot);
            }
            Snippet::Ternary(op, x, y, n, slot) => {
                a.push(*n);
                a.push(*y);
                a.push(*x);
                a.op(*op);
                a.store_to(*slot);
            }
            Snippet::Env(op, slot) => {
                a.op(*op);
                a.store_to(*slot);
            }
            Snippet::MStore(byte, v, off) => {
                a.push(*v);
                a.push_n(u64::from(*off));
                a.op(if *byte { 0x53 } else { 0x52 });
            }
            Snippet::MLoad(off, slot) => {
                a.push_n(u64::from(*off));
                a.op(0x51);
                a.store_to(*slot);
            }
            Snippet::MCopy(dst, src, len) => {
                a.push_n(u64::from(*len));
                a.push_n(u64::from(*src));
                a.push_n(u64::from(*dst));
                a.op(0x5e);
            }
            Snippet::SLoadCopy(from, to) => {
                a.push_n(u64::from(*from));
                a.op(0x54);
                a.store_to(*to);
            }
            Snippet::Transient(slot, v) => {
                a.push(*v);
                a.push_n(u64::from(*slot));
                a.op(0x5d);
                a.push_n(u64::from(*slot));
                a.op(0x5c);
                a.store_to(*slot);
            }
            Snippet::Log(n, off, len, topic) => {
                for _ in 0..*n {
                    a.push(*topic);
                }
                a.push_n(u64::from(*len));
                a.push_n(u64::from(*off));
                a.op(0xa0 + n);
            }
            Snippet::Jump(cond, v, junk) => {
                // PUSH2 target, [cond] JUMP(I), junk, JUMPDEST
                if *cond {
                    a.push(*v);
                }
                let target = a.0.len() + 3 + 1 + junk.len();
                a.op(0x61);
                a.0.extend_from_slice(&(target as u16).to_be_bytes());
                a.op(if *cond { 0x57 } else { 0x56 });
                a.0.extend_from_slice(junk);
                a.op(0x5b);
            }
            Snippet::Call(kind, gas, value, slot, target) => {
                if second {
                    // The second contract calls back into the first only through plain
                    // arithmetic: no recursion, so programs stay small.
                    continue;
                }
                // out len, out off, in len, in off, [value], address, gas
                a.push_n(32);
                a.push_n(0);
                a.push_n(64);
                a.push_n(0);
                let op = [0xf1, 0xf2, 0xf4, 0xfa][*kind as usize % 4];
                if op == 0xf1 || op == 0xf2 {
                    a.push_n(u64::from(*value));
                }
                a.push(U256::from_be_slice(
                    TARGETS[*target as usize % 6].as_slice(),
                ));
                a.push_n(*gas);
                a.op(op);
                a.store_to(*slot);
                // And what it returned.
                a.op(0x3d);
                a.store_to(slot.wrapping_add(8));
            }
            Snippet::Create(create2, len, value, slot) => {
                // [salt], len, offset 0, value
                if *create2 {
                    a.push_n(0x5a17);
                }
                a.push_n(u64::from(*len));
                a.push_n(0);
                a.push_n(u64::from(*value));
                a.op(if *create2 { 0xf5 } else { 0xf0 });
                a.store_to(*slot);
            }
            Snippet::Account(which, what, slot) => {
                let target = [MAIN, OTHER, SENDERS[0], COINBASE, DEAD][*what as usize % 5];
                a.push(U256::from_be_slice(target.as_slice()));
                a.op([0x31, 0x3b, 0x3f][*which as usize % 3]);
                a.store_to(*slot);
            }
            Snippet::Raw(op) => a.op(*op),
        }
    }
    match end {
        End::Stop => a.op(0x00),
        End::Return(len) | End::Revert(len) => {
            a.push_n(u64::from(*len));
            a.push_n(0);
            a.op(if matches!(end, End::Return(_)) {
                0xf3
            } else {
                0xfd
            });
        }
        End::Invalid => a.op(0xfe),
        End::SelfDestruct(target) => {
            a.push(U256::from_be_slice(
                TARGETS[*target as usize % 6].as_slice(),
            ));
            a.op(0xff);
        }
    }
    Bytes::from(a.0)
}

#[derive(Debug, Clone)]
struct TxSpec {
    sender: usize,
    /// The first contract, or one of [`TARGETS`].
    to: Address,
    value: u64,
    calldata: Vec<u8>,
    gas: u64,
    tip: u128,
}

fn tx_spec() -> impl Strategy<Value = TxSpec> {
    (
        0usize..3,
        prop_oneof![4 => Just(MAIN), 1 => prop::sample::select(&TARGETS[..])],
        prop_oneof![Just(0u64), Just(1), 0u64..1000],
        prop::collection::vec(any::<u8>(), 0..40),
        prop_oneof![Just(30_000u64), Just(100_000), Just(1_000_000)],
        0u128..3,
    )
        .prop_map(|(sender, to, value, calldata, gas, tip)| TxSpec {
            sender,
            to,
            value,
            calldata,
            gas,
            tip,
        })
}

fn block() -> BlockContext {
    BlockContext {
        number: 300,
        timestamp: 1_700_000_000,
        beneficiary: COINBASE,
        gas_limit: 30_000_000,
        base_fee: 7,
        prevrandao: Default::default(),
        chain_id: 1,
        excess_blob_gas: 0,
    }
}

/// The pre-state; `coinbase_code`: the beneficiary holds the second program too (so that
/// transactions load its code); `dead_exists`: [`DEAD`] is an empty account rather than absent.
fn state(main: Bytes, other: Bytes, coinbase_code: bool, dead_exists: bool) -> InMemoryState {
    let mut state = InMemoryState::new();
    for sender in SENDERS {
        state.insert_account(sender, U256::from(10u64).pow(U256::from(20)), 0, None);
    }
    state.insert_account(MAIN, U256::from(1000), 1, Some(Bytecode::new_raw(main)));
    if coinbase_code {
        state.insert_account(
            COINBASE,
            U256::ZERO,
            0,
            Some(Bytecode::new_raw(other.clone())),
        );
    }
    state.insert_account(OTHER, U256::from(5), 1, Some(Bytecode::new_raw(other)));
    if dead_exists {
        state.insert_account(DEAD, U256::ZERO, 0, None);
    }
    for slot in 0..4u64 {
        state.insert_storage(MAIN, U256::from(slot), U256::from(slot * 7 + 1));
        state.insert_storage(OTHER, U256::from(slot), U256::from(slot + 100));
    }
    for n in 44..300u64 {
        state.insert_block_hash(n, alloy_primitives::keccak256(n.to_be_bytes()));
    }
    state
}

fn sign(specs: &[TxSpec]) -> Vec<Recovered<TxEnvelope>> {
    let mut nonces = [0u64; 3];
    specs
        .iter()
        .map(|spec| {
            let nonce = nonces[spec.sender];
            nonces[spec.sender] += 1;
            let tx = TxEip1559 {
                chain_id: 1,
                nonce,
                gas_limit: spec.gas,
                max_fee_per_gas: 20,
                max_priority_fee_per_gas: spec.tip,
                to: TxKind::Call(spec.to),
                value: U256::from(spec.value),
                access_list: Default::default(),
                input: Bytes::from(spec.calldata.clone()),
            };
            let envelope = TxEnvelope::Eip1559(tx.into_signed(Signature::test_signature()));
            Recovered::new_unchecked(envelope, SENDERS[spec.sender])
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 500,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn host_build_matches_revm(
        main in prop::collection::vec(snippet(), 1..14),
        main_end in end(),
        other in prop::collection::vec(snippet(), 0..8),
        other_end in end(),
        txs in prop::collection::vec(tx_spec(), 1..6),
        coinbase_code in any::<bool>(),
        dead_exists in any::<bool>(),
    ) {
        let state = state(
            assemble(&main, &main_end, false),
            assemble(&other, &other_end, true),
            coinbase_code,
            dead_exists,
        );
        let txs = sign(&txs);
        let block = block();
        let expected = SequentialExecutor.execute_block(&block, &txs, &state).unwrap();
        let host = GpuHostExecutor::new();
        let got = host.execute_block(&block, &txs, &state).unwrap();
        // Every transaction of these programs is within the kernel's reach: none may have
        // been handed to revm instead.
        prop_assert_eq!(host.stats().unsupported_total(), 0, "{:?}", host.stats());
        prop_assert_eq!(&got.included, &expected.included);
        prop_assert_eq!(&got.skipped, &expected.skipped);
        prop_assert_eq!(got.gas_used, expected.gas_used);
        // The post-states must be equal, and so must the diffs themselves, entry for entry:
        // revm lists every account a transaction touched (EIP-161), changed or not, with the
        // code it loaded.
        prop_assert_eq!(post_state(&state, &got.diff), post_state(&state, &expected.diff));
        prop_assert_eq!(&got.diff, &expected.diff);
    }
}

type Post = BTreeMap<Address, (U256, u64, alloy_primitives::B256, BTreeMap<U256, U256>)>;

/// Every account and non-zero slot after applying `diff` to `pre`.
fn post_state(pre: &InMemoryState, diff: &StateDiff) -> Post {
    let mut post = pre.clone();
    post.apply_diff(diff);
    post.accounts()
        .map(|(address, info)| {
            let storage = post.storage_of(address).map(|(k, v)| (*k, *v)).collect();
            (
                *address,
                (info.balance, info.nonce, info.code_hash, storage),
            )
        })
        .collect()
}
