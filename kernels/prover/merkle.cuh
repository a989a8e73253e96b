// The Merkle hashing of the prover's commitments, for both builds: keccak-256 (the
// original Keccak padding, domain byte 0x01, as Ethereum uses it), exactly what
// `p3_keccak::Keccak256Hash` computes, over
// - a row: the row's raw Montgomery u32 values as little-endian bytes (4 per value);
// - a pair of digests: the 64 bytes `left || right`, each digest 4 little-endian u64 words.
// The digest is the 32-byte hash read as 4 little-endian u64 words (state lanes 0..4).
//
// Sponge: Keccak-f[1600] over 25 u64 lanes, all zero at the start; each full 136-byte block
// (17 words) is XORed into lanes 0..17 and permuted; the last block holds the rest (a multiple
// of 4 bytes, possibly none), 0x01 XORed at the byte after it and 0x80 at byte 135, and is
// permuted too. A message word is bytes 8w..8w+8: two u32 values, the first in the low half.
#pragma once
#include "../keccak.cuh"

#define LP_SPONGE_RATE 17
#define LP_DIGEST_WORDS 4

// Digest of one row of `len` u32 values.
LANES_HD static inline void lp_hash_row(const uint32_t* row, uint64_t len, uint64_t out[4]) {
  uint64_t s[25];
  for (int i = 0; i < 25; i++) s[i] = 0;
  uint64_t words = (len + 1) / 2;
  uint64_t full = (4 * len) / 136;  // full blocks
  // Full blocks with a constant lane index, so that the device keeps `s` in registers.
  for (uint64_t b = 0; b < full; b++) {
    const uint32_t* src = row + b * 2 * LP_SPONGE_RATE;
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
    for (int i = 0; i < LP_SPONGE_RATE; i++) {
      s[i] ^= (uint64_t)src[2 * i] | ((uint64_t)src[2 * i + 1] << 32);
    }
    lanes_keccak_f1600(s);
  }
  // The last block: the remaining words, then the padding.
  uint64_t base = full * LP_SPONGE_RATE;
  uint64_t rest = 4 * len - full * 136;  // bytes, a multiple of 4, below 136
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
  for (int i = 0; i < LP_SPONGE_RATE; i++) {
    uint64_t w = base + i;
    if (w < words) {
      uint64_t lo = row[2 * w];
      uint64_t hi = 2 * w + 1 < len ? (uint64_t)row[2 * w + 1] : 0;
      s[i] ^= lo | (hi << 32);
    }
  }
  s[rest / 8] ^= (uint64_t)0x01 << (8 * (rest % 8));
  s[LP_SPONGE_RATE - 1] ^= (uint64_t)0x80 << 56;
  lanes_keccak_f1600(s);
  for (int i = 0; i < LP_DIGEST_WORDS; i++) out[i] = s[i];
}

// Compression of two digests: keccak-256 of the 64 bytes `left || right`.
LANES_HD static inline void lp_compress(const uint64_t in[8], uint64_t out[4]) {
  uint64_t s[25];
  for (int i = 0; i < 25; i++) s[i] = i < 8 ? in[i] : 0;
  s[8] ^= 0x01;
  s[LP_SPONGE_RATE - 1] ^= (uint64_t)0x80 << 56;
  lanes_keccak_f1600(s);
  for (int i = 0; i < LP_DIGEST_WORDS; i++) out[i] = s[i];
}
