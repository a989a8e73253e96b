//! Batch data compression: zstd (what the batcher posts) against brotli on the same batch.
//!
//! Builds a batch the way the batcher does (`lanes_sequencer::l1::batch`: the RLP list of
//! blocks, each `[number, timestamp, [EIP-2718 tx..]]`) from freshly signed transactions, then
//! compresses its RLP with zstd and brotli at several levels and reports size, ratio and time.
//!
//! ```sh
//! cargo run --release -p lanes-benches --example batch_compression -- [TXS] [--json]
//! ```
//! Workloads: `transfers` (ETH transfers from 4 senders to 3 recipients, as in the settlement
//! e2e test) and `erc20` (`transfer(address,uint256)` calls to one token, 1,000 recipients).

use std::{io::Write, time::Instant};

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, TxKind, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use lanes_sequencer::l1::batch::{self, BatchBlock};

const TXS_PER_BLOCK: usize = 10;

fn signed(signer: &PrivateKeySigner, nonce: u64, to: Address, value: U256, input: Bytes) -> Bytes {
    let tx = TxEip1559 {
        chain_id: 1337,
        nonce,
        gas_limit: if input.is_empty() { 21_000 } else { 60_000 },
        max_fee_per_gas: 20_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(to),
        value,
        access_list: Default::default(),
        input,
    };
    let sig = signer
        .sign_hash_sync(&tx.signature_hash())
        .expect("signing");
    let envelope: TxEnvelope = tx.into_signed(sig).into();
    envelope.encoded_2718().into()
}

fn blocks(txs: Vec<Bytes>) -> Vec<BatchBlock> {
    txs.chunks(TXS_PER_BLOCK)
        .enumerate()
        .map(|(i, chunk)| BatchBlock {
            number: i as u64 + 1,
            timestamp: 1_790_000_000 + i as u64,
            transactions: chunk.to_vec(),
        })
        .collect()
}

fn workload(name: &str, n: usize) -> Vec<BatchBlock> {
    let senders: Vec<PrivateKeySigner> = (0..4).map(|_| PrivateKeySigner::random()).collect();
    let mut nonces = [0u64; 4];
    let token = Address::repeat_byte(0x70);
    let txs = (0..n)
        .map(|i| {
            let k = i % senders.len();
            nonces[k] += 1;
            match name {
                "transfers" => signed(
                    &senders[k],
                    nonces[k] - 1,
                    Address::with_last_byte(5 + (i % 3) as u8),
                    U256::from(1000 + i),
                    Bytes::new(),
                ),
                _ => {
                    let mut input = vec![0xa9, 0x05, 0x9c, 0xbb];
                    let mut to = [0u8; 32];
                    to[12..].copy_from_slice(Address::with_last_byte((i % 251) as u8).as_slice());
                    to[30] = (i % 1000 / 251) as u8;
                    input.extend_from_slice(&to);
                    input.extend_from_slice(&U256::from(1 + i % 97).to_be_bytes::<32>());
                    signed(&senders[k], nonces[k] - 1, token, U256::ZERO, input.into())
                }
            }
        })
        .collect();
    blocks(txs)
}

fn time<T>(f: impl Fn() -> T) -> (T, f64) {
    // Best of 5 runs, in milliseconds.
    let mut best = f64::MAX;
    let mut out = None;
    for _ in 0..5 {
        let t = Instant::now();
        out = Some(f());
        best = best.min(t.elapsed().as_secs_f64() * 1e3);
    }
    (out.expect("ran"), best)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let n: usize = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map_or(300, |a| a.parse().expect("TXS must be a number"));
    for name in ["transfers", "erc20"] {
        let blocks = workload(name, n);
        let mut rlp = Vec::new();
        alloy_rlp::encode_list(&blocks, &mut rlp);
        // The block part of what the batcher posts (the state diff that batches also carry
        // needs executed blocks; this compares codecs on the transactions), checked to
        // round-trip.
        let posted = batch::encode(&blocks, &[]).expect("encode");
        assert_eq!(batch::decode(&posted, 1).expect("decode").blocks, blocks);
        let mut rows = Vec::new();
        for level in [3, 9, 19] {
            let (out, ms) = time(|| zstd::bulk::compress(&rlp, level).expect("zstd"));
            let (_, dms) = time(|| zstd::bulk::decompress(&out, rlp.len()).expect("unzstd"));
            rows.push(("zstd", level, out.len(), ms, dms));
        }
        for quality in [5, 9, 11] {
            let compress = || {
                let mut out = Vec::new();
                {
                    let mut w = brotli::CompressorWriter::new(&mut out, 1 << 16, quality, 22);
                    w.write_all(&rlp).expect("brotli");
                }
                out
            };
            let (out, ms) = time(compress);
            let (_, dms) = time(|| {
                let mut back = Vec::new();
                brotli::BrotliDecompress(&mut out.as_slice(), &mut back).expect("unbrotli");
                back
            });
            rows.push(("brotli", quality as i32, out.len(), ms, dms));
        }
        if !json {
            println!(
                "{name}: {n} txs, {} blocks, {} bytes of RLP ({:.1} B/tx); posted: {} bytes",
                blocks.len(),
                rlp.len(),
                rlp.len() as f64 / n as f64,
                posted.len()
            );
            println!("  codec   level     bytes  ratio  compress_ms  decompress_ms");
        }
        for (codec, level, bytes, ms, dms) in rows {
            if json {
                println!(
                    "{{\"workload\":\"{name}\",\"txs\":{n},\"rlp_bytes\":{},\"codec\":\"{codec}\",\"level\":{level},\"bytes\":{bytes},\"ratio\":{:.4},\"compress_ms\":{ms:.3},\"decompress_ms\":{dms:.3}}}",
                    rlp.len(),
                    rlp.len() as f64 / bytes as f64
                );
            } else {
                println!(
                    "  {codec:<7} {level:>5} {bytes:>9} {:>6.3} {ms:>12.2} {dms:>14.2}",
                    rlp.len() as f64 / bytes as f64
                );
            }
        }
    }
}
