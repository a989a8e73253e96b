//! The HTTP + WebSocket server: limits, CORS, request metrics and logs, subscription ids.

use std::{
    collections::HashSet,
    future::Future,
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use jsonrpsee::{
    core::{
        middleware::{Batch, BatchEntry, Notification, RpcServiceBuilder, RpcServiceT},
        traits::IdProvider,
    },
    server::{BatchRequestConfig, Server, ServerConfig, ServerHandle},
    types::{Request, SubscriptionId},
};
use tower_http::cors::{Any, CorsLayer};

use crate::{
    RpcConfig,
    backend::EthBackend,
    build_module,
    error::{Result, RpcError},
};

/// Name of the request counter (label `method`; unknown methods count as `unknown`).
pub const REQUESTS_METRIC: &str = "lanes_rpc_requests_total";

/// A running server. Dropping it stops the server.
#[derive(Debug)]
pub struct RpcHandle {
    local_addr: SocketAddr,
    server: ServerHandle,
    filter_reaper: tokio::task::JoinHandle<()>,
}

impl RpcHandle {
    /// The address the server listens on (with the port chosen when the config said 0).
    pub const fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://<addr>`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// `ws://<addr>`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.local_addr)
    }

    /// Stops accepting connections and closes open ones; see [`Self::stopped`].
    pub fn stop(&self) {
        // Already stopped is fine.
        let _ = self.server.stop();
        self.filter_reaper.abort();
    }

    /// Resolves once the server has stopped.
    pub async fn stopped(self) {
        self.server.clone().stopped().await;
    }
}

impl Drop for RpcHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts the JSON-RPC server (HTTP and WebSocket on `config.addr`) over `backend`.
///
/// Must be called within a tokio runtime; the server runs on it until the handle is stopped or
/// dropped.
pub async fn start(config: RpcConfig, backend: Arc<dyn EthBackend>) -> Result<RpcHandle> {
    start_with(config, backend, jsonrpsee::Methods::new()).await
}

/// Like [`start`], with more methods served next to the standard ones (the node's `lanes_`
/// namespace). A name that clashes with a standard method is an error.
pub async fn start_with(
    config: RpcConfig,
    backend: Arc<dyn EthBackend>,
    extra: jsonrpsee::Methods,
) -> Result<RpcHandle> {
    let (mut module, state) = build_module(backend, &config.eth);
    module
        .merge(extra)
        .map_err(|e| RpcError::Internal(format!("extra JSON-RPC methods: {e}")))?;
    let known_methods: Arc<HashSet<&'static str>> = Arc::new(module.method_names().collect());

    let server_config = ServerConfig::builder()
        .max_request_body_size(config.max_request_body_size)
        .max_response_body_size(config.max_response_body_size)
        .max_connections(config.max_connections)
        .max_subscriptions_per_connection(config.max_subscriptions_per_connection)
        .set_batch_request_config(BatchRequestConfig::Limit(config.max_batch_size))
        .set_id_provider(HexSubscriptionIds)
        .build();
    // Browser dapps and wallets call the node from other origins; nothing here depends on
    // cookies or ambient credentials, so any origin may.
    let cors = config.cors_allow_any_origin.then(|| {
        CorsLayer::new()
            .allow_origin(Any)
            .allow_methods(Any)
            .allow_headers(Any)
    });
    let http_middleware = tower::ServiceBuilder::new().option_layer(cors);
    let rpc_middleware = RpcServiceBuilder::new().layer_fn(move |service| RequestMetrics {
        service,
        known_methods: known_methods.clone(),
    });

    let server = Server::builder()
        .set_config(server_config)
        .set_http_middleware(http_middleware)
        .set_rpc_middleware(rpc_middleware)
        .build(config.addr)
        .await
        .map_err(|source| RpcError::Bind {
            addr: config.addr,
            source,
        })?;
    let local_addr = server.local_addr().map_err(|source| RpcError::Bind {
        addr: config.addr,
        source,
    })?;
    let server = server.start(module);

    // Polling is what normally removes expired filters; this catches clients that vanished.
    let period = (config.eth.filter_idle_timeout / 4).max(Duration::from_secs(1));
    let filter_reaper = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        loop {
            ticks.tick().await;
            let removed = state.filters.evict_expired();
            if removed > 0 {
                tracing::debug!(target: "lanes::rpc", removed, "expired filters removed");
            }
        }
    });

    tracing::info!(
        target: "lanes::rpc",
        %local_addr,
        cors = config.cors_allow_any_origin,
        "JSON-RPC server listening (HTTP and WebSocket)"
    );
    Ok(RpcHandle {
        local_addr,
        server,
        filter_reaper,
    })
}

/// Subscription ids like geth's: `0x` and 32 hex digits.
#[derive(Debug, Clone, Copy)]
struct HexSubscriptionIds;

impl IdProvider for HexSubscriptionIds {
    fn next_id(&self) -> SubscriptionId<'static> {
        SubscriptionId::Str(format!("{:#034x}", rand::random::<u128>()).into())
    }
}

/// Counts requests per method ([`REQUESTS_METRIC`]) and logs each at debug level.
#[derive(Debug, Clone)]
struct RequestMetrics<S> {
    service: S,
    /// Registered method names: only these become label values, so a client cannot create
    /// unbounded metric series by calling made-up methods.
    known_methods: Arc<HashSet<&'static str>>,
}

impl<S> RequestMetrics<S> {
    fn count(&self, method: &str) -> &'static str {
        let label = self.known_methods.get(method).copied().unwrap_or("unknown");
        metrics::counter!(REQUESTS_METRIC, "method" => label).increment(1);
        label
    }
}

impl<S> RpcServiceT for RequestMetrics<S>
where
    S: RpcServiceT + Send + Sync + Clone + 'static,
{
    type MethodResponse = S::MethodResponse;
    type NotificationResponse = S::NotificationResponse;
    type BatchResponse = S::BatchResponse;

    fn call<'a>(
        &self,
        request: Request<'a>,
    ) -> impl Future<Output = Self::MethodResponse> + Send + 'a {
        let method = self.count(request.method_name());
        let started = Instant::now();
        let response = self.service.call(request);
        async move {
            let response = response.await;
            tracing::debug!(target: "lanes::rpc", method, elapsed = ?started.elapsed(), "request");
            response
        }
    }

    fn batch<'a>(&self, batch: Batch<'a>) -> impl Future<Output = Self::BatchResponse> + Send + 'a {
        // The inner service runs batch entries itself, without coming back through `call`.
        for entry in batch.iter().flatten() {
            match entry {
                BatchEntry::Call(request) => self.count(request.method_name()),
                BatchEntry::Notification(notification) => self.count(notification.method_name()),
            };
        }
        self.service.batch(batch)
    }

    fn notification<'a>(
        &self,
        notification: Notification<'a>,
    ) -> impl Future<Output = Self::NotificationResponse> + Send + 'a {
        self.count(notification.method_name());
        self.service.notification(notification)
    }
}
