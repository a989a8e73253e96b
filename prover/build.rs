//! Build steps for the prover kernels in `../kernels/prover` (the same two builds as the EVM
//! kernels, see `cuda-evm/build.rs`):
//!
//! 1. the host build: `kernels/prover/host/*.cpp`, plain C++17 through the `cc` crate, with
//!    `LANES_HD` expanding to nothing (`kernels/lanes_common.cuh`);
//! 2. the device sources (`kernels/prover/*.cu`, `*.cuh` and the two shared headers they
//!    include), embedded into the crate so that `Backend::Cuda` can NVRTC-compile them at run
//!    time wherever it runs.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
};

/// Headers outside `kernels/prover/` that the prover kernels include.
const SHARED: &[&str] = &["lanes_common.cuh", "keccak.cuh"];

fn main() {
    // Read at run time: `env!` would bake in the checkout the build script was compiled in.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let kernels = PathBuf::from(manifest)
        .join("../kernels")
        .canonicalize()
        .expect("kernels/ exists next to prover/");
    let prover = kernels.join("prover");
    println!("cargo:rerun-if-changed={}", prover.display());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    let mut device = Vec::new();
    for name in SHARED {
        device.push(kernels.join(name));
    }
    device.extend(files(&prover, &["cu", "cuh"]));
    for file in &device {
        println!("cargo:rerun-if-changed={}", file.display());
    }

    let host = files(&prover.join("host"), &["cpp"]);
    for file in &host {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    cc::Build::new()
        .cpp(true)
        .std("c++17")
        .opt_level(3)
        .include(&kernels)
        .warnings(true)
        .flag_if_supported("-Wno-unused-parameter")
        .files(&host)
        .compile("lanes_prover_kernels_host");

    let mut code = String::from("/// Device sources: (path relative to `kernels/`, contents).\n");
    code.push_str("pub(crate) static SOURCES: &[(&str, &str)] = &[\n");
    for file in &device {
        let relative = file
            .strip_prefix(&kernels)
            .expect("under kernels/")
            .to_string_lossy()
            .into_owned();
        let absolute = file.to_string_lossy().into_owned();
        writeln!(code, "    ({relative:?}, include_str!({absolute:?})),").expect("write");
    }
    code.push_str("];\n");
    std::fs::write(out.join("prover_kernel_sources.rs"), code)
        .expect("write prover_kernel_sources.rs");
}

/// Files in `dir` (not recursive) with one of `extensions`, sorted.
fn files(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.expect("readable dir entry").path())
                .filter(|p| {
                    p.is_file()
                        && p.extension()
                            .is_some_and(|e| extensions.iter().any(|x| e == *x))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}
