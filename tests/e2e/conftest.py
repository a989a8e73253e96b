"""pytest fixtures for the end-to-end suites: a real `lanes node --dev` per test.

Mirrors harness.mjs: free loopback port, fresh datadir, readiness by polling eth_chainId, and a
stop that always happens (SIGTERM, then SIGKILL). `LANES_BIN` / `CARGO_TARGET_DIR` locate the
binary; `LANES_E2E_REFERENCE=anvil` runs against the pinned anvil instead, to check the tests.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHAIN_ID = 1337
MNEMONIC = "test test test test test test test test test test test junk"
REFERENCE = os.environ.get("LANES_E2E_REFERENCE", "")
START_TIMEOUT_S = float(os.environ.get("LANES_E2E_START_TIMEOUT_MS", "60000")) / 1000


def lanes_bin() -> Path:
    if os.environ.get("LANES_BIN"):
        return Path(os.environ["LANES_BIN"]).resolve()
    target = Path(os.environ.get("CARGO_TARGET_DIR", "target"))
    if not target.is_absolute():
        target = ROOT / target
    return target / "release" / "lanes"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rpc_raw(url: str, method: str, params: list | None = None, timeout: float = 30) -> dict:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(url, body, {"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


class LanesNode:
    """One running node; `url` is its HTTP endpoint, its output goes to `log_path`."""

    def __init__(self, name: str):
        self.datadir = tempfile.mkdtemp(prefix="lanes-e2e-py-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        log_dir = Path(os.environ.get("LANES_E2E_LOG_DIR", ROOT / "target" / "e2e-logs"))
        log_dir.mkdir(parents=True, exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        self.log_path = log_dir / f"py-{safe}-{self.port}-{int(time.time() * 1000)}.log"
        self.log = open(self.log_path, "wb")
        if REFERENCE == "anvil":
            anvil = ROOT / "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
            args = [str(anvil), "--port", str(self.port), "--host", "127.0.0.1", "--chain-id", str(CHAIN_ID),
                    "--block-time", "1", "--mnemonic", MNEMONIC]
        else:
            binary = lanes_bin()
            if not binary.exists():
                raise RuntimeError(f"lanes binary not found at {binary}: build it with "
                                   "`cargo build --release -p lanes-sequencer` or point LANES_BIN at it")
            # Settlement (the dev L1) is covered by the settlement suite; these tests need none.
            args = [str(binary), "node", "--dev", "--no-l1", "--datadir", self.datadir,
                    "--http.addr", "127.0.0.1", "--http.port", str(self.port)]
        # The node reads LANES_* settings from the environment; a shell's exports must not leak in.
        env = {k: v for k, v in os.environ.items() if not k.startswith("LANES_")}
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def output(self, limit: int = 16 * 1024) -> str:
        self.log.flush()
        text = self.log_path.read_bytes()[-limit:].decode(errors="replace")
        return f"--- node output (tail; full log {self.log_path}) ---\n{text}"

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node exited with {self.proc.returncode} before it was ready\n{self.output()}")
            try:
                if "result" in rpc_raw(self.url, "eth_chainId", timeout=2):
                    return
            except OSError as error:
                last = error
            time.sleep(0.05)
        raise RuntimeError(f"node not ready after {START_TIMEOUT_S} s (last: {last})\n{self.output()}")

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.datadir, ignore_errors=True)
        return self.proc.returncode


@pytest.fixture
def node(request):
    """A fresh dev node for one test, always stopped afterwards."""
    lanes = LanesNode(request.node.name)
    try:
        lanes.wait_ready()
        yield lanes
    finally:
        lanes.stop()
