//! The dev L1: the pinned anvil, started by `lanes node --dev` when no `--l1-rpc` is given.
//!
//! Its state lives in `<datadir>/l1/anvil-state.json` (anvil `--state`, dumped every second
//! and on exit), so a restarted dev node finds the same L1 with its contracts and batches. If
//! the dump is older than what the batcher posted (the node was killed between dumps), the
//! batcher re-posts the missing batches; if the contracts are gone altogether the node deploys
//! them again and re-posts everything (see [`crate::l1`]).

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use eyre::{WrapErr, eyre};

use super::client::L1Client;

/// anvil's chain id for the dev L1.
pub const DEV_L1_CHAIN_ID: u64 = 31337;

/// A running anvil, killed when dropped.
#[derive(Debug)]
pub struct Anvil {
    child: Child,
    url: String,
}

impl Anvil {
    /// The JSON-RPC URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        // SIGTERM to the watchdog stops anvil, which dumps its state; then reap it.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Finds the anvil binary: `$LANES_ANVIL`, the pinned npm package under the current directory
/// or next to the executable's repository, then `anvil` on `PATH`.
pub fn find_anvil(explicit: Option<&Path>) -> eyre::Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Ok(p) = std::env::var("LANES_ANVIL") {
        return Ok(PathBuf::from(p));
    }
    let rel = "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil";
    let mut roots = vec![std::env::current_dir().unwrap_or_default()];
    if let Ok(exe) = std::env::current_exe() {
        roots.extend(exe.ancestors().skip(1).map(Path::to_path_buf));
    }
    for root in roots {
        let candidate = root.join(rel);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join("anvil");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(eyre!(
        "no anvil found for the dev L1: run scripts/setup.sh (npm ci installs the pinned anvil), \
         set LANES_ANVIL, pass --l1-rpc URL, or run without settlement with --no-l1"
    ))
}

/// Starts anvil on a free port with its state file in `dir`, and waits until it answers.
pub async fn start(bin: &Path, dir: &Path) -> eyre::Result<Anvil> {
    std::fs::create_dir_all(dir).wrap_err_with(|| format!("cannot create {}", dir.display()))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .wrap_err("cannot find a free port for anvil")?
        .port();
    let state = dir.join("anvil-state.json");
    let log = std::fs::File::create(dir.join("anvil.log"))
        .wrap_err_with(|| format!("cannot create {}", dir.join("anvil.log").display()))?;
    // A small bash watchdog owns anvil: it stops anvil (SIGTERM, so the state is dumped) when
    // this process goes away, even by SIGKILL, and when it is told to stop itself.
    let watchdog = r#"parent=$1; shift; "$@" & child=$!
trap 'kill -TERM $child 2>/dev/null; wait $child; exit 0' TERM INT
while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 0.3; done
kill -TERM $child 2>/dev/null; wait $child"#;
    let child = Command::new("bash")
        .args(["-c", watchdog, "lanes-anvil-watchdog"])
        .arg(std::process::id().to_string())
        .arg(bin)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--chain-id", &DEV_L1_CHAIN_ID.to_string()])
        .args(["--block-time", "1"])
        .arg("--state")
        .arg(&state)
        .args(["--state-interval", "1"])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .wrap_err_with(|| format!("cannot start anvil at {} (through bash)", bin.display()))?;
    let anvil = Anvil {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let client = L1Client::new(anvil.url())?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if client.chain_id().await.is_ok() {
            return Ok(anvil);
        }
        if Instant::now() > deadline {
            return Err(eyre!(
                "anvil did not answer on {} within 30 s; see {}",
                anvil.url(),
                dir.join("anvil.log").display()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
