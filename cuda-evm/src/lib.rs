//! The GPU executor of Lanes.
//!
//! The EVM interpreter lives in `kernels/` as CUDA C++ written once for two builds: the device
//! build (NVRTC → PTX, launched through cudarc) and the host build (the `cc` crate, compiled by
//! this crate's `build.rs`), which runs the same wave entry function over the same buffers and
//! is what every test on a machine without a GPU exercises.
