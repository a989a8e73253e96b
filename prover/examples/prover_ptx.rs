//! Prints the PTX of the prover kernels (`kernels/prover/prover.cu`) exactly as
//! `Backend::Cuda` compiles it at start-up (NVRTC), for `scripts/prover-ptx-resources.sh`.
//!
//! ```text
//! cargo run --release -p lanes-prover --example prover_ptx -- compute_90 > prover.ptx
//! ```

fn main() {
    let arch: &'static str = match std::env::args().nth(1).as_deref() {
        None | Some("compute_90") => "compute_90",
        Some("compute_80") => "compute_80",
        Some("compute_89") => "compute_89",
        Some("compute_100") => "compute_100",
        Some(other) => {
            eprintln!("prover_ptx: unsupported architecture {other}");
            std::process::exit(2);
        }
    };
    match lanes_prover::cuda::compile_ptx(arch) {
        Ok(ptx) => print!("{ptx}"),
        Err(e) => {
            eprintln!("prover_ptx: {e}");
            std::process::exit(1);
        }
    }
}
