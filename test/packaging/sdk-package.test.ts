/**
 * The SDK as its users get it: `npm pack` of client/, the tarball installed offline into a scratch
 * project, used from plain Node ESM against the real (bundled) gateway, and type-checked by a
 * NodeNext TypeScript project.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROD_CUI_EXPORT } from '../fixtures/requests.ts';
import { gatewayConfig, PRINCIPALS } from '../support/gateway-process.ts';
import { cleanEnv, ROOT, run, type Started, startUntilListening } from './processes.ts';

const PACKAGE = '@action-level-approvals/client';
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

const scratch = mkdtempSync(join(tmpdir(), 'ala-sdk-package-'));
let packed: { filename: string; files: { path: string }[] };
let gateway: Started | undefined;

beforeAll(async () => {
  // `npm pack` runs the package's prepack script, which compiles the SDK afresh.
  const pack = await run(NPM, ['pack', '--json', '--pack-destination', scratch], join(ROOT, 'client'));
  expect(pack.code, pack.stderr).toBe(0);
  const [entry] = JSON.parse(pack.stdout) as (typeof packed)[];
  if (!entry) throw new Error(`npm pack printed no package:\n${pack.stdout}`);
  packed = entry;

  writeFileSync(
    join(scratch, 'package.json'),
    JSON.stringify({ name: 'sdk-consumer', private: true, type: 'module' }, null, 2),
  );
  const install = await run(
    NPM,
    ['install', '--offline', '--no-audit', '--no-fund', `./${packed.filename}`],
    scratch,
    cleanEnv({ npm_config_cache: join(scratch, '.npm-cache') }),
  );
  expect(install.code, install.stderr).toBe(0);

  gateway = await startUntilListening(process.execPath, [
    join(ROOT, 'dist/gateway.js'),
    '--config',
    gatewayConfig(),
  ]);
});

afterAll(async () => {
  await gateway?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('the SDK package', () => {
  it('ships compiled JavaScript with declarations, its package.json and README, and no sources', () => {
    const files = packed.files.map((f) => f.path).sort();

    expect(files).toContain('package.json');
    expect(files).toContain('README.md');
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => !['package.json', 'README.md'].includes(f) && !f.startsWith('dist/'))).toEqual(
      [],
    );
  });

  it('installs from the tarball with no dependencies of its own', () => {
    const lock = JSON.parse(readFileSync(join(scratch, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, unknown>;
    };

    expect(Object.keys(lock.packages).sort()).toEqual(['', `node_modules/${PACKAGE}`]);
  });

  it('works from plain Node ESM: submits to the gateway and reports a refusal as its own error class', async () => {
    writeFileSync(
      join(scratch, 'use.mjs'),
      `import { ApprovalsApiError, ApprovalsClient, DECIDED_STATUSES } from '${PACKAGE}';
const client = new ApprovalsClient({ baseUrl: process.env.GATEWAY_URL, token: process.env.TOKEN, retry: false });
const submitted = await client.request(JSON.parse(process.env.INPUT));
let refusal;
try {
  await client.redeem(submitted.id);
} catch (error) {
  refusal = { isApiError: error instanceof ApprovalsApiError, status: error.status, code: error.code };
}
console.log(JSON.stringify({ id: submitted.id, status: submitted.status, decided: DECIDED_STATUSES.has(submitted.status), required: submitted.approval?.required, refusal }));
`,
    );

    const used = await run(
      process.execPath,
      ['use.mjs'],
      scratch,
      cleanEnv({
        GATEWAY_URL: gateway?.url ?? '',
        TOKEN: PRINCIPALS.agent.token,
        INPUT: JSON.stringify(PROD_CUI_EXPORT),
      }),
    );

    expect(used.stderr).toBe('');
    expect(used.code).toBe(0);
    expect(JSON.parse(used.stdout)).toEqual({
      id: expect.stringMatching(/^ar_[0-9A-Z]{26}$/),
      status: 'pending',
      decided: false,
      required: 2,
      refusal: { isApiError: true, status: 409, code: 'not_approved' },
    });
  });

  it('type-checks in a NodeNext TypeScript project, and its types reject a wrong call', async () => {
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          lib: ['ES2022', 'DOM'],
          types: [],
          strict: true,
          noEmit: true,
          // The package's own declarations are checked too.
          skipLibCheck: false,
        },
        files: ['check.ts'],
      }),
    );
    writeFileSync(
      join(scratch, 'check.ts'),
      `import { type ActionRequestView, ApprovalsApiError, ApprovalsClient, type RequestStatus, withApproval } from '${PACKAGE}';

const client = new ApprovalsClient({ baseUrl: 'http://127.0.0.1:8787', token: 'a-token-of-the-config-file' });

export async function submit(): Promise<RequestStatus> {
  const view: ActionRequestView = await client.request({
    action: { name: 'data.export' },
    resource: { type: 'aws:s3:bucket', id: 'arn:aws:s3:::bucket' },
  });
  return view.status;
}

export const run = () =>
  withApproval(client, { action: { name: 'logs.read' }, resource: { type: 'aws:logs:log-group', id: 'x' } }, async ({ grant }) => grant.request_id);

export const isApiError = (error: unknown): boolean => error instanceof ApprovalsApiError && error.status === 409;

// @ts-expect-error a resource needs an id: the declarations are real types, not \`any\`
void client.request({ action: { name: 'data.export' }, resource: { type: 'aws:s3:bucket' } });
`,
    );

    const checked = await run(process.execPath, [TSC, '-p', 'tsconfig.json'], scratch);

    expect(checked.stdout + checked.stderr).toBe('');
    expect(checked.code).toBe(0);
  });
});
