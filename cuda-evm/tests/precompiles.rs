//! Differential tests of the Cancun precompiles in `kernels/precompiles/` (host build, through
//! `lanes_host_precompile_run` in `kernels/host/precompiles_ffi.cpp`) against revm 43's own
//! precompiles: same status class (ok / out of gas / other failure), same output bytes, same gas.
//! A precompile the kernels report as unsupported for an input makes the test fail unless the
//! test says that input is expected to be unsupported.

use lanes_cuda_evm as _;
use proptest::prelude::*;
use revm::precompile::{PrecompileHalt, PrecompileStatus, Precompiles};
use revm::primitives::Address;

unsafe extern "C" {
    fn lanes_host_precompile_run(
        id: u32,
        input: *const u8,
        in_len: u32,
        gas_limit: u64,
        out: *mut u8,
        out_cap: u32,
        out_len: *mut u32,
        gas_used: *mut u64,
    ) -> i32;
}

const LANES_PC_OK: i32 = 0;
const LANES_PC_OUT_OF_GAS: i32 = 1;
const LANES_PC_FAILURE: i32 = 2;
const LANES_PC_UNSUPPORTED: i32 = 3;

/// What one precompile call did.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Ok { gas: u64, out: Vec<u8> },
    OutOfGas,
    Failure,
    Unsupported,
}

/// Runs precompile `id` in the host build with an output buffer of `out_cap` bytes.
fn lanes_with_cap(id: u8, input: &[u8], gas_limit: u64, out_cap: u32) -> Outcome {
    let mut out = vec![0xeeu8; out_cap as usize + 64];
    let mut out_len = 0u32;
    let mut gas_used = 0u64;
    let in_len = u32::try_from(input.len()).expect("test input under 4 GiB");
    // SAFETY: the pointers are valid for the lengths passed; the kernel writes at most out_cap
    // bytes to `out` (checked below through the guard bytes past out_cap).
    let status = unsafe {
        lanes_host_precompile_run(
            u32::from(id),
            input.as_ptr(),
            in_len,
            gas_limit,
            out.as_mut_ptr(),
            out_cap,
            &mut out_len,
            &mut gas_used,
        )
    };
    assert!(
        out[out_cap as usize..].iter().all(|&b| b == 0xee),
        "precompile {id} wrote past out_cap"
    );
    match status {
        LANES_PC_OK => {
            assert!(out_len <= out_cap);
            assert!(gas_used <= gas_limit);
            Outcome::Ok { gas: gas_used, out: out[..out_len as usize].to_vec() }
        }
        LANES_PC_OUT_OF_GAS => Outcome::OutOfGas,
        LANES_PC_FAILURE => Outcome::Failure,
        LANES_PC_UNSUPPORTED => Outcome::Unsupported,
        other => panic!("unknown status {other}"),
    }
}

/// Runs precompile `id` in the host build with the interface's usual output capacity.
fn lanes(id: u8, input: &[u8], gas_limit: u64) -> Outcome {
    let cap = u32::try_from(input.len().max(1024)).expect("small input");
    lanes_with_cap(id, input, gas_limit, cap)
}

/// Runs precompile `id` of revm's Cancun set.
fn revm(id: u8, input: &[u8], gas_limit: u64) -> Outcome {
    let address = Address::with_last_byte(id);
    let precompile = Precompiles::cancun().get(&address).expect("a Cancun precompile");
    let result = precompile.execute(input, gas_limit, 0).expect("no fatal error");
    match result.status {
        PrecompileStatus::Success => Outcome::Ok { gas: result.gas_used, out: result.bytes.to_vec() },
        PrecompileStatus::Halt(PrecompileHalt::OutOfGas) => Outcome::OutOfGas,
        PrecompileStatus::Halt(_) | PrecompileStatus::Revert => Outcome::Failure,
    }
}

/// Asserts both implementations agree on one call.
fn check(id: u8, input: &[u8], gas_limit: u64) {
    let want = revm(id, input, gas_limit);
    let got = lanes(id, input, gas_limit);
    assert_eq!(got, want, "precompile {id:#04x}, gas_limit {gas_limit}, input {}", hex::encode(input));
}

/// Checks `input` at the gas limits around its cost: generous, exact, one short.
fn check_gas_edges(id: u8, input: &[u8]) {
    check(id, input, 30_000_000);
    if let Outcome::Ok { gas, .. } = revm(id, input, 30_000_000) {
        check(id, input, gas);
        check(id, input, gas - 1);
    }
}

fn word(x: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&x.to_be_bytes());
    w
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s.split_whitespace().collect::<String>()).expect("test hex")
}

// ---------------------------------------------------------------------------------------------
// identity, sha256, ripemd160

#[test]
fn hashes_and_identity_known_lengths() {
    for id in [2u8, 3, 4] {
        for len in [0usize, 1, 31, 32, 33, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 5000] {
            let input: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            check_gas_edges(id, &input);
        }
        check(id, b"", 0);
    }
    // sha256("abc") and ripemd160("abc"), the standards' own vectors.
    let sha = lanes(2, b"abc", 100);
    assert_eq!(
        sha,
        Outcome::Ok {
            gas: 72,
            out: unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        }
    );
    let rmd = lanes(3, b"abc", 1000);
    assert_eq!(
        rmd,
        Outcome::Ok {
            gas: 720,
            out: unhex("0000000000000000000000008eb208f7e05d987a9b044a8e98c6b087f15a0bfc")
        }
    );
}

// ---------------------------------------------------------------------------------------------
// blake2f

fn blake2_input(rounds: u32, f: u8) -> Vec<u8> {
    // EIP-152 test vector 5's body (BLAKE2b-512 of "abc") with a chosen round count and flag.
    const IV: [u64; 8] = [
        0x6a09e667f3bcc908,
        0xbb67ae8584caa73b,
        0x3c6ef372fe94f82b,
        0xa54ff53a5f1d36f1,
        0x510e527fade682d1,
        0x9b05688c2b3e6c1f,
        0x1f83d9abfb41bd6b,
        0x5be0cd19137e2179,
    ];
    let mut v = rounds.to_be_bytes().to_vec();
    for (i, h) in IV.iter().enumerate() {
        let h = if i == 0 { h ^ 0x0101_0040 } else { *h };
        v.extend_from_slice(&h.to_le_bytes());
    }
    let mut m = [0u8; 128];
    m[..3].copy_from_slice(b"abc");
    v.extend_from_slice(&m);
    v.extend_from_slice(&3u64.to_le_bytes());
    v.extend_from_slice(&0u64.to_le_bytes());
    v.push(f);
    assert_eq!(v.len(), 213);
    v
}

#[test]
fn blake2f_vectors_and_edges() {
    for rounds in [0u32, 1, 2, 9, 10, 11, 12, 13, 20, 100] {
        for f in [0u8, 1] {
            check_gas_edges(9, &blake2_input(rounds, f));
        }
    }
    check(9, &blake2_input(12, 2), 100); // bad final flag
    check(9, &blake2_input(12, 2), 1); // out of gas before the flag check
    check(9, &blake2_input(0xffff_ffff, 0), 30_000_000); // out of gas
    let good = blake2_input(12, 1);
    check(9, &good[..212], 100); // short
    let mut long = good.clone();
    long.push(0);
    check(9, &long, 100); // long
    check(9, &[], 100);
    // EIP-152 vector 5 output.
    assert_eq!(
        lanes(9, &good, 12),
        Outcome::Ok {
            gas: 12,
            out: unhex("ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923")
        }
    );
}

// ---------------------------------------------------------------------------------------------
// modexp

fn modexp_input(base: &[u8], exp: &[u8], modulus: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&word(base.len() as u64));
    v.extend_from_slice(&word(exp.len() as u64));
    v.extend_from_slice(&word(modulus.len() as u64));
    v.extend_from_slice(base);
    v.extend_from_slice(exp);
    v.extend_from_slice(modulus);
    v
}

#[test]
fn modexp_edges() {
    // Fermat: 3^(p-1) mod p for the secp256k1 p.
    let p = unhex("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f");
    let pm1 = unhex("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2e");
    check_gas_edges(5, &modexp_input(&[3], &pm1, &p));
    // zero lengths, zero modulus, modulus one, empty input, short input
    check_gas_edges(5, &modexp_input(&[], &[], &[]));
    check_gas_edges(5, &modexp_input(&[5], &[], &[]));
    check_gas_edges(5, &modexp_input(&[], &[1], &[7]));
    check_gas_edges(5, &modexp_input(&[2], &[3], &[0, 0]));
    check_gas_edges(5, &modexp_input(&[2], &[3], &[1]));
    check_gas_edges(5, &modexp_input(&[2], &[0], &[0, 9]));
    check_gas_edges(5, &[]);
    check_gas_edges(5, &modexp_input(&[2], &[3], &[0, 9])[..97]);
    // even moduli, base longer than the modulus, leading zeros
    check_gas_edges(5, &modexp_input(&[0xff; 70], &[0x01, 0x00, 0x01], &[0x80, 0, 0, 0, 0, 0, 0, 0, 0x10]));
    check_gas_edges(5, &modexp_input(&[0, 0, 0, 7], &[0, 0, 0x12], &[0, 0, 0, 0, 1, 0]));
    // huge declared lengths: out of gas, or a usize overflow (failure)
    let mut huge_exp = modexp_input(&[2], &[3], &[5]);
    huge_exp[32..64].copy_from_slice(&[0xff; 32]);
    check(5, &huge_exp, 30_000_000);
    let mut huge_base = modexp_input(&[2], &[3], &[5]);
    huge_base[0..32].copy_from_slice(&[0xff; 32]);
    check(5, &huge_base, 30_000_000);
    let mut big_mod = modexp_input(&[2], &[3], &[5]);
    big_mod[64..96].copy_from_slice(&word(1 << 40));
    check(5, &big_mod, 30_000_000);
    // exponent longer than 32 bytes, partly past the end of the input
    let mut long_exp = modexp_input(&[3], &[0x80; 40], &[0xf1; 33]);
    long_exp.truncate(96 + 1 + 20);
    check_gas_edges(5, &long_exp);
    let mut long_exp = modexp_input(&[3], &[0x01; 64], &[0xf1; 33]);
    long_exp[32..64].copy_from_slice(&word(300));
    check_gas_edges(5, &long_exp);
    // beyond the device's operand limit: unsupported, but the gas check still comes first
    let big = modexp_input(&[3; 600], &[5], &[0xfd; 600]);
    assert_eq!(lanes(5, &big, 30_000_000), Outcome::Unsupported);
    assert_eq!(lanes(5, &big, 199), Outcome::OutOfGas);
    assert_eq!(revm(5, &big, 199), Outcome::OutOfGas);
    // the largest supported operands
    check_gas_edges(5, &modexp_input(&[0xa5; 512], &[0x03, 0x01], &[0xfd; 512]));
}

// ---------------------------------------------------------------------------------------------
// ecrecover

/// secp256k1's group order n, big-endian.
const SECP_N: &str = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";

fn ecrecover_input(hash: &[u8; 32], v: u8, r: &[u8], s: &[u8]) -> Vec<u8> {
    let mut input = hash.to_vec();
    input.extend_from_slice(&word(u64::from(v)));
    input.extend_from_slice(r);
    input.extend_from_slice(s);
    input
}

/// A signature over `hash` by the key `seed` (any nonzero seed below n), as (v, r, s).
fn sign(seed: [u8; 32], hash: [u8; 32]) -> Option<(u8, Vec<u8>, Vec<u8>)> {
    let key = secp256k1::SecretKey::from_byte_array(seed).ok()?;
    let sig = secp256k1::SECP256K1
        .sign_ecdsa_recoverable(secp256k1::Message::from_digest(hash), &key);
    let (recid, rs) = sig.serialize_compact();
    let v = 27 + u8::try_from(i32::from(recid)).expect("recid 0..=3");
    Some((v, rs[..32].to_vec(), rs[32..].to_vec()))
}

/// n - x for a 32-byte big-endian x (x <= n).
fn n_minus(x: &[u8]) -> Vec<u8> {
    let n = unhex(SECP_N);
    let mut out = vec![0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = i16::from(n[i]) - i16::from(x[i]) - borrow;
        borrow = i16::from(d < 0);
        out[i] = (d + 256 * borrow) as u8;
    }
    out
}

#[test]
fn ecrecover_edges() {
    let hash = [0x5au8; 32];
    let (v, r, s) = sign([7u8; 32], hash).expect("valid key");
    let good = ecrecover_input(&hash, v, &r, &s);
    check_gas_edges(1, &good);
    assert!(matches!(lanes(1, &good, 3000), Outcome::Ok { ref out, .. } if out.len() == 32));
    // the other parity, and a high s with the flipped v (malleable form, accepted by revm)
    check(1, &ecrecover_input(&hash, v ^ 7, &r, &s), 3000);
    check(1, &ecrecover_input(&hash, if v == 27 { 28 } else { 27 }, &r, &n_minus(&s)), 3000);
    check(1, &ecrecover_input(&hash, v, &r, &n_minus(&s)), 3000);
    // v not 27/28, bytes before v nonzero
    for bad_v in [0u8, 1, 26, 29, 255] {
        check(1, &ecrecover_input(&hash, bad_v, &r, &s), 3000);
    }
    let mut padded = good.clone();
    padded[40] = 1;
    check(1, &padded, 3000);
    // r or s zero, equal to n, above n; r not an x coordinate on the curve
    let n = unhex(SECP_N);
    for (rr, ss) in [
        (vec![0u8; 32], s.clone()),
        (r.clone(), vec![0u8; 32]),
        (n.clone(), s.clone()),
        (r.clone(), n.clone()),
        (vec![0xffu8; 32], s.clone()),
        (r.clone(), vec![0xffu8; 32]),
        (word(5).to_vec(), s.clone()),
        (word(1).to_vec(), word(1).to_vec()),
    ] {
        check(1, &ecrecover_input(&hash, 27, &rr, &ss), 3000);
        check(1, &ecrecover_input(&hash, 28, &rr, &ss), 3000);
    }
    // hash >= n, short and empty input, long input
    check(1, &ecrecover_input(&[0xff; 32], 27, &r, &s), 3000);
    check(1, &ecrecover_input(&[0xff; 32], 28, &r, &s), 3000);
    check(1, &good[..100], 3000);
    check(1, &good[..64], 3000);
    check(1, &[], 3000);
    let mut long = good.clone();
    long.extend_from_slice(&[9; 50]);
    check(1, &long, 3000);
    // A known Ethereum vector (ethereum/tests ecrecover, address 0xa94f...ae13b... key 0x45).
    let known = unhex(
        "18c547e4f7b0f325ad1e56f57e26c745b09a3e503d86e00e5255ff7f715d3d1c
         000000000000000000000000000000000000000000000000000000000000001c
         73b1693892219d736caba55bdb67216e485557ea6b6af75f37096c9aa6a5a75f
         eeb940b1d03b21e36b0e47e79769f095fe2ab855bd91e3a38756b7d75a9c4549",
    );
    assert_eq!(
        lanes(1, &known, 3000),
        Outcome::Ok {
            gas: 3000,
            out: unhex("000000000000000000000000a94f5374fce5edbc8e2a8697c15331677e6ebf0b")
        }
    );
    check(1, &known, 3000);
}

// ---------------------------------------------------------------------------------------------
// out_cap

#[test]
fn too_small_out_cap_is_unsupported() {
    let input = [7u8; 100];
    assert_eq!(lanes_with_cap(4, &input, 1_000, 99), Outcome::Unsupported);
    assert_eq!(lanes_with_cap(2, &input, 1_000, 31), Outcome::Unsupported);
    assert_eq!(lanes_with_cap(3, &input, 10_000, 31), Outcome::Unsupported);
    assert_eq!(lanes_with_cap(9, &blake2_input(12, 1), 1_000, 63), Outcome::Unsupported);
    assert_eq!(lanes_with_cap(5, &modexp_input(&[2], &[3], &[0x11; 40]), 1_000, 39), Outcome::Unsupported);
    assert!(matches!(lanes_with_cap(4, &input, 1_000, 100), Outcome::Ok { .. }));
}

// ---------------------------------------------------------------------------------------------
// random inputs

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_hash_inputs(id in 2u8..=4, input in proptest::collection::vec(any::<u8>(), 0..400), gas in 0u64..5_000) {
        check(id, &input, gas);
    }

    #[test]
    fn random_blake2f(rounds in 0u32..64, body in proptest::collection::vec(any::<u8>(), 208), f in 0u8..3, gas in 0u64..80) {
        let mut input = rounds.to_be_bytes().to_vec();
        input.extend_from_slice(&body);
        input.push(f);
        check(9, &input, gas);
    }

    #[test]
    fn random_modexp(base in proptest::collection::vec(any::<u8>(), 0..70),
                     exp in proptest::collection::vec(any::<u8>(), 0..40),
                     modulus in proptest::collection::vec(any::<u8>(), 0..70),
                     cut in 0usize..300, gas in 0u64..100_000) {
        let mut input = modexp_input(&base, &exp, &modulus);
        if cut < input.len() { input.truncate(input.len() - cut); }
        check(5, &input, gas);
    }

    #[test]
    fn random_ecrecover_signatures(seed in any::<[u8; 32]>(), hash in any::<[u8; 32]>(), flip in any::<bool>(), high_s in any::<bool>()) {
        if let Some((v, r, s)) = sign(seed, hash) {
            let (v, s) = if high_s { (v ^ 7, n_minus(&s)) } else { (v, s) };
            let v = if flip { if v == 27 { 28 } else { 27 } } else { v };
            check(1, &ecrecover_input(&hash, v, &r, &s), 3000);
        }
    }

    #[test]
    fn random_ecrecover_bytes(hash in any::<[u8; 32]>(), v in 26u8..30, r in any::<[u8; 32]>(), s in any::<[u8; 32]>(), gas in 2990u64..3010) {
        check(1, &ecrecover_input(&hash, v, &r, &s), gas);
    }

    #[test]
    fn random_modexp_raw(input in proptest::collection::vec(any::<u8>(), 0..200)) {
        check(5, &input, 1_000_000);
    }
}
