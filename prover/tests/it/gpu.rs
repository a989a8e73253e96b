//! The kernel backends (`kernels/prover/`): the host build's DFT, Merkle hashing and whole
//! proofs are byte-identical to Plonky3's CPU backend; the device build compiles to PTX; the
//! CUDA backend without a device is refused with a clear error.

use lanes_prover::backend::{Backend, LanesCompress, LanesDft, LanesHash, MMCS_DIGEST_WORDS};
use lanes_prover::bench::{self, BenchOptions};
use lanes_prover::config::ValMmcs;
use lanes_prover::hash::F;
use lanes_prover::{BatchWitness, ProveError, ProverConfig, Security, prove, verify};
use p3_commit::Mmcs;
use p3_dft::{Layout, TwoAdicSubgroupDft};
use p3_field::{Field, PrimeCharacteristicRing};
use p3_keccak::Keccak256Hash;
use p3_matrix::Matrix;
use p3_matrix::bitrev::BitReversibleMatrix;
use p3_matrix::dense::RowMajorMatrix;
use p3_merkle_tree::MerkleTreeMmcs;
use p3_symmetric::{
    CompressionFunctionFromHasher, CryptographicHasher, PseudoCompressionFunction,
    SerializingHasher,
};
use rand::Rng;

use crate::util::{random_bytes, random_diff, random_state, rng};

fn random_matrix(rng: &mut rand::rngs::StdRng, height: usize, width: usize) -> RowMajorMatrix<F> {
    let values = (0..height * width)
        .map(|_| F::from_u32(rng.random_range(0..0x7f00_0001)))
        .collect();
    RowMajorMatrix::new(values, width)
}

/// The storage (bit-reversed rows) of a DFT result, as the PCS takes it.
fn storage(m: impl BitReversibleMatrix<F>) -> Vec<F> {
    m.bit_reverse_rows().to_row_major_matrix().values
}

#[test]
fn gpu_host_lde_is_byte_identical_to_plonky3() {
    let mut rng = rng(61);
    let cpu = LanesDft::new(Backend::Cpu);
    let host = LanesDft::new(Backend::GpuHost);
    let random_shift = F::from_u32(rng.random_range(1..0x7f00_0000));
    let shapes: [(usize, usize, usize); 9] = [
        (1, 1, 1),
        (1, 5, 3),
        (2, 3, 1),
        (8, 1, 2),
        (16, 7, 1),
        (64, 33, 3),
        (256, 17, 2),
        (1024, 3, 1),
        (4096, 9, 1),
    ];
    for (height, width, added_bits) in shapes {
        for shift in [F::GENERATOR, F::ONE, random_shift] {
            let m = random_matrix(&mut rng, height, width);
            let want = storage(cpu.coset_lde_batch(m.clone(), added_bits, shift));
            let got = storage(host.coset_lde_batch(m, added_bits, shift));
            assert!(
                want == got,
                "LDE of {height}x{width}, +{added_bits} bits, shift {shift} differs"
            );
        }
    }
}

#[test]
fn gpu_host_dft_entry_points_match_plonky3() {
    let mut rng = rng(62);
    let cpu = LanesDft::new(Backend::Cpu);
    let host = LanesDft::new(Backend::GpuHost);
    let shift = F::GENERATOR.exp_u64(5);
    for (height, width) in [(1, 3), (32, 5), (512, 11)] {
        let m = random_matrix(&mut rng, height, width);
        assert_eq!(
            storage(cpu.dft_batch(m.clone())),
            storage(host.dft_batch(m.clone())),
            "dft {height}x{width}"
        );
        assert_eq!(
            storage(cpu.coset_dft_batch(m.clone(), shift)),
            storage(host.coset_dft_batch(m.clone(), shift)),
            "coset dft {height}x{width}"
        );
        assert_eq!(
            cpu.idft_batch(m.clone()).values,
            host.idft_batch(m.clone()).values,
            "idft {height}x{width}"
        );
        assert_eq!(
            cpu.coset_idft_batch(m.clone(), shift).values,
            host.coset_idft_batch(m.clone(), shift).values,
            "coset idft {height}x{width}"
        );
        // A transform scales coefficient j by j + 1; Plonky3 hands it bit-reversed memory,
        // the kernels natural order, and the `Layout` says which.
        let scale_rows = |view: &mut p3_matrix::dense::RowMajorMatrixViewMut<'_, F>, layout| {
            let (width, log_h) = (view.width(), p3_util::log2_strict_usize(view.height()));
            for (m, row) in view.values.chunks_mut(width).enumerate() {
                let j = match layout {
                    Layout::Natural => m,
                    Layout::BitReversed => p3_util::reverse_bits_len(m, log_h),
                };
                for x in row {
                    *x *= F::from_usize(j + 1);
                }
            }
        };
        let want = cpu.coset_lde_batch_with_transform(m.clone(), 2, shift, scale_rows);
        let got = host.coset_lde_batch_with_transform(m.clone(), 2, shift, scale_rows);
        assert_eq!(
            storage(want),
            storage(got),
            "lde with transform {height}x{width}"
        );
        let blocks = std::sync::Mutex::new(Vec::new());
        let got = host.coset_lde_batch_with_blocks(
            m.clone(),
            1,
            shift,
            |_, _| {},
            |_| {
                |start: usize, view: p3_matrix::dense::RowMajorMatrixView<'_, F>| {
                    blocks.lock().unwrap().push((start, view.height()));
                }
            },
        );
        let want = cpu.coset_lde_batch(m, 1, shift);
        assert_eq!(
            storage(want),
            storage(got),
            "lde with blocks {height}x{width}"
        );
        assert_eq!(*blocks.lock().unwrap(), vec![(0, 2 * height)]);
    }
}

type Digest = [u64; MMCS_DIGEST_WORDS];
/// Plonky3's own keccak-256 hasher of field elements (their raw `u32`s, little-endian).
type PlonkyHash = SerializingHasher<Keccak256Hash>;
/// Plonky3's own keccak-256 compression of two 32-byte digests.
type PlonkyCompress = CompressionFunctionFromHasher<Keccak256Hash, 2, 32>;
/// A Merkle tree of Plonky3's own types, one lane, bytes as digests.
type PlonkyMmcs = MerkleTreeMmcs<F, u8, PlonkyHash, PlonkyCompress, 2, 32>;

/// A digest as the 32 bytes keccak-256 gives (4 little-endian words).
fn digest_bytes(d: &Digest) -> [u8; 32] {
    std::array::from_fn(|i| d[i / 8].to_le_bytes()[i % 8])
}

#[test]
fn merkle_commitments_are_byte_identical_on_every_backend() {
    let mut rng = rng(63);
    let plonky = PlonkyMmcs::new(
        SerializingHasher::new(Keccak256Hash),
        CompressionFunctionFromHasher::new(Keccak256Hash),
        0,
    );
    let mmcs = |b| ValMmcs::new(LanesHash::new(b), LanesCompress::new(b), 0);
    // (height, width) sets committed together; heights follow Plonky3's ladder.
    let sets: Vec<Vec<(usize, usize)>> = vec![
        vec![(1, 1)],
        vec![(1, 7)],
        vec![(2, 3)],
        vec![(4096, 1)],
        vec![(4096, 33), (4096, 7), (1024, 5), (64, 1), (8, 35)],
        vec![(1000, 17), (500, 3), (125, 9)],
        vec![(2048, 34), (2048, 2)],
    ];
    for set in sets {
        let mats: Vec<RowMajorMatrix<F>> = set
            .iter()
            .map(|&(h, w)| random_matrix(&mut rng, h, w))
            .collect();
        let (want, _) = plonky.commit(mats.clone());
        for backend in [Backend::Cpu, Backend::GpuHost] {
            let (got, _) = mmcs(backend).commit(mats.clone());
            let got: Vec<[u8; 32]> = got.roots().iter().map(digest_bytes).collect();
            assert!(
                want.roots() == got.as_slice(),
                "{} commitment of {set:?} differs from Plonky3's",
                backend.name()
            );
        }
    }
}

#[test]
fn hash_many_and_compress_many_match_the_sponge() {
    let mut rng = rng(64);
    let sponge = PlonkyHash::new(Keccak256Hash);
    let compress = PlonkyCompress::new(Keccak256Hash);
    for backend in [Backend::Cpu, Backend::GpuHost] {
        let hasher = LanesHash::new(backend);
        // Odd widths, a width of exactly one rate block (34 u32 = 17 words), one past it,
        // one short of it, two blocks.
        for (rows, width) in [
            (1, 0),
            (3, 1),
            (13, 7),
            (9, 34),
            (11, 35),
            (4, 33),
            (6, 68),
            (5, 101),
        ] {
            let m = random_matrix(&mut rng, rows, width);
            let mut got = vec![[0u64; MMCS_DIGEST_WORDS]; rows];
            hasher.hash_many(&m.values, &mut got);
            for (r, digest) in got.iter().enumerate() {
                let row = &m.values[r * width..(r + 1) * width];
                let want: [u8; 32] = sponge.hash_iter(row.iter().copied());
                assert_eq!(
                    digest_bytes(digest),
                    want,
                    "{} row {r} of width {width}",
                    backend.name()
                );
                let single: Digest = hasher.hash_iter(row.iter().copied());
                assert_eq!(
                    digest_bytes(&single),
                    want,
                    "{} single row of width {width}",
                    backend.name()
                );
            }
        }
        let c = LanesCompress::new(backend);
        let pairs: Vec<[Digest; 2]> = (0..19).map(|_| rng.random()).collect();
        let mut got = vec![[0u64; MMCS_DIGEST_WORDS]; pairs.len()];
        c.compress_many(&pairs, &mut got);
        for (pair, digest) in pairs.iter().zip(&got) {
            assert_eq!(
                digest_bytes(digest),
                compress.compress(pair.map(|d| digest_bytes(&d))),
                "{} compress",
                backend.name()
            );
            assert_eq!(
                c.compress(*pair),
                *digest,
                "{} single compress",
                backend.name()
            );
        }
    }
}

#[test]
fn gpu_host_proof_verifies_with_the_cpu_commitments() {
    let mut rng = rng(65);
    let (mut state, keys) = random_state(&mut rng, 40);
    let diff = random_diff(&mut rng, &state, &keys, 6);
    let data = random_bytes(&mut rng, 300);
    let witness = BatchWitness::build(3, &mut state, data.clone(), diff.clone()).unwrap();
    let prove_on = |backend| {
        prove(
            &witness,
            &ProverConfig {
                security: Security::Fast,
                backend,
            },
        )
        .unwrap()
    };
    let cpu = prove_on(Backend::Cpu);
    let host = prove_on(Backend::GpuHost);
    verify(&host, &witness.public_inputs(), &data, &diff).unwrap();
    // Everything before the query phase's proof-of-work (which a parallel search finds in
    // any order) is deterministic: the trace and quotient commitments and opened values.
    assert_eq!(cpu.keccak.len(), host.keccak.len());
    let pairs = std::iter::once((&cpu.state, &host.state, "state")).chain(
        cpu.keccak
            .iter()
            .zip(&host.keccak)
            .map(|(a, b)| (a, b, "keccak")),
    );
    for (a, b, which) in pairs {
        assert_eq!(
            postcard::to_allocvec(&a.commitments).unwrap(),
            postcard::to_allocvec(&b.commitments).unwrap(),
            "{which} proof commitments differ"
        );
        assert_eq!(
            postcard::to_allocvec(&a.opened_values).unwrap(),
            postcard::to_allocvec(&b.opened_values).unwrap(),
            "{which} proof opened values differ"
        );
    }
}

#[test]
fn cuda_backend_without_a_device_is_refused_with_a_clear_error() {
    let mut rng = rng(66);
    let (mut state, keys) = random_state(&mut rng, 10);
    let diff = random_diff(&mut rng, &state, &keys, 2);
    let data = random_bytes(&mut rng, 50);
    let witness = BatchWitness::build(1, &mut state, data.clone(), diff.clone()).unwrap();
    let config = ProverConfig {
        security: Security::Fast,
        backend: Backend::Cuda,
    };
    match lanes_prover::cuda::device() {
        // A machine with a GPU: the device's proof verifies.
        Ok(_) => {
            let proof = prove(&witness, &config).unwrap();
            verify(&proof, &witness.public_inputs(), &data, &diff).unwrap();
            assert_eq!(lanes_prover::cuda::fallbacks().0, 0);
        }
        Err(reason) => {
            assert!(
                reason.contains("CUDA") || reason.contains("NVRTC"),
                "unclear: {reason}"
            );
            match prove(&witness, &config) {
                Err(ProveError::Backend { backend, reason: r }) => {
                    assert_eq!(backend, "cuda");
                    assert_eq!(r, reason);
                }
                other => panic!("expected a backend error, got {other:?}"),
            }
        }
    }
}

/// NVRTC comes from the project's set-up (`.venv`, PyPI `nvidia-cuda-nvrtc-cu12`), so a
/// missing NVRTC fails this test rather than skipping it.
#[test]
fn device_build_compiles_to_ptx_with_every_entry_kernel() {
    let from = lanes_prover::cuda::load_nvrtc().unwrap_or_else(|e| panic!("{e}"));
    let ptx = lanes_prover::cuda::compile_ptx("compute_90").unwrap_or_else(|e| panic!("{e}"));
    assert!(
        ptx.contains(".target sm_90"),
        "PTX is not for sm_90 (NVRTC from {from})"
    );
    for kernel in lanes_prover::cuda::ENTRY_KERNELS {
        assert!(
            ptx.contains(&format!(".entry {kernel}(")),
            "PTX has no `{kernel}` (NVRTC from {from})"
        );
    }
}

#[test]
fn backend_names_round_trip_and_bench_reports_a_verified_proof() {
    for b in Backend::ALL {
        assert_eq!(Backend::from_name(b.name()), Some(b));
    }
    assert_eq!(Backend::from_name("gpu"), None);
    let opts = BenchOptions {
        updates: 4,
        data_bytes: 200,
        state_keys: 30,
        security: Security::Fast,
        backend: Backend::GpuHost,
        seed: 7,
    };
    let report = bench::run(&opts).unwrap();
    assert!(report.verified && report.proof_bytes > 0 && report.prove_s > 0.0);
    assert_eq!(report.backend, "gpu-host");
    let json = serde_json::to_value(&report).unwrap();
    for field in [
        "updates",
        "data_bytes",
        "prove_s",
        "verify_s",
        "peak_mem_bytes",
        "prove_cpu_s",
    ] {
        assert!(json.get(field).is_some(), "report has no {field}");
    }
}

/// `cuda` gives Plonky3's bytes: from the device where there is one, otherwise from the host
/// build it falls back to (counted), so the fallback path is exercised here too.
#[test]
fn cuda_backend_results_are_byte_identical_with_or_without_a_device() {
    let mut rng = rng(67);
    let cpu = LanesDft::new(Backend::Cpu);
    let cuda = LanesDft::new(Backend::Cuda);
    for (height, width, added_bits) in [(1, 3, 1), (64, 9, 1), (512, 5, 2)] {
        let m = random_matrix(&mut rng, height, width);
        assert!(
            storage(cpu.coset_lde_batch(m.clone(), added_bits, F::GENERATOR))
                == storage(cuda.coset_lde_batch(m.clone(), added_bits, F::GENERATOR)),
            "cuda LDE of {height}x{width} differs"
        );
        assert!(
            storage(cpu.coset_lde_batch_with_transform(m.clone(), added_bits, F::ONE, |_, _| {}))
                == storage(cuda.coset_lde_batch_with_transform(m, added_bits, F::ONE, |_, _| {})),
            "cuda LDE with transform of {height}x{width} differs"
        );
    }
    let m = random_matrix(&mut rng, 33, 35);
    let mut want = vec![[0u64; MMCS_DIGEST_WORDS]; 33];
    let mut got = want.clone();
    LanesHash::new(Backend::Cpu).hash_many(&m.values, &mut want);
    LanesHash::new(Backend::Cuda).hash_many(&m.values, &mut got);
    assert_eq!(want, got, "cuda hash_many");
    let pairs: Vec<[Digest; 2]> = (0..17).map(|_| rng.random()).collect();
    let (mut want, mut got) = (vec![[0u64; 4]; 17], vec![[0u64; 4]; 17]);
    LanesCompress::new(Backend::Cpu).compress_many(&pairs, &mut want);
    LanesCompress::new(Backend::Cuda).compress_many(&pairs, &mut got);
    assert_eq!(want, got, "cuda compress_many");
    let (fallbacks, first) = lanes_prover::cuda::fallbacks();
    match lanes_prover::cuda::device() {
        Ok(_) => assert_eq!(fallbacks, 0, "device calls failed: {first:?}"),
        // Six LDE calls (the transform variant falls back once, at its first half), one
        // hash_many, one compress_many.
        Err(_) => assert_eq!(fallbacks, 8, "fallbacks counted: {fallbacks}"),
    }
}
