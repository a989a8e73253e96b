//! Batch data: what the sequencer posts to L1 and a follower re-executes.
//!
//! Layout (version 1):
//!
//! | offset | bytes | meaning |
//! |---|---|---|
//! | 0 | 1 | version, `1` |
//! | 1 | 1 | compression, `1` = zstd (the only one) |
//! | 2 | .. | zstd frame (with content checksum) of the RLP list of blocks |
//!
//! Each block is the RLP list `[number, timestamp, [tx (EIP-2718 bytes)..]]`. Everything else
//! in a header follows from the parent and the execution (parent hash, base fee, prevrandao =
//! keccak(parent hash), coinbase = zero, gas limit of the chain, roots), so a follower rebuilds
//! the same block hashes from these fields alone.
//!
//! Decoding treats the bytes as untrusted: the decompressed size is capped
//! ([`MAX_DECOMPRESSED`]), block numbers must be consecutive from the expected first block,
//! and every error says what was wrong.

use alloy_primitives::Bytes;
use alloy_rlp::{Decodable, Encodable, Header as RlpHeader};

/// Current batch format version.
pub const VERSION: u8 = 1;
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
        let header = RlpHeader::decode(buf)?;
        if !header.list {
            return Err(alloy_rlp::Error::UnexpectedString);
        }
        if buf.len() < header.payload_length {
            return Err(alloy_rlp::Error::InputTooShort);
        }
        let mut body = &buf[..header.payload_length];
        let block = Self {
            number: u64::decode(&mut body)?,
            timestamp: u64::decode(&mut body)?,
            transactions: Vec::<Bytes>::decode(&mut body)?,
        };
        if !body.is_empty() {
            return Err(alloy_rlp::Error::ListLengthMismatch {
                expected: header.payload_length,
                got: header.payload_length - body.len(),
            });
        }
        *buf = &buf[header.payload_length..];
        Ok(block)
    }
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

/// Encodes blocks as version-1 batch data (zstd).
pub fn encode(blocks: &[BatchBlock]) -> std::io::Result<Vec<u8>> {
    let mut rlp = Vec::with_capacity(rlp_len(blocks));
    alloy_rlp::encode_list::<BatchBlock, BatchBlock>(blocks, &mut rlp);
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
pub fn decode(data: &[u8], first_block: u64) -> Result<Vec<BatchBlock>, BatchDecodeError> {
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
    let mut buf = rlp.as_slice();
    let blocks =
        Vec::<BatchBlock>::decode(&mut buf).map_err(|e| BatchDecodeError::Rlp(e.to_string()))?;
    if !buf.is_empty() {
        return Err(BatchDecodeError::Trailing(buf.len()));
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
    Ok(blocks)
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

    #[test]
    fn round_trip() {
        let b = blocks();
        let data = encode(&b).unwrap();
        assert_eq!(&data[..2], &[VERSION, COMPRESSION_ZSTD]);
        assert_eq!(decode(&data, 5).unwrap(), b);
    }

    #[test]
    fn rejects_bad_prefix_and_numbers() {
        let data = encode(&blocks()).unwrap();
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
        let data = encode(&blocks()).unwrap();
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
