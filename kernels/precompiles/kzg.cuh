// 0x0a KZG point evaluation (EIP-4844), for both builds, with revm 43's rules (c-kzg backend):
// 50000 gas; the input must be 192 bytes: versioned_hash | z | y | commitment (48) | proof (48);
// versioned_hash must be sha256(commitment) with its first byte set to 0x01; z and y must be
// below the BLS12-381 group order r; commitment and proof must be valid compressed G1 points in the
// order-r subgroup; and e(commitment - y G1, G2) == e(proof, [tau] G2 - z G2) must hold, with
// [tau] G2 the second G2 point of the Ethereum KZG trusted setup. Any rule broken: failure.
// Output: FIELD_ELEMENTS_PER_BLOB (4096) and r, as two 32-byte big-endian words.
//
// BLS12-381: Fp over 6 x 64-bit limbs (field.cuh), Fp2/Fp12 with xi = 1 + u (tower.cuh), G2 on
// the M-type twist y^2 = x^3 + 4 (1 + u), embedded by (x, y) -> (x w^-2, y w^-3). The Miller loop
// is the optimal ate loop over |z| = 0xd201000000010000 (the sign of z only inverts the result,
// which does not change whether the product is one); each line is scaled by w^3, an element of
// Fp4 that the final exponentiation sends to one.
#pragma once
#include "precompiles.cuh"
#include "tower.cuh"
#include "hashes.cuh"

// The BLS12-381 base field.
struct LanesBlsP {
  static constexpr int N = 6;
  static constexpr uint64_t INV = 0x89f3fffcfffcfffdULL;
  LANES_HD static void modulus(uint64_t* m) {
    m[0] = 0xb9feffffffffaaabULL, m[1] = 0x1eabfffeb153ffffULL, m[2] = 0x6730d2a0f6b0f624ULL, m[3] = 0x64774b84f38512bfULL, m[4] = 0x4b1ba7b6434bacd7ULL, m[5] = 0x1a0111ea397fe69aULL;
  }
  LANES_HD static void r2(uint64_t* m) {
    m[0] = 0xf4df1f341c341746ULL, m[1] = 0x0a76e6a609d104f1ULL, m[2] = 0x8de5476c4c95b6d5ULL, m[3] = 0x67eb88a9939d83c0ULL, m[4] = 0x9a793e85b519952dULL, m[5] = 0x11988fe592cae3aaULL;
  }
  LANES_HD static void one(uint64_t* m) {
    m[0] = 0x760900000002fffdULL, m[1] = 0xebf4000bc40c0002ULL, m[2] = 0x5f48985753c758baULL, m[3] = 0x77ce585370525745ULL, m[4] = 0x5c071a97a256ec6dULL, m[5] = 0x15f65ec3fa80e493ULL;
  }
};

typedef LanesFp<LanesBlsP> LanesBlsFp;

// The BLS12-381 tower (tower.cuh): xi = 1 + u.
struct LanesBlsTower {
  typedef LanesBlsFp Fp;
  static constexpr uint32_t XI_A = 1;
  static constexpr int HARD_LIMBS = 20;
  LANES_HD static void gamma(int i, LanesFp2<LanesBlsTower>* g);
  LANES_HD static void hard(uint64_t* h) {
    const uint64_t k[20] = {0xe516c3f438e3ba79ULL, 0xfa9912aae208ccf1ULL, 0x905ce937335d5b68ULL, 0xc71a2629b0dea236ULL, 0x83774940996754c8ULL, 0x21d160aeb6a1e799ULL, 0x2ed0b283ed237db4ULL, 0x915c97f36c6f1821ULL, 0x67f17fcbde783765ULL, 0x2378b9039096d1b7ULL, 0x7988f8761bdc51dcULL, 0x2076995003fc77a1ULL, 0x827eca0ba621315bULL, 0xe5a72bce8d63cb9fULL, 0xf68f7764c28b6f8aULL, 0x2f230063cf081517ULL, 0x94506632528d6a9aULL, 0xd3cde88eeb996ca3ULL, 0xc0bd38c3195c899eULL, 0x000f686b3d807d01ULL};
    for (int i = 0; i < 20; i++) h[i] = k[i];
  }
};

typedef LanesFp2<LanesBlsTower> LanesBlsFp2;
typedef LanesFp12<LanesBlsTower> LanesBlsFp12;

// xi^(i (p - 1) / 6), Montgomery form.
LANES_HD inline void LanesBlsTower::gamma(int i, LanesBlsFp2* out) {
  const uint64_t g[5][2][6] = {
      {{0x07089552b319d465ULL, 0xc6695f92b50a8313ULL, 0x97e83cccd117228fULL, 0xa35baecab2dc29eeULL, 0x1ce393ea5daace4dULL, 0x08f2220fb0fb66ebULL},
       {0xb2f66aad4ce5d646ULL, 0x5842a06bfc497cecULL, 0xcf4895d42599d394ULL, 0xc11b9cba40a8e8d0ULL, 0x2e3813cbe5a0de89ULL, 0x110eefda88847fafULL}},
      {{0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL},
       {0xcd03c9e48671f071ULL, 0x5dab22461fcda5d2ULL, 0x587042afd3851b95ULL, 0x8eb60ebe01bacb9eULL, 0x03f97d6e83d050d2ULL, 0x18f0206554638741ULL}},
      {{0x7bcfa7a25aa30fdaULL, 0xdc17dec12a927e7cULL, 0x2f088dd86b4ebef1ULL, 0xd1ca2087da74d4a7ULL, 0x2da2596696cebc1dULL, 0x0e2b7eedbbfd87d2ULL},
       {0x7bcfa7a25aa30fdaULL, 0xdc17dec12a927e7cULL, 0x2f088dd86b4ebef1ULL, 0xd1ca2087da74d4a7ULL, 0x2da2596696cebc1dULL, 0x0e2b7eedbbfd87d2ULL}},
      {{0x890dc9e4867545c3ULL, 0x2af322533285a5d5ULL, 0x50880866309b7e2cULL, 0xa20d1b8c7e881024ULL, 0x14e4f04fe2db9068ULL, 0x14e56d3f1564853aULL},
       {0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000000ULL}},
      {{0x82d83cf50dbce43fULL, 0xa2813e53df9d018fULL, 0xc6f0caa53c65e181ULL, 0x7525cf528d50fe95ULL, 0x4a85ed50f4798a6bULL, 0x171da0fd6cf8eebdULL},
       {0x3726c30af242c66cULL, 0x7c2ac1aad1b6fe70ULL, 0xa04007fbba4b14a2ULL, 0xef517c3266341429ULL, 0x0095ba654ed2226bULL, 0x02e370eccc86f7ddULL}}};
  for (int k = 0; k < 6; k++) out->c0.v[k] = g[i - 1][0][k], out->c1.v[k] = g[i - 1][1][k];
}

LANES_HD static inline LanesBlsFp lanes_bls_fp_raw(const uint64_t* limbs) {
  LanesBlsFp r;
  for (int i = 0; i < 6; i++) r.v[i] = limbs[i];
  return r;
}

// The G1 and G2 generators and [tau] G2 of the trusted setup (affine, Montgomery form).
LANES_HD static inline void lanes_bls_g1_gen(LanesBlsFp* x, LanesBlsFp* y) {
  const uint64_t gx[6] = {0x5cb38790fd530c16ULL, 0x7817fc679976fff5ULL, 0x154f95c7143ba1c1ULL, 0xf0ae6acdf3d0e747ULL, 0xedce6ecc21dbf440ULL, 0x120177419e0bfb75ULL};
  const uint64_t gy[6] = {0xbaac93d50ce72271ULL, 0x8c22631a7918fd8eULL, 0xdd595f13570725ceULL, 0x51ac582950405194ULL, 0x0e1c8c3fad0059c0ULL, 0x0bbc3efc5008a26aULL};
  *x = lanes_bls_fp_raw(gx), *y = lanes_bls_fp_raw(gy);
}

LANES_HD static inline void lanes_bls_g2_point(bool tau, LanesBlsFp2* x, LanesBlsFp2* y) {
  const uint64_t g[2][4][6] = {
      {{0xf5f28fa202940a10ULL, 0xb3f5fb2687b4961aULL, 0xa1a893b53e2ae580ULL, 0x9894999d1a3caee9ULL, 0x6f67b7631863366bULL, 0x058191924350bcd7ULL},
       {0xa5a9c0759e23f606ULL, 0xaaa0c59dbccd60c3ULL, 0x3bb17e18e2867806ULL, 0x1b1ab6cc8541b367ULL, 0xc2b6ed0ef2158547ULL, 0x11922a097360edf3ULL},
       {0x4c730af860494c4aULL, 0x597cfa1f5e369c5aULL, 0xe7e6856caa0a635aULL, 0xbbefb5e96e0d495fULL, 0x07d3a975f0ef25a2ULL, 0x0083fd8e7e80dae5ULL},
       {0xadc0fc92df64b05dULL, 0x18aa270a2b1461dcULL, 0x86adac6a3be4eba0ULL, 0x79495c4ec93da33aULL, 0xe7175850a43ccaedULL, 0x0b2bc2a163de1bf2ULL}},
      {{0x6120a2099b0379f9ULL, 0xa2df815cb8210e4eULL, 0xcb57be5577bd3d4fULL, 0x62da0ea89a0c93f8ULL, 0x02e0ee16968e150dULL, 0x171f09aea833acd5ULL},
       {0x11a3670749dfd455ULL, 0x04991d7b3abffadcULL, 0x85446a8e14437f41ULL, 0x27174e7b4e76e3f2ULL, 0x7bfa6dd397f60a20ULL, 0x02fcc329ac07080fULL},
       {0xaa130838793b2317ULL, 0xe236dd220f891637ULL, 0x6502782925760980ULL, 0xd05c25f60557ec89ULL, 0x6095767a44064474ULL, 0x185693917080d405ULL},
       {0x549f9e175b03dc0aULL, 0x32c0c95a77106cfeULL, 0x64a74eae5705d080ULL, 0x53deeaf56659ed9eULL, 0x09a1d368508afb93ULL, 0x12cf3a4525b5e9bdULL}}};
  const int k = tau ? 1 : 0;
  *x = LanesBlsFp2::make(lanes_bls_fp_raw(g[k][0]), lanes_bls_fp_raw(g[k][1]));
  *y = LanesBlsFp2::make(lanes_bls_fp_raw(g[k][2]), lanes_bls_fp_raw(g[k][3]));
}

// The group order r (little-endian limbs).
LANES_HD static inline void lanes_bls_order(uint64_t r[4]) {
  r[0] = 0xffffffff00000001ULL, r[1] = 0x53bda402fffe5bfeULL, r[2] = 0x3339d80809a1d805ULL, r[3] = 0x73eda753299d7d48ULL;
}

// Decompresses a G1 point (ZCash encoding: flag bits 0x80 compressed, 0x40 infinity, 0x20 the
// larger y) and checks it is in the order-r subgroup; false for any invalid encoding.
LANES_HD LANES_PC_NOINLINE static inline bool lanes_bls_g1_decompress(const uint8_t in[48],
                                                                     LanesJac<LanesBlsFp>* out) {
  uint8_t flags = in[0];
  if (!(flags & 0x80)) return false;
  uint8_t buf[48];
  for (int i = 0; i < 48; i++) buf[i] = in[i];
  buf[0] &= 0x1f;
  if (flags & 0x40) {
    if (flags & 0x20) return false;
    for (int i = 0; i < 48; i++)
      if (buf[i]) return false;
    *out = lanes_jac_infinity<LanesBlsFp>();
    return true;
  }
  LanesBlsFp x, y;
  if (!lanes_fp_from_be(buf, &x)) return false;
  if (!lanes_fp_sqrt(x * x * x + lanes_fp_from_u64<LanesBlsP>(4), &y)) return false;
  uint64_t yl[6], nyl[6];
  lanes_fp_to_limbs(y, yl);
  lanes_fp_to_limbs(-y, nyl);
  bool larger = !lanes_big_geq(nyl, yl, 6);  // y > p - y
  if (larger != ((flags & 0x20) != 0)) y = -y;
  LanesJac<LanesBlsFp> p = lanes_jac_from_affine(x, y);
  uint64_t r[4];
  lanes_bls_order(r);
  if (!lanes_jac_mul(p, r).z.is_zero()) return false;
  *out = p;
  return true;
}

// The line through T (slope lambda on the twist) at P, scaled by w^3:
// (lambda xT - yT) - lambda xP w^2 + yP w^3.
LANES_HD static inline LanesBlsFp12 lanes_bls_line(const LanesBlsFp2& lambda, const LanesBlsFp2& xt,
                                                   const LanesBlsFp2& yt, const LanesBlsFp& xp,
                                                   const LanesBlsFp& yp) {
  LanesBlsFp12 l;
  l.c[0] = lambda * xt - yt;
  l.c[1] = LanesBlsFp2::zero();
  l.c[2] = -(lambda * xp);
  l.c[3] = LanesBlsFp2::make(yp, LanesBlsFp::zero());
  l.c[4] = LanesBlsFp2::zero();
  l.c[5] = LanesBlsFp2::zero();
  return l;
}

// Miller loop f_{|z|,Q}(P) for finite P in G1 and Q in G2 (both affine).
LANES_HD LANES_PC_NOINLINE static inline LanesBlsFp12 lanes_bls_miller(const LanesBlsFp& xp, const LanesBlsFp& yp,
                                                                      const LanesBlsFp2& xq, const LanesBlsFp2& yq) {
  const uint64_t loop = 0xd201000000010000ULL;
  LanesBlsFp12 f = LanesBlsFp12::one();
  LanesBlsFp2 xt = xq, yt = yq;
  for (int i = 62; i >= 0; i--) {
    LanesBlsFp2 x2 = xt * xt;
    LanesBlsFp2 lambda = (x2 + x2 + x2) * lanes_fp2_inv(yt + yt);
    f = lanes_fp12_mul(f, f);
    f = lanes_fp12_mul(f, lanes_bls_line(lambda, xt, yt, xp, yp));
    LanesBlsFp2 x3 = lambda * lambda - xt - xt;
    yt = lambda * (xt - x3) - yt;
    xt = x3;
    if ((loop >> i) & 1) {
      lambda = (yq - yt) * lanes_fp2_inv(xq - xt);
      f = lanes_fp12_mul(f, lanes_bls_line(lambda, xt, yt, xp, yp));
      x3 = lambda * lambda - xt - xq;
      yt = lambda * (xt - x3) - yt;
      xt = x3;
    }
  }
  return f;
}

// Whether 32 big-endian bytes are below r.
LANES_HD static inline bool lanes_bls_scalar_ok(const uint8_t* in, uint64_t k[4]) {
  uint64_t r[4];
  lanes_bls_order(r);
  lanes_u256_from_be(in, k);
  return !lanes_u256_geq(k, r);
}

LANES_HD LANES_PC_NOINLINE static inline bool lanes_kzg_verify(const uint8_t* z_be, const uint8_t* y_be, const uint8_t* commitment,
                                             const uint8_t* proof) {
  uint64_t z[4], y[4];
  if (!lanes_bls_scalar_ok(z_be, z) || !lanes_bls_scalar_ok(y_be, y)) return false;
  LanesJac<LanesBlsFp> c, pi;
  if (!lanes_bls_g1_decompress(commitment, &c) || !lanes_bls_g1_decompress(proof, &pi)) return false;
  // P1 = C - y G1 (paired with G2), P2 = -proof (paired with [tau] G2 - z G2).
  LanesBlsFp gx, gy;
  lanes_bls_g1_gen(&gx, &gy);
  LanesJac<LanesBlsFp> p1 = lanes_jac_add(c, lanes_jac_neg(lanes_jac_mul(lanes_jac_from_affine(gx, gy), y)));
  LanesJac<LanesBlsFp> p2 = lanes_jac_neg(pi);
  LanesBlsFp2 g2x, g2y, tx, ty;
  lanes_bls_g2_point(false, &g2x, &g2y);
  lanes_bls_g2_point(true, &tx, &ty);
  LanesJac<LanesBlsFp2> q2 =
      lanes_jac_add(lanes_jac_from_affine(tx, ty), lanes_jac_neg(lanes_jac_mul(lanes_jac_from_affine(g2x, g2y), z)));
  LanesBlsFp12 f = LanesBlsFp12::one();
  bool any = false;
  if (!p1.z.is_zero()) {
    LanesBlsFp x, yy;
    lanes_jac_to_affine(p1, lanes_fp_inv(p1.z), &x, &yy);
    f = lanes_fp12_mul(f, lanes_bls_miller(x, yy, g2x, g2y));
    any = true;
  }
  if (!p2.z.is_zero() && !q2.z.is_zero()) {
    LanesBlsFp x, yy;
    lanes_jac_to_affine(p2, lanes_fp_inv(p2.z), &x, &yy);
    LanesBlsFp2 qx, qy;
    lanes_jac_to_affine(q2, lanes_fp2_inv(q2.z), &qx, &qy);
    f = lanes_fp12_mul(f, lanes_bls_miller(x, yy, qx, qy));
    any = true;
  }
  return !any || lanes_fp12_final_exp_is_one(f);
}

LANES_HD LANES_PC_NOINLINE static inline int lanes_pc_point_evaluation(const uint8_t* in, uint32_t in_len, uint64_t gas_limit,
                                                     uint8_t* out, uint32_t out_cap, uint32_t* out_len,
                                                     uint64_t* gas_used) {
  if (gas_limit < 50000) return LANES_PC_OUT_OF_GAS;
  if (in_len != 192) return LANES_PC_FAILURE;
  if (out_cap < 64) return LANES_PC_UNSUPPORTED;
  uint8_t h[32];
  lanes_sha256(in + 96, 48, h);
  h[0] = 0x01;
  for (int i = 0; i < 32; i++)
    if (h[i] != in[i]) return LANES_PC_FAILURE;
  if (!lanes_kzg_verify(in + 32, in + 64, in + 96, in + 144)) return LANES_PC_FAILURE;
  uint64_t r[4];
  lanes_bls_order(r);
  for (int i = 0; i < 32; i++) out[i] = 0;
  out[30] = 0x10;  // 4096
  lanes_u256_to_be(r, out + 32);
  *out_len = 64;
  *gas_used = 50000;
  return LANES_PC_OK;
}
