//! The Keccak-256 sponge AIR: Plonky3's Keccak-f[1600] AIR (`p3_keccak_air`, 24 rows
//! per permutation) plus the sponge around it, all constrained:
//!
//! - **absorption**: each permutation's input (`preimage`) is the previous
//!   permutation's output with the 136-byte block XORed into the 17 rate lanes; the
//!   capacity lanes pass through. Row `r < 17` of a permutation handles lane `r`: it
//!   holds the 64 bits of that lane of the previous output (`pbits`) and of the block
//!   (`mbits`), constrains them against the carried previous output (`prev`) and
//!   against the preimage, whose lane-`r` limbs are selected by the round flags.
//! - **chaining**: `prev` is constant within a permutation and equals the previous
//!   permutation's output at each boundary; the first permutation's `prev` is zero.
//! - **padding** (pad10*1 with the keccak-256 domain byte 0x01): in the last absorbed
//!   block, byte flags `is_data` (monotone non-increasing along the block) count
//!   exactly `len mod 136` data bytes; the first non-data byte is `0x01`, the others
//!   zero, except byte 135 which has `0x80` added. Blocks before the last hold only
//!   data bytes.
//! - **length and digest**: a block counter makes the last block number
//!   `floor(len / 136)`; the digest (first 32 bytes of the final state, lanes 0..4)
//!   equals the public digest limbs at the last block's final round row. The last
//!   row of the trace belongs to an inactive (padding) permutation, and activity can
//!   only end with a last block, so a last block exists.
//!
//! Public values: `[batch index as four 16-bit limbs, floor(len / 136), len mod 136,
//! digest as 16 limbs of 16 bits]`, digest limb `4i + j` being bits `16j..16j+16` of
//! lane `i` (little-endian bytes `8i + 2j`, `8i + 2j + 1`).

use std::mem::transmute;

use p3_air::utils::u64_to_bits_le;
use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_keccak_air::{KeccakAir, KeccakCols, NUM_KECCAK_COLS, NUM_ROUNDS, generate_trace_rows};
use p3_matrix::dense::RowMajorMatrix;
use p3_maybe_rayon::prelude::*;
use p3_uni_stark::SubAirBuilder;
use p3_util::indices_arr;

use crate::hash::{F, u64_limbs16};

/// Keccak-256 rate in bytes.
pub const RATE_BYTES: usize = 136;
const RATE_LANES: usize = 17;

// SAFETY: `KeccakCols<usize>` is `#[repr(C)]` and made of exactly `NUM_KECCAK_COLS`
// `usize`s, so it has the layout of `[usize; NUM_KECCAK_COLS]`.
const KMAP: KeccakCols<usize> = unsafe { transmute(indices_arr::<NUM_KECCAK_COLS>()) };

const PREV: usize = NUM_KECCAK_COLS;
const PBITS: usize = PREV + 100;
const MBITS: usize = PBITS + 64;
const ISD: usize = MBITS + 64;
const DIN: usize = ISD + 8;
const CNT: usize = DIN + 1;
const ACTIVE: usize = CNT + 1;
const FIRST: usize = ACTIVE + 1;
const LAST: usize = FIRST + 1;
const BLK: usize = LAST + 1;
/// Trace width.
pub(crate) const SPONGE_WIDTH: usize = BLK + 1;
/// Number of public values.
pub(crate) const SPONGE_PUBLIC: usize = 4 + 2 + 16;

fn pre_col(lane: usize, limb: usize) -> usize {
    KMAP.preimage[lane / 5][lane % 5][limb]
}

fn out_col(lane: usize, limb: usize) -> usize {
    KMAP.a_prime_prime_prime(lane / 5, lane % 5, limb)
}

/// The sponge AIR (see the module docs).
#[derive(Debug)]
pub struct SpongeAir {
    keccak: KeccakAir,
}

impl Default for SpongeAir {
    fn default() -> Self {
        Self {
            keccak: KeccakAir {},
        }
    }
}

impl BaseAir<F> for SpongeAir {
    fn width(&self) -> usize {
        SPONGE_WIDTH
    }

    fn num_public_values(&self) -> usize {
        SPONGE_PUBLIC
    }

    fn max_constraint_degree(&self) -> Option<usize> {
        Some(3)
    }
}

impl<AB: AirBuilder<F = F>> Air<AB> for SpongeAir {
    fn eval(&self, builder: &mut AB) {
        self.keccak
            .eval(&mut SubAirBuilder::<AB, KeccakAir, AB::Var>::new(
                builder,
                0..NUM_KECCAK_COLS,
            ));

        let main = builder.main();
        let lo: Vec<AB::Expr> = main.current_slice().iter().map(|&v| v.into()).collect();
        let nx: Vec<AB::Expr> = main.next_slice().iter().map(|&v| v.into()).collect();
        let pis: Vec<AB::Expr> = builder.public_values().iter().map(|&v| v.into()).collect();
        let one = AB::Expr::ONE;
        let sf = |r: usize| lo[KMAP.step_flags[r]].clone();
        let final_step = sf(NUM_ROUNDS - 1);
        let lane_row: AB::Expr = (0..RATE_LANES).map(sf).sum();
        // Rows 0..16 continue to the next lane row (never across the wrap-around).
        let lane_row_not_last: AB::Expr =
            builder.is_transition() * (0..RATE_LANES - 1).map(sf).sum::<AB::Expr>();
        let within = builder.is_transition() * (one.clone() - final_step.clone());
        let (active, first, last) = (lo[ACTIVE].clone(), lo[FIRST].clone(), lo[LAST].clone());

        for i in 0..64 {
            builder.assert_bool(lo[PBITS + i].clone());
            builder.assert_bool(lo[MBITS + i].clone());
            builder.assert_zero((one.clone() - lane_row.clone()) * lo[PBITS + i].clone());
            builder.assert_zero((one.clone() - lane_row.clone()) * lo[MBITS + i].clone());
        }
        // Absorption of lane r at row r: pbits are the previous output's lane, and
        // preimage lane = pbits XOR mbits.
        for j in 0..4 {
            let prev_sel: AB::Expr = (0..RATE_LANES)
                .map(|r| sf(r) * lo[PREV + 4 * r + j].clone())
                .sum();
            let pre_sel: AB::Expr = (0..RATE_LANES)
                .map(|r| sf(r) * lo[pre_col(r, j)].clone())
                .sum();
            let mut p_limb = AB::Expr::ZERO;
            let mut x_limb = AB::Expr::ZERO;
            for i in (0..16).rev() {
                let p = lo[PBITS + 16 * j + i].clone();
                let m = lo[MBITS + 16 * j + i].clone();
                p_limb = p_limb.double() + p.clone();
                x_limb = x_limb.double() + (p.clone() + m.clone() - (p * m).double());
            }
            builder.assert_zero(active.clone() * (prev_sel - p_limb));
            builder.assert_zero(active.clone() * (pre_sel - x_limb));
        }
        for lane in RATE_LANES..25 {
            for j in 0..4 {
                builder.assert_zero(
                    active.clone()
                        * sf(0)
                        * (lo[pre_col(lane, j)].clone() - lo[PREV + 4 * lane + j].clone()),
                );
            }
        }
        // Chaining of `prev`.
        for lane in 0..25 {
            for j in 0..4 {
                let c = PREV + 4 * lane + j;
                builder.assert_zero(within.clone() * (nx[c].clone() - lo[c].clone()));
                builder.assert_zero(
                    final_step.clone() * (nx[c].clone() - lo[out_col(lane, j)].clone()),
                );
                builder.assert_zero(first.clone() * lo[c].clone());
            }
        }
        // Block flags and counter.
        builder.assert_bool(active.clone());
        builder.assert_bool(first.clone());
        builder.assert_bool(last.clone());
        for c in [ACTIVE, FIRST, LAST, BLK] {
            builder.assert_zero(within.clone() * (nx[c].clone() - lo[c].clone()));
        }
        builder.assert_zero(final_step.clone() * nx[FIRST].clone());
        builder
            .assert_zero(final_step.clone() * (nx[ACTIVE].clone() - active.clone() + last.clone()));
        builder.assert_zero(final_step.clone() * (nx[BLK].clone() - lo[BLK].clone() - one.clone()));
        builder.assert_zero(last.clone() * (one.clone() - active.clone()));
        builder.assert_zero(last.clone() * (lo[BLK].clone() - pis[4].clone()));
        {
            let mut f = builder.when_first_row();
            f.assert_one(lo[FIRST].clone());
            f.assert_one(lo[ACTIVE].clone());
            f.assert_zero(lo[BLK].clone());
        }
        builder.when_last_row().assert_zero(lo[ACTIVE].clone());
        // Digest.
        for lane in 0..4 {
            for j in 0..4 {
                builder.assert_zero(
                    final_step.clone()
                        * last.clone()
                        * (lo[out_col(lane, j)].clone() - pis[6 + 4 * lane + j].clone()),
                );
            }
        }
        // Padding.
        let isd = |k: usize| lo[ISD + k].clone();
        for k in 0..8 {
            builder.assert_bool(isd(k));
            let before = if k == 0 { lo[DIN].clone() } else { isd(k - 1) };
            builder.assert_zero(isd(k) * (one.clone() - before.clone()));
            builder.assert_zero(
                active.clone() * (one.clone() - last.clone()) * (one.clone() - isd(k)),
            );
            let mut byte = AB::Expr::ZERO;
            for i in (0..8).rev() {
                byte = byte.double() + lo[MBITS + 8 * k + i].clone();
            }
            let mut expected = before - isd(k);
            if k == 7 {
                expected += sf(RATE_LANES - 1) * AB::Expr::from_u32(0x80);
            }
            builder.assert_zero(last.clone() * (one.clone() - isd(k)) * (byte - expected));
        }
        let isd_sum = |row: &[AB::Expr]| -> AB::Expr { (0..8).map(|k| row[ISD + k].clone()).sum() };
        builder.assert_zero(sf(0) * (lo[DIN].clone() - one.clone()));
        builder.assert_zero(lane_row_not_last.clone() * (nx[DIN].clone() - isd(7)));
        builder.assert_zero(sf(0) * (lo[CNT].clone() - isd_sum(&lo)));
        builder.assert_zero(lane_row_not_last * (nx[CNT].clone() - lo[CNT].clone() - isd_sum(&nx)));
        builder.assert_zero(sf(RATE_LANES - 1) * last * (lo[CNT].clone() - pis[5].clone()));
    }
}

/// Keccak-256 padding of `data`: pad10*1 with domain byte 0x01, to a multiple of 136.
pub fn pad(data: &[u8]) -> Vec<u8> {
    let blocks = data.len() / RATE_BYTES + 1;
    let mut out = vec![0u8; blocks * RATE_BYTES];
    out[..data.len()].copy_from_slice(data);
    out[data.len()] ^= 0x01;
    out[blocks * RATE_BYTES - 1] ^= 0x80;
    out
}

/// Public values of the sponge AIR for `data` with keccak-256 digest `digest`.
pub(crate) fn public_values(batch_index: u64, data_len: usize, digest: &[u8; 32]) -> Vec<F> {
    let mut pv = Vec::with_capacity(SPONGE_PUBLIC);
    pv.extend(u64_limbs16(batch_index));
    pv.push(F::from_usize(data_len / RATE_BYTES));
    pv.push(F::from_usize(data_len % RATE_BYTES));
    for pair in digest.chunks(2) {
        pv.push(F::from_u32(u32::from(pair[0]) | (u32::from(pair[1]) << 8)));
    }
    pv
}

/// Permutations per call to Plonky3's Keccak trace generator (85 * 24 = 2040 rows,
/// padded by it to 2048).
const CHUNK_PERMS: usize = 85;

/// Builds the sponge trace for `data`.
pub(crate) fn generate_trace(data: &[u8]) -> RowMajorMatrix<F> {
    let padded = pad(data);
    let n_blocks = padded.len() / RATE_BYTES;
    let pos = data.len() % RATE_BYTES;

    // Sequential sponge: the inputs of every permutation, and the state before it.
    let mut inputs = Vec::with_capacity(n_blocks);
    let mut prevs = Vec::with_capacity(n_blocks + 2);
    let mut state = [0u64; 25];
    for block in padded.chunks(RATE_BYTES) {
        prevs.push(state);
        for (lane, bytes) in state.iter_mut().zip(block.chunks(8)) {
            *lane ^= u64::from_le_bytes(bytes.try_into().expect("8 bytes"));
        }
        inputs.push(state);
        tiny_keccak::keccakf(&mut state);
    }
    prevs.push(state);
    let mut zero_out = [0u64; 25];
    tiny_keccak::keccakf(&mut zero_out);

    let height = (n_blocks * NUM_ROUNDS).next_power_of_two();
    let n_perms = height.div_ceil(NUM_ROUNDS);
    let mut values = F::zero_vec(height * SPONGE_WIDTH);

    // Keccak-f columns, in chunks so the intermediate traces stay small.
    let zero_rows = generate_trace_rows::<F>(vec![[0u64; 25]], 0);
    values
        .par_chunks_mut(CHUNK_PERMS * NUM_ROUNDS * SPONGE_WIDTH)
        .enumerate()
        .for_each(|(c, dst)| {
            let first = c * CHUNK_PERMS;
            let real: Vec<[u64; 25]> = inputs
                .iter()
                .skip(first)
                .take(CHUNK_PERMS)
                .copied()
                .collect();
            let src = if real.is_empty() {
                None
            } else {
                Some(generate_trace_rows::<F>(real.clone(), 0))
            };
            for (r, row) in dst.chunks_mut(SPONGE_WIDTH).enumerate() {
                let from = match &src {
                    Some(m) if r < real.len() * NUM_ROUNDS => &m.values[r * NUM_KECCAK_COLS..],
                    _ => &zero_rows.values[(r % NUM_ROUNDS) * NUM_KECCAK_COLS..],
                };
                row[..NUM_KECCAK_COLS].copy_from_slice(&from[..NUM_KECCAK_COLS]);
            }
        });

    // Sponge columns, per permutation.
    values
        .par_chunks_mut(NUM_ROUNDS * SPONGE_WIDTH)
        .enumerate()
        .for_each(|(p, rows)| {
            let active = p < n_blocks;
            let is_last = p + 1 == n_blocks;
            let prev = if p <= n_blocks { prevs[p] } else { zero_out };
            let block = active.then(|| &padded[p * RATE_BYTES..(p + 1) * RATE_BYTES]);
            let mut cnt = 0u32;
            let mut din = true;
            for (r, row) in rows.chunks_mut(SPONGE_WIDTH).enumerate() {
                for lane in 0..25 {
                    let limbs = u64_limbs16(prev[lane]);
                    row[PREV + 4 * lane..PREV + 4 * lane + 4].copy_from_slice(&limbs);
                }
                row[ACTIVE] = F::from_bool(active);
                row[FIRST] = F::from_bool(p == 0);
                row[LAST] = F::from_bool(is_last);
                row[BLK] = F::from_usize(p);
                let lane_row = r < RATE_LANES;
                if r == 0 {
                    din = true;
                }
                row[DIN] = F::from_bool(din || !lane_row);
                let mut flags = [true; 8];
                if let (Some(block), true) = (block, lane_row) {
                    let m = u64::from_le_bytes(block[8 * r..8 * r + 8].try_into().expect("8"));
                    row[PBITS..PBITS + 64].copy_from_slice(&u64_to_bits_le::<F>(prev[r]));
                    row[MBITS..MBITS + 64].copy_from_slice(&u64_to_bits_le::<F>(m));
                    if is_last {
                        flags = core::array::from_fn(|k| 8 * r + k < pos);
                    }
                }
                for (k, f) in flags.iter().enumerate() {
                    row[ISD + k] = F::from_bool(*f);
                }
                if lane_row {
                    cnt = if r == 0 { 0 } else { cnt };
                    cnt += flags.iter().filter(|f| **f).count() as u32;
                    din = flags[7];
                }
                row[CNT] = F::from_u32(cnt);
            }
        });
    debug_assert!(n_perms > n_blocks);
    RowMajorMatrix::new(values, SPONGE_WIDTH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_satisfies_constraints() {
        for len in [0usize, 5, 135, 136, 137, 272, 300] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let digest = alloy_primitives::keccak256(&data);
            let trace = generate_trace(&data);
            let pv = public_values(9, data.len(), &digest.0);
            p3_air::check_constraints(&SpongeAir::default(), &trace, &pv);
        }
    }

    /// The digest the trace computes (lanes 0..4 at the last block's final round
    /// row) is keccak-256 as computed by tiny-keccak, for pseudo-random inputs of
    /// lengths around the block boundaries.
    #[test]
    fn trace_digest_is_keccak256() {
        use p3_field::PrimeField32;
        use tiny_keccak::Hasher;
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for len in [0usize, 1, 55, 135, 136, 137, 271, 272, 273, 500, 1000] {
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            let mut expected = [0u8; 32];
            let mut k = tiny_keccak::Keccak::v256();
            k.update(&data);
            k.finalize(&mut expected);
            let trace = generate_trace(&data);
            let last_block = len / RATE_BYTES;
            let row = last_block * NUM_ROUNDS + NUM_ROUNDS - 1;
            let mut got = [0u8; 32];
            for lane in 0..4 {
                for j in 0..4 {
                    let limb =
                        trace.values[row * SPONGE_WIDTH + out_col(lane, j)].as_canonical_u32();
                    got[8 * lane + 2 * j] = limb as u8;
                    got[8 * lane + 2 * j + 1] = (limb >> 8) as u8;
                }
            }
            assert_eq!(got, expected, "len {len}");
            assert_eq!(trace.values[row * SPONGE_WIDTH + LAST], F::ONE);
        }
    }

    /// A trace with one flipped message bit in the last block (which changes the
    /// digest the trace computes) no longer satisfies the constraints with the
    /// original public values.
    #[test]
    #[should_panic(expected = "constraints not satisfied")]
    fn tampered_message_bit_is_caught() {
        let data = vec![7u8; 200];
        let digest = alloy_primitives::keccak256(&data);
        let mut trace = generate_trace(&data);
        let row = NUM_ROUNDS + 3; // second (last) block, lane 3
        let c = row * SPONGE_WIDTH + MBITS + 5;
        trace.values[c] = F::ONE - trace.values[c];
        let pv = public_values(0, data.len(), &digest.0);
        p3_air::check_constraints(&SpongeAir::default(), &trace, &pv);
    }

    /// Wrong padding (the 0x01 byte moved) is caught even with a consistent trace
    /// digest, because the padding is constrained against the public length.
    #[test]
    #[should_panic(expected = "constraints not satisfied")]
    fn wrong_length_is_caught() {
        let data = vec![7u8; 200];
        let digest = alloy_primitives::keccak256(&data);
        let trace = generate_trace(&data);
        let pv = public_values(0, data.len() - 1, &digest.0);
        p3_air::check_constraints(&SpongeAir::default(), &trace, &pv);
    }
}
