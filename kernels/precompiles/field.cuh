// Prime-field arithmetic over 4 x 64-bit limbs in Montgomery form, and short-Weierstrass curve
// points with a = 0 in Jacobian coordinates, for both builds. Used by ecrecover (secp256k1 base
// and scalar fields) and the bn254 precompiles (base field, its quadratic extension, G1 and G2).
//
// A field is a parameter struct `P`: `static constexpr int N` limbs of 64 bits, `INV` =
// -P^-1 mod 2^64, and `static LANES_HD void modulus(uint64_t*)`, `r2(uint64_t*)` (R^2 mod P) and
// `one(uint64_t*)` (R mod P) that fill N little-endian limbs, R = 2^(64 N). Values of
// `LanesFp<P>` are kept in Montgomery form (x R mod P), always fully reduced.
// Nothing here is constant-time: the precompiles only handle public data.
#pragma once
#include "precompiles.cuh"

// (hi, lo) = a * b.
LANES_HD static inline void lanes_mul64(uint64_t a, uint64_t b, uint64_t* lo, uint64_t* hi) {
#if defined(__CUDA_ARCH__)
  *lo = a * b;
  *hi = __umul64hi(a, b);
#elif defined(__SIZEOF_INT128__)
  unsigned __int128 p = (unsigned __int128)a * b;
  *lo = (uint64_t)p;
  *hi = (uint64_t)(p >> 64);
#else
  uint64_t a0 = a & 0xffffffffu, a1 = a >> 32, b0 = b & 0xffffffffu, b1 = b >> 32;
  uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  uint64_t mid = (p00 >> 32) + (p01 & 0xffffffffu) + (p10 & 0xffffffffu);
  *lo = (p00 & 0xffffffffu) | (mid << 32);
  *hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
#endif
}

// Returns the low word of a * b + c + *carry and leaves the high word in *carry (no overflow:
// (2^64-1)^2 + 2 (2^64-1) < 2^128).
LANES_HD static inline uint64_t lanes_mac(uint64_t a, uint64_t b, uint64_t c, uint64_t* carry) {
  uint64_t lo, hi;
  lanes_mul64(a, b, &lo, &hi);
  lo += c;
  hi += lo < c;
  lo += *carry;
  hi += lo < *carry;
  *carry = hi;
  return lo;
}

LANES_HD static inline uint64_t lanes_adc(uint64_t a, uint64_t b, uint64_t* carry) {
  uint64_t s = a + b;
  uint64_t c1 = s < a;
  uint64_t s2 = s + *carry;
  uint64_t c2 = s2 < s;
  *carry = c1 + c2;
  return s2;
}

LANES_HD static inline uint64_t lanes_sbb(uint64_t a, uint64_t b, uint64_t* borrow) {
  uint64_t d = a - b;
  uint64_t b1 = a < b;
  uint64_t d2 = d - *borrow;
  uint64_t b2 = d < *borrow;
  *borrow = b1 + b2;
  return d2;
}

// a >= b for n-limb numbers.
LANES_HD static inline bool lanes_big_geq(const uint64_t* a, const uint64_t* b, int n) {
  for (int i = n - 1; i >= 0; i--) {
    if (a[i] != b[i]) return a[i] > b[i];
  }
  return true;
}

// Big-endian 8n bytes to n little-endian limbs, and back.
LANES_HD static inline void lanes_big_from_be(const uint8_t* in, uint64_t* out, int n) {
  for (int i = 0; i < n; i++) {
    uint64_t w = 0;
    for (int j = 0; j < 8; j++) w = (w << 8) | in[(n - 1 - i) * 8 + j];
    out[i] = w;
  }
}

LANES_HD static inline void lanes_big_to_be(const uint64_t* in, uint8_t* out, int n) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < 8; j++) out[(n - 1 - i) * 8 + j] = (uint8_t)(in[i] >> (56 - 8 * j));
}

LANES_HD static inline bool lanes_big_is_zero(const uint64_t* a, int n) {
  uint64_t x = 0;
  for (int i = 0; i < n; i++) x |= a[i];
  return x == 0;
}

LANES_HD static inline bool lanes_u256_geq(const uint64_t a[4], const uint64_t b[4]) { return lanes_big_geq(a, b, 4); }
LANES_HD static inline void lanes_u256_from_be(const uint8_t* in, uint64_t out[4]) { lanes_big_from_be(in, out, 4); }
LANES_HD static inline void lanes_u256_to_be(const uint64_t in[4], uint8_t* out) { lanes_big_to_be(in, out, 4); }
LANES_HD static inline bool lanes_u256_is_zero(const uint64_t a[4]) { return lanes_big_is_zero(a, 4); }

// Bit `i` of a limb array.
LANES_HD static inline int lanes_u256_bit(const uint64_t* a, int i) { return (int)((a[i >> 6] >> (i & 63)) & 1); }

template <class P>
struct LanesFp {
  static constexpr int N = P::N;
  uint64_t v[P::N];

  LANES_HD static LanesFp zero() {
    LanesFp r;
    for (int i = 0; i < P::N; i++) r.v[i] = 0;
    return r;
  }
  LANES_HD static LanesFp one() {
    LanesFp r;
    P::one(r.v);
    return r;
  }
  LANES_HD bool is_zero() const { return lanes_big_is_zero(v, P::N); }
};

template <class P>
LANES_HD static inline LanesFp<P> operator+(const LanesFp<P>& a, const LanesFp<P>& b) {
  const int n = P::N;
  uint64_t p[n];
  P::modulus(p);
  LanesFp<P> r;
  uint64_t c = 0;
  for (int i = 0; i < n; i++) r.v[i] = lanes_adc(a.v[i], b.v[i], &c);
  if (c || lanes_big_geq(r.v, p, n)) {
    uint64_t br = 0;
    for (int i = 0; i < n; i++) r.v[i] = lanes_sbb(r.v[i], p[i], &br);
  }
  return r;
}

template <class P>
LANES_HD static inline LanesFp<P> operator-(const LanesFp<P>& a, const LanesFp<P>& b) {
  const int n = P::N;
  LanesFp<P> r;
  uint64_t br = 0;
  for (int i = 0; i < n; i++) r.v[i] = lanes_sbb(a.v[i], b.v[i], &br);
  if (br) {
    uint64_t p[n];
    P::modulus(p);
    uint64_t c = 0;
    for (int i = 0; i < n; i++) r.v[i] = lanes_adc(r.v[i], p[i], &c);
  }
  return r;
}

template <class P>
LANES_HD static inline LanesFp<P> operator-(const LanesFp<P>& a) {
  return LanesFp<P>::zero() - a;
}

// Montgomery product a * b / R mod P (CIOS, with the two extra words a modulus close to R needs).
template <class P>
LANES_HD LANES_PC_NOINLINE static inline LanesFp<P> operator*(const LanesFp<P>& a, const LanesFp<P>& b) {
  const int n = P::N;
  uint64_t p[n];
  P::modulus(p);
  uint64_t t[n + 2];
  for (int i = 0; i < n + 2; i++) t[i] = 0;
  for (int i = 0; i < n; i++) {
    uint64_t c = 0;
    for (int j = 0; j < n; j++) t[j] = lanes_mac(a.v[j], b.v[i], t[j], &c);
    uint64_t c2 = 0;
    t[n] = lanes_adc(t[n], c, &c2);
    t[n + 1] = c2;
    uint64_t m = t[0] * P::INV;
    c = 0;
    lanes_mac(m, p[0], t[0], &c);
    for (int j = 1; j < n; j++) t[j - 1] = lanes_mac(m, p[j], t[j], &c);
    c2 = 0;
    t[n - 1] = lanes_adc(t[n], c, &c2);
    t[n] = t[n + 1] + c2;
  }
  LanesFp<P> r;
  for (int i = 0; i < n; i++) r.v[i] = t[i];
  if (t[n] || lanes_big_geq(r.v, p, n)) {
    uint64_t br = 0;
    for (int i = 0; i < n; i++) r.v[i] = lanes_sbb(r.v[i], p[i], &br);
  }
  return r;
}

template <class P>
LANES_HD static inline bool operator==(const LanesFp<P>& a, const LanesFp<P>& b) {
  uint64_t x = 0;
  for (int i = 0; i < P::N; i++) x |= a.v[i] ^ b.v[i];
  return x == 0;
}

template <class P>
LANES_HD static inline bool operator!=(const LanesFp<P>& a, const LanesFp<P>& b) {
  return !(a == b);
}

// Plain integer (N limbs, < P) into Montgomery form.
template <class P>
LANES_HD static inline LanesFp<P> lanes_fp_from_limbs(const uint64_t* x) {
  LanesFp<P> a, r2;
  for (int i = 0; i < P::N; i++) a.v[i] = x[i];
  P::r2(r2.v);
  return a * r2;
}

template <class P>
LANES_HD static inline LanesFp<P> lanes_fp_from_u64(uint64_t x) {
  uint64_t w[P::N];
  for (int i = 0; i < P::N; i++) w[i] = 0;
  w[0] = x;
  return lanes_fp_from_limbs<P>(w);
}

// Reads 8 N big-endian bytes; false when the number is not below P.
template <class P>
LANES_HD static inline bool lanes_fp_from_be(const uint8_t* in, LanesFp<P>* out) {
  uint64_t x[P::N], p[P::N];
  lanes_big_from_be(in, x, P::N);
  P::modulus(p);
  if (lanes_big_geq(x, p, P::N)) return false;
  *out = lanes_fp_from_limbs<P>(x);
  return true;
}

// Montgomery form back to a plain integer (N limbs).
template <class P>
LANES_HD static inline void lanes_fp_to_limbs(const LanesFp<P>& a, uint64_t* out) {
  LanesFp<P> one = LanesFp<P>::zero();
  one.v[0] = 1;
  LanesFp<P> r = a * one;
  for (int i = 0; i < P::N; i++) out[i] = r.v[i];
}

template <class P>
LANES_HD static inline void lanes_fp_to_be(const LanesFp<P>& a, uint8_t* out) {
  uint64_t x[P::N];
  lanes_fp_to_limbs<P>(a, x);
  lanes_big_to_be(x, out, P::N);
}

// a^e for an N-limb exponent (square and multiply, most significant bit first).
template <class P>
LANES_HD LANES_PC_NOINLINE static inline LanesFp<P> lanes_fp_pow(const LanesFp<P>& a, const uint64_t* e) {
  LanesFp<P> r = LanesFp<P>::one();
  for (int i = 64 * P::N - 1; i >= 0; i--) {
    r = r * r;
    if (lanes_u256_bit(e, i)) r = r * a;
  }
  return r;
}

// a^-1 = a^(P-2) (P prime); 0 maps to 0.
template <class P>
LANES_HD static inline LanesFp<P> lanes_fp_inv(const LanesFp<P>& a) {
  uint64_t e[P::N];
  P::modulus(e);
  uint64_t br = 0;
  e[0] = lanes_sbb(e[0], 2, &br);
  for (int i = 1; i < P::N; i++) e[i] = lanes_sbb(e[i], 0, &br);
  return lanes_fp_pow(a, e);
}

// Square root for P = 3 mod 4: a^((P+1)/4); false when a is not a square.
template <class P>
LANES_HD static inline bool lanes_fp_sqrt(const LanesFp<P>& a, LanesFp<P>* out) {
  const int n = P::N;
  uint64_t e[n];
  P::modulus(e);
  // (P + 1) / 4 = (P >> 2) + 1 for P = 3 mod 4, without overflow.
  for (int i = 0; i < n; i++) e[i] = (e[i] >> 2) | (i < n - 1 ? e[i + 1] << 62 : 0);
  uint64_t c = 1;
  for (int i = 0; i < n; i++) e[i] = lanes_adc(e[i], 0, &c);
  LanesFp<P> r = lanes_fp_pow(a, e);
  if (!(r * r == a)) return false;
  *out = r;
  return true;
}

// a * k for a small constant k (double and add).
template <class P>
LANES_HD static inline LanesFp<P> lanes_fp_mul_small(const LanesFp<P>& a, uint32_t k) {
  LanesFp<P> r = LanesFp<P>::zero();
  for (int i = 31; i >= 0; i--) {
    r = r + r;
    if ((k >> i) & 1) r = r + a;
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Points on y^2 = x^3 + b over a field F (LanesFp<P> or an extension with the same operators and
// static zero()/one(), is_zero()). `C` gives the curve: `static F b()`.

template <class F>
struct LanesJac {
  F x, y, z;  // (X / Z^2, Y / Z^3); Z == 0 is the point at infinity
};

template <class F>
LANES_HD static inline LanesJac<F> lanes_jac_infinity() {
  LanesJac<F> r;
  r.x = F::one(), r.y = F::one(), r.z = F::zero();
  return r;
}

template <class F>
LANES_HD static inline LanesJac<F> lanes_jac_from_affine(const F& x, const F& y) {
  LanesJac<F> r;
  r.x = x, r.y = y, r.z = F::one();
  return r;
}

// 2P (dbl-2009-l, a = 0).
template <class F>
LANES_HD LANES_PC_NOINLINE static inline LanesJac<F> lanes_jac_double(const LanesJac<F>& p) {
  if (p.z.is_zero() || p.y.is_zero()) return lanes_jac_infinity<F>();
  F a = p.x * p.x;
  F b = p.y * p.y;
  F c = b * b;
  F t = p.x + b;
  F d = t * t - a - c;
  d = d + d;
  F e = a + a + a;
  F f = e * e;
  LanesJac<F> r;
  r.x = f - d - d;
  F c8 = c + c;
  c8 = c8 + c8;
  c8 = c8 + c8;
  r.y = e * (d - r.x) - c8;
  F yz = p.y * p.z;
  r.z = yz + yz;
  return r;
}

// P + Q (add-2007-bl), handling infinity, P == Q and P == -Q.
template <class F>
LANES_HD LANES_PC_NOINLINE static inline LanesJac<F> lanes_jac_add(const LanesJac<F>& p, const LanesJac<F>& q) {
  if (p.z.is_zero()) return q;
  if (q.z.is_zero()) return p;
  F z1z1 = p.z * p.z;
  F z2z2 = q.z * q.z;
  F u1 = p.x * z2z2;
  F u2 = q.x * z1z1;
  F s1 = p.y * q.z * z2z2;
  F s2 = q.y * p.z * z1z1;
  F h = u2 - u1;
  F rr = s2 - s1;
  if (h.is_zero()) {
    if (rr.is_zero()) return lanes_jac_double(p);
    return lanes_jac_infinity<F>();
  }
  F h2 = h + h;
  F i = h2 * h2;
  F j = h * i;
  rr = rr + rr;
  F v = u1 * i;
  LanesJac<F> r;
  r.x = rr * rr - j - v - v;
  F s1j = s1 * j;
  r.y = rr * (v - r.x) - s1j - s1j;
  F zs = p.z + q.z;
  r.z = (zs * zs - z1z1 - z2z2) * h;
  return r;
}

template <class F>
LANES_HD static inline LanesJac<F> lanes_jac_neg(const LanesJac<F>& p) {
  LanesJac<F> r = p;
  r.y = -p.y;
  return r;
}

// k * P for a 4-limb scalar (double and add, most significant bit first).
template <class F>
LANES_HD LANES_PC_NOINLINE static inline LanesJac<F> lanes_jac_mul(const LanesJac<F>& p, const uint64_t k[4]) {
  LanesJac<F> r = lanes_jac_infinity<F>();
  int top = 255;
  while (top >= 0 && !lanes_u256_bit(k, top)) top--;
  for (int i = top; i >= 0; i--) {
    r = lanes_jac_double(r);
    if (lanes_u256_bit(k, i)) r = lanes_jac_add(r, p);
  }
  return r;
}

// Affine coordinates of a finite point; `inv` is the field inversion.
template <class F>
LANES_HD static inline void lanes_jac_to_affine(const LanesJac<F>& p, const F& zinv, F* x, F* y) {
  F z2 = zinv * zinv;
  *x = p.x * z2;
  *y = p.y * z2 * zinv;
}

// y^2 == x^3 + b.
template <class F>
LANES_HD static inline bool lanes_on_curve(const F& x, const F& y, const F& b) {
  return y * y == x * x * x + b;
}
