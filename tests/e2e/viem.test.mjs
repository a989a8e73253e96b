// viem (pinned) against a real dev node: local signing over HTTP, subscriptions over WebSocket.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPublicClient, createWalletClient, http, parseEther, parseGwei, webSocket } from 'viem';
import { compile } from './compile.mjs';
import { devAccount, lanesDev, REFERENCE, withNode } from './harness.mjs';

const TIMEOUT = { timeout: 120_000 };
const POLL = 100;

/** Clients for one node; `methods` records every JSON-RPC method sent over HTTP, in order. */
function clients(node, account = devAccount(0)) {
  const methods = [];
  const transport = http(node.url, {
    async onFetchRequest(request) {
      const body = await request.clone().json();
      for (const call of [body].flat()) methods.push(call.method);
    },
  });
  const chain = { ...lanesDev, rpcUrls: { default: { http: [node.url], webSocket: [node.wsUrl] } } };
  const publicClient = createPublicClient({ chain, transport, pollingInterval: POLL });
  const walletClient = createWalletClient({ account, chain, transport, pollingInterval: POLL });
  return { publicClient, walletClient, methods, chain };
}

async function deployStore(publicClient, walletClient, initial = 42n) {
  const { abi, bytecode } = compile('Store');
  const hash = await walletClient.deployContract({ abi, bytecode, args: [initial] });
  const receipt = await publicClient.waitForTransactionReceipt({ hash, timeout: 30_000 });
  assert.equal(receipt.status, 'success');
  assert.ok(receipt.contractAddress, `no contractAddress: ${JSON.stringify(receipt, bigints)}`);
  return { abi, address: receipt.contractAddress, receipt };
}

function bigints(_, v) {
  return typeof v === 'bigint' ? v.toString() : v;
}

test('viem sends ETH with a local account and waits for the receipt', TIMEOUT, async (t) => {
  const node = await withNode(t);
  const { publicClient, walletClient } = clients(node);
  const to = devAccount(1).address;
  const before = await publicClient.getBalance({ address: devAccount(0).address });

  assert.equal(await publicClient.getChainId(), 1337);
  const gas = await publicClient.estimateGas({ account: devAccount(0), to, value: parseEther('1') });
  assert.equal(gas, 21000n);

  const hash = await walletClient.sendTransaction({ to, value: parseEther('1.5') });
  const receipt = await publicClient.waitForTransactionReceipt({ hash, timeout: 30_000 });
  assert.equal(receipt.status, 'success');
  assert.equal(receipt.transactionHash, hash);
  assert.equal(receipt.gasUsed, 21000n);
  assert.equal(receipt.type, 'eip1559');

  assert.equal(await publicClient.getBalance({ address: to }), parseEther('10001.5'));
  const fee = receipt.gasUsed * receipt.effectiveGasPrice;
  assert.equal(await publicClient.getBalance({ address: devAccount(0).address }), before - parseEther('1.5') - fee);
  const tx = await publicClient.getTransaction({ hash });
  assert.equal(tx.blockHash, receipt.blockHash);
  assert.equal(tx.from.toLowerCase(), devAccount(0).address.toLowerCase());
});

test('viem falls back when eth_fillTransaction is not served', TIMEOUT, async (t) => {
  const node = await withNode(t);
  if (REFERENCE !== 'anvil') {
    const answer = await node.rpcRaw('eth_fillTransaction', [{ from: devAccount(0).address, to: devAccount(1).address }]);
    assert.equal(answer.error?.code, -32601, `eth_fillTransaction: expected error -32601, got ${JSON.stringify(answer)}`);
  }

  const { publicClient, walletClient, methods } = clients(node);
  // No nonce, gas or fees given: viem's prepareTransactionRequest tries eth_fillTransaction first.
  const hash = await walletClient.sendTransaction({ to: devAccount(2).address, value: 1234n });
  const receipt = await publicClient.waitForTransactionReceipt({ hash, timeout: 30_000 });
  assert.equal(receipt.status, 'success');
  assert.equal(await publicClient.getBalance({ address: devAccount(2).address }), parseEther('10000') + 1234n);
  assert.ok(methods.includes('eth_fillTransaction'), `viem did not try eth_fillTransaction: ${methods.join(', ')}`);
  assert.ok(methods.includes('eth_sendRawTransaction'), `no eth_sendRawTransaction: ${methods.join(', ')}`);

  // The -32601 is remembered: a second send goes straight to the individual calls.
  const seen = methods.length;
  const second = await walletClient.sendTransaction({ to: devAccount(2).address, value: 1n });
  assert.equal((await publicClient.waitForTransactionReceipt({ hash: second, timeout: 30_000 })).status, 'success');
  if (REFERENCE !== 'anvil') {
    assert.ok(!methods.slice(seen).includes('eth_fillTransaction'), `retried eth_fillTransaction: ${methods.slice(seen).join(', ')}`);
  }
});

test('viem deploys a contract and watches its event over WebSocket', TIMEOUT, async (t) => {
  const node = await withNode(t);
  const { publicClient, walletClient, chain } = clients(node);
  const { abi, address } = await deployStore(publicClient, walletClient);
  assert.equal(await publicClient.readContract({ address, abi, functionName: 'value' }), 42n);

  const wsTransport = webSocket(node.wsUrl, { retryCount: 0 });
  const wsClient = createPublicClient({ chain, transport: wsTransport });
  t.after(async () => (await wsClient.transport.getRpcClient()).close());

  let unwatch;
  const arrived = new Promise((resolve, reject) => {
    unwatch = wsClient.watchContractEvent({
      address,
      abi,
      eventName: 'ValueSet',
      onLogs: (logs) => resolve(logs),
      onError: reject,
    });
  });
  t.after(() => unwatch());
  // Give eth_subscribe time to be registered before the event is emitted.
  await new Promise((r) => setTimeout(r, 500));

  const gas = await publicClient.estimateContractGas({ address, abi, functionName: 'set', args: [7n], account: devAccount(0) });
  assert.ok(gas > 21000n && gas < 100000n, `estimateContractGas(set) = ${gas}`);
  const hash = await walletClient.writeContract({ address, abi, functionName: 'set', args: [7n] });
  const receipt = await publicClient.waitForTransactionReceipt({ hash, timeout: 30_000 });
  assert.equal(receipt.status, 'success');

  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('no ValueSet log over WebSocket within 15 s')), 15_000).unref());
  const logs = await Promise.race([arrived, timeout]);
  assert.equal(logs.length, 1);
  const [log] = logs;
  assert.equal(log.transactionHash, hash);
  assert.equal(log.blockHash, receipt.blockHash);
  assert.equal(log.args.setter.toLowerCase(), devAccount(0).address.toLowerCase());
  assert.equal(log.args.oldValue, 42n);
  assert.equal(log.args.newValue, 7n);
  assert.equal(await publicClient.readContract({ address, abi, functionName: 'value' }), 7n);

  // A call that reverts surfaces its reason through viem.
  await assert.rejects(
    publicClient.simulateContract({ address, abi, functionName: 'fail', account: devAccount(0) }),
    (error) => /Store: always fails/.test(error.message) || assert.fail(error.message),
  );
});

test('viem reads fee history and the latest block', TIMEOUT, async (t) => {
  const node = await withNode(t);
  const { publicClient, walletClient } = clients(node);
  for (const value of [1n, 2n, 3n]) {
    const hash = await walletClient.sendTransaction({ to: devAccount(3).address, value });
    await publicClient.waitForTransactionReceipt({ hash, timeout: 30_000 });
  }
  const latest = await publicClient.getBlock({ blockTag: 'latest' });
  assert.ok(latest.number >= 3n, `latest block ${latest.number}`);
  assert.equal(typeof latest.baseFeePerGas, 'bigint');

  const history = await publicClient.getFeeHistory({ blockCount: 3, rewardPercentiles: [25, 75] });
  assert.equal(history.oldestBlock, latest.number - 2n);
  assert.equal(history.baseFeePerGas.length, 4);
  assert.equal(history.gasUsedRatio.length, 3);
  assert.equal(history.reward.length, 3);
  for (const r of history.reward) assert.equal(r.length, 2);
  assert.equal(history.baseFeePerGas[2], latest.baseFeePerGas);
  for (const ratio of history.gasUsedRatio) assert.ok(ratio >= 0 && ratio <= 1, `gasUsedRatio ${ratio}`);

  const fees = await publicClient.estimateFeesPerGas();
  assert.ok(fees.maxFeePerGas >= latest.baseFeePerGas, `maxFeePerGas ${fees.maxFeePerGas} < base fee ${latest.baseFeePerGas}`);
});

test('eth_sendRawTransactionSync returns the receipt', TIMEOUT, async (t) => {
  const node = await withNode(t);
  const { publicClient } = clients(node);
  const account = devAccount(4);
  const block = await publicClient.getBlock({ blockTag: 'latest' });
  const serialized = await account.signTransaction({
    chainId: 1337,
    type: 'eip1559',
    nonce: 0,
    to: devAccount(5).address,
    value: 99n,
    gas: 21000n,
    maxFeePerGas: block.baseFeePerGas * 2n + parseGwei('1'),
    maxPriorityFeePerGas: parseGwei('1'),
  });
  const receipt = await publicClient.request({ method: 'eth_sendRawTransactionSync', params: [serialized] });
  assert.equal(receipt.status, '0x1', JSON.stringify(receipt));
  assert.equal(receipt.from.toLowerCase(), account.address.toLowerCase());
  assert.equal(receipt.to.toLowerCase(), devAccount(5).address.toLowerCase());
  assert.equal(BigInt(receipt.gasUsed), 21000n);
  assert.match(receipt.blockHash, /^0x[0-9a-f]{64}$/);

  // It is the same receipt the node serves afterwards, in a block that holds the transaction.
  const stored = await publicClient.request({ method: 'eth_getTransactionReceipt', params: [receipt.transactionHash] });
  assert.deepEqual(stored, receipt);
  const mined = await publicClient.getBlock({ blockHash: receipt.blockHash });
  assert.ok(mined.transactions.includes(receipt.transactionHash));
  assert.equal(await publicClient.getBalance({ address: devAccount(5).address }), parseEther('10000') + 99n);
});
