//! A small world for differential tests: funded accounts, an "ops" contract that runs a program
//! from its calldata, and the benchmark contracts; transactions built from compact
//! descriptions that proptest can generate and shrink.

use alloy_consensus::{TxEip1559, TxEip2930, TxEnvelope, TxLegacy, transaction::Recovered};
use alloy_eips::eip2930::{AccessList, AccessListItem};
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, address};
use lanes_conflict::{
    BlockContext, InMemoryState,
    workloads::{
        Signer,
        asm::{Asm, Label},
        contracts,
    },
};
use revm::bytecode::{Bytecode, opcode::*};

pub(crate) const CHAIN_ID: u64 = 1337;
pub(crate) const BASE_FEE: u64 = 1_000_000_000;
pub(crate) const GWEI: u128 = 1_000_000_000;
const ETHER: u128 = 1_000_000_000_000_000_000;

pub(crate) const OPS: [Address; 3] = [
    address!("0x0000000000000000000000000000000000000a01"),
    address!("0x0000000000000000000000000000000000000a02"),
    address!("0x0000000000000000000000000000000000000a03"),
];
pub(crate) const TOKEN: Address = address!("0x0000000000000000000000000000000000000b01");
pub(crate) const AMM: Address = address!("0x0000000000000000000000000000000000000b02");
/// An account that exists but is empty (EIP-161 deletes it when touched).
pub(crate) const EMPTY: Address = address!("0x0000000000000000000000000000000000000e01");
/// An address that does not exist.
pub(crate) const NOBODY: Address = address!("0x0000000000000000000000000000000000000e02");
pub(crate) const FRESH_BENEFICIARY: Address =
    address!("0x0000000000000000000000000000000000000c01");
pub(crate) const EOAS: usize = 5;

// The ops contract's memory.
const PC: u64 = 0x80;
const ACC: u64 = 0xa0;
const A: u64 = 0xc0;
const B: u64 = 0xe0;
const LEN: u64 = 0x100;
const COPY: u64 = 0x200;
const INIT: u64 = 0x300;

/// Operations of the ops contract. Each instruction is three words: op, a, b.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// acc += sload(a)
    Sload,
    /// sstore(a, b)
    Sstore,
    /// sstore(a, sload(a) + b)
    Increment,
    /// acc += balance(a)
    Balance,
    /// acc += balance(coinbase)
    CoinbaseBalance,
    /// call a with value b; acc += success
    Call,
    /// revert
    Revert,
    /// call a with the rest of the program as calldata, then return
    CallRest,
    /// call itself with the rest of the program, then return
    SelfCallRest,
    /// create a contract (runtime `STOP`) with value b
    Create,
    /// create with init code that reverts
    CreateReverting,
    /// create with init code that self-destructs to the caller (EIP-6780: deleted)
    CreateSelfDestructing,
    /// selfdestruct to a
    SelfDestruct,
    /// log1(acc) with topic a
    Log,
    /// sstore(a, acc)
    StoreAcc,
    /// loop until out of gas
    Burn,
    /// tstore(a, b); acc += tload(a)
    Transient,
    /// acc += selfbalance
    SelfBalance,
    /// acc += extcodehash(a)
    ExtCodeHash,
    /// call coinbase with value b
    PayCoinbase,
    /// call a with 2300 gas and value b
    CallLowGas,
}

pub(crate) const ALL_OPS: [Op; 21] = [
    Op::Sload,
    Op::Sstore,
    Op::Increment,
    Op::Balance,
    Op::CoinbaseBalance,
    Op::Call,
    Op::Revert,
    Op::CallRest,
    Op::SelfCallRest,
    Op::Create,
    Op::CreateReverting,
    Op::CreateSelfDestructing,
    Op::SelfDestruct,
    Op::Log,
    Op::StoreAcc,
    Op::Burn,
    Op::Transient,
    Op::SelfBalance,
    Op::ExtCodeHash,
    Op::PayCoinbase,
    Op::CallLowGas,
];

fn acc_add(a: &mut Asm) {
    a.mload_at(ACC).op(ADD).mstore_at(ACC);
}

fn call_with(a: &mut Asm, target: impl Fn(&mut Asm), gas: Option<u64>) {
    a.push(0).push(0).push(0).push(0).mload_at(B);
    target(a);
    match gas {
        Some(gas) => a.push(gas),
        None => a.op(GAS),
    };
    a.op(CALL);
    acc_add(a);
}

fn call_rest(a: &mut Asm, target: impl Fn(&mut Asm)) {
    a.mload_at(PC).op(CALLDATASIZE).op(SUB).mstore_at(LEN);
    a.mload_at(LEN).mload_at(PC).push(COPY).op(CALLDATACOPY);
    a.push(0).push(0).mload_at(LEN).push(COPY).push(0);
    target(a);
    a.op(GAS).op(CALL);
    acc_add(a);
}

fn create_with(a: &mut Asm, initcode: &[u8]) {
    let mut word = [0u8; 32];
    word[..initcode.len()].copy_from_slice(initcode);
    a.push_bytes(&word).mstore_at(INIT);
    a.push(initcode.len() as u64)
        .push(INIT)
        .mload_at(B)
        .op(CREATE);
    a.op(DUP1).push(0xc0de).op(SSTORE);
    acc_add(a);
}

/// The ops contract: interprets its calldata as a program, returns `acc`.
pub(crate) fn ops_contract() -> Bytes {
    let mut a = Asm::new();
    let top = a.label();
    let end = a.label();
    let labels: Vec<Label> = ALL_OPS.iter().map(|_| a.label()).collect();
    a.mark(top);
    a.op(CALLDATASIZE).mload_at(PC).op(LT).op(ISZERO).jumpi(end);
    a.mload_at(PC)
        .push(32)
        .op(ADD)
        .op(CALLDATALOAD)
        .mstore_at(A);
    a.mload_at(PC)
        .push(64)
        .op(ADD)
        .op(CALLDATALOAD)
        .mstore_at(B);
    a.mload_at(PC).op(CALLDATALOAD);
    a.mload_at(PC).push(96).op(ADD).mstore_at(PC);
    for (k, label) in labels.iter().enumerate() {
        a.op(DUP1).push(k as u64).op(EQ).jumpi(*label);
    }
    a.op(POP).jump(top);
    for (op, label) in ALL_OPS.iter().zip(&labels) {
        a.mark(*label).op(POP);
        match op {
            Op::Sload => {
                a.mload_at(A).op(SLOAD);
                acc_add(&mut a);
            }
            Op::Sstore => {
                a.mload_at(B).mload_at(A).op(SSTORE);
            }
            Op::Increment => {
                a.mload_at(B)
                    .mload_at(A)
                    .op(SLOAD)
                    .op(ADD)
                    .mload_at(A)
                    .op(SSTORE);
            }
            Op::Balance => {
                a.mload_at(A).op(BALANCE);
                acc_add(&mut a);
            }
            Op::CoinbaseBalance => {
                a.op(COINBASE).op(BALANCE);
                acc_add(&mut a);
            }
            Op::Call => call_with(
                &mut a,
                |a| {
                    a.mload_at(A);
                },
                None,
            ),
            Op::Revert => {
                a.revert_empty();
            }
            Op::CallRest => {
                call_rest(&mut a, |a| {
                    a.mload_at(A);
                });
                a.jump(end);
            }
            Op::SelfCallRest => {
                call_rest(&mut a, |a| {
                    a.op(ADDRESS);
                });
                a.jump(end);
            }
            // mstore8(0, 0); return(0, 1)
            Op::Create => create_with(&mut a, &[0x60, 0x00, 0x5f, 0x53, 0x60, 0x01, 0x5f, 0xf3]),
            Op::CreateReverting => create_with(&mut a, &[0x5f, 0x5f, 0xfd]),
            Op::CreateSelfDestructing => create_with(&mut a, &[0x33, 0xff]),
            Op::SelfDestruct => {
                a.mload_at(A).op(SELFDESTRUCT);
            }
            Op::Log => {
                a.mload_at(ACC)
                    .mstore_at(0)
                    .mload_at(A)
                    .push(32)
                    .push(0)
                    .op(LOG1);
            }
            Op::StoreAcc => {
                a.mload_at(ACC).mload_at(A).op(SSTORE);
            }
            Op::Burn => {
                let spin = a.label();
                a.mark(spin).jump(spin);
            }
            Op::Transient => {
                a.mload_at(B).mload_at(A).op(TSTORE).mload_at(A).op(TLOAD);
                acc_add(&mut a);
            }
            Op::SelfBalance => {
                a.op(SELFBALANCE);
                acc_add(&mut a);
            }
            Op::ExtCodeHash => {
                a.mload_at(A).op(EXTCODEHASH);
                acc_add(&mut a);
            }
            Op::PayCoinbase => call_with(
                &mut a,
                |a| {
                    a.op(COINBASE);
                },
                None,
            ),
            Op::CallLowGas => call_with(
                &mut a,
                |a| {
                    a.mload_at(A);
                },
                Some(2300),
            ),
        }
        a.jump(top);
    }
    a.mark(end).mload_at(ACC).return_word();
    a.build()
}

/// Who receives the block's fees.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Beneficiary {
    /// An address with no account.
    Fresh,
    /// The existing empty account.
    Empty,
    /// One of the senders.
    Sender(usize),
    /// An ops contract.
    Contract(usize),
}

pub(crate) struct World {
    pub(crate) signers: Vec<Signer>,
    pub(crate) genesis: InMemoryState,
}

impl World {
    pub(crate) fn new() -> Self {
        let signers = Signer::derive_many("lanes-test-eoa", EOAS);
        let mut genesis = InMemoryState::new();
        let balances = [10 * ETHER, 10 * ETHER, ETHER, ETHER / 1000, 10 * ETHER];
        for (signer, balance) in signers.iter().zip(balances) {
            genesis.insert_account(signer.address(), U256::from(balance), 0, None);
        }
        let ops = Bytecode::new_raw(ops_contract());
        for (k, address) in OPS.iter().enumerate() {
            genesis.insert_account(*address, U256::from(ETHER), 1, Some(ops.clone()));
            for slot in 0..3u64 {
                genesis.insert_storage(
                    *address,
                    U256::from(slot),
                    U256::from(100 * (k as u64 + 1) + slot),
                );
            }
        }
        genesis.insert_account(
            TOKEN,
            U256::ZERO,
            1,
            Some(Bytecode::new_raw(contracts::token())),
        );
        genesis.insert_account(
            AMM,
            U256::ZERO,
            1,
            Some(Bytecode::new_raw(contracts::amm())),
        );
        genesis.insert_storage(AMM, U256::ZERO, U256::from(1_000_000 * ETHER));
        genesis.insert_storage(AMM, U256::from(1), U256::from(1_000_000 * ETHER));
        for signer in &signers {
            genesis.insert_storage(
                TOKEN,
                contracts::mapping_slot(signer.address(), 0),
                U256::from(1000u64),
            );
            genesis.insert_storage(
                AMM,
                contracts::mapping_slot(signer.address(), 2),
                U256::from(ETHER),
            );
            genesis.insert_storage(
                AMM,
                contracts::mapping_slot(signer.address(), 3),
                U256::from(ETHER),
            );
        }
        genesis.insert_account(EMPTY, U256::ZERO, 0, None);
        genesis.insert_block_hash(41, B256::repeat_byte(0x41));
        Self { signers, genesis }
    }

    pub(crate) fn beneficiary(&self, choice: Beneficiary) -> Address {
        match choice {
            Beneficiary::Fresh => FRESH_BENEFICIARY,
            Beneficiary::Empty => EMPTY,
            Beneficiary::Sender(k) => self.signers[k % EOAS].address(),
            Beneficiary::Contract(k) => OPS[k % OPS.len()],
        }
    }

    pub(crate) fn block(&self, beneficiary: Beneficiary, gas_limit: u64) -> BlockContext {
        BlockContext {
            number: 42,
            timestamp: 1_800_000_000,
            beneficiary: self.beneficiary(beneficiary),
            gas_limit,
            base_fee: BASE_FEE,
            prevrandao: B256::repeat_byte(7),
            chain_id: CHAIN_ID,
            excess_blob_gas: 0,
        }
    }

    /// Addresses an instruction can name.
    pub(crate) fn address(&self, k: usize, beneficiary: Address) -> Address {
        let pool = [
            OPS[0],
            OPS[1],
            OPS[2],
            self.signers[0].address(),
            self.signers[1].address(),
            beneficiary,
            EMPTY,
            NOBODY,
            TOKEN,
            address!("0x0000000000000000000000000000000000000001"),
            address!("0x0000000000000000000000000000000000000004"),
        ];
        pool[k % pool.len()]
    }
}

/// One instruction of an ops program: `a` selects a slot or an address, `b` is a small value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Instr {
    pub(crate) op: usize,
    pub(crate) a: usize,
    pub(crate) b: u64,
}

/// What a transaction does.
#[derive(Debug, Clone)]
pub(crate) enum Action {
    /// Send value to an address of the pool.
    Transfer { to: usize, value: u64 },
    /// Run an ops program on an ops contract.
    Ops {
        contract: usize,
        value: u64,
        program: Vec<Instr>,
    },
    /// ERC-20 transfer to another sender (amount may exceed the balance: reverts).
    TokenTransfer { to: usize, amount: u64 },
    /// AMM swap.
    Swap { amount: u64, zero_for_one: bool },
    /// Deploy the ops contract.
    Deploy { value: u64 },
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Gas {
    Normal,
    /// Just over the intrinsic gas: runs out almost at once.
    Low,
    /// Below the intrinsic gas: invalid.
    Intrinsic,
    /// Large: can exhaust a tight block.
    Huge,
}

#[derive(Debug, Clone)]
pub(crate) enum Fee {
    Eip1559 {
        tip_gwei: u8,
    },
    /// Fee cap below the base fee: invalid.
    BelowBase,
    Legacy,
    AccessList(Vec<(usize, u8)>),
}

#[derive(Debug, Clone)]
pub(crate) struct TxSpec {
    pub(crate) sender: usize,
    /// Added to the nonce the sender should use next (0 most of the time).
    pub(crate) nonce_delta: i8,
    pub(crate) action: Action,
    pub(crate) gas: Gas,
    pub(crate) fee: Fee,
}

impl World {
    fn input_and_to(&self, action: &Action, beneficiary: Address) -> (TxKind, U256, Bytes) {
        match action {
            Action::Transfer { to, value } => (
                TxKind::Call(self.address(*to, beneficiary)),
                U256::from(*value),
                Bytes::new(),
            ),
            Action::Ops {
                contract,
                value,
                program,
            } => {
                let mut data = Vec::with_capacity(96 * program.len());
                for instr in program {
                    let op = instr.op % ALL_OPS.len();
                    data.extend_from_slice(&U256::from(op).to_be_bytes::<32>());
                    let a = match ALL_OPS[op] {
                        Op::Sload
                        | Op::Sstore
                        | Op::Increment
                        | Op::StoreAcc
                        | Op::Transient
                        | Op::Log => U256::from(instr.a % 4),
                        _ => U256::from_be_slice(self.address(instr.a, beneficiary).as_slice()),
                    };
                    data.extend_from_slice(&a.to_be_bytes::<32>());
                    data.extend_from_slice(&U256::from(instr.b).to_be_bytes::<32>());
                }
                (
                    TxKind::Call(OPS[contract % OPS.len()]),
                    U256::from(*value),
                    data.into(),
                )
            }
            Action::TokenTransfer { to, amount } => {
                let to = self.signers[to % EOAS].address();
                (
                    TxKind::Call(TOKEN),
                    U256::ZERO,
                    contracts::transfer_calldata(to, U256::from(*amount)),
                )
            }
            Action::Swap {
                amount,
                zero_for_one,
            } => (
                TxKind::Call(AMM),
                U256::ZERO,
                contracts::swap_calldata(U256::from(*amount) * U256::from(GWEI), *zero_for_one),
            ),
            Action::Deploy { value } => (
                TxKind::Create,
                U256::from(*value),
                lanes_conflict::workloads::asm::initcode(&ops_contract()),
            ),
        }
    }

    /// Signs the described transactions, giving each sender consecutive nonces (plus the
    /// deltas).
    pub(crate) fn sign(
        &self,
        specs: &[TxSpec],
        beneficiary: Address,
    ) -> Vec<Recovered<TxEnvelope>> {
        let mut next = [0u64; EOAS];
        specs
            .iter()
            .map(|spec| {
                let sender = spec.sender % EOAS;
                let nonce = (next[sender] as i64 + i64::from(spec.nonce_delta)).max(0) as u64;
                next[sender] += 1;
                let (to, value, input) = self.input_and_to(&spec.action, beneficiary);
                let intrinsic = 21_000
                    + 16 * input.len() as u64
                    + if to.is_create() {
                        32_000 + 2 * input.len() as u64
                    } else {
                        0
                    };
                let gas_limit = match spec.gas {
                    Gas::Normal => 400_000,
                    Gas::Low => intrinsic + 3_000,
                    Gas::Intrinsic => intrinsic - 1,
                    Gas::Huge => 3_000_000,
                };
                let signer = &self.signers[sender];
                match &spec.fee {
                    Fee::Eip1559 { tip_gwei } => signer.sign(TxEip1559 {
                        chain_id: CHAIN_ID,
                        nonce,
                        gas_limit,
                        max_fee_per_gas: 3 * GWEI,
                        max_priority_fee_per_gas: u128::from(*tip_gwei % 3) * GWEI,
                        to,
                        value,
                        access_list: AccessList::default(),
                        input,
                    }),
                    Fee::BelowBase => signer.sign(TxEip1559 {
                        chain_id: CHAIN_ID,
                        nonce,
                        gas_limit,
                        max_fee_per_gas: u128::from(BASE_FEE) - 1,
                        max_priority_fee_per_gas: 0,
                        to,
                        value,
                        access_list: AccessList::default(),
                        input,
                    }),
                    Fee::Legacy => signer.sign_any(TxLegacy {
                        chain_id: Some(CHAIN_ID),
                        nonce,
                        gas_price: 2 * GWEI,
                        gas_limit,
                        to,
                        value,
                        input,
                    }),
                    Fee::AccessList(keys) => {
                        let items = keys
                            .iter()
                            .map(|(contract, slot)| AccessListItem {
                                address: OPS[contract % OPS.len()],
                                storage_keys: vec![B256::from(U256::from(slot % 4))],
                            })
                            .collect();
                        signer.sign_any(TxEip2930 {
                            chain_id: CHAIN_ID,
                            nonce,
                            gas_price: GWEI + u128::from(BASE_FEE),
                            gas_limit,
                            to,
                            value,
                            access_list: AccessList(items),
                            input,
                        })
                    }
                }
            })
            .collect()
    }
}
