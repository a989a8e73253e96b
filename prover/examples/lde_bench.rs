//! Coset LDE micro-benchmark: one `coset_lde_batch` of a random `--height` x `--width`
//! KoalaBear matrix with `--added-bits`, on Plonky3's `Radix2DitParallel` and on the `cpu`
//! backend's `LanesDft` (the AVX2 LDE when the CPU has AVX2), `--reps` times each,
//! alternating (the `cpu` backend first); checks the two results are equal and prints the seconds of each run.
//!
//! ```text
//! cargo run --release -p lanes-prover --example lde_bench -- \
//!     [--height 32768] [--width 2876] [--added-bits 1] [--reps 3] [--plonky3 1]
//! ```
//! `--plonky3 0` times the `cpu` backend alone (no comparison).
//! The default shape is the Keccak trace of 100 KB of batch data.

use std::time::Instant;

use lanes_prover::Backend;
use lanes_prover::backend::LanesDft;
use lanes_prover::hash::F;
use p3_dft::{Radix2DitParallel, TwoAdicSubgroupDft};
use p3_field::{Field, PrimeCharacteristicRing};
use p3_matrix::bitrev::BitReversibleMatrix;
use p3_matrix::dense::RowMajorMatrix;

/// Process CPU seconds (user + system) so far.
fn cpu_s() -> f64 {
    // SAFETY: `getrusage` fills the zeroed struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

fn main() {
    let (mut height, mut width, mut added_bits, mut reps) = (32768usize, 2876usize, 1usize, 3);
    let mut with_plonky3 = true;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value: usize = match it.next().map(|v| v.parse()) {
            Some(Ok(v)) => v,
            _ => {
                eprintln!("{flag} needs a number");
                std::process::exit(2);
            }
        };
        match flag.as_str() {
            "--height" => height = value,
            "--width" => width = value,
            "--added-bits" => added_bits = value,
            "--reps" => reps = value,
            "--plonky3" => with_plonky3 = value != 0,
            _ => {
                eprintln!("unknown flag {flag}");
                std::process::exit(2);
            }
        }
    }
    if !height.is_power_of_two() || width == 0 {
        eprintln!("--height must be a power of two and --width positive");
        std::process::exit(2);
    }
    // A cheap deterministic fill (xorshift), reduced into the field.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let values: Vec<F> = (0..height * width)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            F::from_u32(x as u32 % 0x7f00_0001)
        })
        .collect();
    let mat = RowMajorMatrix::new(values, width);
    let shift = F::GENERATOR;
    let plonky3 = Radix2DitParallel::<F>::default();
    let lanes = LanesDft::new(Backend::Cpu);
    let (mut best_p3, mut best_lanes) = (f64::MAX, f64::MAX);
    for rep in 0..reps {
        let input = mat.clone();
        let (t, c) = (Instant::now(), cpu_s());
        let b = lanes.coset_lde_batch(input, added_bits, shift);
        let (lanes_s, lanes_cpu) = (t.elapsed().as_secs_f64(), cpu_s() - c);
        if !with_plonky3 {
            println!(
                "rep {rep}: {height}x{width} +{added_bits}: lanes cpu {lanes_s:.3} s ({lanes_cpu:.2} CPU-s)"
            );
            best_lanes = best_lanes.min(lanes_s);
            continue;
        }
        let input = mat.clone();
        let (t, c) = (Instant::now(), cpu_s());
        let a = plonky3.coset_lde_batch(input, added_bits, shift);
        let (p3_s, p3_cpu) = (t.elapsed().as_secs_f64(), cpu_s() - c);
        let equal = a.bit_reverse_rows() == b.bit_reverse_rows();
        println!(
            "rep {rep}: {height}x{width} +{added_bits}: plonky3 {p3_s:.3} s ({p3_cpu:.2} CPU-s), lanes cpu {lanes_s:.3} s ({lanes_cpu:.2} CPU-s), equal {equal}"
        );
        if !equal {
            eprintln!("results differ");
            std::process::exit(1);
        }
        best_p3 = best_p3.min(p3_s);
        best_lanes = best_lanes.min(lanes_s);
    }
    if with_plonky3 {
        println!(
            "best: plonky3 {best_p3:.3} s, lanes cpu {best_lanes:.3} s, speedup {:.2}x",
            best_p3 / best_lanes
        );
    } else {
        println!("best: lanes cpu {best_lanes:.3} s");
    }
}
