//! [`SortedMap`]: the map type of a [`StateDiff`](crate::StateDiff), a vector of entries sorted
//! by key.
//!
//! A block's diff is built once, in one go, and then only iterated in key order (storage
//! writes, the state trie, batch encoding) or looked up now and then. A sorted vector serves
//! that better than a `BTreeMap`: building it from a sorted sequence is a plain collect (a
//! `BTreeMap` moves every entry into freshly allocated nodes, one thread's work at the end of
//! every block; see the README's executor benchmark), its parts can be filled by several
//! threads, and iterating it walks contiguous memory.

use std::fmt;

/// A map kept as a vector of `(key, value)` entries in strictly increasing key order.
///
/// Iteration yields `(&K, &V)` in key order, like `BTreeMap`'s. Lookups are binary searches;
/// [`SortedMap::insert`] shifts the entries after the new one, so it is meant for small maps
/// (tests, hand-built diffs), while executors build diffs with [`FromIterator`] or
/// [`SortedMap::from_sorted`].
#[derive(Clone, PartialEq, Eq)]
pub struct SortedMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for SortedMap<K, V> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for SortedMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K, V> SortedMap<K, V> {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in key order.
    pub fn iter(&self) -> Iter<'_, K, V> {
        Iter {
            inner: self.entries.iter(),
        }
    }

    /// Keys in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator {
        self.entries.iter().map(|(k, _)| k)
    }

    /// Values in key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator {
        self.entries.iter().map(|(_, v)| v)
    }
}

impl<K: Ord, V> SortedMap<K, V> {
    /// An empty map.
    pub const fn new() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    /// A map of `entries`, which must already be in strictly increasing key order.
    ///
    /// # Panics
    /// If they are not (checked in one pass).
    pub fn from_sorted(entries: Vec<(K, V)>) -> Self {
        assert!(
            entries.windows(2).all(|pair| pair[0].0 < pair[1].0),
            "SortedMap::from_sorted: keys not strictly increasing"
        );
        Self { entries }
    }

    fn position(&self, key: &K) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.cmp(key))
    }

    /// The value of `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.position(key).ok().map(|at| &self.entries[at].1)
    }

    /// Whether `key` has an entry.
    pub fn contains_key(&self, key: &K) -> bool {
        self.position(key).is_ok()
    }

    /// Sets the value of `key`, returning the one it replaces.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.position(&key) {
            Ok(at) => Some(std::mem::replace(&mut self.entries[at].1, value)),
            Err(at) => {
                self.entries.insert(at, (key, value));
                None
            }
        }
    }

    /// Removes the entry of `key`, returning its value.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        self.position(key).ok().map(|at| self.entries.remove(at).1)
    }
}

/// Collects entries in any order; for a key given more than once, the last value wins (as
/// with `BTreeMap`).
impl<K: Ord, V> FromIterator<(K, V)> for SortedMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut entries: Vec<(K, V)> = iter.into_iter().collect();
        if entries.windows(2).all(|pair| pair[0].0 < pair[1].0) {
            return Self { entries };
        }
        // Stable, so equal keys keep their order and the last of each run is the one given
        // last.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(K, V)> = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            match out.last_mut() {
                Some(last) if last.0 == key => last.1 = value,
                _ => out.push((key, value)),
            }
        }
        Self { entries: out }
    }
}

/// Iterator over a [`SortedMap`]'s entries in key order.
#[derive(Debug, Clone)]
pub struct Iter<'a, K, V> {
    inner: std::slice::Iter<'a, (K, V)>,
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|(k, v)| (k, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<K, V> DoubleEndedIterator for Iter<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.inner.next_back().map(|(k, v)| (k, v))
    }
}

impl<K, V> ExactSizeIterator for Iter<'_, K, V> {}

impl<'a, K, V> IntoIterator for &'a SortedMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<K, V> IntoIterator for SortedMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Collecting, inserting, removing and looking up behave like `BTreeMap`, for keys in
        /// any order with repeats.
        #[test]
        fn behaves_like_btreemap(
            entries in proptest::collection::vec((0u8..40, any::<u16>()), 0..80),
            ops in proptest::collection::vec((any::<bool>(), 0u8..40, any::<u16>()), 0..40),
        ) {
            let mut map: SortedMap<u8, u16> = entries.iter().copied().collect();
            let mut reference: BTreeMap<u8, u16> = entries.iter().copied().collect();
            prop_assert!(map.iter().eq(reference.iter()));
            for (insert, key, value) in ops {
                if insert {
                    prop_assert_eq!(map.insert(key, value), reference.insert(key, value));
                } else {
                    prop_assert_eq!(map.remove(&key), reference.remove(&key));
                }
                prop_assert_eq!(map.get(&key), reference.get(&key));
                prop_assert_eq!(map.contains_key(&key), reference.contains_key(&key));
            }
            prop_assert_eq!(map.len(), reference.len());
            prop_assert!(map.keys().eq(reference.keys()));
            prop_assert!(map.values().eq(reference.values()));
            prop_assert!(map.into_iter().eq(reference.into_iter()));
        }
    }

    #[test]
    #[should_panic(expected = "not strictly increasing")]
    fn from_sorted_refuses_unsorted_input() {
        let _ = SortedMap::from_sorted(vec![(2, ()), (1, ())]);
    }

    #[test]
    #[should_panic(expected = "not strictly increasing")]
    fn from_sorted_refuses_repeated_keys() {
        let _ = SortedMap::from_sorted(vec![(1, ()), (1, ())]);
    }
}
