//! The state-transition AIR: a chain of sparse-Merkle-tree updates from the previous
//! commitment to the new one, bound to the diff through a Poseidon2 hash chain.
//!
//! # Layout
//! Each row holds two Poseidon2 permutations side by side (slot `old` and slot
//! `new`, each a full `p3_poseidon2_air` column set) and control columns. Every diff
//! entry takes [`ROWS_PER_ENTRY`] = 64 rows:
//!
//! - rows `0..62` (level rows, one per tree level `l`): slot `old` hashes the node on
//!   the old path at level `l` with its sibling, slot `new` the node on the new path
//!   with the same sibling, ordered by the index bit `bit` of level `l`. Row 0 starts
//!   from the entry's old and new leaves; each level row's outputs are the next row's
//!   nodes; at row 61 the outputs are the root before (`root`) and after (`nroot`).
//! - row 62: `t1 = compress(acc, leaf_old)` in slot `old`,
//!   `t2 = compress(t1, leaf_new)` in slot `new`;
//! - row 63: `compress(t2, [i0, i1, i2, 0, 0, 0, 0, 0])` in slot `old`, where
//!   `i0, i1, i2` are the index limbs recomposed from the level bits; its output is the
//!   entry's accumulator out (`acc_out`) when the entry is real.
//!
//! `root`, `nroot`, `acc`, `acc_out`, `leaf_old`, `leaf_new` and `real` are constant
//! within an entry; across entries `root := previous nroot` and `acc := previous
//! acc_out`. Padding entries (`real = 0`) must have `leaf_old = leaf_new`, so they do
//! not change the root, and they are not absorbed into the accumulator. Row-position
//! selectors are periodic columns (period 64), known to the verifier.
//!
//! # Public values
//! `[batch index as four 16-bit limbs, prev_root (8), new_root (8), diff_digest (8)]`.
//! The first row's `root` is `prev_root` and `acc` is zero; the last row's `nroot` is
//! `new_root` and `acc_out` is `diff_digest`, which the verifier computes natively
//! from the diff (`diff_digest`). The batch index is bound through the Fiat-Shamir
//! transcript, which absorbs all public values.

use std::borrow::Cow;
use std::mem::MaybeUninit;

use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_koala_bear::{
    GenericPoseidon2LinearLayersKoalaBear, KOALABEAR_POSEIDON2_HALF_FULL_ROUNDS,
    KOALABEAR_POSEIDON2_PARTIAL_ROUNDS_16, KOALABEAR_POSEIDON2_RC_16_EXTERNAL_FINAL,
    KOALABEAR_POSEIDON2_RC_16_EXTERNAL_INITIAL, KOALABEAR_POSEIDON2_RC_16_INTERNAL,
};
use p3_matrix::dense::RowMajorMatrix;
use p3_maybe_rayon::prelude::*;
use p3_poseidon2_air::{Poseidon2Air, Poseidon2Cols, RoundConstants, num_cols};
use p3_uni_stark::SubAirBuilder;

use crate::commitment::{INDEX_LIMB_BITS, MerklePath, TREE_DEPTH, index_limbs};
use crate::hash::{DIGEST_ELEMS, Digest, F, WIDTH, ZERO_DIGEST, compress, u64_limbs16};

const SBOX_DEGREE: u64 = 3;
const SBOX_REGISTERS: usize = 0;
const HALF_FULL: usize = KOALABEAR_POSEIDON2_HALF_FULL_ROUNDS;
const PARTIAL: usize = KOALABEAR_POSEIDON2_PARTIAL_ROUNDS_16;

/// The Poseidon2 AIR of one permutation slot.
pub(crate) type P2Air = Poseidon2Air<
    F,
    GenericPoseidon2LinearLayersKoalaBear,
    WIDTH,
    SBOX_DEGREE,
    SBOX_REGISTERS,
    HALF_FULL,
    PARTIAL,
>;
type P2Cols<T> = Poseidon2Cols<T, WIDTH, SBOX_DEGREE, SBOX_REGISTERS, HALF_FULL, PARTIAL>;

/// Columns of one Poseidon2 slot.
pub(crate) const P2_COLS: usize =
    num_cols::<WIDTH, SBOX_DEGREE, SBOX_REGISTERS, HALF_FULL, PARTIAL>();
/// Offset of the permutation output (the last full round's post-state) in a slot.
const P2_OUT: usize = P2_COLS - WIDTH;

/// Rows per diff entry (a power of two: the period of the selector columns).
pub const ROWS_PER_ENTRY: usize = 64;
const ABS0: usize = TREE_DEPTH;
const ABS1: usize = TREE_DEPTH + 1;
const _: () = assert!(ABS1 + 1 == ROWS_PER_ENTRY);

const OLD: usize = 0;
const NEW: usize = P2_COLS;
const BIT: usize = 2 * P2_COLS;
const LEAF_OLD: usize = BIT + 1;
const LEAF_NEW: usize = LEAF_OLD + DIGEST_ELEMS;
const ROOT: usize = LEAF_NEW + DIGEST_ELEMS;
const NROOT: usize = ROOT + DIGEST_ELEMS;
const ACC: usize = NROOT + DIGEST_ELEMS;
const ACC_OUT: usize = ACC + DIGEST_ELEMS;
const REAL: usize = ACC_OUT + DIGEST_ELEMS;
const IDX: usize = REAL + 1;
/// Trace width.
pub(crate) const STATE_WIDTH: usize = IDX + 3;

/// Number of public values: index limbs, prev root, new root, diff digest.
pub(crate) const STATE_PUBLIC: usize = 4 + 3 * DIGEST_ELEMS;

// Periodic column order.
const P_LEVEL: usize = 0;
const P_LEAF: usize = 1;
const P_CHAIN: usize = 2;
const P_TOP: usize = 3;
const P_ABS0: usize = 4;
const P_ABS1: usize = 5;
const P_W: usize = 6;

fn round_constants() -> RoundConstants<F, WIDTH, HALF_FULL, PARTIAL> {
    RoundConstants::new(
        KOALABEAR_POSEIDON2_RC_16_EXTERNAL_INITIAL,
        KOALABEAR_POSEIDON2_RC_16_INTERNAL,
        KOALABEAR_POSEIDON2_RC_16_EXTERNAL_FINAL,
    )
}

/// The state-transition AIR (see the module docs).
#[derive(Clone)]
pub struct StateAir {
    p2: P2Air,
    periodic: Vec<Vec<F>>,
}

impl Default for StateAir {
    fn default() -> Self {
        Self::new()
    }
}

impl StateAir {
    /// The AIR with Plonky3's KoalaBear Poseidon2 constants.
    pub fn new() -> Self {
        let mut periodic = vec![vec![F::ZERO; ROWS_PER_ENTRY]; P_W + 3];
        #[allow(clippy::needless_range_loop)] // `r` indexes every column
        for r in 0..ROWS_PER_ENTRY {
            let on = |c: bool| if c { F::ONE } else { F::ZERO };
            periodic[P_LEVEL][r] = on(r < TREE_DEPTH);
            periodic[P_LEAF][r] = on(r == 0);
            periodic[P_CHAIN][r] = on(r + 1 < TREE_DEPTH);
            periodic[P_TOP][r] = on(r + 1 == TREE_DEPTH);
            periodic[P_ABS0][r] = on(r == ABS0);
            periodic[P_ABS1][r] = on(r == ABS1);
            if r < TREE_DEPTH {
                let limb = r / INDEX_LIMB_BITS;
                periodic[P_W + limb][r] = F::from_u64(1 << (r % INDEX_LIMB_BITS));
            }
        }
        Self {
            p2: P2Air::new(round_constants()),
            periodic,
        }
    }
}

impl BaseAir<F> for StateAir {
    fn width(&self) -> usize {
        STATE_WIDTH
    }

    fn num_public_values(&self) -> usize {
        STATE_PUBLIC
    }

    fn num_periodic_columns(&self) -> usize {
        self.periodic.len()
    }

    fn periodic_columns(&self) -> Cow<'_, [Vec<F>]> {
        Cow::Borrowed(&self.periodic)
    }

    fn max_constraint_degree(&self) -> Option<usize> {
        Some(3)
    }
}

impl<AB: AirBuilder<F = F>> Air<AB> for StateAir {
    fn eval(&self, builder: &mut AB) {
        self.p2.eval(&mut SubAirBuilder::<AB, P2Air, AB::Var>::new(
            builder,
            OLD..OLD + P2_COLS,
        ));
        self.p2.eval(&mut SubAirBuilder::<AB, P2Air, AB::Var>::new(
            builder,
            NEW..NEW + P2_COLS,
        ));

        let main = builder.main();
        let lo: Vec<AB::Expr> = main.current_slice().iter().map(|&v| v.into()).collect();
        let nx: Vec<AB::Expr> = main.next_slice().iter().map(|&v| v.into()).collect();
        let per: Vec<AB::Expr> = builder
            .periodic_values()
            .iter()
            .map(|&v| v.into())
            .collect();
        let pis: Vec<AB::Expr> = builder.public_values().iter().map(|&v| v.into()).collect();
        let one = AB::Expr::ONE;

        let level = per[P_LEVEL].clone();
        let abs0 = per[P_ABS0].clone();
        let abs1 = per[P_ABS1].clone();
        let bit = lo[BIT].clone();
        let real = lo[REAL].clone();

        // The node on the path and its sibling, from a slot's inputs and the level bit.
        let cur = |row: &[AB::Expr], slot: usize, j: usize| {
            let (l, r) = (row[slot + j].clone(), row[slot + DIGEST_ELEMS + j].clone());
            l.clone() + row[BIT].clone() * (r - l)
        };
        let sib = |row: &[AB::Expr], slot: usize, j: usize| {
            let (l, r) = (row[slot + j].clone(), row[slot + DIGEST_ELEMS + j].clone());
            r.clone() + row[BIT].clone() * (l - r)
        };

        builder.assert_zero(level.clone() * bit.clone() * (one.clone() - bit.clone()));
        builder.assert_bool(real.clone());
        for j in 0..DIGEST_ELEMS {
            let out_old = lo[OLD + P2_OUT + j].clone();
            let out_new = lo[NEW + P2_OUT + j].clone();
            // Level rows: both paths share the sibling; leaves at row 0; chained
            // outputs; roots at the top.
            builder.assert_zero(level.clone() * (sib(&lo, OLD, j) - sib(&lo, NEW, j)));
            builder
                .assert_zero(per[P_LEAF].clone() * (cur(&lo, OLD, j) - lo[LEAF_OLD + j].clone()));
            builder
                .assert_zero(per[P_LEAF].clone() * (cur(&lo, NEW, j) - lo[LEAF_NEW + j].clone()));
            builder.assert_zero(per[P_CHAIN].clone() * (cur(&nx, OLD, j) - out_old.clone()));
            builder.assert_zero(per[P_CHAIN].clone() * (cur(&nx, NEW, j) - out_new.clone()));
            builder.assert_zero(per[P_TOP].clone() * (out_old.clone() - lo[ROOT + j].clone()));
            builder.assert_zero(per[P_TOP].clone() * (out_new.clone() - lo[NROOT + j].clone()));

            // Padding entries leave the leaf unchanged.
            builder.assert_zero(
                (one.clone() - real.clone())
                    * (lo[LEAF_OLD + j].clone() - lo[LEAF_NEW + j].clone()),
            );

            // Absorb rows: t1 = C(acc, leaf_old), t2 = C(t1, leaf_new) at row 62;
            // C(t2, index limbs) at row 63.
            builder.assert_zero(abs0.clone() * (lo[OLD + j].clone() - lo[ACC + j].clone()));
            builder.assert_zero(
                abs0.clone() * (lo[OLD + DIGEST_ELEMS + j].clone() - lo[LEAF_OLD + j].clone()),
            );
            builder.assert_zero(abs0.clone() * (lo[NEW + j].clone() - out_old.clone()));
            builder.assert_zero(
                abs0.clone() * (lo[NEW + DIGEST_ELEMS + j].clone() - lo[LEAF_NEW + j].clone()),
            );
            builder.assert_zero(abs0.clone() * (nx[OLD + j].clone() - out_new.clone()));
            let idx_in = if j < 3 {
                lo[IDX + j].clone()
            } else {
                AB::Expr::ZERO
            };
            builder.assert_zero(abs1.clone() * (lo[OLD + DIGEST_ELEMS + j].clone() - idx_in));
            builder.assert_zero(
                abs1.clone()
                    * (lo[ACC_OUT + j].clone()
                        - real.clone() * out_old.clone()
                        - (one.clone() - real.clone()) * lo[ACC + j].clone()),
            );
        }

        // Entry-constant columns, and the chaining between entries.
        let within = one.clone() - abs1.clone();
        for c in LEAF_OLD..IDX {
            builder.assert_zero(within.clone() * (nx[c].clone() - lo[c].clone()));
        }
        let boundary = builder.is_transition() * abs1.clone();
        for j in 0..DIGEST_ELEMS {
            builder.assert_zero(boundary.clone() * (nx[ROOT + j].clone() - lo[NROOT + j].clone()));
            builder.assert_zero(boundary.clone() * (nx[ACC + j].clone() - lo[ACC_OUT + j].clone()));
        }
        // Index limbs: running sums of weighted level bits, reset at each entry (the
        // wrap from the last row to the first is an entry boundary too).
        for k in 0..3 {
            builder.assert_zero(
                nx[IDX + k].clone()
                    - within.clone() * (lo[IDX + k].clone() + per[P_W + k].clone() * bit.clone()),
            );
        }

        let mut first = builder.when_first_row();
        for j in 0..DIGEST_ELEMS {
            first.assert_eq(lo[ROOT + j].clone(), pis[4 + j].clone());
            first.assert_zero(lo[ACC + j].clone());
        }
        let mut last = builder.when_last_row();
        for j in 0..DIGEST_ELEMS {
            last.assert_eq(lo[NROOT + j].clone(), pis[4 + DIGEST_ELEMS + j].clone());
            last.assert_eq(
                lo[ACC_OUT + j].clone(),
                pis[4 + 2 * DIGEST_ELEMS + j].clone(),
            );
        }
    }
}

/// One update as the AIR sees it: the leaf at `index` goes from `leaf_old` to
/// `leaf_new`; `siblings` is the path before the update.
#[derive(Clone, Debug)]
pub(crate) struct LeafUpdate {
    pub index: u64,
    pub leaf_old: Digest,
    pub leaf_new: Digest,
    pub siblings: Vec<Digest>,
    pub real: bool,
    /// The root after the update.
    pub root_after: Digest,
}

impl LeafUpdate {
    pub(crate) fn from_path(path: &MerklePath, leaf_new: Digest, real: bool) -> Self {
        Self {
            index: path.index,
            leaf_old: path.leaf,
            leaf_new,
            siblings: path.siblings.clone(),
            real,
            root_after: path.root_with_leaf(&leaf_new),
        }
    }
}

/// The accumulator step of one real entry: `C(C(C(acc, old), new), index limbs)`.
pub(crate) fn absorb(acc: &Digest, index: u64, leaf_old: &Digest, leaf_new: &Digest) -> Digest {
    let t1 = compress(acc, leaf_old);
    let t2 = compress(&t1, leaf_new);
    let mut idx = ZERO_DIGEST;
    idx[..3].copy_from_slice(&index_limbs(index));
    compress(&t2, &idx)
}

/// The diff digest over `(index, leaf_old, leaf_new)` of every entry, in order,
/// starting from the zero digest.
pub(crate) fn diff_digest(entries: impl IntoIterator<Item = (u64, Digest, Digest)>) -> Digest {
    entries
        .into_iter()
        .fold(ZERO_DIGEST, |acc, (i, o, n)| absorb(&acc, i, &o, &n))
}

/// Public values of the state AIR.
pub(crate) fn public_values(
    batch_index: u64,
    prev: &Digest,
    new: &Digest,
    digest: &Digest,
) -> Vec<F> {
    let mut pv = Vec::with_capacity(STATE_PUBLIC);
    pv.extend(u64_limbs16(batch_index));
    pv.extend_from_slice(prev);
    pv.extend_from_slice(new);
    pv.extend_from_slice(digest);
    pv
}

fn fill_perm(
    constants: &RoundConstants<F, WIDTH, HALF_FULL, PARTIAL>,
    dst: &mut [F],
    input: [F; WIDTH],
) -> Digest {
    debug_assert_eq!(dst.len(), P2_COLS);
    // SAFETY: `Poseidon2Cols<MaybeUninit<F>, ..>` is `#[repr(C)]` and consists of
    // exactly `P2_COLS` values of `MaybeUninit<F>`, which has the layout of `F`; `dst`
    // holds `P2_COLS` initialized `F`s, and the generator only writes `F` values.
    let cols: &mut P2Cols<MaybeUninit<F>> = unsafe {
        let (prefix, cols, suffix) = dst.align_to_mut::<P2Cols<MaybeUninit<F>>>();
        debug_assert!(prefix.is_empty() && suffix.is_empty() && cols.len() == 1);
        &mut cols[0]
    };
    p3_poseidon2_air::generate_trace_rows_for_perm::<
        F,
        GenericPoseidon2LinearLayersKoalaBear,
        WIDTH,
        SBOX_DEGREE,
        SBOX_REGISTERS,
        HALF_FULL,
        PARTIAL,
    >(cols, input, constants);
    let mut out = ZERO_DIGEST;
    out.copy_from_slice(&dst[P2_OUT..P2_OUT + DIGEST_ELEMS]);
    out
}

fn join(a: &Digest, b: &Digest) -> [F; WIDTH] {
    let mut s = [F::ZERO; WIDTH];
    s[..DIGEST_ELEMS].copy_from_slice(a);
    s[DIGEST_ELEMS..].copy_from_slice(b);
    s
}

/// Builds the trace for `updates` (already padded to a power of two), starting from
/// `prev_root`. Entry roots are recomputed here; callers check consistency first.
pub(crate) fn generate_trace(updates: &[LeafUpdate], prev_root: &Digest) -> RowMajorMatrix<F> {
    assert!(updates.len().is_power_of_two());
    // Sequential pass: per-entry roots and accumulators.
    let mut starts = Vec::with_capacity(updates.len());
    let (mut root, mut acc) = (*prev_root, ZERO_DIGEST);
    for u in updates {
        let nroot = u.root_after;
        let acc_out = if u.real {
            absorb(&acc, u.index, &u.leaf_old, &u.leaf_new)
        } else {
            acc
        };
        starts.push((root, nroot, acc, acc_out));
        root = nroot;
        acc = acc_out;
    }

    let constants = round_constants();
    let mut values = F::zero_vec(updates.len() * ROWS_PER_ENTRY * STATE_WIDTH);
    values
        .par_chunks_mut(ROWS_PER_ENTRY * STATE_WIDTH)
        .zip(updates.par_iter().zip(starts.par_iter()))
        .for_each(|(rows, (u, &(root, nroot, acc, acc_out)))| {
            let limbs = index_limbs(u.index);
            let (mut cur_old, mut cur_new) = (u.leaf_old, u.leaf_new);
            let mut idx = [F::ZERO; 3];
            let mut t2 = ZERO_DIGEST;
            for (r, row) in rows.chunks_mut(STATE_WIDTH).enumerate() {
                row[LEAF_OLD..LEAF_OLD + 8].copy_from_slice(&u.leaf_old);
                row[LEAF_NEW..LEAF_NEW + 8].copy_from_slice(&u.leaf_new);
                row[ROOT..ROOT + 8].copy_from_slice(&root);
                row[NROOT..NROOT + 8].copy_from_slice(&nroot);
                row[ACC..ACC + 8].copy_from_slice(&acc);
                row[ACC_OUT..ACC_OUT + 8].copy_from_slice(&acc_out);
                row[REAL] = if u.real { F::ONE } else { F::ZERO };
                row[IDX..IDX + 3].copy_from_slice(&idx);
                if r < TREE_DEPTH {
                    let b = (u.index >> r) & 1 == 1;
                    row[BIT] = if b { F::ONE } else { F::ZERO };
                    let s = &u.siblings[r];
                    let (in_old, in_new) = if b {
                        (join(s, &cur_old), join(s, &cur_new))
                    } else {
                        (join(&cur_old, s), join(&cur_new, s))
                    };
                    cur_old = fill_perm(&constants, &mut row[OLD..OLD + P2_COLS], in_old);
                    cur_new = fill_perm(&constants, &mut row[NEW..NEW + P2_COLS], in_new);
                    if b {
                        let limb = r / INDEX_LIMB_BITS;
                        idx[limb] += F::from_u64(1 << (r % INDEX_LIMB_BITS));
                    }
                } else if r == ABS0 {
                    let t1 = fill_perm(
                        &constants,
                        &mut row[OLD..OLD + P2_COLS],
                        join(&acc, &u.leaf_old),
                    );
                    t2 = fill_perm(
                        &constants,
                        &mut row[NEW..NEW + P2_COLS],
                        join(&t1, &u.leaf_new),
                    );
                } else {
                    let mut idx_d = ZERO_DIGEST;
                    idx_d[..3].copy_from_slice(&limbs);
                    let _acc =
                        fill_perm(&constants, &mut row[OLD..OLD + P2_COLS], join(&t2, &idx_d));
                    let _unused =
                        fill_perm(&constants, &mut row[NEW..NEW + P2_COLS], [F::ZERO; WIDTH]);
                }
            }
        });
    RowMajorMatrix::new(values, STATE_WIDTH)
}

#[cfg(test)]
mod tests {
    use alloy_primitives::{Address, U256};

    use super::*;
    use crate::commitment::{DiffEntry, StateCommitment, StateKey, StateValue, leaf_digest};

    #[test]
    fn trace_satisfies_constraints() {
        let mut state = StateCommitment::new();
        let key = |i: u8| StateKey::Storage(Address::repeat_byte(i), [i; 32].into());
        for i in 0..5u8 {
            state
                .set(key(i), Some(StateValue::Storage(U256::from(i) + U256::ONE)))
                .unwrap();
        }
        let prev = state.root();
        let diff: Vec<DiffEntry> = (3..7u8)
            .map(|i| DiffEntry {
                key: key(i),
                old: state.get(&key(i)).copied(),
                new: Some(StateValue::Storage(U256::from(100 + u32::from(i)))),
            })
            .collect();
        let paths = state.apply_diff(&diff).unwrap();
        let mut updates: Vec<LeafUpdate> = diff
            .iter()
            .zip(&paths)
            .map(|(e, p)| LeafUpdate::from_path(p, leaf_digest(&e.key, e.new.as_ref()), true))
            .collect();
        let tail = state.path_at(0);
        updates.resize(8, LeafUpdate::from_path(&tail, tail.leaf, false));
        let digest = diff_digest(
            updates
                .iter()
                .filter(|u| u.real)
                .map(|u| (u.index, u.leaf_old, u.leaf_new)),
        );
        let trace = generate_trace(&updates, &prev);
        let pv = public_values(7, &prev, &state.root(), &digest);
        p3_air::check_constraints(&StateAir::new(), &trace, &pv);

        // A leaf changed after the fact (as if the diff said another new value) no
        // longer satisfies the constraints.
        let result = std::panic::catch_unwind(|| {
            let mut bad = trace.clone();
            let c = 2 * ROWS_PER_ENTRY * STATE_WIDTH + LEAF_NEW;
            bad.values[c] += F::ONE;
            p3_air::check_constraints(&StateAir::new(), &bad, &pv);
        });
        assert!(
            result.is_err(),
            "a tampered new leaf must violate a constraint"
        );
        // A flipped index bit likewise.
        let result = std::panic::catch_unwind(|| {
            let mut bad = trace.clone();
            let c = (ROWS_PER_ENTRY + 5) * STATE_WIDTH + BIT;
            bad.values[c] = F::ONE - bad.values[c];
            p3_air::check_constraints(&StateAir::new(), &bad, &pv);
        });
        assert!(
            result.is_err(),
            "a flipped index bit must violate a constraint"
        );
    }
}
