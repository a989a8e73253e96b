// Starts and stops a real `lanes node --dev` for one test, and talks JSON-RPC to it.
//
// Every test starts its own node on a free loopback port with a fresh datadir and always stops
// it (SIGTERM, then SIGKILL). The binary is `$LANES_BIN`, else `$CARGO_TARGET_DIR/release/lanes`,
// else `target/release/lanes`. The node's output goes to `target/e2e-logs/` (or
// `$LANES_E2E_LOG_DIR`), one file per start, so a failing test can be read against its log.
//
// `LANES_E2E_REFERENCE=anvil` runs the same tests against the pinned anvil instead, to check the
// tests themselves against a known-good node (the crash test needs a datadir and is skipped).
import { execFile, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { defineChain } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHAIN_ID = 1337;
export const MNEMONIC = 'test test test test test test test test test test test junk';
export const REFERENCE = process.env.LANES_E2E_REFERENCE ?? '';
const START_TIMEOUT_MS = Number(process.env.LANES_E2E_START_TIMEOUT_MS ?? 60_000);
const STOP_TIMEOUT_MS = 10_000;
const OUTPUT_TAIL_BYTES = 16 * 1024;

/** Path of the node binary under test. */
export function lanesBin() {
  if (process.env.LANES_BIN) return resolve(process.env.LANES_BIN);
  const target = process.env.CARGO_TARGET_DIR;
  const dir = target ? (isAbsolute(target) ? target : resolve(ROOT, target)) : join(ROOT, 'target');
  return join(dir, 'release', 'lanes');
}

/** Path of a pinned Foundry binary (`cast`, `anvil`) from node_modules. */
export function foundryBin(name) {
  const fromEnv = process.env[`${name.toUpperCase()}_BIN`];
  return fromEnv ?? join(ROOT, 'node_modules', '@foundry-rs', `${name}-linux-amd64`, 'bin', name);
}

/** The dev chain as viem sees it. */
export const lanesDev = defineChain({
  id: CHAIN_ID,
  name: 'Lanes dev',
  nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
  rpcUrls: { default: { http: ['http://127.0.0.1:8545'] } },
});

const accountCache = new Map();
/** Dev account `i` (0..9) of the standard mnemonic, as a viem local account. */
export function devAccount(i) {
  if (!accountCache.has(i)) accountCache.set(i, mnemonicToAccount(MNEMONIC, { addressIndex: i }));
  return accountCache.get(i);
}
/** The `0x`-prefixed private key of dev account `i`. */
export function devKey(i) {
  return `0x${Buffer.from(devAccount(i).getHdKey().privateKey).toString('hex')}`;
}

/** Asks the OS for a free loopback TCP port. */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/** A JSON-RPC error answer, kept whole so tests can assert on code, message and data. */
export class RpcError extends Error {
  constructor(method, params, error) {
    super(`${method} failed: ${JSON.stringify(error)} (params ${short(params)})`);
    this.method = method;
    this.code = error?.code;
    this.rpcMessage = error?.message;
    this.data = error?.data;
  }
}

function short(value) {
  const text = JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v));
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}

let nextId = 1;
/** Sends one JSON-RPC request over HTTP and returns the whole response object. */
export async function rpcRaw(url, method, params = [], { timeoutMs = 30_000 } = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${method}: HTTP ${res.status} with a non-JSON body: ${text.slice(0, 300)}`);
  }
}

/** Sends one JSON-RPC request and returns its result, throwing an `RpcError` on an error answer. */
export async function rpc(url, method, params = [], options = {}) {
  const answer = await rpcRaw(url, method, params, options);
  if (answer.error) throw new RpcError(method, params, answer.error);
  if (!('result' in answer)) throw new Error(`${method}: answer has neither result nor error: ${short(answer)}`);
  return answer.result;
}

const live = new Set();
function killAll() {
  for (const node of live) {
    try {
      node.proc.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killAll();
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  });
}

/** One running node process. */
export class LanesNode {
  constructor({ proc, port, datadir, ownsDatadir, logPath }) {
    this.proc = proc;
    this.port = port;
    this.datadir = datadir;
    this.ownsDatadir = ownsDatadir;
    this.logPath = logPath;
    this.url = `http://127.0.0.1:${port}`;
    this.wsUrl = `ws://127.0.0.1:${port}`;
    this.tail = '';
    this.exit = new Promise((resolveExit) => {
      proc.on('exit', (code, signal) => {
        live.delete(this);
        this.exited = { code, signal };
        resolveExit(this.exited);
      });
    });
    const log = createWriteStream(logPath);
    this.logClosed = new Promise((resolveClosed) => log.on('close', resolveClosed));
    let open = 2;
    for (const stream of [proc.stdout, proc.stderr]) {
      stream.on('data', (chunk) => {
        log.write(chunk);
        this.tail = (this.tail + chunk.toString()).slice(-OUTPUT_TAIL_BYTES);
      });
      stream.on('close', () => {
        if (--open === 0) log.end();
      });
    }
    live.add(this);
  }

  /** The node's recent output, for failure messages. */
  output() {
    return `--- node output (last ${OUTPUT_TAIL_BYTES} bytes; full log ${this.logPath}) ---\n${this.tail}`;
  }

  rpc(method, params = [], options) {
    return rpc(this.url, method, params, options);
  }

  rpcRaw(method, params = [], options) {
    return rpcRaw(this.url, method, params, options);
  }

  /** Kills the node with SIGKILL (no clean shutdown) and waits for it to be gone. */
  async kill9() {
    if (!this.exited) this.proc.kill('SIGKILL');
    return this.exit;
  }

  /**
   * Stops the node: SIGTERM, then SIGKILL after 10 s. Returns how it exited and whether it had
   * to be killed. Removes the datadir if this start created it, unless `keepDatadir`.
   */
  async stop({ keepDatadir = false } = {}) {
    let killed = false;
    if (!this.exited) {
      this.proc.kill('SIGTERM');
      const graceful = await Promise.race([this.exit, sleep(STOP_TIMEOUT_MS).then(() => null)]);
      if (!graceful) {
        killed = true;
        this.proc.kill('SIGKILL');
        await this.exit;
      }
    }
    await this.logClosed;
    if (this.ownsDatadir && !keepDatadir) rmSync(this.datadir, { recursive: true, force: true });
    return { ...this.exited, killed };
  }
}

/** The environment minus `LANES_*` settings (the node reads them), so a shell's exports cannot change a test. */
function nodeEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('LANES_')));
}

function spawnNode(port, datadir, extraArgs) {
  if (REFERENCE === 'anvil') {
    const args = ['--port', String(port), '--host', '127.0.0.1', '--chain-id', String(CHAIN_ID)];
    args.push('--block-time', '1', '--mnemonic', MNEMONIC, ...extraArgs);
    return spawn(foundryBin('anvil'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  }
  const bin = lanesBin();
  if (!existsSync(bin)) {
    throw new Error(
      `lanes binary not found at ${bin}: build it with \`cargo build --release -p lanes-sequencer\` ` +
        'or point LANES_BIN at it',
    );
  }
  const args = ['node', '--dev', '--datadir', datadir, '--http.addr', '127.0.0.1', '--http.port', String(port)];
  // Settlement needs an L1; only tests that pass `--l1-rpc` (or `--follow`) get one. The others
  // run without, as they did before settlement existed.
  const wantsL1 = extraArgs.some((a) => a === '--l1-rpc' || a === '--follow' || a === '--with-dev-l1');
  if (!wantsL1) args.push('--no-l1');
  const passed = extraArgs.filter((a) => a !== '--with-dev-l1');
  return spawn(bin, [...args, ...passed], { stdio: ['ignore', 'pipe', 'pipe'], env: nodeEnv() });
}

async function waitReady(node, started) {
  let lastError;
  while (Date.now() - started < START_TIMEOUT_MS) {
    if (node.exited) {
      throw new Error(`node exited before it was ready (${JSON.stringify(node.exited)})\n${node.output()}`);
    }
    try {
      const answer = await rpcRaw(node.url, 'eth_chainId', [], { timeoutMs: 2_000 });
      if (answer.result !== undefined) return;
      lastError = JSON.stringify(answer);
    } catch (error) {
      lastError = error.message;
    }
    await sleep(50);
  }
  throw new Error(`node not ready after ${START_TIMEOUT_MS} ms (last: ${lastError})\n${node.output()}`);
}

/**
 * Starts a node and waits until it answers `eth_chainId`.
 *
 * Options: `datadir` (reuse one, e.g. to restart after a crash; otherwise a fresh temp dir that
 * `stop()` removes), `port` (otherwise a free one), `args` (extra CLI arguments), `name` (used in
 * the log file name).
 */
export async function startNode({ datadir, port, args = [], name = 'node' } = {}) {
  const ownsDatadir = !datadir;
  const dir = datadir ?? mkdtempSync(join(tmpdir(), 'lanes-e2e-'));
  const logDir = process.env.LANES_E2E_LOG_DIR ?? join(ROOT, 'target', 'e2e-logs');
  mkdirSync(logDir, { recursive: true });
  // A free port can be taken between asking and binding; only then is it worth another try.
  for (let attempt = 1; ; attempt++) {
    const p = port ?? (await freePort());
    const logPath = join(logDir, `${name.replace(/[^\w.-]+/g, '_')}-${p}-${Date.now()}.log`);
    const node = new LanesNode({ proc: spawnNode(p, dir, args), port: p, datadir: dir, ownsDatadir, logPath });
    try {
      await waitReady(node, Date.now());
      return node;
    } catch (error) {
      await node.stop({ keepDatadir: true });
      const portTaken = /address (already )?in use/i.test(node.tail);
      if (port === undefined && portTaken && attempt < 3) continue;
      if (ownsDatadir) rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }
}

/** Starts a node for one `node:test` test and stops it when the test ends, pass or fail. */
export async function withNode(t, options = {}) {
  const node = await startNode({ name: t.name, ...options });
  t.after(() => node.stop());
  return node;
}

/**
 * Runs a command and resolves to `{ status, stdout, stderr }`; a non-zero exit is not an error.
 * Asynchronous on purpose: a blocked event loop would stop draining the node's output pipes.
 */
export function run(cmd, args, { timeoutMs = 60_000 } = {}) {
  return new Promise((resolveRun, reject) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        reject(new Error(`${cmd} ${args.join(' ')}: ${error.message}\n${stderr}`));
        return;
      }
      resolveRun({ status: error ? error.code : 0, stdout: stdout.trim(), stderr: stderr.trim() });
    });
  });
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor(fn, { timeoutMs = 15_000, intervalMs = 50, what = 'condition' } = {}) {
  const started = Date.now();
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/**
 * Starts an anvil of its own as an L1 (1 s blocks, the test mnemonic) on a free port; tests that
 * kill or restart nodes pass it with `--l1-rpc`, so the L1 outlives them.
 */
export async function startAnvil() {
  const port = await freePort();
  const proc = spawn(foundryBin('anvil'), ['--port', String(port), '--host', '127.0.0.1', '--block-time', '1', '--mnemonic', MNEMONIC], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await rpcRaw(url, 'eth_chainId', []).catch(() => ({}))).result !== undefined, {
    timeoutMs: 30_000,
    what: 'anvil',
  });
  return { url, stop: () => proc.kill('SIGTERM') };
}
