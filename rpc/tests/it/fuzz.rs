//! Property tests: no input makes a method panic, and every call gets a JSON-RPC response.

use std::sync::{Arc, LazyLock};

use lanes_rpc::{RpcConfig, RpcHandle};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tokio::runtime::Runtime;

use crate::{Rpc, fixture::Fixture};

static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| Runtime::new().unwrap());

/// One module for all cases: state accumulates (filters, pool) as a long-lived node's would.
static RPC: LazyLock<Rpc> = LazyLock::new(|| RUNTIME.block_on(async { Rpc::new() }));

static SERVER: LazyLock<(RpcHandle, Arc<Fixture>)> = LazyLock::new(|| {
    RUNTIME.block_on(async {
        let fixture = Fixture::new();
        let config = RpcConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            ..RpcConfig::default()
        };
        (
            lanes_rpc::start(config, fixture.clone()).await.unwrap(),
            fixture,
        )
    })
});

/// Scalars that parsers of quantities, hashes, addresses and tags care about.
fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[a-z]{0,12}".prop_map(Value::String),
        "0x[0-9a-fA-F]{0,70}".prop_map(Value::String),
        prop_oneof![
            Just("latest"),
            Just("pending"),
            Just("earliest"),
            Just("safe"),
            Just("finalized"),
            Just("newHeads"),
            Just("logs"),
        ]
        .prop_map(|s| json!(s)),
        ".{0,20}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("to".to_owned()),
                        Just("from".to_owned()),
                        Just("data".to_owned()),
                        Just("gas".to_owned()),
                        Just("fromBlock".to_owned()),
                        Just("toBlock".to_owned()),
                        Just("blockHash".to_owned()),
                        Just("address".to_owned()),
                        Just("topics".to_owned()),
                        "[a-zA-Z]{1,8}",
                    ],
                    inner
                ),
                0..5
            )
            .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A JSON-RPC 2.0 response object: `jsonrpc`, an `id`, and exactly one of `result` and an
/// `error` with an integer code and a string message.
fn assert_response_object(response: &Value) -> Result<(), TestCaseError> {
    let object = response
        .as_object()
        .ok_or_else(|| TestCaseError::fail(format!("not an object: {response}")))?;
    prop_assert_eq!(object.get("jsonrpc"), Some(&json!("2.0")), "{}", response);
    prop_assert!(object.contains_key("id"), "{}", response);
    match (object.get("result"), object.get("error")) {
        (Some(_), None) => {}
        (None, Some(error)) => {
            prop_assert!(error["code"].is_i64(), "{}", response);
            prop_assert!(error["message"].is_string(), "{}", response);
        }
        _ => prop_assert!(false, "needs exactly one of result and error: {}", response),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    /// Any params to any served method (and some unknown ones).
    #[test]
    fn any_params_to_any_method(method_index in any::<prop::sample::Index>(), params in json_value()) {
        let rpc = &*RPC;
        let mut methods: Vec<&str> = rpc.module.method_names().collect();
        methods.extend(["eth_nope", "", "rpc_modules"]);
        methods.sort_unstable();
        let method = methods[method_index.index(methods.len())];
        let request = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let response = RUNTIME.block_on(async {
            let (response, _) = rpc.module.raw_json_request(&request.to_string(), 16).await.unwrap();
            serde_json::from_str::<Value>(response.get()).unwrap()
        });
        assert_response_object(&response)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, .. ProptestConfig::default() })]

    /// Any bytes, or any JSON, as an HTTP body: a response object (or a batch of them).
    #[test]
    fn any_http_body(body in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        (any::<prop::sample::Index>(), json_value()).prop_map(|(i, params)| {
            let methods = ["eth_getBalance", "eth_call", "eth_getLogs", "eth_feeHistory", "eth_newFilter"];
            json!({ "jsonrpc": "2.0", "id": 9, "method": methods[i.index(methods.len())], "params": params })
                .to_string()
                .into_bytes()
        }),
    ]) {
        let (server, _) = &*SERVER;
        let (status, text) = RUNTIME.block_on(async {
            let response = reqwest::Client::new()
                .post(server.http_url())
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            (response.status(), response.text().await.unwrap())
        });
        let request: Option<Value> = serde_json::from_slice(&body).ok();
        let is_notification = request
            .as_ref()
            .and_then(Value::as_object)
            .is_some_and(|o| o.contains_key("method") && !o.contains_key("id"));
        if is_notification {
            prop_assert!(text.is_empty() || serde_json::from_str::<Value>(&text).is_ok());
        } else {
            prop_assert!(status.is_success() || status.is_client_error(), "{}", status);
            let response: Value = serde_json::from_str(&text)
                .map_err(|e| TestCaseError::fail(format!("{status} non-JSON body {text:?}: {e}")))?;
            match &response {
                Value::Array(responses) => {
                    for response in responses {
                        assert_response_object(response)?;
                    }
                }
                single => assert_response_object(single)?,
            }
        }
    }
}
