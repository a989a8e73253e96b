//! Batch data: what the sequencer posts to L1 and a follower re-executes.
//!
//! Layout (version 2):
//!
//! | offset | bytes | meaning |
//! |---|---|---|
//! | 0 | 1 | version, `2` |
//! | 1 | 1 | compression, `1` = zstd (the only one) |
//! | 2 | .. | zstd frame (with content checksum) of the RLP list `[blocks, diff]` |
//!
//! `blocks` is the RLP list of blocks, each `[number, timestamp, [tx (EIP-2718 bytes)..]]`.
//! Everything else in a header follows from the parent and the execution (parent hash, base
//! fee, prevrandao = keccak(parent hash), coinbase = zero, gas limit of the chain, roots), so
//! a follower rebuilds the same block hashes from these fields alone.
//!
//! `diff` is the batch's state diff for the Poseidon2 state commitment (see
//! [`crate::commitment`]): every account and storage slot the blocks changed, with its value
//! after the batch, in canonical order (by address, the account before its slots, slots
//! ascending), each entry one RLP list:
//!
//! | entry | meaning |
//! |---|---|
//! | `[address, balance, nonce, code_hash]` | the account after the batch |
//! | `[address]` | the account no longer exists |
//! | `[address, slot (32 bytes), value]` | the slot after the batch (`0`: emptied) |
//!
//! The proof is about this diff; followers check it against their own re-execution.
//!
//! Decoding treats the bytes as untrusted: the decompressed size is capped
//! ([`MAX_DECOMPRESSED`]), block numbers must be consecutive from the expected first block,
//! diff entries must be strictly in canonical order and at most
//! [`lanes_prover::MAX_DIFF_ENTRIES`], and every error says what was wrong.

use alloy_primitives::{Bytes, U256};
use alloy_rlp::{Decodable, Encodable, Header as RlpHeader};
use lanes_prover::{MAX_DIFF_ENTRIES, StateKey, StateValue};

use crate::commitment::{Change, diff_order};

/// Current batch format version.
pub const VERSION: u8 = 2;
/// Compression byte: zstd.
pub const COMPRESSION_ZSTD: u8 = 1;
/// zstd level used when posting (19 is slow; 9 is within a few percent of it on our batches).
pub const ZSTD_LEVEL: i32 = 9;
/// Largest decompressed batch a decoder accepts (64 MiB).
pub const MAX_DECOMPRESSED: usize = 64 << 20;
/// Most blocks one batch may carry.
pub const MAX_BLOCKS: usize = 100_000;

/// One L2 block as carried in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchBlock {
    /// Block number.
    pub number: u64,
    /// Block timestamp.
    pub timestamp: u64,
    /// Transactions, EIP-2718 encoded, in block order.
    pub transactions: Vec<Bytes>,
}

impl BatchBlock {
    fn fields_len(&self) -> usize {
        self.number.length() + self.timestamp.length() + self.transactions.length()
    }
}

impl Encodable for BatchBlock {
    fn encode(&self, out: &mut dyn alloy_rlp::BufMut) {
        RlpHeader {
            list: true,
            payload_length: self.fields_len(),
        }
        .encode(out);
        self.number.encode(out);
        self.timestamp.encode(out);
        self.transactions.encode(out);
    }

    fn length(&self) -> usize {
        let payload = self.fields_len();
        payload + alloy_rlp::length_of_length(payload)
    }
}

impl Decodable for BatchBlock {
    fn decode(buf: &mut &[u8]) -> alloy_rlp::Result<Self> {
        let mut body = RlpHeader::decode_bytes(buf, true)?;
        let payload_length = body.len();
        let block = Self {
            number: u64::decode(&mut body)?,
            timestamp: u64::decode(&mut body)?,
            transactions: Vec::<Bytes>::decode(&mut body)?,
        };
        if !body.is_empty() {
            return Err(alloy_rlp::Error::ListLengthMismatch {
                expected: payload_length,
                got: payload_length - body.len(),
            });
        }
        Ok(block)
    }
}

/// One diff entry's RLP form.
fn encode_change(change: &Change, out: &mut Vec<u8>) {
    let mut body = Vec::with_capacity(96);
    match change {
        (
            StateKey::Account(a),
            Some(StateValue::Account {
                balance,
                nonce,
                code_hash,
            }),
        ) => {
            a.encode(&mut body);
            balance.encode(&mut body);
            nonce.encode(&mut body);
            code_hash.encode(&mut body);
        }
        (StateKey::Account(a), _) => a.encode(&mut body),
        (StateKey::Storage(a, slot), value) => {
            a.encode(&mut body);
            slot.encode(&mut body);
            match value {
                Some(StateValue::Storage(v)) => v.encode(&mut body),
                _ => U256::ZERO.encode(&mut body),
            }
        }
    }
    RlpHeader {
        list: true,
        payload_length: body.len(),
    }
    .encode(out);
    out.extend_from_slice(&body);
}

fn decode_change(buf: &mut &[u8]) -> alloy_rlp::Result<Change> {
    // The field count tells the kind: 1 = deleted account, 3 = slot, 4 = account.
    let alloy_rlp::PayloadView::List(fields) = RlpHeader::decode_raw(buf)? else {
        return Err(alloy_rlp::Error::UnexpectedString);
    };
    fn field<T: Decodable>(mut item: &[u8]) -> alloy_rlp::Result<T> {
        T::decode(&mut item)
    }
    match fields.as_slice() {
        [a] => Ok((StateKey::Account(field(a)?), None)),
        [a, slot, value] => {
            let value: U256 = field(value)?;
            let value = (!value.is_zero()).then_some(StateValue::Storage(value));
            Ok((StateKey::Storage(field(a)?, field(slot)?), value))
        }
        [a, balance, nonce, code_hash] => Ok((
            StateKey::Account(field(a)?),
            Some(StateValue::Account {
                balance: field(balance)?,
                nonce: field(nonce)?,
                code_hash: field(code_hash)?,
            }),
        )),
        _ => Err(alloy_rlp::Error::Custom(
            "a diff entry has 1, 3 or 4 fields",
        )),
    }
}

/// Decoded batch data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedBatch {
    /// The blocks.
    pub blocks: Vec<BatchBlock>,
    /// The state diff, in canonical order.
    pub diff: Vec<Change>,
}

/// Why batch data was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BatchDecodeError {
    /// Fewer than two bytes.
    #[error("batch data is {0} bytes, shorter than its 2-byte prefix")]
    TooShort(usize),
    /// Unknown version byte.
    #[error("unknown batch version {0} (this node reads version {VERSION})")]
    Version(u8),
    /// Unknown compression byte.
    #[error("unknown batch compression {0} (this node reads 1 = zstd)")]
    Compression(u8),
    /// The zstd frame is corrupt, truncated, or decompresses beyond the limit.
    #[error(
        "batch data does not decompress (corrupt, truncated or over {MAX_DECOMPRESSED} bytes): {0}"
    )]
    Decompress(String),
    /// The RLP is malformed.
    #[error("batch RLP is malformed: {0}")]
    Rlp(String),
    /// Bytes follow the block list.
    #[error("{0} trailing bytes after the block list")]
    Trailing(usize),
    /// Too many diff entries.
    #[error("batch diff has {0} entries, over the limit of {MAX_DIFF_ENTRIES}")]
    TooManyChanges(usize),
    /// Diff entries out of canonical order (or a key twice).
    #[error("diff entry {0} is not after the one before it in canonical order")]
    DiffOrder(usize),
    /// No blocks.
    #[error("batch holds no blocks")]
    Empty,
    /// Too many blocks.
    #[error("batch holds {0} blocks, over the limit of {MAX_BLOCKS}")]
    TooManyBlocks(usize),
    /// Block numbers do not run consecutively from the expected first block.
    #[error("block {index} of the batch is number {got}, expected {expected}")]
    BlockNumber {
        /// Position in the batch.
        index: usize,
        /// Expected number.
        expected: u64,
        /// Number found.
        got: u64,
    },
}

/// Encodes blocks and their state diff (in canonical order) as batch data (zstd).
pub fn encode(blocks: &[BatchBlock], diff: &[Change]) -> std::io::Result<Vec<u8>> {
    let mut block_list = Vec::with_capacity(rlp_len(blocks));
    alloy_rlp::encode_list::<BatchBlock, BatchBlock>(blocks, &mut block_list);
    let mut entries = Vec::with_capacity(diff.len() * 80);
    for change in diff {
        encode_change(change, &mut entries);
    }
    let mut diff_list = Vec::with_capacity(entries.len() + 9);
    RlpHeader {
        list: true,
        payload_length: entries.len(),
    }
    .encode(&mut diff_list);
    diff_list.extend_from_slice(&entries);
    let mut rlp = Vec::with_capacity(block_list.len() + diff_list.len() + 9);
    RlpHeader {
        list: true,
        payload_length: block_list.len() + diff_list.len(),
    }
    .encode(&mut rlp);
    rlp.extend_from_slice(&block_list);
    rlp.extend_from_slice(&diff_list);
    // The frame carries its content checksum, so a flipped byte fails decompression instead
    // of decoding to different blocks.
    let mut compressor = zstd::bulk::Compressor::new(ZSTD_LEVEL)?;
    compressor.set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(true))?;
    let compressed = compressor.compress(&rlp)?;
    let mut out = Vec::with_capacity(compressed.len() + 2);
    out.push(VERSION);
    out.push(COMPRESSION_ZSTD);
    out.extend_from_slice(&compressed);
    Ok(out)
}

/// The uncompressed RLP length of blocks (for reporting the compression ratio).
pub fn rlp_len(blocks: &[BatchBlock]) -> usize {
    alloy_rlp::list_length(blocks)
}

/// Decodes batch data whose first block must be `first_block`.
pub fn decode(data: &[u8], first_block: u64) -> Result<DecodedBatch, BatchDecodeError> {
    if data.len() < 2 {
        return Err(BatchDecodeError::TooShort(data.len()));
    }
    if data[0] != VERSION {
        return Err(BatchDecodeError::Version(data[0]));
    }
    if data[1] != COMPRESSION_ZSTD {
        return Err(BatchDecodeError::Compression(data[1]));
    }
    let rlp = decompress_capped(&data[2..])?;
    let rlp_err = |e: alloy_rlp::Error| BatchDecodeError::Rlp(e.to_string());
    let mut rest = rlp.as_slice();
    let mut buf = RlpHeader::decode_bytes(&mut rest, true).map_err(|e| {
        BatchDecodeError::Rlp(format!("batch is not an RLP list [blocks, diff]: {e}"))
    })?;
    if !rest.is_empty() {
        return Err(BatchDecodeError::Trailing(rest.len()));
    }
    let blocks = Vec::<BatchBlock>::decode(&mut buf).map_err(rlp_err)?;
    let mut entries = RlpHeader::decode_bytes(&mut buf, true)
        .map_err(|e| BatchDecodeError::Rlp(format!("diff is not an RLP list: {e}")))?;
    if !buf.is_empty() {
        return Err(BatchDecodeError::Trailing(buf.len()));
    }
    let mut diff: Vec<Change> = Vec::new();
    while !entries.is_empty() {
        if diff.len() == MAX_DIFF_ENTRIES {
            return Err(BatchDecodeError::TooManyChanges(MAX_DIFF_ENTRIES + 1));
        }
        let change = decode_change(&mut entries).map_err(rlp_err)?;
        if let Some((prev, _)) = diff.last()
            && diff_order(prev) >= diff_order(&change.0)
        {
            return Err(BatchDecodeError::DiffOrder(diff.len()));
        }
        diff.push(change);
    }
    if blocks.is_empty() {
        return Err(BatchDecodeError::Empty);
    }
    if blocks.len() > MAX_BLOCKS {
        return Err(BatchDecodeError::TooManyBlocks(blocks.len()));
    }
    for (index, block) in blocks.iter().enumerate() {
        let expected = first_block + index as u64;
        if block.number != expected {
            return Err(BatchDecodeError::BlockNumber {
                index,
                expected,
                got: block.number,
            });
        }
    }
    Ok(DecodedBatch { blocks, diff })
}

/// Streams the frame through a decoder and stops at the cap, so a small "zip bomb" cannot
/// allocate more than [`MAX_DECOMPRESSED`]. A truncated frame is an error, not a short result.
fn decompress_capped(frame: &[u8]) -> Result<Vec<u8>, BatchDecodeError> {
    use std::io::Read;
    let err = |e: std::io::Error| BatchDecodeError::Decompress(e.to_string());
    let decoder = zstd::stream::read::Decoder::new(frame).map_err(err)?;
    let mut out = Vec::new();
    let read = decoder
        .take(MAX_DECOMPRESSED as u64 + 1)
        .read_to_end(&mut out)
        .map_err(err)?;
    if read > MAX_DECOMPRESSED {
        return Err(BatchDecodeError::Decompress(format!(
            "more than {MAX_DECOMPRESSED} bytes"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{Address, B256};

    fn blocks() -> Vec<BatchBlock> {
        (5..9)
            .map(|n| BatchBlock {
                number: n,
                timestamp: 1_700_000_000 + n,
                transactions: (0..n)
                    .map(|i| Bytes::from(vec![2u8, i as u8, 0xaa, 0xbb]))
                    .collect(),
            })
            .collect()
    }

    fn diff() -> Vec<Change> {
        let a = Address::repeat_byte(1);
        vec![
            (
                StateKey::Account(a),
                Some(StateValue::Account {
                    balance: U256::from(10).pow(U256::from(21)),
                    nonce: 7,
                    code_hash: B256::repeat_byte(9),
                }),
            ),
            (
                StateKey::Storage(a, B256::with_last_byte(1)),
                Some(StateValue::Storage(U256::from(5))),
            ),
            (StateKey::Storage(a, B256::repeat_byte(0xff)), None),
            (StateKey::Account(Address::repeat_byte(2)), None),
        ]
    }

    #[test]
    fn round_trip() {
        let b = blocks();
        let data = encode(&b, &diff()).unwrap();
        assert_eq!(&data[..2], &[VERSION, COMPRESSION_ZSTD]);
        let got = decode(&data, 5).unwrap();
        assert_eq!((got.blocks, got.diff), (b, diff()));
        let empty = decode(&encode(&blocks(), &[]).unwrap(), 5).unwrap();
        assert!(empty.diff.is_empty());
    }

    #[test]
    fn rejects_malformed_diff_entries() {
        // An empty entry, a 2-field entry and a string where a list belongs: errors, no panic.
        for entry in [vec![0xc0u8], vec![0xc2, 0x01, 0x02], vec![0x81, 0xff]] {
            let mut rlp = Vec::new();
            let blocks_list = alloy_rlp::encode(blocks());
            let payload = blocks_list.len() + 1 + entry.len();
            RlpHeader {
                list: true,
                payload_length: payload,
            }
            .encode(&mut rlp);
            rlp.extend_from_slice(&blocks_list);
            RlpHeader {
                list: true,
                payload_length: entry.len(),
            }
            .encode(&mut rlp);
            rlp.extend_from_slice(&entry);
            let mut data = vec![VERSION, COMPRESSION_ZSTD];
            data.extend(zstd::bulk::compress(&rlp, 1).unwrap());
            assert!(
                matches!(decode(&data, 5), Err(BatchDecodeError::Rlp(_))),
                "{entry:?}"
            );
        }
    }

    #[test]
    fn rejects_a_diff_out_of_order() {
        let mut d = diff();
        d.swap(1, 2);
        let data = encode(&blocks(), &d).unwrap();
        assert_eq!(decode(&data, 5), Err(BatchDecodeError::DiffOrder(2)));
        let mut d = diff();
        d.push(d[3]);
        let data = encode(&blocks(), &d).unwrap();
        assert_eq!(decode(&data, 5), Err(BatchDecodeError::DiffOrder(4)));
    }

    #[test]
    fn rejects_bad_prefix_and_numbers() {
        let data = encode(&blocks(), &diff()).unwrap();
        assert_eq!(decode(&data[..1], 5), Err(BatchDecodeError::TooShort(1)));
        let mut v = data.clone();
        v[0] = 9;
        assert_eq!(decode(&v, 5), Err(BatchDecodeError::Version(9)));
        let mut v = data.clone();
        v[1] = 2;
        assert_eq!(decode(&v, 5), Err(BatchDecodeError::Compression(2)));
        assert!(matches!(
            decode(&data, 4),
            Err(BatchDecodeError::BlockNumber {
                index: 0,
                expected: 4,
                got: 5
            })
        ));
    }

    #[test]
    fn rejects_truncated_and_corrupt() {
        let data = encode(&blocks(), &diff()).unwrap();
        for cut in [3, data.len() / 2, data.len() - 1] {
            let r = decode(&data[..cut], 5);
            assert!(
                matches!(r, Err(BatchDecodeError::Decompress(_))),
                "{cut}: {r:?}"
            );
        }
        let mut v = data.clone();
        let mid = v.len() / 2;
        v[mid] ^= 0xff;
        assert!(decode(&v, 5).is_err());
    }

    #[test]
    fn rejects_a_bomb() {
        let zeros = vec![0u8; MAX_DECOMPRESSED + 10];
        let mut data = vec![VERSION, COMPRESSION_ZSTD];
        data.extend(zstd::bulk::compress(&zeros, 1).unwrap());
        assert!(data.len() < 1 << 20);
        assert!(matches!(
            decode(&data, 0),
            Err(BatchDecodeError::Decompress(_))
        ));
    }
}
