// The dev node's basic contract: genesis, method surface, subscriptions, filters, shutdown.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createPublicClient, parseEther, parseGwei, webSocket } from 'viem';
import { devAccount, lanesDev, REFERENCE, startNode, withNode } from './harness.mjs';

const TIMEOUT = { timeout: 120_000 };

async function transfer(node, from, { nonce, sync = true } = {}) {
  const account = devAccount(from);
  const raw = await account.signTransaction({
    chainId: 1337,
    type: 'eip1559',
    nonce: nonce ?? Number(await node.rpc('eth_getTransactionCount', [account.address, 'pending'])),
    to: devAccount(0).address,
    value: 1n,
    gas: 21000n,
    maxFeePerGas: parseGwei('100'),
    maxPriorityFeePerGas: parseGwei('1'),
  });
  return node.rpc(sync ? 'eth_sendRawTransactionSync' : 'eth_sendRawTransaction', [raw]);
}

test('dev genesis and the basic method surface', TIMEOUT, async (t) => {
  const node = await withNode(t);
  assert.equal(await node.rpc('eth_chainId'), '0x539');
  assert.equal(await node.rpc('net_version'), '1337');
  assert.equal(typeof (await node.rpc('web3_clientVersion')), 'string');
  assert.equal(
    await node.rpc('web3_sha3', ['0x68656c6c6f20776f726c64']),
    '0x47173285a8d7341e5e972fc677286384f802f8ef42a5ec5f03bbfa254cb01fad',
  );
  assert.equal(devAccount(0).address, '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');
  for (let i = 0; i < 10; i++) {
    const balance = await node.rpc('eth_getBalance', [devAccount(i).address, 'latest']);
    assert.equal(BigInt(balance), parseEther('10000'), `dev account ${i} ${devAccount(i).address}`);
  }
  const genesis = await node.rpc('eth_getBlockByNumber', ['0x0', false]);
  assert.equal(genesis.number, '0x0');
  assert.ok(genesis.baseFeePerGas, 'genesis has no baseFeePerGas (EIP-1559)');
  assert.ok(genesis.stateRoot !== undefined);

  const unknown = await node.rpcRaw('lanes_noSuchMethod', []);
  assert.equal(unknown.error?.code, -32601, JSON.stringify(unknown));
  if (REFERENCE !== 'anvil') {
    const send = await node.rpcRaw('eth_sendTransaction', [{ from: devAccount(0).address, to: devAccount(1).address }]);
    assert.ok(send.error, `eth_sendTransaction is not to be served: ${JSON.stringify(send)}`);
  }
});

test('newHeads and newPendingTransactions subscriptions over WebSocket', TIMEOUT, async (t) => {
  const node = await withNode(t);
  const client = createPublicClient({ chain: lanesDev, transport: webSocket(node.wsUrl, { retryCount: 0 }) });
  t.after(async () => (await client.transport.getRpcClient()).close());

  const heads = [];
  const pending = [];
  const unwatchBlocks = client.watchBlocks({ onBlock: (b) => heads.push(b), onError: (e) => heads.push(e) });
  const unwatchPending = client.watchPendingTransactions({ onTransactions: (h) => pending.push(...h), onError: (e) => pending.push(e) });
  t.after(() => {
    unwatchBlocks();
    unwatchPending();
  });
  await new Promise((r) => setTimeout(r, 500));

  const receipt = await transfer(node, 1);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && !(heads.some((h) => h.hash === receipt.blockHash) && pending.includes(receipt.transactionHash))) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(heads.some((h) => h.hash === receipt.blockHash), `newHeads never showed ${receipt.blockHash}: ${heads.map((h) => h.hash ?? h.message)}`);
  assert.ok(pending.includes(receipt.transactionHash), `newPendingTransactions never showed ${receipt.transactionHash}: ${pending}`);
});

test('block and log filters over HTTP', TIMEOUT, async (t) => {
  const node = await withNode(t);
  const blockFilter = await node.rpc('eth_newBlockFilter');
  const logFilter = await node.rpc('eth_newFilter', [{ fromBlock: 'latest' }]);
  const receipt = await transfer(node, 2);
  const blocks = await node.rpc('eth_getFilterChanges', [blockFilter]);
  assert.ok(blocks.includes(receipt.blockHash), `block filter changes ${JSON.stringify(blocks)} lack ${receipt.blockHash}`);
  assert.deepEqual(await node.rpc('eth_getFilterChanges', [blockFilter]), []);
  assert.deepEqual(await node.rpc('eth_getFilterChanges', [logFilter]), []); // a transfer logs nothing
  assert.equal(await node.rpc('eth_uninstallFilter', [blockFilter]), true);
  assert.equal(await node.rpc('eth_uninstallFilter', [blockFilter]), false);
  const gone = await node.rpcRaw('eth_getFilterChanges', [blockFilter]);
  assert.ok(gone.error, `changes of an uninstalled filter: ${JSON.stringify(gone)}`);
});

test('SIGTERM stops the node cleanly and a restart serves the same chain', TIMEOUT, async (t) => {
  if (REFERENCE) {
    t.skip(`${REFERENCE} keeps no datadir`);
    return;
  }
  const datadir = mkdtempSync(join(tmpdir(), 'lanes-e2e-restart-'));
  t.after(() => rmSync(datadir, { recursive: true, force: true }));
  const first = await startNode({ datadir, name: 'sigterm-before' });
  let receipt;
  try {
    receipt = await transfer(first, 3);
  } finally {
    const exit = await first.stop();
    assert.deepEqual(exit, { code: 0, signal: null, killed: false }, `exit on SIGTERM: ${JSON.stringify(exit)}\n${first.output()}`);
  }
  const second = await startNode({ datadir, name: 'sigterm-after' });
  t.after(() => second.stop());
  const again = await second.rpc('eth_getTransactionReceipt', [receipt.transactionHash]);
  assert.equal(again?.blockHash, receipt.blockHash);
  assert.ok(BigInt(await second.rpc('eth_blockNumber')) >= BigInt(receipt.blockNumber));
});

test('Prometheus metrics count received, rejected and included transactions', TIMEOUT, async (t) => {
  if (REFERENCE) return t.skip('lanes-only: metrics endpoint');
  const { freePort } = await import('./harness.mjs');
  const metricsPort = await freePort();
  const node = await withNode(t, { args: ['--metrics', `127.0.0.1:${metricsPort}`] });
  await transfer(node, 1);
  // A rejected one: the same nonce again.
  await assert.rejects(transfer(node, 1, { nonce: 0 }));
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const value = (name) => {
    const line = text.split('\n').find((l) => l.startsWith(name));
    assert.ok(line, `metric ${name} missing in:\n${text}`);
    return Number(line.trim().split(/\s+/).pop());
  };
  assert.ok(value('lanes_txpool_received_total') >= 2);
  assert.ok(value('lanes_txpool_rejected_total{reason="nonce_too_low"}') >= 1);
  assert.ok(value('lanes_transactions_included_total') >= 1);
  assert.ok(value('lanes_blocks_total') >= 1);
  assert.ok(text.includes('lanes_block_build_seconds'), 'build time histogram');
  assert.ok(text.includes('lanes_rpc_requests_total{method="eth_sendRawTransactionSync"}'));
});
