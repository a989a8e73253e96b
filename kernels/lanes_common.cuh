// Shared definitions for the Lanes CUDA kernels, in both builds.
//
// Every function that runs on the device and on the host is marked LANES_HD. Under NVRTC/nvcc
// (__CUDACC__ defined) it is `__host__ __device__`; in the host build (plain C++17 through the
// `cc` crate) it expands to nothing. Kernels never use the C++ standard library beyond
// <stdint.h>-style fixed-width types, so the same source compiles in both.
#pragma once

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define LANES_HD __host__ __device__
#define LANES_DEVICE_BUILD 1
#else
#define LANES_HD
#define LANES_DEVICE_BUILD 0
#endif

#if defined(__CUDACC_RTC__)
// NVRTC has no system headers: the fixed-width types it needs.
typedef unsigned char uint8_t;
typedef unsigned short uint16_t;
typedef unsigned int uint32_t;
typedef unsigned long long uint64_t;
typedef signed char int8_t;
typedef int int32_t;
typedef long long int64_t;
#else
#include <stdint.h>
#include <stddef.h>
#endif
