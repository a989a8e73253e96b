//! The `lanes_` JSON-RPC namespace: `lanes_rollupConfig`, `lanes_batchStatus`,
//! `lanes_getWithdrawalProof`, `lanes_getBatchProof`.

use std::sync::Arc;

use alloy_primitives::U256;
use jsonrpsee::{
    core::RpcResult,
    proc_macros::rpc,
    types::{ErrorObject, ErrorObjectOwned},
};
use serde_json::{Value, json};

use super::{
    Role, Settlement,
    contracts::{verify_withdrawal_proof, withdrawal_leaf, withdrawal_proof},
    store::L1Store,
};

#[rpc(server, namespace = "lanes")]
trait LanesApi {
    /// L1 chain id and URL, contract addresses, last committed and finalized batch.
    #[method(name = "rollupConfig")]
    fn rollup_config(&self) -> RpcResult<Value>;

    /// One batch: L1 transactions, block range, state, data size, DA.
    #[method(name = "batchStatus")]
    fn batch_status(&self, index: u64) -> RpcResult<Value>;

    /// The proof to claim withdrawal `id` on L1 (`Bridge.claimWithdrawal` arguments).
    #[method(name = "getWithdrawalProof")]
    fn get_withdrawal_proof(&self, id: U256) -> RpcResult<Value>;

    /// Batch `index`'s proof as this node has it (proved here, or fetched and verified by a
    /// follower): its public inputs, hashes and the proof bytes as hex.
    #[method(name = "getBatchProof")]
    fn get_batch_proof(&self, index: u64) -> RpcResult<Value>;
}

fn internal(e: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObject::owned(-32603, e.to_string(), None::<()>)
}

fn not_found(msg: String) -> ErrorObjectOwned {
    ErrorObject::owned(-32001, msg, None::<()>)
}

struct LanesRpc {
    s: Arc<Settlement>,
}

/// The `lanes_` methods over a node's settlement state.
pub fn module(s: Arc<Settlement>) -> jsonrpsee::RpcModule<()> {
    let mut m = jsonrpsee::RpcModule::new(());
    // Names are fixed and unique within this namespace.
    let _ = m.merge(LanesRpc { s }.into_rpc());
    m
}

impl LanesApiServer for LanesRpc {
    fn rollup_config(&self) -> RpcResult<Value> {
        let v = self.s.view.read().clone();
        Ok(json!({
            "role": self.s.role,
            "l1ChainId": self.s.l1_chain_id,
            "l1Rpc": self.s.l1.url(),
            "rollup": self.s.rollup,
            "bridge": self.s.bridge,
            "da": self.s.da,
            "lastCommittedBatch": v.last_committed,
            "lastFinalizedBatch": v.last_finalized,
            "l1Head": v.l1_head,
            "derivedBatch": v.derived_batch,
            "finalBatch": v.final_batch,
            "halted": v.halted,
            "prover": self.s.prover,
            "genesisStateCommitment": self.s.genesis_commitment,
        }))
    }

    fn batch_status(&self, index: u64) -> RpcResult<Value> {
        let v = self.s.view.read().clone();
        let state = if index <= v.last_finalized {
            "finalized"
        } else if index <= v.last_committed {
            "committed"
        } else {
            "pending"
        };
        let store = L1Store(self.s.node.store());
        if self.s.role == Role::Follower {
            if index > v.derived_batch.unwrap_or(0) && index > v.last_committed {
                return Err(not_found(format!("batch {index} is not known")));
            }
            // Final only with a verified proof for it and every batch before it.
            let proof = store.proof_status(index).map_err(internal)?;
            let state = match v.final_batch {
                Some(f) if index <= f => "final",
                _ => state,
            };
            return Ok(json!({
                "index": index,
                "state": state,
                "derived": index <= v.derived_batch.unwrap_or(0),
                "proof": proof,
            }));
        }
        let record = store
            .batch(index)
            .map_err(internal)?
            .ok_or_else(|| not_found(format!("batch {index} is not known")))?;
        Ok(json!({
            "index": index,
            "state": state,
            "batchHash": record.batch_hash,
            "firstBlock": record.header.first_block,
            "lastBlock": record.header.last_block,
            "postStateRoot": record.header.post_state_root,
            "withdrawalsRoot": record.header.withdrawals_root,
            "depositCount": record.header.deposit_count,
            "depositHash": record.header.deposit_hash,
            "stateCommitment": record.header.state_commitment,
            "payloadHash": record.header.payload_hash,
            "diffEntries": record.diff_len,
            "proofHash": self.s.proofs.get(index).ok().flatten().map(|(m, _)| m.proof_hash),
            "txCount": record.tx_count,
            "dataSize": record.data.len(),
            "rlpSize": record.rlp_len,
            "da": record.da,
            "l1Transactions": record.l1_txs,
            "l1Tx": record.landed.map(|l| l.tx),
            "l1Block": record.landed.map(|l| l.block),
            "l1GasUsed": record.landed.map(|l| l.gas_used),
            "l1BlobGasUsed": record.landed.map(|l| l.blob_gas_used),
        }))
    }

    fn get_withdrawal_proof(&self, id: U256) -> RpcResult<Value> {
        if self.s.role == Role::Follower {
            return Err(not_found(
                "withdrawal proofs are served by the sequencer".into(),
            ));
        }
        let store = L1Store(self.s.node.store());
        let last = store
            .last_batch()
            .map_err(internal)?
            .map_or(0, |b| b.header.index);
        for index in (1..=last).rev() {
            let Some(record) = store.batch(index).map_err(internal)? else {
                continue;
            };
            let Some(pos) = record
                .withdrawals
                .iter()
                .position(|w| U256::from_be_bytes(w.id.0) == id)
            else {
                continue;
            };
            let leaves: Vec<_> = record
                .withdrawals
                .iter()
                .map(|w| withdrawal_leaf(&w.to_sol()))
                .collect();
            let proof = withdrawal_proof(&leaves, pos).unwrap_or_default();
            debug_assert!(verify_withdrawal_proof(
                record.header.withdrawals_root,
                leaves[pos],
                U256::from(pos),
                &proof,
            ));
            let w = &record.withdrawals[pos];
            return Ok(json!({
                "batchIndex": index,
                "withdrawal": {
                    "id": U256::from_be_bytes(w.id.0),
                    "from": w.from,
                    "to": w.to,
                    "amount": U256::from_be_bytes(w.amount.0),
                },
                "leafIndex": pos,
                "proof": proof,
                "withdrawalsRoot": record.header.withdrawals_root,
                "l2Transaction": w.l2_tx,
            }));
        }
        Err(not_found(format!(
            "withdrawal {id} is not in a closed batch yet"
        )))
    }

    fn get_batch_proof(&self, index: u64) -> RpcResult<Value> {
        let (meta, bytes) = self
            .s
            .proofs
            .get(index)
            .map_err(internal)?
            .ok_or_else(|| not_found(format!("no proof of batch {index} on this node")))?;
        Ok(json!({
            "index": meta.index,
            "batchHash": meta.batch_hash,
            "proofHash": meta.proof_hash,
            "publicInputs": {
                "index": meta.public_inputs.index,
                "prevCommitment": meta.public_inputs.prev_commitment,
                "newCommitment": meta.public_inputs.new_commitment,
                "dataHash": meta.public_inputs.data_hash,
            },
            "publicInputsHash": meta.public_inputs_hash,
            "security": meta.security,
            "proveSeconds": meta.prove_s,
            "proofSize": bytes.len(),
            "proof": alloy_primitives::hex::encode_prefixed(&bytes),
        }))
    }
}
