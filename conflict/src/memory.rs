//! Process-wide allocator settings for block execution.
//!
//! A block allocates and frees tens of megabytes: revm's per-transaction state maps, the
//! overlays the committed state grows in, the speculative results, the sorted diff. glibc's
//! allocator gives large freed blocks back to the operating system (chunks above its mmap
//! threshold are unmapped on free; free memory at the top of the heap beyond the trim
//! threshold is returned with `brk`), and the next block faults every page of them in again,
//! zeroed by the kernel. Measured on the ERC-20 workload (10,000 transfers, `perf stat -e
//! page-faults`), the parallel executor took about 3,000 page faults per block, a tenth of its
//! time on one thread; the sequential executor, whose allocations are smaller and stay on one
//! thread's heap, took almost none.
//!
//! [`retain_freed_memory`] raises both thresholds, so that freed memory stays in the process
//! for the next block. It changes no result, only where memory comes from; binaries call it
//! once at start-up (the node, `lanes bench`, the benches), for every executor alike.

/// glibc's largest allowed mmap threshold on 64-bit targets (`DEFAULT_MMAP_THRESHOLD_MAX`,
/// 4 MiB times the size of a `long`): allocations up to this size come from the heap.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 32 << 20;
/// Free memory at the top of the heap kept before any is returned to the operating system.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: libc::c_int = 256 << 20;

/// Keeps memory that blocks free in the process, for the next block, instead of returning it
/// to the operating system (see the [module docs](self)). Returns whether the allocator took
/// the settings; on targets other than glibc it does nothing and returns `false`.
pub fn retain_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: `mallopt` only sets allocator parameters (under the allocator's own lock);
        // both values are within the ranges glibc accepts.
        let mmap = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) };
        // SAFETY: as above.
        let trim = unsafe { libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD) };
        mmap == 1 && trim == 1
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn glibc_takes_the_settings() {
        assert!(super::retain_freed_memory());
    }
}
