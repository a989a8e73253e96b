// The Merkle hashing of the prover's commitments, for both builds: exactly what Plonky3's
// `SerializingHasher<PaddingFreeSponge<KeccakF, 25, 17, 4>>` (rows) and
// `CompressionFunctionFromHasher<that sponge, 2, 4>` (pairs of digests) compute.
//
// Sponge: Keccak-f[1600] over 25 u64 lanes, all zero at the start; the message is cut into
// blocks of 17 words, each block overwrites lanes 0..17 (no XOR, no padding) and is followed by
// one permutation; a last partial block overwrites only its words and is permuted too; an empty
// message is never permuted. The digest is lanes 0..4.
// Row message: the row's raw Montgomery u32 values, two per word, the first in the low half; an
// odd last value alone in a word with a zero high half.
#pragma once
#include "../keccak.cuh"

#define LP_SPONGE_RATE 17
#define LP_DIGEST_WORDS 4

// Digest of one row of `len` u32 values.
LANES_HD static inline void lp_hash_row(const uint32_t* row, uint64_t len, uint64_t out[4]) {
  uint64_t s[25];
  for (int i = 0; i < 25; i++) s[i] = 0;
  uint64_t words = (len + 1) / 2;
  // Block by block with a constant lane index, so that the device keeps `s` in registers.
  for (uint64_t base = 0; base < words; base += LP_SPONGE_RATE) {
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
    for (int i = 0; i < LP_SPONGE_RATE; i++) {
      uint64_t w = base + i;
      if (w < words) {
        uint64_t lo = row[2 * w];
        uint64_t hi = 2 * w + 1 < len ? (uint64_t)row[2 * w + 1] : 0;
        s[i] = lo | (hi << 32);
      }
    }
    lanes_keccak_f1600(s);
  }
  for (int i = 0; i < LP_DIGEST_WORDS; i++) out[i] = s[i];
}

// Compression of two digests: the sponge over the 8 words `left || right`.
LANES_HD static inline void lp_compress(const uint64_t in[8], uint64_t out[4]) {
  uint64_t s[25];
  for (int i = 0; i < 25; i++) s[i] = i < 8 ? in[i] : 0;
  lanes_keccak_f1600(s);
  for (int i = 0; i < LP_DIGEST_WORDS; i++) out[i] = s[i];
}
