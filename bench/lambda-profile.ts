/**
 * Where the api Lambda's cold start goes: reads the CPU profiles `BENCH_LAMBDA_PROFILE=<dir> npm run
 * bench -- lambda` wrote (one per fresh process, the first discarded as the bench does), splits each
 * at the marks the driver recorded (import done, first answer done), and sums the sampled time by
 * part: the AWS SDK packages (the outermost SDK frame names the package), Node's module loader
 * (which compiles the bundle), the bundle's own code read back to its source files through the
 * source map, the policy's wasm, garbage collection. Milliseconds per process, medians not taken.
 *
 *   npx tsx bench/lambda-profile.ts <dir>
 */
import { readdirSync, readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { join } from 'node:path';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}
interface Profile {
  readonly nodes: { id: number; callFrame: CallFrame; children?: number[] }[];
  readonly startTime: number;
  readonly samples: number[];
  readonly timeDeltas: number[];
}
interface Marks {
  readonly pid: number;
  readonly startedUs: number;
  readonly importedUs: number;
  readonly answeredUs: number;
}

const dir = process.argv[2];
if (!dir) throw new Error('usage: npx tsx bench/lambda-profile.ts <BENCH_LAMBDA_PROFILE folder>');
const marks = JSON.parse(readFileSync(join(dir, 'marks.json'), 'utf8')) as Marks[];
const map = new SourceMap(JSON.parse(readFileSync(join(dir, 'index.mjs.map'), 'utf8')) as SourceMapPayload);
const SDK = /node_modules\/(@(?:aws-sdk|smithy|aws-crypto)\/[^/]+)/;

/** The part of the bundle a source file belongs to. */
function bundlePart(source: string | undefined): string {
  if (!source) return 'bundle: unmapped (module top level, helpers)';
  // Paths are relative to the bundle's folder (node_modules/.cache/…): a dependency's path runs
  // through node_modules (or starts right after it), ours climb out of it.
  const inModules = source.lastIndexOf('node_modules/');
  const path =
    inModules >= 0 ? source.slice(inModules + 'node_modules/'.length) : source.replace(/^(\.\.\/)+/, '');
  const ours = /^functions\/([^/]+)/.exec(path)?.[1];
  if (ours) return `ours: functions/${ours}`;
  if (path.startsWith('cdk/runtime-sdk/')) return 'SDK shims (require)';
  const dep = /^((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? path;
  if (dep === 'zod' || dep.includes('zod-openapi') || dep.includes('zod-to-openapi'))
    return 'bundle: zod and OpenAPI schemas';
  if (dep.includes('opa-wasm')) return 'bundle: opa-wasm (policy)';
  return `bundle: ${dep}`;
}

function part(stack: CallFrame[]): string {
  const leaf = stack.at(-1);
  if (!leaf) return '?';
  if (leaf.functionName === '(garbage collector)') return 'garbage collection';
  if (leaf.functionName === '(program)') return '(program): V8 outside JS frames';
  if (leaf.functionName === '(idle)') return '(idle: waiting for I/O)';
  const sdk = stack.find((frame) => SDK.test(frame.url));
  if (sdk) return `AWS SDK: ${SDK.exec(sdk.url)?.[1]}`;
  if (stack.some((frame) => frame.url.startsWith('wasm://'))) return 'policy wasm';
  const inBundle = stack.findLast((frame) => frame.url.endsWith('index.mjs'));
  if (inBundle) {
    if (stack.some((frame) => frame.functionName === 'compileForInternalLoader'))
      return 'node: built-in modules compiled on first use (fetch, crypto, …)';
    const entry = map.findEntry(inBundle.lineNumber, inBundle.columnNumber);
    return bundlePart('originalSource' in entry ? entry.originalSource : undefined);
  }
  if (stack.some((frame) => frame.functionName === 'cjsPreparseModuleExports'))
    return 'node: lexing CommonJS export names (an ES import of a CommonJS package)';
  if (stack.some((frame) => frame.functionName === 'detectModuleFormat'))
    return 'node: parsing a package file to detect its module format';
  if (stack.some((frame) => frame.functionName === 'compileSourceTextModule'))
    return 'node: compile the bundle (ES module parse)';
  if (stack.some((frame) => frame.functionName === 'compileForInternalLoader'))
    return 'node: built-in modules compiled on first use (fetch, crypto, …)';
  if (stack.some((frame) => frame.url.includes('node:internal/modules')))
    return 'node: module loader (resolve, read, link)';
  const node = stack.findLast((frame) => frame.url.startsWith('node:'));
  return `node: other (${node ? `${node.functionName} in ${node.url}` : leaf.functionName})`;
}

const totals = new Map<string, number>();
const files = readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'));
const used = marks.slice(1); // the bench discards its first run (page cache, DynamoDB Local warm-up)
for (const mark of used) {
  const file = files.find((name) => name.includes(`.${mark.pid}.`));
  if (!file) throw new Error(`no profile of process ${mark.pid} in ${dir}`);
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    const spent = profile.timeDeltas[i + 1] ?? 0;
    const phase =
      at < mark.startedUs
        ? 'node start'
        : at < mark.importedUs
          ? 'import'
          : at < mark.answeredUs
            ? 'first answer'
            : undefined;
    if (!phase) continue;
    const stack: CallFrame[] = [];
    for (let id: number | undefined = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      const node = byId.get(id);
      if (node) stack.unshift(node.callFrame);
    }
    const key = `${phase}\t${part(stack)}`;
    totals.set(key, (totals.get(key) ?? 0) + spent / 1000 / used.length);
  }
}

for (const phase of ['node start', 'import', 'first answer']) {
  const rows = [...totals].filter(([key]) => key.startsWith(`${phase}\t`)).sort((a, b) => b[1] - a[1]);
  const sum = rows.reduce((total, [, ms]) => total + ms, 0);
  console.log(`${phase}: ${sum.toFixed(1)} ms sampled per process (${used.length} processes)`);
  for (const [key, ms] of rows) {
    if (ms >= 1) console.log(`  ${ms.toFixed(1).padStart(6)} ms  ${key.split('\t')[1]}`);
  }
}
