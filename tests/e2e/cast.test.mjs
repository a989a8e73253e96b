// Foundry's `cast` (pinned, from node_modules) against a real dev node.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeAbiParameters, pad, parseEther } from 'viem';
import { compile } from './compile.mjs';
import { devAccount, devKey, foundryBin, run, withNode } from './harness.mjs';

const CAST = foundryBin('cast');
const TIMEOUT = { timeout: 120_000 };

/** Puts `--rpc-url` (and any flags) right after the subcommand: cast takes trailing args verbatim. */
function castArgs(node, [subcommand, ...rest], flags = []) {
  return [subcommand, '--rpc-url', node.url, ...flags, ...rest];
}

/** Runs `cast <subcommand> --rpc-url <node> ...` and returns stdout; fails the test otherwise. */
async function cast(node, ...args) {
  return castWith(node, [], args);
}

async function castWith(node, flags, args) {
  const out = await run(CAST, castArgs(node, args, flags));
  assert.equal(out.status, 0, `cast ${args.join(' ')} exited ${out.status}\nstdout: ${out.stdout}\nstderr: ${out.stderr}`);
  return out.stdout;
}

/** Runs cast expecting failure; returns stdout and stderr together. */
async function castFails(node, ...args) {
  const out = await run(CAST, castArgs(node, args));
  assert.notEqual(out.status, 0, `cast ${args.join(' ')} unexpectedly succeeded: ${out.stdout}`);
  return `${out.stdout}\n${out.stderr}`;
}

async function castJson(node, ...args) {
  return JSON.parse(await castWith(node, ['--json'], args));
}

test('cast chain-id, block latest and rpc', TIMEOUT, async (t) => {
  const node = await withNode(t);
  assert.equal(await cast(node, 'chain-id'), '1337');
  assert.equal(await cast(node, 'rpc', 'net_version'), '"1337"');

  const block = await castJson(node, 'block', 'latest');
  for (const field of ['number', 'hash', 'parentHash', 'stateRoot', 'baseFeePerGas', 'gasLimit', 'timestamp']) {
    assert.ok(block[field] !== undefined && block[field] !== null, `block latest lacks ${field}: ${JSON.stringify(block)}`);
  }
  const byNumber = await castJson(node, 'block', String(BigInt(block.number)));
  assert.equal(byNumber.hash, block.hash);
});

test('cast send moves ETH between dev accounts', TIMEOUT, async (t) => {
  const node = await withNode(t);
  const from = devAccount(0).address;
  const to = devAccount(1).address;
  const before = BigInt(await cast(node, 'balance', from));
  assert.equal(BigInt(await cast(node, 'balance', to)), parseEther('10000'));

  const receipt = await castJson(node, 'send', '--private-key', devKey(0), to, '--value', '1ether');
  assert.equal(receipt.status, '0x1', JSON.stringify(receipt));
  assert.equal(BigInt(receipt.gasUsed), 21000n);

  const fee = BigInt(receipt.gasUsed) * BigInt(receipt.effectiveGasPrice);
  assert.equal(BigInt(await cast(node, 'balance', to)), parseEther('10001'));
  assert.equal(BigInt(await cast(node, 'balance', from)), before - parseEther('1') - fee);
  assert.equal(await cast(node, 'nonce', from), '1');

  const again = await castJson(node, 'receipt', receipt.transactionHash);
  assert.equal(again.blockHash, receipt.blockHash);
  assert.equal(again.transactionHash, receipt.transactionHash);
  const tx = await castJson(node, 'tx', receipt.transactionHash);
  assert.equal(tx.from.toLowerCase(), from.toLowerCase());
  assert.equal(BigInt(tx.value), parseEther('1'));

  // Enough blocks now exist for a fee history over the last two.
  await castJson(node, 'send', '--private-key', devKey(1), from, '--value', '1');
  const history = JSON.parse(await cast(node, 'rpc', 'eth_feeHistory', '0x2', 'latest', '[25,75]'));
  assert.equal(history.baseFeePerGas.length, 3, JSON.stringify(history));
  assert.equal(history.gasUsedRatio.length, 2, JSON.stringify(history));
  assert.equal(history.reward.length, 2, JSON.stringify(history));
  for (const rewards of history.reward) assert.equal(rewards.length, 2, JSON.stringify(history));
  const latest = await castJson(node, 'block', 'latest');
  assert.equal(BigInt(history.oldestBlock), BigInt(latest.number) - 1n);
});

test('cast deploys, calls, reads logs of, and reverts a contract', TIMEOUT, async (t) => {
  const node = await withNode(t);
  const { bytecode } = compile('Store');
  const deployer = devAccount(0).address;

  const deployed = await castJson(node, 'send', '--private-key', devKey(0), '--create', bytecode, 'constructor(uint256)', '42');
  assert.equal(deployed.status, '0x1', JSON.stringify(deployed));
  const store = deployed.contractAddress;
  assert.match(store ?? '', /^0x[0-9a-fA-F]{40}$/, `no contractAddress in ${JSON.stringify(deployed)}`);
  assert.notEqual(await cast(node, 'code', store), '0x');
  assert.equal(await cast(node, 'call', store, 'value()(uint256)'), '42');

  const set = await castJson(node, 'send', '--private-key', devKey(0), store, 'set(uint256)', '7');
  assert.equal(set.status, '0x1', JSON.stringify(set));
  assert.equal(set.logs.length, 1, JSON.stringify(set));
  assert.equal(await cast(node, 'call', store, 'value()(uint256)'), '7');

  const logs = await castJson(node, 'logs', '--from-block', '0', '--to-block', 'latest', '--address', store, 'ValueSet(address indexed,uint256,uint256)');
  assert.equal(logs.length, 1, JSON.stringify(logs));
  const [log] = logs;
  assert.equal(log.address.toLowerCase(), store.toLowerCase());
  assert.equal(log.transactionHash, set.transactionHash);
  assert.equal(log.blockHash, set.blockHash);
  assert.equal(log.topics[1].toLowerCase(), pad(deployer.toLowerCase()));
  const [oldValue, newValue] = decodeAbiParameters([{ type: 'uint256' }, { type: 'uint256' }], log.data);
  assert.deepEqual([oldValue, newValue], [42n, 7n]);

  // A topic filter on the indexed setter finds it; one for another setter finds nothing.
  const bySetter = await castJson(node, 'logs', '--from-block', '0', '--address', store, 'ValueSet(address indexed,uint256,uint256)', deployer);
  assert.equal(bySetter.length, 1);
  const byOther = await castJson(node, 'logs', '--from-block', '0', '--address', store, 'ValueSet(address indexed,uint256,uint256)', devAccount(1).address);
  assert.equal(byOther.length, 0);

  const receipt = await castJson(node, 'receipt', set.transactionHash);
  assert.equal(receipt.status, '0x1');
  assert.equal(receipt.to.toLowerCase(), store.toLowerCase());
  assert.equal(receipt.logs[0].topics[0], log.topics[0]);

  // The revert reason reaches the user, both from eth_call and from gas estimation for a send.
  const callOutput = await castFails(node, 'call', store, 'fail()');
  assert.match(callOutput, /Store: always fails/, callOutput);
  const sendOutput = await castFails(node, 'send', '--private-key', devKey(0), store, 'fail()');
  assert.match(sendOutput, /Store: always fails/, sendOutput);

  // Sent anyway (explicit gas, no estimation) it is mined and fails on chain.
  const failed = await castJson(node, 'send', '--private-key', devKey(0), '--gas-limit', '100000', store, 'fail()');
  assert.equal(failed.status, '0x0', JSON.stringify(failed));
  assert.equal(await cast(node, 'call', store, 'value()(uint256)'), '7');
});
