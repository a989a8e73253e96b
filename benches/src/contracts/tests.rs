//! The committed artifacts run as intended in revm, and the hand-written encoders agree with
//! the selectors solc computed.

use alloy_primitives::{Address, Bytes, U256, address};
use revm::{
    Context, ExecuteCommitEvm, ExecuteEvm, MainBuilder, MainContext,
    context::{TxEnv, result::ExecutionResult},
    context_interface::ContextTr,
    database::{CacheDB, EmptyDB},
    primitives::TxKind,
    state::AccountInfo,
};

use super::*;
use crate::loadgen::TOKEN_TRANSFER_GAS;

const ALICE: Address = address!("0x00000000000000000000000000000000000a11ce");
const BOB: Address = address!("0x0000000000000000000000000000000000000b0b");
const CAROL: Address = address!("0x00000000000000000000000000000000000ca201");

/// A revm instance with funded accounts that tracks nonces.
struct Chain {
    evm: revm::MainnetEvm<revm::handler::MainnetContext<CacheDB<EmptyDB>>>,
}

impl Chain {
    fn new() -> Self {
        let mut db = CacheDB::<EmptyDB>::default();
        for a in [ALICE, BOB, CAROL] {
            db.insert_account_info(
                a,
                AccountInfo {
                    balance: U256::from(10u128.pow(24)),
                    ..Default::default()
                },
            );
        }
        Self {
            evm: Context::mainnet().with_db(db).build_mainnet(),
        }
    }

    fn nonce(&mut self, who: Address) -> u64 {
        self.evm
            .ctx
            .db_mut()
            .cache
            .accounts
            .get(&who)
            .map_or(0, |a| a.info.nonce)
    }

    fn send(&mut self, from: Address, kind: TxKind, data: Bytes) -> ExecutionResult {
        let nonce = self.nonce(from);
        let tx = TxEnv::builder()
            .caller(from)
            .kind(kind)
            .data(data)
            .nonce(nonce)
            .gas_limit(10_000_000)
            .build()
            .unwrap();
        self.evm.transact_commit(tx).unwrap()
    }

    fn deploy(&mut self, from: Address, input: Bytes) -> Address {
        let result = self.send(from, TxKind::Create, input);
        assert!(result.is_success(), "deploy failed: {result:?}");
        result.created_address().unwrap()
    }

    fn call(&mut self, to: Address, data: Bytes) -> Bytes {
        let tx = TxEnv::builder()
            .caller(ALICE)
            .call(to)
            .data(data)
            .nonce(self.nonce(ALICE))
            .gas_limit(10_000_000)
            .build()
            .unwrap();
        let result = self.evm.transact(tx).unwrap().result;
        assert!(result.is_success(), "call failed: {result:?}");
        result.into_output().unwrap()
    }

    fn u256(&mut self, to: Address, data: Bytes) -> U256 {
        decode_u256(&self.call(to, data)).unwrap()
    }

    fn code(&mut self, at: Address) -> Bytes {
        self.evm.ctx.db_mut().cache.accounts[&at]
            .info
            .code
            .as_ref()
            .unwrap()
            .original_bytes()
    }
}

fn deploy_token(chain: &mut Chain, holders: &[Address], each: u64) -> Address {
    chain.deploy(
        ALICE,
        token_deploy_input("Lanes", "LNS", holders, U256::from(each)),
    )
}

#[test]
fn encoders_use_solc_selectors() {
    let checks = [
        (
            token(),
            "transfer(address,uint256)",
            erc20_transfer(BOB, U256::ZERO),
        ),
        (
            token(),
            "approve(address,uint256)",
            erc20_approve(BOB, U256::ZERO),
        ),
        (token(), "balanceOf(address)", erc20_balance_of(BOB)),
        (token(), "totalSupply()", erc20_total_supply()),
        (
            amm(),
            "addLiquidity(uint256,uint256)",
            amm_add_liquidity(U256::ZERO, U256::ZERO),
        ),
        (
            amm(),
            "swap(bool,uint256,uint256,address)",
            amm_swap(true, U256::ZERO, U256::ZERO, BOB),
        ),
        (amm(), "reserve0()", amm_reserve(0)),
        (amm(), "reserve1()", amm_reserve(1)),
    ];
    for (artifact, signature, data) in checks {
        let expected = &artifact.method_identifiers[signature];
        assert_eq!(
            alloy_primitives::hex::encode(&data[..4]),
            *expected,
            "{signature}"
        );
    }
    assert!(
        token().compiler.version.starts_with("0.8.37"),
        "{}",
        token().compiler.version
    );
    assert_eq!(token().contract_name, "LanesToken");
    assert_eq!(amm().contract_name, "LanesAmm");
    assert!(token().abi.is_array() && amm().abi.is_array());
}

#[test]
fn token_mints_to_holders_and_transfers() {
    let mut chain = Chain::new();
    let token = deploy_token(&mut chain, &[ALICE, BOB], 1_000);
    assert_eq!(chain.code(token), token_deployed_bytecode());
    assert_eq!(chain.u256(token, erc20_total_supply()), U256::from(2_000));
    assert_eq!(
        chain.u256(token, erc20_balance_of(ALICE)),
        U256::from(1_000)
    );
    assert_eq!(chain.u256(token, erc20_balance_of(BOB)), U256::from(1_000));

    // The first transfer to a fresh account is the most expensive one the load generator sends
    // (a zero-to-non-zero SSTORE): it must fit its fixed gas limit with a margin.
    let result = chain.send(
        ALICE,
        TxKind::Call(token),
        erc20_transfer(CAROL, U256::from(10)),
    );
    assert!(result.is_success(), "{result:?}");
    assert_eq!(result.logs().len(), 1, "one Transfer event");
    assert!(
        result.tx_gas_used() + 5_000 < TOKEN_TRANSFER_GAS,
        "transfer used {} gas",
        result.tx_gas_used()
    );
    assert_eq!(chain.u256(token, erc20_balance_of(ALICE)), U256::from(990));
    assert_eq!(chain.u256(token, erc20_balance_of(CAROL)), U256::from(10));

    // More than the balance reverts and changes nothing.
    let result = chain.send(
        CAROL,
        TxKind::Call(token),
        erc20_transfer(BOB, U256::from(11)),
    );
    assert!(!result.is_success());
    assert_eq!(chain.u256(token, erc20_balance_of(CAROL)), U256::from(10));

    // transferFrom spends the allowance.
    assert!(
        chain
            .send(
                BOB,
                TxKind::Call(token),
                erc20_approve(CAROL, U256::from(100))
            )
            .is_success()
    );
    let mut data = selector("transferFrom(address,address,uint256)").to_vec();
    for word in [
        BOB.into_word().0,
        CAROL.into_word().0,
        U256::from(60).to_be_bytes::<32>(),
    ] {
        data.extend_from_slice(&word);
    }
    assert!(
        chain
            .send(CAROL, TxKind::Call(token), data.clone().into())
            .is_success()
    );
    assert!(
        !chain
            .send(CAROL, TxKind::Call(token), data.into())
            .is_success(),
        "allowance is 40 now"
    );
    assert_eq!(chain.u256(token, erc20_balance_of(CAROL)), U256::from(70));
    assert_eq!(chain.u256(token, erc20_total_supply()), U256::from(2_000));
}

#[test]
fn token_without_holders_mints_to_deployer() {
    let mut chain = Chain::new();
    let token = deploy_token(&mut chain, &[], 5);
    assert_eq!(chain.u256(token, erc20_balance_of(ALICE)), U256::from(5));
    assert_eq!(chain.u256(token, erc20_total_supply()), U256::from(5));
}

#[test]
fn amm_swaps_at_constant_product() {
    let mut chain = Chain::new();
    let t0 = deploy_token(&mut chain, &[ALICE, BOB], 1_000_000);
    let t1 = deploy_token(&mut chain, &[ALICE, BOB], 1_000_000);
    let pool = chain.deploy(ALICE, amm_deploy_input(t0, t1));
    for (who, t) in [(ALICE, t0), (ALICE, t1), (BOB, t0)] {
        assert!(
            chain
                .send(who, TxKind::Call(t), erc20_approve(pool, U256::MAX))
                .is_success()
        );
    }
    let r = chain.send(
        ALICE,
        TxKind::Call(pool),
        amm_add_liquidity(U256::from(100_000), U256::from(400_000)),
    );
    assert!(r.is_success(), "{r:?}");
    assert_eq!(chain.u256(pool, amm_reserve(0)), U256::from(100_000));
    assert_eq!(chain.u256(pool, amm_reserve(1)), U256::from(400_000));

    // out = in * 997 * r1 / (r0 * 1000 + in * 997)
    let expected_out = 1_000u64 * 997 * 400_000 / (100_000 * 1000 + 1_000 * 997);
    let too_much = amm_swap(true, U256::from(1_000), U256::from(expected_out + 1), BOB);
    assert!(
        !chain.send(BOB, TxKind::Call(pool), too_much).is_success(),
        "slippage bound"
    );
    let r = chain.send(
        BOB,
        TxKind::Call(pool),
        amm_swap(true, U256::from(1_000), U256::from(expected_out), BOB),
    );
    assert!(r.is_success(), "{r:?}");
    assert_eq!(
        chain.u256(t1, erc20_balance_of(BOB)),
        U256::from(1_000_000 + expected_out)
    );
    assert_eq!(
        chain.u256(t0, erc20_balance_of(BOB)),
        U256::from(1_000_000 - 1_000)
    );
    let (r0, r1) = (
        chain.u256(pool, amm_reserve(0)),
        chain.u256(pool, amm_reserve(1)),
    );
    assert_eq!(
        (r0, r1),
        (U256::from(101_000), U256::from(400_000 - expected_out))
    );
    assert!(
        r0 * r1 >= U256::from(100_000u64 * 400_000),
        "k never decreases"
    );
}
