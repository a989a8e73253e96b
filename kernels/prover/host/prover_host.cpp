// The host build of the prover kernels: the per-element functions of ../ntt.cuh and
// ../merkle.cuh over the same buffers as the device kernels in ../prover.cu, on a range of
// columns or rows so that the Rust side can spread a call over threads.
#include "../ntt.cuh"
#include "../merkle.cuh"

extern "C" {

// Every DIF stage (log_half = log_n - 1 .. 0) on columns [col_begin, col_end).
void lanes_prover_host_ntt_dif(uint32_t* data, uint64_t width, uint64_t col_begin,
                               uint64_t col_end, uint32_t log_n, const uint32_t* tw) {
  if (log_n == 0) return;
  uint64_t butterflies = (uint64_t)1 << (log_n - 1);
  for (uint32_t s = log_n; s-- > 0;) {
    for (uint64_t k = 0; k < butterflies; k++) {
      for (uint64_t c = col_begin; c < col_end; c++) {
        lp_ntt_dif_butterfly(data, width, c, k, log_n, s, tw);
      }
    }
  }
}

// Rows [row_begin, row_end) of lanes_prover_ntt_bitrev_gather.
void lanes_prover_host_ntt_bitrev_gather(uint32_t* out, const uint32_t* in, uint64_t width,
                                         uint64_t row_begin, uint64_t row_end, uint32_t log_h,
                                         uint32_t factor) {
  for (uint64_t r = row_begin; r < row_end; r++) {
    for (uint64_t c = 0; c < width; c++) lp_ntt_bitrev_gather(out, in, width, r, c, log_h, factor);
  }
}

// Rows [row_begin, row_end) of lanes_prover_ntt_scale_rows.
void lanes_prover_host_ntt_scale_rows(uint32_t* data, uint64_t width, uint64_t row_begin,
                                      uint64_t row_end, const uint32_t* table) {
  for (uint64_t r = row_begin; r < row_end; r++) {
    for (uint64_t c = 0; c < width; c++) lp_ntt_scale_rows(data, width, r, c, table);
  }
}

// `rows` digests of consecutive rows of row_len values.
void lanes_prover_host_hash_rows(const uint32_t* in, uint64_t row_len, uint64_t rows,
                                 uint64_t* out) {
  for (uint64_t r = 0; r < rows; r++) {
    lp_hash_row(in + r * row_len, row_len, out + r * LP_DIGEST_WORDS);
  }
}

// `count` compressions of consecutive 8-word pairs.
void lanes_prover_host_compress(const uint64_t* in, uint64_t count, uint64_t* out) {
  for (uint64_t i = 0; i < count; i++) lp_compress(in + i * 8, out + i * LP_DIGEST_WORDS);
}

}  // extern "C"
