// Compiles the e2e contracts with solc-js from node_modules (no native solc, no downloads).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const cache = new Map();

/**
 * Compiles `contracts/<name>.sol` and returns `{ abi, bytecode }` for contract `name`
 * (bytecode is `0x`-prefixed creation code). Cancun rules, optimizer on.
 */
export function compile(name = 'Store') {
  if (cache.has(name)) return cache.get(name);
  const solc = require('solc');
  const file = `${name}.sol`;
  const input = {
    language: 'Solidity',
    sources: { [file]: { content: readFileSync(join(here, 'contracts', file), 'utf8') } },
    settings: {
      evmVersion: 'cancun',
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) {
    throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage).join('\n')}`);
  }
  const contract = output.contracts[file][name];
  const result = { abi: contract.abi, bytecode: `0x${contract.evm.bytecode.object}` };
  cache.set(name, result);
  return result;
}
