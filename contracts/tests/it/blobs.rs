//! `commitBatchBlobs` with real EIP-4844 blob transactions: anvil's default hardfork (which
//! takes EIP-7594 cell-proof sidecars) and cancun (classic EIP-4844 sidecars), plus the
//! missing-blob and data-hash revert paths.

use crate::common::*;
use alloy_eips::{
    eip4844::{
        BlobTransactionSidecar,
        builder::{SidecarBuilder, SimpleCoder},
        c_kzg::{self, KzgSettings},
    },
    eip7594::BlobTransactionSidecarEip7594,
};
use alloy_primitives::{B256, U256};
use lanes_contracts::{
    Rollup::{self, BatchHeader, RollupErrors},
    anvil::{Anvil, AnvilConfig},
    hashes,
};

/// The mainnet trusted setup without precomputed tables: building tables (alloy's default,
/// precompute 8) costs tens of seconds of CPU, far more than the few proofs made here.
fn kzg() -> &'static KzgSettings {
    c_kzg::ethereum_kzg_settings(0)
}

fn batch_data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

/// A header for the next batch whose data hash covers `versioned` blob hashes.
async fn blob_header(env: &Env, versioned: &[B256]) -> BatchHeader {
    let mut h = env.next_header(2, b"", B256::ZERO).await;
    h.dataHash = hashes::blob_data_hash(versioned);
    h
}

#[tokio::test]
async fn commit_blobs_default_hardfork_eip7594_sidecar() {
    let env = Env::new(true).await;
    // ~200 KB of batch data: two blobs.
    let sidecar: BlobTransactionSidecarEip7594 =
        SidecarBuilder::<SimpleCoder>::from_slice(&batch_data(200_000))
            .build_7594_with_settings(kzg())
            .unwrap();
    let versioned: Vec<B256> = sidecar.versioned_hashes().collect();
    assert_eq!(versioned.len(), 2);
    let h = blob_header(&env, &versioned).await;
    let r = env.rollup(&env.seq);

    // Claiming a third blob that the transaction does not carry.
    let mut h3 = h.clone();
    h3.dataHash = hashes::blob_data_hash(&[versioned[0], versioned[1], B256::ZERO]);
    match reverts(
        r.commitBatchBlobs(h3, U256::from(3))
            .sidecar_7594(sidecar.clone()),
    )
    .await
    {
        RollupErrors::MissingBlob(e) => assert_eq!(e.i, U256::from(2)),
        e => panic!("{e:?}"),
    }
    // Data hash over the blobs in the wrong order.
    let mut swapped = h.clone();
    swapped.dataHash = hashes::blob_data_hash(&[versioned[1], versioned[0]]);
    let e: RollupErrors = reverts(
        r.commitBatchBlobs(swapped, U256::from(2))
            .sidecar_7594(sidecar.clone()),
    )
    .await;
    assert!(matches!(e, RollupErrors::DataHashMismatch(_)), "{e:?}");

    let receipt = mined(
        r.commitBatchBlobs(h.clone(), U256::from(2))
            .sidecar_7594(sidecar),
    )
    .await;
    let ev = receipt.decoded_log::<Rollup::BatchCommitted>().unwrap();
    assert_eq!(
        (ev.index, ev.batchHash, ev.da),
        (1, hashes::batch_hash(&h), 1)
    );
    let b = r.batches(1).call().await.unwrap();
    assert_eq!((b.da, b.dataHash), (1, h.dataHash));
    assert!(receipt.blob_gas_used.unwrap_or_default() > 0);
}

#[tokio::test]
async fn commit_blobs_cancun_eip4844_sidecar() {
    let anvil = Anvil::spawn_with(&AnvilConfig {
        hardfork: Some("cancun".into()),
        ..Default::default()
    })
    .unwrap();
    let env = Env::on(anvil, true).await;
    let sidecar: BlobTransactionSidecar =
        SidecarBuilder::<SimpleCoder>::from_slice(&batch_data(1000))
            .build_4844_with_settings(kzg())
            .unwrap();
    let versioned: Vec<B256> = sidecar.versioned_hashes().collect();
    let h = blob_header(&env, &versioned).await;
    let r = env.rollup(&env.seq);
    mined(
        r.commitBatchBlobs(h.clone(), U256::from(1))
            .sidecar(sidecar),
    )
    .await;
    assert_eq!(r.batchHash(1).call().await.unwrap(), hashes::batch_hash(&h));
    assert_eq!(r.batches(1).call().await.unwrap().da, 1);
}

#[tokio::test]
async fn commit_blobs_without_blobs_reverts() {
    let env = Env::new(true).await;
    let h = blob_header(&env, &[B256::repeat_byte(1)]).await;
    let r = env.rollup(&env.seq);
    // A plain transaction has no blobs at all.
    for count in [0u64, 1] {
        match reverts(r.commitBatchBlobs(h.clone(), U256::from(count))).await {
            RollupErrors::MissingBlob(e) => assert_eq!(e.i, U256::ZERO),
            e => panic!("{e:?}"),
        }
    }
    match reverts(r.commitBatchBlobs(h.clone(), U256::from(17))).await {
        RollupErrors::MissingBlob(e) => assert_eq!(e.i, U256::from(16)),
        e => panic!("{e:?}"),
    }
    let e: RollupErrors =
        reverts(env.rollup(&env.stranger).commitBatchBlobs(h, U256::from(1))).await;
    assert!(matches!(e, RollupErrors::NotSequencer(_)), "{e:?}");
}
