//! Prints the PTX of the device build for a virtual architecture (default `compute_90`), as the
//! node compiles it at start-up: `cargo run --release -p lanes-cuda-evm --example ptx`.

fn main() {
    let arch = match std::env::args().nth(1).as_deref() {
        None | Some("compute_90") => "compute_90",
        Some("compute_80") => "compute_80",
        Some("compute_89") => "compute_89",
        Some("compute_100") => "compute_100",
        Some(other) => {
            eprintln!(
                "unknown architecture {other}: compute_80, compute_89, compute_90, compute_100"
            );
            std::process::exit(2);
        }
    };
    match lanes_cuda_evm::nvrtc::compile_ptx(arch) {
        Ok(ptx) => print!("{ptx}"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
