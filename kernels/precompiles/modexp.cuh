// 0x05 modexp (EIP-198, gas of EIP-2565 as revm 43 charges it for Cancun), for both builds.
//
// Modulus up to LANES_MODEXP_MAX_BYTES (beyond: LANES_PC_UNSUPPORTED, after the gas check, so an
// out-of-gas call still fails the same way on the device); a zero-length modulus needs no
// arithmetic at all. The base is reduced modulo the modulus in 256-byte chunks and the exponent
// is read bit by bit straight from the input, so their lengths are bounded only by the gas.
// Arithmetic: 32-bit limbs, schoolbook products, Knuth's algorithm D for the remainder; works for
// every modulus (even ones included).
#pragma once
#include "precompiles.cuh"

#define LANES_MODEXP_MAX_BYTES 512
// At most this many modular squarings on the device (an exponent of 2^17 significant bits): past
// it the call is LANES_PC_UNSUPPORTED and runs on the CPU, so that one thread of a wave never
// spends seconds on a long exponent its gas happens to pay for.
#define LANES_MODEXP_MAX_SQUARINGS (1u << 17)
#define LANES_MODEXP_MAX_LIMBS (LANES_MODEXP_MAX_BYTES / 4)

// Byte `i` of the input after the 96-byte header (`data` = in + 96), zero past its end.
LANES_HD static inline uint8_t lanes_modexp_byte(const uint8_t* in, uint32_t in_len, uint64_t i) {
  uint64_t at = 96 + i;
  return (i < (1ULL << 40) && at < in_len) ? in[at] : 0;
}

// Reads a 32-byte big-endian header word; returns false when it does not fit in 64 bits.
LANES_HD static inline bool lanes_modexp_len(const uint8_t* in, uint32_t in_len, uint32_t off,
                                             uint64_t* len) {
  uint64_t v = 0;
  bool fits = true;
  for (uint32_t i = 0; i < 32; i++) {
    uint8_t b = off + i < in_len ? in[off + i] : 0;
    if (i < 24) {
      if (b) fits = false;
    } else {
      v = (v << 8) | b;
    }
  }
  *len = v;
  return fits;
}

// Loads `len` big-endian bytes starting at data offset `off` into little-endian 32-bit limbs.
LANES_HD static inline uint32_t lanes_modexp_load(const uint8_t* in, uint32_t in_len, uint64_t off,
                                                  uint32_t len, uint32_t* limbs) {
  uint32_t n = (len + 3) / 4;
  for (uint32_t i = 0; i < n; i++) limbs[i] = 0;
  for (uint32_t i = 0; i < len; i++) {
    uint32_t pos = len - 1 - i;  // byte significance
    limbs[pos / 4] |= (uint32_t)lanes_modexp_byte(in, in_len, off + i) << (8 * (pos % 4));
  }
  while (n > 0 && limbs[n - 1] == 0) n--;
  return n;
}

LANES_HD static inline int lanes_clz32(uint32_t x) {
  int n = 0;
  if (x == 0) return 32;
  while (!(x & 0x80000000u)) x <<= 1, n++;
  return n;
}

// r = u mod v (Knuth D). u has `m` limbs (m < 2 * LANES_MODEXP_MAX_LIMBS + 1), v has n >= 1
// limbs with v[n-1] != 0. r gets n limbs. Scratch is local.
LANES_HD LANES_PC_NOINLINE static inline void lanes_modexp_rem(const uint32_t* u, uint32_t m, const uint32_t* v,
                                             uint32_t n, uint32_t* r) {
  if (m < n) {
    for (uint32_t i = 0; i < n; i++) r[i] = i < m ? u[i] : 0;
    return;
  }
  if (n == 1) {
    uint64_t rem = 0;
    for (uint32_t i = m; i-- > 0;) rem = ((rem << 32) | u[i]) % v[0];
    r[0] = (uint32_t)rem;
    return;
  }
  uint32_t un[2 * LANES_MODEXP_MAX_LIMBS + 1];
  uint32_t vn[LANES_MODEXP_MAX_LIMBS];
  int s = lanes_clz32(v[n - 1]);
  for (uint32_t i = n - 1; i > 0; i--) vn[i] = s ? (v[i] << s) | (v[i - 1] >> (32 - s)) : v[i];
  vn[0] = v[0] << s;
  un[m] = s ? u[m - 1] >> (32 - s) : 0;
  for (uint32_t i = m - 1; i > 0; i--) un[i] = s ? (u[i] << s) | (u[i - 1] >> (32 - s)) : u[i];
  un[0] = u[0] << s;
  const uint64_t b = 1ULL << 32;
  for (uint32_t j = m - n + 1; j-- > 0;) {
    uint64_t num = ((uint64_t)un[j + n] << 32) | un[j + n - 1];
    uint64_t qhat = num / vn[n - 1];
    uint64_t rhat = num % vn[n - 1];
    while (qhat >= b || qhat * vn[n - 2] > ((rhat << 32) | un[j + n - 2])) {
      qhat--;
      rhat += vn[n - 1];
      if (rhat >= b) break;
    }
    // un[j..j+n] -= qhat * vn
    int64_t borrow = 0;
    uint64_t carry = 0;
    for (uint32_t i = 0; i < n; i++) {
      uint64_t p = qhat * vn[i] + carry;
      carry = p >> 32;
      int64_t t = (int64_t)un[i + j] - (int64_t)(p & 0xffffffffu) + borrow;
      un[i + j] = (uint32_t)t;
      borrow = t >> 32;
    }
    int64_t t = (int64_t)un[j + n] - (int64_t)carry + borrow;
    un[j + n] = (uint32_t)t;
    if (t < 0) {  // qhat was one too large: add v back
      uint64_t c = 0;
      for (uint32_t i = 0; i < n; i++) {
        uint64_t sum = (uint64_t)un[i + j] + vn[i] + c;
        un[i + j] = (uint32_t)sum;
        c = sum >> 32;
      }
      un[j + n] += (uint32_t)c;
    }
  }
  for (uint32_t i = 0; i < n; i++) r[i] = s ? (un[i] >> s) | (un[i + 1] << (32 - s)) : un[i];
}

// a = a * b mod v (all n limbs, a, b < v).
LANES_HD LANES_PC_NOINLINE static inline void lanes_modexp_mulmod(uint32_t* a, const uint32_t* b, const uint32_t* v,
                                                uint32_t n) {
  uint32_t prod[2 * LANES_MODEXP_MAX_LIMBS];
  for (uint32_t i = 0; i < 2 * n; i++) prod[i] = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint64_t carry = 0;
    uint64_t ai = a[i];
    if (ai == 0) continue;
    for (uint32_t j = 0; j < n; j++) {
      uint64_t t = ai * b[j] + prod[i + j] + carry;
      prod[i + j] = (uint32_t)t;
      carry = t >> 32;
    }
    prod[i + n] = (uint32_t)carry;
  }
  uint32_t m = 2 * n;
  while (m > 0 && prod[m - 1] == 0) m--;
  lanes_modexp_rem(prod, m, v, n, a);
}

// 64x64 -> 128-bit product through 32-bit halves (portable; not on a hot path).
LANES_HD static inline void lanes_modexp_mul64(uint64_t x, uint64_t y, uint64_t* lo, uint64_t* hi) {
  uint64_t x0 = x & 0xffffffffu, x1 = x >> 32, y0 = y & 0xffffffffu, y1 = y >> 32;
  uint64_t p00 = x0 * y0, p01 = x0 * y1, p10 = x1 * y0, p11 = x1 * y1;
  uint64_t mid = (p00 >> 32) + (p01 & 0xffffffffu) + (p10 & 0xffffffffu);
  *lo = (p00 & 0xffffffffu) | (mid << 32);
  *hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

// EIP-2565 gas: max(200, words^2 * iterations / 3), saturated to u64 as revm does.
LANES_HD static inline uint64_t lanes_modexp_gas(uint64_t base_len, uint64_t exp_len, uint64_t mod_len,
                                                 const uint8_t exp_head[32]) {
  uint64_t max_len = base_len > mod_len ? base_len : mod_len;
  uint64_t words = max_len / 8 + (max_len % 8 != 0);
  // bit length of the exponent's head (its first min(exp_len, 32) bytes as a number)
  uint32_t bits = 0;
  for (int i = 0; i < 32; i++) {
    if (exp_head[i]) {
      bits = (uint32_t)(31 - i) * 8 + (32 - (uint32_t)lanes_clz32(exp_head[i]));
      break;
    }
  }
  uint64_t iter;
  if (exp_len <= 32) {
    iter = bits == 0 ? 0 : bits - 1;
  } else {
    uint64_t e = exp_len - 32;
    uint64_t mul = e > (~0ULL) / 8 ? ~0ULL : 8 * e;
    uint64_t add = (bits > 1 ? bits : 1) - 1;
    iter = mul + add < mul ? ~0ULL : mul + add;
  }
  if (iter < 1) iter = 1;
  uint64_t w_lo, w_hi;  // words^2 < 2^128
  lanes_modexp_mul64(words, words, &w_lo, &w_hi);
  uint64_t a_lo, a_hi, b_lo, b_hi;  // (w_hi:w_lo) * iter = r2:r1:r0
  lanes_modexp_mul64(w_lo, iter, &a_lo, &a_hi);
  lanes_modexp_mul64(w_hi, iter, &b_lo, &b_hi);
  uint64_t r0 = a_lo, r1 = a_hi + b_lo, r2 = b_hi + (a_hi + b_lo < a_hi);
  if (r2 >= 3) return ~0ULL;  // quotient >= 2^128
  // (r2:r1:r0) / 3 by 32-bit long division
  uint64_t rem = r2;
  uint64_t parts[4] = {r1 >> 32, r1 & 0xffffffffu, r0 >> 32, r0 & 0xffffffffu};
  uint64_t q[4];
  for (int i = 0; i < 4; i++) {
    uint64_t cur = (rem << 32) | parts[i];
    q[i] = cur / 3;
    rem = cur % 3;
  }
  if (q[0] | q[1]) return ~0ULL;
  uint64_t gas = (q[2] << 32) | q[3];
  return gas < 200 ? 200 : gas;
}

LANES_HD LANES_PC_NOINLINE static inline int lanes_pc_modexp(const uint8_t* in, uint32_t in_len, uint64_t gas_limit,
                                           uint8_t* out, uint32_t out_cap, uint32_t* out_len,
                                           uint64_t* gas_used) {
  if (gas_limit < 200) return LANES_PC_OUT_OF_GAS;
  uint64_t base_len, exp_len, mod_len;
  bool base_fits = lanes_modexp_len(in, in_len, 0, &base_len);
  bool exp_fits = lanes_modexp_len(in, in_len, 32, &exp_len);
  bool mod_fits = lanes_modexp_len(in, in_len, 64, &mod_len);
  if (!base_fits || !mod_fits) return LANES_PC_FAILURE;  // revm: usize conversion error
  if (!exp_fits) exp_len = ~0ULL;
  // The exponent's first min(exp_len, 32) bytes, left-padded to 32.
  uint8_t head[32];
  uint64_t hl = exp_len < 32 ? exp_len : 32;
  for (int i = 0; i < 32; i++) head[i] = 0;
  for (uint64_t i = 0; i < hl; i++) {
    head[32 - hl + i] = lanes_modexp_byte(in, in_len, base_len + i);
  }
  uint64_t gas = lanes_modexp_gas(base_len, exp_len, mod_len, head);
  if (gas > gas_limit) return LANES_PC_OUT_OF_GAS;
  if (base_len == 0 && mod_len == 0) {
    *out_len = 0;
    *gas_used = gas;
    return LANES_PC_OK;
  }
  if (mod_len == 0) {  // the output is mod_len bytes: nothing to compute
    *out_len = 0;
    *gas_used = gas;
    return LANES_PC_OK;
  }
  if (mod_len > LANES_MODEXP_MAX_BYTES || mod_len > out_cap) return LANES_PC_UNSUPPORTED;
  uint32_t v[LANES_MODEXP_MAX_LIMBS], base[LANES_MODEXP_MAX_LIMBS], acc[LANES_MODEXP_MAX_LIMBS];
  uint32_t n = lanes_modexp_load(in, in_len, base_len + exp_len, (uint32_t)mod_len, v);
  for (uint32_t i = 0; i < mod_len; i++) out[i] = 0;
  *out_len = (uint32_t)mod_len;
  *gas_used = gas;
  if (n == 0) return LANES_PC_OK;  // modulus 0: zero output
  // base mod v, 256 bytes (64 limbs) at a time, most significant chunk first:
  // acc = (acc * 2^2048 + chunk) mod v.
  {
    uint32_t u[2 * LANES_MODEXP_MAX_LIMBS];
    uint64_t first = base_len % 256;
    if (first == 0 && base_len > 0) first = 256;
    uint32_t un = lanes_modexp_load(in, in_len, 0, (uint32_t)first, u);
    lanes_modexp_rem(u, un, v, n, base);
    for (uint64_t off = first; off < base_len; off += 256) {
      lanes_modexp_load(in, in_len, off, 256, u);
      for (uint32_t i = 0; i < n; i++) u[64 + i] = base[i];
      uint32_t m = 64 + n;
      while (m > 0 && u[m - 1] == 0) m--;
      lanes_modexp_rem(u, m, v, n, base);
    }
  }
  // acc = 1 mod v
  for (uint32_t i = 0; i < n; i++) acc[i] = 0;
  acc[0] = 1;
  lanes_modexp_rem(acc, 1, v, n, acc);
  // exponent bits, most significant first; exp_len fits in memory terms only when the input
  // holds it, the rest are zero bytes (skipped without work past the input's end).
  // Every exponent byte lies inside the input here (exp_len < in_len): one past its end would put
  // the whole modulus past it too, and a zero modulus returned above.
  uint64_t exp_off = base_len;
  bool started = false;
  uint64_t squarings = 0;
  for (uint64_t i = 0; i < exp_len; i++) {
    uint8_t byte = lanes_modexp_byte(in, in_len, exp_off + i);
    if (!started && byte == 0) continue;
    if (started && (squarings += 8) > LANES_MODEXP_MAX_SQUARINGS) return LANES_PC_UNSUPPORTED;
    for (int bit = 7; bit >= 0; bit--) {
      if (started) lanes_modexp_mulmod(acc, acc, v, n);
      if ((byte >> bit) & 1) {
        lanes_modexp_mulmod(acc, base, v, n);
        started = true;
      }
    }
  }
  for (uint32_t i = 0; i < mod_len; i++) {
    uint32_t pos = (uint32_t)mod_len - 1 - i;
    uint32_t limb = pos / 4;
    out[i] = limb < n ? (uint8_t)(acc[limb] >> (8 * (pos % 4))) : 0;
  }
  return LANES_PC_OK;
}
