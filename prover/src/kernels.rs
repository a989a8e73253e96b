//! The prover kernels of `kernels/prover/` on the host: the C++ host build (compiled by
//! `build.rs`), the twiddle tables both builds take, and the composition of the kernel steps
//! into Plonky3's DFT operations. [`crate::backend::Backend::GpuHost`] runs these;
//! [`crate::cuda`] launches the same steps on a device.
//!
//! Buffers are raw `u32`s: `KoalaBear` is `#[repr(transparent)]` over its Montgomery-form
//! `u32`, so a `&[F]` is passed to C++ as a `*const u32` without conversion. Calls are spread
//! over the rayon pool by columns (NTT stages) or rows (everything else); the C++ functions
//! take the range they cover.

use p3_field::{Field, PrimeCharacteristicRing, TwoAdicField};
use p3_maybe_rayon::prelude::*;

use crate::hash::F;

mod ffi {
    unsafe extern "C" {
        pub(super) fn lanes_prover_host_ntt_dif(
            data: *mut u32,
            width: u64,
            col_begin: u64,
            col_end: u64,
            log_n: u32,
            tw: *const u32,
        );
        pub(super) fn lanes_prover_host_ntt_bitrev_gather(
            out: *mut u32,
            input: *const u32,
            width: u64,
            row_begin: u64,
            row_end: u64,
            log_h: u32,
            factor: u32,
        );
        pub(super) fn lanes_prover_host_ntt_scale_rows(
            data: *mut u32,
            width: u64,
            row_begin: u64,
            row_end: u64,
            table: *const u32,
        );
        pub(super) fn lanes_prover_host_hash_rows(
            input: *const u32,
            row_len: u64,
            rows: u64,
            out: *mut u64,
        );
        pub(super) fn lanes_prover_host_compress(input: *const u64, count: u64, out: *mut u64);
    }
}

const _: () = assert!(size_of::<F>() == 4 && align_of::<F>() == 4);

/// The field elements as their Montgomery-form `u32`s.
pub(crate) fn as_u32(values: &[F]) -> &[u32] {
    // SAFETY: `F` is `#[repr(transparent)]` over a `u32` (size and alignment checked above).
    unsafe { std::slice::from_raw_parts(values.as_ptr().cast(), values.len()) }
}

/// The field elements as their Montgomery-form `u32`s, writable. Callers only write values
/// the kernels produce, which are canonical (`< p`), so every `F` stays valid.
pub(crate) fn as_u32_mut(values: &mut [F]) -> &mut [u32] {
    // SAFETY: as in `as_u32`; the kernels write reduced Montgomery values only.
    unsafe { std::slice::from_raw_parts_mut(values.as_mut_ptr().cast(), values.len()) }
}

/// A raw pointer that rayon tasks may share because each writes a disjoint range.
#[derive(Clone, Copy)]
struct SharedMut<T>(*mut T);
impl<T> SharedMut<T> {
    /// The pointer (a method, so that closures capture the `Send` wrapper, not the field).
    fn get(self) -> *mut T {
        self.0
    }
}
// SAFETY: only used for disjoint writes by the callers below.
unsafe impl<T> Send for SharedMut<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for SharedMut<T> {}

/// `w^t` for `t < n / 2`, `w` Plonky3's `2^log_n`-th root of unity (or its inverse).
pub(crate) fn twiddles(log_n: usize, inverse: bool) -> Vec<F> {
    if log_n == 0 {
        return Vec::new();
    }
    let w = F::two_adic_generator(log_n);
    let w = if inverse { w.inverse() } else { w };
    w.powers().take(1 << (log_n - 1)).collect()
}

/// `shift^j` for `j < rows`.
pub(crate) fn powers(shift: F, rows: usize) -> Vec<F> {
    shift.powers().take(rows).collect()
}

/// `1 / 2^log_h` in the field.
pub(crate) fn inverse_height(log_h: usize) -> F {
    F::from_u64(1u64 << log_h).inverse()
}

/// Ranges of `len` items, about four per thread, at least `min` items each.
fn ranges(len: usize, min: usize) -> Vec<(usize, usize)> {
    let parts = (current_num_threads() * 4).max(1);
    let step = len.div_ceil(parts).max(min).max(1);
    (0..len)
        .step_by(step)
        .map(|b| (b, (b + step).min(len)))
        .collect()
}

/// Every decimation-in-frequency stage of a `2^log_n`-row matrix (`tw` = [`twiddles`]):
/// natural-order input, bit-reversed output.
pub(crate) fn ntt_dif(data: &mut [F], width: usize, log_n: usize, tw: &[F]) {
    if width == 0 || log_n == 0 {
        return;
    }
    assert_eq!(data.len(), width << log_n, "matrix is not 2^log_n rows");
    assert_eq!(tw.len(), 1 << (log_n - 1), "twiddle table size");
    let base = SharedMut(as_u32_mut(data).as_mut_ptr());
    let tw = as_u32(tw);
    ranges(width, 8).into_par_iter().for_each(|(begin, end)| {
        // SAFETY: `data` holds 2^log_n rows of `width`; this task writes columns
        // begin..end only; `tw` has the 2^(log_n-1) entries the stages read.
        unsafe {
            ffi::lanes_prover_host_ntt_dif(
                base.get(),
                width as u64,
                begin as u64,
                end as u64,
                log_n as u32,
                tw.as_ptr(),
            );
        }
    });
}

/// `out` rows `0..2^log_h` = rows `bitrev(j)` of `input`, times `factor`.
pub(crate) fn bitrev_gather(out: &mut [F], input: &[F], width: usize, log_h: usize, factor: F) {
    let rows = 1usize << log_h;
    if width == 0 {
        return;
    }
    assert!(input.len() == rows * width && out.len() >= rows * width);
    let base = SharedMut(as_u32_mut(out).as_mut_ptr());
    let input = as_u32(input);
    let factor = as_u32(std::slice::from_ref(&factor))[0];
    ranges(rows, 16).into_par_iter().for_each(|(begin, end)| {
        // SAFETY: both buffers hold at least 2^log_h rows; this task writes rows begin..end.
        unsafe {
            ffi::lanes_prover_host_ntt_bitrev_gather(
                base.get(),
                input.as_ptr(),
                width as u64,
                begin as u64,
                end as u64,
                log_h as u32,
                factor,
            );
        }
    });
}

/// Row `j` of `data` times `table[j]`, for the `table.len()` first rows.
pub(crate) fn scale_rows(data: &mut [F], width: usize, table: &[F]) {
    if width == 0 {
        return;
    }
    assert!(data.len() >= table.len() * width);
    let base = SharedMut(as_u32_mut(data).as_mut_ptr());
    let table = as_u32(table);
    ranges(table.len(), 16)
        .into_par_iter()
        .for_each(|(begin, end)| {
            // SAFETY: `data` holds `table.len()` rows; this task writes rows begin..end.
            unsafe {
                ffi::lanes_prover_host_ntt_scale_rows(
                    base.get(),
                    width as u64,
                    begin as u64,
                    end as u64,
                    table.as_ptr(),
                );
            }
        });
}

/// The coefficients (natural order) of the columns of `values`, evaluations over the
/// subgroup of order `2^log_h`: the first half of Plonky3's `coset_lde_batch`. They are
/// written to the first `2^log_h` rows of `out`, which may be taller (the LDE's buffer).
pub(crate) fn coefficients_into(mut values: Vec<F>, width: usize, log_h: usize, out: &mut [F]) {
    ntt_dif(&mut values, width, log_h, &twiddles(log_h, true));
    bitrev_gather(out, &values, width, log_h, inverse_height(log_h));
}

/// [`coefficients_into`] a buffer of their own.
pub(crate) fn coefficients(values: Vec<F>, width: usize, log_h: usize) -> Vec<F> {
    let mut coeffs = vec![F::ZERO; values.len()];
    coefficients_into(values, width, log_h, &mut coeffs);
    coeffs
}

/// The evaluations of the polynomials whose coefficients are the first `2^log_h` rows of
/// `buf` (the rest zero; `2^(log_h + added_bits)` rows in all) on the coset `shift * K`,
/// `|K| = 2^(log_h + added_bits)`, in place, in bit-reversed row order: the second half of
/// Plonky3's `coset_lde_batch`.
pub(crate) fn extend_in_place(
    buf: &mut [F],
    width: usize,
    log_h: usize,
    added_bits: usize,
    shift: F,
) {
    let log_n = log_h + added_bits;
    if shift != F::ONE {
        scale_rows(buf, width, &powers(shift, 1 << log_h));
    }
    ntt_dif(buf, width, log_n, &twiddles(log_n, false));
}

/// [`extend_in_place`] from a buffer of the `2^log_h` coefficient rows only.
pub(crate) fn extend(
    coeffs: &[F],
    width: usize,
    log_h: usize,
    added_bits: usize,
    shift: F,
) -> Vec<F> {
    let mut out = vec![F::ZERO; width << (log_h + added_bits)];
    out[..coeffs.len()].copy_from_slice(coeffs);
    extend_in_place(&mut out, width, log_h, added_bits, shift);
    out
}

/// One digest per row of `row_len` elements (`out.len()` rows).
pub(crate) fn hash_rows(input: &[F], out: &mut [[u64; 4]]) {
    if out.is_empty() {
        return;
    }
    assert!(
        input.len().is_multiple_of(out.len()),
        "input length {} is not a multiple of the digest count {}",
        input.len(),
        out.len()
    );
    let row_len = input.len() / out.len();
    let input = as_u32(input);
    let per_task = (4096 / row_len.max(1)).max(1);
    out.par_chunks_mut(per_task)
        .enumerate()
        .for_each(|(i, digests)| {
            let rows = &input[i * per_task * row_len..][..digests.len() * row_len];
            // SAFETY: `rows` holds `digests.len()` rows of `row_len` values; the output has
            // four words per row.
            unsafe {
                ffi::lanes_prover_host_hash_rows(
                    rows.as_ptr(),
                    row_len as u64,
                    digests.len() as u64,
                    digests.as_mut_ptr().cast(),
                );
            }
        });
}

/// One digest per pair of digests.
pub(crate) fn compress_pairs(input: &[[[u64; 4]; 2]], out: &mut [[u64; 4]]) {
    assert_eq!(input.len(), out.len(), "one output per pair");
    out.par_chunks_mut(1024)
        .zip(input.par_chunks(1024))
        .for_each(|(digests, pairs)| {
            // SAFETY: `pairs` is 8 words per entry, `digests` 4 words per entry, same count.
            unsafe {
                ffi::lanes_prover_host_compress(
                    pairs.as_ptr().cast(),
                    pairs.len() as u64,
                    digests.as_mut_ptr().cast(),
                );
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two-buffer LDE (what `cuda` falls back to) equals the one-buffer LDE that
    /// `gpu-host` runs and the integration tests compare with Plonky3.
    #[test]
    fn split_lde_equals_in_place_lde() {
        let (width, log_h, added_bits): (usize, usize, usize) = (5, 6, 2);
        let values: Vec<F> = (0..width << log_h)
            .map(|i| F::from_usize(i * 7919 + 3))
            .collect();
        let shift = F::GENERATOR;
        let coeffs = coefficients(values.clone(), width, log_h);
        let split = extend(&coeffs, width, log_h, added_bits, shift);
        let mut buf = vec![F::ZERO; values.len() << added_bits];
        coefficients_into(values, width, log_h, &mut buf);
        assert_eq!(&buf[..coeffs.len()], &coeffs[..]);
        extend_in_place(&mut buf, width, log_h, added_bits, shift);
        assert_eq!(split, buf);
    }
}
