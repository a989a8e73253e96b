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
// Written out in full (no data-dependent indexing) so that the state stays in registers on the
// device and the host compiler needs no unrolling heuristics.
#define LANES_KROL(x, n) (((x) << (n)) | ((x) >> (64 - (n))))
LANES_HD static inline void lanes_keccak_f1600(uint64_t s[25]) {
  const uint64_t rc[24] = {
      0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
      0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
      0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
      0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
      0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
      0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL};
  uint64_t a00 = s[0], a01 = s[1], a02 = s[2], a03 = s[3], a04 = s[4];
  uint64_t a05 = s[5], a06 = s[6], a07 = s[7], a08 = s[8], a09 = s[9];
  uint64_t a10 = s[10], a11 = s[11], a12 = s[12], a13 = s[13], a14 = s[14];
  uint64_t a15 = s[15], a16 = s[16], a17 = s[17], a18 = s[18], a19 = s[19];
  uint64_t a20 = s[20], a21 = s[21], a22 = s[22], a23 = s[23], a24 = s[24];
#if defined(__CUDA_ARCH__)
#pragma unroll 1
#endif
  for (int round = 0; round < 24; round++) {
    // theta
    uint64_t c0 = a00 ^ a05 ^ a10 ^ a15 ^ a20;
    uint64_t c1 = a01 ^ a06 ^ a11 ^ a16 ^ a21;
    uint64_t c2 = a02 ^ a07 ^ a12 ^ a17 ^ a22;
    uint64_t c3 = a03 ^ a08 ^ a13 ^ a18 ^ a23;
    uint64_t c4 = a04 ^ a09 ^ a14 ^ a19 ^ a24;
    uint64_t d0 = c4 ^ LANES_KROL(c1, 1);
    uint64_t d1 = c0 ^ LANES_KROL(c2, 1);
    uint64_t d2 = c1 ^ LANES_KROL(c3, 1);
    uint64_t d3 = c2 ^ LANES_KROL(c4, 1);
    uint64_t d4 = c3 ^ LANES_KROL(c0, 1);
    a00 ^= d0; a05 ^= d0; a10 ^= d0; a15 ^= d0; a20 ^= d0;
    a01 ^= d1; a06 ^= d1; a11 ^= d1; a16 ^= d1; a21 ^= d1;
    a02 ^= d2; a07 ^= d2; a12 ^= d2; a17 ^= d2; a22 ^= d2;
    a03 ^= d3; a08 ^= d3; a13 ^= d3; a18 ^= d3; a23 ^= d3;
    a04 ^= d4; a09 ^= d4; a14 ^= d4; a19 ^= d4; a24 ^= d4;
    // rho and pi: b[y + 5 * ((2x + 3y) % 5)] = rot(a[x + 5y], r[x + 5y])
    uint64_t b00 = a00;
    uint64_t b16 = LANES_KROL(a05, 36);
    uint64_t b07 = LANES_KROL(a10, 3);
    uint64_t b23 = LANES_KROL(a15, 41);
    uint64_t b14 = LANES_KROL(a20, 18);
    uint64_t b10 = LANES_KROL(a01, 1);
    uint64_t b01 = LANES_KROL(a06, 44);
    uint64_t b17 = LANES_KROL(a11, 10);
    uint64_t b08 = LANES_KROL(a16, 45);
    uint64_t b24 = LANES_KROL(a21, 2);
    uint64_t b20 = LANES_KROL(a02, 62);
    uint64_t b11 = LANES_KROL(a07, 6);
    uint64_t b02 = LANES_KROL(a12, 43);
    uint64_t b18 = LANES_KROL(a17, 15);
    uint64_t b09 = LANES_KROL(a22, 61);
    uint64_t b05 = LANES_KROL(a03, 28);
    uint64_t b21 = LANES_KROL(a08, 55);
    uint64_t b12 = LANES_KROL(a13, 25);
    uint64_t b03 = LANES_KROL(a18, 21);
    uint64_t b19 = LANES_KROL(a23, 56);
    uint64_t b15 = LANES_KROL(a04, 27);
    uint64_t b06 = LANES_KROL(a09, 20);
    uint64_t b22 = LANES_KROL(a14, 39);
    uint64_t b13 = LANES_KROL(a19, 8);
    uint64_t b04 = LANES_KROL(a24, 14);
    // chi
    a00 = b00 ^ (~b01 & b02);
    a01 = b01 ^ (~b02 & b03);
    a02 = b02 ^ (~b03 & b04);
    a03 = b03 ^ (~b04 & b00);
    a04 = b04 ^ (~b00 & b01);
    a05 = b05 ^ (~b06 & b07);
    a06 = b06 ^ (~b07 & b08);
    a07 = b07 ^ (~b08 & b09);
    a08 = b08 ^ (~b09 & b05);
    a09 = b09 ^ (~b05 & b06);
    a10 = b10 ^ (~b11 & b12);
    a11 = b11 ^ (~b12 & b13);
    a12 = b12 ^ (~b13 & b14);
    a13 = b13 ^ (~b14 & b10);
    a14 = b14 ^ (~b10 & b11);
    a15 = b15 ^ (~b16 & b17);
    a16 = b16 ^ (~b17 & b18);
    a17 = b17 ^ (~b18 & b19);
    a18 = b18 ^ (~b19 & b15);
    a19 = b19 ^ (~b15 & b16);
    a20 = b20 ^ (~b21 & b22);
    a21 = b21 ^ (~b22 & b23);
    a22 = b22 ^ (~b23 & b24);
    a23 = b23 ^ (~b24 & b20);
    a24 = b24 ^ (~b20 & b21);
    // iota
    a00 ^= rc[round];
  }
  s[0] = a00; s[1] = a01; s[2] = a02; s[3] = a03; s[4] = a04;
  s[5] = a05; s[6] = a06; s[7] = a07; s[8] = a08; s[9] = a09;
  s[10] = a10; s[11] = a11; s[12] = a12; s[13] = a13; s[14] = a14;
  s[15] = a15; s[16] = a16; s[17] = a17; s[18] = a18; s[19] = a19;
  s[20] = a20; s[21] = a21; s[22] = a22; s[23] = a23; s[24] = a24;
}
#undef LANES_KROL

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
  uint64_t i = 0;
  while (i < len) {
    if (k->pos % 8 == 0 && len - i >= 8) {  // a whole lane at once
      uint64_t v = 0;
      for (int b = 0; b < 8; b++) v |= (uint64_t)data[i + b] << (8 * b);
      k->s[k->pos / 8] ^= v;
      i += 8;
      k->pos += 8;
      if (k->pos == LANES_KECCAK_RATE) {
        lanes_keccak_f1600(k->s);
        k->pos = 0;
      }
      continue;
    }
    k->s[k->pos / 8] ^= (uint64_t)data[i] << (8 * (k->pos % 8));
    i++;
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
