// The device translation unit (compiled by NVRTC): the wave kernel, one thread per transaction.
#include "evm.cuh"

extern "C" __global__ void lanes_wave_kernel(const LanesWave* wave, uint8_t* out, uint8_t* scratch) {
  uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= wave->tx_count) return;
  lanes_execute_tx(wave, i, out, scratch);
}
