// KoalaBear field arithmetic (p = 2^31 - 2^24 + 1) in Montgomery form, for both builds.
//
// An element x is stored as the u32 `x * 2^32 mod p` in [0, p): exactly the representation of
// Plonky3's `KoalaBear` (`MontyField31`), whose values the Rust side passes in without
// conversion. Every operation returns the unique representative in [0, p), so results are
// bit-identical to Plonky3's.
#pragma once
#include "../lanes_common.cuh"

#define LP_KB_P 0x7f000001u
// p^-1 mod 2^32.
#define LP_KB_MU 0x81000001u

LANES_HD static inline uint32_t lp_kb_add(uint32_t a, uint32_t b) {
  uint32_t r = a + b;  // < 2^32: both below 2^31
  return r >= LP_KB_P ? r - LP_KB_P : r;
}

LANES_HD static inline uint32_t lp_kb_sub(uint32_t a, uint32_t b) {
  return a >= b ? a - b : a + LP_KB_P - b;
}

// Montgomery reduction of x < p * 2^32: x * 2^-32 mod p, in [0, p).
LANES_HD static inline uint32_t lp_kb_reduce(uint64_t x) {
  uint32_t m = (uint32_t)x * LP_KB_MU;     // x * p^-1 mod 2^32
  uint64_t u = (uint64_t)m * LP_KB_P;      // u == x (mod 2^32)
  uint32_t hi = (uint32_t)((x - u) >> 32);  // (x - u) / 2^32, possibly "negative"
  return x < u ? hi + LP_KB_P : hi;
}

// Product of two Montgomery-form elements, in Montgomery form.
LANES_HD static inline uint32_t lp_kb_mul(uint32_t a, uint32_t b) {
  return lp_kb_reduce((uint64_t)a * b);
}
