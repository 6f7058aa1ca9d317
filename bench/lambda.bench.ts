/**
 * The api Lambda on the AWS path: bundle size, cold init and warm latency, on the Node major of the
 * Lambda runtime (`bash scripts/tools.sh node`), against DynamoDB Local.
 *
 * The bundle is built as the stack builds it, from the same settings (cdk/constructs/lambda-bundling.ts:
 * ESM, node22, minified, no keepNames, the AWS SDK left to the runtime) with the policy bundle beside it. Each cold
 * run is a fresh process that imports the bundle (module load, policy verified and instantiated,
 * clients made), then answers one auto-allowed submission through the handler, committed to
 * DynamoDB Local; the figure is that time, measured in the process, plus the process's start-up
 * shown apart. Warm: the same process answers BENCH_LAMBDA_WARM more submissions one by one.
 *
 * Goals (issue 18): cold init ≤ 150 ms, bundle ≤ 1 MB; warm p99 of the auto-allow path reported.
 *
 *   npm run bench -- lambda        BENCH_LAMBDA_RUNS=11 npm run bench -- lambda
 *   BENCH_LAMBDA_PROFILE=/tmp/p npm run bench -- lambda && npx tsx bench/lambda-profile.ts /tmp/p
 *   (a CPU profile of every run, then where the cold start's time goes, by phase and part)
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { lambdaEsbuildOptions } from '../cdk/constructs/lambda-bundling.ts';
import { ensureTables } from '../functions/adapters/dynamodb/tables.ts';
import { POLICY_FILES } from '../functions/handlers/env.ts';
import { dynamoClient } from '../test/harness/clients.ts';
import { startDynamoDbLocal } from '../test/harness/emulators.ts';
import { MOTO_ACCOUNT_ID, TEST_REGION } from '../test/harness/env.ts';
import { LAMBDA_NODE_FLAGS, lambdaNode } from '../test/harness/lambda-node.ts';
import { goal, load, machine, ROOT } from './harness.ts';

const RUNS = Number(process.env.BENCH_LAMBDA_RUNS ?? 7);
const WARM = Number(process.env.BENCH_LAMBDA_WARM ?? 300);
const MB = 1024 * 1024;
// Under node_modules, so the bundle resolves the AWS SDK the way the runtime provides it: outside.
const OUT = join(ROOT, 'node_modules', '.cache', 'ala-bench-lambda');

/** The api function's bundle, built with the stack's esbuild settings. */
async function bundleApi(): Promise<{ file: string; bytes: number }> {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const file = join(OUT, 'index.mjs');
  // The stack's settings, not a copy (BENCH_LAMBDA_BUNDLE_SDK=1 measures the prop bundleAwsSdk: true).
  const options = lambdaEsbuildOptions(
    join(ROOT, 'functions/handlers/api.ts'),
    file,
    process.env.BENCH_LAMBDA_BUNDLE_SDK === '1',
  );
  // Profiling: a source map beside the bundle (index.mjs.map, no comment in the bundle, so the
  // bundle's bytes and load are unchanged) lets a profile's frames be read back to source files.
  await build(process.env.BENCH_LAMBDA_PROFILE ? { ...options, sourcemap: 'external' } : options);
  for (const name of Object.values(POLICY_FILES)) {
    copyFileSync(join(ROOT, 'policies/build', name), join(OUT, name));
  }
  return { file, bytes: statSync(file).size };
}

/** Run in the Lambda-runtime Node: times import + first answer, then warm answers. */
const DRIVER = `
const bootMs = performance.now();
const body = JSON.stringify({
  action: { name: 's3.objects.list', args: { prefix: 'bench/' } },
  resource: { type: 'aws:s3:bucket', id: 'arn:aws:s3:::dev-bench', properties: { environment: 'dev' } },
  context: { justification: 'benchmark' },
});
const event = () => ({
  version: '1.0', resource: '/{proxy+}', path: '/v1/action-requests', httpMethod: 'POST',
  headers: { host: 'api.example', 'content-type': 'application/json' },
  multiValueHeaders: { host: ['api.example'], 'content-type': ['application/json'] },
  queryStringParameters: null, body, isBase64Encoded: false,
  requestContext: {
    accountId: process.env.BENCH_ACCOUNT, apiId: 'bench', authorizer: {}, domainName: 'api.example',
    domainPrefix: 'api', extendedRequestId: 'ext', httpMethod: 'POST',
    identity: { sourceIp: '127.0.0.1', userAgent: 'bench', caller: 'AROAEXAMPLE:session-1',
      userArn: 'arn:aws:sts::' + process.env.BENCH_ACCOUNT + ':assumed-role/ala-bench-agent/session-1' },
    path: '/prod/v1/action-requests', protocol: 'HTTP/1.1', requestId: crypto.randomUUID(),
    requestTime: new Date().toUTCString(), requestTimeEpoch: Date.now(), resourcePath: '/{proxy+}', stage: 'prod',
  },
});
const context = { functionName: 'ala-api', awsRequestId: 'bench', getRemainingTimeInMillis: () => 29000,
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:' + process.env.BENCH_ACCOUNT + ':function:ala-api' };
const startedUs = Number(process.hrtime.bigint() / 1000n);
const started = performance.now();
const cpuBefore = process.cpuUsage();
const { handler } = await import(process.env.BENCH_BUNDLE);
const imported = performance.now();
const importedUs = Number(process.hrtime.bigint() / 1000n);
const first = await handler(event(), context);
const answered = performance.now();
const answeredUs = Number(process.hrtime.bigint() / 1000n);
const cpu = process.cpuUsage(cpuBefore);
if (first.statusCode !== 200) throw new Error('first answer ' + first.statusCode + ': ' + first.body);
const outcome = JSON.parse(first.body).status;
if (outcome !== 'approved') throw new Error('expected a request approved by policy, got ' + first.body);
const warm = [];
for (let i = 0; i < Number(process.env.BENCH_WARM); i++) {
  const t = performance.now();
  const res = await handler(event(), context);
  warm.push(performance.now() - t);
  if (res.statusCode !== 200) throw new Error('warm answer ' + res.statusCode + ': ' + res.body);
}
console.log(JSON.stringify({
  bootMs, importMs: imported - started, firstMs: answered - imported, coldMs: answered - started,
  coldCpuMs: (cpu.user + cpu.system) / 1000,
  rssMb: process.memoryUsage().rss / 1048576, heapMb: process.memoryUsage().heapUsed / 1048576, warm,
  // Monotonic clock in µs, the clock of --cpu-prof's timestamps: where a profile's phases end.
  marks: { pid: process.pid, startedUs, importedUs, answeredUs },
}));
`;

/**
 * The floor under any api bundle that answers through DynamoDB: a fresh process that loads only the
 * DynamoDB client and document client from the runtime (through require(), as the bundle does) and
 * puts one item, nothing else — no policy, no HTTP app, no audit.
 */
const FLOOR_DRIVER = `
import { createRequire } from 'node:module';
const require = createRequire(process.env.BENCH_BUNDLE);
const started = performance.now();
const cpuBefore = process.cpuUsage();
const { DynamoDBClient } = require('@aws-sdk/client-dynamodb');
const { DynamoDBDocumentClient, PutCommand } = require('@aws-sdk/lib-dynamodb');
const imported = performance.now();
const client = DynamoDBDocumentClient.from(new DynamoDBClient({ maxAttempts: 3 }));
await client.send(new PutCommand({ TableName: process.env.REQUESTS_TABLE_NAME,
  Item: { id: 'floor#' + crypto.randomUUID(), at: Date.now() } }));
const answered = performance.now();
const cpu = process.cpuUsage(cpuBefore);
console.log(JSON.stringify({ importMs: imported - started, firstMs: answered - imported,
  coldMs: answered - started, coldCpuMs: (cpu.user + cpu.system) / 1000 }));
`;

interface Run {
  readonly bootMs: number;
  readonly importMs: number;
  readonly firstMs: number;
  readonly coldMs: number;
  /** CPU time of the same span: what a shared machine colors less than wall time. */
  readonly coldCpuMs: number;
  readonly rssMb: number;
  readonly heapMb: number;
  readonly warm: number[];
  readonly marks: { pid: number; startedUs: number; importedUs: number; answeredUs: number };
}

type Floor = Pick<Run, 'importMs' | 'firstMs' | 'coldMs' | 'coldCpuMs'>;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};
const at = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

async function main(): Promise<void> {
  const node = lambdaNode();
  const bundle = await bundleApi();
  const driver = join(OUT, 'driver.mjs');
  writeFileSync(driver, DRIVER);
  const floorDriver = join(OUT, 'floor.mjs');
  writeFileSync(floorDriver, FLOOR_DRIVER);
  const dynamodb = await startDynamoDbLocal();
  try {
    const tables = { requests: 'bench-requests', audit: 'bench-audit' };
    await ensureTables(dynamoClient({ endpoint: dynamodb.endpoint }), tables);
    const env = {
      PATH: process.env.PATH ?? '',
      REQUESTS_TABLE_NAME: tables.requests,
      AUDIT_TABLE_NAME: tables.audit,
      // Not called on the auto-allow path; the handler requires it at load.
      STATE_MACHINE_ARN: `arn:aws:states:${TEST_REGION}:${MOTO_ACCOUNT_ID}:stateMachine:bench`,
      POLICY_VERIFICATION_KEY: readFileSync(join(ROOT, 'policies/keys/demo-verification-key.pem'), 'utf8'),
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      // Latency is measured here, not the limits (still counted in DynamoDB on every call).
      GATEWAY_LIMITS: JSON.stringify({ callsPerMinute: 100_000, submissionsPerMinute: 100_000 }),
      AWS_REGION: TEST_REGION,
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
      BENCH_BUNDLE: bundle.file,
      BENCH_ACCOUNT: MOTO_ACCOUNT_ID,
    };
    const runs: Run[] = [];
    const floors: Floor[] = [];
    const profile = process.env.BENCH_LAMBDA_PROFILE; // a folder: --cpu-prof of every run there
    for (let i = 0; i < RUNS; i++) {
      // The first run also warms the page cache and DynamoDB Local; every run is its own process.
      // Node as the Lambda runtime starts it (its flags), each run a fresh process.
      const args = [
        ...LAMBDA_NODE_FLAGS,
        ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []),
        driver,
      ];
      const out = execFileSync(node.path, args, {
        env: { ...env, BENCH_WARM: String(i === RUNS - 1 ? WARM : 0) },
        encoding: 'utf8',
        maxBuffer: 16 * MB,
      });
      runs.push(JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Run);
      const floor = execFileSync(node.path, [...LAMBDA_NODE_FLAGS, floorDriver], { env, encoding: 'utf8' });
      floors.push(JSON.parse(floor.trim().split('\n').at(-1) ?? '{}') as Floor);
    }
    if (profile) {
      // Where each profile's import ends and its first answer ends (bench/lambda-profile.ts reads it).
      writeFileSync(join(profile, 'marks.json'), JSON.stringify(runs.map((r) => r.marks)));
      copyFileSync(`${bundle.file}.map`, join(profile, 'index.mjs.map'));
    }
    const measured = runs.length > 1 ? runs.slice(1) : runs;
    console.log(`api Lambda bundle on Node ${node.version} against DynamoDB Local; ${machine()}`);
    console.log(
      `bundle ${bundle.bytes.toLocaleString('en-US')} bytes = ${(bundle.bytes / 1024).toFixed(0)} KiB (${process.env.BENCH_LAMBDA_BUNDLE_SDK === '1' ? 'AWS SDK bundled' : 'AWS SDK from the runtime, as the stack deploys it by default'})`,
    );
    console.log(
      `cold, median of ${measured.length} fresh processes (first run discarded): node start-up ${median(measured.map((r) => r.bootMs)).toFixed(0)} ms, ` +
        `import (load + policy + clients) ${median(measured.map((r) => r.importMs)).toFixed(0)} ms, ` +
        `first answer ${median(measured.map((r) => r.firstMs)).toFixed(0)} ms; ` +
        `CPU time of import + first answer ${median(measured.map((r) => r.coldCpuMs)).toFixed(0)} ms; RSS ${median(measured.map((r) => r.rssMb)).toFixed(0)} MB, ` +
        `heap ${median(measured.map((r) => r.heapMb)).toFixed(0)} MB`,
    );
    const floorMeasured = floors.length > 1 ? floors.slice(1) : floors;
    console.log(
      `floor, the DynamoDB packages alone and one PutItem (same processes count): import ${median(floorMeasured.map((r) => r.importMs)).toFixed(0)} ms, ` +
        `put ${median(floorMeasured.map((r) => r.firstMs)).toFixed(0)} ms, together ${median(floorMeasured.map((r) => r.coldMs)).toFixed(0)} ms; ` +
        `CPU ${median(floorMeasured.map((r) => r.coldCpuMs)).toFixed(0)} ms`,
    );
    const warm = [...(runs.at(-1)?.warm ?? [])].sort((a, b) => a - b);
    console.log(
      `warm auto-allowed submissions (${warm.length}, one by one): p50 ${at(warm, 0.5).toFixed(1)} ms, p99 ${at(warm, 0.99).toFixed(1)} ms (${load()})`,
    );
    goal(
      'api cold init (import + one answer)',
      round1(median(measured.map((r) => r.coldMs))),
      '≤',
      150,
      ' ms',
    );
    // 1 MB = 1,048,576 bytes, compared in bytes: a rounded 1.0 MB must not pass a bundle over it.
    goal('api bundle size', bundle.bytes, '≤', MB, ' bytes');
  } finally {
    await dynamodb.dispose();
  }
}

const round1 = (value: number) => Math.round(value * 10) / 10;

await main();
