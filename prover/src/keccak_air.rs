//! The Keccak-256 sponge AIR: Plonky3's Keccak-f\[1600\] AIR (`p3_keccak_air`, 24 rows
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
//! - **segments**: a long sponge is proven as a few proofs, one per *segment* of
//!   consecutive blocks ([`plan_segments`]), because a trace height is a power of two
//!   and 24 rows per permutation often leave most of the last power of two empty
//!   (100 KB of data is 736 permutations, 17,664 rows, padded to 32,768; as two
//!   segments 16,384 + 2,048 rows). Each segment starts from a public sponge state
//!   (zero for the first) and ends in a public state (the next segment's start);
//!   the verifier, who has the data, computes those states itself.
//! - **length and digest**: a block counter starts at the segment's first block
//!   number and makes its last block number public; in the final segment the last
//!   block is `floor(len / 136)`, the padded one. The segment's last block's output
//!   state equals the public end state (its lanes 0..4 are the digest in the final
//!   segment). The last row of the trace belongs to an inactive (padding)
//!   permutation, and activity can only end with a last block, so a last block
//!   exists. A segment that is not the final one has `tail = 136`: its last block
//!   holds 136 data bytes, no padding.
//!
//! Public values: `[batch index as four 16-bit limbs, last block number, tail
//! (len mod 136 in the final segment, 136 before it), first block number, start
//! state as 100 16-bit limbs, end state as 100 limbs]`, limb `4i + j` of a state
//! being bits `16j..16j+16` of lane `i` (so the digest is end-state limbs 0..16,
//! little-endian bytes `8i + 2j`, `8i + 2j + 1`).

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
/// Public value: number of the segment's last block.
const PV_LAST_BLK: usize = 4;
/// Public value: data bytes in the segment's last block (136 unless it is the final one).
const PV_TAIL: usize = 5;
/// Public value: number of the segment's first block.
const PV_FIRST_BLK: usize = 6;
/// Public values: the sponge state the segment starts from (100 limbs).
const PV_IN: usize = 7;
/// Public values: the sponge state after the segment's last block (100 limbs).
const PV_OUT: usize = PV_IN + 100;
/// Number of public values.
pub(crate) const SPONGE_PUBLIC: usize = PV_OUT + 100;

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
                builder.assert_zero(
                    first.clone() * (lo[c].clone() - pis[PV_IN + 4 * lane + j].clone()),
                );
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
        builder.assert_zero(last.clone() * (lo[BLK].clone() - pis[PV_LAST_BLK].clone()));
        {
            let mut f = builder.when_first_row();
            f.assert_one(lo[FIRST].clone());
            f.assert_one(lo[ACTIVE].clone());
            f.assert_eq(lo[BLK].clone(), pis[PV_FIRST_BLK].clone());
        }
        builder.when_last_row().assert_zero(lo[ACTIVE].clone());
        // End state (the digest in the final segment).
        for lane in 0..25 {
            for j in 0..4 {
                builder.assert_zero(
                    final_step.clone()
                        * last.clone()
                        * (lo[out_col(lane, j)].clone() - pis[PV_OUT + 4 * lane + j].clone()),
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
        builder.assert_zero(sf(RATE_LANES - 1) * last * (lo[CNT].clone() - pis[PV_TAIL].clone()));
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

/// A run of consecutive sponge blocks proven by one proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Number of the segment's first block.
    pub start: usize,
    /// Number of blocks in the segment.
    pub blocks: usize,
}

impl Segment {
    /// Trace height of the segment: its rows rounded up to a power of two (always
    /// leaving at least one inactive permutation's rows at the end, as 24 never
    /// divides a power of two).
    pub fn height(&self) -> usize {
        (self.blocks * NUM_ROUNDS).next_power_of_two()
    }
}

/// A sponge is split only while the rest would need more rows than this.
pub const SPLIT_MIN_ROWS: usize = 4096;
/// Most segments per sponge.
pub const MAX_SEGMENTS: usize = 4;

/// Splits a sponge of `n_blocks` blocks into segments, with the default split size.
pub fn plan_segments(n_blocks: usize) -> Vec<Segment> {
    plan_segments_with(n_blocks, SPLIT_MIN_ROWS)
}

/// Splits `n_blocks` into segments: while the rest would fill less than three quarters
/// of its power-of-two trace and that trace is taller than `min_split_rows`, a segment
/// of half that height, full, is cut off. Every trace row costs the same to prove
/// (the Keccak columns dominate), so this saves up to half the rows; each further
/// segment costs one more proof's query openings.
pub(crate) fn plan_segments_with(n_blocks: usize, min_split_rows: usize) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut rest = n_blocks;
    loop {
        let height = (rest * NUM_ROUNDS).next_power_of_two();
        let full = 4 * rest * NUM_ROUNDS >= 3 * height;
        if full || height <= min_split_rows || out.len() + 1 == MAX_SEGMENTS {
            out.push(Segment {
                start,
                blocks: rest,
            });
            return out;
        }
        let blocks = height / 2 / NUM_ROUNDS;
        out.push(Segment { start, blocks });
        start += blocks;
        rest -= blocks;
    }
}

/// The keccak-256 sponge over `data`: the padded data and the state before each
/// block, then the final state (`blocks + 1` states).
pub fn sponge_states(data: &[u8]) -> (Vec<u8>, Vec<[u64; 25]>) {
    let padded = pad(data);
    let mut states = Vec::with_capacity(padded.len() / RATE_BYTES + 1);
    let mut state = [0u64; 25];
    for block in padded.chunks(RATE_BYTES) {
        states.push(state);
        absorb(&mut state, block);
        tiny_keccak::keccakf(&mut state);
    }
    states.push(state);
    (padded, states)
}

/// The keccak-256 digest of the sponge whose states [`sponge_states`] returned: the
/// first 32 bytes of the final state.
pub fn digest(states: &[[u64; 25]]) -> alloy_primitives::B256 {
    let last = states
        .last()
        .expect("a sponge has at least its initial state");
    let mut out = [0u8; 32];
    for (bytes, lane) in out.chunks_mut(8).zip(last) {
        bytes.copy_from_slice(&lane.to_le_bytes());
    }
    out.into()
}

fn absorb(state: &mut [u64; 25], block: &[u8]) {
    for (lane, bytes) in state.iter_mut().zip(block.chunks(8)) {
        *lane ^= u64::from_le_bytes(bytes.try_into().expect("8 bytes"));
    }
}

/// Public values of the sponge AIR for segment `seg` of the sponge over data of
/// `data_len` bytes whose states are `states` ([`sponge_states`]).
pub(crate) fn public_values(
    batch_index: u64,
    data_len: usize,
    seg: Segment,
    states: &[[u64; 25]],
) -> Vec<F> {
    let last = seg.start + seg.blocks - 1;
    let is_final = last == data_len / RATE_BYTES;
    let mut pv = Vec::with_capacity(SPONGE_PUBLIC);
    pv.extend(u64_limbs16(batch_index));
    pv.push(F::from_usize(last));
    pv.push(F::from_usize(if is_final {
        data_len % RATE_BYTES
    } else {
        RATE_BYTES
    }));
    pv.push(F::from_usize(seg.start));
    for state in [&states[seg.start], &states[last + 1]] {
        pv.extend(state.iter().flat_map(|&lane| u64_limbs16(lane)));
    }
    pv
}

/// Permutations per call to Plonky3's Keccak trace generator (85 * 24 = 2040 rows,
/// padded by it to 2048).
const CHUNK_PERMS: usize = 85;

/// Builds the trace of segment `seg` of the sponge over `data`, given
/// [`sponge_states`]' output.
pub(crate) fn generate_trace(
    data_len: usize,
    padded: &[u8],
    states: &[[u64; 25]],
    seg: Segment,
) -> RowMajorMatrix<F> {
    let n_blocks = seg.blocks;
    let is_final = seg.start + n_blocks == padded.len() / RATE_BYTES;
    let pos = data_len % RATE_BYTES;
    let block = |p: usize| &padded[(seg.start + p) * RATE_BYTES..(seg.start + p + 1) * RATE_BYTES];
    // The input of every permutation (state XOR block).
    let inputs: Vec<[u64; 25]> = (0..n_blocks)
        .map(|p| {
            let mut s = states[seg.start + p];
            absorb(&mut s, block(p));
            s
        })
        .collect();
    let mut zero_out = [0u64; 25];
    tiny_keccak::keccakf(&mut zero_out);

    let height = seg.height();
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
            // The first inactive permutation carries the segment's output; later ones
            // the output of the all-zero permutation before them.
            let prev = if p <= n_blocks {
                states[seg.start + p]
            } else {
                zero_out
            };
            let block = active.then(|| block(p));
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
                row[BLK] = F::from_usize(seg.start + p);
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
                    if is_last && is_final {
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

    fn data(len: usize) -> Vec<u8> {
        let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ len as u64;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// Checks every segment of `plan` over `data`, with `tamper` applied to each
    /// segment's trace and public values first.
    fn check(
        data: &[u8],
        plan: &[Segment],
        tamper: impl Fn(usize, &mut RowMajorMatrix<F>, &mut Vec<F>),
    ) {
        let (padded, states) = sponge_states(data);
        for (i, seg) in plan.iter().enumerate() {
            let mut trace = generate_trace(data.len(), &padded, &states, *seg);
            let mut pv = public_values(9, data.len(), *seg, &states);
            tamper(i, &mut trace, &mut pv);
            p3_air::check_constraints(&SpongeAir::default(), &trace, &pv);
        }
    }

    #[test]
    fn segment_plans_cover_the_sponge_and_save_rows() {
        for n in [1usize, 2, 85, 86, 170, 171, 500, 736, 5000, 7711] {
            for min in [0, 64, SPLIT_MIN_ROWS] {
                let plan = plan_segments_with(n, min);
                assert!(!plan.is_empty() && plan.len() <= MAX_SEGMENTS);
                assert_eq!(plan[0].start, 0);
                for w in plan.windows(2) {
                    assert_eq!(w[0].start + w[0].blocks, w[1].start, "n {n}");
                    assert!(w[0].height() >= w[1].height());
                }
                let end = plan.last().unwrap();
                assert_eq!(end.start + end.blocks, n);
                assert!(plan.iter().all(|s| s.blocks >= 1));
                let rows: usize = plan.iter().map(Segment::height).sum();
                assert!(rows <= (n * NUM_ROUNDS).next_power_of_two(), "n {n}");
            }
        }
        // 100 KB: 736 blocks, 32,768 rows as one trace; 16,384 + 2,048 as two.
        let plan = plan_segments(100_000 / RATE_BYTES + 1);
        assert_eq!(
            plan.iter().map(Segment::height).collect::<Vec<_>>(),
            vec![16_384, 2_048]
        );
        assert_eq!(plan_segments(74).len(), 1); // 10 KB: 1,776 rows of 2,048
    }

    #[test]
    fn trace_satisfies_constraints() {
        for len in [0usize, 5, 135, 136, 137, 272, 300, 700] {
            let data = data(len);
            let n = len / RATE_BYTES + 1;
            // One segment, and split as finely as the plan allows.
            for min in [usize::MAX, 0] {
                check(&data, &plan_segments_with(n, min), |_, _, _| {});
            }
        }
        assert!(plan_segments_with(700 / RATE_BYTES + 1, 0).len() > 1);
    }

    /// The digest the trace computes (lanes 0..4 at the last block's final round
    /// row) is keccak-256 as computed by tiny-keccak, for pseudo-random inputs of
    /// lengths around the block boundaries; and it is the end state of the final
    /// segment whatever the split.
    #[test]
    fn trace_digest_is_keccak256() {
        use p3_field::PrimeField32;
        use tiny_keccak::Hasher;
        for len in [0usize, 1, 55, 135, 136, 137, 271, 272, 273, 500, 1000] {
            let data = data(len);
            let mut expected = [0u8; 32];
            let mut k = tiny_keccak::Keccak::v256();
            k.update(&data);
            k.finalize(&mut expected);
            let (padded, states) = sponge_states(&data);
            let n = len / RATE_BYTES + 1;
            let seg = plan_segments_with(n, usize::MAX)[0];
            let trace = generate_trace(len, &padded, &states, seg);
            let row = (n - 1) * NUM_ROUNDS + NUM_ROUNDS - 1;
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
            let last = plan_segments_with(n, 0).last().copied().unwrap();
            let pv = public_values(0, len, last, &states);
            let digest: Vec<u8> = pv[PV_OUT..PV_OUT + 16]
                .iter()
                .flat_map(|l| {
                    [
                        l.as_canonical_u32() as u8,
                        (l.as_canonical_u32() >> 8) as u8,
                    ]
                })
                .collect();
            assert_eq!(digest, expected, "len {len}");
            assert_eq!(super::digest(&states).0, expected, "len {len}");
        }
    }

    /// A trace with one flipped message bit in the last block (which changes the
    /// digest the trace computes) no longer satisfies the constraints with the
    /// original public values.
    #[test]
    #[should_panic(expected = "constraints not satisfied")]
    fn tampered_message_bit_is_caught() {
        let data = vec![7u8; 200];
        let plan = plan_segments_with(2, usize::MAX);
        check(&data, &plan, |_, trace, _| {
            let row = NUM_ROUNDS + 3; // second (last) block, lane 3
            let c = row * SPONGE_WIDTH + MBITS + 5;
            trace.values[c] = F::ONE - trace.values[c];
        });
    }

    /// Wrong padding (the 0x01 byte moved) is caught even with a consistent trace
    /// digest, because the padding is constrained against the public length.
    #[test]
    #[should_panic(expected = "constraints not satisfied")]
    fn wrong_length_is_caught() {
        let data = vec![7u8; 200];
        check(&data, &plan_segments_with(2, usize::MAX), |_, _, pv| {
            pv[PV_TAIL] -= F::ONE;
        });
    }

    /// The second of two segments must start from the state the first ended in.
    #[test]
    #[should_panic(expected = "constraints not satisfied")]
    fn segment_start_state_is_bound() {
        let data = data(700);
        let plan = plan_segments_with(700 / RATE_BYTES + 1, 0);
        assert!(plan.len() > 1);
        check(&data, &plan, |i, _, pv| {
            if i == 1 {
                pv[PV_IN + 7] += F::ONE;
            }
        });
    }

    /// A segment before the final one may not end in a padded block: it claims a
    /// short tail and its last block holds only data, so the padding bytes are wrong.
    #[test]
    #[should_panic(expected = "constraints not satisfied")]
    fn early_segment_cannot_claim_padding() {
        let data = data(700);
        let plan = plan_segments_with(700 / RATE_BYTES + 1, 0);
        check(&data, &plan, |i, _, pv| {
            if i == 0 {
                pv[PV_TAIL] = F::from_usize(100);
            }
        });
    }

    /// The untampered check of the cases above passes (so the panics are the tampering's).
    #[test]
    fn untampered_cases_pass() {
        check(
            &[7u8; 200],
            &plan_segments_with(2, usize::MAX),
            |_, _, _| {},
        );
        check(
            &data(700),
            &plan_segments_with(700 / RATE_BYTES + 1, 0),
            |_, _, _| {},
        );
    }
}
