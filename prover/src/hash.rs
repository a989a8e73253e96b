//! Poseidon2 over KoalaBear (width 16) as used by the state commitment, and the
//! bytes32 encoding of digests.
//!
//! Every hash here uses the one permutation `default_koalabear_poseidon2_16` from
//! p3-koala-bear (Plonky3's published round constants), so the AIR in
//! [`crate::state_air`] proves exactly the permutation the native tree computes.

use std::sync::OnceLock;

use alloy_primitives::B256;
use p3_field::{PrimeCharacteristicRing, PrimeField32};
use p3_koala_bear::{KoalaBear, Poseidon2KoalaBear, default_koalabear_poseidon2_16};
use p3_symmetric::Permutation;

use crate::error::CommitmentError;

/// The base field of every proof and of the state commitment.
pub type F = KoalaBear;

/// Number of field elements in a digest (8 x 31 bits: about 124 bits of collision
/// resistance).
pub const DIGEST_ELEMS: usize = 8;

/// A Poseidon2 digest: eight KoalaBear elements.
pub type Digest = [F; DIGEST_ELEMS];

/// Width of the Poseidon2 permutation.
pub const WIDTH: usize = 16;

/// The all-zero digest: the value of an empty leaf.
pub const ZERO_DIGEST: Digest = [F::ZERO; DIGEST_ELEMS];

/// The shared Poseidon2 permutation (built once; the constants are Plonky3's).
pub fn permutation() -> &'static Poseidon2KoalaBear<WIDTH> {
    static PERM: OnceLock<Poseidon2KoalaBear<WIDTH>> = OnceLock::new();
    PERM.get_or_init(default_koalabear_poseidon2_16)
}

/// Two-to-one compression: `Poseidon2(left || right)[0..8]` (truncated permutation,
/// the same construction Plonky3's `TruncatedPermutation` uses for Merkle trees).
pub fn compress(left: &Digest, right: &Digest) -> Digest {
    let mut state = [F::ZERO; WIDTH];
    state[..DIGEST_ELEMS].copy_from_slice(left);
    state[DIGEST_ELEMS..].copy_from_slice(right);
    permutation().permute_mut(&mut state);
    let mut out = ZERO_DIGEST;
    out.copy_from_slice(&state[..DIGEST_ELEMS]);
    out
}

/// Sponge hash of a variable-length element string.
///
/// State starts as zero with the input length in capacity element 8 (so strings of
/// different lengths never collide by zero-extension); each chunk of up to 8 elements
/// is added into the rate (elements 0..8) and the state permuted; the digest is the
/// rate after the last permutation. The empty string is permuted once.
pub fn hash_elems(input: &[F]) -> Digest {
    let mut state = [F::ZERO; WIDTH];
    state[DIGEST_ELEMS] = F::from_u64(input.len() as u64);
    let perm = permutation();
    if input.is_empty() {
        perm.permute_mut(&mut state);
    }
    for chunk in input.chunks(DIGEST_ELEMS) {
        for (s, x) in state.iter_mut().zip(chunk) {
            *s += *x;
        }
        perm.permute_mut(&mut state);
    }
    let mut out = ZERO_DIGEST;
    out.copy_from_slice(&state[..DIGEST_ELEMS]);
    out
}

/// Encodes a digest as bytes32: element `i` as its canonical value (`< p`), big-endian
/// `u32`, at bytes `4i..4i+4`.
pub fn digest_to_b256(d: &Digest) -> B256 {
    let mut out = [0u8; 32];
    for (i, e) in d.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&e.as_canonical_u32().to_be_bytes());
    }
    B256::from(out)
}

/// Decodes [`digest_to_b256`]'s encoding; every 4-byte word must be below the KoalaBear
/// modulus `p = 2^31 - 2^24 + 1`.
pub fn b256_to_digest(b: &B256) -> Result<Digest, CommitmentError> {
    let mut out = ZERO_DIGEST;
    for (i, e) in out.iter_mut().enumerate() {
        let w = u32::from_be_bytes(b[4 * i..4 * i + 4].try_into().expect("4 bytes"));
        if w >= F::ORDER_U32 {
            return Err(CommitmentError::NonCanonical { word: i, value: w });
        }
        *e = F::from_u32(w);
    }
    Ok(out)
}

/// Splits bytes into 16-bit little-endian limbs, one field element each (bytes `2i`,
/// `2i+1` give limb `i = b[2i] + 256 * b[2i+1]`).
pub fn bytes_to_limbs16(bytes: &[u8], out: &mut Vec<F>) {
    for pair in bytes.chunks(2) {
        let lo = u32::from(pair[0]);
        let hi = pair.get(1).map_or(0, |b| u32::from(*b));
        out.push(F::from_u32(lo | (hi << 8)));
    }
}

/// `u64` as four 16-bit little-endian limbs.
pub fn u64_limbs16(x: u64) -> [F; 4] {
    core::array::from_fn(|i| F::from_u32(((x >> (16 * i)) & 0xffff) as u32))
}
