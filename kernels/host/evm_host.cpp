// The host build of the interpreter: the same entry function over the same buffers the device
// gets (see kernels/lanes_abi.h).
#include "evm.cuh"

extern "C" void lanes_host_execute_tx(const LanesWave* wave, uint32_t tx_index, uint8_t* out, uint8_t* scratch) {
  lanes_execute_tx(wave, tx_index, out, scratch);
}

extern "C" void lanes_host_wave(const LanesWave* wave, uint8_t* out, uint8_t* scratch) {
  for (uint32_t i = 0; i < wave->tx_count; i++) lanes_execute_tx(wave, i, out, scratch);
}

#if defined(LANES_STATS)
// Profiling builds only (kernels/tools/profile.py): copies and optionally resets the counters.
extern "C" void lanes_host_stats(LanesStats* out, int reset) {
  *out = lanes_stats;
  if (reset) lanes_stats = LanesStats();
}
#endif
