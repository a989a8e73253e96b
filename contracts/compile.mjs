// Compiles every contracts/src/*.sol with solc-js (npm `solc`, pinned in the root package.json)
// through standard JSON and returns the artifacts that build.mjs writes and check.mjs compares.
// Output depends only on the sources, the settings below and the solc version: sources are
// keyed by their path relative to contracts/ (no absolute paths reach the metadata), files and
// JSON keys are sorted.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import solc from "solc";

export const contractsDir = dirname(fileURLToPath(import.meta.url));
export const srcDir = join(contractsDir, "src");
export const artifactsDir = join(contractsDir, "artifacts");

export const settings = {
  evmVersion: "cancun",
  optimizer: { enabled: true, runs: 200 },
  outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "evm.methodIdentifiers"] } },
};

/** Returns a Map from artifact file name (`<Name>.json`) to its exact file contents. */
export function compileAll() {
  const files = readdirSync(srcDir).filter((f) => f.endsWith(".sol")).sort();
  const sources = {};
  for (const f of files) sources[`src/${f}`] = { content: readFileSync(join(srcDir, f), "utf8") };
  const input = { language: "Solidity", sources, settings };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));

  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  for (const e of output.errors ?? []) console.error(e.formattedMessage);
  if (errors.length > 0) throw new Error(`solc reported ${errors.length} error(s)`);

  const artifacts = new Map();
  for (const source of Object.keys(output.contracts ?? {}).sort()) {
    for (const name of Object.keys(output.contracts[source]).sort()) {
      const c = output.contracts[source][name];
      // Interfaces and abstract contracts have no bytecode: nothing to deploy, no artifact.
      if (!c.evm.bytecode.object) continue;
      if (artifacts.has(`${name}.json`)) throw new Error(`two contracts named ${name}`);
      const artifact = {
        contractName: name,
        sourceName: source,
        compiler: { name: "solc-js", version: solc.version(), settings: { evmVersion: settings.evmVersion, optimizer: settings.optimizer } },
        abi: c.abi,
        bytecode: `0x${c.evm.bytecode.object}`,
        deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
        methodIdentifiers: c.evm.methodIdentifiers,
      };
      artifacts.set(`${name}.json`, `${JSON.stringify(artifact, null, 2)}\n`);
    }
  }
  return artifacts;
}
