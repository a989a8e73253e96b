//! An in-memory Merkle-Patricia trie with cached node hashes, for incremental state roots.
//!
//! Only the paths an update touches lose their cached hash, so a block that changes `k` of `n`
//! keys rehashes O(k log n) nodes instead of rebuilding the trie. The root is the Ethereum
//! trie root (yellow paper, appendix D): tests check it against ethereum/tests `TrieTests` and
//! against alloy-trie's `HashBuilder`.

use alloy_primitives::{B256, keccak256};
use alloy_rlp::{EMPTY_STRING_CODE, Encodable, Header};

/// Root of the empty trie: `keccak256(rlp(""))`.
pub use alloy_trie::EMPTY_ROOT_HASH;

/// A node reference: the node's RLP if shorter than 32 bytes, else the RLP of its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
struct NodeRef {
    bytes: Vec<u8>,
}

#[derive(Clone, Debug, Default)]
enum Node {
    #[default]
    Empty,
    Leaf {
        path: Vec<u8>,
        value: Vec<u8>,
        cache: Option<NodeRef>,
    },
    Extension {
        path: Vec<u8>,
        child: Box<Node>,
        cache: Option<NodeRef>,
    },
    Branch {
        children: Box<[Node; 16]>,
        value: Option<Vec<u8>>,
        cache: Option<NodeRef>,
    },
}

/// Ethereum's Merkle-Patricia trie over arbitrary byte keys, kept in memory.
#[derive(Clone, Debug, Default)]
pub struct Trie {
    root: Node,
    len: usize,
}

fn nibbles(key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() * 2);
    for b in key {
        out.push(b >> 4);
        out.push(b & 0x0f);
    }
    out
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn concat(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(a.len() + b.len());
    v.extend_from_slice(a);
    v.extend_from_slice(b);
    v
}

/// Hex-prefix encoding (yellow paper, appendix C).
fn hex_prefix(path: &[u8], leaf: bool) -> Vec<u8> {
    let flag = if leaf { 2 } else { 0 };
    let mut out = Vec::with_capacity(path.len() / 2 + 1);
    if path.len() % 2 == 1 {
        out.push(((flag + 1) << 4) | path[0]);
        for pair in path[1..].chunks(2) {
            out.push((pair[0] << 4) | pair[1]);
        }
    } else {
        out.push(flag << 4);
        for pair in path.chunks(2) {
            out.push((pair[0] << 4) | pair[1]);
        }
    }
    out
}

fn empty_branch() -> Box<[Node; 16]> {
    Box::default()
}

fn encode_list(payload: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 4);
    Header {
        list: true,
        payload_length: payload.len(),
    }
    .encode(&mut out);
    out.extend_from_slice(&payload);
    out
}

fn node_ref(rlp: Vec<u8>) -> NodeRef {
    if rlp.len() < 32 {
        NodeRef { bytes: rlp }
    } else {
        let mut bytes = Vec::with_capacity(33);
        keccak256(&rlp).encode(&mut bytes);
        NodeRef { bytes }
    }
}

impl Node {
    fn is_empty(&self) -> bool {
        matches!(self, Node::Empty)
    }

    fn leaf(path: Vec<u8>, value: Vec<u8>) -> Node {
        Node::Leaf {
            path,
            value,
            cache: None,
        }
    }

    fn extension(path: Vec<u8>, child: Node) -> Node {
        if path.is_empty() {
            return child;
        }
        Node::Extension {
            path,
            child: Box::new(child),
            cache: None,
        }
    }

    /// Inserts `value` at `path`; returns whether a new key was added.
    fn insert(&mut self, path: &[u8], value: Vec<u8>) -> bool {
        match self {
            Node::Empty => {
                *self = Node::leaf(path.to_vec(), value);
                true
            }
            Node::Leaf {
                path: lp,
                value: lv,
                cache,
            } => {
                if lp.as_slice() == path {
                    *lv = value;
                    *cache = None;
                    return false;
                }
                let common = common_prefix(lp, path);
                let mut children = empty_branch();
                let mut branch_value = None;
                let old_path = std::mem::take(lp);
                let old_value = std::mem::take(lv);
                if old_path.len() == common {
                    branch_value = Some(old_value);
                } else {
                    children[old_path[common] as usize] =
                        Node::leaf(old_path[common + 1..].to_vec(), old_value);
                }
                if path.len() == common {
                    branch_value = Some(value);
                } else {
                    children[path[common] as usize] =
                        Node::leaf(path[common + 1..].to_vec(), value);
                }
                let branch = Node::Branch {
                    children,
                    value: branch_value,
                    cache: None,
                };
                *self = Node::extension(path[..common].to_vec(), branch);
                true
            }
            Node::Extension {
                path: ep,
                child,
                cache,
            } => {
                let common = common_prefix(ep, path);
                if common == ep.len() {
                    *cache = None;
                    return child.insert(&path[common..], value);
                }
                // Split the extension at the first differing nibble.
                let mut children = empty_branch();
                let old_child = std::mem::take(child.as_mut());
                let slot = ep[common] as usize;
                children[slot] = Node::extension(ep[common + 1..].to_vec(), old_child);
                let mut branch = Node::Branch {
                    children,
                    value: None,
                    cache: None,
                };
                branch.insert(&path[common..], value);
                *self = Node::extension(ep[..common].to_vec(), branch);
                true
            }
            Node::Branch {
                children,
                value: bv,
                cache,
            } => {
                *cache = None;
                match path.split_first() {
                    None => bv.replace(value).is_none(),
                    Some((first, rest)) => children[*first as usize].insert(rest, value),
                }
            }
        }
    }

    /// Removes the key at `path`; returns whether it was present.
    fn remove(&mut self, path: &[u8]) -> bool {
        let removed = match self {
            Node::Empty => false,
            Node::Leaf { path: lp, .. } => {
                if lp.as_slice() == path {
                    *self = Node::Empty;
                    return true;
                }
                false
            }
            Node::Extension {
                path: ep,
                child,
                cache,
            } => {
                if !path.starts_with(ep) {
                    return false;
                }
                let removed = child.remove(&path[ep.len()..]);
                if removed {
                    *cache = None;
                }
                removed
            }
            Node::Branch {
                children,
                value,
                cache,
            } => {
                let removed = match path.split_first() {
                    None => value.take().is_some(),
                    Some((first, rest)) => children[*first as usize].remove(rest),
                };
                if removed {
                    *cache = None;
                }
                removed
            }
        };
        if removed {
            self.normalize();
        }
        removed
    }

    /// Restores the canonical shape after a removal below this node.
    fn normalize(&mut self) {
        match self {
            Node::Extension { path, child, .. } => {
                let path = std::mem::take(path);
                let child = std::mem::take(child.as_mut());
                *self = match child {
                    Node::Empty => Node::Empty,
                    Node::Leaf {
                        path: cp, value, ..
                    } => Node::leaf(concat(&path, &cp), value),
                    Node::Extension {
                        path: cp, child, ..
                    } => Node::extension(concat(&path, &cp), *child),
                    branch @ Node::Branch { .. } => Node::extension(path, branch),
                };
            }
            Node::Branch {
                children, value, ..
            } => {
                let mut live = children.iter().enumerate().filter(|(_, c)| !c.is_empty());
                let first = live.next().map(|(i, _)| i);
                let more = live.next().is_some();
                match (first, more, value.is_some()) {
                    (None, _, false) => *self = Node::Empty,
                    (None, _, true) => {
                        *self = Node::leaf(Vec::new(), value.take().unwrap_or_default())
                    }
                    (Some(i), false, false) => {
                        let child = std::mem::take(&mut children[i]);
                        let nibble = [i as u8];
                        *self = match child {
                            Node::Leaf { path, value, .. } => {
                                Node::leaf(concat(&nibble, &path), value)
                            }
                            Node::Extension { path, child, .. } => {
                                Node::extension(concat(&nibble, &path), *child)
                            }
                            branch => Node::extension(nibble.to_vec(), branch),
                        };
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    /// This node's reference, computing and caching hashes of dirty nodes below it.
    /// `depth` lets the top of the trie hash its subtrees on several threads.
    fn reference(&mut self, depth: usize) -> NodeRef {
        match self {
            Node::Empty => NodeRef {
                bytes: vec![EMPTY_STRING_CODE],
            },
            Node::Leaf { path, value, cache } => cache
                .get_or_insert_with(|| {
                    let mut payload = Vec::with_capacity(path.len() / 2 + value.len() + 8);
                    hex_prefix(path, true).as_slice().encode(&mut payload);
                    value.as_slice().encode(&mut payload);
                    node_ref(encode_list(payload))
                })
                .clone(),
            Node::Extension { path, child, cache } => {
                if let Some(c) = cache {
                    return c.clone();
                }
                let child_ref = child.reference(depth + 1);
                let mut payload = Vec::with_capacity(child_ref.bytes.len() + path.len() / 2 + 4);
                hex_prefix(path, false).as_slice().encode(&mut payload);
                payload.extend_from_slice(&child_ref.bytes);
                cache.insert(node_ref(encode_list(payload))).clone()
            }
            Node::Branch {
                children,
                value,
                cache,
            } => {
                if let Some(c) = cache {
                    return c.clone();
                }
                let refs: Vec<NodeRef> = if depth < 2 {
                    use rayon::prelude::*;
                    children
                        .par_iter_mut()
                        .map(|c| c.reference(depth + 1))
                        .collect()
                } else {
                    children
                        .iter_mut()
                        .map(|c| c.reference(depth + 1))
                        .collect()
                };
                let mut payload = Vec::with_capacity(16 * 33 + 8);
                for r in &refs {
                    payload.extend_from_slice(&r.bytes);
                }
                match value {
                    Some(v) => v.as_slice().encode(&mut payload),
                    None => payload.push(EMPTY_STRING_CODE),
                }
                cache.insert(node_ref(encode_list(payload))).clone()
            }
        }
    }
}

impl Trie {
    /// An empty trie.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the trie holds no key.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Inserts or replaces `key`'s value. An empty value removes the key, as in Ethereum.
    pub fn insert(&mut self, key: &[u8], value: Vec<u8>) {
        if value.is_empty() {
            self.remove(key);
            return;
        }
        if self.root.insert(&nibbles(key), value) {
            self.len += 1;
        }
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &[u8]) {
        if self.root.remove(&nibbles(key)) {
            self.len -= 1;
        }
    }

    /// The root hash; rehashes only nodes changed since the last call.
    pub fn root(&mut self) -> B256 {
        match &mut self.root {
            Node::Empty => EMPTY_ROOT_HASH,
            root => {
                let r = root.reference(0);
                if r.bytes.len() == 33 {
                    B256::from_slice(&r.bytes[1..])
                } else {
                    // The root node's RLP is shorter than 32 bytes: hash it anyway.
                    keccak256(&r.bytes)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use alloy_primitives::{hex, keccak256};
    use alloy_trie::{HashBuilder, Nibbles};
    use proptest::prelude::*;

    use super::*;

    fn reference_root(entries: &BTreeMap<Vec<u8>, Vec<u8>>) -> B256 {
        let mut hb = HashBuilder::default();
        for (k, v) in entries {
            hb.add_leaf(Nibbles::unpack(k), v);
        }
        hb.root()
    }

    #[test]
    fn empty_root() {
        assert_eq!(Trie::new().root(), EMPTY_ROOT_HASH);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Fixed-length (hashed) keys, random inserts, updates and removals, with roots taken
        /// in between so cached hashes must be invalidated correctly.
        #[test]
        fn matches_hash_builder(ops in proptest::collection::vec((0u16..400, proptest::option::of(1u8..255), any::<bool>()), 1..300)) {
            let mut trie = Trie::new();
            let mut model = BTreeMap::new();
            for (k, v, take_root) in ops {
                let key = keccak256(k.to_be_bytes()).to_vec();
                match v {
                    Some(v) => {
                        let value = vec![v; (v % 40) as usize + 1];
                        trie.insert(&key, value.clone());
                        model.insert(key, value);
                    }
                    None => {
                        trie.remove(&key);
                        model.remove(&key);
                    }
                }
                if take_root {
                    prop_assert_eq!(trie.root(), reference_root(&model));
                }
            }
            prop_assert_eq!(trie.root(), reference_root(&model));
            prop_assert_eq!(trie.len(), model.len());
        }
    }

    fn decode_value(v: &serde_json::Value) -> Option<Vec<u8>> {
        let s = v.as_str()?;
        Some(match s.strip_prefix("0x") {
            Some(h) => hex::decode(h).expect("hex value"),
            None => s.as_bytes().to_vec(),
        })
    }

    fn decode_key(s: &str) -> Vec<u8> {
        match s.strip_prefix("0x") {
            Some(h) => hex::decode(h).expect("hex key"),
            None => s.as_bytes().to_vec(),
        }
    }

    fn trie_tests_dir() -> std::path::PathBuf {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/ethereum-tests/TrieTests");
        assert!(
            dir.is_dir(),
            "ethereum/tests TrieTests not found at {}",
            dir.display()
        );
        dir
    }

    /// ethereum/tests `trietest.json` / `trieanyorder.json` and their secure variants.
    #[test]
    fn ethereum_trie_tests() {
        let mut checked = 0;
        for (file, secure) in [
            ("trietest.json", false),
            ("trieanyorder.json", false),
            ("trietest_secureTrie.json", true),
            ("trieanyorder_secureTrie.json", true),
            ("hex_encoded_securetrie_test.json", true),
        ] {
            let path = trie_tests_dir().join(file);
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let cases: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&text).unwrap();
            for (name, case) in cases {
                let mut trie = Trie::new();
                let ops: Vec<(String, Option<Vec<u8>>)> = match &case["in"] {
                    serde_json::Value::Array(items) => items
                        .iter()
                        .map(|kv| (kv[0].as_str().unwrap().to_string(), decode_value(&kv[1])))
                        .collect(),
                    serde_json::Value::Object(map) => map
                        .iter()
                        .map(|(k, v)| (k.clone(), decode_value(v)))
                        .collect(),
                    other => panic!("{file}/{name}: unexpected input {other}"),
                };
                for (key, value) in ops {
                    let mut key = decode_key(&key);
                    if secure {
                        key = keccak256(&key).to_vec();
                    }
                    match value {
                        Some(v) => trie.insert(&key, v),
                        None => trie.remove(&key),
                    }
                }
                let expected: B256 = case["root"].as_str().unwrap().parse().unwrap();
                assert_eq!(trie.root(), expected, "{file}/{name}");
                checked += 1;
            }
        }
        assert!(checked > 20, "only {checked} trie test cases found");
    }
}
