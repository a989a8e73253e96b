//! The GPU executor of Lanes.
//!
//! The EVM interpreter lives in `kernels/` as CUDA C++ written once for two builds: the device
//! build (NVRTC → PTX, launched through cudarc) and the host build (the `cc` crate, compiled by
//! this crate's `build.rs`), which runs the same wave entry function over the same buffers and
//! is what every test on a machine without a GPU exercises.
//!
//! - [`WaveExecutor`]: the [`lanes_conflict::Executor`] over a [`WaveBackend`]: state tables
//!   filled from committed state, waves, validation and commit in block order, lazy
//!   beneficiary fees, revm for what the kernel cannot finish (see [`executor`]).
//! - [`GpuHostExecutor`] (`gpu-host`): the host build as the backend.
//! - [`GpuExecutor`] (`gpu`): the device (see [`cuda`]); fails at start without a GPU.
//! - [`statetest`]: the ethereum/tests `GeneralStateTests` runner behind `lanes statetest`.
//! - [`nvrtc`]: the device build compiled to PTX with NVRTC (no GPU needed).
//! - [`device`]: whether this machine has a CUDA driver and device.
//!
//! The crate has no feature flags: cudarc loads the CUDA driver and NVRTC at run time, so the
//! same binary runs with and without a GPU.

mod abi;
pub mod cuda;
pub mod device;
mod error;
pub mod executor;
mod host;
pub mod nvrtc;
pub mod statetest;
mod wave;

pub use cuda::{DeviceBackend, GpuExecutor};
pub use error::{GpuError, Result};
pub use executor::{GpuStats, WaveBackend, WaveExecutor};
pub use host::{GpuHostExecutor, HostBackend};
pub use wave::Geometry;
