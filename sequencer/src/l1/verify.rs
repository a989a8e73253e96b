//! A follower's check of batch proofs: for each batch it derived, once L1 finalizes it, fetch
//! the proof from a node (`lanes_getBatchProof` on `--proofs-from`), check the bytes against
//! the proof hash L1 recorded, and verify the proof natively against the batch data, the diff
//! and the commitments this follower computed itself. Only a batch whose proof verified, and
//! every batch before it, is final for this node.

use alloy_primitives::B256;
use eyre::eyre;
use jsonrpsee::core::params::ArrayParams;
use tracing::{info, warn};

use super::{
    Settlement,
    client::{L1Client, L1Error},
    contracts::IRollup,
    proofs::{ProofMeta, ProofStore},
    store::{L1Store, ProofStatus},
};

/// Most derived batches kept waiting for their proofs; derivation pauses beyond this.
pub const MAX_UNCHECKED: u64 = 64;

/// Fetches batch `index`'s proof bytes from a node; `None` if it does not have it (yet).
pub async fn fetch_proof(source: &L1Client, index: u64) -> eyre::Result<Option<Vec<u8>>> {
    let mut params = ArrayParams::new();
    params
        .insert(index)
        .map_err(|e| eyre!("encoding params: {e}"))?;
    let v: serde_json::Value = match source.raw("lanes_getBatchProof", params).await {
        Ok(v) => v,
        Err(L1Error::Rpc { message, .. }) if message.contains("no proof") => return Ok(None),
        Err(e) => return Err(eyre!("asking {} for proof {index}: {e}", source.url())),
    };
    let hex = v.get("proof").and_then(|p| p.as_str()).ok_or_else(|| {
        eyre!(
            "{} answered proof {index} without a `proof` field",
            source.url()
        )
    })?;
    let bytes = alloy_primitives::hex::decode(hex)
        .map_err(|e| eyre!("proof {index} from {} is not hex: {e}", source.url()))?;
    if bytes.len() > lanes_prover::MAX_PROOF_BYTES {
        return Err(eyre!("proof {index} from {} is too large", source.url()));
    }
    Ok(Some(bytes))
}

/// Checks the proofs of derived batches up to `derived`, in order, as far as L1 has finalized
/// them and the source has them. Returns the follower's final batch.
pub async fn check_proofs(
    s: &Settlement,
    source: &L1Client,
    proofs: &ProofStore,
    derived: u64,
) -> eyre::Result<u64> {
    let store = L1Store(s.node.store());
    let mut cursor = store.proof_cursor()?;
    let finalized = s.view.read().last_finalized;
    while cursor.checked < derived.min(finalized) {
        let index = cursor.checked + 1;
        let info = s.l1.view(s.rollup, IRollup::batchesCall { index }).await?;
        let pending = store.pending_proof(index)?;
        let last_block = pending.as_ref().map(|p| p.last_block);
        let status = match pending {
            None => ProofStatus::Invalid(
                "derived before proof checking was on: nothing kept to verify against".into(),
            ),
            Some(p) if p.batch_hash != info.batchHash => ProofStatus::Invalid(format!(
                "L1 finalized batch hash {}, this node derived {}",
                info.batchHash, p.batch_hash
            )),
            Some(_) if info.proofHash == B256::ZERO => ProofStatus::Unproven,
            Some(pending) => {
                let Some(bytes) = fetch_proof(source, index).await? else {
                    // Finalized on L1 but not served yet: not final here until it is.
                    break;
                };
                let hash = lanes_prover::proof_hash(&bytes);
                if hash != info.proofHash {
                    warn!(
                        batch = index,
                        source = source.url(),
                        %hash,
                        on_l1 = %info.proofHash,
                        "the proof served does not hash to the one L1 recorded; will ask again"
                    );
                    break;
                }
                let started = std::time::Instant::now();
                let verdict = lanes_prover::BatchProof::from_bytes(&bytes).and_then(|proof| {
                    lanes_prover::verify(
                        &proof,
                        &pending.public_inputs,
                        &pending.data,
                        &pending.diff,
                    )
                    .map(|()| proof)
                });
                match verdict {
                    Ok(proof) => {
                        let meta = ProofMeta {
                            index,
                            batch_hash: info.batchHash,
                            proof_hash: hash,
                            public_inputs: pending.public_inputs,
                            public_inputs_hash: pending.public_inputs.hash(),
                            security: proof.security.name().to_string(),
                            prove_s: 0.0,
                        };
                        proofs.put(&meta, &bytes)?;
                        info!(
                            batch = index,
                            proof_bytes = bytes.len(),
                            verify_ms = started.elapsed().as_millis() as u64,
                            "batch proof verified"
                        );
                        ProofStatus::Verified
                    }
                    Err(e) => ProofStatus::Invalid(format!("the proof does not verify: {e}")),
                }
            }
        };
        if let ProofStatus::Invalid(why) = &status {
            warn!(
                batch = index,
                why, "batch is not final: its proof check failed"
            );
        } else if status == ProofStatus::Unproven {
            warn!(
                batch = index,
                "batch was finalized on L1 without a proof; it is not final here"
            );
        }
        if status == ProofStatus::Verified && cursor.final_batch + 1 == index {
            cursor.final_batch = index;
            cursor.final_block = last_block.unwrap_or(cursor.final_block);
        }
        store.set_proof_status(index, &status)?;
        store.set_pending_proof(index, None)?;
        cursor.checked = index;
        store.set_proof_cursor(&cursor)?;
    }
    Ok(cursor.final_batch)
}
