//! A local L1 for tests and `lanes node --dev`: the pinned anvil binary from the npm package
//! `@foundry-rs/anvil-linux-amd64` (installed by `scripts/setup.sh`), started on a free
//! loopback port with `--silent` and killed when the [`Anvil`] is dropped.
//!
//! Accounts are anvil's defaults, derived from the public test mnemonic [`DEV_MNEMONIC`]:
//! their keys are known to everyone and must never hold value outside a local chain.

use crate::{Error, Result};
use alloy_provider::DynProvider;
use alloy_signer_local::{MnemonicBuilder, PrivateKeySigner, coins_bip39::English};
use std::{
    io::{Read, Write},
    net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// anvil's default mnemonic (public; dev only).
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";

/// anvil's default chain id.
pub const DEFAULT_CHAIN_ID: u64 = 31337;

/// Environment variable that overrides where the anvil binary is.
pub const ANVIL_PATH_ENV: &str = "LANES_ANVIL";

const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// The pinned anvil binary: `$LANES_ANVIL` if set, else
/// `<repo>/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil` (the repository root found
/// from this crate's manifest directory at build time).
pub fn anvil_path() -> PathBuf {
    if let Some(p) = std::env::var_os(ANVIL_PATH_ENV) {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
}

/// The dev signer for anvil account `index` (0..=9 are funded by default).
pub fn dev_signer(index: u32) -> Result<PrivateKeySigner> {
    MnemonicBuilder::<English>::default()
        .phrase(DEV_MNEMONIC)
        .index(index)
        .and_then(|b| b.build())
        .map_err(|e| Error::DevKey {
            index,
            reason: e.to_string(),
        })
}

/// Options for [`Anvil::spawn_with`].
#[derive(Debug, Clone, Default)]
pub struct AnvilConfig {
    /// Interval mining every this many seconds; `None` mines one block per transaction.
    pub block_time: Option<u64>,
    /// Chain id (default [`DEFAULT_CHAIN_ID`]).
    pub chain_id: Option<u64>,
    /// Hardfork name (`cancun`, `prague`, ...); default anvil's latest.
    pub hardfork: Option<String>,
    /// Further command-line arguments passed as they are.
    pub extra_args: Vec<String>,
    /// The binary to run instead of [`anvil_path`].
    pub binary: Option<PathBuf>,
}

/// A running anvil, killed on drop.
#[derive(Debug)]
pub struct Anvil {
    child: Child,
    port: u16,
    chain_id: u64,
}

impl Anvil {
    /// Starts anvil with default options.
    pub fn spawn() -> Result<Self> {
        Self::spawn_with(&AnvilConfig::default())
    }

    /// Starts anvil with `config` on a free loopback port and waits until it answers
    /// `eth_chainId`. Retries a few times if the port was taken in between.
    pub fn spawn_with(config: &AnvilConfig) -> Result<Self> {
        let path = config.binary.clone().unwrap_or_else(anvil_path);
        if !path.is_file() {
            return Err(Error::AnvilMissing { path });
        }
        let mut last = None;
        for _ in 0..3 {
            match Self::try_spawn(&path, config) {
                Ok(a) => return Ok(a),
                Err(e @ Error::AnvilNotReady { .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.expect("three attempts"))
    }

    fn try_spawn(path: &PathBuf, config: &AnvilConfig) -> Result<Self> {
        let port = free_port().map_err(|source| Error::AnvilSpawn {
            path: path.clone(),
            source,
        })?;
        let chain_id = config.chain_id.unwrap_or(DEFAULT_CHAIN_ID);
        let mut cmd = Command::new(path);
        cmd.args([
            "--silent",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .args(["--chain-id", &chain_id.to_string()])
        .args(["--mnemonic", DEV_MNEMONIC]);
        if let Some(t) = config.block_time {
            cmd.args(["--block-time", &t.to_string()]);
        }
        if let Some(h) = &config.hardfork {
            cmd.args(["--hardfork", h]);
        }
        cmd.args(&config.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let child = cmd.spawn().map_err(|source| Error::AnvilSpawn {
            path: path.clone(),
            source,
        })?;
        let mut anvil = Self {
            child,
            port,
            chain_id,
        };
        anvil.wait_ready()?;
        Ok(anvil)
    }

    fn wait_ready(&mut self) -> Result<()> {
        let start = Instant::now();
        let not_ready = |reason: String| Error::AnvilNotReady {
            port: self.port,
            waited: start.elapsed(),
            reason,
        };
        let mut reason = String::from("no answer");
        while start.elapsed() < READY_TIMEOUT {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    let _ = e.read_to_string(&mut stderr);
                }
                return Err(not_ready(format!(
                    "exited with {status}: {}",
                    stderr.trim()
                )));
            }
            match chain_id_over_http(self.port) {
                Ok(true) => {
                    // If our anvil could not bind the port, whoever answered is someone else:
                    // a failed bind exits at once, so look again after a moment.
                    std::thread::sleep(Duration::from_millis(100));
                    if let Ok(Some(status)) = self.child.try_wait() {
                        return Err(not_ready(format!("exited with {status} (port taken?)")));
                    }
                    return Ok(());
                }
                Ok(false) => reason = "unexpected eth_chainId answer".into(),
                Err(e) => reason = e.to_string(),
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(not_ready(reason))
    }

    /// The port anvil listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The HTTP JSON-RPC endpoint, `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// An HTTP provider that signs with dev account `index` (see [`dev_signer`] and
    /// [`crate::signing_provider`]).
    pub fn dev_provider(&self, index: u32) -> Result<DynProvider> {
        crate::signing_provider(&self.endpoint(), dev_signer(index)?)
    }

    /// The chain id anvil runs with.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> std::io::Result<u16> {
    let l = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
    Ok(l.local_addr()?.port())
}

/// One blocking `eth_chainId` over HTTP/1.0, so readiness needs no async runtime.
fn chain_id_over_http(port: u16) -> std::io::Result<bool> {
    let mut s = TcpStream::connect_timeout(
        &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        Duration::from_secs(1),
    )?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}"#;
    write!(
        s,
        "POST / HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut resp = Vec::new();
    s.take(64 * 1024).read_to_end(&mut resp)?;
    let text = String::from_utf8_lossy(&resp);
    Ok(text.starts_with("HTTP/1.") && text.contains("\"result\""))
}
