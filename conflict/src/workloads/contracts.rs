//! The benchmark contracts, written as bytecode with [`Asm`].

use alloy_primitives::{B256, Bytes, U256, keccak256};
use revm::bytecode::opcode::{
    ADD, CALLER, DIV, DUP1, DUP3, EQ, GT, ISZERO, KECCAK256, LOG2, LOG3, LT, MUL, POP, SHR, SLOAD,
    SSTORE, STOP, SUB, SWAP1, XOR,
};

use super::asm::Asm;

/// `transfer(address,uint256)`.
pub const TRANSFER_SELECTOR: [u8; 4] = [0xa9, 0x05, 0x9c, 0xbb];
/// `balanceOf(address)`.
pub const BALANCE_OF_SELECTOR: [u8; 4] = [0x70, 0xa0, 0x82, 0x31];
/// `swap(uint256,bool)` of [`amm`].
pub const SWAP_SELECTOR: [u8; 4] = [0x2a, 0xea, 0x66, 0x05];

/// `Transfer(address,address,uint256)` event topic.
pub fn transfer_topic() -> B256 {
    keccak256("Transfer(address,address,uint256)")
}

/// `Swap(address,uint256,uint256)` event topic of [`amm`].
pub fn swap_topic() -> B256 {
    keccak256("Swap(address,uint256,uint256)")
}

/// Storage slot of `holder`'s balance in [`token`] (a Solidity `mapping(address => uint256)` at
/// slot 0), or of a pool balance in [`amm`] (mappings at slots 2 and 3).
pub fn mapping_slot(key: alloy_primitives::Address, slot: u64) -> U256 {
    let mut buf = [0u8; 64];
    buf[12..32].copy_from_slice(key.as_slice());
    buf[32..].copy_from_slice(&U256::from(slot).to_be_bytes::<32>());
    keccak256(buf).into()
}

/// Calldata of `transfer(to, amount)`.
pub fn transfer_calldata(to: alloy_primitives::Address, amount: U256) -> Bytes {
    let mut data = TRANSFER_SELECTOR.to_vec();
    data.extend_from_slice(&[0; 12]);
    data.extend_from_slice(to.as_slice());
    data.extend_from_slice(&amount.to_be_bytes::<32>());
    data.into()
}

/// Calldata of `swap(amount_in, zero_for_one)`.
pub fn swap_calldata(amount_in: U256, zero_for_one: bool) -> Bytes {
    let mut data = SWAP_SELECTOR.to_vec();
    data.extend_from_slice(&amount_in.to_be_bytes::<32>());
    data.extend_from_slice(&U256::from(u8::from(zero_for_one)).to_be_bytes::<32>());
    data.into()
}

/// An ERC-20 subset: `transfer(address,uint256)` (reverts on insufficient balance, emits
/// `Transfer`, returns `true`) and `balanceOf(address)`. Balances are a mapping at slot 0.
pub fn token() -> Bytes {
    let mut a = Asm::new();
    let transfer = a.label();
    let balance_of = a.label();
    let fail = a.label();
    a.push(0)
        .op(revm::bytecode::opcode::CALLDATALOAD)
        .push(0xe0)
        .op(SHR);
    a.op(DUP1)
        .push_bytes(&TRANSFER_SELECTOR)
        .op(EQ)
        .jumpi(transfer);
    a.push_bytes(&BALANCE_OF_SELECTOR).op(EQ).jumpi(balance_of);
    a.mark(fail).revert_empty();

    a.mark(transfer).op(POP);
    a.op(CALLER).mapping_slot(0); // [from_slot]
    a.op(DUP1).op(SLOAD); // [from_slot, from_balance]
    a.arg(1); // [from_slot, from_balance, amount]
    a.op(DUP1).op(DUP3).op(LT).jumpi(fail); // from_balance < amount
    a.op(SWAP1).op(SUB).op(SWAP1).op(SSTORE); // balance[from] -= amount
    a.arg(0).mapping_slot(0); // [to_slot]
    a.op(DUP1).op(SLOAD).arg(1).op(ADD).op(SWAP1).op(SSTORE); // balance[to] += amount
    a.arg(1).mstore_at(0);
    a.arg(0)
        .op(CALLER)
        .push_bytes(transfer_topic().as_slice())
        .push(32)
        .push(0)
        .op(LOG3);
    a.push(1).return_word();

    a.mark(balance_of)
        .arg(0)
        .mapping_slot(0)
        .op(SLOAD)
        .return_word();
    a.build()
}

// Memory layout of the pool's variables.
const K: u64 = 0x80;
const AMOUNT_IN: u64 = 0xa0;
const RESERVE_IN: u64 = 0xc0;
const RESERVE_OUT: u64 = 0xe0;
const USER_IN: u64 = 0x100;
const USER_OUT: u64 = 0x120;
const OUT: u64 = 0x140;

/// A constant-product pool (x * y = k, 0.3% fee) over two internal token balances:
/// `reserve0` and `reserve1` at slots 0 and 1, traders' balances in mappings at slots 2
/// (token 0) and 3 (token 1). `swap(amount_in, zero_for_one)` moves `amount_in` of the input
/// token from the caller's balance into the pool and credits the output
/// `amount_in * 997 * reserve_out / (reserve_in * 1000 + amount_in * 997)`; it reverts if the
/// caller's balance is short or the output is zero, emits `Swap` and returns the output. Every
/// swap reads and writes both reserves, so any two swaps conflict.
pub fn amm() -> Bytes {
    let mut a = Asm::new();
    let swap = a.label();
    let fail = a.label();
    a.push(0)
        .op(revm::bytecode::opcode::CALLDATALOAD)
        .push(0xe0)
        .op(SHR);
    a.push_bytes(&SWAP_SELECTOR).op(EQ).jumpi(swap);
    a.mark(fail).revert_empty();

    a.mark(swap);
    a.arg(1).op(ISZERO).mstore_at(K); // k = 0 for zero-for-one: reserve_in is slot k
    a.arg(0).mstore_at(AMOUNT_IN);
    a.mload_at(K).op(SLOAD).mstore_at(RESERVE_IN);
    a.mload_at(K)
        .push(1)
        .op(XOR)
        .op(SLOAD)
        .mstore_at(RESERVE_OUT);
    a.op(CALLER)
        .mstore_at(0)
        .mload_at(K)
        .push(2)
        .op(ADD)
        .mstore_at(32);
    a.push(64).push(0).op(KECCAK256).mstore_at(USER_IN);
    a.op(CALLER)
        .mstore_at(0)
        .mload_at(K)
        .push(2)
        .op(ADD)
        .push(1)
        .op(XOR)
        .mstore_at(32);
    a.push(64).push(0).op(KECCAK256).mstore_at(USER_OUT);
    // balance_in -= amount_in, reverting if short
    a.mload_at(USER_IN)
        .op(SLOAD)
        .op(DUP1)
        .mload_at(AMOUNT_IN)
        .op(GT)
        .jumpi(fail);
    a.mload_at(AMOUNT_IN)
        .op(SWAP1)
        .op(SUB)
        .mload_at(USER_IN)
        .op(SSTORE);
    // out = amount_in * 997 * reserve_out / (reserve_in * 1000 + amount_in * 997)
    a.mload_at(AMOUNT_IN).push(997).op(MUL);
    a.op(DUP1).mload_at(RESERVE_OUT).op(MUL);
    a.op(SWAP1).mload_at(RESERVE_IN).push(1000).op(MUL).op(ADD);
    a.op(SWAP1).op(DIV);
    a.op(DUP1).op(ISZERO).jumpi(fail);
    a.op(DUP1).mstore_at(OUT);
    a.mload_at(USER_OUT)
        .op(SLOAD)
        .op(ADD)
        .mload_at(USER_OUT)
        .op(SSTORE);
    a.mload_at(RESERVE_IN)
        .mload_at(AMOUNT_IN)
        .op(ADD)
        .mload_at(K)
        .op(SSTORE);
    a.mload_at(OUT)
        .mload_at(RESERVE_OUT)
        .op(SUB)
        .mload_at(K)
        .push(1)
        .op(XOR)
        .op(SSTORE);
    a.mload_at(AMOUNT_IN)
        .mstore_at(0)
        .mload_at(OUT)
        .mstore_at(32);
    a.op(CALLER)
        .push_bytes(swap_topic().as_slice())
        .push(64)
        .push(0)
        .op(LOG2);
    a.mload_at(OUT).return_word();
    a.build()
}

/// The output of a swap on [`amm`] at the given reserves (zero if it would revert for that
/// reason).
pub fn amm_amount_out(amount_in: U256, reserve_in: U256, reserve_out: U256) -> U256 {
    let with_fee = amount_in * U256::from(997);
    with_fee * reserve_out / (reserve_in * U256::from(1000) + with_fee)
}

/// A contract whose every call increments slot 0: the hot slot of the mixed workload.
pub fn counter() -> Bytes {
    let mut a = Asm::new();
    a.push(0)
        .op(SLOAD)
        .push(1)
        .op(ADD)
        .push(0)
        .op(SSTORE)
        .op(STOP);
    a.build()
}
