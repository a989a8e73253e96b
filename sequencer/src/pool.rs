//! The transaction pool: per-sender nonce queues, pending (executable) and queued (waiting for
//! a nonce gap to close), ordered across senders by effective tip, with 10% replacement bumps,
//! per-sender and global caps, and revalidation after every block.

use std::{
    cmp::Ordering,
    collections::{BTreeMap, BinaryHeap, HashMap},
    sync::Arc,
};

use alloy_consensus::{Transaction, TxEnvelope, transaction::Recovered};
use alloy_primitives::{Address, B256, U256};
use parking_lot::RwLock;

/// Pool limits.
#[derive(Debug, Clone, Copy)]
pub struct PoolConfig {
    /// Most transactions one sender may have in the pool.
    pub max_per_sender: usize,
    /// Most transactions in the pool.
    pub max_total: usize,
    /// How far ahead of the sender's next nonce a transaction may be queued.
    pub max_nonce_gap: u64,
    /// Fee bump, in percent, a replacement must pay on both fee fields.
    pub price_bump_percent: u128,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_per_sender: 4096,
            max_total: 100_000,
            max_nonce_gap: 1024,
            price_bump_percent: 10,
        }
    }
}

/// Why the pool refused a transaction. Messages follow geth's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// The same transaction is already pooled.
    #[error("already known")]
    AlreadyKnown,
    /// The nonce was used already.
    #[error("nonce too low: next nonce {next}, tx nonce {got}")]
    NonceTooLow {
        /// Sender's next nonce.
        next: u64,
        /// Transaction nonce.
        got: u64,
    },
    /// The nonce is too far ahead.
    #[error("nonce too high: next nonce {next}, tx nonce {got}, max gap {max_gap}")]
    NonceGap {
        /// Sender's next nonce.
        next: u64,
        /// Transaction nonce.
        got: u64,
        /// Largest accepted gap.
        max_gap: u64,
    },
    /// The sender cannot pay.
    #[error(
        "insufficient funds for gas * price + value: address {sender} have {balance} want {cost}"
    )]
    InsufficientFunds {
        /// Sender.
        sender: Address,
        /// Sender's balance.
        balance: U256,
        /// gas limit * fee cap + value.
        cost: U256,
    },
    /// A replacement did not bump both fees by the required percentage.
    #[error("replacement transaction underpriced")]
    ReplacementUnderpriced,
    /// The sender has too many pooled transactions.
    #[error("txpool is full: sender {sender} already has {limit} transactions")]
    SenderFull {
        /// Sender.
        sender: Address,
        /// Limit.
        limit: usize,
    },
    /// The pool is full and the transaction pays less than the cheapest pooled one.
    #[error("txpool is full")]
    PoolFull,
}

impl PoolError {
    /// Metric label.
    pub fn reason(&self) -> &'static str {
        match self {
            PoolError::AlreadyKnown => "already_known",
            PoolError::NonceTooLow { .. } => "nonce_too_low",
            PoolError::NonceGap { .. } => "nonce_gap",
            PoolError::InsufficientFunds { .. } => "insufficient_funds",
            PoolError::ReplacementUnderpriced => "replacement_underpriced",
            PoolError::SenderFull { .. } => "sender_full",
            PoolError::PoolFull => "pool_full",
        }
    }
}

/// A pooled transaction with the fields ordering needs.
#[derive(Debug, Clone)]
pub struct PooledTx {
    /// The transaction and its sender.
    pub tx: Arc<Recovered<TxEnvelope>>,
    hash: B256,
    nonce: u64,
    max_fee: u128,
    max_tip: u128,
    cost: U256,
    /// Arrival order, to break ties first-come first-served.
    seq: u64,
}

impl PooledTx {
    fn new(tx: Recovered<TxEnvelope>, seq: u64) -> Self {
        let inner = tx.inner();
        let max_fee = inner.max_fee_per_gas();
        let max_tip = inner.max_priority_fee_per_gas().unwrap_or(max_fee);
        let cost = U256::from(inner.gas_limit()) * U256::from(max_fee) + inner.value();
        Self {
            hash: *inner.tx_hash(),
            nonce: inner.nonce(),
            max_fee,
            max_tip,
            cost,
            seq,
            tx: Arc::new(tx),
        }
    }

    /// Tip the block producer gets at `base_fee` (None if the fee cap is below it).
    fn effective_tip(&self, base_fee: u64) -> Option<u128> {
        self.max_fee
            .checked_sub(u128::from(base_fee))
            .map(|room| room.min(self.max_tip))
    }
}

#[derive(Debug, Default)]
struct SenderQueue {
    /// Next nonce according to committed state.
    state_nonce: u64,
    balance: U256,
    txs: BTreeMap<u64, PooledTx>,
}

impl SenderQueue {
    /// Number of transactions executable now (contiguous from the state nonce).
    fn pending_len(&self) -> usize {
        (self.state_nonce..)
            .zip(self.txs.keys())
            .take_while(|(want, have)| want == *have)
            .count()
    }
}

#[derive(Debug, Default)]
struct Inner {
    senders: HashMap<Address, SenderQueue>,
    by_hash: HashMap<B256, (Address, u64)>,
    seq: u64,
}

/// An account's committed nonce and balance, as the pool needs them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SenderState {
    /// Next nonce.
    pub nonce: u64,
    /// Balance.
    pub balance: U256,
}

/// The transaction pool. Cheap to share; all methods take `&self`.
#[derive(Debug, Default)]
pub struct Pool {
    config: PoolConfig,
    inner: RwLock<Inner>,
}

/// Outcome of [`Pool::add`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    /// Hash of the added transaction.
    pub hash: B256,
    /// Whether it is executable now.
    pub pending: bool,
    /// Hash of the transaction it replaced, if any.
    pub replaced: Option<B256>,
}

#[derive(PartialEq, Eq)]
struct HeapItem {
    tip: u128,
    seq: u64,
    sender: Address,
    nonce: u64,
}

impl Ord for HeapItem {
    fn cmp(&self, other: &Self) -> Ordering {
        // Highest tip first; among equal tips, the earliest arrival.
        self.tip
            .cmp(&other.tip)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

impl PartialOrd for HeapItem {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Pool {
    /// An empty pool.
    pub fn new(config: PoolConfig) -> Self {
        Self {
            config,
            inner: RwLock::default(),
        }
    }

    /// Adds a validated transaction. `state` gives the sender's committed nonce and balance;
    /// it is consulted only for senders the pool does not track yet.
    pub fn add(
        &self,
        tx: Recovered<TxEnvelope>,
        state: impl FnOnce(Address) -> SenderState,
    ) -> Result<Added, PoolError> {
        let sender = tx.signer();
        let hash = *tx.inner().tx_hash();
        let mut inner = self.inner.write();
        if inner.by_hash.contains_key(&hash) {
            return Err(PoolError::AlreadyKnown);
        }
        inner.seq += 1;
        let pooled = PooledTx::new(tx, inner.seq);
        let total = inner.by_hash.len();
        let Inner {
            senders, by_hash, ..
        } = &mut *inner;
        let queue = senders.entry(sender).or_insert_with(|| {
            let s = state(sender);
            SenderQueue {
                state_nonce: s.nonce,
                balance: s.balance,
                txs: BTreeMap::new(),
            }
        });
        let result = Self::admit(&self.config, sender, queue, &pooled, total);
        let replaced = match result {
            Ok(replaced) => replaced,
            Err(e) => {
                if queue.txs.is_empty() {
                    senders.remove(&sender);
                }
                return Err(e);
            }
        };
        if let Some(old) = &replaced {
            by_hash.remove(&old.hash);
        }
        let nonce = pooled.nonce;
        queue.txs.insert(nonce, pooled);
        by_hash.insert(hash, (sender, nonce));
        let pending = nonce < queue.state_nonce + queue.pending_len() as u64;
        if replaced.is_none() && inner.by_hash.len() > self.config.max_total {
            Self::evict_cheapest(&mut inner);
        }
        let still_there = inner.by_hash.contains_key(&hash);
        if !still_there {
            return Err(PoolError::PoolFull);
        }
        Ok(Added {
            hash,
            pending,
            replaced: replaced.map(|r| r.hash),
        })
    }

    fn admit(
        config: &PoolConfig,
        sender: Address,
        queue: &SenderQueue,
        tx: &PooledTx,
        total: usize,
    ) -> Result<Option<PooledTx>, PoolError> {
        if tx.nonce < queue.state_nonce {
            return Err(PoolError::NonceTooLow {
                next: queue.state_nonce,
                got: tx.nonce,
            });
        }
        if tx.nonce > queue.state_nonce + config.max_nonce_gap {
            return Err(PoolError::NonceGap {
                next: queue.state_nonce,
                got: tx.nonce,
                max_gap: config.max_nonce_gap,
            });
        }
        if tx.cost > queue.balance {
            return Err(PoolError::InsufficientFunds {
                sender,
                balance: queue.balance,
                cost: tx.cost,
            });
        }
        if let Some(existing) = queue.txs.get(&tx.nonce) {
            let bump = |old: u128| old.saturating_mul(100 + config.price_bump_percent) / 100;
            if tx.max_fee < bump(existing.max_fee) || tx.max_tip < bump(existing.max_tip) {
                return Err(PoolError::ReplacementUnderpriced);
            }
            return Ok(Some(existing.clone()));
        }
        if queue.txs.len() >= config.max_per_sender {
            return Err(PoolError::SenderFull {
                sender,
                limit: config.max_per_sender,
            });
        }
        if total >= config.max_total.saturating_mul(2) {
            // Far over the cap: refuse outright rather than churn.
            return Err(PoolError::PoolFull);
        }
        Ok(None)
    }

    /// Drops the transaction paying the lowest tip among the senders' last transactions (so no
    /// nonce gap opens in the middle of a queue).
    fn evict_cheapest(inner: &mut Inner) {
        let victim = inner
            .senders
            .iter()
            .filter_map(|(a, q)| {
                q.txs
                    .values()
                    .next_back()
                    .map(|t| (t.max_tip, std::cmp::Reverse(t.seq), *a, t.nonce))
            })
            .min();
        if let Some((_, _, sender, nonce)) = victim
            && let Some(queue) = inner.senders.get_mut(&sender)
        {
            if let Some(tx) = queue.txs.remove(&nonce) {
                inner.by_hash.remove(&tx.hash);
                metrics::counter!("lanes_txpool_evicted_total").increment(1);
            }
            if queue.txs.is_empty() {
                inner.senders.remove(&sender);
            }
        }
    }

    /// The best executable transactions for a block with `base_fee`, in the order they should
    /// be included, until their gas limits add up to `gas_limit` or `max_count` are taken.
    pub fn best(
        &self,
        base_fee: u64,
        gas_limit: u64,
        max_count: usize,
    ) -> Vec<Arc<Recovered<TxEnvelope>>> {
        let inner = self.inner.read();
        let mut heap = BinaryHeap::new();
        for (sender, queue) in &inner.senders {
            if let Some(tx) = queue.txs.get(&queue.state_nonce)
                && let Some(tip) = tx.effective_tip(base_fee)
            {
                heap.push(HeapItem {
                    tip,
                    seq: tx.seq,
                    sender: *sender,
                    nonce: tx.nonce,
                });
            }
        }
        let mut out = Vec::new();
        let mut gas = 0u64;
        while let Some(item) = heap.pop() {
            if out.len() >= max_count {
                break;
            }
            let queue = &inner.senders[&item.sender];
            let tx = &queue.txs[&item.nonce];
            let tx_gas = tx.tx.inner().gas_limit();
            if gas + tx_gas > gas_limit {
                // This sender's later nonces cannot go either; others may still fit.
                continue;
            }
            gas += tx_gas;
            out.push(tx.tx.clone());
            if let Some(next) = queue.txs.get(&(item.nonce + 1))
                && let Some(tip) = next.effective_tip(base_fee)
            {
                heap.push(HeapItem {
                    tip,
                    seq: next.seq,
                    sender: item.sender,
                    nonce: next.nonce,
                });
            }
        }
        out
    }

    /// Updates the pool after a block: new committed nonces and balances for the accounts the
    /// block changed, and transactions the block found invalid. Returns how many were dropped.
    pub fn on_block(&self, changed: &[(Address, SenderState)], invalid: &[B256]) -> usize {
        let mut inner = self.inner.write();
        let Inner {
            senders, by_hash, ..
        } = &mut *inner;
        let mut dropped = 0;
        for (address, state) in changed {
            let Some(queue) = senders.get_mut(address) else {
                continue;
            };
            queue.state_nonce = state.nonce;
            queue.balance = state.balance;
            let stale: Vec<u64> = queue.txs.range(..state.nonce).map(|(n, _)| *n).collect();
            for nonce in stale {
                if let Some(tx) = queue.txs.remove(&nonce) {
                    by_hash.remove(&tx.hash);
                }
            }
            let unaffordable: Vec<u64> = queue
                .txs
                .iter()
                .filter(|(_, t)| t.cost > state.balance)
                .map(|(n, _)| *n)
                .collect();
            for nonce in unaffordable {
                if let Some(tx) = queue.txs.remove(&nonce) {
                    by_hash.remove(&tx.hash);
                    dropped += 1;
                }
            }
            if queue.txs.is_empty() {
                senders.remove(address);
            }
        }
        for hash in invalid {
            if let Some((sender, nonce)) = by_hash.remove(hash) {
                if let Some(queue) = senders.get_mut(&sender) {
                    queue.txs.remove(&nonce);
                    if queue.txs.is_empty() {
                        senders.remove(&sender);
                    }
                }
                dropped += 1;
            }
        }
        dropped
    }

    /// The next nonce of `address` counting its executable pooled transactions, if the pool
    /// tracks the sender.
    pub fn pending_nonce(&self, address: Address) -> Option<u64> {
        let inner = self.inner.read();
        inner
            .senders
            .get(&address)
            .map(|q| q.state_nonce + q.pending_len() as u64)
    }

    /// A pooled transaction by hash.
    pub fn get(&self, hash: &B256) -> Option<Arc<Recovered<TxEnvelope>>> {
        let inner = self.inner.read();
        let (sender, nonce) = inner.by_hash.get(hash)?;
        inner
            .senders
            .get(sender)?
            .txs
            .get(nonce)
            .map(|t| t.tx.clone())
    }

    /// (pending, queued) counts.
    pub fn status(&self) -> (usize, usize) {
        let inner = self.inner.read();
        let pending: usize = inner.senders.values().map(SenderQueue::pending_len).sum();
        (pending, inner.by_hash.len() - pending)
    }

    /// Whether any transaction is executable now.
    pub fn has_pending(&self) -> bool {
        let inner = self.inner.read();
        inner
            .senders
            .values()
            .any(|q| q.txs.contains_key(&q.state_nonce))
    }

    /// Every pooled transaction, split into pending and queued per sender.
    #[allow(clippy::type_complexity)]
    pub fn content(
        &self,
    ) -> (
        BTreeMap<Address, BTreeMap<u64, Arc<Recovered<TxEnvelope>>>>,
        BTreeMap<Address, BTreeMap<u64, Arc<Recovered<TxEnvelope>>>>,
    ) {
        let inner = self.inner.read();
        let (mut pending, mut queued) = (BTreeMap::new(), BTreeMap::new());
        for (sender, queue) in &inner.senders {
            let executable = queue.state_nonce + queue.pending_len() as u64;
            for (nonce, tx) in &queue.txs {
                let side = if *nonce < executable {
                    &mut pending
                } else {
                    &mut queued
                };
                side.entry(*sender)
                    .or_insert_with(BTreeMap::new)
                    .insert(*nonce, tx.tx.clone());
            }
        }
        (pending, queued)
    }
}

#[cfg(test)]
mod tests {
    use alloy_consensus::{SignableTransaction, TxEip1559};
    use alloy_network::TxSignerSync;
    use alloy_primitives::{Bytes, TxKind};
    use alloy_signer_local::PrivateKeySigner;

    use super::*;

    fn tx(
        signer: &PrivateKeySigner,
        nonce: u64,
        max_fee: u128,
        tip: u128,
    ) -> Recovered<TxEnvelope> {
        let mut tx = TxEip1559 {
            chain_id: 1337,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: tip,
            to: TxKind::Call(Address::repeat_byte(9)),
            value: U256::ZERO,
            access_list: Default::default(),
            input: Bytes::new(),
        };
        let sig = signer.sign_transaction_sync(&mut tx).unwrap();
        Recovered::new_unchecked(TxEnvelope::from(tx.into_signed(sig)), signer.address())
    }

    fn rich(_: Address) -> SenderState {
        SenderState {
            nonce: 0,
            balance: U256::from(10u128.pow(20)),
        }
    }

    #[test]
    fn pending_queued_and_promotion() {
        let pool = Pool::new(PoolConfig::default());
        let s = PrivateKeySigner::random();
        assert!(!pool.add(tx(&s, 1, 100, 1), rich).unwrap().pending);
        assert_eq!(pool.status(), (0, 1));
        assert_eq!(pool.pending_nonce(s.address()), Some(0));
        assert!(pool.add(tx(&s, 0, 100, 1), rich).unwrap().pending);
        assert_eq!(pool.status(), (2, 0));
        assert_eq!(pool.pending_nonce(s.address()), Some(2));
        let best = pool.best(10, 1_000_000, 100);
        assert_eq!(
            best.iter().map(|t| t.inner().nonce()).collect::<Vec<_>>(),
            vec![0, 1]
        );
    }

    #[test]
    fn orders_by_effective_tip_across_senders() {
        let pool = Pool::new(PoolConfig::default());
        let (a, b) = (PrivateKeySigner::random(), PrivateKeySigner::random());
        pool.add(tx(&a, 0, 100, 1), rich).unwrap();
        pool.add(tx(&b, 0, 100, 5), rich).unwrap();
        let best = pool.best(10, 1_000_000, 100);
        assert_eq!(best[0].signer(), b.address());
        // With base fee 98 b's tip is capped at 2, still above a's 1.
        let best = pool.best(98, 1_000_000, 100);
        assert_eq!(best[0].signer(), b.address());
        // A fee cap below the base fee keeps the transaction out.
        assert!(pool.best(101, 1_000_000, 100).is_empty());
    }

    #[test]
    fn replacement_needs_ten_percent() {
        let pool = Pool::new(PoolConfig::default());
        let s = PrivateKeySigner::random();
        pool.add(tx(&s, 0, 100, 10), rich).unwrap();
        assert_eq!(
            pool.add(tx(&s, 0, 109, 11), rich).unwrap_err(),
            PoolError::ReplacementUnderpriced
        );
        assert_eq!(
            pool.add(tx(&s, 0, 110, 10), rich).unwrap_err(),
            PoolError::ReplacementUnderpriced
        );
        let added = pool.add(tx(&s, 0, 110, 11), rich).unwrap();
        assert!(added.replaced.is_some());
        assert_eq!(pool.status(), (1, 0));
    }

    #[test]
    fn rejects_low_nonce_gap_and_poor_senders() {
        let pool = Pool::new(PoolConfig {
            max_nonce_gap: 4,
            ..Default::default()
        });
        let s = PrivateKeySigner::random();
        let at5 = |_| SenderState {
            nonce: 5,
            balance: U256::from(10u128.pow(20)),
        };
        assert!(matches!(
            pool.add(tx(&s, 4, 100, 1), at5),
            Err(PoolError::NonceTooLow { next: 5, got: 4 })
        ));
        assert!(matches!(
            pool.add(tx(&s, 10, 100, 1), at5),
            Err(PoolError::NonceGap { .. })
        ));
        let poor = |_| SenderState {
            nonce: 0,
            balance: U256::from(1),
        };
        assert!(matches!(
            pool.add(tx(&s, 0, 100, 1), poor),
            Err(PoolError::InsufficientFunds { .. })
        ));
    }

    #[test]
    fn caps_evict_the_cheapest() {
        let pool = Pool::new(PoolConfig {
            max_total: 2,
            max_per_sender: 2,
            ..Default::default()
        });
        let (a, b, c) = (
            PrivateKeySigner::random(),
            PrivateKeySigner::random(),
            PrivateKeySigner::random(),
        );
        pool.add(tx(&a, 0, 100, 1), rich).unwrap();
        pool.add(tx(&b, 0, 100, 3), rich).unwrap();
        // Cheaper than everything: refused.
        assert_eq!(
            pool.add(tx(&c, 0, 100, 0), rich).unwrap_err(),
            PoolError::PoolFull
        );
        // Pays more than a: a is evicted.
        pool.add(tx(&c, 0, 100, 2), rich).unwrap();
        assert_eq!(pool.pending_nonce(a.address()), None);
        assert_eq!(pool.status(), (2, 0));
        // Pays more than b's only transaction: b is evicted, c keeps both.
        assert!(pool.add(tx(&c, 1, 100, 5), rich).unwrap().pending);
        assert_eq!(pool.pending_nonce(b.address()), None);
        assert_eq!(pool.pending_nonce(c.address()), Some(2));
    }

    #[test]
    fn revalidation_after_block() {
        let pool = Pool::new(PoolConfig::default());
        let s = PrivateKeySigner::random();
        for n in 0..3 {
            pool.add(tx(&s, n, 100, 1), rich).unwrap();
        }
        let dropped = pool.on_block(
            &[(
                s.address(),
                SenderState {
                    nonce: 2,
                    balance: U256::from(10u128.pow(20)),
                },
            )],
            &[],
        );
        assert_eq!(dropped, 0);
        assert_eq!(pool.status(), (1, 0));
        assert_eq!(pool.pending_nonce(s.address()), Some(3));
    }
}
