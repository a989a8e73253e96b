//! Static hints that group transactions into lanes before execution.
//!
//! A lane is a run of transactions, in block order, that one worker executes one after
//! another, each seeing the writes of the earlier ones; lanes run in parallel. Grouping
//! transactions that would conflict into one lane turns a conflict (a wasted speculative run and
//! a re-execution) into a dependency the lane already honours. Hints only decide the grouping:
//! every result is validated against the committed state whatever lane produced it, and a wrong
//! hint costs parallelism, never correctness.
//!
//! Transactions share a lane when they share a *lane key*:
//! - the sender: one sender's transactions form a nonce chain;
//! - a storage key named in the EIP-2930 access lists of several transactions, or in one
//!   access list and the hot-key table;
//! - within a block, a key a transaction was found to conflict on in an earlier wave;
//! - a hot target: the contract a transaction calls, when recent blocks (or this block's
//!   first wave) showed that most calls to it write one contended key (an AMM pool's
//!   reserves, a counter). See [`HotKeys`], the bounded table the executor keeps across
//!   blocks.
//!
//! A lane joined through a hot target or hot key is a *hot lane*: its transactions are
//! expected to conflict with each other, so they are not run speculatively at all; the
//! committer executes them in block order, while the other threads run the rest.

use std::hash::BuildHasher;

use alloy_consensus::{Transaction, TxEnvelope, transaction::Recovered};
use alloy_primitives::{
    Address, U256,
    map::{AddressMap, FbBuildHasher, HashMap},
};
use hashbrown::HashTable;
use serde::Serialize;

use crate::{access::StateKey, prefetch::prefetch_field};

/// How many transactions ahead the planner prefetches the fields it reads.
const PREFETCH_AHEAD: usize = 8;
/// Score above which calls to a target are routed into one lane.
const ROUTE_SCORE: f64 = 0.25;
/// Score below which a target leaves the table.
const DROP_SCORE: f64 = 0.02;
/// Weight of the newest block in a target's score.
const NEW_WEIGHT: f64 = 0.5;

/// One entry of the [`HotKeys`] table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HotEntry {
    /// The contract transactions call (their `to`).
    pub target: Address,
    /// A contended key that calls to `target` write (the first one seen).
    pub key: StateKey,
    /// Exponentially decayed share of calls to `target` that depended on an earlier
    /// transaction of their block through a contended key, in `[0, 1]`.
    pub score: f64,
}

/// Keys written often by recent blocks' transactions, by the contract those transactions
/// called: a small bounded table the parallel executor updates after every block.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HotKeys {
    capacity: usize,
    entries: Vec<HotEntry>,
}

impl Default for HotKeys {
    fn default() -> Self {
        Self::new(64)
    }
}

/// What one block taught about a target.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TargetObservation {
    /// Transactions of the block that called the target.
    pub(crate) calls: usize,
    /// Of those, how many depended on an earlier one (conflicted, or read a lane
    /// predecessor's write).
    pub(crate) dependent: usize,
}

impl HotKeys {
    /// An empty table of at most `capacity` targets.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Vec::new(),
        }
    }

    /// The entries, highest score first.
    pub fn entries(&self) -> &[HotEntry] {
        &self.entries
    }

    /// Adds or replaces the entry of `target` (e.g. to seed the table with contracts known to
    /// be contended), evicting the lowest score beyond the capacity. Hints only decide how
    /// transactions are grouped; a wrong entry costs parallelism, never correctness.
    pub fn insert(&mut self, target: Address, key: StateKey, score: f64) {
        self.entries.retain(|e| e.target != target);
        self.entries.push(HotEntry {
            target,
            key,
            score: score.clamp(0.0, 1.0),
        });
        self.entries.sort_by(|a, b| b.score.total_cmp(&a.score));
        self.entries.truncate(self.capacity);
    }

    /// Targets whose calls are routed into one lane, with their key.
    pub(crate) fn routed(&self) -> impl Iterator<Item = &HotEntry> {
        self.entries.iter().filter(|e| e.score >= ROUTE_SCORE)
    }

    /// Folds in one block's observations: `observed` maps targets to what the block showed and
    /// to a contended key; targets not observed decay.
    pub(crate) fn update(&mut self, observed: &AddressMap<(TargetObservation, StateKey)>) {
        for entry in &mut self.entries {
            let share = observed.get(&entry.target).map_or(0.0, |(o, _)| share(o));
            entry.score = (1.0 - NEW_WEIGHT) * entry.score + NEW_WEIGHT * share;
        }
        for (target, (o, key)) in observed {
            if !self.entries.iter().any(|e| e.target == *target) && o.dependent > 0 {
                self.entries.push(HotEntry {
                    target: *target,
                    key: *key,
                    score: NEW_WEIGHT * share(o),
                });
            }
        }
        self.entries.retain(|e| e.score >= DROP_SCORE);
        self.entries.sort_by(|a, b| b.score.total_cmp(&a.score));
        self.entries.truncate(self.capacity);
    }
}

fn share(o: &TargetObservation) -> f64 {
    if o.calls == 0 {
        0.0
    } else {
        (o.dependent as f64 / o.calls as f64).min(1.0)
    }
}

/// A key, other than the sender, that puts transactions in one lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum LaneKey {
    /// A group of hot targets and keys, by index into the plan's groups.
    Group(usize),
    Slot(Address, U256),
}

/// Hot targets and keys usable while planning one block: the executor's table plus what the
/// block's own earlier waves showed.
#[derive(Debug, Default)]
pub(crate) struct BlockHints {
    targets: AddressMap<usize>,
    keys: HashMap<StateKey, usize>,
    /// The first key of each group.
    group_keys: Vec<StateKey>,
    /// Per transaction, the key it conflicted on in an earlier wave.
    conflicts: HashMap<usize, StateKey>,
}

impl BlockHints {
    pub(crate) fn new(table: &HotKeys) -> Self {
        let mut hints = Self::default();
        for entry in table.routed() {
            hints.add_hot(entry.target, entry.key);
        }
        hints
    }

    /// Routes calls to `target` and accesses of `key` into one lane.
    pub(crate) fn add_hot(&mut self, target: Address, key: StateKey) {
        let group = match (self.targets.get(&target), self.keys.get(&key)) {
            (Some(g), _) | (None, Some(g)) => *g,
            (None, None) => {
                self.group_keys.push(key);
                self.group_keys.len() - 1
            }
        };
        self.targets.entry(target).or_insert(group);
        self.keys.entry(key).or_insert(group);
    }

    /// Records that transaction `index` conflicted on `key`.
    pub(crate) fn add_conflict(&mut self, index: usize, key: StateKey) {
        self.conflicts.insert(index, key);
    }

    pub(crate) fn is_hot_target(&self, target: &Address) -> bool {
        self.targets.contains_key(target)
    }

    /// Whether [`plan_lanes`] may group transaction `index` (`tx`) with others for a reason
    /// other than its sender: it calls a hot target, it conflicted in an earlier wave, or it
    /// has an access list (whose slots may be shared).
    pub(crate) fn may_group(&self, index: usize, tx: &Recovered<TxEnvelope>) -> bool {
        tx.to().is_some_and(|to| self.is_hot_target(&to))
            || self.conflicts.contains_key(&index)
            || tx.access_list().is_some_and(|list| !list.is_empty())
    }

    /// The contended key calls to `target` are expected to write, if it is a hot target.
    pub(crate) fn hot_key(&self, target: Option<Address>) -> Option<StateKey> {
        target
            .and_then(|t| self.targets.get(&t))
            .map(|group| self.group_keys[*group])
    }
}

/// Union-find over transaction positions.
struct UnionFind {
    parent: Vec<u32>,
}

impl UnionFind {
    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grand = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grand;
            x = grand;
        }
        x
    }

    fn union(&mut self, a: u32, b: u32) {
        let (a, b) = (self.find(a), self.find(b));
        // The earlier transaction is the root, so a lane is named by its first transaction.
        if a < b {
            self.parent[b as usize] = a;
        } else if b < a {
            self.parent[a as usize] = b;
        }
    }
}

/// The first position of each sender among a wave's pending transactions, and of each account
/// a transaction conflicted on, so that transactions sharing one join its lane.
///
/// The table holds positions only, four bytes each, and compares addresses through the
/// transactions the positions point at: it stays in cache while the block's transactions are
/// scanned, where a map holding the addresses too (24 bytes an entry) spills out of it and
/// costs a cache miss per sender. Conflict accounts that no pending transaction sent from go
/// in a map of their own.
struct FirstSeen<'t> {
    txs: &'t [Recovered<TxEnvelope>],
    pending: &'t [usize],
    hasher: FbBuildHasher<20>,
    senders: HashTable<u32>,
    accounts: AddressMap<u32>,
}

impl<'t> FirstSeen<'t> {
    fn new(txs: &'t [Recovered<TxEnvelope>], pending: &'t [usize]) -> Self {
        Self {
            txs,
            pending,
            hasher: FbBuildHasher::default(),
            senders: HashTable::with_capacity(pending.len()),
            accounts: AddressMap::default(),
        }
    }

    fn get(&self, address: &Address, hash: u64) -> Option<u32> {
        let (txs, pending) = (self.txs, self.pending);
        self.senders
            .find(hash, |&pos| txs[pending[pos as usize]].signer() == *address)
            .or_else(|| self.accounts.get(address))
            .copied()
    }

    /// The first position seen of the sender of the transaction at `pos`, `pos` itself if
    /// it is the first.
    fn sender(&mut self, pos: u32) -> u32 {
        let (txs, pending, hasher) = (self.txs, self.pending, &self.hasher);
        let signer = |pos: u32| txs[pending[pos as usize]].signer();
        let address = signer(pos);
        let hash = hasher.hash_one(address);
        if let Some(&first) = self.senders.find(hash, |&other| signer(other) == address) {
            return first;
        }
        self.senders
            .insert_unique(hash, pos, |&other| hasher.hash_one(signer(other)));
        // Its first sighting may have been as a conflict account.
        self.accounts.get(&address).copied().unwrap_or(pos)
    }

    /// The first position seen of `account`, recording `pos` for it if there is none.
    fn account(&mut self, account: Address, pos: u32) -> Option<u32> {
        let first = self.get(&account, self.hasher.hash_one(account));
        if first.is_none() {
            self.accounts.insert(account, pos);
        }
        first
    }
}

/// The pending transactions of a wave, grouped.
#[derive(Debug, Default)]
pub(crate) struct LanePlan {
    /// Lanes of more than one transaction, each in block order, ordered by first transaction,
    /// one after another: lane `k` is `lanes[lane_ends[k - 1]..lane_ends[k]]`.
    pub(crate) lanes: Vec<usize>,
    /// Where each lane ends in `lanes`.
    pub(crate) lane_ends: Vec<usize>,
    /// Transactions that share no lane key with another, in block order.
    pub(crate) singles: Vec<usize>,
    /// Transactions grouped by a hot target or key, in block order: they are expected to
    /// conflict with each other, so they are not worth running speculatively.
    pub(crate) hot: Vec<usize>,
    /// Lane members left for the next wave by [`LanePlan::defer_distant`], in block order.
    pub(crate) deferred: Vec<usize>,
}

impl LanePlan {
    /// Cuts every lane at its first gap of more than `gap` block positions between two
    /// consecutive members where the later one is at position `from` or beyond, leaving the
    /// members from there on to the next wave, which executes on a state that holds the
    /// earlier ones' writes. The committer ends a wave at its first deferred transaction, so
    /// `from` (half-way through what is pending, say) keeps waves from getting short.
    ///
    /// A lane runs as one unit, so the result of a member far behind the lane's head waits
    /// for the committer to come to it while everything in between is executed and
    /// committed; thousands of such waiting results no longer fit in the caches, and
    /// committing them costs more than executing them again after a wave boundary. (An ERC-20
    /// block where every sender appears twice, 5,000 positions apart, is the example.) A lane
    /// that keeps only its head becomes a single transaction.
    pub(crate) fn defer_distant(&mut self, gap: usize, from: usize) {
        if self.lanes.is_empty() {
            return;
        }
        let mut lanes = Vec::with_capacity(self.lanes.len());
        let mut lane_ends = Vec::with_capacity(self.lane_ends.len());
        let mut new_singles = Vec::new();
        let mut start = 0;
        for &end in &self.lane_ends {
            let lane = &self.lanes[start..end];
            start = end;
            let cut = (1..lane.len())
                .find(|&i| lane[i] >= from && lane[i] - lane[i - 1] > gap)
                .unwrap_or(lane.len());
            match cut {
                1 => new_singles.push(lane[0]),
                _ => {
                    lanes.extend_from_slice(&lane[..cut]);
                    lane_ends.push(lanes.len());
                }
            }
            self.deferred.extend_from_slice(&lane[cut..]);
        }
        self.lanes = lanes;
        self.lane_ends = lane_ends;
        if !new_singles.is_empty() {
            self.singles.extend(new_singles);
            self.singles.sort_unstable();
        }
        self.deferred.sort_unstable();
    }
}

/// Groups `pending` (transaction indices in block order) into lanes.
pub(crate) fn plan_lanes(
    txs: &[Recovered<TxEnvelope>],
    pending: &[usize],
    hints: &BlockHints,
) -> LanePlan {
    let count = u32::try_from(pending.len()).expect("fewer than 2^32 transactions");
    let mut sets = UnionFind {
        parent: (0..count).collect(),
    };
    // Senders are the one key every transaction has: a table of their own.
    let mut senders = FirstSeen::new(txs, pending);
    let mut others: HashMap<LaneKey, u32> = HashMap::default();
    // Positions that joined a hot group; their whole lane is hot.
    let mut hot = vec![false; pending.len()];
    let mut join = |key: LaneKey, pos: u32, sets: &mut UnionFind| match others.get(&key) {
        Some(&other) => sets.union(other, pos),
        None => {
            others.insert(key, pos);
        }
    };
    // Positions of transactions with access lists, handled once the senders are.
    let mut with_lists: Vec<u32> = Vec::new();
    let hinted = !hints.targets.is_empty() || !hints.conflicts.is_empty();
    // The last transaction that called a hot target, and its position.
    let mut last_hot_call: Option<(Address, u32)> = None;
    for (pos, &index) in (0..count).zip(pending) {
        let tx = &txs[index];
        // The transactions are several hundred bytes apart: have the fields read here (the
        // signer, the envelope's kind) loaded a few transactions ahead.
        if let Some(&ahead) = pending.get(pos as usize + PREFETCH_AHEAD) {
            prefetch_field(txs[ahead].signer_ref());
            prefetch_field(txs[ahead].inner());
        }
        let first = senders.sender(pos);
        if first != pos {
            sets.union(first, pos);
        }
        if hinted {
            let to = tx.to();
            match last_hot_call {
                // Calls of one hot target mostly follow each other: joining the previous
                // one's lane is joining the target's group.
                Some((target, previous)) if to == Some(target) => {
                    hot[pos as usize] = true;
                    sets.union(previous, pos);
                    last_hot_call = Some((target, pos));
                }
                _ => {
                    last_hot_call = None;
                    if let Some(to) = to
                        && let Some(group) = hints.targets.get(&to)
                    {
                        hot[pos as usize] = true;
                        join(LaneKey::Group(*group), pos, &mut sets);
                        last_hot_call = Some((to, pos));
                    }
                }
            }
            if let Some(key) = hints.conflicts.get(&index) {
                match hints.keys.get(key) {
                    Some(group) => {
                        hot[pos as usize] = true;
                        join(LaneKey::Group(*group), pos, &mut sets);
                    }
                    // An account conflict: run after that account's own transactions.
                    None => match key {
                        StateKey::Account(a) => {
                            if let Some(other) = senders.account(*a, pos) {
                                sets.union(other, pos);
                            }
                        }
                        StateKey::Storage(a, s) => join(LaneKey::Slot(*a, *s), pos, &mut sets),
                    },
                }
            }
        }
        if tx.access_list().is_some_and(|list| !list.is_empty()) {
            with_lists.push(pos);
        }
    }
    // Lanes are sets, whatever order their members join in.
    let listed = || with_lists.iter().map(|&pos| pending[pos as usize]);
    let shared_slots = shared_access_list_slots(txs, listed(), hints);
    if !shared_slots.is_empty() {
        for (&pos, index) in with_lists.iter().zip(listed()) {
            let list = txs[index]
                .access_list()
                .into_iter()
                .flat_map(|list| list.iter());
            for item in list {
                for slot in &item.storage_keys {
                    let slot = U256::from_be_bytes(slot.0);
                    let key = StateKey::Storage(item.address, slot);
                    if let Some(group) = hints.keys.get(&key) {
                        hot[pos as usize] = true;
                        join(LaneKey::Group(*group), pos, &mut sets);
                    } else if shared_slots.contains_key(&key) {
                        join(LaneKey::Slot(item.address, slot), pos, &mut sets);
                    }
                }
            }
        }
    }
    let roots: Vec<u32> = (0..count).map(|pos| sets.find(pos)).collect();
    let mut sizes = vec![0u32; pending.len()];
    for (pos, root) in roots.iter().enumerate() {
        sizes[*root as usize] += 1;
        if hot[pos] {
            hot[*root as usize] = true;
        }
    }
    let mut plan = LanePlan::default();
    // Lanes are laid out one after another; a lane's root is its first transaction, so
    // placing each lane when its root comes up orders lanes by first transaction.
    let mut next_free = vec![0u32; pending.len()];
    let mut laid_out = 0;
    for (pos, &root) in roots.iter().enumerate() {
        if root as usize == pos && sizes[pos] > 1 && !hot[pos] {
            next_free[pos] = laid_out;
            laid_out += sizes[pos];
            plan.lane_ends.push(laid_out as usize);
        }
    }
    plan.lanes = vec![0; laid_out as usize];
    for (pos, &index) in pending.iter().enumerate() {
        let root = roots[pos] as usize;
        if hot[root] && sizes[root] > 1 {
            plan.hot.push(index);
        } else if sizes[root] == 1 {
            plan.singles.push(index);
        } else {
            plan.lanes[next_free[root] as usize] = index;
            next_free[root] += 1;
        }
    }
    plan
}

/// Storage keys that appear in the access lists of at least two pending transactions, or in
/// one and in the hot-key table.
fn shared_access_list_slots(
    txs: &[Recovered<TxEnvelope>],
    pending: impl Iterator<Item = usize>,
    hints: &BlockHints,
) -> HashMap<StateKey, usize> {
    let mut counts: HashMap<StateKey, usize> = HashMap::default();
    for index in pending {
        if let Some(list) = txs[index].access_list() {
            for item in list.iter() {
                for slot in &item.storage_keys {
                    let key = StateKey::Storage(item.address, U256::from_be_bytes(slot.0));
                    *counts.entry(key).or_default() += 1;
                }
            }
        }
    }
    counts.retain(|key, count| *count >= 2 || hints.keys.contains_key(key));
    counts
}

#[cfg(test)]
mod tests {
    use alloy_consensus::TxEip2930;
    use alloy_eips::eip2930::{AccessList, AccessListItem};
    use alloy_primitives::{B256, Bytes, TxKind, address};

    use super::*;
    use crate::workloads::{Signer, eip1559};

    #[test]
    fn distant_lane_members_are_deferred() {
        // Lanes: [0, 1, 2] (close), [3, 500, 501] (cut after 3), [4, 5, 900] (cut before 900).
        let mut plan = LanePlan {
            lanes: vec![0, 1, 2, 3, 500, 501, 4, 5, 900],
            lane_ends: vec![3, 6, 9],
            singles: vec![6, 7, 1000],
            hot: vec![8],
            deferred: Vec::new(),
        };
        plan.defer_distant(256, 0);
        assert_eq!(plan.lanes, vec![0, 1, 2, 4, 5]);
        assert_eq!(plan.lane_ends, vec![3, 5]);
        assert_eq!(plan.singles, vec![3, 6, 7, 1000]);
        assert_eq!(plan.hot, vec![8]);
        assert_eq!(plan.deferred, vec![500, 501, 900]);
        // Nothing is cut when members are close enough.
        let mut close = LanePlan {
            lanes: vec![0, 200, 400],
            lane_ends: vec![3],
            ..Default::default()
        };
        close.defer_distant(256, 0);
        assert_eq!(close.lanes, vec![0, 200, 400]);
        assert!(close.deferred.is_empty());
        // Nor before `from`: the first gap there is kept, the later one cut.
        let mut early = LanePlan {
            lanes: vec![0, 300, 700],
            lane_ends: vec![3],
            ..Default::default()
        };
        early.defer_distant(256, 500);
        assert_eq!(early.lanes, vec![0, 300]);
        assert_eq!(early.deferred, vec![700]);
    }

    fn call(from: &Signer, nonce: u64, to: Address) -> Recovered<TxEnvelope> {
        from.sign(eip1559(
            nonce,
            TxKind::Call(to),
            U256::ZERO,
            Bytes::new(),
            100_000,
        ))
    }

    fn with_access_list(from: &Signer, to: Address, slot: u64) -> Recovered<TxEnvelope> {
        from.sign_any(TxEip2930 {
            chain_id: crate::workloads::CHAIN_ID,
            nonce: 0,
            gas_price: 2_000_000_000,
            gas_limit: 100_000,
            to: TxKind::Call(to),
            value: U256::ZERO,
            access_list: AccessList(vec![AccessListItem {
                address: to,
                storage_keys: vec![B256::from(U256::from(slot))],
            }]),
            input: Bytes::new(),
        })
    }

    #[test]
    fn senders_access_lists_and_hot_targets_make_lanes() {
        let s = Signer::derive_many("lanes-hints-test", 6);
        let pool = address!("0x00000000000000000000000000000000000000aa");
        let other = address!("0x00000000000000000000000000000000000000bb");
        let txs = vec![
            call(&s[0], 0, other),             // 0: s0's chain
            call(&s[1], 0, pool),              // 1: hot target
            call(&s[0], 1, other),             // 2: s0's chain
            with_access_list(&s[2], other, 5), // 3: shares slot 5 with 4
            with_access_list(&s[3], other, 5), // 4
            call(&s[4], 0, pool),              // 5: hot target
            call(&s[5], 0, other),             // 6: alone
        ];
        let pending: Vec<usize> = (0..txs.len()).collect();

        let lanes = |plan: &LanePlan| -> Vec<Vec<usize>> {
            let mut start = 0;
            plan.lane_ends
                .iter()
                .map(|end| plan.lanes[std::mem::replace(&mut start, *end)..*end].to_vec())
                .collect()
        };
        let plan = plan_lanes(&txs, &pending, &BlockHints::default());
        assert_eq!(lanes(&plan), vec![vec![0, 2], vec![3, 4]]);
        assert_eq!(plan.singles, vec![1, 5, 6]);
        assert!(plan.hot.is_empty());

        let mut hints = BlockHints::default();
        hints.add_hot(pool, StateKey::Storage(pool, U256::ZERO));
        let plan = plan_lanes(&txs, &pending, &hints);
        assert_eq!(lanes(&plan), vec![vec![0, 2], vec![3, 4]]);
        assert_eq!(plan.singles, vec![6]);
        assert_eq!(plan.hot, vec![1, 5]);
        assert_eq!(
            hints.hot_key(Some(pool)),
            Some(StateKey::Storage(pool, U256::ZERO))
        );

        // A conflict on an account puts the transaction behind that account's sender.
        let mut hints = BlockHints::default();
        hints.add_conflict(6, StateKey::Account(s[1].address()));
        let plan = plan_lanes(&txs, &pending, &hints);
        assert_eq!(lanes(&plan), vec![vec![0, 2], vec![1, 6], vec![3, 4]]);
        // ...also when that sender's transaction comes later, and two conflicts on an
        // account nobody sends from share a lane.
        let mut hints = BlockHints::default();
        hints.add_conflict(1, StateKey::Account(s[5].address()));
        hints.add_conflict(2, StateKey::Account(other));
        hints.add_conflict(5, StateKey::Account(other));
        let plan = plan_lanes(&txs, &pending, &hints);
        assert_eq!(lanes(&plan), vec![vec![0, 2, 5], vec![1, 6], vec![3, 4]]);

        // Lanes are found among what is pending only, named by block position.
        let plan = plan_lanes(&txs, &[2, 3, 4, 6], &BlockHints::default());
        assert_eq!(lanes(&plan), vec![vec![3, 4]]);
        assert_eq!(plan.singles, vec![2, 6]);
        let plan = plan_lanes(&txs, &[0, 2, 5], &BlockHints::default());
        assert_eq!(lanes(&plan), vec![vec![0, 2]]);
        assert_eq!(plan.singles, vec![5]);
    }

    #[test]
    fn hot_keys_learn_decay_and_stay_bounded() {
        let key = |a: Address| StateKey::Storage(a, U256::ZERO);
        let target = |i: u8| Address::repeat_byte(i);
        let mut table = HotKeys::new(2);
        let observe =
            |entries: &[(u8, usize, usize)]| -> AddressMap<(TargetObservation, StateKey)> {
                entries
                    .iter()
                    .map(|(t, calls, dependent)| {
                        (
                            target(*t),
                            (
                                TargetObservation {
                                    calls: *calls,
                                    dependent: *dependent,
                                },
                                key(target(*t)),
                            ),
                        )
                    })
                    .collect()
            };
        // Every call depends on the previous one: routed at once.
        table.update(&observe(&[(1, 100, 100), (2, 100, 1), (3, 100, 0)]));
        assert_eq!(
            table.routed().map(|e| e.target).collect::<Vec<_>>(),
            vec![target(1)]
        );
        assert!(
            table.entries().iter().all(|e| e.target != target(3)),
            "no dependency, no entry"
        );
        // Blocks without calls decay it until it leaves the table.
        for _ in 0..8 {
            table.update(&observe(&[]));
        }
        assert!(table.entries().is_empty(), "{table:?}");
        // Bounded: the highest scores stay.
        table.update(&observe(&[(1, 10, 10), (2, 10, 5), (3, 10, 8)]));
        let targets: Vec<Address> = table.entries().iter().map(|e| e.target).collect();
        assert_eq!(targets, vec![target(1), target(3)]);
    }
}
