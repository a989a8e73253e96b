//! Integration tests of lanes-cuda-evm: the device build through NVRTC, the statetest runner
//! (with revm and with the host build of the kernels), and differential fuzzing of the host
//! build against revm.

mod differential;
mod nvrtc;
mod statetest;
mod workloads;
