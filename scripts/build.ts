/**
 * `npm run build` (also run by `npm install` / `npm ci` through `prepare`): compiles what runs
 * without tsx.
 *
 *   dist/gateway.js     the local gateway (`npm start`), one ES module bundle
 *   dist/cli/ala.js     the CLI behind bin/ala.js; `serve` and `policy eval` load their parts on
 *                       demand from dist/cli/chunks/, so the other commands start small
 *   client/dist/        the SDK package: ES modules and .d.ts declarations (tsc)
 *
 * better-sqlite3 stays outside the bundles: it loads a native addon from node_modules. The policy
 * bundle is read from policies/build/ at run time, as from the sources.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { type BuildOptions, build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist');

const common: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.19',
  // Settings shared with the Lambda bundles (cdk/constructs/gateway-function.ts): ESM output with
  // readable stack traces, and a `require` for the CommonJS dependencies inside the bundle. No
  // keepNames, as there: it passes every closure created at run time through a defineProperty
  // (a few per HTTP call), and every error class states its own name.
  mainFields: ['module', 'main'],
  keepNames: false,
  sourcemap: 'linked',
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  external: ['better-sqlite3'],
  legalComments: 'linked',
  logLevel: 'warning',
  absWorkingDir: ROOT,
};

/** The SDK package's output, client/dist/ (also `npm run build` in client/, before `npm pack`). */
export function buildSdk(): void {
  const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
  rmSync(join(ROOT, 'client', 'dist'), { recursive: true, force: true });
  const result = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'client', 'tsconfig.json')], {
    stdio: 'inherit',
  });
  if (result.status !== 0) throw new Error(`tsc -p client/tsconfig.json failed (exit ${result.status})`);
}

/** The gateway and CLI bundles in dist/ (about a second: tests and the bench call it first). */
export async function buildBundles(): Promise<void> {
  rmSync(DIST, { recursive: true, force: true });
  await Promise.all([
    build({ ...common, entryPoints: ['functions/local/main.ts'], outfile: join(DIST, 'gateway.js') }),
    build({
      ...common,
      entryPoints: { ala: 'functions/cli/main.ts' },
      outdir: join(DIST, 'cli'),
      splitting: true,
      chunkNames: 'chunks/[name]-[hash]',
    }),
  ]);
}

if (import.meta.filename === resolve(process.argv[1] ?? '')) {
  await buildBundles();
  buildSdk();
}
