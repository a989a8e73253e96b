//! Polling filters (`eth_newFilter`, `eth_newBlockFilter`, `eth_newPendingTransactionFilter`,
//! `eth_getFilterChanges`, ...).
//!
//! Block and log filters keep a cursor (the next block to report), not a buffer: each poll
//! reads what was committed since, at most [`EthConfig::max_filter_changes`] hashes or
//! [`EthConfig::max_logs_per_response`] logs, and the next poll continues where it stopped, so
//! nothing is lost and memory does not grow with an idle client. Pending-transaction filters
//! hold a receiver of the backend's broadcast channel, which is bounded: a client that polls
//! less often than the channel turns over misses hashes, as with geth. Filters not polled for
//! [`EthConfig::filter_idle_timeout`] are removed; at most [`EthConfig::max_filters`] exist.

use std::{collections::HashMap, sync::Arc};

use alloy_primitives::B256;
use alloy_rpc_types_eth::{Filter, FilterBlockOption, FilterChanges, Log};
use jsonrpsee::core::async_trait;
use parking_lot::Mutex;
use tokio::{sync::broadcast, time::Instant};

use crate::{
    api::EthFilterApiServer,
    backend::EthBackend,
    config::EthConfig,
    error::{Result, RpcError},
    logs::{OnOverflow, collect_logs, get_logs, resolve_range_tag},
    state::EthState,
    types::{FilterIdParam, format_filter_id},
};

/// What a filter reports.
#[derive(Debug)]
enum FilterKind {
    /// Hashes of new blocks; `next` is the first block not yet reported.
    Blocks { next: u64 },
    /// New logs matching `filter`; `next` is the first block not yet scanned.
    Logs { filter: Box<Filter>, next: u64 },
    /// Hashes of transactions entering the pool.
    PendingTransactions { hashes: broadcast::Receiver<B256> },
}

#[derive(Debug)]
struct Entry {
    last_poll: Instant,
    kind: Arc<Mutex<FilterKind>>,
}

/// The installed filters of all clients.
#[derive(Debug)]
pub(crate) struct FilterManager {
    filters: Mutex<HashMap<u128, Entry>>,
    config: EthConfig,
}

impl FilterManager {
    pub(crate) fn new(config: EthConfig) -> Self {
        Self {
            filters: Mutex::new(HashMap::new()),
            config,
        }
    }

    /// `eth_newFilter`: reports logs of blocks committed from now on.
    pub(crate) fn install_log_filter(
        &self,
        backend: &dyn EthBackend,
        filter: Filter,
    ) -> Result<u128> {
        let next = backend.head_number().saturating_add(1);
        self.install(FilterKind::Logs {
            filter: Box::new(filter),
            next,
        })
    }

    /// `eth_newBlockFilter`: reports hashes of blocks committed from now on.
    pub(crate) fn install_block_filter(&self, backend: &dyn EthBackend) -> Result<u128> {
        self.install(FilterKind::Blocks {
            next: backend.head_number().saturating_add(1),
        })
    }

    /// `eth_newPendingTransactionFilter`: reports hashes of transactions entering the pool.
    pub(crate) fn install_pending_transaction_filter(
        &self,
        backend: &dyn EthBackend,
    ) -> Result<u128> {
        self.install(FilterKind::PendingTransactions {
            hashes: backend.subscribe_pending_transactions(),
        })
    }

    fn install(&self, kind: FilterKind) -> Result<u128> {
        let mut filters = self.filters.lock();
        if filters.len() >= self.config.max_filters {
            Self::evict_expired_locked(&mut filters, self.config.filter_idle_timeout);
            if filters.len() >= self.config.max_filters {
                return Err(RpcError::TooManyFilters {
                    max: self.config.max_filters,
                });
            }
        }
        // Random ids, so one client cannot guess (and poll or uninstall) another's filters.
        let id = loop {
            let id = rand::random::<u128>();
            if id != 0 && !filters.contains_key(&id) {
                break id;
            }
        };
        filters.insert(
            id,
            Entry {
                last_poll: Instant::now(),
                kind: Arc::new(Mutex::new(kind)),
            },
        );
        Ok(id)
    }

    /// `eth_uninstallFilter`: whether there was such a filter.
    pub(crate) fn uninstall(&self, id: Option<u128>) -> bool {
        id.is_some_and(|id| self.filters.lock().remove(&id).is_some())
    }

    /// Removes filters idle for longer than the timeout. Also run on a timer by the server.
    pub(crate) fn evict_expired(&self) -> usize {
        Self::evict_expired_locked(&mut self.filters.lock(), self.config.filter_idle_timeout)
    }

    fn evict_expired_locked(
        filters: &mut HashMap<u128, Entry>,
        timeout: std::time::Duration,
    ) -> usize {
        let before = filters.len();
        let now = Instant::now();
        filters.retain(|_, entry| now.saturating_duration_since(entry.last_poll) <= timeout);
        before - filters.len()
    }

    /// Number of installed filters.
    pub(crate) fn len(&self) -> usize {
        self.filters.lock().len()
    }

    /// Marks the filter polled and returns its state. Expired filters are gone even if the
    /// timer has not removed them yet.
    fn touch(&self, id: Option<u128>) -> Result<Arc<Mutex<FilterKind>>> {
        let id = id.ok_or(RpcError::FilterNotFound)?;
        let mut filters = self.filters.lock();
        let now = Instant::now();
        let entry = filters.get_mut(&id).ok_or(RpcError::FilterNotFound)?;
        if now.saturating_duration_since(entry.last_poll) > self.config.filter_idle_timeout {
            filters.remove(&id);
            return Err(RpcError::FilterNotFound);
        }
        entry.last_poll = now;
        Ok(Arc::clone(&entry.kind))
    }

    /// `eth_getFilterChanges`. Blocking: reads blocks and receipts.
    pub(crate) fn changes(
        &self,
        backend: &dyn EthBackend,
        id: Option<u128>,
    ) -> Result<FilterChanges> {
        let kind = self.touch(id)?;
        // Held while reading: two polls of one filter must not both report the same range.
        let mut kind = kind.lock();
        match &mut *kind {
            FilterKind::Blocks { next } => {
                let head = backend.head_number();
                let mut hashes = Vec::new();
                while *next <= head && hashes.len() < self.config.max_filter_changes {
                    if let Some(header) = backend.header_by_number(*next)? {
                        hashes.push(header.hash());
                    }
                    *next += 1;
                }
                Ok(FilterChanges::Hashes(hashes))
            }
            FilterKind::Logs { filter, next } => {
                let logs = self.poll_logs(backend, filter, next)?;
                Ok(FilterChanges::Logs(logs))
            }
            FilterKind::PendingTransactions { hashes } => {
                let mut out = Vec::new();
                while out.len() < self.config.max_filter_changes {
                    match hashes.try_recv() {
                        Ok(hash) => out.push(hash),
                        Err(broadcast::error::TryRecvError::Lagged(missed)) => {
                            tracing::debug!(
                                target: "lanes::rpc",
                                missed,
                                "pending transaction filter polled too slowly"
                            );
                        }
                        Err(
                            broadcast::error::TryRecvError::Empty
                            | broadcast::error::TryRecvError::Closed,
                        ) => break,
                    }
                }
                Ok(FilterChanges::Hashes(out))
            }
        }
    }

    /// New logs of a log filter since `next`, within the filter's own range, advancing `next`.
    fn poll_logs(
        &self,
        backend: &dyn EthBackend,
        filter: &Filter,
        next: &mut u64,
    ) -> Result<Vec<Log>> {
        let FilterBlockOption::Range {
            from_block,
            to_block,
        } = filter.block_option
        else {
            // A filter pinned to one block hash has no "new" logs; eth_getFilterLogs serves it.
            return Ok(Vec::new());
        };
        let marks = backend.marks();
        let head = marks.head;
        let from = from_block.map_or(*next, |tag| resolve_range_tag(tag, marks).max(*next));
        let to = to_block.map_or(head, |tag| resolve_range_tag(tag, marks).min(head));
        if from > to {
            // Nothing new yet, or the filter's range is behind us.
            return Ok(Vec::new());
        }
        let span = self.config.max_blocks_per_logs_query.saturating_sub(1);
        let to = to.min(from.saturating_add(span));
        let collected = collect_logs(
            backend,
            filter,
            from,
            to,
            self.config.max_logs_per_response,
            OnOverflow::StopAtBlock,
        )?;
        *next = collected.last_block + 1;
        Ok(collected.logs)
    }

    /// `eth_getFilterLogs`: every log matching a log filter, as `eth_getLogs` would return.
    pub(crate) fn logs(&self, backend: &dyn EthBackend, id: Option<u128>) -> Result<Vec<Log>> {
        let kind = self.touch(id)?;
        let filter = match &*kind.lock() {
            FilterKind::Logs { filter, .. } => filter.clone(),
            FilterKind::Blocks { .. } | FilterKind::PendingTransactions { .. } => {
                return Err(RpcError::FilterNotFound);
            }
        };
        get_logs(
            backend,
            &filter,
            self.config.max_blocks_per_logs_query,
            self.config.max_logs_per_response,
        )
    }
}

/// Implements [`EthFilterApiServer`].
#[derive(Debug, Clone)]
pub(crate) struct EthFilter {
    state: Arc<EthState>,
}

impl EthFilter {
    pub(crate) const fn new(state: Arc<EthState>) -> Self {
        Self { state }
    }
}

#[async_trait]
impl EthFilterApiServer for EthFilter {
    fn new_filter(&self, filter: Filter) -> Result<String> {
        let id = self
            .state
            .filters
            .install_log_filter(&*self.state.backend, filter)?;
        Ok(format_filter_id(id))
    }

    fn new_block_filter(&self) -> Result<String> {
        let id = self
            .state
            .filters
            .install_block_filter(&*self.state.backend)?;
        Ok(format_filter_id(id))
    }

    fn new_pending_transaction_filter(&self) -> Result<String> {
        let id = self
            .state
            .filters
            .install_pending_transaction_filter(&*self.state.backend)?;
        Ok(format_filter_id(id))
    }

    async fn filter_changes(&self, id: FilterIdParam) -> Result<FilterChanges> {
        self.state
            .blocking(move |s| s.filters.changes(&*s.backend, id.0))
            .await
    }

    async fn filter_logs(&self, id: FilterIdParam) -> Result<Vec<Log>> {
        self.state
            .blocking(move |s| s.filters.logs(&*s.backend, id.0))
            .await
    }

    fn uninstall_filter(&self, id: FilterIdParam) -> Result<bool> {
        Ok(self.state.filters.uninstall(id.0))
    }
}
