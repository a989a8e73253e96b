//! The [`Backend::Cpu`](super::Backend::Cpu) coset LDE: an AVX2 implementation chosen at run
//! time, Plonky3's `Radix2DitParallel` otherwise.
//!
//! # Why
//!
//! The PCS calls `coset_lde_batch` once per committed matrix (the traces, the quotient
//! chunks), and on a portable x86-64 build (no `-C target-cpu`) Plonky3 has no packed
//! KoalaBear there: its butterflies run one `u32` at a time, about a third of proving time.
//! A binary built for the x86-64 baseline cannot assume AVX2, so the vector code is compiled
//! into functions marked `#[target_feature(enable = "avx2")]` and entered only after
//! `is_x86_feature_detected!("avx2")` says the CPU has it: the dispatch Plonky3 itself does
//! for its batched Keccak (`p3_keccak` builds its AVX2 and AVX-512 backends and picks one at
//! run time). Without AVX2 (or off x86-64 Unix) the LDE is Plonky3's, and so it is in a build
//! compiled for AVX2 (`-C target-cpu=native`), where Plonky3's own DFT is packed and about as
//! fast. Setting the environment variable `LANES_PROVER_LDE=plonky3` forces Plonky3's path
//! (for comparisons; read once).
//!
//! # Byte identity
//!
//! The result is the field elements Plonky3 returns, stored the same way: `KoalaBear` is
//! `#[repr(transparent)]` over its Montgomery form `x * 2^32 mod p` in `[0, p)`, every lane
//! operation here returns that unique representative, and the roots of unity are Plonky3's
//! `two_adic_generator`s, so equal evaluations are equal bytes. Storage is bit-reversed rows
//! (row `i` holds the evaluation at `shift * w_N^bitrev(i)`), wrapped in the same
//! `BitReversedMatrixView`. Tests compare with `Radix2DitParallel` over heights 1 to 4096,
//! odd widths, every added-bit count up to 3 and several shifts.
//!
//! # How
//!
//! The matrix is row-major, tall and wide; a butterfly pass over all of it per layer would be
//! bound by memory. Instead each rayon task takes a vertical strip of 16 columns (two
//! 8-lane vectors per row), copies it into a contiguous buffer (rows in bit-reversed order),
//! and runs the whole LDE there, one column per lane: an inverse decimation-in-time DFT of
//! size `h` (natural-order coefficients times `h`), then for each of the `2^added_bits`
//! cosets `k` the coefficients times `(shift * w_N^bitrev(k))^j / h` and a forward
//! decimation-in-frequency DFT of size `h` (natural in, bit-reversed out), which is block `k`
//! of the bit-reversed LDE. Both DFTs recurse one layer at a time until a block fits in L1,
//! then finish it there. The strip goes back into the matrix's own (grown) buffer: a strip
//! reads all its input rows before writing and strips own disjoint columns, so the LDE runs
//! in place. A last strip narrower than 16 columns uses masked loads and stores.
//!
//! Memory: besides the matrix (grown in place, as Plonky3 grows it), each busy thread holds
//! one strip buffer, the size of 16 columns of the LDE (4 MiB for 32,768 rows and one added
//! bit); small against the matrix when it is wide, at most about the LDE's own size when it
//! is narrow (fewer strips than threads).

use std::sync::OnceLock;

use p3_dft::{Radix2DitParallel, TwoAdicSubgroupDft};
use p3_matrix::bitrev::BitReversedMatrixView;
use p3_matrix::dense::RowMajorMatrix;

use crate::hash::F;

/// Which implementation runs the CPU backend's coset LDE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LdePath {
    /// The AVX2 strips of this module (only taken when the CPU has AVX2).
    Avx2,
    /// Plonky3's `Radix2DitParallel`.
    Plonky3,
}

/// Whether this build gives Plonky3 packed KoalaBear (compiled with AVX2 or wider, as with
/// `-C target-cpu=native` on an AVX2 machine). Its own DFT is then vectorized and about as
/// fast as this module's (measured: 0.52 s against 0.55 s for a 32,768 x 2,876 LDE), so it
/// keeps it.
const PLONKY3_PACKED: bool = cfg!(target_feature = "avx2");

impl LdePath {
    /// The path for a CPU with (`avx2`) or without AVX2, on a build where Plonky3 is or is
    /// not `packed` already, unless Plonky3's path is `forced`.
    pub(crate) fn choose(avx2: bool, packed: bool, forced: bool) -> Self {
        if avx2 && !packed && !forced {
            Self::Avx2
        } else {
            Self::Plonky3
        }
    }

    /// The path for this process: [`Self::choose`] over CPU detection, this build and
    /// `LANES_PROVER_LDE=plonky3`, decided once.
    pub(crate) fn detected() -> Self {
        static PATH: OnceLock<LdePath> = OnceLock::new();
        *PATH.get_or_init(|| {
            let forced = std::env::var("LANES_PROVER_LDE").is_ok_and(|v| v == "plonky3");
            Self::choose(avx2_detected(), PLONKY3_PACKED, forced)
        })
    }
}

/// Whether this CPU has AVX2 and this build the AVX2 LDE (x86-64 Unix, where its scratch
/// buffers are mapped with `mmap`).
pub(crate) fn avx2_detected() -> bool {
    #[cfg(all(target_arch = "x86_64", unix))]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(all(target_arch = "x86_64", unix)))]
    {
        false
    }
}

/// Plonky3's `coset_lde_batch` on the path of [`LdePath::detected`].
pub(crate) fn coset_lde(
    cpu: &Radix2DitParallel<F>,
    mat: RowMajorMatrix<F>,
    added_bits: usize,
    shift: F,
) -> BitReversedMatrixView<RowMajorMatrix<F>> {
    coset_lde_on(LdePath::detected(), cpu, mat, added_bits, shift)
}

/// Plonky3's `coset_lde_batch` on `path`. [`LdePath::Avx2`] falls back to Plonky3 if the CPU
/// lacks AVX2, and an empty matrix always goes to Plonky3 (nothing to vectorize).
pub(crate) fn coset_lde_on(
    path: LdePath,
    cpu: &Radix2DitParallel<F>,
    mat: RowMajorMatrix<F>,
    added_bits: usize,
    shift: F,
) -> BitReversedMatrixView<RowMajorMatrix<F>> {
    #[cfg(all(target_arch = "x86_64", unix))]
    if path == LdePath::Avx2 && avx2_detected() && !mat.values.is_empty() {
        #[cfg(test)]
        tests::AVX2_LDES.with(|c| c.set(c.get() + 1));
        // SAFETY: AVX2 was detected on this CPU just above.
        let lde = unsafe { avx2::coset_lde(mat, added_bits, shift) };
        return p3_matrix::bitrev::BitReversalPerm::new_view(lde);
    }
    let _ = path;
    cpu.coset_lde_batch(mat, added_bits, shift)
}

#[cfg(all(target_arch = "x86_64", unix))]
mod avx2 {
    //! The AVX2 kernels. Every `#[target_feature(enable = "avx2")]` function is reached only
    //! through [`coset_lde`], which its caller enters after detecting AVX2.

    use std::arch::x86_64::*;
    use std::sync::OnceLock;

    use p3_field::{Field, PrimeCharacteristicRing, PrimeField32, TwoAdicField};
    use p3_matrix::dense::RowMajorMatrix;
    use p3_maybe_rayon::prelude::*;
    use p3_util::{log2_strict_usize, reverse_bits_len};

    use crate::hash::F;

    /// The KoalaBear modulus `2^31 - 2^24 + 1`.
    pub(super) const P: u32 = 0x7f00_0001;
    /// Lanes per vector.
    const LANES: usize = 8;
    /// Columns per strip: two vectors per row.
    const STRIP: usize = 16;
    /// Vectors per strip row.
    const VECS: usize = STRIP / LANES;
    /// Vectors in a block that the DFTs finish layer by layer (32 KiB: one L1d).
    const L1_VECS: usize = 1024;
    /// Rows ahead that the strip copies prefetch: each row is on its own page, beyond the
    /// hardware prefetchers' reach (measured: about 10% off the LDE of a wide trace).
    const PREFETCH_ROWS: usize = 16;

    /// A constant factor for [`mul_const`]: its canonical value `c` and Shoup's quotient
    /// estimate `floor(c 2^32 / p)`.
    pub(super) type Factor = [u32; 2];

    /// The Montgomery-form `u32` of `x` (what `F` stores).
    #[cfg(test)]
    pub(super) fn mont(x: F) -> u32 {
        crate::kernels::as_u32(std::slice::from_ref(&x))[0]
    }

    /// `x` as a [`Factor`].
    pub(super) fn factor(x: F) -> Factor {
        let c = x.as_canonical_u32();
        [c, ((u64::from(c) << 32) / u64::from(P)) as u32]
    }

    /// Roots of unity of every order up to `2^log_h`: entry `m + t` is `w_{2m}^t` for `m` a
    /// power of two below `2^log_h` and `t < m` (entry 0 unused), `w_n` Plonky3's
    /// `two_adic_generator` of order `n`, forward and inverse.
    struct Roots {
        fwd: Vec<Factor>,
        inv: Vec<Factor>,
    }

    /// [`Roots`] for `log_h`, computed once per size.
    fn roots(log_h: usize) -> &'static Roots {
        const SIZES: usize = <F as TwoAdicField>::TWO_ADICITY + 1;
        static CACHE: [OnceLock<Roots>; SIZES] = [const { OnceLock::new() }; SIZES];
        CACHE[log_h].get_or_init(|| {
            let h = 1usize << log_h;
            let mut fwd = vec![[0, 0]; h.max(1)];
            let mut inv = vec![[0, 0]; h.max(1)];
            for bits in 1..=log_h {
                let m = 1usize << (bits - 1);
                let w = F::two_adic_generator(bits);
                for (t, (x, y)) in w.powers().zip(w.inverse().powers()).take(m).enumerate() {
                    fwd[m + t] = factor(x);
                    inv[m + t] = factor(y);
                }
            }
            Roots { fwd, inv }
        })
    }

    /// Entry `k * h + j`: `(shift * w_N^bitrev(k))^j / h`, the factor of coefficient `j` in
    /// coset block `k` of the LDE (`N = h << added_bits`).
    fn coset_factors(log_h: usize, added_bits: usize, shift: F) -> Vec<Factor> {
        let h = 1usize << log_h;
        let w_big = F::two_adic_generator(log_h + added_bits);
        let inv_h = F::from_usize(h).inverse();
        let mut out = Vec::with_capacity(h << added_bits);
        for k in 0..1usize << added_bits {
            let s = shift * w_big.exp_u64(reverse_bits_len(k, added_bits) as u64);
            out.extend(s.powers().take(h).map(|x| factor(x * inv_h)));
        }
        out
    }

    /// The broadcast modulus.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn modulus() -> __m256i {
        _mm256_set1_epi32(P as i32)
    }

    /// `a + b` per lane, both in `[0, p)`.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn add(a: __m256i, b: __m256i) -> __m256i {
        let t = _mm256_add_epi32(a, b);
        // Below 2^32; `t - p` wraps above `t` exactly when `t < p`.
        _mm256_min_epu32(t, _mm256_sub_epi32(t, modulus()))
    }

    /// `a - b` per lane, both in `[0, p)`.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn sub(a: __m256i, b: __m256i) -> __m256i {
        let t = _mm256_sub_epi32(a, b);
        // When `a < b`, `t` wrapped and `t + p` wraps back below it.
        _mm256_min_epu32(t, _mm256_add_epi32(t, modulus()))
    }

    /// `a * c` per lane for the constant `c` (a [`Factor`], broadcast as `c`, `c_q`).
    ///
    /// Shoup's multiplication by a constant: with `c` the plain (canonical) value, `a * c` is
    /// the Montgomery form of the product of `a`'s value and `c`'s. `c_q = floor(c 2^32 / p)`
    /// estimates the quotient `q = hi(a c_q) <= a c / p`, which leaves `a c - q p` in
    /// `[0, 2p)` (Harvey), computed in 32-bit wrapping arithmetic and reduced once.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn mul_const(a: __m256i, c: __m256i, c_q: __m256i) -> __m256i {
        let q_even = _mm256_mul_epu32(a, c_q);
        let q_odd = _mm256_mul_epu32(_mm256_srli_epi64::<32>(a), c_q);
        let q = _mm256_blend_epi32::<0b1010_1010>(_mm256_srli_epi64::<32>(q_even), q_odd);
        // q p = q 2^31 - q 2^24 + q (mod 2^32).
        let qp = _mm256_add_epi32(
            _mm256_sub_epi32(_mm256_slli_epi32::<31>(q), _mm256_slli_epi32::<24>(q)),
            q,
        );
        let r = _mm256_sub_epi32(_mm256_mullo_epi32(a, c), qp);
        _mm256_min_epu32(r, _mm256_sub_epi32(r, modulus()))
    }

    /// A [`Factor`] broadcast to every lane.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn splat(f: Factor) -> (__m256i, __m256i) {
        (
            _mm256_set1_epi32(f[0] as i32),
            _mm256_set1_epi32(f[1] as i32),
        )
    }

    /// The layer of half-size 1, the same in both directions (its only twiddle is 1):
    /// `(a, b) -> (a + b, a - b)` on adjacent pairs.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn pairs_layer(x: &mut [__m256i]) {
        for pair in x.chunks_exact_mut(2) {
            let (a, b) = (pair[0], pair[1]);
            pair[0] = add(a, b);
            pair[1] = sub(a, b);
        }
    }

    /// One decimation-in-time layer of half-size `m` over `x`: `(a, b) -> (a + w b, a - w b)`
    /// with `w = w_{2m}^t` ([`Roots`] entries `m..2m`).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn dit_layer(x: &mut [__m256i], m: usize, roots: &[Factor]) {
        if m == 1 {
            return pairs_layer(x);
        }
        let roots = &roots[m..2 * m];
        for block in x.chunks_exact_mut(2 * m) {
            let (lo, hi) = block.split_at_mut(m);
            for ((a, b), &r) in lo.iter_mut().zip(hi.iter_mut()).zip(roots) {
                let (w, w_mu) = splat(r);
                let wb = mul_const(*b, w, w_mu);
                let a0 = *a;
                *a = add(a0, wb);
                *b = sub(a0, wb);
            }
        }
    }

    /// One decimation-in-frequency layer of half-size `m` over `x`:
    /// `(a, b) -> (a + b, (a - b) w)` with `w = w_{2m}^t`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn dif_layer(x: &mut [__m256i], m: usize, roots: &[Factor]) {
        if m == 1 {
            return pairs_layer(x);
        }
        let roots = &roots[m..2 * m];
        for block in x.chunks_exact_mut(2 * m) {
            let (lo, hi) = block.split_at_mut(m);
            for ((a, b), &r) in lo.iter_mut().zip(hi.iter_mut()).zip(roots) {
                let (w, w_mu) = splat(r);
                let (a0, b0) = (*a, *b);
                *a = add(a0, b0);
                *b = mul_const(sub(a0, b0), w, w_mu);
            }
        }
    }

    /// Decimation-in-time DFT of `x` (bit-reversed in, natural out), `x.len()` a power of two
    /// up to the size of `roots`. Halves first, then the top layer, so that every block of
    /// up to [`L1_VECS`] is finished while it is in L1.
    #[target_feature(enable = "avx2")]
    pub(super) fn dit(x: &mut [__m256i], roots: &[Factor]) {
        let n = x.len();
        if n <= L1_VECS {
            let mut m = 1;
            while m < n {
                dit_layer(x, m, roots);
                m *= 2;
            }
            return;
        }
        let (lo, hi) = x.split_at_mut(n / 2);
        dit(lo, roots);
        dit(hi, roots);
        dit_layer(x, n / 2, roots);
    }

    /// Decimation-in-frequency DFT of `x` (natural in, bit-reversed out); blocked as [`dit`].
    #[target_feature(enable = "avx2")]
    pub(super) fn dif(x: &mut [__m256i], roots: &[Factor]) {
        let n = x.len();
        if n <= L1_VECS {
            let mut m = n / 2;
            while m >= 1 {
                dif_layer(x, m, roots);
                m /= 2;
            }
            return;
        }
        dif_layer(x, n / 2, roots);
        let (lo, hi) = x.split_at_mut(n / 2);
        dif(lo, roots);
        dif(hi, roots);
    }

    /// The LDE of one strip column-vector held in `buf` (`N = h << added_bits` vectors; the
    /// first `h` hold the input rows in bit-reversed order): on return `buf` is the
    /// bit-reversed LDE.
    #[target_feature(enable = "avx2")]
    fn lde_vector(buf: &mut [__m256i], h: usize, roots: &Roots, factors: &[Factor]) {
        let (coeffs, rest) = buf.split_at_mut(h);
        // Natural-order coefficients, times h.
        dit(coeffs, &roots.inv);
        // Coset blocks 1.. from the coefficients, then block 0 in place.
        for (block, fs) in rest.chunks_exact_mut(h).zip(factors[h..].chunks_exact(h)) {
            for ((out, c), &f) in block.iter_mut().zip(coeffs.iter()).zip(fs) {
                let (w, w_mu) = splat(f);
                *out = mul_const(*c, w, w_mu);
            }
            dif(block, &roots.fwd);
        }
        for (c, &f) in coeffs.iter_mut().zip(&factors[..h]) {
            let (w, w_mu) = splat(f);
            *c = mul_const(*c, w, w_mu);
        }
        dif(coeffs, &roots.fwd);
    }

    /// Prefetches the `cols` elements at `p` (one or two cache lines) into L1.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn prefetch(p: *const u32, cols: usize) {
        _mm_prefetch::<_MM_HINT_T0>(p.cast());
        _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(cols - 1).cast());
    }

    /// A lane mask with the first `lanes` lanes set.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn lane_mask(lanes: usize) -> __m256i {
        let idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes as i32), idx)
    }

    /// The LDE of columns `col..col + cols` (`cols <= STRIP`) of the row-major matrix at
    /// `base` (`width` columns; `h` input rows, room for `h << added_bits`), in place.
    /// `buf` holds at least `VECS * (h << added_bits)` vectors.
    ///
    /// # Safety
    ///
    /// `base` is valid for reads of `h * width` and writes of `(h << added_bits) * width`
    /// `u32`s, and no other thread accesses columns `col..col + cols` during the call. Only
    /// those columns are read or written.
    #[target_feature(enable = "avx2")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn strip(
        base: *mut u32,
        width: usize,
        col: usize,
        cols: usize,
        log_h: usize,
        added_bits: usize,
        roots: &Roots,
        factors: &[Factor],
        buf: &mut [__m256i],
    ) {
        let h = 1usize << log_h;
        let n = h << added_bits;
        let vecs = cols.div_ceil(LANES);
        let tail = cols - (vecs - 1) * LANES;
        let mask = lane_mask(tail);
        let buf = &mut buf[..vecs * n];
        for r in 0..h {
            if r + PREFETCH_ROWS < h {
                // SAFETY: a row below `h`, as the loads below (prefetches never fault).
                prefetch(unsafe { base.add((r + PREFETCH_ROWS) * width + col) }, cols);
            }
            let dst = reverse_bits_len(r, log_h);
            // SAFETY: row `r < h` of the input; columns `col..col + cols` are in the row.
            let row = unsafe { base.add(r * width + col) };
            for v in 0..vecs {
                // SAFETY: as above; the last vector reads only its `tail` valid lanes.
                buf[v * n + dst] = unsafe {
                    if v + 1 < vecs || tail == LANES {
                        _mm256_loadu_si256(row.add(v * LANES).cast())
                    } else {
                        _mm256_maskload_epi32(row.add(v * LANES).cast(), mask)
                    }
                };
            }
        }
        for v in 0..vecs {
            lde_vector(&mut buf[v * n..(v + 1) * n], h, roots, factors);
        }
        for r in 0..n {
            if r + PREFETCH_ROWS < n {
                // SAFETY: a row below `n`, as the stores below (prefetches never fault).
                prefetch(unsafe { base.add((r + PREFETCH_ROWS) * width + col) }, cols);
            }
            // SAFETY: row `r < n` of the output; columns `col..col + cols` are in the row.
            let row = unsafe { base.add(r * width + col) };
            for v in 0..vecs {
                let x = buf[v * n + r];
                // SAFETY: as above; the last vector writes only its `tail` valid lanes.
                unsafe {
                    if v + 1 < vecs || tail == LANES {
                        _mm256_storeu_si256(row.add(v * LANES).cast(), x);
                    } else {
                        _mm256_maskstore_epi32(row.add(v * LANES).cast(), mask, x);
                    }
                }
            }
        }
    }

    /// A zeroed scratch buffer of `len` vectors, mapped from the kernel and unmapped on drop.
    ///
    /// Not from the allocator: glibc serves a few-MiB block freed by a worker thread from
    /// that thread's arena and keeps the pages after the free, which raised the proof's
    /// peak memory over Plonky3's by 58 MB (`fast`) and 137 MB (`balanced`); mapped directly,
    /// only the buffers in flight add to it (8 MB and 16 MB).
    struct Scratch {
        ptr: std::ptr::NonNull<__m256i>,
        len: usize,
    }

    impl Scratch {
        fn new(len: usize) -> Self {
            let bytes = len.max(1) * size_of::<__m256i>();
            // SAFETY: an anonymous private mapping of `bytes` bytes, checked below.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    bytes,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            let layout = std::alloc::Layout::array::<__m256i>(len.max(1)).expect("buffer size");
            if p == libc::MAP_FAILED {
                std::alloc::handle_alloc_error(layout);
            }
            // Page-aligned (so 32-byte aligned) and non-null: `mmap` succeeded.
            let ptr = std::ptr::NonNull::new(p.cast()).expect("mmap returned null");
            Self { ptr, len }
        }

        fn as_mut_slice(&mut self) -> &mut [__m256i] {
            // SAFETY: the mapping holds `len` vectors, zero-filled by the kernel (a valid
            // `__m256i`), aligned, and owned by `self` until drop.
            unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            // SAFETY: the mapping made in `new`, of that size, unmapped once.
            unsafe {
                libc::munmap(
                    self.ptr.as_ptr().cast(),
                    self.len.max(1) * size_of::<__m256i>(),
                );
            }
        }
    }

    /// A raw pointer that rayon tasks share: each writes its own columns.
    #[derive(Clone, Copy)]
    struct SharedMut(*mut u32);
    impl SharedMut {
        /// The pointer (a method, so that closures capture the `Send` wrapper).
        fn get(self) -> *mut u32 {
            self.0
        }
    }
    // SAFETY: the strips that share it access disjoint columns.
    unsafe impl Send for SharedMut {}
    // SAFETY: as above.
    unsafe impl Sync for SharedMut {}

    /// Plonky3's `coset_lde_batch` result storage (bit-reversed rows), computed in `mat`'s
    /// own buffer, grown to the LDE's size.
    ///
    /// # Safety
    ///
    /// The CPU has AVX2.
    pub(super) unsafe fn coset_lde(
        mat: RowMajorMatrix<F>,
        added_bits: usize,
        shift: F,
    ) -> RowMajorMatrix<F> {
        let width = mat.width;
        let mut values = mat.values;
        let h = values.len() / width;
        let log_h = log2_strict_usize(h);
        let n = h << added_bits;
        let roots = roots(log_h);
        let factors = coset_factors(log_h, added_bits, shift);
        values.reserve_exact(n * width - values.len());
        let base = SharedMut(values.as_mut_ptr().cast::<u32>());
        // Strips in runs (about four per thread), one buffer per run, unmapped with it:
        // nothing outlives the call.
        let strips = width.div_ceil(STRIP);
        let per_run = strips.div_ceil(current_num_threads() * 4).max(1);
        (0..strips.div_ceil(per_run))
            .into_par_iter()
            .for_each(|run| {
                let mut buf = Scratch::new(VECS * n);
                for s in run * per_run..strips.min((run + 1) * per_run) {
                    let col = s * STRIP;
                    let cols = STRIP.min(width - col);
                    // SAFETY: the caller guarantees AVX2. `values` holds `h * width` initialized
                    // elements and capacity for `n * width`; strip `s` alone accesses columns
                    // `col..col + cols`. `F` is `#[repr(transparent)]` over its Montgomery `u32`,
                    // and the strip writes reduced values only.
                    unsafe {
                        strip(
                            base.get(),
                            width,
                            col,
                            cols,
                            log_h,
                            added_bits,
                            roots,
                            &factors,
                            buf.as_mut_slice(),
                        );
                    }
                }
            });
        // SAFETY: every strip wrote its columns of all `n` rows, so all `n * width` elements
        // are initialized, each a reduced Montgomery value (a valid `F`).
        unsafe { values.set_len(n * width) };
        RowMajorMatrix::new(values, width)
    }
}

#[cfg(test)]
mod tests {
    use p3_field::{Field, PrimeCharacteristicRing, TwoAdicField};
    use p3_matrix::Matrix;
    use p3_matrix::bitrev::BitReversibleMatrix;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    fn random(rng: &mut StdRng) -> F {
        F::from_u32(rng.random_range(0..0x7f00_0001))
    }

    fn random_matrix(rng: &mut StdRng, height: usize, width: usize) -> RowMajorMatrix<F> {
        RowMajorMatrix::new((0..height * width).map(|_| random(rng)).collect(), width)
    }

    /// The stored (bit-reversed) rows of an LDE.
    fn storage(lde: BitReversedMatrixView<RowMajorMatrix<F>>) -> RowMajorMatrix<F> {
        lde.bit_reverse_rows()
    }

    #[test]
    fn path_follows_detection_and_the_override() {
        for avx2 in [false, true] {
            for packed in [false, true] {
                for forced in [false, true] {
                    let expected = if avx2 && !packed && !forced {
                        LdePath::Avx2
                    } else {
                        LdePath::Plonky3
                    };
                    assert_eq!(LdePath::choose(avx2, packed, forced), expected);
                }
            }
        }
        let forced = std::env::var("LANES_PROVER_LDE").is_ok_and(|v| v == "plonky3");
        let expected = if avx2_detected() && !PLONKY3_PACKED && !forced {
            LdePath::Avx2
        } else {
            LdePath::Plonky3
        };
        assert_eq!(LdePath::detected(), expected);
    }

    thread_local! {
        /// AVX2 LDEs run by this thread (the dispatcher runs them on the caller's thread).
        pub(super) static AVX2_LDES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    /// AVX2 LDEs that `f` runs.
    fn avx2_ldes_in<T>(f: impl FnOnce() -> T) -> (T, usize) {
        let before = AVX2_LDES.with(|c| c.get());
        let out = f();
        (out, AVX2_LDES.with(|c| c.get()) - before)
    }

    /// The dispatcher runs the path it is given (the AVX2 one only where the CPU has AVX2)
    /// and both produce Plonky3's bytes.
    #[test]
    fn dispatcher_runs_the_chosen_path_and_both_equal_plonky3() {
        let cpu = Radix2DitParallel::<F>::default();
        let mut rng = StdRng::seed_from_u64(11);
        for (height, width, added_bits) in [(64, 17, 1), (256, 3, 2), (1, 9, 3), (2048, 40, 0)] {
            let mat = random_matrix(&mut rng, height, width);
            let shift = random(&mut rng);
            let expected = storage(cpu.coset_lde_batch(mat.clone(), added_bits, shift));
            for path in [LdePath::Avx2, LdePath::Plonky3] {
                let (got, ran) =
                    avx2_ldes_in(|| coset_lde_on(path, &cpu, mat.clone(), added_bits, shift));
                let expected_runs = usize::from(path == LdePath::Avx2 && avx2_detected());
                assert_eq!(ran, expected_runs, "{path:?} ran the wrong implementation");
                assert_eq!(
                    storage(got),
                    expected,
                    "{path:?} {height}x{width} +{added_bits}"
                );
            }
        }
    }

    /// `LanesDft` on `cpu` takes the detected path for `coset_lde_batch` (Plonky3's bytes);
    /// `gpu-host` keeps its kernels.
    #[test]
    fn cpu_backend_lde_takes_the_detected_path() {
        use crate::backend::{Backend, LanesDft};
        let cpu = Radix2DitParallel::<F>::default();
        let mut rng = StdRng::seed_from_u64(13);
        let mat = random_matrix(&mut rng, 512, 33);
        let expected = storage(cpu.coset_lde_batch(mat.clone(), 1, F::GENERATOR));
        let (got, ran) = avx2_ldes_in(|| {
            LanesDft::new(Backend::Cpu).coset_lde_batch(mat.clone(), 1, F::GENERATOR)
        });
        assert_eq!(ran, usize::from(LdePath::detected() == LdePath::Avx2));
        assert_eq!(storage(got), expected);
        let (got, ran) = avx2_ldes_in(|| {
            LanesDft::new(Backend::GpuHost).coset_lde_batch(mat.clone(), 1, F::GENERATOR)
        });
        assert_eq!(ran, 0, "gpu-host ran the AVX2 LDE");
        assert_eq!(storage(got), expected);
    }

    #[cfg(all(target_arch = "x86_64", unix))]
    mod x86 {
        use std::arch::x86_64::*;

        use super::super::avx2;
        use super::*;

        /// Skips (with a message) on a CPU without AVX2, where these kernels cannot run.
        fn have_avx2() -> bool {
            let ok = avx2_detected();
            if !ok {
                eprintln!("no AVX2 on this CPU: the AVX2 kernels are not tested here");
            }
            ok
        }

        fn lanes(v: __m256i) -> [u32; 8] {
            // SAFETY: `__m256i` and `[u32; 8]` have the same size; every bit pattern is valid.
            unsafe { std::mem::transmute(v) }
        }

        fn vector(x: [F; 8]) -> __m256i {
            let m = x.map(avx2::mont);
            // SAFETY: as in `lanes`.
            unsafe { std::mem::transmute(m) }
        }

        #[test]
        fn lane_arithmetic_equals_koalabear() {
            if !have_avx2() {
                return;
            }
            let mut rng = StdRng::seed_from_u64(3);
            let edge = [F::ZERO, F::ONE, F::NEG_ONE, F::TWO, -F::TWO, F::GENERATOR];
            // Extreme stored values (Montgomery forms 0, 1, p - 1, ...) as lanes.
            let raw = [
                0,
                1,
                2,
                avx2::P - 1,
                avx2::P - 2,
                avx2::P / 2,
                avx2::P / 2 + 1,
                1 << 24,
            ];
            // SAFETY: `F` is `#[repr(transparent)]` over a `u32`; every value is below p.
            let extremes: [F; 8] = raw.map(|x| unsafe { std::mem::transmute::<u32, F>(x) });
            for round in 0..20_000 {
                let a: [F; 8] = std::array::from_fn(|i| {
                    if round % 7 == 6 {
                        return extremes[i];
                    }
                    if round < 6 {
                        edge[(i + round) % 6]
                    } else {
                        random(&mut rng)
                    }
                });
                let b: [F; 8] = std::array::from_fn(|i| {
                    if round < 36 {
                        edge[(i + round / 6) % 6]
                    } else {
                        random(&mut rng)
                    }
                });
                let c = if round % 3 == 0 {
                    edge[round % 6]
                } else if round % 5 == 0 {
                    extremes[round % 8]
                } else {
                    random(&mut rng)
                };
                let (va, vb) = (vector(a), vector(b));
                let f = avx2::factor(c);
                // SAFETY: AVX2 detected above.
                let (sum, diff, scaled) = unsafe {
                    (
                        avx2::add(va, vb),
                        avx2::sub(va, vb),
                        avx2::mul_const(
                            va,
                            _mm256_set1_epi32(f[0] as i32),
                            _mm256_set1_epi32(f[1] as i32),
                        ),
                    )
                };
                for i in 0..8 {
                    assert_eq!(lanes(sum)[i], avx2::mont(a[i] + b[i]), "add {a:?} {b:?}");
                    assert_eq!(lanes(diff)[i], avx2::mont(a[i] - b[i]), "sub {a:?} {b:?}");
                    assert_eq!(lanes(scaled)[i], avx2::mont(a[i] * c), "mul {a:?} {c:?}");
                }
            }
        }

        /// The AVX2 LDE itself (not through the dispatcher) against `Radix2DitParallel`,
        /// byte for byte, over heights 1..4096, widths around the strip and vector sizes,
        /// added bits 0..=3 and several shifts.
        #[test]
        fn avx2_lde_equals_plonky3_on_many_shapes() {
            if !have_avx2() {
                return;
            }
            let cpu = Radix2DitParallel::<F>::default();
            let mut rng = StdRng::seed_from_u64(7);
            for log_h in 0..=12 {
                for width in [1, 3, 7, 8, 9, 16, 17, 100] {
                    for added_bits in 0..=3 {
                        let random_shift = random(&mut rng);
                        for shift in [F::GENERATOR, random_shift, F::ONE] {
                            if shift == F::ONE && (log_h + width) % 3 != 0 {
                                continue; // a sample of the plain (unshifted) LDE
                            }
                            let mat = random_matrix(&mut rng, 1 << log_h, width);
                            let expected =
                                storage(cpu.coset_lde_batch(mat.clone(), added_bits, shift));
                            // SAFETY: AVX2 detected above.
                            let got = unsafe { avx2::coset_lde(mat, added_bits, shift) };
                            assert_eq!(
                                got, expected,
                                "height 2^{log_h} width {width} added bits {added_bits}"
                            );
                        }
                    }
                }
            }
        }

        /// The two inner DFTs against Plonky3's (an inverse DFT, a forward DFT), one column
        /// per lane, at the sizes where the blocking recursion starts.
        #[test]
        fn blocked_dfts_equal_plonky3() {
            if !have_avx2() {
                return;
            }
            let cpu = Radix2DitParallel::<F>::default();
            let mut rng = StdRng::seed_from_u64(5);
            for log_n in [10, 11, 13] {
                let n = 1usize << log_n;
                let mat = random_matrix(&mut rng, n, 8);
                let rows: Vec<__m256i> = (0..n)
                    .map(|r| vector(std::array::from_fn(|c| mat.values[r * 8 + c])))
                    .collect();
                let as_matrix =
                    |v: &[__m256i]| -> Vec<u32> { v.iter().flat_map(|&x| lanes(x)).collect() };
                let roots = (1..=log_n)
                    .flat_map(|bits| {
                        let w = F::two_adic_generator(bits);
                        w.powers().take(1 << (bits - 1)).map(avx2::factor)
                    })
                    .collect::<Vec<_>>();
                let roots: Vec<_> = std::iter::once([0, 0]).chain(roots).collect();
                // Forward: natural in, bit-reversed out, as Plonky3's `dft_batch` storage.
                let mut fwd = rows.clone();
                // SAFETY: AVX2 detected above.
                unsafe { avx2::dif(&mut fwd, &roots) };
                let expected = storage(cpu.dft_batch(mat.clone()));
                let expected: Vec<u32> = expected.values.iter().map(|&x| avx2::mont(x)).collect();
                assert_eq!(as_matrix(&fwd), expected, "dif 2^{log_n}");
                // Decimation in time from bit-reversed input gives natural-order output.
                let mut bitrev: Vec<__m256i> = (0..n)
                    .map(|i| rows[p3_util::reverse_bits_len(i, log_n)])
                    .collect();
                // SAFETY: AVX2 detected above.
                unsafe { avx2::dit(&mut bitrev, &roots) };
                let expected = storage(cpu.dft_batch(mat)).bit_reverse_rows();
                let expected = expected.to_row_major_matrix();
                let expected: Vec<u32> = expected.values.iter().map(|&x| avx2::mont(x)).collect();
                assert_eq!(as_matrix(&bitrev), expected, "dit 2^{log_n}");
            }
        }
    }
}
