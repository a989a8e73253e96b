//! The Solidity contracts of `contracts/`, as compiled into the committed artifacts
//! (`contracts/artifacts/<Name>.json`, written by `node contracts/build.mjs`), and ABI encoders
//! for the calls the workloads make.
//!
//! The artifacts are embedded with `include_str!`, so a binary built from this crate carries the
//! exact bytecode that `contracts/check.mjs` verified against the sources.

use std::{collections::BTreeMap, sync::OnceLock};

use alloy_primitives::{Address, Bytes, U256, keccak256};
use serde::Deserialize;

const TOKEN_JSON: &str = include_str!("../../contracts/artifacts/LanesToken.json");
const AMM_JSON: &str = include_str!("../../contracts/artifacts/LanesAmm.json");

/// One compiled contract, as `contracts/build.mjs` writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    /// Contract name, e.g. `LanesToken`.
    pub contract_name: String,
    /// Source path relative to `contracts/`.
    pub source_name: String,
    /// The ABI as solc emits it.
    pub abi: serde_json::Value,
    /// Creation code (constructor arguments are appended to it).
    pub bytecode: Bytes,
    /// Runtime code, what `eth_getCode` returns after deployment (for contracts without
    /// immutables).
    pub deployed_bytecode: Bytes,
    /// Function signature -> 4-byte selector in hex, as solc computed them.
    pub method_identifiers: BTreeMap<String, String>,
    /// Compiler name and version.
    pub compiler: Compiler,
}

/// The compiler that produced an [`Artifact`].
#[derive(Debug, Clone, Deserialize)]
pub struct Compiler {
    /// `solc-js`.
    pub name: String,
    /// Full solc version string, e.g. `0.8.37+commit.f401782d.Emscripten.clang`.
    pub version: String,
}

fn parse(json: &'static str, cell: &'static OnceLock<Artifact>) -> &'static Artifact {
    cell.get_or_init(|| {
        serde_json::from_str(json)
            .expect("committed contract artifact is valid JSON (contracts/check.mjs)")
    })
}

/// The `LanesToken` (ERC-20) artifact.
pub fn token() -> &'static Artifact {
    static CELL: OnceLock<Artifact> = OnceLock::new();
    parse(TOKEN_JSON, &CELL)
}

/// The `LanesAmm` (constant-product pool) artifact.
pub fn amm() -> &'static Artifact {
    static CELL: OnceLock<Artifact> = OnceLock::new();
    parse(AMM_JSON, &CELL)
}

/// `LanesToken` creation code, without constructor arguments.
pub fn token_bytecode() -> Bytes {
    token().bytecode.clone()
}

/// `LanesToken` runtime code.
pub fn token_deployed_bytecode() -> Bytes {
    token().deployed_bytecode.clone()
}

/// `LanesAmm` creation code, without constructor arguments.
pub fn amm_bytecode() -> Bytes {
    amm().bytecode.clone()
}

/// The 4-byte selector of a function signature such as `transfer(address,uint256)`.
pub fn selector(signature: &str) -> [u8; 4] {
    let hash = keccak256(signature.as_bytes());
    [hash[0], hash[1], hash[2], hash[3]]
}

fn word_address(out: &mut Vec<u8>, address: Address) {
    out.extend_from_slice(&[0u8; 12]);
    out.extend_from_slice(address.as_slice());
}

fn word_u256(out: &mut Vec<u8>, value: U256) {
    out.extend_from_slice(&value.to_be_bytes::<32>());
}

fn word_usize(out: &mut Vec<u8>, value: usize) {
    word_u256(out, U256::from(value));
}

fn call(signature: &str, words: impl FnOnce(&mut Vec<u8>)) -> Bytes {
    let mut out = Vec::with_capacity(4 + 96);
    out.extend_from_slice(&selector(signature));
    words(&mut out);
    out.into()
}

/// Creation transaction input for `LanesToken(name, symbol, holders, amountEach)`: every holder
/// gets `amount_each`; with no holders the deployer gets it.
pub fn token_deploy_input(
    name: &str,
    symbol: &str,
    holders: &[Address],
    amount_each: U256,
) -> Bytes {
    // ABI: a head of 4 words (3 offsets and the amount), then the dynamic tails in order.
    fn string_tail(s: &str) -> Vec<u8> {
        let mut tail = Vec::new();
        word_usize(&mut tail, s.len());
        tail.extend_from_slice(s.as_bytes());
        tail.resize(32 + s.len().div_ceil(32) * 32, 0);
        tail
    }
    let name_tail = string_tail(name);
    let symbol_tail = string_tail(symbol);
    let mut holders_tail = Vec::with_capacity(32 * (1 + holders.len()));
    word_usize(&mut holders_tail, holders.len());
    for h in holders {
        word_address(&mut holders_tail, *h);
    }

    let code = &token().bytecode;
    let mut out = Vec::with_capacity(
        code.len() + 128 + name_tail.len() + symbol_tail.len() + holders_tail.len(),
    );
    out.extend_from_slice(code);
    let head_len = 4 * 32;
    word_usize(&mut out, head_len);
    word_usize(&mut out, head_len + name_tail.len());
    word_usize(&mut out, head_len + name_tail.len() + symbol_tail.len());
    word_u256(&mut out, amount_each);
    out.extend_from_slice(&name_tail);
    out.extend_from_slice(&symbol_tail);
    out.extend_from_slice(&holders_tail);
    out.into()
}

/// Creation transaction input for `LanesAmm(token0, token1)`.
pub fn amm_deploy_input(token0: Address, token1: Address) -> Bytes {
    let mut out = amm().bytecode.to_vec();
    word_address(&mut out, token0);
    word_address(&mut out, token1);
    out.into()
}

/// `transfer(to, value)` calldata.
pub fn erc20_transfer(to: Address, value: U256) -> Bytes {
    call("transfer(address,uint256)", |o| {
        word_address(o, to);
        word_u256(o, value);
    })
}

/// `approve(spender, value)` calldata.
pub fn erc20_approve(spender: Address, value: U256) -> Bytes {
    call("approve(address,uint256)", |o| {
        word_address(o, spender);
        word_u256(o, value);
    })
}

/// `balanceOf(owner)` calldata.
pub fn erc20_balance_of(owner: Address) -> Bytes {
    call("balanceOf(address)", |o| word_address(o, owner))
}

/// `totalSupply()` calldata.
pub fn erc20_total_supply() -> Bytes {
    call("totalSupply()", |_| {})
}

/// `addLiquidity(amount0, amount1)` calldata.
pub fn amm_add_liquidity(amount0: U256, amount1: U256) -> Bytes {
    call("addLiquidity(uint256,uint256)", |o| {
        word_u256(o, amount0);
        word_u256(o, amount1);
    })
}

/// `swap(zeroForOne, amountIn, minAmountOut, to)` calldata.
pub fn amm_swap(zero_for_one: bool, amount_in: U256, min_amount_out: U256, to: Address) -> Bytes {
    call("swap(bool,uint256,uint256,address)", |o| {
        word_u256(o, U256::from(u8::from(zero_for_one)));
        word_u256(o, amount_in);
        word_u256(o, min_amount_out);
        word_address(o, to);
    })
}

/// `getReserves`-style read: `reserve0()` calldata (and `reserve1()` with `index == 1`).
pub fn amm_reserve(index: u8) -> Bytes {
    if index == 0 {
        call("reserve0()", |_| {})
    } else {
        call("reserve1()", |_| {})
    }
}

/// Decodes a single `uint256` return value.
pub fn decode_u256(output: &[u8]) -> Option<U256> {
    (output.len() == 32).then(|| U256::from_be_slice(output))
}

#[cfg(test)]
mod tests;
