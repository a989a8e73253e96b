//! Shared set-up: one anvil per test, Bridge + Rollup deployed and wired.

use alloy_contract::{CallBuilder, CallDecoder};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_provider::{DynProvider, Provider};
use alloy_rpc_types_eth::TransactionReceipt;
use alloy_sol_types::SolInterface;
use lanes_contracts::{
    Bridge::{self, BridgeInstance},
    DeployConfig, Deployment,
    Rollup::{self, BatchHeader, RollupInstance},
    anvil::{Anvil, dev_signer},
    decode_revert, deploy, hashes,
};

/// Dev account indices used by the tests.
pub(crate) const SEQUENCER: u32 = 0;
pub(crate) const PROVER: u32 = 1;
pub(crate) const USER: u32 = 2;
pub(crate) const STRANGER: u32 = 3;

pub(crate) fn addr(index: u32) -> Address {
    dev_signer(index).unwrap().address()
}

pub(crate) fn genesis_root() -> B256 {
    keccak256("lanes test genesis state")
}

pub(crate) fn genesis_commitment() -> B256 {
    keccak256("lanes test genesis commitment")
}

/// A running anvil with the contracts deployed (sequencer = account 0 = deployer).
pub(crate) struct Env {
    /// Kept alive for the test: anvil is killed when the Env drops.
    pub(crate) _anvil: Anvil,
    pub(crate) dep: Deployment,
    /// Rollup / Bridge as seen by each dev account.
    pub(crate) seq: DynProvider,
    pub(crate) prover: DynProvider,
    pub(crate) user: DynProvider,
    pub(crate) stranger: DynProvider,
}

impl Env {
    pub(crate) async fn new(dev_mode: bool) -> Self {
        let anvil = Anvil::spawn().unwrap();
        Self::on(anvil, dev_mode).await
    }

    pub(crate) async fn on(anvil: Anvil, dev_mode: bool) -> Self {
        let seq = anvil.dev_provider(SEQUENCER).unwrap();
        let cfg = DeployConfig {
            sequencer: addr(SEQUENCER),
            prover: addr(PROVER),
            dev_mode,
            genesis_state_root: genesis_root(),
            genesis_block_hash: keccak256("lanes test genesis block"),
            genesis_commitment: genesis_commitment(),
        };
        let dep = deploy(&seq, &cfg).await.unwrap();
        Self {
            prover: anvil.dev_provider(PROVER).unwrap(),
            user: anvil.dev_provider(USER).unwrap(),
            stranger: anvil.dev_provider(STRANGER).unwrap(),
            seq,
            _anvil: anvil,
            dep,
        }
    }

    pub(crate) fn rollup(&self, p: &DynProvider) -> RollupInstance<DynProvider> {
        Rollup::new(self.dep.rollup, p.clone())
    }

    pub(crate) fn bridge(&self, p: &DynProvider) -> BridgeInstance<DynProvider> {
        Bridge::new(self.dep.bridge, p.clone())
    }

    /// A header for the next batch on top of the current chain, consuming every queued deposit.
    pub(crate) async fn next_header(
        &self,
        blocks: u64,
        data: &[u8],
        withdrawals_root: B256,
    ) -> BatchHeader {
        let r = self.rollup(&self.seq);
        let last = r.lastCommitted().call().await.unwrap();
        let prev = r.batches(last).call().await.unwrap();
        let b = self.bridge(&self.seq);
        let count = b.depositCount().call().await.unwrap();
        BatchHeader {
            index: last + 1,
            parentBatchHash: prev.batchHash,
            dataHash: hashes::calldata_data_hash(data),
            postStateRoot: keccak256([&[last as u8 + 1][..], b"post state"].concat()),
            firstBlock: prev.lastBlock + 1,
            lastBlock: prev.lastBlock + blocks,
            withdrawalsRoot: withdrawals_root,
            depositCount: count,
            depositHash: b.depositHashAt(count).call().await.unwrap(),
            stateCommitment: keccak256([&[last as u8 + 1][..], b"commitment"].concat()),
            payloadHash: hashes::calldata_data_hash(data),
        }
    }

    /// Commits `h` with calldata `data` from the sequencer; asserts success.
    pub(crate) async fn commit(&self, h: &BatchHeader, data: &[u8]) -> TransactionReceipt {
        let r = self.rollup(&self.seq);
        mined(r.commitBatch(h.clone(), Bytes::copy_from_slice(data))).await
    }

    pub(crate) async fn balance(&self, a: Address) -> U256 {
        self.seq.get_balance(a).await.unwrap()
    }
}

/// Sends a call and waits for a successful receipt.
pub(crate) async fn mined<P: Provider, D: CallDecoder>(
    call: CallBuilder<P, D>,
) -> TransactionReceipt {
    let r = call.send().await.unwrap().get_receipt().await.unwrap();
    assert!(r.status(), "transaction {} reverted", r.transaction_hash);
    r
}

/// Sends a call that must revert (caught at gas estimation) and returns its decoded error.
pub(crate) async fn reverts<E: SolInterface + std::fmt::Debug, P: Provider, D: CallDecoder>(
    call: CallBuilder<P, D>,
) -> E {
    match call.send().await {
        Ok(p) => panic!("expected a revert, transaction {} was sent", p.tx_hash()),
        Err(e) => decode_revert::<E>(&e)
            .unwrap_or_else(|| panic!("revert not decodable as the contract's error: {e}")),
    }
}
