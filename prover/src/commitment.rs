//! The Poseidon2 state commitment: a sparse Merkle tree of depth [`TREE_DEPTH`] over
//! accounts and storage slots, maintained by the node next to its MPT.
//!
//! # Encodings (field elements are KoalaBear, `p = 2^31 - 2^24 + 1`)
//!
//! Byte strings become 16-bit little-endian limbs, one element each
//! ([`crate::hash::bytes_to_limbs16`]); `U256` values are first written as 32
//! little-endian bytes, `u64` as four 16-bit limbs (low first); addresses (20 bytes),
//! storage slots and code hashes (32 bytes) are taken as the byte strings they are.
//!
//! - key elements: account `[1, address(10 limbs)]` (11 elements); storage slot
//!   `[2, address(10), slot(16)]` (27 elements).
//! - value elements: account `[1, balance(16), nonce(4), code_hash(16)]` (37 elements);
//!   storage `[2, value(16)]` (17 elements).
//! - `key_hash = hash_elems(key elements)`, `value_hash = hash_elems(value elements)`
//!   ([`crate::hash::hash_elems`]).
//! - leaf = `compress(key_hash, value_hash)`; an absent key (no account, or a storage
//!   slot holding zero) is the empty leaf, all eight elements zero.
//! - position: the 62-bit index `(h0 & (2^21-1)) | (h1 & (2^21-1)) << 21 |
//!   (h2 & (2^20-1)) << 42` where `h0, h1, h2` are the canonical values of
//!   `key_hash[0..3]`. Bit `l` of the index says whether the node at level `l` (0 =
//!   leaf) is a right child (1) or a left child (0).
//! - inner node = `compress(left, right)`; the empty subtree of height `l` is
//!   `E_0 = 0`, `E_{l+1} = compress(E_l, E_l)`.
//! - the root encodes to bytes32 by [`crate::hash::digest_to_b256`].
//!
//! Two keys whose 62-bit indices coincide cannot both be stored: [`StateCommitment::set`]
//! refuses the second with [`CommitmentError::IndexCollision`]. Finding such a pair by
//! grinding costs about 2^31 key hashes; see the README's limitations.
//!
//! # Storage layout
//! Leaves live in a `BTreeMap` by index; the hash of every subtree holding at least two
//! leaves is cached, and so is every one-leaf subtree whose parent holds two or more
//! (other one-leaf subtrees are rehashed along their chain of empty siblings when
//! needed). Memory is `O(keys)` (a few hundred bytes per key); an update costs
//! `TREE_DEPTH` compressions and `TREE_DEPTH` ordered-map range lookups.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use alloy_primitives::{Address, B256, U256};
use p3_field::{PrimeCharacteristicRing, PrimeField32};
use p3_maybe_rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::CommitmentError;
use crate::hash::{
    Digest, F, ZERO_DIGEST, bytes_to_limbs16, compress, digest_to_b256, hash_elems, u64_limbs16,
};

/// Depth of the sparse Merkle tree (levels of compression from leaf to root).
pub const TREE_DEPTH: usize = 62;

/// Bits of the index carried by each of the three index limbs (the last carries 20).
pub const INDEX_LIMB_BITS: usize = 21;

/// Size limit for [`StateCommitment::from_bytes`] input.
pub const MAX_SNAPSHOT_BYTES: usize = 1 << 30;

/// A key in the state commitment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StateKey {
    /// An account, by address.
    Account(Address),
    /// A storage slot of an account.
    Storage(Address, B256),
}

/// A value in the state commitment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StateValue {
    /// An account's balance, nonce and code hash.
    Account {
        /// Balance in wei.
        balance: U256,
        /// Nonce.
        nonce: u64,
        /// keccak-256 of the account's code.
        code_hash: B256,
    },
    /// A storage slot's value.
    Storage(U256),
}

/// One entry of a batch's state diff: `key` goes from `old` to `new` (`None` = absent).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffEntry {
    /// The key that changes.
    pub key: StateKey,
    /// Its value before the batch (`None` or a zero storage value: absent).
    pub old: Option<StateValue>,
    /// Its value after the batch (`None` or a zero storage value: absent).
    pub new: Option<StateValue>,
}

impl StateKey {
    /// The key's element string (see the module docs).
    pub fn elements(&self) -> Vec<F> {
        let mut out = Vec::with_capacity(27);
        match self {
            Self::Account(a) => {
                out.push(F::ONE);
                bytes_to_limbs16(a.as_slice(), &mut out);
            }
            Self::Storage(a, slot) => {
                out.push(F::TWO);
                bytes_to_limbs16(a.as_slice(), &mut out);
                bytes_to_limbs16(slot.as_slice(), &mut out);
            }
        }
        out
    }

    /// `hash_elems(self.elements())`.
    pub fn hash(&self) -> Digest {
        hash_elems(&self.elements())
    }

    /// The key's 62-bit leaf index (see the module docs).
    pub fn index(&self) -> u64 {
        index_of_hash(&self.hash())
    }
}

/// The leaf index of a key hash.
pub fn index_of_hash(h: &Digest) -> u64 {
    let m21 = (1u64 << 21) - 1;
    let m20 = (1u64 << 20) - 1;
    let h0 = u64::from(h[0].as_canonical_u32());
    let h1 = u64::from(h[1].as_canonical_u32());
    let h2 = u64::from(h[2].as_canonical_u32());
    (h0 & m21) | ((h1 & m21) << 21) | ((h2 & m20) << 42)
}

/// The index split into its three limbs of 21, 21 and 20 bits, as field elements.
pub fn index_limbs(index: u64) -> [F; 3] {
    let m21 = (1u64 << 21) - 1;
    [
        F::from_u64(index & m21),
        F::from_u64((index >> 21) & m21),
        F::from_u64(index >> 42),
    ]
}

impl StateValue {
    /// Whether this value is stored as the empty leaf (a zero storage slot).
    pub fn is_empty(&self) -> bool {
        matches!(self, Self::Storage(v) if v.is_zero())
    }

    /// The value's element string (see the module docs).
    pub fn elements(&self) -> Vec<F> {
        let mut out = Vec::with_capacity(37);
        match self {
            Self::Account {
                balance,
                nonce,
                code_hash,
            } => {
                out.push(F::ONE);
                bytes_to_limbs16(&balance.to_le_bytes::<32>(), &mut out);
                out.extend(u64_limbs16(*nonce));
                bytes_to_limbs16(code_hash.as_slice(), &mut out);
            }
            Self::Storage(v) => {
                out.push(F::TWO);
                bytes_to_limbs16(&v.to_le_bytes::<32>(), &mut out);
            }
        }
        out
    }

    fn matches_key(&self, key: &StateKey) -> bool {
        matches!(
            (self, key),
            (Self::Account { .. }, StateKey::Account(_))
                | (Self::Storage(_), StateKey::Storage(..))
        )
    }
}

/// The leaf digest of `key` holding `value` (the empty leaf when absent).
pub fn leaf_digest(key: &StateKey, value: Option<&StateValue>) -> Digest {
    leaf_digest_with_hash(&key.hash(), value)
}

fn leaf_digest_with_hash(key_hash: &Digest, value: Option<&StateValue>) -> Digest {
    match value {
        None => ZERO_DIGEST,
        Some(v) if v.is_empty() => ZERO_DIGEST,
        Some(v) => compress(key_hash, &hash_elems(&v.elements())),
    }
}

/// Hashes of the empty subtrees `E_0..=E_TREE_DEPTH`.
pub fn empty_hashes() -> &'static [Digest; TREE_DEPTH + 1] {
    static EMPTY: OnceLock<[Digest; TREE_DEPTH + 1]> = OnceLock::new();
    EMPTY.get_or_init(|| {
        let mut e = [ZERO_DIGEST; TREE_DEPTH + 1];
        for l in 0..TREE_DEPTH {
            e[l + 1] = compress(&e[l], &e[l]);
        }
        e
    })
}

/// A Merkle path: the leaf at `index` and its siblings from level 0 (the leaf's
/// sibling) up to level `TREE_DEPTH - 1` (a child of the root).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerklePath {
    /// Leaf index.
    pub index: u64,
    /// The leaf digest at `index`.
    pub leaf: Digest,
    /// Sibling digests, leaf level first; exactly [`TREE_DEPTH`] of them.
    pub siblings: Vec<Digest>,
}

impl MerklePath {
    /// The root obtained by hashing `leaf` up this path's siblings.
    pub fn root_with_leaf(&self, leaf: &Digest) -> Digest {
        let mut h = *leaf;
        for (l, s) in self.siblings.iter().enumerate() {
            h = if (self.index >> l) & 1 == 1 {
                compress(s, &h)
            } else {
                compress(&h, s)
            };
        }
        h
    }

    /// The root this path proves (its own leaf hashed up).
    pub fn root(&self) -> Digest {
        self.root_with_leaf(&self.leaf)
    }
}

#[derive(Clone, Debug)]
struct Leaf {
    key: StateKey,
    value: StateValue,
    digest: Digest,
}

/// The Poseidon2 sparse Merkle state commitment (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct StateCommitment {
    leaves: BTreeMap<u64, Leaf>,
    /// Hashes of subtrees with at least two leaves, keyed by `(height, index >> height)`.
    branches: HashMap<(u8, u64), Digest>,
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    version: u32,
    /// `(index, key, value, leaf digest)` per stored key.
    leaves: Vec<(u64, StateKey, StateValue, [u32; 8])>,
    /// The cached subtree hashes: `(height, prefix, digest)`.
    cache: Vec<(u8, u64, [u32; 8])>,
}

fn digest_words(d: &Digest) -> [u32; 8] {
    d.map(|e| e.as_canonical_u32())
}

fn words_digest(w: &[u32; 8]) -> Result<Digest, CommitmentError> {
    let mut out = ZERO_DIGEST;
    for (i, (o, x)) in out.iter_mut().zip(w).enumerate() {
        if *x >= F::ORDER_U32 {
            return Err(CommitmentError::NonCanonical { word: i, value: *x });
        }
        *o = F::from_u32(*x);
    }
    Ok(out)
}

impl StateCommitment {
    /// An empty commitment (root `E_TREE_DEPTH`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of non-empty keys.
    pub fn len(&self) -> usize {
        self.leaves.len()
    }

    /// Whether no key is stored.
    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    /// The current root digest.
    pub fn root(&self) -> Digest {
        self.subtree(TREE_DEPTH, 0)
    }

    /// The current root as bytes32 ([`crate::hash::digest_to_b256`]).
    pub fn root_b256(&self) -> B256 {
        digest_to_b256(&self.root())
    }

    /// The value stored for `key`, if any.
    pub fn get(&self, key: &StateKey) -> Option<&StateValue> {
        self.leaves
            .get(&key.index())
            .filter(|l| l.key == *key)
            .map(|l| &l.value)
    }

    fn count_in(&self, height: usize, prefix: u64) -> (usize, Option<(&u64, &Leaf)>) {
        let lo = prefix << height;
        let mut it = if height >= 64 {
            self.leaves.range(..)
        } else {
            self.leaves.range(lo..lo + (1u64 << height))
        };
        match (it.next(), it.next()) {
            (None, _) => (0, None),
            (Some(first), None) => (1, Some(first)),
            (Some(_), Some(_)) => (2, None),
        }
    }

    /// Hash of the subtree of height `height` whose leaves share `prefix`.
    fn subtree(&self, height: usize, prefix: u64) -> Digest {
        match self.count_in(height, prefix) {
            (0, _) => empty_hashes()[height],
            (1, Some((&index, leaf))) => {
                if let Some(h) = self.branches.get(&(height as u8, prefix)) {
                    return *h;
                }
                let mut h = leaf.digest;
                for l in 0..height {
                    h = if (index >> l) & 1 == 1 {
                        compress(&empty_hashes()[l], &h)
                    } else {
                        compress(&h, &empty_hashes()[l])
                    };
                }
                h
            }
            _ => *self
                .branches
                .get(&(height as u8, prefix))
                .expect("branch hashes are maintained for every subtree with two leaves"),
        }
    }

    /// The Merkle path of the leaf position `index`.
    pub fn path_at(&self, index: u64) -> MerklePath {
        let siblings = (0..TREE_DEPTH)
            .map(|l| self.subtree(l, (index >> l) ^ 1))
            .collect();
        let leaf = self.leaves.get(&index).map_or(ZERO_DIGEST, |l| l.digest);
        MerklePath {
            index,
            leaf,
            siblings,
        }
    }

    /// The Merkle path of `key`'s position.
    pub fn path(&self, key: &StateKey) -> MerklePath {
        self.path_at(key.index())
    }

    /// Sets `key` to `value` (`None`, or a zero storage value, deletes it) and updates
    /// the root. Errors when the value's kind does not match the key's, or when another
    /// key already occupies the same index.
    pub fn set(&mut self, key: StateKey, value: Option<StateValue>) -> Result<(), CommitmentError> {
        self.set_inner(key, value).map(|_| ())
    }

    /// [`Self::set`], returning the siblings of the key's path.
    fn set_inner(
        &mut self,
        key: StateKey,
        value: Option<StateValue>,
    ) -> Result<Vec<Digest>, CommitmentError> {
        let key_hash = key.hash();
        let index = index_of_hash(&key_hash);
        if let Some(v) = &value
            && !v.matches_key(&key)
        {
            return Err(CommitmentError::KindMismatch { key });
        }
        if let Some(existing) = self.leaves.get(&index)
            && existing.key != key
        {
            return Err(CommitmentError::IndexCollision {
                key,
                existing: existing.key,
                index,
            });
        }
        match value.filter(|v| !v.is_empty()) {
            None => {
                self.leaves.remove(&index);
            }
            Some(v) => {
                let digest = leaf_digest_with_hash(&key_hash, Some(&v));
                self.leaves.insert(
                    index,
                    Leaf {
                        key,
                        value: v,
                        digest,
                    },
                );
            }
        }
        Ok(self.rehash_path(index))
    }

    /// Recomputes the cached hashes on the path of `index`, bottom-up; returns the
    /// path's siblings (which an update at `index` does not change).
    ///
    /// Cached: every subtree with two or more leaves, and every one-leaf subtree whose
    /// parent has two or more (so a sibling is almost never rehashed along its chain of
    /// empty siblings). No entry goes stale: every node on the path is
    /// recomputed or removed here, and nodes off the path do not change.
    fn rehash_path(&mut self, index: u64) -> Vec<Digest> {
        let mut h = self.leaves.get(&index).map_or(ZERO_DIGEST, |l| l.digest);
        let mut siblings = Vec::with_capacity(TREE_DEPTH);
        let mut child_count = self.count_in(0, index).0;
        for height in 1..=TREE_DEPTH {
            let child = height - 1;
            let sib_prefix = (index >> child) ^ 1;
            let sib = self.subtree(child, sib_prefix);
            let parent_count = self.count_in(height, index >> height).0;
            if parent_count >= 2 && child_count == 1 {
                self.branches.insert((child as u8, index >> child), h);
            } else if child_count < 2 {
                self.branches.remove(&(child as u8, index >> child));
            }
            if parent_count >= 2 && self.count_in(child, sib_prefix).0 == 1 {
                self.branches.insert((child as u8, sib_prefix), sib);
            }
            h = if (index >> child) & 1 == 1 {
                compress(&sib, &h)
            } else {
                compress(&h, &sib)
            };
            siblings.push(sib);
            let key = (height as u8, index >> height);
            if parent_count >= 2 {
                self.branches.insert(key, h);
            } else {
                self.branches.remove(&key);
            }
            child_count = parent_count;
        }
        siblings
    }

    /// Applies a diff in order, checking that each entry's `old` value is the stored
    /// one. Returns, per entry, the Merkle path of its key before the entry was applied.
    /// On error nothing is changed, and the error names the entry.
    pub fn apply_diff(&mut self, diff: &[DiffEntry]) -> Result<Vec<MerklePath>, CommitmentError> {
        let mut paths = Vec::with_capacity(diff.len());
        for (i, e) in diff.iter().enumerate() {
            let stored = self.get(&e.key).copied().filter(|v| !v.is_empty());
            let claimed = e.old.filter(|v| !v.is_empty());
            let index = e.key.index();
            let leaf = self.leaves.get(&index).map_or(ZERO_DIGEST, |l| l.digest);
            let res = if stored != claimed {
                Err(CommitmentError::StaleOld {
                    entry: i,
                    key: e.key,
                    stored: Box::new(stored),
                    claimed: Box::new(claimed),
                })
            } else {
                self.set_inner(e.key, e.new)
                    .map(|siblings| MerklePath {
                        index,
                        leaf,
                        siblings,
                    })
                    .map_err(|err| CommitmentError::Entry {
                        entry: i,
                        source: Box::new(err),
                    })
            };
            match res {
                Ok(path) => paths.push(path),
                Err(err) => {
                    for prev in diff[..i].iter().rev() {
                        self.set(prev.key, prev.old)
                            .expect("undoing an entry that was just applied");
                    }
                    return Err(err);
                }
            }
        }
        Ok(paths)
    }

    /// Serializes the commitment (postcard): every stored key and value with its leaf
    /// index and digest, and the cached subtree hashes, so [`Self::from_bytes`]
    /// restores it without hashing.
    pub fn to_bytes(&self) -> Vec<u8> {
        let snap = Snapshot {
            version: 2,
            leaves: self
                .leaves
                .iter()
                .map(|(i, l)| (*i, l.key, l.value, digest_words(&l.digest)))
                .collect(),
            cache: self
                .branches
                .iter()
                .map(|((h, p), d)| (*h, *p, digest_words(d)))
                .collect(),
        };
        postcard::to_allocvec(&snap).expect("serializing to memory cannot fail")
    }

    /// Restores a commitment written by [`Self::to_bytes`] (at most
    /// [`MAX_SNAPSHOT_BYTES`]). The hashes are taken from the snapshot as written (the
    /// node's own disk); [`Self::verify_integrity`] rehashes everything to check them.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CommitmentError> {
        if bytes.len() > MAX_SNAPSHOT_BYTES {
            return Err(CommitmentError::SnapshotTooLarge {
                len: bytes.len(),
                max: MAX_SNAPSHOT_BYTES,
            });
        }
        let snap: Snapshot =
            postcard::from_bytes(bytes).map_err(|e| CommitmentError::Decode(e.to_string()))?;
        if snap.version != 2 {
            return Err(CommitmentError::Decode(format!(
                "unknown snapshot version {}",
                snap.version
            )));
        }
        let mut s = Self::new();
        for (index, key, value, digest) in snap.leaves {
            if !value.matches_key(&key) || index >> TREE_DEPTH != 0 {
                return Err(CommitmentError::Decode(format!("bad leaf {index:#x}")));
            }
            let digest = words_digest(&digest)?;
            s.leaves.insert(index, Leaf { key, value, digest });
        }
        for (height, prefix, digest) in snap.cache {
            if usize::from(height) > TREE_DEPTH {
                return Err(CommitmentError::Decode(format!(
                    "bad cache height {height}"
                )));
            }
            s.branches.insert((height, prefix), words_digest(&digest)?);
        }
        // Every subtree with two leaves must be cached, or `root`/`set` would fail.
        let mut check = vec![(TREE_DEPTH, 0u64)];
        while let Some((height, prefix)) = check.pop() {
            if s.count_in(height, prefix).0 >= 2 {
                if !s.branches.contains_key(&(height as u8, prefix)) {
                    return Err(CommitmentError::Decode(format!(
                        "snapshot misses the hash of subtree ({height}, {prefix:#x})"
                    )));
                }
                check.push((height - 1, prefix << 1));
                check.push((height - 1, (prefix << 1) | 1));
            }
        }
        Ok(s)
    }

    /// Recomputes every hash from the stored keys and values and compares the root
    /// (slow: about 100 compressions per key).
    pub fn verify_integrity(&self) -> bool {
        Self::from_entries(self.leaves.values().map(|l| (l.key, l.value)))
            .is_ok_and(|fresh| fresh.root() == self.root())
    }

    /// Builds a commitment holding `entries` (bulk: hashes each subtree once, in
    /// parallel).
    pub fn from_entries(
        entries: impl IntoIterator<Item = (StateKey, StateValue)>,
    ) -> Result<Self, CommitmentError> {
        let entries: Vec<(StateKey, StateValue)> = entries.into_iter().collect();
        for (key, value) in &entries {
            if !value.matches_key(key) {
                return Err(CommitmentError::KindMismatch { key: *key });
            }
        }
        let hashed: Vec<(u64, Leaf)> = entries
            .into_par_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(key, value)| {
                let key_hash = key.hash();
                let digest = leaf_digest_with_hash(&key_hash, Some(&value));
                (index_of_hash(&key_hash), Leaf { key, value, digest })
            })
            .collect();
        let mut s = Self::new();
        for (index, leaf) in hashed {
            if let Some(existing) = s.leaves.get(&index)
                && existing.key != leaf.key
            {
                return Err(CommitmentError::IndexCollision {
                    key: leaf.key,
                    existing: existing.key,
                    index,
                });
            }
            s.leaves.insert(index, leaf);
        }
        let sorted: Vec<(u64, Digest)> = s.leaves.iter().map(|(i, l)| (*i, l.digest)).collect();
        let (_root, cache) = build_subtree(TREE_DEPTH, &sorted);
        s.branches = cache.into_iter().collect();
        Ok(s)
    }
}

/// A cached subtree hash: `((height, prefix), digest)`.
type CacheEntry = ((u8, u64), Digest);

/// Hash of the subtree of height `height` holding `leaves` (sorted by index, all in
/// that subtree), and the cache entries below and at it (see
/// [`StateCommitment::rehash_path`]). Independent halves are hashed in parallel.
fn build_subtree(height: usize, leaves: &[(u64, Digest)]) -> (Digest, Vec<CacheEntry>) {
    match leaves {
        [] => (empty_hashes()[height], Vec::new()),
        [(index, leaf)] => {
            let mut h = *leaf;
            for l in 0..height {
                h = if (index >> l) & 1 == 1 {
                    compress(&empty_hashes()[l], &h)
                } else {
                    compress(&h, &empty_hashes()[l])
                };
            }
            (h, Vec::new())
        }
        _ => {
            let child = height - 1;
            let split = leaves.partition_point(|(i, _)| (i >> child) & 1 == 0);
            let (lo, hi) = leaves.split_at(split);
            let ((hl, mut cl), (hr, cr)) = if leaves.len() > 256 {
                p3_maybe_rayon::prelude::join(
                    || build_subtree(child, lo),
                    || build_subtree(child, hi),
                )
            } else {
                (build_subtree(child, lo), build_subtree(child, hi))
            };
            cl.extend(cr);
            let prefix = leaves[0].0 >> height;
            for (side, part, h) in [(0u64, lo, hl), (1, hi, hr)] {
                if part.len() == 1 {
                    cl.push(((child as u8, (prefix << 1) | side), h));
                }
            }
            let h = compress(&hl, &hr);
            cl.push(((height as u8, prefix), h));
            (h, cl)
        }
    }
}
