//! The device path: the wave kernel on an NVIDIA GPU through cudarc.
//!
//! Start-up ([`DeviceBackend::new`]): [`crate::device::probe`] (the driver library and a device,
//! checked before any call that would panic without them), the device's primary context, a
//! non-blocking stream at the highest priority the context allows (EVM waves go before
//! inference work on low-priority streams), NVRTC compiles the embedded `kernels/` sources for
//! the device's compute capability, and the module is loaded.
//!
//! Per wave: the wave buffer is copied into pinned (page-locked) host memory, then to the
//! device, `lanes_wave_kernel` is launched with one thread per transaction, and the output
//! slots come back through pinned memory, all on that stream; the host waits on the stream
//! only at the end. Device and pinned buffers grow on demand and are kept between waves.
//! The validation and commit that follow are [`crate::WaveExecutor`]'s, as for the host build.
//!
//! No machine this project tests on has a GPU: this path compiles and reports the missing
//! driver or device at start-up; the kernel itself is tested through the host build and
//! compiled to PTX by the tests.

use std::sync::{Arc, Mutex};

use cudarc::driver::{
    CudaContext, CudaFunction, CudaSlice, CudaStream, LaunchConfig, PinnedHostSlice, PushKernelArg,
    result,
};

use crate::{
    GpuError,
    device::{DeviceInfo, probe},
    executor::{WaveBackend, WaveExecutor},
    nvrtc::{ENTRY_KERNEL, compile_ptx},
    wave::Geometry,
};

/// Threads per block of the wave kernel.
pub const BLOCK_THREADS: u32 = 128;

fn driver(call: &'static str) -> impl FnOnce(cudarc::driver::DriverError) -> GpuError {
    move |e| GpuError::Driver {
        call,
        message: e.to_string(),
    }
}

struct Buffers {
    wave_host: Option<PinnedHostSlice<u8>>,
    out_host: Option<PinnedHostSlice<u8>>,
    wave_dev: Option<CudaSlice<u8>>,
    out_dev: Option<CudaSlice<u8>>,
    scratch_dev: Option<CudaSlice<u8>>,
}

/// Runs waves on the GPU.
pub struct DeviceBackend {
    info: DeviceInfo,
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    kernel: CudaFunction,
    priority: i32,
    buffers: Mutex<Buffers>,
}

impl std::fmt::Debug for DeviceBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceBackend")
            .field("device", &self.info)
            .field("stream_priority", &self.priority)
            .finish_non_exhaustive()
    }
}

impl DeviceBackend {
    /// Finds the device, creates the stream and compiles and loads the kernel.
    pub fn new() -> Result<Self, GpuError> {
        let info = probe()?;
        let ordinal = usize::try_from(info.ordinal).unwrap_or_default();
        let ctx = CudaContext::new(ordinal).map_err(driver("cuDevicePrimaryCtxRetain"))?;
        ctx.bind_to_thread().map_err(driver("cuCtxSetCurrent"))?;
        // Lower numbers are higher priorities: the second value is the greatest.
        let (_least, greatest) =
            result::stream::get_priority_range().map_err(driver("cuCtxGetStreamPriorityRange"))?;
        let stream = ctx
            .new_stream_with_priority(greatest)
            .map_err(driver("cuStreamCreateWithPriority"))?;
        let (major, minor) = ctx
            .compute_capability()
            .map_err(driver("cuDeviceGetAttribute"))?;
        let arch = compute_arch(major, minor);
        let ptx = compile_ptx(arch)?;
        let module = ctx
            .load_module(cudarc::nvrtc::Ptx::from_src(ptx))
            .map_err(driver("cuModuleLoadData"))?;
        let kernel = module
            .load_function(ENTRY_KERNEL)
            .map_err(driver("cuModuleGetFunction"))?;
        tracing::info!(device = %info.name, arch, stream_priority = greatest, "GPU executor ready");
        Ok(Self {
            info,
            ctx,
            stream,
            kernel,
            priority: greatest,
            buffers: Mutex::new(Buffers {
                wave_host: None,
                out_host: None,
                wave_dev: None,
                out_dev: None,
                scratch_dev: None,
            }),
        })
    }

    /// The device in use.
    pub fn device(&self) -> &DeviceInfo {
        &self.info
    }
}

/// NVRTC's virtual architecture for a compute capability (`compute_90` for an H100).
fn compute_arch(major: i32, minor: i32) -> &'static str {
    match (major, minor) {
        (7, 0) => "compute_70",
        (7, 5) => "compute_75",
        (8, 0) => "compute_80",
        (8, 6) => "compute_86",
        (8, 9) => "compute_89",
        (9, _) => "compute_90",
        (10, _) => "compute_100",
        (12, _) => "compute_120",
        // Older than Volta is not supported by CUDA 12; newer compiles for the newest we know.
        (m, _) if m < 7 => "compute_70",
        _ => "compute_90",
    }
}

/// A pinned buffer of at least `len` bytes, reusing `slot`'s if it is large enough.
fn pinned<'a>(
    ctx: &Arc<CudaContext>,
    slot: &'a mut Option<PinnedHostSlice<u8>>,
    len: usize,
    flags: u32,
) -> Result<&'a mut PinnedHostSlice<u8>, GpuError> {
    if slot.as_ref().is_none_or(|s| s.len() < len) {
        *slot = None;
        // SAFETY: the contents are written before they are read (copied in, or copied back
        // from the device).
        *slot = Some(
            unsafe { ctx.alloc_pinned_with_flags::<u8>(len.max(1), flags) }
                .map_err(driver("cuMemHostAlloc"))?,
        );
    }
    Ok(slot.as_mut().expect("allocated above"))
}

/// A device buffer of at least `len` bytes, reusing `slot`'s if it is large enough.
fn device<'a>(
    stream: &Arc<CudaStream>,
    slot: &'a mut Option<CudaSlice<u8>>,
    len: usize,
) -> Result<&'a mut CudaSlice<u8>, GpuError> {
    if slot.as_ref().is_none_or(|s| s.len() < len) {
        *slot = None;
        // SAFETY: the kernel writes every byte of an output slot it reports, and scratch is
        // undefined on entry by contract; the wave part is copied in before each launch.
        *slot = Some(unsafe { stream.alloc::<u8>(len.max(1)) }.map_err(driver("cuMemAlloc"))?);
    }
    Ok(slot.as_mut().expect("allocated above"))
}

impl WaveBackend for DeviceBackend {
    fn name(&self) -> &'static str {
        "gpu"
    }

    fn run_wave(
        &self,
        wave: &[u8],
        tx_count: usize,
        out: &mut [u8],
        geometry: &Geometry,
    ) -> Result<(), GpuError> {
        let out_len = tx_count * geometry.out_stride;
        let threads = u32::try_from(tx_count).map_err(|_| GpuError::Abi {
            index: 0,
            message: format!("{tx_count} transactions in one wave"),
        })?;
        if out.len() < out_len || tx_count == 0 {
            return Ok(());
        }
        self.ctx
            .bind_to_thread()
            .map_err(driver("cuCtxSetCurrent"))?;
        let mut guard = self.buffers.lock().expect("buffer lock");
        let buffers = &mut *guard;
        let stream = &self.stream;

        let wave_host = pinned(
            &self.ctx,
            &mut buffers.wave_host,
            wave.len(),
            cudarc::driver::sys::CU_MEMHOSTALLOC_WRITECOMBINED,
        )?;
        wave_host
            .as_mut_slice()
            .map_err(driver("cuStreamSynchronize"))?[..wave.len()]
            .copy_from_slice(wave);
        let wave_dev = device(stream, &mut buffers.wave_dev, wave.len())?;
        stream
            .memcpy_htod(wave_host, wave_dev)
            .map_err(driver("cuMemcpyHtoDAsync"))?;
        let out_dev = device(stream, &mut buffers.out_dev, out_len)?;
        let scratch_dev = device(
            stream,
            &mut buffers.scratch_dev,
            tx_count * geometry.scratch_stride,
        )?;

        let config = LaunchConfig {
            grid_dim: (threads.div_ceil(BLOCK_THREADS), 1, 1),
            block_dim: (BLOCK_THREADS, 1, 1),
            shared_mem_bytes: 0,
        };
        let mut launch = stream.launch_builder(&self.kernel);
        launch
            .arg(&*wave_dev)
            .arg(&mut *out_dev)
            .arg(&mut *scratch_dev);
        // SAFETY: the kernel's signature is (const LanesWave*, uint8_t*, uint8_t*); the wave
        // buffer holds a valid wave of `tx_count` transactions; `out` and `scratch` hold
        // `tx_count` slots of the strides the wave header declares.
        unsafe { launch.launch(config) }.map_err(driver("cuLaunchKernel"))?;

        let out_host = pinned(&self.ctx, &mut buffers.out_host, out_len, 0)?;
        stream
            .memcpy_dtoh(&*out_dev, out_host)
            .map_err(driver("cuMemcpyDtoHAsync"))?;
        stream
            .synchronize()
            .map_err(driver("cuStreamSynchronize"))?;
        out[..out_len].copy_from_slice(
            &out_host.as_slice().map_err(driver("cuStreamSynchronize"))?[..out_len],
        );
        Ok(())
    }
}

/// The GPU executor (`gpu`): [`WaveExecutor`] over [`DeviceBackend`].
pub type GpuExecutor = WaveExecutor<DeviceBackend>;

impl GpuExecutor {
    /// Starts the device path with the default buffer sizes; fails with what is missing
    /// (driver, device, NVRTC) on a machine that cannot run it.
    pub fn new() -> Result<Self, GpuError> {
        Ok(Self::with_backend(
            DeviceBackend::new()?,
            Geometry::default(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h100_compiles_for_compute_90() {
        assert_eq!(compute_arch(9, 0), "compute_90");
        assert_eq!(compute_arch(8, 0), "compute_80");
    }

    /// Without a driver (every machine we test on), starting the device path fails with an
    /// error that names the driver and suggests the fallbacks, and does not panic.
    #[test]
    fn start_without_a_gpu_says_what_is_missing() {
        match GpuExecutor::new() {
            Ok(executor) => assert_eq!(lanes_conflict::Executor::name(&executor), "gpu"),
            Err(e) => {
                let message = e.to_string();
                assert!(
                    message.contains("CUDA") || message.contains("NVRTC"),
                    "{message}"
                );
            }
        }
    }
}
