// Bad transactions over real HTTP: each gets a JSON-RPC error with a geth-compatible message, no
// trace of it stays in the pool, and the node keeps answering.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEther, parseGwei, parseTransaction, serializeTransaction, toHex } from 'viem';
import { devAccount, REFERENCE, withNode } from './harness.mjs';

const TIMEOUT = { timeout: 180_000 };
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
// Geth answers every txpool/validation failure with -32000; -32003 is the "transaction rejected"
// code some nodes use. Undecodable input may also be -32602 (invalid params).
const POOL_CODES = [-32000, -32003];
const DECODE_CODES = [-32602, -32000];

async function latestBlock(node) {
  return node.rpc('eth_getBlockByNumber', ['latest', false]);
}

/** Signs an EIP-1559 transfer from dev account `from` with sane defaults, overridden by `tx`. */
async function sign(node, from, tx = {}) {
  const account = devAccount(from);
  const baseFee = BigInt((await latestBlock(node)).baseFeePerGas);
  const nonce = tx.nonce ?? Number(await node.rpc('eth_getTransactionCount', [account.address, 'pending']));
  return account.signTransaction({
    chainId: 1337,
    type: 'eip1559',
    to: devAccount(9).address,
    value: 1n,
    gas: 21000n,
    maxFeePerGas: baseFee * 2n + parseGwei('1'),
    maxPriorityFeePerGas: parseGwei('1'),
    ...tx,
    nonce,
  });
}

/**
 * Sends `raw` and asserts it is refused with one of `codes` and a message matching `message`,
 * then that the node still answers eth_blockNumber.
 */
async function expectRejected(t, node, raw, { codes, message, method = 'eth_sendRawTransaction' }) {
  const answer = await node.rpcRaw(method, [raw]);
  t.diagnostic(`${method} -> ${JSON.stringify(answer.error ?? answer).slice(0, 400)}`);
  assert.ok(answer.error, `expected an error matching ${message}, got ${JSON.stringify(answer).slice(0, 400)}`);
  assert.ok(codes.includes(answer.error.code), `error code ${answer.error.code} not in [${codes}]: ${JSON.stringify(answer.error)}`);
  assert.match(answer.error.message, message, `message ${JSON.stringify(answer.error.message)} does not match ${message}`);
  const blockNumber = await node.rpc('eth_blockNumber');
  assert.match(blockNumber, /^0x[0-9a-f]+$/);
  return answer.error;
}

test('bad transactions are refused with geth-style errors', TIMEOUT, async (t) => {
  const node = await withNode(t);
  // One mined transaction, so that "nonce too low" has something to be low against.
  const first = await node.rpc('eth_sendRawTransactionSync', [await sign(node, 1, { nonce: 0 })]);
  assert.equal(first.status, '0x1', JSON.stringify(first));

  await t.test('malformed RLP', async (t) => {
    await expectRejected(t, node, '0xdeadbeef', { codes: DECODE_CODES, message: /rlp|decode|invalid|too short|unexpected/i });
    await expectRejected(t, node, '0x02f8', { codes: DECODE_CODES, message: /rlp|decode|invalid|too short|unexpected/i });
  });

  await t.test('wrong chain id', async (t) => {
    await expectRejected(t, node, await sign(node, 2, { chainId: 1 }), { codes: POOL_CODES, message: /invalid chain id/i });
  });

  await t.test('bad signature (high s, EIP-2)', async (t) => {
    const raw = await sign(node, 2);
    const { r, s, yParity, ...tx } = parseTransaction(raw);
    const flipped = serializeTransaction(tx, { r, s: toHex(SECP256K1_N - BigInt(s), { size: 32 }), yParity: 1 - yParity });
    await expectRejected(t, node, flipped, { codes: POOL_CODES, message: /invalid sender/i });
  });

  await t.test('bad signature (r = 0)', async (t) => {
    const raw = await sign(node, 2);
    const { r, s, yParity, ...tx } = parseTransaction(raw);
    const zeroR = serializeTransaction(tx, { r: toHex(0n, { size: 32 }), s, yParity });
    await expectRejected(t, node, zeroR, { codes: POOL_CODES, message: /invalid sender/i });
  });

  await t.test('nonce too low', async (t) => {
    await expectRejected(t, node, await sign(node, 1, { nonce: 0, value: 2n }), { codes: POOL_CODES, message: /nonce too low/i });
  });

  await t.test('nonce far ahead (gap)', async (t) => {
    await expectRejected(t, node, await sign(node, 2, { nonce: 1_000_000 }), { codes: POOL_CODES, message: /nonce too high/i });
  });

  await t.test('insufficient funds', async (t) => {
    await expectRejected(t, node, await sign(node, 2, { value: parseEther('20000') }), {
      codes: POOL_CODES,
      message: /insufficient funds for gas \* price \+ value/i,
    });
  });

  await t.test('gas limit above the block gas limit', async (t) => {
    const gasLimit = BigInt((await latestBlock(node)).gasLimit);
    await expectRejected(t, node, await sign(node, 2, { gas: gasLimit + 1n }), { codes: POOL_CODES, message: /exceeds block gas limit/i });
  });

  await t.test('intrinsic gas too low', async (t) => {
    await expectRejected(t, node, await sign(node, 2, { gas: 20_999n }), { codes: POOL_CODES, message: /intrinsic gas too low/i });
  });

  await t.test('max fee per gas below the base fee', async (t) => {
    const baseFee = BigInt((await latestBlock(node)).baseFeePerGas);
    if (baseFee < 2n) {
      t.skip(`base fee is ${baseFee}: nothing is below it`);
      return;
    }
    // Half the latest base fee is below the next one too (it falls at most 12.5% a block).
    await expectRejected(t, node, await sign(node, 2, { maxFeePerGas: baseFee / 2n, maxPriorityFeePerGas: 0n }), {
      codes: POOL_CODES,
      message: /max fee per gas less than block base fee/i,
    });
  });

  await t.test('transaction over 128 KiB', async (t) => {
    const data = `0x${'00'.repeat(128 * 1024 + 1)}`;
    const raw = await sign(node, 2, { data, gas: 1_000_000n });
    assert.ok((raw.length - 2) / 2 > 128 * 1024);
    await expectRejected(t, node, raw, { codes: POOL_CODES, message: /oversized data/i });
  });

  await t.test('blob (type 3) transaction', async (t) => {
    const raw = await sign(node, 2, {
      type: 'eip4844',
      blobVersionedHashes: [`0x01${'11'.repeat(31)}`],
      maxFeePerBlobGas: parseGwei('1'),
    });
    assert.ok(raw.startsWith('0x03'));
    await expectRejected(t, node, raw, { codes: POOL_CODES, message: /transaction type not supported/i });
  });

  await t.test('eth_sendRawTransactionSync refuses the same way', async (t) => {
    await expectRejected(t, node, await sign(node, 1, { nonce: 0, value: 3n }), {
      codes: POOL_CODES,
      message: /nonce too low/i,
      method: 'eth_sendRawTransactionSync',
    });
  });

  await t.test('nothing refused stayed behind, and a good transaction still lands', async () => {
    const good = await node.rpc('eth_sendRawTransactionSync', [await sign(node, 2)]);
    assert.equal(good.status, '0x1', JSON.stringify(good));
    assert.equal(await node.rpc('eth_getTransactionCount', [devAccount(2).address, 'latest']), '0x1');
    const status = await node.rpc('txpool_status');
    assert.deepEqual(status, { pending: '0x0', queued: '0x0' }, `txpool_status ${JSON.stringify(status)}`);
  });
});

test('a replacement needs a 10% fee bump', TIMEOUT, async (t) => {
  // Long block time: the first transaction must still be in the pool when it is replaced.
  const node = await withNode(t, { args: REFERENCE === 'anvil' ? [] : ['--block-time', '30s'] });
  const account = devAccount(3);
  const tip = parseGwei('2');
  const feeCap = BigInt((await latestBlock(node)).baseFeePerGas) * 2n + tip;
  const send = async (value, bumpPercent) => {
    const bump = (x) => x + (x * BigInt(bumpPercent)) / 100n;
    const raw = await sign(node, 3, { nonce: 0, value, maxFeePerGas: bump(feeCap), maxPriorityFeePerGas: bump(tip) });
    return { raw, answer: await node.rpcRaw('eth_sendRawTransaction', [raw]) };
  };

  const original = await send(1n, 0);
  assert.ok(original.answer.result, JSON.stringify(original.answer));
  const content = await node.rpc('txpool_content');
  const pending = Object.entries(content.pending).find(([a]) => a.toLowerCase() === account.address.toLowerCase());
  assert.ok(pending, `original not pending in txpool_content: ${JSON.stringify(content).slice(0, 400)}`);
  assert.equal(pending[1]['0'].hash, original.answer.result);

  await expectRejected(t, node, (await send(2n, 0)).raw, { codes: POOL_CODES, message: /replacement transaction underpriced/i });
  await expectRejected(t, node, (await send(3n, 5)).raw, { codes: POOL_CODES, message: /replacement transaction underpriced/i });

  const replacement = await send(4n, 10);
  assert.ok(replacement.answer.result, `10% bump refused: ${JSON.stringify(replacement.answer)}`);
  const after = await node.rpc('txpool_content');
  const entry = Object.entries(after.pending).find(([a]) => a.toLowerCase() === account.address.toLowerCase());
  assert.equal(entry[1]['0'].hash, replacement.answer.result, `pool still holds ${JSON.stringify(entry)}`);
  assert.equal(await node.rpc('eth_getTransactionByHash', [original.answer.result]), null);
});
