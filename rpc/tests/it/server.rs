//! The real server: HTTP and WebSocket on one port, CORS, batches, limits, metrics.

use std::{
    collections::HashMap,
    net::{Ipv4Addr, SocketAddr},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use jsonrpsee::{
    core::client::{ClientT, SubscriptionClientT},
    rpc_params,
    ws_client::WsClientBuilder,
};
use lanes_rpc::{RpcConfig, RpcHandle};
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use serde_json::{Value, json};

use crate::fixture::Fixture;

async fn serve(config: RpcConfig) -> (RpcHandle, Arc<Fixture>) {
    let fixture = Fixture::new();
    let config = RpcConfig {
        addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        ..config
    };
    let handle = lanes_rpc::start(config, fixture.clone()).await.unwrap();
    (handle, fixture)
}

async fn post(url: &str, body: String) -> (reqwest::StatusCode, String) {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn http_and_websocket_share_the_port() {
    let (server, fixture) = serve(RpcConfig::default()).await;
    let request = json!({ "jsonrpc": "2.0", "id": 7, "method": "eth_chainId", "params": [] });
    let (status, body) = post(&server.http_url(), request.to_string()).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({ "jsonrpc": "2.0", "id": 7, "result": "0x539" })
    );

    let client = WsClientBuilder::default()
        .build(server.ws_url())
        .await
        .unwrap();
    let number: String = client
        .request("eth_blockNumber", rpc_params![])
        .await
        .unwrap();
    assert_eq!(number, "0x2");
    let mut heads = client
        .subscribe::<Value, _>("eth_subscribe", rpc_params!["newHeads"], "eth_unsubscribe")
        .await
        .unwrap();
    let jsonrpsee::core::client::SubscriptionKind::Subscription(id) = heads.kind() else {
        panic!("not a subscription");
    };
    let id = serde_json::to_value(id).unwrap();
    let id = id.as_str().unwrap();
    assert!(
        id.starts_with("0x") && id.len() == 34,
        "geth-style id, got {id}"
    );

    fixture.mine(Vec::new());
    let head = tokio::time::timeout(Duration::from_secs(5), heads.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(head["number"], "0x3");
    heads.unsubscribe().await.unwrap();

    server.stop();
    server.stopped().await;
}

#[tokio::test]
async fn subscriptions_need_websocket() {
    let (server, _fixture) = serve(RpcConfig::default()).await;
    let request =
        json!({ "jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"] });
    let (_, body) = post(&server.http_url(), request.to_string()).await;
    let body: Value = serde_json::from_str(&body).unwrap();
    assert!(body.get("error").is_some(), "{body}");
}

#[tokio::test]
async fn cors_allows_any_origin() {
    let (server, _fixture) = serve(RpcConfig::default()).await;
    let client = reqwest::Client::new();
    let preflight = client
        .request(reqwest::Method::OPTIONS, server.http_url())
        .header("origin", "https://dapp.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");

    let request = json!({ "jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": [] });
    let response = client
        .post(server.http_url())
        .header("origin", "https://dapp.example")
        .header("content-type", "application/json")
        .body(request.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn batches_and_limits() {
    let config = RpcConfig {
        max_batch_size: 3,
        max_request_body_size: 4096,
        ..RpcConfig::default()
    };
    let (server, _fixture) = serve(config).await;
    let call = |id: u64, method: &str| json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": [] });

    let batch = json!([
        call(1, "eth_chainId"),
        call(2, "eth_blockNumber"),
        call(3, "eth_nope")
    ]);
    let (status, body) = post(&server.http_url(), batch.to_string()).await;
    assert_eq!(status, 200);
    let responses: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(responses.len(), 3);
    assert_eq!(responses[0]["result"], "0x539");
    assert_eq!(responses[2]["error"]["code"], -32601);

    let too_many = json!([
        call(1, "eth_chainId"),
        call(2, "eth_chainId"),
        call(3, "eth_chainId"),
        call(4, "eth_chainId")
    ]);
    let (_, body) = post(&server.http_url(), too_many.to_string()).await;
    let body: Value = serde_json::from_str(&body).unwrap();
    assert!(
        body["error"]["code"].is_i64(),
        "batch over the limit: {body}"
    );

    let big = json!({ "jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction", "params": [format!("0x{}", "00".repeat(4096))] });
    let (status, body) = post(&server.http_url(), big.to_string()).await;
    assert!(status == 413 || body.contains("-32007"), "{status}: {body}");
}

/// Counts `lanes_rpc_requests_total` by method label.
#[derive(Default)]
struct CountingRecorder {
    counters: Mutex<HashMap<String, Arc<AtomicU64>>>,
}

impl CountingRecorder {
    fn get(&self, method: &str) -> u64 {
        let counters = self.counters.lock().unwrap();
        counters
            .get(method)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }
}

impl Recorder for &'static CountingRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        if key.name() != lanes_rpc::REQUESTS_METRIC {
            return Counter::noop();
        }
        let method = key
            .labels()
            .find(|l| l.key() == "method")
            .map(|l| l.value().to_owned());
        let mut counters = self.counters.lock().unwrap();
        Counter::from_arc(
            counters
                .entry(method.unwrap_or_default())
                .or_default()
                .clone(),
        )
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

#[tokio::test]
async fn requests_are_counted_per_method() {
    let recorder: &'static CountingRecorder = Box::leak(Box::default());
    // The only test in this binary that installs a recorder.
    metrics::set_global_recorder(recorder).unwrap();
    let (server, _fixture) = serve(RpcConfig::default()).await;
    let call = |method: &str| json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": [] });
    for _ in 0..3 {
        post(&server.http_url(), call("eth_chainId").to_string()).await;
    }
    post(
        &server.http_url(),
        json!([call("eth_chainId"), call("eth_blockNumber")]).to_string(),
    )
    .await;
    post(&server.http_url(), call("eth_madeUp1").to_string()).await;
    post(&server.http_url(), call("eth_madeUp2").to_string()).await;
    assert_eq!(recorder.get("eth_chainId"), 4);
    assert_eq!(recorder.get("eth_blockNumber"), 1);
    // Made-up names share one label value: clients cannot mint metric series.
    assert_eq!(recorder.get("unknown"), 2);
    assert_eq!(recorder.get("eth_madeUp1"), 0);
}
