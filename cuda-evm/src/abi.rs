//! The host/device buffer layout of `kernels/lanes_abi.h`, as bindgen generates it at build
//! time (so a change to the header is a compile error here), and the few helpers that move
//! plain-old-data structs in and out of byte buffers.

#![allow(
    missing_docs,
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    unreachable_pub,
    dead_code,
    clippy::all
)]

include!(concat!(env!("OUT_DIR"), "/lanes_abi.rs"));

use alloy_primitives::U256;

/// Marker for the generated structs: `#[repr(C)]`, integer fields only, so every bit pattern
/// is a valid value and copying bytes in and out is sound.
///
/// # Safety
/// Only for types with no padding invariants, references or pointers, valid for every bit
/// pattern.
pub(crate) unsafe trait Pod: Copy + Default {}

macro_rules! pod {
    ($($t:ty),*) => { $(unsafe impl Pod for $t {})* };
}
pod!(
    LanesU256,
    LanesSpan,
    LanesBlockEnv,
    LanesBlockHashEntry,
    LanesAccount,
    LanesStorage,
    LanesAccessListEntry,
    LanesTxInput,
    LanesWave,
    LanesKey,
    LanesLog,
    LanesAccountWrite,
    LanesStorageWrite,
    LanesTxOutput
);

/// Writes `value` at byte `offset` of `buf`.
///
/// # Panics
/// If it does not fit: offsets come from the host's own layout, so that is a bug.
pub(crate) fn put<T: Pod>(buf: &mut [u8], offset: usize, value: &T) {
    let size = std::mem::size_of::<T>();
    let dst = &mut buf[offset..offset + size];
    // SAFETY: `T: Pod` is plain bytes; `dst` is exactly `size` bytes.
    let src = unsafe { std::slice::from_raw_parts((value as *const T).cast::<u8>(), size) };
    dst.copy_from_slice(src);
}

/// Reads a `T` at byte `offset` of `buf`, or `None` if it does not fit.
pub(crate) fn get<T: Pod>(buf: &[u8], offset: usize) -> Option<T> {
    let size = std::mem::size_of::<T>();
    let src = buf.get(offset..offset.checked_add(size)?)?;
    let mut value = T::default();
    // SAFETY: `T: Pod` accepts any bytes; `src` is exactly `size` bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(src.as_ptr(), (&mut value as *mut T).cast::<u8>(), size);
    }
    Some(value)
}

impl From<U256> for LanesU256 {
    fn from(value: U256) -> Self {
        Self {
            limbs: *value.as_limbs(),
        }
    }
}

impl From<LanesU256> for U256 {
    fn from(value: LanesU256) -> Self {
        U256::from_limbs(value.limbs)
    }
}

/// MurmurHash3's 64-bit finalizer, as `lanes_fmix64`.
pub(crate) fn fmix64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    x
}

fn le64(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word[..bytes.len()].copy_from_slice(bytes);
    u64::from_le_bytes(word)
}

/// `lanes_hash_address`.
pub(crate) fn hash_address(address: &[u8; 20]) -> u64 {
    let mut h = fmix64(le64(&address[0..8]));
    h = fmix64(h ^ le64(&address[8..16]));
    fmix64(h ^ le64(&address[16..20]))
}

/// `lanes_hash_slot`.
pub(crate) fn hash_slot(address: &[u8; 20], slot: &U256) -> u64 {
    slot.as_limbs()
        .iter()
        .fold(hash_address(address), |h, limb| fmix64(h ^ limb))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sizes the kernels see are the sizes Rust sees, and every record stays a multiple of
    /// 8 bytes so that arrays of them keep the offsets 8-aligned (bindgen's layout tests check
    /// every field offset against clang's).
    #[test]
    fn records_are_8_byte_multiples() {
        for (name, size) in [
            ("LanesU256", std::mem::size_of::<LanesU256>()),
            ("LanesAccount", std::mem::size_of::<LanesAccount>()),
            ("LanesStorage", std::mem::size_of::<LanesStorage>()),
            ("LanesTxInput", std::mem::size_of::<LanesTxInput>()),
            ("LanesWave", std::mem::size_of::<LanesWave>()),
            ("LanesTxOutput", std::mem::size_of::<LanesTxOutput>()),
            ("LanesKey", std::mem::size_of::<LanesKey>()),
            ("LanesLog", std::mem::size_of::<LanesLog>()),
            (
                "LanesAccountWrite",
                std::mem::size_of::<LanesAccountWrite>(),
            ),
            (
                "LanesStorageWrite",
                std::mem::size_of::<LanesStorageWrite>(),
            ),
            (
                "LanesAccessListEntry",
                std::mem::size_of::<LanesAccessListEntry>(),
            ),
            (
                "LanesBlockHashEntry",
                std::mem::size_of::<LanesBlockHashEntry>(),
            ),
        ] {
            assert_eq!(size % 8, 0, "{name} is {size} bytes");
        }
    }

    #[test]
    fn u256_round_trips_through_limbs() {
        let v = U256::from_limbs([1, 2, 3, u64::MAX]);
        assert_eq!(<U256 as From<LanesU256>>::from(LanesU256::from(v)), v);
        assert_eq!(LanesU256::from(v).limbs[0], 1);
    }

    #[test]
    fn put_get_round_trip_and_bounds() {
        let mut buf = vec![0u8; 64];
        let span = LanesSpan {
            offset: 7,
            count: 9,
        };
        put(&mut buf, 8, &span);
        let back: LanesSpan = get(&buf, 8).unwrap();
        assert_eq!((back.offset, back.count), (7, 9));
        assert!(get::<LanesSpan>(&buf, 60).is_none());
        assert!(get::<LanesSpan>(&buf, usize::MAX - 2).is_none());
    }
}
