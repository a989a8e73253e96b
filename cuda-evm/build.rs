//! Compiles the host build of the CUDA kernels: every `kernels/host/*.cpp` translation unit,
//! as plain C++17, with `LANES_HD` expanding to nothing (see `kernels/lanes_common.cuh`).

use std::path::PathBuf;

fn main() {
    let kernels = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../kernels");
    println!("cargo:rerun-if-changed={}", kernels.display());
    let mut sources: Vec<PathBuf> = std::fs::read_dir(kernels.join("host"))
        .expect("kernels/host exists")
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "cpp"))
        .collect();
    sources.sort();
    if sources.is_empty() {
        return;
    }
    cc::Build::new()
        .cpp(true)
        .std("c++17")
        .opt_level(2)
        .include(&kernels)
        .warnings(true)
        .flag_if_supported("-Wno-unused-parameter")
        .files(&sources)
        .compile("lanes_kernels_host");
}
