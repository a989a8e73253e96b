//! The GPU seam: the DFT and the Merkle hashing of every commitment go through these
//! types, which implement Plonky3's traits and dispatch on a [`Backend`].
//!
//! - [`LanesDft`] implements `p3_dft::TwoAdicSubgroupDft<KoalaBear>`; the PCS calls
//!   `coset_lde_batch` once per committed matrix (trace, quotient chunks).
//! - [`LanesHash`] implements `p3_symmetric::CryptographicHasher` (rows into 4 x `u64`
//!   digests) and [`LanesCompress`] implements `PseudoCompressionFunction` (two digests
//!   into one). Both declare [`SEAM_LANES`] lanes, which makes `p3_merkle_tree`'s tree
//!   builder hand them whole runs of rows (`hash_many`) and of digest pairs
//!   (`compress_many`) instead of one packed vector at a time.
//!
//! Backends:
//!
//! - [`Backend::Cpu`] (default): Plonky3's implementations (`Radix2DitParallel`;
//!   `p3_keccak::Keccak256Hash`). Its `hash_many` / `compress_many` go to
//!   `Keccak256Hash::hash_many`, which hashes several equal-length messages per Keccak-f
//!   call on the widest SIMD the running CPU has (AVX-512, AVX2, else SSE2), chosen at run
//!   time, so a portable build hashes as fast as a native one. Its
//!   `coset_lde_batch` (the PCS's DFT call) runs the AVX2 LDE of `cpu_lde` when the CPU
//!   has AVX2, detected at run time, so a portable build gets vector arithmetic there too
//!   (a native build keeps Plonky3's, packed there).
//! - [`Backend::GpuHost`]: the host build of the CUDA kernels in `kernels/prover/`
//!   (`crate::kernels`), spread over the rayon pool.
//! - [`Backend::Cuda`]: the device build of the same kernels ([`crate::cuda`]). The DFT
//!   calls other than `coset_lde_batch*` (not on the proving path) and single-message
//!   hashes run the host build.
//!
//! Every backend produces byte-identical results, because commitments are checked by
//! verifiers that run the CPU backend: the same LDE (coset shift, bit-reversed row order);
//! the same row hash (keccak-256 of the row's raw Montgomery `u32`s as little-endian bytes,
//! the 32-byte digest read as 4 little-endian `u64` words); the same compression
//! (keccak-256 of the 64 bytes `left || right`).
//! `KoalaBear` is `#[repr(transparent)]` over its Montgomery-form `u32`, so matrices and
//! `hash_many` inputs go to the kernels as `u32` buffers without conversion.

use std::array;

use p3_dft::{Layout, Radix2DitParallel, TwoAdicSubgroupDft};
use p3_field::{Field, PrimeCharacteristicRing};
use p3_keccak::{Keccak256Hash, VECTOR_LEN};
use p3_matrix::Matrix;
use p3_matrix::bitrev::{BitReversalPerm, BitReversedMatrixView};
use p3_matrix::dense::{RowMajorMatrix, RowMajorMatrixView, RowMajorMatrixViewMut};
use p3_symmetric::{CryptographicHasher, PseudoCompressionFunction};
use p3_util::log2_strict_usize;
use serde::{Deserialize, Serialize};

use crate::hash::F;
use crate::{cuda, kernels};

mod cpu_lde;

/// Where the DFT and Merkle hashing run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Backend {
    /// Plonky3's CPU implementations (rayon-parallel).
    #[default]
    Cpu,
    /// The host (C++) build of the CUDA kernels in `kernels/prover/`.
    GpuHost,
    /// The CUDA kernels on an NVIDIA GPU; `prove` refuses it when no device is present.
    Cuda,
}

impl Backend {
    /// Every backend, in [`Self::name`] order.
    pub const ALL: [Self; 3] = [Self::Cpu, Self::GpuHost, Self::Cuda];

    /// The name reported by benchmarks and accepted by [`Self::from_name`]: `cpu`,
    /// `gpu-host`, `cuda`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::GpuHost => "gpu-host",
            Self::Cuda => "cuda",
        }
    }

    /// Parses [`Self::name`].
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.name() == s)
    }
}

/// Messages per `hash_many` call and groups per `compress_many` call that [`LanesHash`] and
/// [`LanesCompress`] declare (their `LANES`): anything above one routes the Merkle tree
/// builder through the batch entry points. A multiple of every `p3_keccak::VECTOR_LEN`.
pub const SEAM_LANES: usize = 8;

/// Words (`u64`) in a Merkle digest: 256 bits.
pub const MMCS_DIGEST_WORDS: usize = 4;
/// A digest.
type Digest = [u64; MMCS_DIGEST_WORDS];
/// The packed field type of the Merkle commitments (`p3_keccak::VECTOR_LEN` lanes).
type PackedF = [F; VECTOR_LEN];
/// The packed digest word.
type PackedW = [u64; VECTOR_LEN];

/// The DFT used by the PCS (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct LanesDft {
    backend: Backend,
    cpu: Radix2DitParallel<F>,
}

impl LanesDft {
    /// A DFT running on `backend`.
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            cpu: Radix2DitParallel::default(),
        }
    }

    /// The coset LDE on a kernel backend: storage in bit-reversed row order.
    fn kernel_lde<T>(
        &self,
        mat: RowMajorMatrix<F>,
        added_bits: usize,
        shift: F,
        transform: T,
    ) -> RowMajorMatrix<F>
    where
        T: FnOnce(&mut RowMajorMatrixViewMut<'_, F>, Layout),
    {
        let width = mat.width();
        let log_h = log2_strict_usize(mat.height());
        if self.backend != Backend::Cuda {
            return host_lde(mat, added_bits, shift, transform);
        }
        // The transform hook runs on the host between the two device halves.
        let mut coeffs =
            match cuda::device().and_then(|d| d.coefficients(&mat.values, width, log_h)) {
                Ok(coeffs) => coeffs,
                Err(e) => {
                    cuda::record_fallback(&e);
                    return host_lde(mat, added_bits, shift, transform);
                }
            };
        transform(
            &mut RowMajorMatrixViewMut::new(&mut coeffs, width),
            Layout::Natural,
        );
        let out =
            match cuda::device().and_then(|d| d.extend(&coeffs, width, log_h, added_bits, shift)) {
                Ok(out) => out,
                Err(e) => {
                    cuda::record_fallback(&e);
                    kernels::extend(&coeffs, width, log_h, added_bits, shift)
                }
            };
        RowMajorMatrix::new(out, width)
    }

    /// Whether this call runs on the kernels (an empty-width matrix has nothing to run).
    fn on_kernels(&self, mat: &RowMajorMatrix<F>) -> bool {
        self.backend != Backend::Cpu && mat.width() > 0 && mat.height() > 0
    }
}

/// The coset LDE on the host build, in one buffer of the LDE's size: coefficients, the
/// transform hook on them, then the evaluations in place (bit-reversed rows).
fn host_lde<T>(
    mat: RowMajorMatrix<F>,
    added_bits: usize,
    shift: F,
    transform: T,
) -> RowMajorMatrix<F>
where
    T: FnOnce(&mut RowMajorMatrixViewMut<'_, F>, Layout),
{
    let width = mat.width();
    let log_h = log2_strict_usize(mat.height());
    let h_len = mat.values.len();
    let mut out = vec![F::ZERO; h_len << added_bits];
    kernels::coefficients_into(mat.values, width, log_h, &mut out);
    transform(
        &mut RowMajorMatrixViewMut::new(&mut out[..h_len], width),
        Layout::Natural,
    );
    kernels::extend_in_place(&mut out, width, log_h, added_bits, shift);
    RowMajorMatrix::new(out, width)
}

impl TwoAdicSubgroupDft<F> for LanesDft {
    type Evaluations = BitReversedMatrixView<RowMajorMatrix<F>>;

    fn dft_batch(&self, mut mat: RowMajorMatrix<F>) -> Self::Evaluations {
        if !self.on_kernels(&mat) {
            return self.cpu.dft_batch(mat);
        }
        let (width, log_n) = (mat.width(), log2_strict_usize(mat.height()));
        kernels::ntt_dif(
            &mut mat.values,
            width,
            log_n,
            &kernels::twiddles(log_n, false),
        );
        BitReversalPerm::new_view(mat)
    }

    fn coset_dft_batch(&self, mut mat: RowMajorMatrix<F>, shift: F) -> Self::Evaluations {
        if !self.on_kernels(&mat) {
            return self.cpu.coset_dft_batch(mat, shift);
        }
        let (width, height) = (mat.width(), mat.height());
        kernels::scale_rows(&mut mat.values, width, &kernels::powers(shift, height));
        self.dft_batch(mat)
    }

    fn idft_batch(&self, mat: RowMajorMatrix<F>) -> RowMajorMatrix<F> {
        if !self.on_kernels(&mat) {
            return self.cpu.idft_batch(mat);
        }
        let (width, log_h) = (mat.width(), log2_strict_usize(mat.height()));
        RowMajorMatrix::new(kernels::coefficients(mat.values, width, log_h), width)
    }

    fn coset_idft_batch(&self, mat: RowMajorMatrix<F>, shift: F) -> RowMajorMatrix<F> {
        if !self.on_kernels(&mat) {
            return self.cpu.coset_idft_batch(mat, shift);
        }
        let mut coeffs = self.idft_batch(mat);
        let (width, height) = (coeffs.width(), coeffs.height());
        kernels::scale_rows(
            &mut coeffs.values,
            width,
            &kernels::powers(shift.inverse(), height),
        );
        coeffs
    }

    fn coset_lde_batch(
        &self,
        mat: RowMajorMatrix<F>,
        added_bits: usize,
        shift: F,
    ) -> Self::Evaluations {
        if !self.on_kernels(&mat) {
            return cpu_lde::coset_lde(&self.cpu, mat, added_bits, shift);
        }
        // No transform hook: the device does the whole LDE in one round trip.
        if self.backend == Backend::Cuda {
            let (width, log_h) = (mat.width(), log2_strict_usize(mat.height()));
            match cuda::device().and_then(|d| d.lde(&mat.values, width, log_h, added_bits, shift)) {
                Ok(out) => return BitReversalPerm::new_view(RowMajorMatrix::new(out, width)),
                Err(e) => cuda::record_fallback(&e),
            }
        }
        BitReversalPerm::new_view(host_lde(mat, added_bits, shift, |_, _| {}))
    }

    fn coset_lde_batch_with_transform<T>(
        &self,
        mat: RowMajorMatrix<F>,
        added_bits: usize,
        shift: F,
        transform: T,
    ) -> Self::Evaluations
    where
        T: FnOnce(&mut RowMajorMatrixViewMut<'_, F>, Layout),
    {
        if !self.on_kernels(&mat) {
            return self
                .cpu
                .coset_lde_batch_with_transform(mat, added_bits, shift, transform);
        }
        BitReversalPerm::new_view(self.kernel_lde(mat, added_bits, shift, transform))
    }

    fn coset_lde_batch_with_blocks<T, K, C>(
        &self,
        mat: RowMajorMatrix<F>,
        added_bits: usize,
        shift: F,
        transform: T,
        make_consumer: K,
    ) -> Self::Evaluations
    where
        T: FnOnce(&mut RowMajorMatrixViewMut<'_, F>, Layout),
        K: FnOnce(usize) -> C,
        C: Fn(usize, RowMajorMatrixView<'_, F>) + Sync,
    {
        if !self.on_kernels(&mat) {
            return self.cpu.coset_lde_batch_with_blocks(
                mat,
                added_bits,
                shift,
                transform,
                make_consumer,
            );
        }
        // One block: the whole bit-reversed storage, as the trait's default publishes it.
        let lde = self.kernel_lde(mat, added_bits, shift, transform);
        let consume = make_consumer(lde.height());
        consume(0, lde.as_view());
        BitReversalPerm::new_view(lde)
    }
}

/// Leaf hasher of the Merkle commitments (see the module docs).
#[derive(Clone, Debug)]
pub struct LanesHash {
    backend: Backend,
}

impl LanesHash {
    /// A hasher running on `backend`.
    pub fn new(backend: Backend) -> Self {
        Self { backend }
    }
}

// The byte views below read `u32`/`u64` memory as the little-endian bytes the hash is
// defined over.
const _: () = assert!(
    cfg!(target_endian = "little"),
    "the Merkle hash reads words as little-endian bytes"
);
const _: () = assert!(size_of::<F>() == 4 && align_of::<F>() == 4);

/// The field elements' raw Montgomery `u32`s as bytes.
fn field_bytes(values: &[F]) -> &[u8] {
    // SAFETY: `F` is `#[repr(transparent)]` over a `u32` (checked above); any initialized
    // memory is valid as bytes, and `u8` has alignment 1.
    unsafe { std::slice::from_raw_parts(values.as_ptr().cast(), size_of_val(values)) }
}

/// Digests as their 32 bytes each, writable.
fn digest_bytes_mut(digests: &mut [Digest]) -> &mut [[u8; 32]] {
    // SAFETY: a `Digest` is 4 `u64`s, 32 bytes with no padding; every byte pattern is a
    // valid `u64`, and `[u8; 32]` has alignment 1.
    unsafe { std::slice::from_raw_parts_mut(digests.as_mut_ptr().cast(), digests.len()) }
}

/// keccak-256 of `bytes` as a digest.
fn keccak_digest(bytes: &[u8]) -> Digest {
    let h = Keccak256Hash.hash_iter_slices([bytes]);
    array::from_fn(|i| u64::from_le_bytes(h[8 * i..8 * i + 8].try_into().expect("8 bytes")))
}

/// `Keccak256Hash::hash_many` over `n` equal-length messages laid out back to back.
fn keccak_many(bytes: &[u8], out: &mut [Digest]) {
    Keccak256Hash.hash_many(bytes, digest_bytes_mut(out));
}

impl CryptographicHasher<F, Digest> for LanesHash {
    const LANES: usize = SEAM_LANES;

    fn hash_iter<I>(&self, input: I) -> Digest
    where
        I: IntoIterator<Item = F>,
    {
        let row: Vec<F> = input.into_iter().collect();
        match self.backend {
            Backend::Cpu => keccak_digest(field_bytes(&row)),
            // A single message is not worth a device round trip.
            Backend::GpuHost | Backend::Cuda => {
                let mut out = [[0; MMCS_DIGEST_WORDS]];
                kernels::hash_rows(&row, &mut out);
                out[0]
            }
        }
    }

    fn hash_many(&self, input: &[F], out: &mut [Digest]) {
        if out.is_empty() {
            return;
        }
        assert!(
            input.len().is_multiple_of(out.len()),
            "input length {} is not a multiple of the digest count {}",
            input.len(),
            out.len()
        );
        match self.backend {
            Backend::Cpu => keccak_many(field_bytes(input), out),
            Backend::GpuHost => kernels::hash_rows(input, out),
            Backend::Cuda => {
                if let Err(e) = cuda::device().and_then(|d| d.hash_rows(input, out)) {
                    cuda::record_fallback(&e);
                    kernels::hash_rows(input, out);
                }
            }
        }
    }
}

/// The tree builder's packed arm (only reached when a layer cannot be batched): the same
/// hash, lane by lane.
impl CryptographicHasher<PackedF, [PackedW; MMCS_DIGEST_WORDS]> for LanesHash {
    fn hash_iter<I>(&self, input: I) -> [PackedW; MMCS_DIGEST_WORDS]
    where
        I: IntoIterator<Item = PackedF>,
    {
        let rows: Vec<PackedF> = input.into_iter().collect();
        let lanes: [Digest; VECTOR_LEN] = array::from_fn(|l| {
            let row: Vec<F> = rows.iter().map(|p| p[l]).collect();
            keccak_digest(field_bytes(&row))
        });
        array::from_fn(|i| array::from_fn(|l| lanes[l][i]))
    }
}

/// Two-to-one compression of the Merkle commitments (see the module docs).
#[derive(Clone, Debug)]
pub struct LanesCompress {
    backend: Backend,
}

impl LanesCompress {
    /// A compression function running on `backend`.
    pub fn new(backend: Backend) -> Self {
        Self { backend }
    }
}

/// Pairs of digests as their 64 bytes each, back to back.
fn pair_bytes(pairs: &[[Digest; 2]]) -> &[u8] {
    // SAFETY: `[Digest; 2]` is 8 `u64`s, 64 bytes with no padding; any initialized memory
    // is valid as bytes, and `u8` has alignment 1.
    unsafe { std::slice::from_raw_parts(pairs.as_ptr().cast(), size_of_val(pairs)) }
}

impl PseudoCompressionFunction<Digest, 2> for LanesCompress {
    const LANES: usize = SEAM_LANES;

    fn compress(&self, input: [Digest; 2]) -> Digest {
        match self.backend {
            Backend::Cpu => keccak_digest(pair_bytes(&[input])),
            Backend::GpuHost | Backend::Cuda => {
                let mut out = [[0; MMCS_DIGEST_WORDS]];
                kernels::compress_pairs(&[input], &mut out);
                out[0]
            }
        }
    }

    fn compress_many(&self, inputs: &[[Digest; 2]], out: &mut [Digest]) {
        assert_eq!(inputs.len(), out.len(), "one output per pair");
        match self.backend {
            Backend::Cpu => keccak_many(pair_bytes(inputs), out),
            Backend::GpuHost => kernels::compress_pairs(inputs, out),
            Backend::Cuda => {
                if let Err(e) = cuda::device().and_then(|d| d.compress_pairs(inputs, out)) {
                    cuda::record_fallback(&e);
                    kernels::compress_pairs(inputs, out);
                }
            }
        }
    }
}

/// The tree builder's packed arm (only reached when a layer cannot be batched): the same
/// compression, lane by lane.
impl PseudoCompressionFunction<[PackedW; MMCS_DIGEST_WORDS], 2> for LanesCompress {
    fn compress(&self, input: [[PackedW; MMCS_DIGEST_WORDS]; 2]) -> [PackedW; MMCS_DIGEST_WORDS] {
        let lanes: [Digest; VECTOR_LEN] = array::from_fn(|l| {
            let pair: [Digest; 2] = array::from_fn(|side| array::from_fn(|i| input[side][i][l]));
            keccak_digest(pair_bytes(&[pair]))
        });
        array::from_fn(|i| array::from_fn(|l| lanes[l][i]))
    }
}
