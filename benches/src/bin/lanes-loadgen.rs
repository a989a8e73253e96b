//! `lanes-loadgen`: sends pre-signed transactions to an Ethereum JSON-RPC node at a target rate
//! and reports throughput, latency and whether the end state is consistent. See `--help`.

use std::{io::IsTerminal, process::ExitCode};

use clap::Parser;
use lanes_benches::loadgen::{self, Config};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match loadgen::run(&config).await {
        Ok(report) => {
            if config.json {
                println!(
                    "{}",
                    serde_json::to_string(&report).expect("the report serializes")
                );
            } else {
                print!("{report}");
            }
            if report.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("lanes-loadgen: {e} (node at {})", config.rpc);
            ExitCode::from(2)
        }
    }
}
