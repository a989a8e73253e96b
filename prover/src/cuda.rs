//! [`crate::backend::Backend::Cuda`]: the prover kernels of `kernels/prover/prover.cu` on an
//! NVIDIA GPU through cudarc (`dynamic-loading`: no CUDA needed to build).
//!
//! [`device`] starts the device once per process: the driver library and a device are
//! probed before any call that would panic without them, NVRTC compiles the embedded device
//! sources ([`compile_ptx`]) for the device's compute capability, the module is loaded, and a
//! non-blocking stream is created. Without a driver or a device it returns an error naming
//! what is missing; `prove` checks it first and refuses `Backend::Cuda` with that error.
//!
//! Per call the buffers are copied to the device, the steps launched on the stream (one thread
//! per element), the result copied back and the stream synchronized: the seam is Plonky3's
//! per-matrix DFT and per-batch hash calls, so each is one round trip (`coset_lde_batch`,
//! what the PCS calls; the `_with_transform` variant is two, because its hook runs on the
//! host between the inverse and the forward transform). Calls from the PCS's
//! parallel LDEs are serialized on the one stream. Should a device call fail after start-up,
//! the call is done by the host build instead (which produces the same bytes) and counted in
//! [`fallbacks`].
//!
//! NVRTC is loaded the way `lanes-cuda-evm` loads it (system library path, `$LANES_NVRTC_LIB`,
//! or the `.venv` of the PyPI package `nvidia-cuda-nvrtc-cu12`); the few lines are repeated
//! here rather than making the prover depend on the EVM executor crate.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::driver::{
    CudaContext, CudaFunction, CudaSlice, CudaStream, LaunchConfig, PushKernelArg, result,
};
use cudarc::nvrtc::{CompileError, CompileOptions, compile_ptx_with_opts};
use p3_field::PrimeCharacteristicRing;

use crate::hash::F;
use crate::kernels::{as_u32, as_u32_mut, inverse_height, powers, twiddles};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/prover_kernel_sources.rs"));
}

/// The translation unit NVRTC compiles (relative to `kernels/`).
pub const ENTRY_SOURCE: &str = "prover/prover.cu";

/// The entry kernels of [`ENTRY_SOURCE`].
pub const ENTRY_KERNELS: [&str; 5] = [
    "lanes_prover_ntt_dif_stage",
    "lanes_prover_ntt_bitrev_gather",
    "lanes_prover_ntt_scale_rows",
    "lanes_prover_hash_rows",
    "lanes_prover_compress",
];

/// Environment variable naming the directory (or file) of `libnvrtc.so*` to use.
pub const NVRTC_LIB_ENV: &str = "LANES_NVRTC_LIB";

/// Threads per block of every kernel.
const BLOCK_THREADS: u32 = 256;

/// The embedded device sources: `(path relative to kernels/, contents)`.
pub fn sources() -> &'static [(&'static str, &'static str)] {
    embedded::SOURCES
}

fn nvrtc_search_dirs() -> Vec<PathBuf> {
    let mut venvs: Vec<PathBuf> = Vec::new();
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV") {
        venvs.push(PathBuf::from(venv));
    }
    venvs.push(PathBuf::from(".venv"));
    venvs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv"));
    let mut dirs = Vec::new();
    if let Some(path) = std::env::var_os(NVRTC_LIB_ENV) {
        let path = PathBuf::from(path);
        dirs.push(if path.is_file() {
            path.parent().map(Path::to_path_buf).unwrap_or_default()
        } else {
            path
        });
    }
    for venv in venvs {
        let Ok(lib) = std::fs::read_dir(venv.join("lib")) else {
            continue;
        };
        for python in lib.flatten() {
            let dir = python.path().join("site-packages/nvidia/cuda_nvrtc/lib");
            if dir.is_dir() {
                dirs.push(dir);
            }
        }
    }
    dirs
}

/// Makes NVRTC loadable by cudarc (see the module docs). Returns where it came from.
pub fn load_nvrtc() -> Result<String, String> {
    // SAFETY: loading NVRTC runs its initialisers, which have no preconditions.
    if unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        return Ok("system library path".into());
    }
    let dirs = nvrtc_search_dirs();
    for dir in &dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut libs: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name().is_some_and(|n| {
                    let n = n.to_string_lossy();
                    n.starts_with("libnvrtc") && n.contains(".so") && !n.contains(".alt.")
                })
            })
            .collect();
        // The builtins first: libnvrtc opens them by soname while it compiles.
        libs.sort_by_key(|p| !p.to_string_lossy().contains("builtins"));
        if !libs
            .iter()
            .any(|p| !p.to_string_lossy().contains("builtins"))
        {
            continue;
        }
        for lib in &libs {
            // SAFETY: as above; the handle is leaked so that the library stays loaded and
            // later lookups by soname (cudarc's) find it.
            match unsafe { libloading::Library::new(lib) } {
                Ok(handle) => std::mem::forget(handle),
                Err(e) => return Err(format!("cannot load {}: {e}", lib.display())),
            }
        }
        // SAFETY: as above.
        if unsafe { cudarc::nvrtc::sys::is_culib_present() } {
            return Ok(dir.display().to_string());
        }
    }
    Err(format!(
        "NVRTC (libnvrtc.so.12) not found on the library path, in ${NVRTC_LIB_ENV}, or in \
         {dirs:?}; run ./scripts/setup.sh (installs the pinned nvidia-cuda-nvrtc-cu12 into .venv)"
    ))
}

/// Compiles the device build of the prover kernels to PTX for a virtual architecture such as
/// `compute_90` (H100). NVRTC needs no GPU for this.
pub fn compile_ptx(arch: &'static str) -> Result<String, String> {
    load_nvrtc()?;
    let source = sources()
        .iter()
        .find(|(name, _)| *name == ENTRY_SOURCE)
        .map(|(_, text)| *text)
        .ok_or_else(|| format!("kernels/{ENTRY_SOURCE} was not embedded at build time"))?;
    // Written out so that NVRTC resolves the `#include`s as a compiler reading kernels/ would.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let dir = std::env::temp_dir().join(format!(
        "lanes-prover-kernels-{}-{nanos}",
        std::process::id()
    ));
    for (relative, contents) in sources() {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, contents)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let options = CompileOptions {
        arch: Some(arch),
        include_paths: vec![
            dir.join("prover").to_string_lossy().into_owned(),
            dir.to_string_lossy().into_owned(),
        ],
        options: vec!["-std=c++17".into(), "-lineinfo".into()],
        name: Some(ENTRY_SOURCE.into()),
        ..Default::default()
    };
    let result = compile_ptx_with_opts(source, options);
    let _ = std::fs::remove_dir_all(&dir);
    let ptx = result.map_err(|e| match e {
        CompileError::CompileError { nvrtc, log, .. } => format!(
            "compiling {ENTRY_SOURCE} for {arch}: {nvrtc:?}\n{}",
            log.to_string_lossy()
        ),
        other => format!("compiling {ENTRY_SOURCE}: {other}"),
    })?;
    Ok(ptx.to_src())
}

/// NVRTC's virtual architecture for a compute capability (`compute_90` for an H100).
fn compute_arch(major: i32, minor: i32) -> &'static str {
    match (major, minor) {
        (7, 0) => "compute_70",
        (7, 5) => "compute_75",
        (8, 0) => "compute_80",
        (8, 6) => "compute_86",
        (8, 9) => "compute_89",
        (10, _) => "compute_100",
        (12, _) => "compute_120",
        (m, _) if m < 7 => "compute_70",
        _ => "compute_90",
    }
}

/// The started device: context, stream and the loaded entry kernels.
pub struct CudaProver {
    /// The device's name, e.g. `NVIDIA H100 80GB HBM3`.
    pub name: String,
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    dif: CudaFunction,
    gather: CudaFunction,
    scale: CudaFunction,
    hash: CudaFunction,
    compress: CudaFunction,
    /// One call at a time on the stream.
    lock: Mutex<()>,
}

impl std::fmt::Debug for CudaProver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CudaProver")
            .field("device", &self.name)
            .finish_non_exhaustive()
    }
}

fn driver(call: &'static str) -> impl FnOnce(cudarc::driver::DriverError) -> String {
    move |e| format!("{call}: {e}")
}

static DEVICE: OnceLock<Result<CudaProver, String>> = OnceLock::new();
static FALLBACKS: AtomicU64 = AtomicU64::new(0);
static FIRST_FAILURE: OnceLock<String> = OnceLock::new();

/// The device, started on first use; an error says what is missing (driver, device, NVRTC).
pub fn device() -> Result<&'static CudaProver, String> {
    DEVICE
        .get_or_init(CudaProver::start)
        .as_ref()
        .map_err(Clone::clone)
}

/// Device calls that failed after start-up and were done by the host build instead, and the
/// first failure's message.
pub fn fallbacks() -> (u64, Option<String>) {
    (
        FALLBACKS.load(Ordering::Relaxed),
        FIRST_FAILURE.get().cloned(),
    )
}

/// Records a failed device call (the caller then runs the host build).
pub(crate) fn record_fallback(error: &str) {
    FALLBACKS.fetch_add(1, Ordering::Relaxed);
    let _ = FIRST_FAILURE.set(error.to_string());
}

fn launch_config(threads: u64) -> Result<LaunchConfig, String> {
    let blocks = u32::try_from(threads.div_ceil(u64::from(BLOCK_THREADS)))
        .map_err(|_| format!("{threads} threads in one launch"))?;
    Ok(LaunchConfig {
        grid_dim: (blocks.max(1), 1, 1),
        block_dim: (BLOCK_THREADS, 1, 1),
        shared_mem_bytes: 0,
    })
}

impl CudaProver {
    fn start() -> Result<Self, String> {
        // SAFETY: loading the driver library runs its initialisers, which have no preconditions.
        if !unsafe { cudarc::driver::sys::is_culib_present() } {
            return Err(
                "no CUDA driver (libcuda.so not found): Backend::Cuda needs an NVIDIA \
                        GPU; use the cpu or gpu-host backend"
                    .into(),
            );
        }
        result::init().map_err(driver("cuInit"))?;
        let count = result::device::get_count().map_err(driver("cuDeviceGetCount"))?;
        if count < 1 {
            return Err(format!("no CUDA device (the driver reports {count})"));
        }
        let ctx = CudaContext::new(0).map_err(driver("cuDevicePrimaryCtxRetain"))?;
        ctx.bind_to_thread().map_err(driver("cuCtxSetCurrent"))?;
        let name = ctx.name().map_err(driver("cuDeviceGetName"))?;
        let stream = ctx.new_stream().map_err(driver("cuStreamCreate"))?;
        let (major, minor) = ctx
            .compute_capability()
            .map_err(driver("cuDeviceGetAttribute"))?;
        let ptx = compile_ptx(compute_arch(major, minor))?;
        let module = ctx
            .load_module(cudarc::nvrtc::Ptx::from_src(ptx))
            .map_err(driver("cuModuleLoadData"))?;
        let load = |name: &str| {
            module
                .load_function(name)
                .map_err(|e| format!("cuModuleGetFunction({name}): {e}"))
        };
        Ok(Self {
            name,
            dif: load(ENTRY_KERNELS[0])?,
            gather: load(ENTRY_KERNELS[1])?,
            scale: load(ENTRY_KERNELS[2])?,
            hash: load(ENTRY_KERNELS[3])?,
            compress: load(ENTRY_KERNELS[4])?,
            ctx,
            stream,
            lock: Mutex::new(()),
        })
    }

    fn begin(&self) -> Result<std::sync::MutexGuard<'_, ()>, String> {
        let guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.ctx
            .bind_to_thread()
            .map_err(driver("cuCtxSetCurrent"))?;
        Ok(guard)
    }

    /// Every DIF stage of a `2^log_n x width` device matrix.
    fn ntt_dif(
        &self,
        data: &mut CudaSlice<u32>,
        width: u64,
        log_n: usize,
        inverse: bool,
    ) -> Result<(), String> {
        if log_n == 0 || width == 0 {
            return Ok(());
        }
        let tw = self
            .stream
            .clone_htod(as_u32(&twiddles(log_n, inverse)))
            .map_err(driver("cuMemcpyHtoDAsync"))?;
        let config = launch_config((1u64 << (log_n - 1)) * width)?;
        let log_n32 = log_n as u32;
        for log_half in (0..log_n32).rev() {
            let mut launch = self.stream.launch_builder(&self.dif);
            launch
                .arg(&mut *data)
                .arg(&width)
                .arg(&log_n32)
                .arg(&log_half)
                .arg(&tw);
            // SAFETY: (uint32_t* data, uint64_t width, uint32_t log_n, uint32_t log_half,
            // const uint32_t* tw); data holds 2^log_n rows of width, tw 2^(log_n-1) entries.
            unsafe { launch.launch(config) }.map_err(driver("cuLaunchKernel"))?;
        }
        Ok(())
    }

    /// A zeroed device buffer of `rows_out` rows of `width` whose first `2^log_h` rows hold
    /// the coefficients of `values` (evaluations over the subgroup of order `2^log_h`).
    fn coefficients_on_device(
        &self,
        values: &[F],
        width: usize,
        log_h: usize,
        rows_out: usize,
    ) -> Result<CudaSlice<u32>, String> {
        let w = width as u64;
        let mut d_in = self
            .stream
            .clone_htod(as_u32(values))
            .map_err(driver("cuMemcpyHtoDAsync"))?;
        self.ntt_dif(&mut d_in, w, log_h, true)?;
        let mut d_out = self
            .stream
            .alloc_zeros::<u32>((rows_out * width).max(1))
            .map_err(driver("cuMemAlloc"))?;
        let factor = as_u32(&[inverse_height(log_h)])[0];
        let log_h32 = log_h as u32;
        let mut launch = self.stream.launch_builder(&self.gather);
        launch
            .arg(&mut d_out)
            .arg(&d_in)
            .arg(&w)
            .arg(&log_h32)
            .arg(&factor);
        // SAFETY: (uint32_t* out, const uint32_t* in, uint64_t width, uint32_t log_h,
        // uint32_t factor); `in` holds 2^log_h rows of width, `out` rows_out >= 2^log_h.
        unsafe { launch.launch(launch_config((1u64 << log_h) * w)?) }
            .map_err(driver("cuLaunchKernel"))?;
        Ok(d_out)
    }

    /// The coset LDE of the coefficients in the first `2^log_h` rows of `d` (the rest zero,
    /// `2^(log_h + added_bits)` rows in all), in place, bit-reversed rows.
    fn extend_on_device(
        &self,
        d: &mut CudaSlice<u32>,
        width: usize,
        log_h: usize,
        added_bits: usize,
        shift: F,
    ) -> Result<(), String> {
        let w = width as u64;
        if shift != F::ONE && width > 0 {
            let table = self
                .stream
                .clone_htod(as_u32(&powers(shift, 1 << log_h)))
                .map_err(driver("cuMemcpyHtoDAsync"))?;
            let rows = 1u64 << log_h;
            let mut launch = self.stream.launch_builder(&self.scale);
            launch.arg(&mut *d).arg(&w).arg(&rows).arg(&table);
            // SAFETY: (uint32_t* data, uint64_t width, uint64_t rows, const uint32_t* table);
            // data holds at least `rows` rows of width, table `rows` entries.
            unsafe { launch.launch(launch_config(rows * w)?) }.map_err(driver("cuLaunchKernel"))?;
        }
        self.ntt_dif(d, w, log_h + added_bits, false)
    }

    /// The first `len` values of `d`, after the stream's work.
    fn download(&self, d: &CudaSlice<u32>, len: usize) -> Result<Vec<F>, String> {
        let mut out = vec![F::ZERO; len];
        if len > 0 {
            self.stream
                .memcpy_dtoh(&d.slice(..len), as_u32_mut(&mut out))
                .map_err(driver("cuMemcpyDtoHAsync"))?;
        }
        self.stream
            .synchronize()
            .map_err(driver("cuStreamSynchronize"))?;
        Ok(out)
    }

    /// The whole coset LDE on the device (no transform hook): one copy up, one copy down.
    /// `values` is `2^log_h` rows of `width`; the result is in bit-reversed row order.
    pub(crate) fn lde(
        &self,
        values: &[F],
        width: usize,
        log_h: usize,
        added_bits: usize,
        shift: F,
    ) -> Result<Vec<F>, String> {
        let _guard = self.begin()?;
        let rows = 1usize << (log_h + added_bits);
        let mut d = self.coefficients_on_device(values, width, log_h, rows)?;
        self.extend_on_device(&mut d, width, log_h, added_bits, shift)?;
        self.download(&d, rows * width)
    }

    /// [`crate::kernels::coefficients`] on the device.
    pub(crate) fn coefficients(
        &self,
        values: &[F],
        width: usize,
        log_h: usize,
    ) -> Result<Vec<F>, String> {
        let _guard = self.begin()?;
        let d = self.coefficients_on_device(values, width, log_h, 1 << log_h)?;
        self.download(&d, values.len())
    }

    /// [`crate::kernels::extend`] on the device.
    pub(crate) fn extend(
        &self,
        coeffs: &[F],
        width: usize,
        log_h: usize,
        added_bits: usize,
        shift: F,
    ) -> Result<Vec<F>, String> {
        let _guard = self.begin()?;
        let len = width << (log_h + added_bits);
        let mut d = self
            .stream
            .alloc_zeros::<u32>(len.max(1))
            .map_err(driver("cuMemAlloc"))?;
        if !coeffs.is_empty() {
            self.stream
                .memcpy_htod(as_u32(coeffs), &mut d.slice_mut(..coeffs.len()))
                .map_err(driver("cuMemcpyHtoDAsync"))?;
        }
        self.extend_on_device(&mut d, width, log_h, added_bits, shift)?;
        self.download(&d, len)
    }

    /// [`crate::kernels::hash_rows`] on the device.
    pub(crate) fn hash_rows(&self, input: &[F], out: &mut [[u64; 4]]) -> Result<(), String> {
        if out.is_empty() {
            return Ok(());
        }
        let _guard = self.begin()?;
        let rows = out.len() as u64;
        let row_len = (input.len() / out.len()) as u64;
        let d_in = self
            .stream
            .clone_htod(if input.is_empty() {
                &[0u32][..]
            } else {
                as_u32(input)
            })
            .map_err(driver("cuMemcpyHtoDAsync"))?;
        let mut d_out = self
            .stream
            .alloc_zeros::<u64>(out.len() * 4)
            .map_err(driver("cuMemAlloc"))?;
        let mut launch = self.stream.launch_builder(&self.hash);
        launch.arg(&d_in).arg(&row_len).arg(&rows).arg(&mut d_out);
        // SAFETY: (const uint32_t* in, uint64_t row_len, uint64_t rows, uint64_t* out); `in`
        // holds rows * row_len values, `out` 4 words per row.
        unsafe { launch.launch(launch_config(rows)?) }.map_err(driver("cuLaunchKernel"))?;
        self.stream
            .memcpy_dtoh(&d_out, out.as_flattened_mut())
            .map_err(driver("cuMemcpyDtoHAsync"))?;
        self.stream
            .synchronize()
            .map_err(driver("cuStreamSynchronize"))
    }

    /// [`crate::kernels::compress_pairs`] on the device.
    pub(crate) fn compress_pairs(
        &self,
        input: &[[[u64; 4]; 2]],
        out: &mut [[u64; 4]],
    ) -> Result<(), String> {
        if out.is_empty() {
            return Ok(());
        }
        let _guard = self.begin()?;
        let count = out.len() as u64;
        let d_in = self
            .stream
            .clone_htod(input.as_flattened().as_flattened())
            .map_err(driver("cuMemcpyHtoDAsync"))?;
        let mut d_out = self
            .stream
            .alloc_zeros::<u64>(out.len() * 4)
            .map_err(driver("cuMemAlloc"))?;
        let mut launch = self.stream.launch_builder(&self.compress);
        launch.arg(&d_in).arg(&count).arg(&mut d_out);
        // SAFETY: (const uint64_t* in, uint64_t count, uint64_t* out); 8 words in and 4 out
        // per pair.
        unsafe { launch.launch(launch_config(count)?) }.map_err(driver("cuLaunchKernel"))?;
        self.stream
            .memcpy_dtoh(&d_out, out.as_flattened_mut())
            .map_err(driver("cuMemcpyDtoHAsync"))?;
        self.stream
            .synchronize()
            .map_err(driver("cuStreamSynchronize"))
    }
}
