// The extension fields of a pairing-friendly curve with embedding degree 12, for both builds:
// Fp2 = Fp[u] / (u^2 + 1) and Fp12 = Fp2[w] / (w^6 - xi), xi = XI_A + u. Shared by bn254
// (xi = 9 + u) and BLS12-381 (xi = 1 + u).
//
// A tower is a parameter struct `T` with `typedef LanesFp<...> Fp`, `static constexpr uint32_t
// XI_A`, `static LANES_HD void gamma(int i, Fp2*)` giving xi^(i (p - 1) / 6) for i = 1..5 (the
// Frobenius coefficients), and the hard part of the final exponentiation, (p^4 - p^2 + 1) / r,
// as `HARD_LIMBS` little-endian limbs from `static LANES_HD void hard(uint64_t*)`.
//
// The pairing check "product of Miller loop values f satisfies f^((p^12 - 1) / r) == 1" is done
// without an inversion in Fp12: with g = f^((p^6 + 1) / r) = (f^(p^2) f)^((p^4 - p^2 + 1) / r),
// f^((p^12 - 1) / r) = g^(p^6 - 1) is 1 exactly when g lies in Fp6 = Fp2[w^2], i.e. when its odd
// w-coefficients vanish (w^(p^6) = -w).
#pragma once
#include "field.cuh"

template <class T>
struct LanesFp2 {
  typedef typename T::Fp Fp;
  Fp c0, c1;  // c0 + c1 u

  LANES_HD static LanesFp2 zero() {
    LanesFp2 r;
    r.c0 = Fp::zero(), r.c1 = Fp::zero();
    return r;
  }
  LANES_HD static LanesFp2 one() {
    LanesFp2 r;
    r.c0 = Fp::one(), r.c1 = Fp::zero();
    return r;
  }
  LANES_HD static LanesFp2 make(const Fp& a, const Fp& b) {
    LanesFp2 r;
    r.c0 = a, r.c1 = b;
    return r;
  }
  LANES_HD bool is_zero() const { return c0.is_zero() && c1.is_zero(); }
};

template <class T>
LANES_HD static inline LanesFp2<T> operator+(const LanesFp2<T>& a, const LanesFp2<T>& b) {
  return LanesFp2<T>::make(a.c0 + b.c0, a.c1 + b.c1);
}
template <class T>
LANES_HD static inline LanesFp2<T> operator-(const LanesFp2<T>& a, const LanesFp2<T>& b) {
  return LanesFp2<T>::make(a.c0 - b.c0, a.c1 - b.c1);
}
template <class T>
LANES_HD static inline LanesFp2<T> operator-(const LanesFp2<T>& a) {
  return LanesFp2<T>::make(-a.c0, -a.c1);
}
template <class T>
LANES_HD LANES_PC_NOINLINE static inline LanesFp2<T> operator*(const LanesFp2<T>& a, const LanesFp2<T>& b) {
  typename T::Fp t0 = a.c0 * b.c0, t1 = a.c1 * b.c1;
  typename T::Fp m = (a.c0 + a.c1) * (b.c0 + b.c1);
  return LanesFp2<T>::make(t0 - t1, m - t0 - t1);
}
template <class T>
LANES_HD static inline LanesFp2<T> operator*(const LanesFp2<T>& a, const typename T::Fp& s) {
  return LanesFp2<T>::make(a.c0 * s, a.c1 * s);
}
template <class T>
LANES_HD static inline bool operator==(const LanesFp2<T>& a, const LanesFp2<T>& b) {
  return a.c0 == b.c0 && a.c1 == b.c1;
}
template <class T>
LANES_HD static inline LanesFp2<T> lanes_fp2_conj(const LanesFp2<T>& a) {
  return LanesFp2<T>::make(a.c0, -a.c1);
}
template <class T>
LANES_HD static inline LanesFp2<T> lanes_fp2_inv(const LanesFp2<T>& a) {
  typename T::Fp n = lanes_fp_inv(a.c0 * a.c0 + a.c1 * a.c1);
  return LanesFp2<T>::make(a.c0 * n, -(a.c1 * n));
}
// a * xi = (XI_A a0 - a1) + (XI_A a1 + a0) u.
template <class T>
LANES_HD static inline LanesFp2<T> lanes_fp2_mul_xi(const LanesFp2<T>& a) {
  typename T::Fp k0 = lanes_fp_mul_small(a.c0, T::XI_A), k1 = lanes_fp_mul_small(a.c1, T::XI_A);
  return LanesFp2<T>::make(k0 - a.c1, k1 + a.c0);
}
// Reads an Fp2 element encoded as c1 || c0 (big-endian, 8 N bytes each); false if either is >= p.
template <class T>
LANES_HD static inline bool lanes_fp2_from_be_c1c0(const uint8_t* in, LanesFp2<T>* out) {
  const int len = 8 * T::Fp::N;
  return lanes_fp_from_be(in, &out->c1) && lanes_fp_from_be(in + len, &out->c0);
}

template <class T>
struct LanesFp12 {
  LanesFp2<T> c[6];  // sum of c[i] w^i

  LANES_HD static LanesFp12 one() {
    LanesFp12 r;
    r.c[0] = LanesFp2<T>::one();
    for (int i = 1; i < 6; i++) r.c[i] = LanesFp2<T>::zero();
    return r;
  }
};

template <class T>
LANES_HD LANES_PC_NOINLINE static inline LanesFp12<T> lanes_fp12_mul(const LanesFp12<T>& a, const LanesFp12<T>& b) {
  LanesFp2<T> t[11];
  for (int i = 0; i < 11; i++) t[i] = LanesFp2<T>::zero();
  for (int i = 0; i < 6; i++) {
    if (a.c[i].is_zero()) continue;
    for (int j = 0; j < 6; j++) {
      if (b.c[j].is_zero()) continue;
      t[i + j] = t[i + j] + a.c[i] * b.c[j];
    }
  }
  LanesFp12<T> r;
  for (int i = 0; i < 6; i++) r.c[i] = t[i];
  for (int i = 6; i < 11; i++) r.c[i - 6] = r.c[i - 6] + lanes_fp2_mul_xi(t[i]);
  return r;
}

// f^p = sum conj(c_i) gamma_i w^i.
template <class T>
LANES_HD LANES_PC_NOINLINE static inline LanesFp12<T> lanes_fp12_frobenius(const LanesFp12<T>& a) {
  LanesFp12<T> r;
  r.c[0] = lanes_fp2_conj(a.c[0]);
  for (int i = 1; i < 6; i++) {
    LanesFp2<T> gamma;
    T::gamma(i, &gamma);
    r.c[i] = lanes_fp2_conj(a.c[i]) * gamma;
  }
  return r;
}

// Whether f^((p^12 - 1) / r) == 1 (see the top of this file).
template <class T>
LANES_HD LANES_PC_NOINLINE static inline bool lanes_fp12_final_exp_is_one(const LanesFp12<T>& f) {
  uint64_t hard[T::HARD_LIMBS];
  T::hard(hard);
  LanesFp12<T> g = lanes_fp12_mul(lanes_fp12_frobenius(lanes_fp12_frobenius(f)), f);
  LanesFp12<T> acc = LanesFp12<T>::one();
  int top = T::HARD_LIMBS * 64 - 1;
  while (top > 0 && !lanes_u256_bit(hard, top)) top--;
  for (int i = top; i >= 0; i--) {
    acc = lanes_fp12_mul(acc, acc);
    if (lanes_u256_bit(hard, i)) acc = lanes_fp12_mul(acc, g);
  }
  return acc.c[1].is_zero() && acc.c[3].is_zero() && acc.c[5].is_zero();
}
