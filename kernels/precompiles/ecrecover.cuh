// 0x01 ecrecover over secp256k1, for both builds, with revm 43's rules (libsecp256k1 backend):
// 3000 gas; input right-padded to 128 bytes (hash, v, r, s); v must be 27 or 28 with 31 zero
// bytes before it; r and s must be in [1, n-1] (a high s is accepted); R = (r, y) with y's parity
// from v must be on the curve; Q = r^-1 (s R - e G) must not be infinity. Any rule broken: an
// empty output, gas still charged (not a failure). Output: the address, left-padded to 32 bytes.
#pragma once
#include "precompiles.cuh"
#include "field.cuh"
#include "../keccak.cuh"

// The base field of secp256k1, p = 2^256 - 2^32 - 977.
struct LanesSecpP {
  static constexpr int N = 4;
  static constexpr uint64_t INV = 0xd838091dd2253531ULL;
  LANES_HD static void modulus(uint64_t* m) {
    m[0] = 0xfffffffefffffc2fULL, m[1] = 0xffffffffffffffffULL, m[2] = 0xffffffffffffffffULL,
    m[3] = 0xffffffffffffffffULL;
  }
  LANES_HD static void r2(uint64_t* m) { m[0] = 0x000007a2000e90a1ULL, m[1] = 1, m[2] = 0, m[3] = 0; }
  LANES_HD static void one(uint64_t* m) { m[0] = 0x00000001000003d1ULL, m[1] = 0, m[2] = 0, m[3] = 0; }
};

// The scalar field of secp256k1 (the group order n).
struct LanesSecpN {
  static constexpr int N = 4;
  static constexpr uint64_t INV = 0x4b0dff665588b13fULL;
  LANES_HD static void modulus(uint64_t* m) {
    m[0] = 0xbfd25e8cd0364141ULL, m[1] = 0xbaaedce6af48a03bULL, m[2] = 0xfffffffffffffffeULL,
    m[3] = 0xffffffffffffffffULL;
  }
  LANES_HD static void r2(uint64_t* m) {
    m[0] = 0x896cf21467d7d140ULL, m[1] = 0x741496c20e7cf878ULL, m[2] = 0xe697f5e45bcd07c6ULL,
    m[3] = 0x9d671cd581c69bc5ULL;
  }
  LANES_HD static void one(uint64_t* m) {
    m[0] = 0x402da1732fc9bebfULL, m[1] = 0x4551231950b75fc4ULL, m[2] = 1, m[3] = 0;
  }
};

typedef LanesFp<LanesSecpP> LanesSecpFp;
typedef LanesFp<LanesSecpN> LanesSecpFn;

// Recovers the signer's address (20 bytes) or returns false.
LANES_HD LANES_PC_NOINLINE static inline bool lanes_secp256k1_recover(const uint8_t hash[32], int recid, const uint8_t r_be[32],
                                                    const uint8_t s_be[32], uint8_t address[20]) {
  LanesSecpFn r, s;
  if (!lanes_fp_from_be<LanesSecpN>(r_be, &r) || !lanes_fp_from_be<LanesSecpN>(s_be, &s)) return false;
  if (r.is_zero() || s.is_zero()) return false;
  // R.x = r (r < n < p); y from x^3 + 7 with the parity of recid.
  LanesSecpFp x;
  if (!lanes_fp_from_be<LanesSecpP>(r_be, &x)) return false;
  LanesSecpFp seven = lanes_fp_from_u64<LanesSecpP>(7);
  LanesSecpFp y;
  if (!lanes_fp_sqrt(x * x * x + seven, &y)) return false;
  uint64_t yv[4];
  lanes_fp_to_limbs(y, yv);
  if ((int)(yv[0] & 1) != (recid & 1)) y = -y;
  // e = hash mod n (hash < 2^256 < 2n: one subtraction at most).
  uint64_t e[4], n[4];
  lanes_u256_from_be(hash, e);
  LanesSecpN::modulus(n);
  if (lanes_u256_geq(e, n)) {
    uint64_t br = 0;
    for (int i = 0; i < 4; i++) e[i] = lanes_sbb(e[i], n[i], &br);
  }
  LanesSecpFn ef = lanes_fp_from_limbs<LanesSecpN>(e);
  LanesSecpFn rinv = lanes_fp_inv(r);
  LanesSecpFn u1 = -(ef * rinv);
  LanesSecpFn u2 = s * rinv;
  uint64_t u1v[4], u2v[4];
  lanes_fp_to_limbs(u1, u1v);
  lanes_fp_to_limbs(u2, u2v);
  const uint64_t gx[4] = {0x59f2815b16f81798ULL, 0x029bfcdb2dce28d9ULL, 0x55a06295ce870b07ULL,
                          0x79be667ef9dcbbacULL};
  const uint64_t gy[4] = {0x9c47d08ffb10d4b8ULL, 0xfd17b448a6855419ULL, 0x5da4fbfc0e1108a8ULL,
                          0x483ada7726a3c465ULL};
  LanesJac<LanesSecpFp> g =
      lanes_jac_from_affine(lanes_fp_from_limbs<LanesSecpP>(gx), lanes_fp_from_limbs<LanesSecpP>(gy));
  LanesJac<LanesSecpFp> rp = lanes_jac_from_affine(x, y);
  LanesJac<LanesSecpFp> q = lanes_jac_add(lanes_jac_mul(g, u1v), lanes_jac_mul(rp, u2v));
  if (q.z.is_zero()) return false;
  LanesSecpFp qx, qy;
  lanes_jac_to_affine(q, lanes_fp_inv(q.z), &qx, &qy);
  uint8_t pub[64];
  lanes_fp_to_be(qx, pub);
  lanes_fp_to_be(qy, pub + 32);
  uint8_t h[32];
  lanes_keccak256(pub, 64, h);
  for (int i = 0; i < 20; i++) address[i] = h[12 + i];
  return true;
}

LANES_HD LANES_PC_NOINLINE static inline int lanes_pc_ecrecover(const uint8_t* in, uint32_t in_len, uint64_t gas_limit,
                                              uint8_t* out, uint32_t out_cap, uint32_t* out_len,
                                              uint64_t* gas_used) {
  if (gas_limit < 3000) return LANES_PC_OUT_OF_GAS;
  if (out_cap < 32) return LANES_PC_UNSUPPORTED;
  uint8_t buf[128];
  for (uint32_t i = 0; i < 128; i++) buf[i] = i < in_len ? in[i] : 0;
  *gas_used = 3000;
  *out_len = 0;
  bool v_ok = buf[63] == 27 || buf[63] == 28;
  for (int i = 32; i < 63; i++) v_ok = v_ok && buf[i] == 0;
  if (!v_ok) return LANES_PC_OK;
  uint8_t address[20];
  if (!lanes_secp256k1_recover(buf, buf[63] - 27, buf + 64, buf + 96, address)) return LANES_PC_OK;
  for (int i = 0; i < 12; i++) out[i] = 0;
  for (int i = 0; i < 20; i++) out[12 + i] = address[i];
  *out_len = 32;
  return LANES_PC_OK;
}
