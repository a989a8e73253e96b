// The device translation unit of the prover kernels (NVRTC): one thread per element of each
// step. The host build (`host/prover_host.cpp`) runs the same per-element functions.
#include "ntt.cuh"
#include "merkle.cuh"

// One DIF stage over a (2^log_n) x width matrix: thread t = butterfly (t / width), column
// (t % width), so neighbouring threads touch neighbouring words.
extern "C" __global__ void lanes_prover_ntt_dif_stage(uint32_t* data, uint64_t width,
                                                      uint32_t log_n, uint32_t log_half,
                                                      const uint32_t* tw) {
  uint64_t t = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
  uint64_t total = ((uint64_t)1 << (log_n - 1)) * width;
  if (t >= total) return;
  lp_ntt_dif_butterfly(data, width, t % width, t / width, log_n, log_half, tw);
}

// out rows 0..2^log_h = bit-reversed rows of in, times factor.
extern "C" __global__ void lanes_prover_ntt_bitrev_gather(uint32_t* out, const uint32_t* in,
                                                         uint64_t width, uint32_t log_h,
                                                         uint32_t factor) {
  uint64_t t = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= ((uint64_t)1 << log_h) * width) return;
  lp_ntt_bitrev_gather(out, in, width, t / width, t % width, log_h, factor);
}

// data rows 0..rows times table[row].
extern "C" __global__ void lanes_prover_ntt_scale_rows(uint32_t* data, uint64_t width,
                                                      uint64_t rows, const uint32_t* table) {
  uint64_t t = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= rows * width) return;
  lp_ntt_scale_rows(data, width, t / width, t % width, table);
}

// One digest per row: rows x row_len u32 values in, rows x 4 words out.
extern "C" __global__ void lanes_prover_hash_rows(const uint32_t* in, uint64_t row_len,
                                                 uint64_t rows, uint64_t* out) {
  uint64_t r = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= rows) return;
  lp_hash_row(in + r * row_len, row_len, out + r * LP_DIGEST_WORDS);
}

// One digest per pair: count x 8 words in, count x 4 words out.
extern "C" __global__ void lanes_prover_compress(const uint64_t* in, uint64_t count,
                                                uint64_t* out) {
  uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= count) return;
  lp_compress(in + i * 8, out + i * LP_DIGEST_WORDS);
}
