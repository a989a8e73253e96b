// Settlement end to end: anvil as L1, a sequencer posting batches, a follower rebuilding the
// chain from L1 alone, a withdrawal claimed on L1, and an L1 reorg under the batcher.
//
// The test starts its own anvil (so killing the sequencer does not take the L1 with it) and
// passes it with --l1-rpc; the dev sequencer deploys Rollup and Bridge there itself.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createPublicClient, createWalletClient, defineChain, encodeFunctionData, http, keccak256, parseEther, parseEventLogs, parseGwei, toBytes } from 'viem';
import { generatePrivateKey, mnemonicToAccount, privateKeyToAccount } from 'viem/accounts';
import { devAccount, lanesDev, MNEMONIC, REFERENCE, ROOT, rpc, rpcRaw, startAnvil, startNode, waitFor } from './harness.mjs';

const artifact = (name) => JSON.parse(readFileSync(join(ROOT, 'contracts', 'artifacts', `${name}.json`), 'utf8'));
const L2_WITHDRAWALS = '0x4c00000000000000000000000000000000000001';
const L2_DEPOSITS = '0x4c00000000000000000000000000000000000002';
const TXS = Number(process.env.LANES_E2E_SETTLEMENT_TXS ?? 300);

test('settlement: batches on L1, follower from empty datadir, withdrawal claim, L1 reorg', { skip: REFERENCE === 'anvil' && 'needs the lanes node', timeout: 600_000 }, async (t) => {
  const anvil = await startAnvil();
  t.after(() => anvil.stop());
  const l1Chain = defineChain({ id: 31337, name: 'anvil', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [anvil.url] } } });
  const l1 = createPublicClient({ chain: l1Chain, transport: http(anvil.url) });

  let seq = await startNode({ name: 'settlement-sequencer', args: ['--l1-rpc', anvil.url, '--batch.max-age', '1s', '--block-time', '100ms'] });
  t.after(() => seq.stop());
  const config = await seq.rpc('lanes_rollupConfig');
  assert.equal(config.l1ChainId, 31337);
  assert.equal(config.role, 'sequencer');
  assert.match(config.rollup, /^0x[0-9a-fA-F]{40}$/);
  assert.ok((await l1.getCode({ address: config.rollup })).length > 2, 'Rollup deployed');

  // A few hundred transfers from four senders, signed locally, sent raw.
  const l2 = createPublicClient({ chain: lanesDev, transport: http(seq.url) });
  const senders = [1, 2, 3, 4].map(devAccount);
  const nonces = await Promise.all(senders.map((a) => l2.getTransactionCount({ address: a.address })));
  const hashes = [];
  for (let i = 0; i < TXS; i++) {
    const k = i % senders.length;
    const raw = await senders[k].signTransaction({
      chainId: lanesDev.id, type: 'eip1559', nonce: nonces[k]++, to: devAccount(5 + (i % 3)).address,
      value: BigInt(1000 + i), gas: 21000n, maxFeePerGas: parseGwei('20'), maxPriorityFeePerGas: parseGwei('1'),
    });
    hashes.push(await seq.rpc('eth_sendRawTransaction', [raw]));
  }
  // Deposit 2 ETH on L1 to a fresh L2 account; the sequencer pays it out on L2 with a system
  // transaction whose receipt carries L2Deposits' DepositFinalized.
  const bridgeAbi = artifact('Bridge').abi;
  const depositsAbi = artifact('L2Deposits').abi;
  const depositor = createWalletClient({ account: mnemonicToAccount(MNEMONIC, { addressIndex: 3 }), chain: l1Chain, transport: http(anvil.url) });
  const withdrawer = privateKeyToAccount(generatePrivateKey());
  const dTx = await depositor.writeContract({ address: config.bridge, abi: bridgeAbi, functionName: 'depositETH', args: [withdrawer.address], value: parseEther('2') });
  const dReceipt = await l1.waitForTransactionReceipt({ hash: dTx });
  const [queued] = parseEventLogs({ abi: bridgeAbi, logs: dReceipt.logs, eventName: 'DepositQueued' });
  assert.equal(queued.args.index, 0n);
  await waitFor(async () => (await l2.getBalance({ address: withdrawer.address })) === parseEther('2'), { timeoutMs: 60_000, intervalMs: 300, what: 'the deposit paid out on L2' });
  const depositLogs = await l2.getContractEvents({ address: L2_DEPOSITS, abi: depositsAbi, eventName: 'DepositFinalized', fromBlock: 0n });
  assert.equal(depositLogs.length, 1);
  assert.equal(depositLogs[0].args.to, withdrawer.address);
  assert.equal(depositLogs[0].args.depositHash, queued.args.depositHash);
  const depositTx = await l2.getTransaction({ hash: depositLogs[0].transactionHash });
  assert.equal(depositTx.to.toLowerCase(), L2_DEPOSITS);
  assert.equal((await l2.getTransactionReceipt({ hash: depositLogs[0].transactionHash })).status, 'success');
  // Nobody else may send from the deposit system account.
  // Nobody else may send from the deposit system account, although its key is public.
  const system = privateKeyToAccount(keccak256(toBytes('lanes/l2/deposit-system')));
  assert.equal(depositTx.from.toLowerCase(), system.address.toLowerCase());
  const forgedRaw = await system.signTransaction({ chainId: lanesDev.id, type: 'eip1559', nonce: 1, to: withdrawer.address, value: 1n, gas: 21000n, maxFeePerGas: parseGwei('20'), maxPriorityFeePerGas: 0n });
  const forged = await rpcRaw(seq.url, 'eth_sendRawTransaction', [forgedRaw]);
  assert.equal(forged.error?.code, -32000);
  assert.match(forged.error?.message ?? '', /deposit system account/);

  // The depositor's L2 account withdraws 1 ETH to an L1 account that holds nothing else we touch.
  const l1Recipient = '0x000000000000000000000000000000000000bEEF';
  const l2Wallet = createWalletClient({ account: withdrawer, chain: lanesDev, transport: http(seq.url) });
  const withdrawalsAbi = artifact('L2Withdrawals').abi;
  const wHash = await l2Wallet.sendTransaction({
    to: L2_WITHDRAWALS, value: parseEther('1'), gas: 100000n,
    data: encodeFunctionData({ abi: withdrawalsAbi, functionName: 'withdraw', args: [l1Recipient] }),
  });
  const wReceipt = await l2.waitForTransactionReceipt({ hash: wHash, timeout: 60_000 });
  assert.equal(wReceipt.status, 'success');
  await waitFor(async () => (await l2.getTransactionReceipt({ hash: hashes.at(-1) }).catch(() => null)) !== null, { timeoutMs: 60_000, what: 'transfers included' });

  // Everything batched, committed and (dev) finalized.
  const head = await l2.getBlock({ blockTag: 'latest' });
  let lastBatch;
  await waitFor(async () => {
    const c = await seq.rpc('lanes_rollupConfig');
    if (c.lastFinalizedBatch < 1) return false;
    const b = await seq.rpc('lanes_batchStatus', [c.lastFinalizedBatch]);
    if (BigInt(b.lastBlock) < head.number) return false;
    lastBatch = b;
    return true;
  }, { timeoutMs: 120_000, intervalMs: 500, what: 'all blocks in finalized batches' });
  assert.equal(lastBatch.state, 'finalized');
  // The batches consumed the deposit, with the Bridge's rolling hash (commitBatch checked it).
  assert.equal(lastBatch.depositCount, 1);
  assert.equal(lastBatch.depositHash, queued.args.depositHash);

  // Cost per L2 transaction, from the batches' receipts.
  let gas = 0, bytes = 0, txs = 0;
  for (let i = 1; i <= lastBatch.index; i++) {
    const b = await seq.rpc('lanes_batchStatus', [i]);
    assert.ok(b.l1Tx, `batch ${i} landed`);
    gas += b.l1GasUsed; bytes += b.dataSize; txs += b.txCount;
  }
  console.log(`# calldata DA: ${lastBatch.index} batches, ${txs} L2 txs, ${bytes} bytes (${(bytes / txs).toFixed(1)} B/tx), ${gas} L1 gas (${(gas / txs).toFixed(0)} gas/tx)`);
  assert.equal(txs, TXS + 2); // the transfers, the deposit, the withdrawal
  if (process.env.LANES_E2E_DUMP_BATCH) {
    // For measuring compression offline: the commit calldata of batch 1.
    const tx = await l1.getTransaction({ hash: (await seq.rpc('lanes_batchStatus', [1])).l1Tx });
    writeFileSync(process.env.LANES_E2E_DUMP_BATCH, tx.input);
  }

  // Claim the withdrawal on L1 with the node's proof.
  const proof = await seq.rpc('lanes_getWithdrawalProof', ['0x0']);
  assert.equal(proof.withdrawal.to.toLowerCase(), l1Recipient.toLowerCase());
  const l1Wallet = createWalletClient({ account: mnemonicToAccount(MNEMONIC, { addressIndex: 3 }), chain: l1Chain, transport: http(anvil.url) });
  const w = { id: BigInt(proof.withdrawal.id), from: proof.withdrawal.from, to: proof.withdrawal.to, amount: BigInt(proof.withdrawal.amount) };
  // The Bridge pays the claim out of the deposit it holds.
  assert.equal(await l1.getBalance({ address: config.bridge }), parseEther('2'));
  const before = await l1.getBalance({ address: l1Recipient });
  const claim = await l1Wallet.writeContract({ address: config.bridge, abi: bridgeAbi, functionName: 'claimWithdrawal', args: [BigInt(proof.batchIndex), w, BigInt(proof.leafIndex), proof.proof] });
  assert.equal((await l1.waitForTransactionReceipt({ hash: claim })).status, 'success');
  assert.equal((await l1.getBalance({ address: l1Recipient })) - before, parseEther('1'));
  // A second claim reverts.
  await assert.rejects(l1.simulateContract({ account: l1Wallet.account, address: config.bridge, abi: bridgeAbi, functionName: 'claimWithdrawal', args: [BigInt(proof.batchIndex), w, BigInt(proof.leafIndex), proof.proof] }), /AlreadyClaimed/);

  // Kill the sequencer; a follower with an empty datadir rebuilds the chain from L1.
  const seqHead = await l2.getBlock({ blockTag: 'latest' });
  const seqDatadir = seq.datadir;
  await seq.kill9();
  t.after(() => rmSync(seqDatadir, { recursive: true, force: true }));
  const follower = await startNode({ name: 'settlement-follower', args: ['--follow', '--l1-rpc', anvil.url, '--rollup', config.rollup, '--l1.confirmations', '0'] });
  t.after(() => follower.stop());
  await waitFor(async () => {
    const b = await rpc(follower.url, 'eth_getBlockByNumber', ['latest', false]);
    return BigInt(b.number) >= seqHead.number;
  }, { timeoutMs: 120_000, intervalMs: 500, what: 'follower caught up' });
  const fHead = await rpc(follower.url, 'eth_getBlockByNumber', [`0x${seqHead.number.toString(16)}`, false]);
  assert.equal(fHead.hash, seqHead.hash);
  assert.equal(fHead.stateRoot, seqHead.stateRoot);
  const fTx = await rpc(follower.url, 'eth_getTransactionReceipt', [wHash]);
  assert.equal(fTx.status, '0x1');
  const ro = await rpcRaw(follower.url, 'eth_sendRawTransaction', ['0x02']);
  assert.match(ro.error?.message ?? '', /read-only/);
  const fConfig = await rpc(follower.url, 'lanes_rollupConfig');
  assert.equal(fConfig.halted, null);

  // Restart the sequencer on its datadir; reorg L1 under the batcher and watch it re-post.
  seq = await startNode({ name: 'settlement-sequencer-2', datadir: seqDatadir, args: ['--l1-rpc', anvil.url, '--batch.max-age', '1s', '--block-time', '100ms'] });
  t.after(() => seq.stop());
  const rollupAbi = artifact('Rollup').abi;
  const onL1 = async (functionName, args = []) => l1.readContract({ address: config.rollup, abi: rollupAbi, functionName, args });
  // The node reads L1 before it serves RPC: its view is never a default zero.
  const committedAtStart = Number(await onL1('lastCommitted'));
  assert.ok((await seq.rpc('lanes_rollupConfig')).lastCommittedBatch >= committedAtStart);
  const snapshot = await rpc(anvil.url, 'evm_snapshot');
  const sender = devAccount(7);
  const l2b = createPublicClient({ chain: lanesDev, transport: http(seq.url) });
  const n = await l2b.getTransactionCount({ address: sender.address });
  const raw = await sender.signTransaction({ chainId: lanesDev.id, type: 'eip1559', nonce: n, to: devAccount(8).address, value: 1n, gas: 21000n, maxFeePerGas: parseGwei('20'), maxPriorityFeePerGas: parseGwei('1') });
  const rHash = await seq.rpc('eth_sendRawTransaction', [raw]);
  const rBlock = (await l2b.waitForTransactionReceipt({ hash: rHash, timeout: 60_000 })).blockNumber;
  // Wait until the batch holding that block is committed on L1 (after the snapshot, since
  // the block did not exist before it).
  let committedBefore = 0;
  await waitFor(async () => {
    committedBefore = Number(await onL1('lastCommitted'));
    if (committedBefore === 0) return false;
    const b = await seq.rpc('lanes_batchStatus', [committedBefore]);
    return BigInt(b.lastBlock) >= rBlock;
  }, { timeoutMs: 60_000, intervalMs: 300, what: `the batch with L2 block ${rBlock} committed` });
  const posted = [];
  for (let i = committedAtStart + 1; i <= committedBefore; i++) posted.push(await onL1('batchHash', [BigInt(i)]));
  // Make the reorg also strand a transaction in flight behind a nonce gap (the hard case):
  // stop L1 mining, give the batcher a new batch to commit, and wait until its commit is
  // pending.
  await rpc(anvil.url, 'evm_setIntervalMining', [0]);
  const batcherAddress = mnemonicToAccount(MNEMONIC, { addressIndex: 9 }).address;
  const raw2 = await sender.signTransaction({ chainId: lanesDev.id, type: 'eip1559', nonce: n + 1, to: devAccount(8).address, value: 2n, gas: 21000n, maxFeePerGas: parseGwei('20'), maxPriorityFeePerGas: parseGwei('1') });
  await seq.rpc('eth_sendRawTransaction', [raw2]);
  await waitFor(async () => (await l1.getTransactionCount({ address: batcherAddress, blockTag: 'pending' })) > (await l1.getTransactionCount({ address: batcherAddress })), { timeoutMs: 30_000, intervalMs: 100, what: 'the batcher\'s next L1 transaction pending' });
  // Reorg L1 back to the snapshot: the commit of that batch is gone from the Rollup.
  assert.equal(await rpc(anvil.url, 'evm_revert', [snapshot]), true);
  await rpc(anvil.url, 'evm_setIntervalMining', [1]);
  const committedAfterReorg = Number(await onL1('lastCommitted'));
  assert.ok(committedAfterReorg < committedBefore, `the reorg dropped a commit (${committedAfterReorg} < ${committedBefore})`);
  // The batcher notices and posts the same batches again, in order.
  await waitFor(async () => {
    if (Number(await onL1('lastCommitted')) < committedBefore) return false;
    for (let i = committedAtStart + 1; i <= committedBefore; i++) {
      if ((await onL1('batchHash', [BigInt(i)])) !== posted[i - committedAtStart - 1]) return false;
    }
    const b = await seq.rpc('lanes_batchStatus', [committedBefore]);
    return b.state !== 'pending' && b.l1Tx !== null && b.l1Block !== null;
  }, { timeoutMs: 90_000, intervalMs: 300, what: `batches ${committedAfterReorg + 1}..=${committedBefore} re-posted after the reorg` });
  const target = committedBefore;
  const reposted = await seq.rpc('lanes_batchStatus', [target]);
  assert.equal(reposted.batchHash, posted.at(-1));
  assert.equal(new Set(reposted.l1Transactions).size, reposted.l1Transactions.length, 'each L1 transaction listed once');
  // The follower picks up the re-posted batch too.
  const seqHead2 = await createPublicClient({ chain: lanesDev, transport: http(seq.url) }).getBlock({ blockTag: 'latest' });
  await waitFor(async () => {
    const b = await rpc(follower.url, 'eth_getBlockByNumber', [`0x${seqHead2.number.toString(16)}`, false]);
    return b && b.hash === seqHead2.hash;
  }, { timeoutMs: 60_000, intervalMs: 500, what: 'follower derived the re-posted batch' });
});

test('settlement: --da blob posts EIP-4844 blobs and a follower derives from them', { skip: REFERENCE === 'anvil' && 'needs the lanes node', timeout: 300_000 }, async (t) => {
  const anvil = await startAnvil();
  t.after(() => anvil.stop());
  const l1Chain = defineChain({ id: 31337, name: 'anvil', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [anvil.url] } } });
  const l1 = createPublicClient({ chain: l1Chain, transport: http(anvil.url) });
  const seq = await startNode({ name: 'settlement-blob-sequencer', args: ['--l1-rpc', anvil.url, '--da', 'blob', '--batch.max-age', '2s', '--block-time', '100ms'] });
  t.after(() => seq.stop());
  const config = await seq.rpc('lanes_rollupConfig');
  assert.equal(config.da, 'blob');
  const l2 = createPublicClient({ chain: lanesDev, transport: http(seq.url) });
  const senders = [1, 2].map(devAccount);
  const nonces = await Promise.all(senders.map((a) => l2.getTransactionCount({ address: a.address })));
  const N = 100;
  const hashes = [];
  for (let i = 0; i < N; i++) {
    const k = i % senders.length;
    const raw = await senders[k].signTransaction({ chainId: lanesDev.id, type: 'eip1559', nonce: nonces[k]++, to: devAccount(5).address, value: BigInt(1 + i), gas: 21000n, maxFeePerGas: parseGwei('20'), maxPriorityFeePerGas: parseGwei('1') });
    hashes.push(await seq.rpc('eth_sendRawTransaction', [raw]));
  }
  await waitFor(async () => (await l2.getTransactionReceipt({ hash: hashes.at(-1) }).catch(() => null)) !== null, { timeoutMs: 60_000, what: 'transfers included' });
  const head = await l2.getBlock({ blockTag: 'latest' });
  let last;
  await waitFor(async () => {
    const c = await seq.rpc('lanes_rollupConfig');
    if (c.lastFinalizedBatch < 1) return false;
    const b = await seq.rpc('lanes_batchStatus', [c.lastFinalizedBatch]);
    last = b;
    return BigInt(b.lastBlock) >= head.number;
  }, { timeoutMs: 120_000, intervalMs: 500, what: 'all blocks in finalized blob batches' });
  let gas = 0, blobGas = 0, txs = 0, bytes = 0;
  for (let i = 1; i <= last.index; i++) {
    const b = await seq.rpc('lanes_batchStatus', [i]);
    assert.equal(b.da, 'blob');
    const tx = await l1.getTransaction({ hash: b.l1Tx });
    assert.equal(tx.type, 'eip4844', `batch ${i} went in a blob transaction`);
    assert.ok(tx.blobVersionedHashes.length >= 1);
    assert.ok(b.l1BlobGasUsed >= 131072, `batch ${i} used blob gas`);
    gas += b.l1GasUsed; blobGas += b.l1BlobGasUsed; txs += b.txCount; bytes += b.dataSize;
  }
  console.log(`# blob DA: ${last.index} batches, ${txs} L2 txs, ${bytes} bytes of batch data (${(bytes / txs).toFixed(1)} B/tx), ${gas} L1 gas (${(gas / txs).toFixed(0)} gas/tx), ${blobGas} blob gas (${(blobGas / txs).toFixed(0)} blob gas/tx)`);
  // A follower with an empty datadir reads the blobs back (checking each against its versioned
  // hash) and reaches the same head.
  const follower = await startNode({ name: 'settlement-blob-follower', args: ['--follow', '--l1-rpc', anvil.url, '--rollup', config.rollup, '--l1.confirmations', '0'] });
  t.after(() => follower.stop());
  await waitFor(async () => {
    const b = await rpc(follower.url, 'eth_getBlockByNumber', [`0x${head.number.toString(16)}`, false]);
    return b && b.hash === head.hash;
  }, { timeoutMs: 120_000, intervalMs: 500, what: 'follower derived the blob batches' });
  assert.equal((await rpc(follower.url, 'lanes_rollupConfig')).halted, null);
});

test('settlement: `lanes node --dev` starts its own L1 and keeps it across a restart', { skip: REFERENCE === 'anvil' && 'needs the lanes node', timeout: 120_000 }, async (t) => {
  const node = await startNode({ name: 'settlement-dev-l1', args: ['--with-dev-l1', '--batch.max-age', '1s', '--block-time', '100ms'] });
  t.after(() => node.stop());
  const config = await node.rpc('lanes_rollupConfig');
  assert.equal(config.l1ChainId, 31337);
  assert.match(config.l1Rpc, /^http:\/\/127\.0\.0\.1:\d+$/);
  const sender = devAccount(1);
  const raw = await sender.signTransaction({ chainId: lanesDev.id, type: 'eip1559', nonce: 0, to: devAccount(2).address, value: 1n, gas: 21000n, maxFeePerGas: parseGwei('20'), maxPriorityFeePerGas: parseGwei('1') });
  await node.rpc('eth_sendRawTransaction', [raw]);
  await waitFor(async () => (await node.rpc('lanes_rollupConfig')).lastFinalizedBatch >= 1, { timeoutMs: 60_000, intervalMs: 300, what: 'batch 1 finalized on the dev L1' });
  const batch = await node.rpc('lanes_batchStatus', [1]);
  assert.equal(batch.state, 'finalized');
  assert.equal(batch.txCount, 1);
  // A clean stop dumps anvil's state; the restarted node finds the same contracts and batch.
  const datadir = node.datadir;
  await node.stop({ keepDatadir: true });
  const again = await startNode({ name: 'settlement-dev-l1-restart', datadir, args: ['--with-dev-l1', '--batch.max-age', '1s'] });
  t.after(async () => {
    await again.stop();
    rmSync(datadir, { recursive: true, force: true });
  });
  const config2 = await again.rpc('lanes_rollupConfig');
  assert.equal(config2.rollup, config.rollup);
  await waitFor(async () => (await again.rpc('lanes_rollupConfig')).lastFinalizedBatch >= 1, { timeoutMs: 30_000, intervalMs: 300, what: 'restarted node sees batch 1' });
  assert.equal((await again.rpc('lanes_batchStatus', [1])).batchHash, batch.batchHash);
});
