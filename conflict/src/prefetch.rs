//! Software prefetching: asking the processor to start loading memory that is about to be read
//! at places its own prefetchers do not foresee (entries of a table visited in another order
//! than they were stored in; one field of each of a block's transactions, several hundred bytes
//! apart), so that the cache misses overlap instead of stalling one after another. A prefetch
//! is only a hint: it never faults and changes nothing, whatever the address.

/// Starts loading the cache lines of `value`'s first `LINES` cache lines.
#[inline(always)]
pub(crate) fn prefetch<T, const LINES: usize>(value: &T) {
    let at = std::ptr::from_ref(value).cast::<i8>();
    for line in 0..LINES {
        prefetch_line(at.wrapping_add(64 * line));
    }
}

/// Starts loading the cache line holding `field`, some field of a larger value.
#[inline(always)]
pub(crate) fn prefetch_field<T>(field: &T) {
    prefetch_line(std::ptr::from_ref(field).cast::<i8>());
}

#[inline(always)]
fn prefetch_line(at: *const i8) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: SSE is part of every x86_64 target, and a prefetch neither faults nor
        // changes memory, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(at) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}
