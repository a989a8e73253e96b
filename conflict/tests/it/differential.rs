//! Differential tests: the parallel executor's `BlockExecution` (included transactions and
//! their outcomes, logs, gas and cumulative gas, skipped transactions and why, the state diff)
//! equals the sequential executor's for random and adversarial blocks.

use alloy_primitives::U256;
use lanes_conflict::{
    BlockExecution, Executor, HotKeys, ParallelExecutor, SequentialExecutor, StateKey,
};
use proptest::{collection::vec, prelude::*, test_runner::Config};

use crate::world::{
    ALL_OPS, AMM, Action, Beneficiary, EOAS, Fee, Gas, Instr, OPS, Op, TOKEN, TxSpec, World,
};

fn instr() -> impl Strategy<Value = Instr> {
    (
        0..ALL_OPS.len(),
        0usize..16,
        prop_oneof![3 => 0u64..4, 1 => 0u64..100_000],
    )
        .prop_map(|(op, a, b)| Instr { op, a, b })
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => (0usize..16, 0u64..1_000).prop_map(|(to, value)| Action::Transfer { to, value }),
        6 => (0usize..3, 0u64..3, vec(instr(), 0..5))
            .prop_map(|(contract, value, program)| Action::Ops { contract, value, program }),
        2 => (0usize..EOAS, 0u64..1_500).prop_map(|(to, amount)| Action::TokenTransfer { to, amount }),
        2 => (1u64..1_000, any::<bool>()).prop_map(|(amount, zero_for_one)| Action::Swap { amount, zero_for_one }),
        1 => (0u64..3).prop_map(|value| Action::Deploy { value }),
    ]
}

fn gas() -> impl Strategy<Value = Gas> {
    prop_oneof![12 => Just(Gas::Normal), 1 => Just(Gas::Low), 1 => Just(Gas::Intrinsic), 1 => Just(Gas::Huge)]
}

fn fee() -> impl Strategy<Value = Fee> {
    prop_oneof![
        8 => (0u8..3).prop_map(|tip_gwei| Fee::Eip1559 { tip_gwei }),
        1 => Just(Fee::BelowBase),
        2 => Just(Fee::Legacy),
        2 => vec((0usize..3, 0u8..4), 0..3).prop_map(Fee::AccessList),
    ]
}

fn nonce_delta() -> impl Strategy<Value = i8> {
    prop_oneof![14 => Just(0i8), 1 => Just(-1i8), 1 => Just(1i8)]
}

fn tx(senders: usize) -> impl Strategy<Value = TxSpec> {
    (0..senders, nonce_delta(), action(), gas(), fee()).prop_map(
        |(sender, nonce_delta, action, gas, fee)| TxSpec {
            sender,
            nonce_delta,
            action,
            gas,
            fee,
        },
    )
}

fn beneficiary() -> impl Strategy<Value = Beneficiary> {
    prop_oneof![
        2 => Just(Beneficiary::Fresh),
        1 => Just(Beneficiary::Empty),
        1 => (0usize..EOAS).prop_map(Beneficiary::Sender),
        1 => (0usize..3).prop_map(Beneficiary::Contract),
    ]
}

fn block_gas() -> impl Strategy<Value = u64> {
    prop_oneof![3 => Just(30_000_000u64), 1 => 100_000u64..3_000_000]
}

/// Executor settings: threads, the wave bound (0: everything through the sequential fallback
/// of the commit path), the gap beyond which lane members wait for the next wave (small
/// gaps defer members of these short blocks; the default never does), and the pending
/// transactions from which the pool's threads execute while a wave is planned (the default
/// never lets them in blocks this short; 1 always does, lane members included).
fn config() -> impl Strategy<Value = Settings> {
    (
        1usize..=3,
        prop::sample::select(vec![0usize, 1, 2, 6]),
        prop::sample::select(vec![
            0usize,
            1,
            3,
            lanes_conflict::parallel::DEFAULT_DEFER_GAP,
        ]),
        prop::sample::select(vec![1usize, lanes_conflict::parallel::DEFAULT_EARLY_MIN]),
    )
}

/// (threads, max rounds, defer gap, early minimum): see [`config`].
type Settings = (usize, usize, usize, usize);

fn world() -> &'static World {
    static WORLD: std::sync::OnceLock<World> = std::sync::OnceLock::new();
    WORLD.get_or_init(World::new)
}

/// A hot-key table that routes some contracts, rightly or wrongly.
fn hot_table() -> impl Strategy<Value = Vec<(usize, u8)>> {
    vec((0usize..5, 0u8..4), 0..3)
}

/// Runs the block sequentially and three times with one parallel executor (the second run
/// with the hot-key table the first one filled, the third with a table seeded from `seeded`,
/// likely wrong) and asserts that all executions are equal.
fn check_seeded(
    specs: &[TxSpec],
    beneficiary: Beneficiary,
    gas_limit: u64,
    (threads, rounds, gap, early_min): Settings,
    seeded: &[(usize, u8)],
) -> Result<(), TestCaseError> {
    let world = world();
    let block = world.block(beneficiary, gas_limit);
    let txs = world.sign(specs, block.beneficiary);
    let expected: BlockExecution = SequentialExecutor
        .execute_block(&block, &txs, &world.genesis)
        .unwrap();
    let parallel = ParallelExecutor::new(threads)
        .with_max_rounds(rounds)
        .with_defer_gap(gap)
        .with_early_min(early_min);
    for run in 0..3 {
        if run == 2 {
            let mut table = HotKeys::default();
            for (target, slot) in seeded {
                let target = [OPS[0], OPS[1], OPS[2], TOKEN, AMM][*target];
                table.insert(target, StateKey::Storage(target, U256::from(*slot)), 1.0);
            }
            parallel.set_hot_keys(table);
        }
        let got = parallel
            .execute_block(&block, &txs, &world.genesis)
            .unwrap();
        prop_assert_eq!(&got.skipped, &expected.skipped, "skipped, run {}", run);
        prop_assert_eq!(&got.included, &expected.included, "included, run {}", run);
        prop_assert_eq!(&got.diff, &expected.diff, "diff, run {}", run);
        prop_assert_eq!(got.gas_used, expected.gas_used);
    }
    Ok(())
}

fn check(
    specs: &[TxSpec],
    beneficiary: Beneficiary,
    gas_limit: u64,
    config: Settings,
) -> Result<(), TestCaseError> {
    check_seeded(specs, beneficiary, gas_limit, config, &[(0, 0), (3, 1)])
}

proptest! {
    #![proptest_config(Config { cases: 96, ..Config::default() })]

    /// Random blocks over every kind of transaction, with a random hot-key table on the last
    /// run: hints decide grouping only.
    #[test]
    fn random_blocks(
        specs in vec(tx(EOAS), 1..40),
        beneficiary in beneficiary(),
        gas in block_gas(),
        config in config(),
        seeded in hot_table(),
    ) {
        check_seeded(&specs, beneficiary, gas, config, &seeded)?;
    }

    /// Long nonce chains: one or two senders send everything.
    #[test]
    fn nonce_chains(specs in vec(tx(2), 10..40), beneficiary in beneficiary(), config in config()) {
        check(&specs, beneficiary, 30_000_000, config)?;
    }

    /// Every transaction hits the same slot (or the same pool), from different senders.
    #[test]
    fn one_hot_slot(
        hot in vec((0usize..EOAS, prop::sample::select(vec![0u8, 1, 2])), 5..40),
        beneficiary in beneficiary(),
        config in config(),
    ) {
        let specs: Vec<TxSpec> = hot.into_iter().map(|(sender, kind)| {
            let action = match kind {
                0 => Action::Ops { contract: 0, value: 0, program: vec![Instr { op: Op::Increment as usize, a: 0, b: 1 }] },
                1 => Action::Ops { contract: 0, value: 0, program: vec![
                    Instr { op: Op::Sload as usize, a: 0, b: 0 },
                    Instr { op: Op::StoreAcc as usize, a: 1, b: 0 },
                    Instr { op: Op::Increment as usize, a: 0, b: 3 },
                ] },
                _ => Action::Swap { amount: 10, zero_for_one: sender % 2 == 0 },
            };
            TxSpec { sender, nonce_delta: 0, action, gas: Gas::Normal, fee: Fee::Eip1559 { tip_gwei: 1 } }
        }).collect();
        check(&specs, beneficiary, 30_000_000, config)?;
    }

    /// Tight blocks: gas-limit exhaustion, with huge and invalid transactions mixed in.
    #[test]
    fn block_full(specs in vec(tx(EOAS), 5..30), beneficiary in beneficiary(), gas in 50_000u64..1_500_000, config in config()) {
        check(&specs, beneficiary, gas, config)?;
    }
}

/// Transactions that read the beneficiary's balance while fees are pending, for each kind of
/// beneficiary, interleaved with plain fee payers.
#[test]
fn coinbase_readers() {
    let read = |sender| TxSpec {
        sender,
        nonce_delta: 0,
        action: Action::Ops {
            contract: 1,
            value: 0,
            program: vec![
                Instr {
                    op: Op::CoinbaseBalance as usize,
                    a: 0,
                    b: 0,
                },
                Instr {
                    op: Op::StoreAcc as usize,
                    a: 2,
                    b: 0,
                },
                Instr {
                    op: Op::PayCoinbase as usize,
                    a: 0,
                    b: 5,
                },
            ],
        },
        gas: Gas::Normal,
        fee: Fee::Eip1559 { tip_gwei: 1 },
    };
    let pay = |sender, tip_gwei| TxSpec {
        sender,
        nonce_delta: 0,
        action: Action::Transfer { to: 3, value: 1 },
        gas: Gas::Normal,
        fee: Fee::Eip1559 { tip_gwei },
    };
    let specs = vec![
        pay(0, 0),
        pay(1, 1),
        read(2),
        pay(4, 1),
        read(0),
        pay(1, 0),
        read(4),
        pay(2, 2),
    ];
    for beneficiary in [
        Beneficiary::Fresh,
        Beneficiary::Empty,
        Beneficiary::Sender(1),
        Beneficiary::Sender(3),
        Beneficiary::Contract(1),
        Beneficiary::Contract(0),
    ] {
        for config in [(1, 6, 1, 1), (2, 6, usize::MAX, 1), (3, 0, 0, usize::MAX)] {
            check(&specs, beneficiary, 30_000_000, config).unwrap();
        }
    }
}

/// A zero-fee first transaction on an empty beneficiary: EIP-161 deletes the touched empty
/// account before later fees recreate it, which the diff records as a wipe.
#[test]
fn zero_fee_then_fees_on_empty_beneficiary() {
    let pay = |sender, tip_gwei| TxSpec {
        sender,
        nonce_delta: 0,
        action: Action::Transfer { to: 4, value: 7 },
        gas: Gas::Normal,
        fee: Fee::Eip1559 { tip_gwei },
    };
    for beneficiary in [Beneficiary::Fresh, Beneficiary::Empty] {
        check(
            &[pay(0, 0), pay(1, 0), pay(2, 1), pay(4, 1)],
            beneficiary,
            30_000_000,
            (2, 6, 1, 1),
        )
        .unwrap();
        check(
            &[pay(0, 0), pay(1, 0)],
            beneficiary,
            30_000_000,
            (2, 6, 0, 1),
        )
        .unwrap();
    }
}
