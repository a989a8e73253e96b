//! The device build: NVRTC compiles the embedded `kernels/` sources to PTX.
//!
//! cudarc loads NVRTC at run time by library name (`libnvrtc.so.12`, ...), which the dynamic
//! linker looks up on `LD_LIBRARY_PATH` and the system paths. The project's set-up installs
//! NVRTC from PyPI (`nvidia-cuda-nvrtc-cu12`) into `.venv`, which is on neither, so
//! [`load_nvrtc`] first tries the plain name and otherwise loads the library (and its
//! `libnvrtc-builtins`, which NVRTC opens itself during compilation) from an explicit
//! directory by absolute path. Once loaded, the dynamic linker answers later requests for the
//! same soname with it, so cudarc's own lookup finds it.

use std::path::{Path, PathBuf};

use cudarc::nvrtc::{CompileError, CompileOptions, compile_ptx_with_opts};

use crate::{GpuError, Result};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/kernel_sources.rs"));
}

/// The device sources, embedded at build time: `(path relative to kernels/, contents)`.
pub fn sources() -> &'static [(&'static str, &'static str)] {
    embedded::SOURCES
}

/// The translation unit NVRTC compiles.
pub const ENTRY_SOURCE: &str = "evm.cu";

/// The kernel every wave launches.
pub const ENTRY_KERNEL: &str = "lanes_wave_kernel";

/// Environment variable naming the directory (or file) of `libnvrtc.so*` to use.
pub const NVRTC_LIB_ENV: &str = "LANES_NVRTC_LIB";

/// Directories where the project's set-up puts NVRTC: `nvidia/cuda_nvrtc/lib` in the
/// site-packages of `$VIRTUAL_ENV`, of `./.venv`, and of the `.venv` of the source tree this
/// crate was built from.
pub fn nvrtc_search_dirs() -> Vec<PathBuf> {
    let mut venvs: Vec<PathBuf> = Vec::new();
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV") {
        venvs.push(PathBuf::from(venv));
    }
    venvs.push(PathBuf::from(".venv"));
    venvs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv"));
    let mut dirs = Vec::new();
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

/// Makes NVRTC loadable by cudarc: the system's if the dynamic linker finds one, otherwise the
/// one in `$LANES_NVRTC_LIB` or in the project's `.venv`. Returns where it came from.
pub fn load_nvrtc() -> Result<String> {
    // SAFETY: loading NVRTC runs its initialisers, which have no preconditions.
    if unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        return Ok("system library path".into());
    }
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(path) = std::env::var_os(NVRTC_LIB_ENV) {
        let path = PathBuf::from(path);
        dirs.push(if path.is_file() {
            path.parent().map(Path::to_path_buf).unwrap_or_default()
        } else {
            path
        });
    }
    dirs.extend(nvrtc_search_dirs());
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
            // SAFETY: as above; the handle is leaked on purpose so that the library stays
            // loaded for the life of the process and later lookups by soname find it.
            match unsafe { libloading::Library::new(lib) } {
                Ok(handle) => std::mem::forget(handle),
                Err(e) => {
                    return Err(GpuError::Nvrtc(format!(
                        "cannot load {}: {e}",
                        lib.display()
                    )));
                }
            }
        }
        // SAFETY: as above.
        if unsafe { cudarc::nvrtc::sys::is_culib_present() } {
            return Ok(dir.display().to_string());
        }
    }
    Err(GpuError::Nvrtc(format!(
        "NVRTC (libnvrtc.so.12) not found on the library path, in ${NVRTC_LIB_ENV}, or in {dirs:?}; \
         run ./scripts/setup.sh (installs the pinned nvidia-cuda-nvrtc-cu12 into .venv)"
    )))
}

/// Writes the embedded sources into a fresh directory, so that NVRTC resolves `#include`s
/// exactly as a compiler reading `kernels/` would.
fn materialize() -> Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let dir = std::env::temp_dir().join(format!("lanes-kernels-{}-{nanos}", std::process::id()));
    for (relative, contents) in sources() {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| GpuError::Nvrtc(format!("cannot create {}: {e}", parent.display())))?;
        }
        std::fs::write(&path, contents)
            .map_err(|e| GpuError::Nvrtc(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(dir)
}

/// Compiles the device build (`kernels/evm.cu` and what it includes) to PTX for a virtual
/// architecture such as `compute_90` (H100). NVRTC needs no GPU for this.
pub fn compile_ptx(arch: &'static str) -> Result<String> {
    load_nvrtc()?;
    let source = sources()
        .iter()
        .find(|(name, _)| *name == ENTRY_SOURCE)
        .map(|(_, text)| *text)
        .ok_or_else(|| {
            GpuError::Nvrtc(format!(
                "kernels/{ENTRY_SOURCE} was not embedded at build time (missing)"
            ))
        })?;
    let dir = materialize()?;
    let options = CompileOptions {
        arch: Some(arch),
        include_paths: vec![dir.to_string_lossy().into_owned()],
        options: vec!["-std=c++17".into(), "-lineinfo".into()],
        name: Some(ENTRY_SOURCE.into()),
        ..Default::default()
    };
    let result = compile_ptx_with_opts(source, options);
    let _ = std::fs::remove_dir_all(&dir);
    let ptx = result.map_err(|e| match e {
        CompileError::CompileError { nvrtc, log, .. } => GpuError::Nvrtc(format!(
            "compiling {ENTRY_SOURCE} for {arch}: {nvrtc:?}\n{}",
            log.to_string_lossy()
        )),
        other => GpuError::Nvrtc(format!("compiling {ENTRY_SOURCE}: {other}")),
    })?;
    Ok(ptx.to_src())
}
