// Host export of the precompile dispatch (kernels/precompiles/all.cuh), so that Rust tests can
// run the same code the device runs and compare it with revm's precompiles.
#include "precompiles/all.cuh"

extern "C" int lanes_host_precompile_run(uint32_t id, const uint8_t* in, uint32_t in_len,
                                         uint64_t gas_limit, uint8_t* out, uint32_t out_cap,
                                         uint32_t* out_len, uint64_t* gas_used) {
  return lanes_precompile_run(id, in, in_len, gas_limit, out, out_cap, out_len, gas_used);
}
