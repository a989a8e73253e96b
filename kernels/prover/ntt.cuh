// Radix-2 NTT over KoalaBear on the columns of a row-major matrix, for both builds.
//
// Each function computes one element of one step, so the device build runs one thread per
// element and the host build loops over the same elements. The low-degree extension that
// Plonky3's `coset_lde_batch` computes (and the host side composes from these steps) is:
//
//   1. inverse DFT of the h input rows: `lp_ntt_dif_butterfly` with the inverse twiddles
//      (rows come out bit-reversed), then `lp_ntt_bitrev_gather` into the first h rows of the
//      zeroed N-row output, multiplying by h^-1: the coefficients in natural order;
//   2. `lp_ntt_scale_rows`: coefficient j times shift^j (the coset);
//   3. forward DFT of size N: `lp_ntt_dif_butterfly` with the forward twiddles. Decimation in
//      frequency from natural order leaves row i holding the evaluation at
//      shift * w_N^bitrev(i), the bit-reversed storage Plonky3's `BitReversedMatrixView` wraps.
//
// Twiddle tables are computed by the host: `tw[t] = w^t` for t < n/2, w the 2^log_n-th root of
// unity Plonky3 uses (`two_adic_generator(log_n)`, or its inverse), in Montgomery form.
#pragma once
#include "koalabear.cuh"

// One butterfly of the decimation-in-frequency stage with half-size 2^log_half (stages run
// log_half = log_n - 1 down to 0), for butterfly k in [0, n/2) and column col.
LANES_HD static inline void lp_ntt_dif_butterfly(uint32_t* data, uint64_t width, uint64_t col,
                                                 uint64_t k, uint32_t log_n, uint32_t log_half,
                                                 const uint32_t* tw) {
  uint64_t half = (uint64_t)1 << log_half;
  uint64_t j = k & (half - 1);
  uint64_t i0 = ((k >> log_half) << (log_half + 1)) + j;
  uint64_t i1 = i0 + half;
  // w_{2 half}^j = w_n^(j * n / (2 half))
  uint32_t w = tw[j << (log_n - 1 - log_half)];
  uint32_t a = data[i0 * width + col];
  uint32_t b = data[i1 * width + col];
  data[i0 * width + col] = lp_kb_add(a, b);
  data[i1 * width + col] = lp_kb_mul(lp_kb_sub(a, b), w);
}

LANES_HD static inline uint64_t lp_bitrev(uint64_t x, uint32_t bits) {
  uint64_t r = 0;
  for (uint32_t i = 0; i < bits; i++) r |= ((x >> i) & 1) << (bits - 1 - i);
  return r;
}

// out row `row` = in row bitrev(row) times `factor` (both width wide, 2^log_h rows of in).
LANES_HD static inline void lp_ntt_bitrev_gather(uint32_t* out, const uint32_t* in,
                                                 uint64_t width, uint64_t row, uint64_t col,
                                                 uint32_t log_h, uint32_t factor) {
  out[row * width + col] = lp_kb_mul(in[lp_bitrev(row, log_h) * width + col], factor);
}

// data row `row` times table[row].
LANES_HD static inline void lp_ntt_scale_rows(uint32_t* data, uint64_t width, uint64_t row,
                                              uint64_t col, const uint32_t* table) {
  data[row * width + col] = lp_kb_mul(data[row * width + col], table[row]);
}
