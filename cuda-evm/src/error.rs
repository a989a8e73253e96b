/// Result alias for this crate.
pub type Result<T, E = GpuError> = std::result::Result<T, E>;

/// Why the GPU executor cannot start or run.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// The CUDA driver library is not installed (no NVIDIA driver on this machine).
    #[error(
        "no CUDA driver: the NVIDIA driver library ({library}) was not found on the library path; \
         install the NVIDIA driver, or run with --executor auto or --executor cpu-parallel"
    )]
    NoDriver {
        /// The library cudarc looked for.
        library: &'static str,
    },
    /// The driver is there but reports no device.
    #[error(
        "no CUDA device: the driver is installed but reports {count} devices; \
         run with --executor auto or --executor cpu-parallel"
    )]
    NoDevice {
        /// Devices the driver reported.
        count: i32,
    },
    /// A CUDA driver call failed.
    #[error("CUDA driver call {call} failed: {message}")]
    Driver {
        /// The call.
        call: &'static str,
        /// What the driver said.
        message: String,
    },
    /// NVRTC is missing or could not compile the kernels.
    #[error("NVRTC: {0}")]
    Nvrtc(String),
    /// A kernel output broke the ABI's invariants (an offset out of range, a bad status).
    #[error("kernel output for transaction {index} is malformed: {message}")]
    Abi {
        /// Position of the transaction in the block.
        index: usize,
        /// What was wrong.
        message: String,
    },
}
