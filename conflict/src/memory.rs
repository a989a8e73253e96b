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
//! Small blocks freed by a thread other than the one that allocated them are a second cost.
//! The receipts of a block's speculatively executed transactions (their logs and output) are
//! allocated by the executor's pool threads and freed by the caller once it is done with the
//! block. glibc puts such blocks on its "fast bins" unsorted, and the pool thread's next larger
//! allocation, at the start of the next block, sorts them all into its heap first
//! (`malloc_consolidate`): on the ERC-20 workload (two threads, `release`) that held the pool's
//! thread 0.4 to 1 ms at the start of every block (its first allocation timed, 29 blocks of
//! 29), while the calling thread planned the wave alone. Without fast bins a freed block is
//! sorted in when it is freed, on the thread that frees it; the pool's thread was then held in
//! one block of 58, for 0.3 ms. Small blocks a thread frees and allocates again still take
//! glibc's per-thread cache. Alternated block by block in one process (the setting changed
//! between blocks), the parallel executor's ERC-20 block took 0.1 to 1 ms less (of 20 to 30)
//! at the median in seven runs of eight; the sequential executor's ERC-20 block, and both
//! executors' raw-transfer and pool blocks, stayed within 1.5% (the bench example reruns the
//! comparison: `LANES_FAST_BINS=ab LANES_PROFILE=par:200`).
//!
//! [`configure_allocator`] raises both thresholds, so that freed memory stays in the process
//! for the next block, and turns the fast bins off. It changes no result, only where memory
//! comes from and when it is sorted; binaries call it once at start-up (the node, `lanes
//! bench`, the benches), for every executor alike.

/// glibc's largest allowed mmap threshold on 64-bit targets (`DEFAULT_MMAP_THRESHOLD_MAX`,
/// 4 MiB times the size of a `long`): allocations up to this size come from the heap.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 32 << 20;
/// Free memory at the top of the heap kept before any is returned to the operating system.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: libc::c_int = 256 << 20;

/// Keeps memory that blocks free in the process, for the next block, instead of returning it
/// to the operating system, and has glibc sort freed small blocks into its heap as they are
/// freed (see the [module docs](self)). Returns whether the allocator took the settings; on
/// targets other than glibc it does nothing and returns `false`.
pub fn configure_allocator() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: `mallopt` only sets allocator parameters (under the allocator's own lock);
        // both values are within the ranges glibc accepts.
        let mmap = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) };
        // SAFETY: as above.
        let trim = unsafe { libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD) };
        let fast = set_fast_bins(false);
        mmap == 1 && trim == 1 && fast
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

/// glibc's default size limit of its fast bins on 64-bit targets (`DEFAULT_MXFAST`: 64 times
/// the size of a `size_t`, divided by 4).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const DEFAULT_MXFAST: libc::c_int = 128;

/// Turns glibc's fast bins off, as [`configure_allocator`] does, or back on with glibc's
/// default limit (for benchmarks that compare the two, block by block). Returns whether the
/// allocator took the setting; on targets other than glibc it does nothing and returns
/// `false`.
pub fn set_fast_bins(on: bool) -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let limit = if on { DEFAULT_MXFAST } else { 0 };
        // SAFETY: `mallopt` only sets an allocator parameter, under the allocator's own lock;
        // zero (off) and glibc's default are within the range it accepts.
        unsafe { libc::mallopt(libc::M_MXFAST, limit) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        let _ = on;
        false
    }
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn glibc_takes_the_settings() {
        assert!(super::configure_allocator());
    }
}
