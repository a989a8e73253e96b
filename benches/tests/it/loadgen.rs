//! The load generator end to end against anvil (npm `@foundry-rs/anvil-linux-amd64`, pinned in
//! the root package.json): a short run must land everything and find the end state consistent.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use clap::Parser;
use lanes_benches::{
    loadgen::{self, Config},
    rpc::Rpc,
};

/// Kills anvil when the test ends, however it ends.
struct Anvil(Child);

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn anvil_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
}

async fn start_anvil() -> Option<(Anvil, String)> {
    let bin = anvil_bin();
    if !bin.exists() {
        eprintln!(
            "skipped: {} not found (run `npm ci` in the repository root)",
            bin.display()
        );
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(bin)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--block-time",
            "0.2",
            "--silent",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("anvil starts");
    let anvil = Anvil(child);
    let url = format!("http://127.0.0.1:{port}");
    let rpc = Rpc::new(&url, Duration::from_secs(2)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while rpc.chain_id().await.is_err() {
        assert!(Instant::now() < deadline, "anvil did not answer on {url}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Some((anvil, format!("127.0.0.1:{port}")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_run_lands_everything_and_checks_state() {
    let Some((_anvil, addr)) = start_anvil().await else {
        return;
    };
    let http = format!("http://{addr}");
    let ws = format!("ws://{addr}");
    let args = [
        "--txs",
        "400",
        "--rate",
        "2000",
        "--accounts",
        "8",
        "--mix",
        "both",
        "--timeout",
        "30",
    ];
    let config = Config::parse_from(
        ["lanes-loadgen", "--rpc", &http, "--ws", &ws]
            .iter()
            .chain(&args),
    );
    let report = loadgen::run(&config).await.unwrap();
    assert!(report.ok, "{report}");
    assert_eq!(
        (report.included, report.rejected, report.unsent),
        (400, 0, 0)
    );
    assert_eq!(report.inclusion_source, "newHeads");
    assert!(
        report.latency_ms.max > 0.0 && report.blocks.with_ours > 0,
        "{report}"
    );

    // Again with the same, now funded, accounts, polling, one request per transaction.
    let config = Config::parse_from(
        ["lanes-loadgen", "--rpc", &http, "--batch", "1"]
            .iter()
            .chain(&args),
    );
    let report = loadgen::run(&config).await.unwrap();
    assert!(report.ok, "{report}");
    assert_eq!(
        report.setup_txs, 1,
        "senders already funded; only a new token is deployed: {report}"
    );
    assert_eq!(report.inclusion_source, "poll");
}
