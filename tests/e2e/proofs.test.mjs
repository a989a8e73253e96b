// Batch proofs end to end: anvil as L1, a sequencer whose prover task proves every committed
// batch and finalizes it on L1 with the proof's hash and public inputs, a follower that fetches
// each proof, checks it against L1 and verifies it before calling the batch final, a follower
// whose proof source has no proofs (never final), and `lanes prove` as its own process.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createPublicClient, defineChain, http, parseGwei } from 'viem';
import { devAccount, lanesBin, lanesDev, REFERENCE, ROOT, rpc, rpcRaw, run, startAnvil, startNode, waitFor } from './harness.mjs';

const rollupAbi = JSON.parse(readFileSync(join(ROOT, 'contracts', 'artifacts', 'Rollup.json'), 'utf8')).abi;

/** Sends `n` transfers from dev accounts 1 and 2 and waits until the last is included. */
async function sendTransfers(node, n) {
  const l2 = createPublicClient({ chain: lanesDev, transport: http(node.url) });
  const senders = [1, 2].map(devAccount);
  const nonces = await Promise.all(senders.map((a) => l2.getTransactionCount({ address: a.address })));
  let last;
  for (let i = 0; i < n; i++) {
    const k = i % senders.length;
    const raw = await senders[k].signTransaction({ chainId: lanesDev.id, type: 'eip1559', nonce: nonces[k]++, to: devAccount(5 + (i % 3)).address, value: BigInt(1 + i), gas: 21000n, maxFeePerGas: parseGwei('20'), maxPriorityFeePerGas: parseGwei('1') });
    last = await node.rpc('eth_sendRawTransaction', [raw]);
  }
  await l2.waitForTransactionReceipt({ hash: last, timeout: 60_000 });
  return l2.getBlock({ blockTag: 'latest' });
}

test('proofs: the prover finalizes with proofs; a follower verifies them; `lanes prove` works on its own', { skip: REFERENCE === 'anvil' && 'needs the lanes node', timeout: 600_000 }, async (t) => {
  const anvil = await startAnvil();
  t.after(() => anvil.stop());
  const l1Chain = defineChain({ id: 31337, name: 'anvil', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [anvil.url] } } });
  const l1 = createPublicClient({ chain: l1Chain, transport: http(anvil.url) });

  // 1. A dev sequencer with its prover on (the default in dev).
  const seq = await startNode({ name: 'proofs-sequencer', args: ['--l1-rpc', anvil.url, '--batch.max-age', '1s', '--block-time', '100ms', '--prover.security', 'fast'] });
  t.after(() => seq.stop());
  const config = await seq.rpc('lanes_rollupConfig');
  assert.equal(config.prover, true);
  const onL1 = (functionName, args = [], address = config.rollup) => l1.readContract({ address, abi: rollupAbi, functionName, args });
  assert.equal((await onL1('batches', [0n])).stateCommitment, config.genesisStateCommitment);

  const head = await sendTransfers(seq, 60);
  let last;
  await waitFor(async () => {
    const c = await seq.rpc('lanes_rollupConfig');
    if (c.lastFinalizedBatch < 1) return false;
    last = await seq.rpc('lanes_batchStatus', [c.lastFinalizedBatch]);
    return BigInt(last.lastBlock) >= head.number;
  }, { timeoutMs: 180_000, intervalMs: 500, what: 'every block in a batch finalized with a proof' });

  // Every batch: its proof's hash is what L1 recorded, its public inputs are the ones the
  // Rollup derives from the committed batches, and the finalization says `proven`.
  for (let i = 1; i <= last.index; i++) {
    const b = await seq.rpc('lanes_batchStatus', [i]);
    const p = await seq.rpc('lanes_getBatchProof', [i]);
    const info = await onL1('batches', [BigInt(i)]);
    assert.equal(p.proofHash, info.proofHash, `batch ${i}: proof hash on L1`);
    assert.equal(p.proofHash, b.proofHash);
    assert.equal(p.publicInputsHash, await onL1('publicInputsHashOf', [BigInt(i)]), `batch ${i}: public inputs`);
    assert.equal(p.publicInputs.newCommitment, info.stateCommitment);
    assert.equal(p.publicInputs.dataHash, info.payloadHash);
    assert.equal(b.stateCommitment, info.stateCommitment);
    assert.ok(b.diffEntries > 0 || b.txCount === 0, `batch ${i} carries its state diff`);
    assert.ok(p.proofSize > 100_000 && p.proof.length === 2 + 2 * p.proofSize);
    assert.equal(p.security, 'fast');
    console.log(`# batch ${i}: ${b.txCount} txs, ${b.diffEntries} diff entries, ${b.dataSize} B of data, proof ${p.proofSize} B in ${p.proveSeconds.toFixed(2)} s`);
  }
  const finalized = await l1.getContractEvents({ address: config.rollup, abi: rollupAbi, eventName: 'BatchFinalized', fromBlock: 0n });
  assert.ok(finalized.filter((e) => e.args.index >= 1n).every((e) => e.args.proven), 'finalized with proofs only');
  for (const e of finalized.filter((e) => e.args.index >= 1n)) {
    const r = await l1.getTransactionReceipt({ hash: e.transactionHash });
    console.log(`# finalizeBatch(${e.args.index}): ${r.gasUsed} L1 gas`);
  }
  // The `finalized` tag names the last block of the last batch finalized on L1.
  const seqFinal = await rpc(seq.url, 'eth_getBlockByNumber', ['finalized', false]);
  assert.ok(BigInt(seqFinal.number) >= head.number);
  const missing = await rpcRaw(seq.url, 'lanes_getBatchProof', [last.index + 1000]);
  assert.equal(missing.error?.code, -32001);

  // 2. A follower that checks proofs: every finalized batch becomes final once its proof verifies.
  const follower = await startNode({ name: 'proofs-follower', args: ['--follow', '--l1-rpc', anvil.url, '--rollup', config.rollup, '--l1.confirmations', '0', '--proofs-from', seq.url] });
  t.after(() => follower.stop());
  await waitFor(async () => (await rpc(follower.url, 'lanes_rollupConfig')).finalBatch >= last.index, { timeoutMs: 120_000, intervalMs: 500, what: 'the follower verified every proof' });
  // Its `finalized` tag follows the verified batches.
  await waitFor(async () => BigInt((await rpc(follower.url, 'eth_getBlockByNumber', ['finalized', false])).number) >= head.number, { timeoutMs: 30_000, intervalMs: 300, what: 'the follower\'s finalized tag at the verified head' });
  const fb = await rpc(follower.url, 'lanes_batchStatus', [1]);
  assert.equal(fb.state, 'final');
  assert.deepEqual(fb.proof, { status: 'verified' });
  // It serves the proofs it verified, byte for byte.
  assert.equal((await rpc(follower.url, 'lanes_getBatchProof', [1])).proofHash, (await seq.rpc('lanes_getBatchProof', [1])).proofHash);
  assert.equal((await rpc(follower.url, 'lanes_rollupConfig')).halted, null);

  // 3. A follower whose proof source has no proofs derives the same chain but calls nothing final.
  const blind = await startNode({ name: 'proofs-follower-no-source', args: ['--follow', '--l1-rpc', anvil.url, '--rollup', config.rollup, '--l1.confirmations', '0', '--proofs-from', anvil.url] });
  t.after(() => blind.stop());
  await waitFor(async () => {
    const b = await rpc(blind.url, 'eth_getBlockByNumber', [`0x${head.number.toString(16)}`, false]);
    return b && b.hash === head.hash;
  }, { timeoutMs: 120_000, intervalMs: 500, what: 'the second follower derived the chain' });
  const bc = await rpc(blind.url, 'lanes_rollupConfig');
  assert.equal(bc.finalBatch, 0);
  assert.ok(bc.lastFinalizedBatch >= 1);
  assert.equal((await rpc(blind.url, 'lanes_batchStatus', [1])).state, 'finalized', 'finalized on L1, not final here');
  assert.equal((await rpc(blind.url, 'eth_getBlockByNumber', ['finalized', false])).number, '0x0');
  assert.ok(BigInt((await rpc(blind.url, 'eth_getBlockByNumber', ['safe', false])).number) >= head.number);
  await seq.stop();

  // 4. `lanes prove` on its own: a sequencer with `--prover external` commits but does not
  // finalize; the prover process proves and finalizes into that node's data dir, and the node
  // serves the proofs.
  const seq2 = await startNode({ name: 'proofs-external-sequencer', args: ['--l1-rpc', anvil.url, '--batch.max-age', '1s', '--block-time', '100ms', '--prover', 'external'] });
  t.after(() => seq2.stop());
  const config2 = await seq2.rpc('lanes_rollupConfig');
  assert.equal(config2.prover, false);
  const head2 = await sendTransfers(seq2, 20);
  let committed = 0;
  await waitFor(async () => {
    committed = Number(await onL1('lastCommitted', [], config2.rollup));
    if (committed < 1) return false;
    return BigInt((await seq2.rpc('lanes_batchStatus', [committed])).lastBlock) >= head2.number;
  }, { timeoutMs: 60_000, intervalMs: 300, what: 'the second sequencer committed its batches' });
  assert.equal(Number(await onL1('lastFinalized', [], config2.rollup)), 0, 'nothing finalizes without the prover');
  const proved = await run(lanesBin(), ['prove', '--dev', '--l1-rpc', anvil.url, '--rollup', config2.rollup, '--datadir', seq2.datadir, '--prover.security', 'fast', '--once'], { timeoutMs: 300_000 });
  assert.equal(proved.status, 0, proved.stderr);
  assert.match(proved.stderr, /batch finalized on L1 with its proof/);
  assert.ok(Number(await onL1('lastFinalized', [], config2.rollup)) >= committed);
  assert.ok(existsSync(join(seq2.datadir, 'proofs', 'batch-1.proof')));
  const p1 = await seq2.rpc('lanes_getBatchProof', [1]);
  assert.equal(p1.proofHash, (await onL1('batches', [1n], config2.rollup)).proofHash);
  // Run again with nothing left to prove: it stops at once and finalizes nothing twice.
  const again = await run(lanesBin(), ['prove', '--dev', '--l1-rpc', anvil.url, '--rollup', config2.rollup, '--datadir', seq2.datadir, '--once'], { timeoutMs: 60_000 });
  assert.equal(again.status, 0, again.stderr);
  assert.doesNotMatch(again.stderr, /batch finalized/);
  // A key that is not the Rollup's prover is refused before anything is sent, and the key
  // itself never reaches the output.
  const keyFile = join(seq2.datadir, 'not-the-prover.key');
  const key = '0x' + '42'.repeat(32);
  writeFileSync(keyFile, key);
  const wrong = await run(lanesBin(), ['prove', '--dev', '--prover.key-file', keyFile, '--l1-rpc', anvil.url, '--rollup', config2.rollup, '--datadir', seq2.datadir, '--once'], { timeoutMs: 60_000 });
  assert.notEqual(wrong.status, 0);
  assert.match(wrong.stderr, /takes proofs from/);
  assert.ok(!wrong.stderr.includes('42'.repeat(32)));
  const events = await l1.getContractEvents({ address: config2.rollup, abi: rollupAbi, eventName: 'BatchFinalized', fromBlock: 0n });
  assert.ok(events.filter((e) => e.args.index >= 1n).every((e) => e.args.proven));
});
