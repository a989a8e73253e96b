// The hashing precompiles of Cancun, for both builds: 0x02 sha256, 0x03 ripemd160, 0x04 identity,
// 0x09 blake2f (EIP-152). Gas as revm 43 charges it (see precompiles.cuh for the status codes).
#pragma once
#include "precompiles.cuh"

// Gas of `base + word * ceil(len / 32)` (revm's calc_linear_cost); `len` is at most 2^32.
LANES_HD static inline uint64_t lanes_pc_linear_gas(uint32_t len, uint64_t base, uint64_t word) {
  return base + word * (((uint64_t)len + 31) / 32);
}

LANES_HD static inline uint32_t lanes_rotr32(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
LANES_HD static inline uint32_t lanes_rotl32(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

// ---------------------------------------------------------------------------------------------
// SHA-256 (FIPS 180-4).

LANES_HD LANES_PC_NOINLINE static inline void lanes_sha256_block(uint32_t h[8], const uint8_t blk[64]) {
  const uint32_t k[64] = {
      0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u,
      0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu,
      0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu,
      0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u,
      0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
      0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
      0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u,
      0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
      0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u,
      0xc67178f2u};
  uint32_t w[64];
  for (int i = 0; i < 16; i++)
    w[i] = ((uint32_t)blk[4 * i] << 24) | ((uint32_t)blk[4 * i + 1] << 16) |
           ((uint32_t)blk[4 * i + 2] << 8) | (uint32_t)blk[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = lanes_rotr32(w[i - 15], 7) ^ lanes_rotr32(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = lanes_rotr32(w[i - 2], 17) ^ lanes_rotr32(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t s1 = lanes_rotr32(e, 6) ^ lanes_rotr32(e, 11) ^ lanes_rotr32(e, 25);
    uint32_t ch = (e & f) ^ (~e & g);
    uint32_t t1 = hh + s1 + ch + k[i] + w[i];
    uint32_t s0 = lanes_rotr32(a, 2) ^ lanes_rotr32(a, 13) ^ lanes_rotr32(a, 22);
    uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
    uint32_t t2 = s0 + maj;
    hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
  }
  h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

LANES_HD static inline void lanes_sha256(const uint8_t* in, uint64_t len, uint8_t out[32]) {
  uint32_t h[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                   0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};
  uint64_t off = 0;
  for (; off + 64 <= len; off += 64) lanes_sha256_block(h, in + off);
  uint8_t blk[128];
  uint32_t rest = (uint32_t)(len - off);
  for (uint32_t i = 0; i < rest; i++) blk[i] = in[off + i];
  blk[rest] = 0x80;
  uint32_t total = rest + 9 <= 64 ? 64 : 128;
  for (uint32_t i = rest + 1; i < total; i++) blk[i] = 0;
  uint64_t bits = len * 8;
  for (int i = 0; i < 8; i++) blk[total - 1 - i] = (uint8_t)(bits >> (8 * i));
  lanes_sha256_block(h, blk);
  if (total == 128) lanes_sha256_block(h, blk + 64);
  for (int i = 0; i < 8; i++) {
    out[4 * i] = (uint8_t)(h[i] >> 24);
    out[4 * i + 1] = (uint8_t)(h[i] >> 16);
    out[4 * i + 2] = (uint8_t)(h[i] >> 8);
    out[4 * i + 3] = (uint8_t)h[i];
  }
}

// ---------------------------------------------------------------------------------------------
// RIPEMD-160 (Dobbertin, Bosselaers, Preneel).

LANES_HD static inline uint32_t lanes_rmd_f(int j, uint32_t x, uint32_t y, uint32_t z) {
  switch (j >> 4) {
    case 0: return x ^ y ^ z;
    case 1: return (x & y) | (~x & z);
    case 2: return (x | ~y) ^ z;
    case 3: return (x & z) | (y & ~z);
    default: return x ^ (y | ~z);
  }
}

LANES_HD LANES_PC_NOINLINE static inline void lanes_ripemd160_block(uint32_t h[5], const uint8_t blk[64]) {
  const uint8_t rl[80] = {0, 1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                          7, 4,  13, 1,  10, 6,  15, 3,  12, 0,  9,  5,  2,  14, 11, 8,
                          3, 10, 14, 4,  9,  15, 8,  1,  2,  7,  0,  6,  13, 11, 5,  12,
                          1, 9,  11, 10, 0,  8,  12, 4,  13, 3,  7,  15, 14, 5,  6,  2,
                          4, 0,  5,  9,  7,  12, 2,  10, 14, 1,  3,  8,  11, 6,  15, 13};
  const uint8_t rr[80] = {5,  14, 7,  0, 9, 2,  11, 4,  13, 6,  15, 8,  1,  10, 3,  12,
                          6,  11, 3,  7, 0, 13, 5,  10, 14, 15, 8,  12, 4,  9,  1,  2,
                          15, 5,  1,  3, 7, 14, 6,  9,  11, 8,  12, 2,  10, 0,  4,  13,
                          8,  6,  4,  1, 3, 11, 15, 0,  5,  12, 2,  13, 9,  7,  10, 14,
                          12, 15, 10, 4, 1, 5,  8,  7,  6,  2,  13, 14, 0,  3,  9,  11};
  const uint8_t sl[80] = {11, 14, 15, 12, 5,  8,  7,  9,  11, 13, 14, 15, 6,  7,  9,  8,
                          7,  6,  8,  13, 11, 9,  7,  15, 7,  12, 15, 9,  11, 7,  13, 12,
                          11, 13, 6,  7,  14, 9,  13, 15, 14, 8,  13, 6,  5,  12, 7,  5,
                          11, 12, 14, 15, 14, 15, 9,  8,  9,  14, 5,  6,  8,  6,  5,  12,
                          9,  15, 5,  11, 6,  8,  13, 12, 5,  12, 13, 14, 11, 8,  5,  6};
  const uint8_t sr[80] = {8,  9,  9,  11, 13, 15, 15, 5,  7,  7,  8,  11, 14, 14, 12, 6,
                          9,  13, 15, 7,  12, 8,  9,  11, 7,  7,  12, 7,  6,  15, 13, 11,
                          9,  7,  15, 11, 8,  6,  6,  14, 12, 13, 5,  14, 13, 13, 7,  5,
                          15, 5,  8,  11, 14, 14, 6,  14, 6,  9,  12, 9,  12, 5,  15, 8,
                          8,  5,  12, 9,  12, 5,  14, 6,  8,  13, 6,  5,  15, 13, 11, 11};
  const uint32_t kl[5] = {0x00000000u, 0x5a827999u, 0x6ed9eba1u, 0x8f1bbcdcu, 0xa953fd4eu};
  const uint32_t kr[5] = {0x50a28be6u, 0x5c4dd124u, 0x6d703ef3u, 0x7a6d76e9u, 0x00000000u};
  uint32_t x[16];
  for (int i = 0; i < 16; i++)
    x[i] = (uint32_t)blk[4 * i] | ((uint32_t)blk[4 * i + 1] << 8) | ((uint32_t)blk[4 * i + 2] << 16) |
           ((uint32_t)blk[4 * i + 3] << 24);
  uint32_t al = h[0], bl = h[1], cl = h[2], dl = h[3], el = h[4];
  uint32_t ar = h[0], br = h[1], cr = h[2], dr = h[3], er = h[4];
  for (int j = 0; j < 80; j++) {
    uint32_t t = lanes_rotl32(al + lanes_rmd_f(j, bl, cl, dl) + x[rl[j]] + kl[j >> 4], sl[j]) + el;
    al = el, el = dl, dl = lanes_rotl32(cl, 10), cl = bl, bl = t;
    t = lanes_rotl32(ar + lanes_rmd_f(79 - j, br, cr, dr) + x[rr[j]] + kr[j >> 4], sr[j]) + er;
    ar = er, er = dr, dr = lanes_rotl32(cr, 10), cr = br, br = t;
  }
  uint32_t t = h[1] + cl + dr;
  h[1] = h[2] + dl + er;
  h[2] = h[3] + el + ar;
  h[3] = h[4] + al + br;
  h[4] = h[0] + bl + cr;
  h[0] = t;
}

LANES_HD static inline void lanes_ripemd160(const uint8_t* in, uint64_t len, uint8_t out[20]) {
  uint32_t h[5] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u, 0xc3d2e1f0u};
  uint64_t off = 0;
  for (; off + 64 <= len; off += 64) lanes_ripemd160_block(h, in + off);
  uint8_t blk[128];
  uint32_t rest = (uint32_t)(len - off);
  for (uint32_t i = 0; i < rest; i++) blk[i] = in[off + i];
  blk[rest] = 0x80;
  uint32_t total = rest + 9 <= 64 ? 64 : 128;
  for (uint32_t i = rest + 1; i < total; i++) blk[i] = 0;
  uint64_t bits = len * 8;
  for (int i = 0; i < 8; i++) blk[total - 8 + i] = (uint8_t)(bits >> (8 * i));
  lanes_ripemd160_block(h, blk);
  if (total == 128) lanes_ripemd160_block(h, blk + 64);
  for (int i = 0; i < 5; i++)
    for (int b = 0; b < 4; b++) out[4 * i + b] = (uint8_t)(h[i] >> (8 * b));
}

// ---------------------------------------------------------------------------------------------
// BLAKE2b compression with a caller-chosen round count (EIP-152).

LANES_HD static inline uint64_t lanes_rotr64(uint64_t x, int n) { return (x >> n) | (x << (64 - n)); }

LANES_HD static inline void lanes_blake2_g(uint64_t v[16], int a, int b, int c, int d, uint64_t x,
                                           uint64_t y) {
  v[a] = v[a] + v[b] + x;
  v[d] = lanes_rotr64(v[d] ^ v[a], 32);
  v[c] = v[c] + v[d];
  v[b] = lanes_rotr64(v[b] ^ v[c], 24);
  v[a] = v[a] + v[b] + y;
  v[d] = lanes_rotr64(v[d] ^ v[a], 16);
  v[c] = v[c] + v[d];
  v[b] = lanes_rotr64(v[b] ^ v[c], 63);
}

LANES_HD LANES_PC_NOINLINE static inline void lanes_blake2b_compress(uint32_t rounds, uint64_t h[8], const uint64_t m[16],
                                                   uint64_t t0, uint64_t t1, bool last) {
  const uint64_t iv[8] = {0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL,
                          0xa54ff53a5f1d36f1ULL, 0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL,
                          0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL};
  const uint8_t sigma[10][16] = {
      {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
      {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
      {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
      {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
      {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
      {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
      {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
      {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
      {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
      {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0}};
  uint64_t v[16];
  for (int i = 0; i < 8; i++) v[i] = h[i], v[i + 8] = iv[i];
  v[12] ^= t0;
  v[13] ^= t1;
  if (last) v[14] = ~v[14];
  uint32_t si = 0;
  for (uint32_t r = 0; r < rounds; r++) {
    const uint8_t* s = sigma[si];
    lanes_blake2_g(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
    lanes_blake2_g(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
    lanes_blake2_g(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
    lanes_blake2_g(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
    lanes_blake2_g(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
    lanes_blake2_g(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
    lanes_blake2_g(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
    lanes_blake2_g(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
    si = si == 9 ? 0 : si + 1;
  }
  for (int i = 0; i < 8; i++) h[i] ^= v[i] ^ v[i + 8];
}

LANES_HD static inline uint64_t lanes_load_le64(const uint8_t* p) {
  uint64_t x = 0;
  for (int i = 7; i >= 0; i--) x = (x << 8) | p[i];
  return x;
}

// ---------------------------------------------------------------------------------------------
// The precompile entry points.

LANES_HD LANES_PC_NOINLINE static inline int lanes_pc_identity(const uint8_t* in, uint32_t in_len, uint64_t gas_limit,
                                             uint8_t* out, uint32_t out_cap, uint32_t* out_len,
                                             uint64_t* gas_used) {
  uint64_t gas = lanes_pc_linear_gas(in_len, 15, 3);
  if (gas > gas_limit) return LANES_PC_OUT_OF_GAS;
  if (in_len > out_cap) return LANES_PC_UNSUPPORTED;
  for (uint32_t i = 0; i < in_len; i++) out[i] = in[i];
  *out_len = in_len;
  *gas_used = gas;
  return LANES_PC_OK;
}

LANES_HD LANES_PC_NOINLINE static inline int lanes_pc_sha256(const uint8_t* in, uint32_t in_len, uint64_t gas_limit,
                                           uint8_t* out, uint32_t out_cap, uint32_t* out_len,
                                           uint64_t* gas_used) {
  uint64_t gas = lanes_pc_linear_gas(in_len, 60, 12);
  if (gas > gas_limit) return LANES_PC_OUT_OF_GAS;
  if (out_cap < 32) return LANES_PC_UNSUPPORTED;
  lanes_sha256(in, in_len, out);
  *out_len = 32;
  *gas_used = gas;
  return LANES_PC_OK;
}

LANES_HD LANES_PC_NOINLINE static inline int lanes_pc_ripemd160(const uint8_t* in, uint32_t in_len, uint64_t gas_limit,
                                              uint8_t* out, uint32_t out_cap, uint32_t* out_len,
                                              uint64_t* gas_used) {
  uint64_t gas = lanes_pc_linear_gas(in_len, 600, 120);
  if (gas > gas_limit) return LANES_PC_OUT_OF_GAS;
  if (out_cap < 32) return LANES_PC_UNSUPPORTED;
  for (int i = 0; i < 12; i++) out[i] = 0;
  lanes_ripemd160(in, in_len, out + 12);
  *out_len = 32;
  *gas_used = gas;
  return LANES_PC_OK;
}

// At most this many rounds on the device; more (paid for with as much gas) is
// LANES_PC_UNSUPPORTED and runs on the CPU, so that one thread never holds up a wave for seconds.
#define LANES_BLAKE2F_MAX_ROUNDS (1u << 20)

// Input: rounds (4 bytes BE) | h (8 x u64 LE) | m (16 x u64 LE) | t0, t1 (u64 LE) | f (1 byte).
LANES_HD LANES_PC_NOINLINE static inline int lanes_pc_blake2f(const uint8_t* in, uint32_t in_len, uint64_t gas_limit,
                                            uint8_t* out, uint32_t out_cap, uint32_t* out_len,
                                            uint64_t* gas_used) {
  if (in_len != 213) return LANES_PC_FAILURE;
  uint32_t rounds = ((uint32_t)in[0] << 24) | ((uint32_t)in[1] << 16) | ((uint32_t)in[2] << 8) | in[3];
  uint64_t gas = rounds;
  if (gas > gas_limit) return LANES_PC_OUT_OF_GAS;
  if (in[212] > 1) return LANES_PC_FAILURE;
  if (out_cap < 64 || rounds > LANES_BLAKE2F_MAX_ROUNDS) return LANES_PC_UNSUPPORTED;
  uint64_t h[8], m[16];
  for (int i = 0; i < 8; i++) h[i] = lanes_load_le64(in + 4 + 8 * i);
  for (int i = 0; i < 16; i++) m[i] = lanes_load_le64(in + 68 + 8 * i);
  lanes_blake2b_compress(rounds, h, m, lanes_load_le64(in + 196), lanes_load_le64(in + 204), in[212] == 1);
  for (int i = 0; i < 8; i++)
    for (int b = 0; b < 8; b++) out[8 * i + b] = (uint8_t)(h[i] >> (8 * b));
  *out_len = 64;
  *gas_used = gas;
  return LANES_PC_OK;
}
