// The precompiled contracts of Cancun (addresses 0x01..0x0a), for both builds.
//
// Interface between the interpreter (kernels/evm*.cuh) and the precompile implementations in
// this directory. The interpreter calls `lanes_precompile_run` for a CALL-family call to an
// address 0x01..0x0a after charging the call's own costs; the precompile charges its gas out of
// `gas_limit` exactly as revm 43 does for SpecId::CANCUN.
//
// Status:
// - LANES_PC_OK: `out[0..*out_len]` holds the output, `*gas_used` the gas it cost.
// - LANES_PC_OUT_OF_GAS / LANES_PC_FAILURE: the call fails and consumes all of `gas_limit`
//   (revm's PrecompileError); `*out_len` is 0.
// - LANES_PC_UNSUPPORTED: this build cannot run it (not implemented on the device, or an input
//   larger than the fixed buffers); the interpreter aborts the transaction with `Unsupported`
//   so that it runs on the CPU instead. Never used to hide a wrong answer.
//
// `out_cap` is at least max(in_len, 1024) bytes; an output that would not fit returns
// LANES_PC_UNSUPPORTED.
#pragma once
#include "../lanes_common.cuh"

// Keeps the large arithmetic routines out of line in the device build, so that the PTX (and the
// NVRTC compile time) stays small; the host compiler decides for itself.
#if defined(__CUDA_ARCH__)
#define LANES_PC_NOINLINE __noinline__
#else
#define LANES_PC_NOINLINE
#endif

#define LANES_PC_OK 0
#define LANES_PC_OUT_OF_GAS 1
#define LANES_PC_FAILURE 2
#define LANES_PC_UNSUPPORTED 3

// The highest precompile address in Cancun (0x0a, KZG point evaluation).
#define LANES_PC_LAST 10

// The implementation is `kernels/precompiles/all.cuh`, which defines
//
//   LANES_HD static inline int lanes_precompile_run(uint32_t id, const uint8_t* in,
//       uint32_t in_len, uint64_t gas_limit, uint8_t* out, uint32_t out_cap,
//       uint32_t* out_len, uint64_t* gas_used);
//
// running precompile `id` (its address, 1..=LANES_PC_LAST). Every function in this directory
// is `static inline`, so each translation unit (the one device TU, each host .cpp) has its own
// copy and no symbol clashes at link time.
