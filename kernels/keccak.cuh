// Keccak-256 (the pre-NIST padding Ethereum uses), for both builds.
//
// `lanes_keccak256` hashes a byte string in one call; `LanesKeccak` absorbs incrementally for
// callers that hash data not contiguous in memory. Rate 136 bytes, capacity 512 bits.
#pragma once
#include "lanes_common.cuh"

#define LANES_KECCAK_RATE 136

LANES_HD static inline uint64_t lanes_rotl64(uint64_t x, int n) {
  return n == 0 ? x : (x << n) | (x >> (64 - n));
}

// The 24-round Keccak-f[1600] permutation over 25 lanes, lane (x, y) at index x + 5y.
LANES_HD static inline void lanes_keccak_f1600(uint64_t s[25]) {
  const uint64_t rc[24] = {
      0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
      0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
      0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
      0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
      0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
      0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL};
  // Rotation offset of lane (x, y), index x + 5y.
  const int rot[25] = {0,  1,  62, 28, 27, 36, 44, 6,  55, 20, 3,  10, 43,
                       25, 39, 41, 45, 15, 21, 8,  18, 2,  61, 56, 14};
  for (int round = 0; round < 24; round++) {
    // theta
    uint64_t c[5];
    for (int x = 0; x < 5; x++) c[x] = s[x] ^ s[x + 5] ^ s[x + 10] ^ s[x + 15] ^ s[x + 20];
    for (int x = 0; x < 5; x++) {
      uint64_t d = c[(x + 4) % 5] ^ lanes_rotl64(c[(x + 1) % 5], 1);
      for (int y = 0; y < 25; y += 5) s[x + y] ^= d;
    }
    // rho and pi: lane (x, y) moves to (y, 2x + 3y).
    uint64_t b[25];
    for (int x = 0; x < 5; x++)
      for (int y = 0; y < 5; y++) b[y + 5 * ((2 * x + 3 * y) % 5)] = lanes_rotl64(s[x + 5 * y], rot[x + 5 * y]);
    // chi
    for (int y = 0; y < 25; y += 5)
      for (int x = 0; x < 5; x++) s[x + y] = b[x + y] ^ (~b[(x + 1) % 5 + y] & b[(x + 2) % 5 + y]);
    // iota
    s[0] ^= rc[round];
  }
}

// Incremental Keccak-256.
struct LanesKeccak {
  uint64_t s[25];
  uint32_t pos;  // bytes absorbed into the current block
};

LANES_HD static inline void lanes_keccak_init(LanesKeccak* k) {
  for (int i = 0; i < 25; i++) k->s[i] = 0;
  k->pos = 0;
}

LANES_HD static inline void lanes_keccak_update(LanesKeccak* k, const uint8_t* data, uint64_t len) {
  for (uint64_t i = 0; i < len; i++) {
    k->s[k->pos / 8] ^= (uint64_t)data[i] << (8 * (k->pos % 8));
    if (++k->pos == LANES_KECCAK_RATE) {
      lanes_keccak_f1600(k->s);
      k->pos = 0;
    }
  }
}

LANES_HD static inline void lanes_keccak_final(LanesKeccak* k, uint8_t out[32]) {
  k->s[k->pos / 8] ^= (uint64_t)0x01 << (8 * (k->pos % 8));
  k->s[(LANES_KECCAK_RATE - 1) / 8] ^= (uint64_t)0x80 << (8 * ((LANES_KECCAK_RATE - 1) % 8));
  lanes_keccak_f1600(k->s);
  for (int i = 0; i < 32; i++) out[i] = (uint8_t)(k->s[i / 8] >> (8 * (i % 8)));
}

LANES_HD static inline void lanes_keccak256(const uint8_t* data, uint64_t len, uint8_t out[32]) {
  LanesKeccak k;
  lanes_keccak_init(&k);
  lanes_keccak_update(&k, data, len);
  lanes_keccak_final(&k, out);
}
