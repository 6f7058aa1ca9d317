/**
 * The one test that really bundles: esbuild runs for every function as `cdk deploy` would run it,
 * each bundle stays within 1 MB minified (docs/design.md#7-targets, the policy wasm not counted), every
 * bundle carries the policy bundle, and every bundle initializes in a fresh Node process — on this
 * machine's Node and on the Node major of the Lambda runtime (test/harness/lambda-node.ts).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_POLICY_VERIFICATION_KEY, REPO_ROOT } from '../../../cdk/paths.ts';
import { LAMBDA_NODE_FLAGS, lambdaNode, runtimeMajor } from '../../harness/lambda-node.ts';
import {
  COMMERCIAL_REGION,
  functionResource,
  property,
  SYNTH_TIMEOUT_MS,
  type Synthesized,
  synthGateway,
} from './synth.ts';

const run = promisify(execFile);
const MAX_BUNDLE_BYTES = 1024 * 1024;
const FUNCTIONS = ['ApiFunction', 'WorkflowFunction', 'SweeperFunction', 'AuditArchiver'] as const;
type FunctionId = (typeof FUNCTIONS)[number];

describe('Lambda bundles (esbuild)', () => {
  let synth: Synthesized;
  let outdir: string;
  const assetDirs = new Map<FunctionId, string>();

  beforeAll(() => {
    // Inside the repository (cdk.out/ is ignored) so a bundle's external @aws-sdk/* imports resolve
    // from node_modules, as they resolve from the Lambda runtime's own copy in AWS.
    mkdirSync(join(REPO_ROOT, 'cdk.out'), { recursive: true });
    outdir = mkdtempSync(join(REPO_ROOT, 'cdk.out', '.bundling-test-'));
    synth = synthGateway({ region: COMMERCIAL_REGION, bundle: true, outdir });
    for (const id of FUNCTIONS) {
      const { resource } = functionResource(synth, id);
      const key = property<{ S3Key: string }>(resource, 'Code').S3Key;
      assetDirs.set(id, join(outdir, `asset.${key.replace(/\.zip$/, '')}`));
    }
  }, 4 * SYNTH_TIMEOUT_MS);

  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  const dir = (id: FunctionId): string => {
    const found = assetDirs.get(id);
    if (!found) throw new Error(`no asset directory for ${id}`);
    return found;
  };

  it('keeps every bundle within 1 MB minified, not counting the policy wasm', () => {
    const sizes = FUNCTIONS.map((id) => {
      const files = readdirSync(dir(id));
      const code = files.filter((f) => f !== 'policy.wasm' && f !== 'data.json');
      const bytes = code.reduce((sum, f) => sum + statSync(join(dir(id), f)).size, 0);
      return { id, bytes, files };
    });
    process.stdout.write(
      `bundle sizes (minified, @aws-sdk/* from the runtime):\n${sizes
        .map(
          (s) =>
            `  ${s.id.padEnd(17)} ${(s.bytes / 1024).toFixed(1).padStart(7)} KiB  [${s.files.join(', ')}]`,
        )
        .join('\n')}\n`,
    );
    for (const { id, bytes, files } of sizes) {
      expect(files, id).toContain('index.mjs');
      expect(bytes, `${id} is ${bytes} bytes`).toBeLessThanOrEqual(MAX_BUNDLE_BYTES);
    }
  });

  it('copies the compiled policy bundle into every bundle that decides or notifies (the sweeper routes notifications by its directory), and not into the archiver', () => {
    const wasm = readFileSync(join(REPO_ROOT, 'policies', 'build', 'policy.wasm'));
    const data = readFileSync(join(REPO_ROOT, 'policies', 'build', 'data.json'));
    for (const id of FUNCTIONS.filter((f) => f !== 'AuditArchiver')) {
      expect(readFileSync(join(dir(id), 'policy.wasm')).equals(wasm), id).toBe(true);
      expect(readFileSync(join(dir(id), 'data.json')).equals(data), id).toBe(true);
    }
    expect(readdirSync(dir('AuditArchiver'))).not.toContain('policy.wasm');
  });

  it('bundles as ES modules with names kept, so error names reach Step Functions Retry/Catch', () => {
    const workflow = readFileSync(join(dir('WorkflowFunction'), 'index.mjs'), 'utf8');
    expect(workflow).toMatch(/export\s*\{[^}]*handler/);
    expect(workflow).toContain('"NotDueError"');
    expect(workflow).toContain('"StoreUnavailableError"');
  });

  it('loads the runtime’s AWS SDK through require(), never an ES import (docs/decisions/0015-performance.md)', () => {
    for (const id of FUNCTIONS) {
      const code = readFileSync(join(dir(id), 'index.mjs'), 'utf8');
      expect(code, id).not.toMatch(/from\s*"@aws-sdk\//);
      expect(code, id).not.toMatch(/import\(\s*"@aws-sdk\//);
    }
    expect(readFileSync(join(dir('ApiFunction'), 'index.mjs'), 'utf8')).toContain(
      '"@aws-sdk/client-dynamodb"',
    );
  });

  it('runs the Lambda runtime’s Node major for the parity checks below', () => {
    const runtime = property<string>(functionResource(synth, 'ApiFunction').resource, 'Runtime');
    expect(lambdaNode().major).toBe(runtimeMajor(runtime));
  });

  it.each([
    ['this machine’s Node', () => process.execPath, [] as readonly string[]],
    ['the Lambda runtime’s Node, with its flags', () => lambdaNode().path, LAMBDA_NODE_FLAGS],
  ])(
    'initializes each bundle in a fresh process of %s: configuration read, policy loaded from its own folder',
    async (runtimeName, node, flags) => {
      const init =
        'const t = performance.now(); const m = await import(process.argv[1]); process.stdout.write(JSON.stringify({ handler: typeof m.handler, ms: Math.round(performance.now() - t) }));';
      const timings: string[] = [];
      const variants: [FunctionId, string, Record<string, string>][] = [
        ...FUNCTIONS.map((id): [FunctionId, string, Record<string, string>] => [id, id, {}]),
        // Resource tags load the Tagging API client on demand: it must resolve from the bundle too.
        [
          'ApiFunction',
          'ApiFunction+tags',
          { RESOURCE_TAGS_ENABLED: 'true', RESOURCE_TAG_ATTRIBUTES: 'Environment=environment' },
        ],
      ];
      for (const [id, label, extraEnv] of variants) {
        const { stdout } = await run(
          node(),
          [...flags, '--input-type=module', '-e', init, join(dir(id), 'index.mjs')],
          {
            env: {
              PATH: process.env.PATH ?? '',
              AWS_REGION: COMMERCIAL_REGION,
              AWS_EC2_METADATA_DISABLED: 'true',
              AWS_ACCESS_KEY_ID: 'test',
              AWS_SECRET_ACCESS_KEY: 'test',
              POWERTOOLS_LOG_LEVEL: 'SILENT',
              REQUESTS_TABLE_NAME: 'requests',
              AUDIT_TABLE_NAME: 'audit',
              STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:approvals',
              AUDIT_ARCHIVE_BUCKET: 'audit-archive',
              // The stack's default: the demo key the committed bundle is signed with.
              POLICY_VERIFICATION_KEY: readFileSync(DEMO_POLICY_VERIFICATION_KEY, 'utf8'),
              ...extraEnv,
            },
            timeout: 30_000,
          },
        );
        const result = JSON.parse(stdout) as { handler: string; ms: number };
        expect(result.handler, label).toBe('function');
        timings.push(`  ${label.padEnd(17)} ${result.ms} ms`);
      }
      const version = (await run(node(), ['--version'])).stdout.trim();
      process.stdout.write(
        `bundle init on ${runtimeName} ${version} (import incl. policy load, this machine):\n${timings.join('\n')}\n`,
      );
    },
    60_000,
  );
});
