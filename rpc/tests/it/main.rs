//! Integration tests of `lanes-rpc` against an in-memory fixture backend.

mod errors;
mod filters;
mod fixture;
mod fuzz;
mod methods;
mod pubsub;
mod schema;
mod server;

use std::sync::Arc;

use fixture::Fixture;
use lanes_rpc::{EthConfig, RpcModule};
use serde_json::{Value, json};

/// The module over a fresh fixture chain.
pub(crate) struct Rpc {
    pub(crate) module: RpcModule<()>,
    pub(crate) fixture: Arc<Fixture>,
}

impl Rpc {
    pub(crate) fn new() -> Self {
        Self::with_config(&EthConfig::default())
    }

    pub(crate) fn with_config(config: &EthConfig) -> Self {
        let fixture = Fixture::new();
        let module = lanes_rpc::module_with_config(fixture.clone(), config);
        Self { module, fixture }
    }

    /// The whole response object of one call.
    pub(crate) async fn request(&self, method: &str, params: Value) -> Value {
        let request = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let (response, _notifications) = self
            .module
            .raw_json_request(&request.to_string(), 16)
            .await
            .unwrap();
        serde_json::from_str(response.get()).unwrap()
    }

    /// The result of a call that must succeed.
    pub(crate) async fn result(&self, method: &str, params: Value) -> Value {
        let response = self.request(method, params.clone()).await;
        assert!(
            response.get("error").is_none(),
            "{method}({params}) failed: {response}"
        );
        response["result"].clone()
    }

    /// The error object of a call that must fail.
    pub(crate) async fn error(&self, method: &str, params: Value) -> Value {
        let response = self.request(method, params.clone()).await;
        assert!(
            response.get("result").is_none(),
            "{method}({params}) succeeded: {response}"
        );
        response["error"].clone()
    }
}

/// `0x`-hex of a number, as JSON.
pub(crate) fn hex(n: u64) -> Value {
    json!(format!("{n:#x}"))
}
