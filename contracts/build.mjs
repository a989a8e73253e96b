// Compiles contracts/src/*.sol and writes contracts/artifacts/<Name>.json (abi, bytecode,
// deployedBytecode, methodIdentifiers, solc version). Usage: node contracts/build.mjs
// Artifacts are committed; contracts/check.mjs fails when they are stale.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { artifactsDir, compileAll } from "./compile.mjs";

const artifacts = compileAll();
mkdirSync(artifactsDir, { recursive: true });
for (const f of readdirSync(artifactsDir)) {
  if (f.endsWith(".json") && !artifacts.has(f)) rmSync(join(artifactsDir, f));
}
for (const [file, text] of artifacts) {
  writeFileSync(join(artifactsDir, file), text);
  console.log(`wrote contracts/artifacts/${file}`);
}
