// 256-bit unsigned integers (the EVM word) on four 64-bit limbs, least significant first, for
// both builds. Signed operations read the words as two's complement.
//
// No __int128: the 64x64->128 multiply is `__umul64hi` on the device and a 32-bit-halves
// portable fallback on the host (LANES_MULHI).
#pragma once
#include "lanes_common.cuh"

typedef struct U256 {
  uint64_t w[4];
} U256;

#if defined(__CUDA_ARCH__)
#define LANES_MULHI(a, b) __umul64hi((a), (b))
#else
LANES_HD static inline uint64_t lanes_mulhi_portable(uint64_t a, uint64_t b) {
  uint64_t al = a & 0xffffffffULL, ah = a >> 32, bl = b & 0xffffffffULL, bh = b >> 32;
  uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
  uint64_t mid = (ll >> 32) + (lh & 0xffffffffULL) + (hl & 0xffffffffULL);
  return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}
#define LANES_MULHI(a, b) lanes_mulhi_portable((a), (b))
#endif

LANES_HD static inline U256 u256_zero() {
  U256 r = {{0, 0, 0, 0}};
  return r;
}
LANES_HD static inline U256 u256_from64(uint64_t v) {
  U256 r = {{v, 0, 0, 0}};
  return r;
}
LANES_HD static inline bool u256_is_zero(const U256& a) { return (a.w[0] | a.w[1] | a.w[2] | a.w[3]) == 0; }
LANES_HD static inline bool u256_eq(const U256& a, const U256& b) {
  return a.w[0] == b.w[0] && a.w[1] == b.w[1] && a.w[2] == b.w[2] && a.w[3] == b.w[3];
}
LANES_HD static inline bool u256_lt(const U256& a, const U256& b) {
  for (int i = 3; i >= 0; i--)
    if (a.w[i] != b.w[i]) return a.w[i] < b.w[i];
  return false;
}
LANES_HD static inline bool u256_gt(const U256& a, const U256& b) { return u256_lt(b, a); }
LANES_HD static inline bool u256_is_neg(const U256& a) { return (a.w[3] >> 63) != 0; }
LANES_HD static inline bool u256_slt(const U256& a, const U256& b) {
  bool na = u256_is_neg(a), nb = u256_is_neg(b);
  if (na != nb) return na;
  return u256_lt(a, b);
}
LANES_HD static inline bool u256_sgt(const U256& a, const U256& b) { return u256_slt(b, a); }
// True when a fits in 64 bits.
LANES_HD static inline bool u256_fits64(const U256& a) { return (a.w[1] | a.w[2] | a.w[3]) == 0; }

LANES_HD static inline U256 u256_add_c(const U256& a, const U256& b, uint64_t* carry_out) {
  U256 r;
  uint64_t c = 0;
  for (int i = 0; i < 4; i++) {
    uint64_t s = a.w[i] + c;
    uint64_t c1 = s < c;
    uint64_t t = s + b.w[i];
    uint64_t c2 = t < s;
    r.w[i] = t;
    c = c1 | c2;
  }
  if (carry_out) *carry_out = c;
  return r;
}
LANES_HD static inline U256 u256_add(const U256& a, const U256& b) { return u256_add_c(a, b, 0); }
LANES_HD static inline U256 u256_sub_b(const U256& a, const U256& b, uint64_t* borrow_out) {
  U256 r;
  uint64_t br = 0;
  for (int i = 0; i < 4; i++) {
    uint64_t d = a.w[i] - b.w[i];
    uint64_t b1 = a.w[i] < b.w[i];
    uint64_t e = d - br;
    uint64_t b2 = d < br;
    r.w[i] = e;
    br = b1 | b2;
  }
  if (borrow_out) *borrow_out = br;
  return r;
}
LANES_HD static inline U256 u256_sub(const U256& a, const U256& b) { return u256_sub_b(a, b, 0); }
LANES_HD static inline U256 u256_not(const U256& a) {
  U256 r;
  for (int i = 0; i < 4; i++) r.w[i] = ~a.w[i];
  return r;
}
LANES_HD static inline U256 u256_and(const U256& a, const U256& b) {
  U256 r;
  for (int i = 0; i < 4; i++) r.w[i] = a.w[i] & b.w[i];
  return r;
}
LANES_HD static inline U256 u256_or(const U256& a, const U256& b) {
  U256 r;
  for (int i = 0; i < 4; i++) r.w[i] = a.w[i] | b.w[i];
  return r;
}
LANES_HD static inline U256 u256_xor(const U256& a, const U256& b) {
  U256 r;
  for (int i = 0; i < 4; i++) r.w[i] = a.w[i] ^ b.w[i];
  return r;
}
LANES_HD static inline U256 u256_neg(const U256& a) { return u256_sub(u256_zero(), a); }

// Full product: out[0..8] limbs of a * b.
LANES_HD static inline void u256_mul_full(const U256& a, const U256& b, uint64_t out[8]) {
  for (int i = 0; i < 8; i++) out[i] = 0;
  for (int i = 0; i < 4; i++) {
    uint64_t carry = 0;
    for (int j = 0; j < 4; j++) {
      uint64_t lo = a.w[i] * b.w[j];
      uint64_t hi = LANES_MULHI(a.w[i], b.w[j]);
      uint64_t s = out[i + j] + lo;
      hi += s < lo;
      uint64_t s2 = s + carry;
      hi += s2 < s;
      out[i + j] = s2;
      carry = hi;
    }
    out[i + 4] = carry;
  }
}
LANES_HD static inline U256 u256_mul(const U256& a, const U256& b) {
  U256 r;
  for (int i = 0; i < 4; i++) r.w[i] = 0;
  for (int i = 0; i < 4; i++) {
    uint64_t carry = 0;
    for (int j = 0; i + j < 4; j++) {
      uint64_t lo = a.w[i] * b.w[j];
      uint64_t hi = LANES_MULHI(a.w[i], b.w[j]);
      uint64_t s = r.w[i + j] + lo;
      hi += s < lo;
      uint64_t s2 = s + carry;
      hi += s2 < s;
      r.w[i + j] = s2;
      carry = hi;
    }
  }
  return r;
}

LANES_HD static inline int lanes_clz64(uint64_t x) {
#if defined(__CUDA_ARCH__)
  return __clzll((long long)x);
#else
  if (x == 0) return 64;
  return __builtin_clzll(x);
#endif
}

// Number of significant bits of an n-limb little-endian number.
LANES_HD static inline int lanes_bits_n(const uint64_t* a, int n) {
  for (int i = n - 1; i >= 0; i--)
    if (a[i]) return i * 64 + 64 - lanes_clz64(a[i]);
  return 0;
}
LANES_HD static inline int u256_bits(const U256& a) { return lanes_bits_n(a.w, 4); }

// Knuth's algorithm D on 32-bit digits: u (nu limbs of 64 bits) divided by d (4 limbs, nonzero).
// Writes the quotient (nu limbs) into q if non-null and the remainder into r.
LANES_HD static inline void lanes_divmod_n(const uint64_t* u64, int nu, const U256& d, uint64_t* q64, U256* r) {
  // Digits base 2^32.
  uint32_t u[17], v[8], qd[16];
  int m32 = nu * 2;
  int n = 0;
  for (int i = 0; i < 8; i++) {
    v[i] = (uint32_t)(d.w[i / 2] >> (32 * (i % 2)));
    if (v[i]) n = i + 1;
  }
  for (int i = 0; i < m32; i++) u[i] = (uint32_t)(u64[i / 2] >> (32 * (i % 2)));
  u[m32] = 0;
  for (int i = 0; i < 16; i++) qd[i] = 0;
  if (n == 1) {
    uint64_t rem = 0;
    for (int i = m32 - 1; i >= 0; i--) {
      uint64_t cur = (rem << 32) | u[i];
      qd[i] = (uint32_t)(cur / v[0]);
      rem = cur % v[0];
    }
    if (q64)
      for (int i = 0; i < nu; i++) q64[i] = (uint64_t)qd[2 * i] | ((uint64_t)qd[2 * i + 1] << 32);
    *r = u256_from64(rem);
    return;
  }
  // Normalize.
  int s = 0;
  {
    uint32_t top = v[n - 1];
    while (!(top & 0x80000000u)) {
      top <<= 1;
      s++;
    }
  }
  uint32_t vn[8], un[17];
  for (int i = n - 1; i > 0; i--) vn[i] = s ? (v[i] << s) | (v[i - 1] >> (32 - s)) : v[i];
  vn[0] = v[0] << s;
  un[m32] = s ? u[m32 - 1] >> (32 - s) : 0;
  for (int i = m32 - 1; i > 0; i--) un[i] = s ? (u[i] << s) | (u[i - 1] >> (32 - s)) : u[i];
  un[0] = u[0] << s;
  for (int j = m32 - n; j >= 0; j--) {
    uint64_t num = ((uint64_t)un[j + n] << 32) | un[j + n - 1];
    uint64_t qhat = num / vn[n - 1];
    uint64_t rhat = num % vn[n - 1];
    while (qhat >= 0x100000000ULL || qhat * vn[n - 2] > ((rhat << 32) | un[j + n - 2])) {
      qhat--;
      rhat += vn[n - 1];
      if (rhat >= 0x100000000ULL) break;
    }
    // Multiply and subtract.
    int64_t borrow = 0;
    uint64_t carry = 0;
    for (int i = 0; i < n; i++) {
      uint64_t p = qhat * vn[i] + carry;
      carry = p >> 32;
      int64_t t = (int64_t)un[i + j] - (int64_t)(p & 0xffffffffULL) + borrow;
      un[i + j] = (uint32_t)t;
      borrow = t >> 32;
    }
    int64_t t = (int64_t)un[j + n] - (int64_t)carry + borrow;
    un[j + n] = (uint32_t)t;
    if (t < 0) {
      qhat--;
      uint64_t c = 0;
      for (int i = 0; i < n; i++) {
        uint64_t sum = (uint64_t)un[i + j] + vn[i] + c;
        un[i + j] = (uint32_t)sum;
        c = sum >> 32;
      }
      un[j + n] = (uint32_t)((uint64_t)un[j + n] + c);
    }
    qd[j] = (uint32_t)qhat;
  }
  if (q64)
    for (int i = 0; i < nu; i++) q64[i] = (uint64_t)qd[2 * i] | ((uint64_t)qd[2 * i + 1] << 32);
  // Unnormalize the remainder.
  uint32_t rr[8];
  for (int i = 0; i < 8; i++) rr[i] = 0;
  for (int i = 0; i < n; i++) rr[i] = s ? (un[i] >> s) | (un[i + 1] << (32 - s)) : un[i];
  for (int i = 0; i < 4; i++) r->w[i] = (uint64_t)rr[2 * i] | ((uint64_t)rr[2 * i + 1] << 32);
}

// a / b and a % b; division by zero gives 0 for both (EVM semantics).
LANES_HD static inline void u256_divmod(const U256& a, const U256& b, U256* q, U256* r) {
  if (u256_is_zero(b)) {
    if (q) *q = u256_zero();
    if (r) *r = u256_zero();
    return;
  }
  if (u256_lt(a, b)) {
    if (q) *q = u256_zero();
    if (r) *r = a;
    return;
  }
  if (u256_fits64(a)) {
    if (q) *q = u256_from64(a.w[0] / b.w[0]);
    if (r) *r = u256_from64(a.w[0] % b.w[0]);
    return;
  }
  U256 qq, rr;
  lanes_divmod_n(a.w, 4, b, qq.w, &rr);
  if (q) *q = qq;
  if (r) *r = rr;
}
LANES_HD static inline U256 u256_div(const U256& a, const U256& b) {
  U256 q;
  u256_divmod(a, b, &q, 0);
  return q;
}
LANES_HD static inline U256 u256_mod(const U256& a, const U256& b) {
  U256 r;
  u256_divmod(a, b, 0, &r);
  return r;
}
LANES_HD static inline U256 u256_sdiv(const U256& a, const U256& b) {
  if (u256_is_zero(b)) return u256_zero();
  bool na = u256_is_neg(a), nb = u256_is_neg(b);
  U256 q = u256_div(na ? u256_neg(a) : a, nb ? u256_neg(b) : b);
  return na != nb ? u256_neg(q) : q;
}
LANES_HD static inline U256 u256_smod(const U256& a, const U256& b) {
  if (u256_is_zero(b)) return u256_zero();
  bool na = u256_is_neg(a), nb = u256_is_neg(b);
  U256 r = u256_mod(na ? u256_neg(a) : a, nb ? u256_neg(b) : b);
  return na ? u256_neg(r) : r;
}
LANES_HD static inline U256 u256_addmod(const U256& a, const U256& b, const U256& m) {
  if (u256_is_zero(m)) return u256_zero();
  uint64_t c;
  U256 s = u256_add_c(a, b, &c);
  uint64_t wide[5] = {s.w[0], s.w[1], s.w[2], s.w[3], c};
  U256 r;
  if (c == 0) return u256_mod(s, m);
  // 5 limbs: pad to 6 for the divider (even number of limbs is not required, nu limbs any).
  uint64_t w6[6] = {wide[0], wide[1], wide[2], wide[3], wide[4], 0};
  lanes_divmod_n(w6, 6, m, 0, &r);
  return r;
}
LANES_HD static inline U256 u256_mulmod(const U256& a, const U256& b, const U256& m) {
  if (u256_is_zero(m)) return u256_zero();
  uint64_t p[8];
  u256_mul_full(a, b, p);
  if ((p[4] | p[5] | p[6] | p[7]) == 0) {
    U256 lo = {{p[0], p[1], p[2], p[3]}};
    return u256_mod(lo, m);
  }
  U256 r;
  lanes_divmod_n(p, 8, m, 0, &r);
  return r;
}
LANES_HD static inline U256 u256_exp(U256 base, const U256& e) {
  U256 r = u256_from64(1);
  int bits = u256_bits(e);
  for (int i = 0; i < bits; i++) {
    if ((e.w[i / 64] >> (i % 64)) & 1) r = u256_mul(r, base);
    if (i + 1 < bits) base = u256_mul(base, base);
  }
  return r;
}
LANES_HD static inline U256 u256_shl(const U256& a, const U256& sh) {
  if (!u256_fits64(sh) || sh.w[0] >= 256) return u256_zero();
  unsigned s = (unsigned)sh.w[0];
  unsigned limbs = s / 64, bits = s % 64;
  U256 r = u256_zero();
  for (int i = 3; i >= (int)limbs; i--) {
    uint64_t v = a.w[i - limbs] << bits;
    if (bits && i - (int)limbs - 1 >= 0) v |= a.w[i - limbs - 1] >> (64 - bits);
    r.w[i] = v;
  }
  return r;
}
LANES_HD static inline U256 u256_shr(const U256& a, const U256& sh) {
  if (!u256_fits64(sh) || sh.w[0] >= 256) return u256_zero();
  unsigned s = (unsigned)sh.w[0];
  unsigned limbs = s / 64, bits = s % 64;
  U256 r = u256_zero();
  for (int i = 0; i + (int)limbs < 4; i++) {
    uint64_t v = a.w[i + limbs] >> bits;
    if (bits && i + limbs + 1 < 4) v |= a.w[i + limbs + 1] << (64 - bits);
    r.w[i] = v;
  }
  return r;
}
LANES_HD static inline U256 u256_sar(const U256& a, const U256& sh) {
  bool neg = u256_is_neg(a);
  if (!u256_fits64(sh) || sh.w[0] >= 256) return neg ? u256_not(u256_zero()) : u256_zero();
  if (!neg) return u256_shr(a, sh);
  // sar(a) = ~shr(~a) for negative a.
  return u256_not(u256_shr(u256_not(a), sh));
}
// BYTE(i, x): the i-th byte counting from the most significant.
LANES_HD static inline U256 u256_byte(const U256& i, const U256& x) {
  if (!u256_fits64(i) || i.w[0] >= 32) return u256_zero();
  unsigned idx = 31 - (unsigned)i.w[0];  // from the least significant
  return u256_from64((x.w[idx / 8] >> (8 * (idx % 8))) & 0xff);
}
// SIGNEXTEND(b, x): extend the sign of byte b (from the least significant).
LANES_HD static inline U256 u256_signextend(const U256& b, const U256& x) {
  if (!u256_fits64(b) || b.w[0] >= 31) return x;
  unsigned bit = (unsigned)b.w[0] * 8 + 7;
  bool neg = (x.w[bit / 64] >> (bit % 64)) & 1;
  U256 mask = u256_sub(u256_shl(u256_from64(1), u256_from64(bit + 1)), u256_from64(1));
  return neg ? u256_or(x, u256_not(mask)) : u256_and(x, mask);
}

LANES_HD static inline U256 u256_from_be(const uint8_t* b) {
  U256 r;
  for (int i = 0; i < 4; i++) {
    uint64_t v = 0;
    for (int j = 0; j < 8; j++) v = (v << 8) | b[(3 - i) * 8 + j];
    r.w[i] = v;
  }
  return r;
}
// Big-endian bytes of length n (n <= 32), as a right-aligned number.
LANES_HD static inline U256 u256_from_be_n(const uint8_t* b, unsigned n) {
  U256 r = u256_zero();
  for (unsigned k = 0; k < n; k++) {
    unsigned pos = n - 1 - k;  // byte index from the least significant
    r.w[pos / 8] |= (uint64_t)b[k] << (8 * (pos % 8));
  }
  return r;
}
LANES_HD static inline void u256_to_be(const U256& a, uint8_t* out) {
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 8; j++) out[(3 - i) * 8 + j] = (uint8_t)(a.w[i] >> (8 * (7 - j)));
}
