//! Chain specification: genesis (dev or geth-style file), chain id, gas limit, dev accounts.

use std::path::Path;

use alloy_consensus::{EMPTY_OMMER_ROOT_HASH, Header};
use alloy_genesis::{Genesis, GenesisAccount};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_signer_local::{MnemonicBuilder, coins_bip39::English};
use lanes_conflict::{AccountDiff, StateDiff};
use revm::{bytecode::Bytecode, primitives::KECCAK_EMPTY, state::AccountInfo};
use serde::{Deserialize, Serialize};

use crate::trie::EMPTY_ROOT_HASH;

/// The standard test mnemonic every Ethereum dev tool defaults to.
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";
/// Number of prefunded dev accounts.
pub const DEV_ACCOUNTS: u32 = 10;
/// Balance of each dev account: 10,000 ETH.
pub const DEV_BALANCE_WEI: u128 = 10_000 * 10u128.pow(18);
/// Default chain id of `--dev` (the id MetaMask and viem use for localhost).
pub const DEV_CHAIN_ID: u64 = 1337;
/// Default block gas limit.
pub const DEFAULT_GAS_LIMIT: u64 = 120_000_000;
/// Base fee of the genesis block when the genesis does not say: 1 gwei.
pub const INITIAL_BASE_FEE: u64 = 1_000_000_000;

/// Errors loading a chain spec.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The genesis file could not be read.
    #[error("cannot read genesis file {path}: {source}")]
    Read {
        /// Path.
        path: String,
        /// OS error.
        source: std::io::Error,
    },
    /// The genesis file is not valid geth-style genesis JSON.
    #[error("invalid genesis file {path}: {source}")]
    Parse {
        /// Path.
        path: String,
        /// JSON error.
        source: serde_json::Error,
    },
    /// Deriving the dev accounts failed.
    #[error("deriving dev account {index}: {reason}")]
    DevKey {
        /// Account index.
        index: u32,
        /// What failed.
        reason: String,
    },
}

/// What identifies a chain; stored in the data dir and checked on every start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainIdentity {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// Hash of block 0.
    pub genesis_hash: B256,
    /// Whether this is a dev chain.
    pub dev: bool,
}

/// The chain a node runs.
#[derive(Debug, Clone)]
pub struct ChainSpec {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// Genesis.
    pub genesis: Genesis,
    /// Block gas limit.
    pub gas_limit: u64,
    /// Whether this is the built-in dev chain (dev accounts advertised).
    pub dev: bool,
    /// Prefunded dev accounts (empty unless `dev`).
    pub dev_accounts: Vec<Address>,
}

/// Wei the `L2Deposits` predeploy holds at genesis: the reserve of L2 ETH not yet bridged,
/// paid out as L1 deposits arrive (one billion ETH; nothing mints on L2).
pub const DEPOSIT_RESERVE_WEI: u128 = 1_000_000_000 * 10u128.pow(18);

/// Wei the deposit system account holds at genesis to pay the base fee of deposit
/// transactions (one million ETH: about 10^10 deposits at 1 gwei).
pub const DEPOSIT_SYSTEM_GAS_WEI: u128 = 1_000_000 * 10u128.pow(18);

/// Adds the settlement system contracts to a genesis (unless the file already places
/// something at their addresses): `L2Withdrawals`, and `L2Deposits` with its reserve and the
/// deposit system account in slot 0, plus that account's gas money.
pub fn insert_settlement_predeploys(genesis: &mut Genesis) {
    use crate::l1::contracts::{L2_DEPOSITS, L2_WITHDRAWALS};
    genesis
        .alloc
        .entry(L2_WITHDRAWALS)
        .or_insert_with(|| GenesisAccount {
            code: Some(crate::l1::deploy::l2_withdrawals_code()),
            ..Default::default()
        });
    let system = crate::deposits::system_address();
    genesis
        .alloc
        .entry(L2_DEPOSITS)
        .or_insert_with(|| GenesisAccount {
            code: Some(crate::l1::deploy::l2_deposits_code()),
            balance: U256::from(DEPOSIT_RESERVE_WEI),
            storage: Some(
                [(B256::ZERO, B256::left_padding_from(system.as_slice()))]
                    .into_iter()
                    .collect(),
            ),
            ..Default::default()
        });
    genesis
        .alloc
        .entry(system)
        .or_insert_with(|| GenesisAccount {
            balance: U256::from(DEPOSIT_SYSTEM_GAS_WEI),
            ..Default::default()
        });
}

/// Addresses of the first `count` accounts of the standard test mnemonic
/// (`m/44'/60'/0'/0/i`). Only addresses leave this function; keys are dropped.
pub fn dev_accounts(count: u32) -> Result<Vec<Address>, ChainError> {
    (0..count)
        .map(|index| {
            MnemonicBuilder::<English>::default()
                .phrase(DEV_MNEMONIC)
                .index(index)
                .and_then(|b| b.build())
                .map(|signer| signer.address())
                .map_err(|e| ChainError::DevKey {
                    index,
                    reason: e.to_string(),
                })
        })
        .collect()
}

impl ChainSpec {
    /// The built-in dev chain: 10 accounts of the test mnemonic with 10,000 ETH each.
    pub fn dev(chain_id: u64, gas_limit: u64) -> Result<Self, ChainError> {
        let accounts = dev_accounts(DEV_ACCOUNTS)?;
        let mut genesis = Genesis {
            gas_limit,
            base_fee_per_gas: Some(u128::from(INITIAL_BASE_FEE)),
            ..Default::default()
        };
        genesis.config.chain_id = chain_id;
        insert_settlement_predeploys(&mut genesis);
        for address in &accounts {
            genesis.alloc.insert(
                *address,
                GenesisAccount {
                    balance: U256::from(DEV_BALANCE_WEI),
                    ..Default::default()
                },
            );
        }
        Ok(Self {
            chain_id,
            genesis,
            gas_limit,
            dev: true,
            dev_accounts: accounts,
        })
    }

    /// A chain from a geth-style genesis file. `chain_id` and `gas_limit` override the file's.
    pub fn from_genesis_file(
        path: &Path,
        chain_id: Option<u64>,
        gas_limit: Option<u64>,
    ) -> Result<Self, ChainError> {
        let text = std::fs::read_to_string(path).map_err(|source| ChainError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut genesis: Genesis =
            serde_json::from_str(&text).map_err(|source| ChainError::Parse {
                path: path.display().to_string(),
                source,
            })?;
        if let Some(id) = chain_id {
            genesis.config.chain_id = id;
        }
        if let Some(limit) = gas_limit {
            genesis.gas_limit = limit;
        }
        if genesis.gas_limit == 0 {
            genesis.gas_limit = DEFAULT_GAS_LIMIT;
        }
        insert_settlement_predeploys(&mut genesis);
        Ok(Self {
            chain_id: genesis.config.chain_id,
            gas_limit: genesis.gas_limit,
            genesis,
            dev: false,
            dev_accounts: Vec::new(),
        })
    }

    /// The genesis allocations as a state diff.
    pub fn genesis_diff(&self) -> StateDiff {
        let mut diff = StateDiff::default();
        for (address, account) in &self.genesis.alloc {
            let code: Option<Bytes> = account.code.clone().filter(|c| !c.is_empty());
            let code_hash = code.as_ref().map_or(KECCAK_EMPTY, keccak256);
            if let Some(code) = code {
                diff.codes.insert(code_hash, Bytecode::new_raw(code));
            }
            let info = AccountInfo {
                balance: account.balance,
                nonce: account.nonce.unwrap_or_default(),
                code_hash,
                code: None,
                account_id: None,
            };
            let mut change = AccountDiff {
                info: Some(info),
                storage_wiped: false,
                ..Default::default()
            };
            for (slot, value) in account.storage.iter().flatten() {
                let value = U256::from_be_bytes(value.0);
                if !value.is_zero() {
                    change.storage.insert(U256::from_be_bytes(slot.0), value);
                }
            }
            diff.accounts.insert(*address, change);
        }
        diff
    }

    /// The genesis header for a given state root (Cancun fields included).
    pub fn genesis_header(&self, state_root: B256) -> Header {
        let g = &self.genesis;
        Header {
            beneficiary: g.coinbase,
            state_root,
            difficulty: g.difficulty,
            gas_limit: g.gas_limit,
            timestamp: g.timestamp,
            extra_data: g.extra_data.clone(),
            mix_hash: g.mix_hash,
            nonce: g.nonce.into(),
            base_fee_per_gas: Some(g.base_fee_per_gas.map_or(INITIAL_BASE_FEE, |b| b as u64)),
            ..cancun_header()
        }
    }
}

/// A Cancun header of an empty block of this chain: no uncles, no withdrawals, no blobs, a zero
/// beacon root (there is no beacon chain). Block-specific fields are for the caller to set.
pub fn cancun_header() -> Header {
    Header {
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        transactions_root: EMPTY_ROOT_HASH,
        receipts_root: EMPTY_ROOT_HASH,
        withdrawals_root: Some(EMPTY_ROOT_HASH),
        blob_gas_used: Some(0),
        excess_blob_gas: Some(0),
        parent_beacon_block_root: Some(B256::ZERO),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use alloy_primitives::address;

    use super::*;

    #[test]
    fn dev_accounts_are_the_well_known_ones() {
        let accounts = dev_accounts(2).unwrap();
        assert_eq!(
            accounts[0],
            address!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
        );
        assert_eq!(
            accounts[1],
            address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
        );
    }
}
