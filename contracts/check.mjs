// Recompiles contracts/src/*.sol in memory and compares with the committed
// contracts/artifacts/*.json. Exits 1, naming each stale, missing or extra file, when they
// differ. Usage: node contracts/check.mjs
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { artifactsDir, compileAll } from "./compile.mjs";

const fresh = compileAll();
const problems = [];
for (const [file, text] of fresh) {
  const path = join(artifactsDir, file);
  if (!existsSync(path)) problems.push(`missing: contracts/artifacts/${file}`);
  else if (readFileSync(path, "utf8") !== text) problems.push(`stale: contracts/artifacts/${file} differs from a fresh compile`);
}
const onDisk = existsSync(artifactsDir) ? readdirSync(artifactsDir).filter((f) => f.endsWith(".json")) : [];
for (const file of onDisk) {
  if (!fresh.has(file)) problems.push(`extra: contracts/artifacts/${file} has no contract in contracts/src`);
}
if (problems.length > 0) {
  console.error("contract artifacts are out of date:");
  for (const p of problems) console.error(`  ${p}`);
  console.error("run `node contracts/build.mjs` and commit contracts/artifacts/");
  process.exit(1);
}
console.log(`contract artifacts up to date (${fresh.size} contracts)`);
