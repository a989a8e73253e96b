//! Whether this machine can run the device build: a CUDA driver and at least one device.
//!
//! cudarc loads the driver library at run time. Without it, `CudaContext::device_count()`
//! panics, so [`probe`] asks `is_culib_present()` first and turns every missing piece into a
//! [`GpuError`] that names it.

use cudarc::driver::result;

use crate::{GpuError, Result};

/// The driver library cudarc looks for (first candidate).
pub const DRIVER_LIBRARY: &str = "libcuda.so";

/// A device found by [`probe`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Devices the driver reports.
    pub count: i32,
    /// Ordinal of the device Lanes uses (the first).
    pub ordinal: i32,
    /// Its name, e.g. `NVIDIA H100 80GB HBM3`.
    pub name: String,
    /// Its global memory in bytes.
    pub memory: usize,
}

fn driver(call: &'static str) -> impl FnOnce(cudarc::driver::DriverError) -> GpuError {
    move |e| GpuError::Driver {
        call,
        message: e.to_string(),
    }
}

/// Whether the CUDA driver library can be loaded at all.
pub fn driver_present() -> bool {
    // SAFETY: loading the driver library runs its initialisers, which have no preconditions.
    unsafe { cudarc::driver::sys::is_culib_present() }
}

/// Finds the first CUDA device, or says precisely what is missing.
pub fn probe() -> Result<DeviceInfo> {
    if !driver_present() {
        return Err(GpuError::NoDriver {
            library: DRIVER_LIBRARY,
        });
    }
    result::init().map_err(driver("cuInit"))?;
    let count = result::device::get_count().map_err(driver("cuDeviceGetCount"))?;
    if count < 1 {
        return Err(GpuError::NoDevice { count });
    }
    let device = result::device::get(0).map_err(driver("cuDeviceGet"))?;
    let name = result::device::get_name(device).map_err(driver("cuDeviceGetName"))?;
    // SAFETY: `device` is a valid handle returned by cuDeviceGet.
    let memory =
        unsafe { result::device::total_mem(device) }.map_err(driver("cuDeviceTotalMem"))?;
    Ok(DeviceInfo {
        count,
        ordinal: 0,
        name,
        memory,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No machine this project tests on has a GPU: the probe must say so instead of panicking,
    /// and name what is missing. On a machine with a device it must find one.
    #[test]
    fn probe_reports_what_is_missing() {
        match probe() {
            Ok(info) => assert!(info.count >= 1 && !info.name.is_empty()),
            Err(GpuError::NoDriver { library }) => {
                assert!(!driver_present());
                let message = GpuError::NoDriver { library }.to_string();
                assert!(message.contains("libcuda.so") && message.contains("--executor auto"));
            }
            Err(GpuError::NoDevice { count }) => assert!(count < 1),
            Err(other) => panic!("unexpected probe failure: {other}"),
        }
    }
}
