// Dispatch to the precompiles implemented in this directory (see precompiles.cuh for the
// interface). Every Cancun precompile runs in both builds:
//   0x01 ecrecover (ecrecover.cuh), 0x02 sha256, 0x03 ripemd160, 0x04 identity, 0x09 blake2f
//   (hashes.cuh), 0x05 modexp (modexp.cuh; base or modulus over LANES_MODEXP_MAX_BYTES is
//   LANES_PC_UNSUPPORTED), 0x06/0x07/0x08 bn254 add, mul, pairing (bn254.cuh), 0x0a KZG point
//   evaluation (kzg.cuh). Field arithmetic: field.cuh, extension fields: tower.cuh.
// Host tests: cuda-evm/tests/precompiles.rs, through kernels/host/precompiles_ffi.cpp.
#pragma once
#include "precompiles.cuh"
#include "hashes.cuh"
#include "modexp.cuh"
#include "ecrecover.cuh"
#include "bn254.cuh"
#include "kzg.cuh"

LANES_HD static inline int lanes_precompile_run(uint32_t id, const uint8_t* in, uint32_t in_len,
                                                uint64_t gas_limit, uint8_t* out, uint32_t out_cap,
                                                uint32_t* out_len, uint64_t* gas_used) {
  *out_len = 0;
  *gas_used = 0;
  int status;
  switch (id) {
    case 1: status = lanes_pc_ecrecover(in, in_len, gas_limit, out, out_cap, out_len, gas_used); break;
    case 2: status = lanes_pc_sha256(in, in_len, gas_limit, out, out_cap, out_len, gas_used); break;
    case 3: status = lanes_pc_ripemd160(in, in_len, gas_limit, out, out_cap, out_len, gas_used); break;
    case 4: status = lanes_pc_identity(in, in_len, gas_limit, out, out_cap, out_len, gas_used); break;
    case 5: status = lanes_pc_modexp(in, in_len, gas_limit, out, out_cap, out_len, gas_used); break;
    case 6: status = lanes_pc_bn254_add(in, in_len, gas_limit, out, out_cap, out_len, gas_used); break;
    case 7: status = lanes_pc_bn254_mul(in, in_len, gas_limit, out, out_cap, out_len, gas_used); break;
    case 8: status = lanes_pc_bn254_pairing(in, in_len, gas_limit, out, out_cap, out_len, gas_used); break;
    case 9: status = lanes_pc_blake2f(in, in_len, gas_limit, out, out_cap, out_len, gas_used); break;
    case 10: status = lanes_pc_point_evaluation(in, in_len, gas_limit, out, out_cap, out_len, gas_used); break;
    default: status = LANES_PC_UNSUPPORTED; break;
  }
  if (status != LANES_PC_OK) {
    *out_len = 0;
    // A failed call consumes all of its gas; nothing is reported for a call the CPU reruns.
    *gas_used = status == LANES_PC_UNSUPPORTED ? 0 : gas_limit;
  }
  return status;
}
