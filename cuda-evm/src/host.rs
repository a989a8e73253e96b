//! The host build of the kernels as an executor: the same wave entry function the device runs,
//! compiled as C++ by `build.rs`, one call per transaction on rayon's threads (as the device
//! runs one thread per transaction).

use rayon::prelude::*;

use crate::{
    GpuError,
    abi::LanesWave,
    executor::{BufferPool, WaveBackend, WaveExecutor},
    wave::Geometry,
};

unsafe extern "C" {
    /// `kernels/host/evm_host.cpp`: runs transaction `tx_index` of the wave; `out` and
    /// `scratch` are the bases of the whole output and scratch buffers.
    fn lanes_host_execute_tx(wave: *const LanesWave, tx_index: u32, out: *mut u8, scratch: *mut u8);
}

/// Runs waves through the host build of the kernels.
#[derive(Debug, Default)]
pub struct HostBackend {
    /// Scratch memory for a whole wave, kept between waves (its contents are undefined on
    /// entry, so it is never cleared).
    scratch: BufferPool,
}

/// A base pointer shared by the threads of a wave; each thread touches only its own slot.
#[derive(Clone, Copy)]
struct Base(*mut u8);
// SAFETY: threads write disjoint slots (`index * stride`), and the buffer outlives the scope.
unsafe impl Send for Base {}
// SAFETY: as above.
unsafe impl Sync for Base {}

impl WaveBackend for HostBackend {
    fn name(&self) -> &'static str {
        "gpu-host"
    }

    fn run_wave(
        &self,
        wave: &[u8],
        tx_count: usize,
        out: &mut [u8],
        geometry: &Geometry,
    ) -> Result<(), GpuError> {
        if wave.len() < std::mem::size_of::<LanesWave>()
            || out.len() < tx_count * geometry.out_stride
            || u32::try_from(tx_count).is_err()
        {
            return Err(GpuError::Abi {
                index: 0,
                message: "wave or output buffer too small".into(),
            });
        }
        let mut scratch = self
            .scratch
            .take((tx_count * geometry.scratch_stride).div_ceil(8));
        let wave_ptr = wave.as_ptr().cast::<LanesWave>();
        let wave_base = Base(wave_ptr.cast_mut().cast::<u8>());
        let out_base = Base(out.as_mut_ptr());
        let scratch_base = Base(scratch.words.as_mut_ptr().cast::<u8>());
        (0..tx_count as u32).into_par_iter().for_each(move |i| {
            let (wave, out, scratch) = (wave_base, out_base, scratch_base);
            // SAFETY: the wave buffer was built by `build_wave` (8-aligned, offsets inside);
            // the kernel writes only slot `i` of `out` and `scratch`, which are
            // `tx_count * stride` bytes each.
            unsafe {
                lanes_host_execute_tx(wave.0.cast::<LanesWave>(), i, out.0, scratch.0);
            }
        });
        Ok(())
    }
}

/// The host build of the GPU executor (`gpu-host`): [`WaveExecutor`] over [`HostBackend`].
pub type GpuHostExecutor = WaveExecutor<HostBackend>;

impl GpuHostExecutor {
    /// A host-build executor with the default buffer sizes.
    pub fn new() -> Self {
        Self::with_backend(HostBackend::default(), Geometry::default())
    }
}

impl Default for GpuHostExecutor {
    fn default() -> Self {
        Self::new()
    }
}
