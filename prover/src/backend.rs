//! The GPU seam: the DFT and the Merkle hashing of every commitment go through these
//! types, which implement Plonky3's traits and dispatch on a [`Backend`].
//!
//! - [`LanesDft`] implements `p3_dft::TwoAdicSubgroupDft<KoalaBear>`; the PCS calls
//!   `coset_lde_batch*` once per committed matrix (trace, quotient chunks).
//! - [`LanesHash`] implements `p3_symmetric::CryptographicHasher` (rows into 4 x `u64`
//!   digests) and [`LanesCompress`] implements `PseudoCompressionFunction` (two digests
//!   into one); `p3_merkle_tree::MerkleTreeMmcs` builds every Merkle tree from them and
//!   calls the batch entry points `hash_many` / `compress_many` with flat slices.
//!
//! The only backend today is [`Backend::Cpu`], which delegates to Plonky3's own
//! implementations (`Radix2DitParallel`; `SerializingHasher` over a Keccak-f
//! `PaddingFreeSponge`, and `CompressionFunctionFromHasher` over the same sponge). A
//! device backend plugs in by adding a variant and handling it in the `match`es below:
//! `KoalaBear` is `#[repr(transparent)]` over a `u32` in Montgomery form
//! (`x * 2^32 mod p`), so a `RowMajorMatrix<KoalaBear>`'s `values` and the
//! `&[KoalaBear]` passed to `hash_many` can be reinterpreted as `&[u32]` buffers
//! without copying. A backend must produce byte-identical results to the CPU one,
//! because commitments are checked by verifiers that run the CPU backend: the same
//! LDE (coset shift, bit-reversed row order); the same row hash (Keccak-f[1600]
//! sponge, rate 17 `u64` words, overwrite mode, no padding, first 4 words out,
//! absorbing the raw Montgomery `u32`s two per `u64`, first in the low half); the
//! same compression (that sponge over the 8 words `left || right`).

use p3_dft::{Layout, Radix2DitParallel, TwoAdicSubgroupDft};
use p3_keccak::KeccakF;
use p3_matrix::bitrev::BitReversedMatrixView;
use p3_matrix::dense::{RowMajorMatrix, RowMajorMatrixView, RowMajorMatrixViewMut};
use p3_symmetric::{
    CompressionFunctionFromHasher, CryptographicHasher, PaddingFreeSponge,
    PseudoCompressionFunction, SerializingHasher,
};
use serde::{Deserialize, Serialize};

use crate::hash::F;

/// Where the DFT and Merkle hashing run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Backend {
    /// Plonky3's CPU implementations (rayon-parallel).
    #[default]
    Cpu,
}

impl Backend {
    /// The name reported by benchmarks (`cpu`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
        }
    }
}

/// Words (`u64`) in a Merkle digest: 256 bits.
pub const MMCS_DIGEST_WORDS: usize = 4;
/// Keccak-f[1600] sponge over `u64` words: rate 17 words (136 bytes), 4-word output.
type U64Sponge = PaddingFreeSponge<KeccakF, 25, 17, MMCS_DIGEST_WORDS>;
type CpuHash = SerializingHasher<U64Sponge>;
type CpuCompress = CompressionFunctionFromHasher<U64Sponge, 2, MMCS_DIGEST_WORDS>;

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
}

impl TwoAdicSubgroupDft<F> for LanesDft {
    type Evaluations = BitReversedMatrixView<RowMajorMatrix<F>>;

    fn dft_batch(&self, mat: RowMajorMatrix<F>) -> Self::Evaluations {
        match self.backend {
            Backend::Cpu => self.cpu.dft_batch(mat),
        }
    }

    fn coset_dft_batch(&self, mat: RowMajorMatrix<F>, shift: F) -> Self::Evaluations {
        match self.backend {
            Backend::Cpu => self.cpu.coset_dft_batch(mat, shift),
        }
    }

    fn idft_batch(&self, mat: RowMajorMatrix<F>) -> RowMajorMatrix<F> {
        match self.backend {
            Backend::Cpu => self.cpu.idft_batch(mat),
        }
    }

    fn coset_idft_batch(&self, mat: RowMajorMatrix<F>, shift: F) -> RowMajorMatrix<F> {
        match self.backend {
            Backend::Cpu => self.cpu.coset_idft_batch(mat, shift),
        }
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
        match self.backend {
            Backend::Cpu => self
                .cpu
                .coset_lde_batch_with_transform(mat, added_bits, shift, transform),
        }
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
        match self.backend {
            Backend::Cpu => self.cpu.coset_lde_batch_with_blocks(
                mat,
                added_bits,
                shift,
                transform,
                make_consumer,
            ),
        }
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
}

impl<T: Clone, Out> CryptographicHasher<T, Out> for LanesHash
where
    CpuHash: CryptographicHasher<T, Out>,
{
    fn hash_iter<I>(&self, input: I) -> Out
    where
        I: IntoIterator<Item = T>,
    {
        match self.backend {
            Backend::Cpu => self.cpu.hash_iter(input),
        }
    }

    fn hash_many(&self, input: &[T], out: &mut [Out]) {
        match self.backend {
            Backend::Cpu => self.cpu.hash_many(input, out),
        }
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
}

impl<T: Clone> PseudoCompressionFunction<T, 2> for LanesCompress
where
    CpuCompress: PseudoCompressionFunction<T, 2>,
{
    fn compress(&self, input: [T; 2]) -> T {
        match self.backend {
            Backend::Cpu => self.cpu.compress(input),
        }
    }

    fn compress_many(&self, inputs: &[[T; 2]], out: &mut [T]) {
        match self.backend {
            Backend::Cpu => self.cpu.compress_many(inputs, out),
        }
    }
}
