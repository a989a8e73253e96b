// Dispatch to the precompiles implemented in this directory (see precompiles.cuh).
#pragma once
#include "precompiles.cuh"

LANES_HD static inline int lanes_precompile_run(uint32_t id, const uint8_t* in, uint32_t in_len,
                                                uint64_t gas_limit, uint8_t* out, uint32_t out_cap,
                                                uint32_t* out_len, uint64_t* gas_used) {
  (void)id, (void)in, (void)in_len, (void)gas_limit, (void)out, (void)out_cap;
  *out_len = 0;
  *gas_used = 0;
  return LANES_PC_UNSUPPORTED;  // none on the device yet: every precompile call runs on the CPU
}
