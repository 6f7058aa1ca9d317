/**
 * `npm run bench`: runs every bench/*.bench.ts in turn, each in its own Node process (with tsx),
 * so one bench's JIT state, heap and timers never color the next one's figures. The gateway and
 * CLI bundles (dist/) are rebuilt first, so the benches measure the current sources. Arguments
 * after `--` select benches by file name: `npm run bench -- policy`.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundles } from '../scripts/build.ts';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const benches = readdirSync(here)
  .filter((file) => file.endsWith('.bench.ts'))
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort();

if (benches.length === 0) {
  console.error(`no bench/*.bench.ts matches ${filters.join(', ') || '(none present)'}`);
  process.exit(2);
}

// The gateway benches start the bundle `npm start` runs: build it from the current sources first.
await buildBundles();

function runBench(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, file)], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
}

const failed: string[] = [];
for (const file of benches) {
  console.log(`\n=== ${file}`);
  const code = await runBench(file);
  if (code !== 0) failed.push(`${file} (exit ${code})`);
}
if (failed.length > 0) {
  console.error(`\nbench failed: ${failed.join(', ')}`);
  process.exit(1);
}
