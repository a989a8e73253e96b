//! The untimed set-up: accounts, funding, token deployment, and the state before the run.

use std::time::{Duration, Instant};

use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use jsonrpsee::rpc_params;

use super::{Config, NATIVE_GAS, Workload};
use crate::{
    Error, Result,
    accounts::{self, Account},
    contracts,
    rpc::{BlockTag, Rpc},
    sign,
};

/// Tokens minted to each sender: far more than any run transfers.
pub const TOKENS_PER_SENDER: u128 = 1_000_000 * 10u128.pow(18);

/// Transaction gas cap of EIP-7825 (Osaka); set-up transactions stay under it.
const TX_GAS_CAP: u64 = 1 << 24;

/// Gas of the token constructor: a base for code deposit, plus a cold SSTORE, a log and
/// calldata per holder, with margin.
const DEPLOY_BASE_GAS: u64 = 2_000_000;
const DEPLOY_GAS_PER_HOLDER: u64 = 35_000;

/// Set-up transactions (all from dev account 0) sent before waiting for their receipts: pools
/// bound how many transactions one sender may have queued.
const SETUP_WAVE: usize = 64;

/// Everything the timed phase and the end-state check need to know about the chain.
#[derive(Debug, Clone)]
pub struct Setup {
    /// `eth_chainId`.
    pub chain_id: u64,
    /// Dev account 0, which funded the senders and deployed the token.
    pub funder: Account,
    /// The senders.
    pub senders: Vec<Account>,
    /// Sender `s` sends only to `recipients[s]`.
    pub recipients: Vec<Address>,
    /// `LanesToken`, when the mix has token transfers.
    pub token: Option<Address>,
    /// Each sender's nonce before the run.
    pub base_nonces: Vec<u64>,
    /// Base fee of the latest block when the transactions were signed.
    pub base_fee: u128,
    /// Signed `maxFeePerGas`: `2 * base_fee + priority_fee`.
    pub max_fee: u128,
    /// Signed `maxPriorityFeePerGas`.
    pub priority_fee: u128,
    /// Block gas limit of the latest block.
    pub block_gas_limit: u64,
    /// State before the run.
    pub before: Snapshot,
    /// Set-up transactions sent (funding, deployment, token distribution).
    pub setup_txs: usize,
}

/// Balances the end-state check compares against.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// ETH balance of each recipient.
    pub recipient_eth: Vec<U256>,
    /// Token balance of each recipient (empty without a token).
    pub recipient_tokens: Vec<U256>,
    /// Token balance of each sender (empty without a token).
    pub sender_tokens: Vec<U256>,
    /// Token total supply (zero without a token).
    pub total_supply: U256,
}

/// Reads the state the run checks against: recipients' ETH and both sides' token balances.
pub async fn snapshot(rpc: &Rpc, setup: &Setup, tag: BlockTag) -> Result<Snapshot> {
    let recipient_eth = rpc.balances(&setup.recipients, tag).await?;
    let Some(token) = setup.token else {
        return Ok(Snapshot {
            recipient_eth,
            ..Default::default()
        });
    };
    let addrs = setup
        .recipients
        .iter()
        .chain(setup.senders.iter().map(|a| &a.address));
    let mut calls: Vec<(Address, Bytes)> = addrs
        .map(|a| (token, contracts::erc20_balance_of(*a)))
        .collect();
    calls.push((token, contracts::erc20_total_supply()));
    let mut values = Vec::with_capacity(calls.len());
    for out in rpc.calls(&calls, tag).await? {
        values.push(
            contracts::decode_u256(&out).ok_or_else(|| Error::BadResponse {
                method: "eth_call",
                expected: "a 32-byte uint256 from LanesToken.balanceOf/totalSupply".into(),
                got: out.to_string(),
            })?,
        );
    }
    let total_supply = values.pop().unwrap_or_default();
    let sender_tokens = values.split_off(setup.recipients.len());
    Ok(Snapshot {
        recipient_eth,
        recipient_tokens: values,
        sender_tokens,
        total_supply,
    })
}

/// A set-up transaction: signed, with a label for errors.
struct SetupTx {
    what: String,
    raw: sign::RawTx,
}

/// Set-up transactions from the funder, with consecutive nonces.
struct SetupTxs {
    key: secp256k1::SecretKey,
    chain_id: u64,
    max_fee: u128,
    priority_fee: u128,
    /// The next nonce.
    nonce: u64,
    /// Sum of gas limits.
    gas: u128,
    txs: Vec<SetupTx>,
}

impl SetupTxs {
    fn push(&mut self, what: String, to: TxKind, value: U256, input: Bytes, gas_limit: u64) {
        let tx = TxEip1559 {
            chain_id: self.chain_id,
            nonce: self.nonce,
            gas_limit,
            max_fee_per_gas: self.max_fee,
            max_priority_fee_per_gas: self.priority_fee,
            to,
            value,
            access_list: Default::default(),
            input,
        };
        self.nonce += 1;
        self.gas += u128::from(gas_limit);
        self.txs.push(SetupTx {
            what,
            raw: sign::sign_raw(tx, &self.key),
        });
    }
}

/// Derives the accounts, funds the senders, deploys the token, and reads the state before the run.
pub async fn prepare(rpc: &Rpc, config: &Config) -> Result<Setup> {
    let deadline = Instant::now() + Duration::from_secs_f64(config.setup_timeout);
    let workload = Workload::new(config.txs, config.accounts, config.mix);
    let chain_id = rpc.chain_id().await?;
    let latest = rpc
        .block(BlockTag::Latest)
        .await?
        .ok_or_else(|| Error::BadResponse {
            method: "eth_getBlockByNumber",
            expected: "the latest block".into(),
            got: "null".into(),
        })?;
    let base_fee = latest.base_fee_per_gas.map_or(0, |f| f.to::<u128>());
    let priority_fee = config.priority_fee;
    let max_fee = 2 * base_fee + priority_fee;
    let block_gas_limit = latest.gas_limit.to::<u64>();
    tracing::info!(
        chain_id,
        base_fee,
        max_fee,
        block_gas_limit,
        head = latest.number.to::<u64>(),
        "connected to {}",
        rpc.url()
    );

    let derive_start = Instant::now();
    let funder = accounts::derive(&config.mnemonic, 0)?;
    let senders = accounts::derive_range(&config.mnemonic, config.first_account, config.accounts)?;
    let recipients: Vec<Address> = (0..config.accounts)
        .map(|s| accounts::recipient(config.first_account + s))
        .collect();
    tracing::info!(
        accounts = senders.len(),
        secs = derive_start.elapsed().as_secs_f64(),
        "derived sender accounts"
    );

    let addresses: Vec<Address> = senders.iter().map(|a| a.address).collect();
    check_no_pending(rpc, &addresses).await?;

    // A sender short of what the run can cost it gets four times that, so that the next few runs
    // with the same accounts need no funding.
    let balances = rpc.balances(&addresses, BlockTag::Latest).await?;
    let mut txs = SetupTxs {
        key: funder.key,
        chain_id,
        max_fee,
        priority_fee,
        nonce: rpc.pending_nonce(funder.address).await?,
        gas: 0,
        txs: Vec::new(),
    };
    let mut funding = U256::ZERO;
    for (s, balance) in balances.iter().enumerate() {
        let need = workload.max_cost(s, max_fee);
        if *balance < need {
            let top_up = need * U256::from(4) - *balance;
            funding += top_up;
            txs.push(
                format!("fund sender {s}"),
                TxKind::Call(addresses[s]),
                top_up,
                Bytes::new(),
                NATIVE_GAS,
            );
        }
    }

    let mut token = None;
    if workload.uses_token() {
        let amount = U256::from(TOKENS_PER_SENDER);
        let per_holder_gas = DEPLOY_GAS_PER_HOLDER * u64::from(config.accounts);
        let cap = TX_GAS_CAP.min(block_gas_limit * 9 / 10);
        let address = funder.address.create(txs.nonce);
        if DEPLOY_BASE_GAS + per_holder_gas <= cap {
            let input =
                contracts::token_deploy_input("Lanes Load Token", "LLT", &addresses, amount);
            txs.push(
                "deploy LanesToken".into(),
                TxKind::Create,
                U256::ZERO,
                input,
                DEPLOY_BASE_GAS + per_holder_gas,
            );
        } else {
            // Too many holders for one constructor: mint to the funder and hand out by transfers.
            let total = amount * U256::from(config.accounts);
            let input = contracts::token_deploy_input("Lanes Load Token", "LLT", &[], total);
            txs.push(
                "deploy LanesToken".into(),
                TxKind::Create,
                U256::ZERO,
                input,
                DEPLOY_BASE_GAS,
            );
            for (s, a) in addresses.iter().enumerate() {
                let input = contracts::erc20_transfer(*a, amount);
                txs.push(
                    format!("token to sender {s}"),
                    TxKind::Call(address),
                    U256::ZERO,
                    input,
                    100_000,
                );
            }
        }
        token = Some(address);
    }

    let funder_balance = rpc.balances(&[funder.address], BlockTag::Latest).await?[0];
    let cost = funding + U256::from(txs.gas * max_fee);
    if funder_balance < cost {
        return Err(Error::Config(format!(
            "dev account 0 ({}) has {funder_balance} wei, set-up needs {cost}; use fewer --txs or a lower fee",
            funder.address
        )));
    }
    let setup_txs = txs.txs.len();
    if setup_txs > 0 {
        tracing::info!(txs = setup_txs, funding_wei = %funding, "sending set-up transactions");
        for wave in txs.txs.chunks(SETUP_WAVE) {
            send_and_wait(rpc, wave, deadline).await?;
        }
    }

    if let Some(token) = token {
        let code = rpc.code(token, BlockTag::Latest).await?;
        if code != contracts::token_deployed_bytecode() {
            return Err(Error::BadResponse {
                method: "eth_getCode",
                expected: format!(
                    "LanesToken runtime code ({} bytes) at {token}",
                    contracts::token_deployed_bytecode().len()
                ),
                got: format!("{} bytes", code.len()),
            });
        }
    }

    let base_nonces = rpc.nonces(&addresses, BlockTag::Latest).await?;
    let mut setup = Setup {
        chain_id,
        funder,
        senders,
        recipients,
        token,
        base_nonces,
        base_fee,
        max_fee,
        priority_fee,
        block_gas_limit,
        before: Snapshot::default(),
        setup_txs,
    };
    setup.before = snapshot(rpc, &setup, BlockTag::Latest).await?;
    if let Some(low) = setup
        .before
        .sender_tokens
        .iter()
        .position(|b| *b < U256::from(workload.txs))
    {
        return Err(Error::Config(format!(
            "sender {low} holds too few tokens: {}",
            setup.before.sender_tokens[low]
        )));
    }
    Ok(setup)
}

/// Fails if a sender has transactions in the pool: a previous, aborted run's leftovers would
/// take the nonces this run signs. Nodes without the `pending` tag are not checked.
async fn check_no_pending(rpc: &Rpc, addresses: &[Address]) -> Result<()> {
    let latest = rpc.nonces(addresses, BlockTag::Latest).await?;
    let params = addresses
        .iter()
        .map(|a| rpc_params![a, "pending"])
        .collect();
    let Ok(pending) = rpc
        .batch_ok::<alloy_primitives::U64>("eth_getTransactionCount", params)
        .await
    else {
        tracing::warn!(
            "node rejects eth_getTransactionCount(addr, \"pending\"); not checking for leftover transactions"
        );
        return Ok(());
    };
    for (s, (l, p)) in latest.iter().zip(&pending).enumerate() {
        if p.to::<u64>() != *l {
            return Err(Error::Config(format!(
                "sender {s} ({}) has pending transactions (nonce {l} latest, {p} pending); wait for them or use another --first-account",
                addresses[s]
            )));
        }
    }
    Ok(())
}

/// Sends set-up transactions (batched) and waits until each has a successful receipt.
async fn send_and_wait(rpc: &Rpc, txs: &[SetupTx], deadline: Instant) -> Result<()> {
    let params = txs
        .iter()
        .map(|t| rpc_params![t.raw.hex.as_str()])
        .collect();
    for (tx, result) in txs
        .iter()
        .zip(rpc.batch::<B256>("eth_sendRawTransaction", params).await?)
    {
        match result {
            Ok(hash) if hash == tx.raw.hash => {}
            Ok(hash) => {
                return Err(Error::BadResponse {
                    method: "eth_sendRawTransaction",
                    expected: format!("hash {} for {}", tx.raw.hash, tx.what),
                    got: hash.to_string(),
                });
            }
            Err(reason) => {
                return Err(Error::SetupTx {
                    what: tx.what.clone(),
                    hash: tx.raw.hash,
                    reason,
                });
            }
        }
    }
    let mut waiting: Vec<&SetupTx> = txs.iter().collect();
    while !waiting.is_empty() {
        let hashes: Vec<B256> = waiting.iter().map(|t| t.raw.hash).collect();
        let receipts = rpc.receipts(&hashes).await?;
        let mut still = Vec::new();
        for (tx, receipt) in waiting.into_iter().zip(receipts) {
            match receipt {
                None => still.push(tx),
                Some(r) if r.status.map(|s| s.to::<u64>()) == Some(1) => {}
                Some(r) => {
                    return Err(Error::SetupTx {
                        what: tx.what.clone(),
                        hash: tx.raw.hash,
                        reason: format!("receipt status {:?}, gas used {}", r.status, r.gas_used),
                    });
                }
            }
        }
        waiting = still;
        if waiting.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            let tx = waiting[0];
            return Err(Error::SetupTx {
                what: tx.what.clone(),
                hash: tx.raw.hash,
                reason: format!(
                    "no receipt before --setup-timeout ({} set-up transactions still pending)",
                    waiting.len()
                ),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}
