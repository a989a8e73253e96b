// 0x06 bn254 add, 0x07 bn254 mul (EIP-196, gas of EIP-1108) and 0x08 bn254 pairing check
// (EIP-197, 45000 + 34000 k gas), for both builds, with revm 43's rules: inputs right-padded to
// their fixed length (add, mul); coordinates must be below p; (0, 0) is the point at infinity;
// other points must be on the curve (G2 points also in the order-r subgroup); a broken rule is a
// failure (all gas consumed).
//
// Fields: Fp (4 x 64-bit Montgomery, field.cuh), Fp2 = Fp[u]/(u^2 + 1), Fp12 = Fp2[w]/(w^6 - xi)
// with xi = 9 + u. G2 lives on the twist y^2 = x^3 + 3/xi over Fp2, embedded into E(Fp12) by
// (x, y) -> (x w^2, y w^3). The pairing is the ate pairing with loop length T = t - 1 = 6 z^2
// (z the BN parameter), affine Miller loop, and the check "product == 1 after the final
// exponentiation" done as: g = f^((p^6 + 1) / r) lies in the subfield Fp6 = Fp2[w^2] (its odd
// w-coefficients are zero), which holds exactly when f^((p^12 - 1) / r) == 1. No inversion in
// Fp12 is needed.
#pragma once
#include "precompiles.cuh"
#include "tower.cuh"

// The bn254 base field.
struct LanesBnP {
  static constexpr int N = 4;
  static constexpr uint64_t INV = 0x87d20782e4866389ULL;
  LANES_HD static void modulus(uint64_t* m) {
    m[0] = 0x3c208c16d87cfd47ULL, m[1] = 0x97816a916871ca8dULL, m[2] = 0xb85045b68181585dULL,
    m[3] = 0x30644e72e131a029ULL;
  }
  LANES_HD static void r2(uint64_t* m) {
    m[0] = 0xf32cfc5b538afa89ULL, m[1] = 0xb5e71911d44501fbULL, m[2] = 0x47ab1eff0a417ff6ULL,
    m[3] = 0x06d89f71cab8351fULL;
  }
  LANES_HD static void one(uint64_t* m) {
    m[0] = 0xd35d438dc58f0d9dULL, m[1] = 0x0a78eb28f5c70b3dULL, m[2] = 0x666ea36f7879462cULL,
    m[3] = 0x0e0a77c19a07df2fULL;
  }
};

typedef LanesFp<LanesBnP> LanesBnFp;

LANES_HD static inline LanesBnFp lanes_bn_fp_raw(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  LanesBnFp r;
  r.v[0] = a, r.v[1] = b, r.v[2] = c, r.v[3] = d;
  return r;
}

// The bn254 tower (tower.cuh): xi = 9 + u.
struct LanesBnTower {
  typedef LanesBnFp Fp;
  static constexpr uint32_t XI_A = 9;
  static constexpr int HARD_LIMBS = 12;
  LANES_HD static void gamma(int i, LanesFp2<LanesBnTower>* g);
  LANES_HD static void hard(uint64_t* h) {
    const uint64_t k[12] = {0xe81bb482ccdf42b1ULL, 0x5abf5cc4f49c36d4ULL, 0xf1154e7e1da014fdULL,
                            0xdcc7b44c87cdbacfULL, 0xaaa441e3954bcf8aULL, 0x6b887d56d5095f23ULL,
                            0x79581e16f3fd90c6ULL, 0x3b1b1355d189227dULL, 0x4e529a5861876f6bULL,
                            0x6c0eb522d5b12278ULL, 0x331ec15183177fafULL, 0x01baaa710b0759adULL};
    for (int i = 0; i < 12; i++) h[i] = k[i];
  }
};

typedef LanesFp2<LanesBnTower> LanesBnFp2;
typedef LanesFp12<LanesBnTower> LanesBnFp12;

// xi^(i (p - 1) / 6), Montgomery form.
LANES_HD inline void LanesBnTower::gamma(int i, LanesBnFp2* out) {
  const uint64_t g[5][2][4] = {
      {{0xaf9ba69633144907ULL, 0xca6b1d7387afb78aULL, 0x11bded5ef08a2087ULL, 0x02f34d751a1f3a7cULL},
       {0xa222ae234c492d72ULL, 0xd00f02a4565de15bULL, 0xdc2ff3a253dfc926ULL, 0x10a75716b3899551ULL}},
      {{0xb5773b104563ab30ULL, 0x347f91c8a9aa6454ULL, 0x7a007127242e0991ULL, 0x1956bcd8118214ecULL},
       {0x6e849f1ea0aa4757ULL, 0xaa1c7b6d89f89141ULL, 0xb6e713cdfae0ca3aULL, 0x26694fbb4e82ebc3ULL}},
      {{0xe4bbdd0c2936b629ULL, 0xbb30f162e133bacbULL, 0x31a9d1b6f9645366ULL, 0x253570bea500f8ddULL},
       {0xa1d77ce45ffe77c7ULL, 0x07affd117826d1dbULL, 0x6d16bd27bb7edc6bULL, 0x2c87200285defeccULL}},
      {{0x7361d77f843abe92ULL, 0xa5bb2bd3273411fbULL, 0x9c941f314b3e2399ULL, 0x15df9cddbb9fd3ecULL},
       {0x5dddfd154bd8c949ULL, 0x62cb29a5a4445b60ULL, 0x37bc870a0c7dd2b9ULL, 0x24830a9d3171f0fdULL}},
      {{0xc970692f41690fe7ULL, 0xe240342127694b0bULL, 0x32bee66b83c459e8ULL, 0x12aabced0ab08841ULL},
       {0x0d485d2340aebfa9ULL, 0x05193418ab2fcc57ULL, 0xd3b0a40b8a4910f5ULL, 0x2f21ebb535d2925aULL}}};
  for (int k = 0; k < 4; k++) out->c0.v[k] = g[i - 1][0][k], out->c1.v[k] = g[i - 1][1][k];
}

// ---------------------------------------------------------------------------------------------
// Points

// G1: y^2 = x^3 + 3. Reads 64 bytes; false when a coordinate is >= p or the point is off the curve.
LANES_HD static inline bool lanes_bn_g1_read(const uint8_t* in, LanesJac<LanesBnFp>* out) {
  LanesBnFp x, y;
  if (!lanes_fp_from_be<LanesBnP>(in, &x) || !lanes_fp_from_be<LanesBnP>(in + 32, &y)) return false;
  if (x.is_zero() && y.is_zero()) {
    *out = lanes_jac_infinity<LanesBnFp>();
    return true;
  }
  if (!lanes_on_curve(x, y, lanes_fp_from_u64<LanesBnP>(3))) return false;
  *out = lanes_jac_from_affine(x, y);
  return true;
}

LANES_HD static inline void lanes_bn_g1_write(const LanesJac<LanesBnFp>& p, uint8_t* out) {
  if (p.z.is_zero()) {
    for (int i = 0; i < 64; i++) out[i] = 0;
    return;
  }
  LanesBnFp x, y;
  lanes_jac_to_affine(p, lanes_fp_inv(p.z), &x, &y);
  lanes_fp_to_be(x, out);
  lanes_fp_to_be(y, out + 32);
}

// b' = 3 / xi of the twist.
LANES_HD static inline LanesBnFp2 lanes_bn_twist_b() {
  return LanesBnFp2::make(lanes_bn_fp_raw(0x3bf938e377b802a8ULL, 0x020b1b273633535dULL, 0x26b7edf049755260ULL,
                                   0x2514c6324384a86dULL),
                   lanes_bn_fp_raw(0x38e7ecccd1dcff67ULL, 0x65f0b37d93ce0d3eULL, 0xd749d0dd22ac00aaULL,
                                   0x0141b9ce4a688d4dULL));
}

// G2 point (affine, or infinity). Reads 128 bytes (x, y as c1 || c0 each); false when a
// coordinate is >= p, the point is off the twist, or not in the order-r subgroup.
LANES_HD LANES_PC_NOINLINE static inline bool lanes_bn_g2_read(const uint8_t* in, LanesBnFp2* x, LanesBnFp2* y, bool* infinity) {
  if (!lanes_fp2_from_be_c1c0(in, x) || !lanes_fp2_from_be_c1c0(in + 64, y)) return false;
  *infinity = x->is_zero() && y->is_zero();
  if (*infinity) return true;
  if (!lanes_on_curve(*x, *y, lanes_bn_twist_b())) return false;
  const uint64_t r[4] = {0x43e1f593f0000001ULL, 0x2833e84879b97091ULL, 0xb85045b68181585dULL,
                         0x30644e72e131a029ULL};
  LanesJac<LanesBnFp2> rq = lanes_jac_mul(lanes_jac_from_affine(*x, *y), r);
  return rq.z.is_zero();
}

// ---------------------------------------------------------------------------------------------
// Pairing

// The line through T (slope lambda) evaluated at P = (xp, yp):
// yp - lambda xp w + (lambda xT - yT) w^3.
LANES_HD static inline LanesBnFp12 lanes_bn_line(const LanesBnFp2& lambda, const LanesBnFp2& xt,
                                                 const LanesBnFp2& yt, const LanesBnFp& xp, const LanesBnFp& yp) {
  LanesBnFp12 l;
  l.c[0] = LanesBnFp2::make(yp, LanesBnFp::zero());
  l.c[1] = -(lambda * xp);
  l.c[2] = LanesBnFp2::zero();
  l.c[3] = lambda * xt - yt;
  l.c[4] = LanesBnFp2::zero();
  l.c[5] = LanesBnFp2::zero();
  return l;
}

// Miller loop f_{T,Q}(P) with T = 6 z^2, for finite P in G1 (affine) and Q in G2 (affine).
LANES_HD LANES_PC_NOINLINE static inline LanesBnFp12 lanes_bn_miller(const LanesBnFp& xp, const LanesBnFp& yp,
                                                   const LanesBnFp2& xq, const LanesBnFp2& yq) {
  const uint64_t loop[2] = {0xf83e9682e87cfd46ULL, 0x6f4d8248eeb859fbULL};  // 6 z^2, 127 bits
  LanesBnFp12 f = LanesBnFp12::one();
  LanesBnFp2 xt = xq, yt = yq;
  for (int i = 125; i >= 0; i--) {
    // doubling step
    LanesBnFp2 x2 = xt * xt;
    LanesBnFp2 lambda = (x2 + x2 + x2) * lanes_fp2_inv(yt + yt);
    f = lanes_fp12_mul(f, f);
    f = lanes_fp12_mul(f, lanes_bn_line(lambda, xt, yt, xp, yp));
    LanesBnFp2 x3 = lambda * lambda - xt - xt;
    yt = lambda * (xt - x3) - yt;
    xt = x3;
    if ((loop[i >> 6] >> (i & 63)) & 1) {
      // addition step T + Q (T != +-Q: T = kQ with 1 < k < r - 1)
      lambda = (yq - yt) * lanes_fp2_inv(xq - xt);
      f = lanes_fp12_mul(f, lanes_bn_line(lambda, xt, yt, xp, yp));
      x3 = lambda * lambda - xt - xq;
      yt = lambda * (xt - x3) - yt;
      xt = x3;
    }
  }
  return f;
}

// ---------------------------------------------------------------------------------------------
// The precompile entry points.

LANES_HD LANES_PC_NOINLINE static inline int lanes_pc_bn254_add(const uint8_t* in, uint32_t in_len, uint64_t gas_limit,
                                              uint8_t* out, uint32_t out_cap, uint32_t* out_len,
                                              uint64_t* gas_used) {
  if (gas_limit < 150) return LANES_PC_OUT_OF_GAS;
  if (out_cap < 64) return LANES_PC_UNSUPPORTED;
  uint8_t buf[128];
  for (uint32_t i = 0; i < 128; i++) buf[i] = i < in_len ? in[i] : 0;
  LanesJac<LanesBnFp> a, b;
  if (!lanes_bn_g1_read(buf, &a) || !lanes_bn_g1_read(buf + 64, &b)) return LANES_PC_FAILURE;
  lanes_bn_g1_write(lanes_jac_add(a, b), out);
  *out_len = 64;
  *gas_used = 150;
  return LANES_PC_OK;
}

LANES_HD LANES_PC_NOINLINE static inline int lanes_pc_bn254_mul(const uint8_t* in, uint32_t in_len, uint64_t gas_limit,
                                              uint8_t* out, uint32_t out_cap, uint32_t* out_len,
                                              uint64_t* gas_used) {
  if (gas_limit < 6000) return LANES_PC_OUT_OF_GAS;
  if (out_cap < 64) return LANES_PC_UNSUPPORTED;
  uint8_t buf[96];
  for (uint32_t i = 0; i < 96; i++) buf[i] = i < in_len ? in[i] : 0;
  LanesJac<LanesBnFp> p;
  if (!lanes_bn_g1_read(buf, &p)) return LANES_PC_FAILURE;
  uint64_t k[4];
  lanes_u256_from_be(buf + 64, k);
  lanes_bn_g1_write(lanes_jac_mul(p, k), out);
  *out_len = 64;
  *gas_used = 6000;
  return LANES_PC_OK;
}

LANES_HD LANES_PC_NOINLINE static inline int lanes_pc_bn254_pairing(const uint8_t* in, uint32_t in_len, uint64_t gas_limit,
                                                  uint8_t* out, uint32_t out_cap, uint32_t* out_len,
                                                  uint64_t* gas_used) {
  uint64_t pairs = in_len / 192;
  uint64_t gas = 45000 + 34000 * pairs;
  if (gas > gas_limit) return LANES_PC_OUT_OF_GAS;
  if (in_len % 192 != 0) return LANES_PC_FAILURE;
  if (out_cap < 32) return LANES_PC_UNSUPPORTED;
  LanesBnFp12 f = LanesBnFp12::one();
  bool any = false;
  for (uint64_t k = 0; k < pairs; k++) {
    const uint8_t* pair = in + 192 * k;
    LanesJac<LanesBnFp> p;
    if (!lanes_bn_g1_read(pair, &p)) return LANES_PC_FAILURE;
    LanesBnFp2 xq, yq;
    bool q_inf;
    if (!lanes_bn_g2_read(pair + 64, &xq, &yq, &q_inf)) return LANES_PC_FAILURE;
    if (p.z.is_zero() || q_inf) continue;
    // p was read in affine form (z == 1)
    f = lanes_fp12_mul(f, lanes_bn_miller(p.x, p.y, xq, yq));
    any = true;
  }
  bool ok = !any || lanes_fp12_final_exp_is_one(f);
  for (int i = 0; i < 32; i++) out[i] = 0;
  out[31] = ok ? 1 : 0;
  *out_len = 32;
  *gas_used = gas;
  return LANES_PC_OK;
}
