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
//!   `SerializingHasher` over a Keccak-f `PaddingFreeSponge`, and
//!   `CompressionFunctionFromHasher` over the same sponge). Its `hash_many` /
//!   `compress_many` feed the sponge `p3_keccak::VECTOR_LEN` messages at a time, as the tree
//!   builder's packed arm did, so a native (AVX2) build keeps its 4-lane Keccak-f. Its
//!   `coset_lde_batch` (the PCS's DFT call) runs the AVX2 LDE of [`cpu_lde`] when the CPU
//!   has AVX2, detected at run time, so a portable build gets vector arithmetic there too
//!   (a native build keeps Plonky3's, packed there).
//! - [`Backend::GpuHost`]: the host build of the CUDA kernels in `kernels/prover/`
//!   ([`crate::kernels`]), spread over the rayon pool.
//! - [`Backend::Cuda`]: the device build of the same kernels ([`crate::cuda`]). The DFT
//!   calls other than `coset_lde_batch*` (not on the proving path) and single-message
//!   hashes run the host build.
//!
//! Every backend produces byte-identical results, because commitments are checked by
//! verifiers that run the CPU backend: the same LDE (coset shift, bit-reversed row order);
//! the same row hash (Keccak-f[1600] sponge, rate 17 `u64` words, overwrite mode, no
//! padding, first 4 words out, absorbing the raw Montgomery `u32`s two per `u64`, first in
//! the low half); the same compression (that sponge over the 8 words `left || right`).
//! `KoalaBear` is `#[repr(transparent)]` over its Montgomery-form `u32`, so matrices and
//! `hash_many` inputs go to the kernels as `u32` buffers without conversion.

use std::array;

use p3_dft::{Layout, Radix2DitParallel, TwoAdicSubgroupDft};
use p3_field::{Field, PrimeCharacteristicRing};
use p3_keccak::{KeccakF, VECTOR_LEN};
use p3_matrix::Matrix;
use p3_matrix::bitrev::{BitReversalPerm, BitReversedMatrixView};
use p3_matrix::dense::{RowMajorMatrix, RowMajorMatrixView, RowMajorMatrixViewMut};
use p3_symmetric::{
    CompressionFunctionFromHasher, CryptographicHasher, PaddingFreeSponge,
    PseudoCompressionFunction, SerializingHasher,
};
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
/// Keccak-f[1600] sponge over `u64` words: rate 17 words (136 bytes), 4-word output.
type U64Sponge = PaddingFreeSponge<KeccakF, 25, 17, MMCS_DIGEST_WORDS>;
type CpuHash = SerializingHasher<U64Sponge>;
type CpuCompress = CompressionFunctionFromHasher<U64Sponge, 2, MMCS_DIGEST_WORDS>;
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
    cpu: CpuHash,
}

impl LanesHash {
    /// A hasher running on `backend`.
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            cpu: CpuHash::new(U64Sponge::new(KeccakF)),
        }
    }

    /// Plonky3's sponge over `VECTOR_LEN` rows at a time (the tail one by one).
    fn cpu_hash_many(&self, input: &[F], out: &mut [Digest]) {
        let len = input.len() / out.len();
        let mut done = 0;
        if VECTOR_LEN > 1 {
            let mut staged: Vec<PackedF> = Vec::with_capacity(len);
            for (g, digests) in out.chunks_exact_mut(VECTOR_LEN).enumerate() {
                let rows = &input[g * VECTOR_LEN * len..][..VECTOR_LEN * len];
                staged.clear();
                staged.extend((0..len).map(|j| array::from_fn(|l| rows[l * len + j])));
                let packed: [PackedW; MMCS_DIGEST_WORDS] =
                    self.cpu.hash_iter(staged.iter().copied());
                for (l, digest) in digests.iter_mut().enumerate() {
                    *digest = array::from_fn(|i| packed[i][l]);
                }
                done += VECTOR_LEN;
            }
        }
        for (r, digest) in out.iter_mut().enumerate().skip(done) {
            *digest = self.cpu.hash_iter(input[r * len..][..len].iter().copied());
        }
    }
}

impl CryptographicHasher<F, Digest> for LanesHash {
    const LANES: usize = SEAM_LANES;

    fn hash_iter<I>(&self, input: I) -> Digest
    where
        I: IntoIterator<Item = F>,
    {
        match self.backend {
            Backend::Cpu => self.cpu.hash_iter(input),
            // A single message is not worth a device round trip.
            Backend::GpuHost | Backend::Cuda => {
                let row: Vec<F> = input.into_iter().collect();
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
            Backend::Cpu => self.cpu_hash_many(input, out),
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

/// The tree builder's packed arm (only reached when a layer cannot be batched): Plonky3's.
impl CryptographicHasher<PackedF, [PackedW; MMCS_DIGEST_WORDS]> for LanesHash {
    fn hash_iter<I>(&self, input: I) -> [PackedW; MMCS_DIGEST_WORDS]
    where
        I: IntoIterator<Item = PackedF>,
    {
        self.cpu.hash_iter(input)
    }
}

/// Two-to-one compression of the Merkle commitments (see the module docs).
#[derive(Clone, Debug)]
pub struct LanesCompress {
    backend: Backend,
    cpu: CpuCompress,
}

impl LanesCompress {
    /// A compression function running on `backend`.
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            cpu: CpuCompress::new(U64Sponge::new(KeccakF)),
        }
    }

    /// Plonky3's compression over `VECTOR_LEN` pairs at a time (the tail one by one).
    fn cpu_compress_many(&self, inputs: &[[Digest; 2]], out: &mut [Digest]) {
        let mut done = 0;
        if VECTOR_LEN > 1 {
            for (pairs, digests) in inputs
                .chunks_exact(VECTOR_LEN)
                .zip(out.chunks_exact_mut(VECTOR_LEN))
            {
                let packed: [[PackedW; MMCS_DIGEST_WORDS]; 2] = array::from_fn(|side| {
                    array::from_fn(|i| array::from_fn(|l| pairs[l][side][i]))
                });
                let result = self.cpu.compress(packed);
                for (l, digest) in digests.iter_mut().enumerate() {
                    *digest = array::from_fn(|i| result[i][l]);
                }
                done += VECTOR_LEN;
            }
        }
        for (pair, digest) in inputs.iter().zip(out.iter_mut()).skip(done) {
            *digest = self.cpu.compress(*pair);
        }
    }
}

impl PseudoCompressionFunction<Digest, 2> for LanesCompress {
    const LANES: usize = SEAM_LANES;

    fn compress(&self, input: [Digest; 2]) -> Digest {
        match self.backend {
            Backend::Cpu => self.cpu.compress(input),
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
            Backend::Cpu => self.cpu_compress_many(inputs, out),
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

/// The tree builder's packed arm (only reached when a layer cannot be batched): Plonky3's.
impl PseudoCompressionFunction<[PackedW; MMCS_DIGEST_WORDS], 2> for LanesCompress {
    fn compress(&self, input: [[PackedW; MMCS_DIGEST_WORDS]; 2]) -> [PackedW; MMCS_DIGEST_WORDS] {
        self.cpu.compress(input)
    }
}
