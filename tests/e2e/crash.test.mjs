// What was acknowledged is durable: receipts handed out by eth_sendRawTransactionSync survive a
// `kill -9` of the node in the middle of a load, with the same blocks and state roots.
//
// Several crash cycles on one datadir: load from 8 senders at once, kill -9 at a slightly random
// moment while sends are in flight, restart on the same datadir and port, check everything
// acknowledged in any cycle so far, then load again from where the chain stands.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseGwei } from 'viem';
import { devAccount, REFERENCE, rpc, startNode } from './harness.mjs';

const SENDERS = [1, 2, 3, 4, 5, 6, 7, 8];
const CYCLES = 3;
const TX_PER_SENDER_PER_CYCLE = 40;
/** Kill once this many receipts of the cycle are in: well before its load can finish. */
const KILL_AFTER_RECEIPTS = 120;

async function signTransfers(node, sender, count) {
  const account = devAccount(sender);
  const first = Number(await node.rpc('eth_getTransactionCount', [account.address, 'pending']));
  const txs = [];
  for (let nonce = first; nonce < first + count; nonce++) {
    txs.push({
      nonce,
      raw: await account.signTransaction({
        chainId: 1337,
        type: 'eip1559',
        nonce,
        to: devAccount((sender % 9) + 1).address,
        value: BigInt(1000 + nonce),
        gas: 21000n,
        maxFeePerGas: parseGwei('100'),
        maxPriorityFeePerGas: parseGwei('1'),
      }),
    });
  }
  return txs;
}

/**
 * Sends transfers from every sender concurrently (each sender's in nonce order) and kills the
 * node with SIGKILL once `KILL_AFTER_RECEIPTS` receipts are in. Adds every receipt received to
 * `receipts`, and the header of every block seen (read before the kill) to `blocks`.
 */
async function loadAndKill(t, node, cycle, receipts, blocks) {
  // Signed up front so that the load is only sending.
  const signed = new Map();
  for (const sender of SENDERS) signed.set(sender, await signTransfers(node, sender, TX_PER_SENDER_PER_CYCLE));

  const blockFetches = [];
  const errorsBeforeKill = [];
  let received = 0;
  let killing = false;
  let inFlight = 0;
  const rememberBlock = (hash) => {
    if (blocks.has(hash)) return;
    blocks.set(hash, null);
    blockFetches.push(
      rpc(node.url, 'eth_getBlockByHash', [hash, false])
        .then((block) => blocks.set(hash, block))
        .catch(() => {}),
    );
  };
  const worker = async (sender) => {
    for (const { nonce, raw } of signed.get(sender)) {
      if (killing) return;
      inFlight++;
      try {
        const receipt = await rpc(node.url, 'eth_sendRawTransactionSync', [raw]);
        receipts.push({ cycle, sender, nonce, receipt });
        received++;
        rememberBlock(receipt.blockHash);
      } catch (error) {
        if (!killing) errorsBeforeKill.push(`cycle ${cycle} sender ${sender} nonce ${nonce}: ${error.message}`);
        return;
      } finally {
        inFlight--;
      }
    }
  };
  const load = Promise.all(SENDERS.map(worker));

  const started = Date.now();
  while (received < KILL_AFTER_RECEIPTS && errorsBeforeKill.length === 0) {
    if (Date.now() - started > 120_000) assert.fail(`cycle ${cycle}: only ${received} receipts after 120 s\n${node.output()}`);
    await sleep(20);
  }
  assert.deepEqual(errorsBeforeKill, [], `sends failed before the kill:\n${errorsBeforeKill.join('\n')}\n${node.output()}`);
  // Headers of the blocks seen so far are read while the load goes on; then, at a moment that
  // varies within a block time, the node dies.
  await Promise.all(blockFetches.slice());
  await sleep(Math.random() * 250);
  const inFlightAtKill = inFlight;
  killing = true;
  await node.kill9();
  await load;
  const total = SENDERS.length * TX_PER_SENDER_PER_CYCLE;
  t.diagnostic(`cycle ${cycle}: killed with ${received}/${total} receipts in, ${inFlightAtKill} sends in flight`);
  assert.ok(inFlightAtKill > 0, `cycle ${cycle}: the load had stopped before the kill`);
  assert.ok(received < total, `cycle ${cycle}: the load finished before the kill`);
}

/** Checks, on the restarted node, every receipt and block recorded before any of the kills. */
async function verify(node, cycle, receipts, blocks) {
  const problems = [];
  for (const { cycle: sentIn, sender, nonce, receipt } of receipts) {
    const now = await node.rpc('eth_getTransactionReceipt', [receipt.transactionHash]);
    const where = `cycle ${sentIn} sender ${sender} nonce ${nonce} tx ${receipt.transactionHash}`;
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
    const now = await node.rpc('eth_getBlockByHash', [hash, false]);
    if (!now) {
      problems.push(`block ${hash}: gone after restart`);
      continue;
    }
    const canonical = await node.rpc('eth_getBlockByNumber', [now.number, false]);
    if (canonical?.hash !== hash) problems.push(`block ${hash}: no longer canonical at ${now.number} (${canonical?.hash})`);
    if (!before) continue;
    rootsCompared++;
    if (now.stateRoot !== before.stateRoot) problems.push(`block ${before.number} ${hash}: stateRoot was ${before.stateRoot}, now ${now.stateRoot}`);
  }
  const listed = problems.slice(0, 20).join('\n');
  assert.deepEqual(problems, [], `after kill ${cycle}: ${problems.length} differences (first 20):\n${listed}\n${node.output()}`);
  assert.ok(rootsCompared >= 5 * cycle, `only ${rootsCompared} state roots were read before ${cycle} kills`);

  // Nonces are at least what was acknowledged.
  for (const sender of SENDERS) {
    const acknowledged = receipts.filter((r) => r.sender === sender);
    const highest = Math.max(-1, ...acknowledged.map((r) => r.nonce));
    const nonce = Number(await node.rpc('eth_getTransactionCount', [devAccount(sender).address, 'latest']));
    assert.ok(nonce > highest, `sender ${sender}: nonce ${nonce} after restart, nonce ${highest} acknowledged`);
  }
}

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

  const receipts = []; // every receipt the node handed back, as it was handed back
  const blocks = new Map(); // blockHash -> the header as the node served it before a kill
  let node = await startNode({ datadir, name: 'crash-start' });
  nodes.push(node);
  const port = node.port;
  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    await loadAndKill(t, node, cycle, receipts, blocks);
    node = await startNode({ datadir, port, name: `crash-restart-${cycle}` });
    nodes.push(node);
    await verify(node, cycle, receipts, blocks);
  }

  // The chain goes on after the last restart.
  const head = BigInt(await node.rpc('eth_blockNumber'));
  const [{ raw }] = await signTransfers(node, 9, 1);
  const after = await node.rpc('eth_sendRawTransactionSync', [raw]);
  assert.equal(after.status, '0x1');
  assert.ok(BigInt(after.blockNumber) > head, `new block ${after.blockNumber} not above head ${head}`);
});
