// What was acknowledged is durable: receipts handed out by eth_sendRawTransactionSync survive a
// `kill -9` of the node in the middle of a load, with the same blocks and state roots.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseGwei } from 'viem';
import { devAccount, REFERENCE, rpc, startNode } from './harness.mjs';

const SENDERS = [1, 2, 3, 4, 5, 6, 7, 8];
const TX_PER_SENDER = 50;
/** Kill once this many receipts are in: well before the load can finish. */
const KILL_AFTER_RECEIPTS = 150;

test('acknowledged receipts survive kill -9 with the same blocks and state roots', { timeout: 300_000 }, async (t) => {
  if (REFERENCE) {
    t.skip(`${REFERENCE} keeps no datadir to restart from`);
    return;
  }
  const datadir = mkdtempSync(join(tmpdir(), 'lanes-e2e-crash-'));
  const nodes = [];
  t.after(async () => {
    for (const node of nodes) await node.stop();
    rmSync(datadir, { recursive: true, force: true });
  });

  const first = await startNode({ datadir, name: 'crash-before-kill' });
  nodes.push(first);

  // Sign everything up front so the load is only sending: fresh accounts, nonces from 0.
  const signed = new Map();
  for (const i of SENDERS) {
    const txs = [];
    for (let nonce = 0; nonce < TX_PER_SENDER; nonce++) {
      txs.push(
        await devAccount(i).signTransaction({
          chainId: 1337,
          type: 'eip1559',
          nonce,
          to: devAccount((i % 9) + 1).address,
          value: BigInt(1000 + nonce),
          gas: 21000n,
          maxFeePerGas: parseGwei('100'),
          maxPriorityFeePerGas: parseGwei('1'),
        }),
      );
    }
    signed.set(i, txs);
  }

  const receipts = []; // every receipt the node handed back, as it was handed back
  const blocks = new Map(); // blockHash -> the header as the node served it before the crash
  const blockFetches = [];
  const errorsBeforeKill = [];
  let killing = false;
  let inFlight = 0;

  const rememberBlock = (hash) => {
    if (blocks.has(hash)) return;
    blocks.set(hash, null);
    blockFetches.push(
      rpc(first.url, 'eth_getBlockByHash', [hash, false])
        .then((block) => blocks.set(hash, block))
        .catch(() => {}),
    );
  };

  const worker = async (sender) => {
    for (const [nonce, raw] of signed.get(sender).entries()) {
      if (killing) return;
      inFlight++;
      try {
        const receipt = await rpc(first.url, 'eth_sendRawTransactionSync', [raw]);
        receipts.push({ sender, nonce, receipt });
        rememberBlock(receipt.blockHash);
      } catch (error) {
        if (!killing) errorsBeforeKill.push(`sender ${sender} nonce ${nonce}: ${error.message}`);
        return;
      } finally {
        inFlight--;
      }
    }
  };
  const load = Promise.all(SENDERS.map(worker));

  const started = Date.now();
  while (receipts.length < KILL_AFTER_RECEIPTS && errorsBeforeKill.length === 0) {
    if (Date.now() - started > 120_000) assert.fail(`only ${receipts.length} receipts after 120 s\n${first.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual(errorsBeforeKill, [], `sends failed before the kill:\n${errorsBeforeKill.join('\n')}\n${first.output()}`);
  // Headers of the blocks seen so far are read while the load goes on, then the node dies.
  await Promise.all(blockFetches.slice());
  const inFlightAtKill = inFlight;
  killing = true;
  await first.kill9();
  await load;
  const total = SENDERS.length * TX_PER_SENDER;
  t.diagnostic(`killed with ${receipts.length}/${total} receipts in, ${inFlightAtKill} sends in flight, ${blocks.size} blocks seen`);
  assert.ok(inFlightAtKill > 0, 'the load had stopped before the kill');
  assert.ok(receipts.length < total, 'the load finished before the kill');

  const second = await startNode({ datadir, port: first.port, name: 'crash-after-restart' });
  nodes.push(second);

  const problems = [];
  for (const { sender, nonce, receipt } of receipts) {
    const now = await second.rpc('eth_getTransactionReceipt', [receipt.transactionHash]);
    const where = `sender ${sender} nonce ${nonce} tx ${receipt.transactionHash}`;
    if (!now) {
      problems.push(`${where}: receipt gone (was in block ${BigInt(receipt.blockNumber)} ${receipt.blockHash})`);
    } else if (now.blockHash !== receipt.blockHash || now.blockNumber !== receipt.blockNumber) {
      problems.push(`${where}: block was ${receipt.blockNumber} ${receipt.blockHash}, now ${now.blockNumber} ${now.blockHash}`);
    } else if (now.status !== receipt.status || now.transactionIndex !== receipt.transactionIndex) {
      problems.push(`${where}: status/index was ${receipt.status}/${receipt.transactionIndex}, now ${now.status}/${now.transactionIndex}`);
    }
  }
  let rootsCompared = 0;
  for (const [hash, before] of blocks) {
    const now = await second.rpc('eth_getBlockByHash', [hash, false]);
    if (!now) {
      problems.push(`block ${hash}: gone after restart`);
      continue;
    }
    const canonical = await second.rpc('eth_getBlockByNumber', [now.number, false]);
    if (canonical?.hash !== hash) problems.push(`block ${hash}: no longer canonical at ${now.number} (${canonical?.hash})`);
    if (!before) continue;
    rootsCompared++;
    if (now.stateRoot !== before.stateRoot) problems.push(`block ${before.number} ${hash}: stateRoot was ${before.stateRoot}, now ${now.stateRoot}`);
  }
  const listed = problems.slice(0, 20).join('\n');
  assert.deepEqual(problems, [], `${problems.length} differences after restart (first 20):\n${listed}\n${second.output()}`);
  assert.ok(rootsCompared >= 5, `only ${rootsCompared} state roots were read before the kill`);

  // Nonces are at least what was acknowledged, and the chain goes on from there.
  for (const sender of SENDERS) {
    const acknowledged = receipts.filter((r) => r.sender === sender).length;
    const nonce = Number(await second.rpc('eth_getTransactionCount', [devAccount(sender).address, 'latest']));
    assert.ok(nonce >= acknowledged, `sender ${sender}: nonce ${nonce} after restart, ${acknowledged} receipts acknowledged`);
  }
  const head = BigInt(await second.rpc('eth_blockNumber'));
  const sender = devAccount(9);
  const raw = await sender.signTransaction({
    chainId: 1337,
    type: 'eip1559',
    nonce: Number(await second.rpc('eth_getTransactionCount', [sender.address, 'pending'])),
    to: devAccount(0).address,
    value: 1n,
    gas: 21000n,
    maxFeePerGas: parseGwei('100'),
    maxPriorityFeePerGas: parseGwei('1'),
  });
  const after = await second.rpc('eth_sendRawTransactionSync', [raw]);
  assert.equal(after.status, '0x1');
  assert.ok(BigInt(after.blockNumber) > head, `new block ${after.blockNumber} not above head ${head}`);
});
