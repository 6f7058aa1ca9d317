/**
 * `ala policy replay` on a real SQLite store holding a few hundred requests decided by the
 * committed bundle, with a candidate that tightens one rule (non-production data exports need two
 * approvals instead of one).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteRequestStore } from '../../../functions/adapters/sqlite/sqlite-store.ts';
import { ulidIds } from '../../../functions/adapters/system/system.ts';
import type { CliIo } from '../../../functions/cli/io.ts';
import { main } from '../../../functions/cli/main.ts';
import type { ActionRequest, ActionRequestInput } from '../../../functions/core/model.ts';
import { ApprovalService } from '../../../functions/core/service.ts';
import { ManualClock } from '../../support/fixtures.ts';
import { signedBundleCopy, testKeys } from '../../support/signed-bundle.ts';
import { loadDefaultPack } from './support.ts';

const work = mkdtempSync(join(tmpdir(), 'ala-replay-'));
const dbPath = join(work, 'gateway.db');

async function ala(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: { write: (chunk: string) => (stderr += chunk) },
    env: {},
    cwd: work,
    readStdin: async () => '',
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

const exportIn = (environment: string, n: number): ActionRequestInput => ({
  action: {
    name: 'data.export',
    args: { dataset: `set_${n}`, destination: 's3://agency-internal-archive/fin/' },
  },
  resource: {
    type: 'aws:s3:bucket',
    // Named so that the inventory vouches for the environment (dev-* and *-prod buckets).
    id: environment === 'prod' ? `arn:aws:s3:::replay-${n}-prod` : `arn:aws:s3:::${environment}-replay-${n}`,
    properties: { environment, data_classification: 'internal' },
  },
  context: { justification: `replay test ${n}` },
});

const readIn = (n: number): ActionRequestInput => ({
  action: { name: 'logs.tail', args: { group: `/app/${n}` } },
  resource: {
    type: 'aws:logs:log-group',
    id: `arn:aws:logs:us-east-1:123456789012:log-group:/app/${n}`,
    properties: {},
  },
  context: {},
});

let stored: ActionRequest[] = [];
let candidateDir = '';
let keys: ReturnType<typeof testKeys>;

beforeAll(async () => {
  const store = new SqliteRequestStore({ path: dbPath });
  const clock = new ManualClock(Date.parse('2026-11-20T09:00:00Z'));
  const service = new ApprovalService({ store, policy: await loadDefaultPack(), clock, ids: ulidIds() });
  const inputs: ActionRequestInput[] = [];
  for (let n = 0; n < 100; n++) inputs.push(readIn(n), exportIn('dev', n), exportIn('prod', n));
  for (const input of inputs) {
    clock.advance(60);
    stored.push((await service.submit('agent:demo-exporter', input)).request);
  }
  await store.close();
  keys = testKeys(work);
  candidateDir = signedBundleCopy(
    keys,
    (data) => {
      const profiles = data.approval_profiles as Record<string, { min_approvals: number }>;
      (profiles.data_export_nonprod as { min_approvals: number }).min_approvals = 2;
    },
    join(work, 'candidate'),
  ).dir;
  stored = stored.sort((a, b) => a.id.localeCompare(b.id));
}, 120_000);

afterAll(() => {
  stored = [];
});

/** The requests the tightened rule touches, read from what the active bundle recorded. */
function nonProdExportsNeedingOne(): string[] {
  return stored
    .filter(
      (r) =>
        r.action.name === 'data.export' &&
        r.resource.properties?.environment === 'dev' &&
        r.decision.outcome === 'require_approval' &&
        r.approval?.minApprovals === 1,
    )
    .map((r) => r.id)
    .sort();
}

describe('ala policy replay', () => {
  it('lists exactly the requests whose outcome changes under a candidate that tightens one rule', async () => {
    expect(stored).toHaveLength(300);
    const expected = nonProdExportsNeedingOne();
    expect(expected).toHaveLength(100);
    const run = await ala([
      '--json',
      'policy',
      'replay',
      '--bundle',
      candidateDir,
      '--store',
      dbPath,
      '--verification-key',
      keys.publicKeyPath,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as {
      evaluated: number;
      unchanged: number;
      changed: number;
      inputMismatches: string[];
      groups: { change: string; count: number; examples: { id: string }[] }[];
      requests: { id: string; changes: string[] }[];
    };
    expect(report.evaluated).toBe(300);
    expect(report.inputMismatches).toEqual([]);
    expect(report.changed).toBe(100);
    expect(report.unchanged).toBe(200);
    expect(report.requests.map((r) => r.id).sort()).toEqual(expected);
    expect(report.groups.map((g) => [g.change, g.count])).toEqual([['quorum 1→2', 100]]);
    expect(report.groups[0]?.examples).toHaveLength(3);
  });

  it('exits 1 when a change matches --fail-on, and names the rule and the count', async () => {
    const run = await ala([
      'policy',
      'replay',
      '--bundle',
      candidateDir,
      '--store',
      dbPath,
      '--fail-on',
      'allow->*',
      '--fail-on',
      'quorum-up',
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/quorum 1→2\s+100/);
    expect(run.stdout).toContain('fail-on quorum-up: 100 request(s) match');
    expect(run.stdout).not.toContain('fail-on allow->*');
  });

  it('exits 0 when no change matches the --fail-on rules', async () => {
    const run = await ala([
      'policy',
      'replay',
      '--bundle',
      candidateDir,
      '--store',
      dbPath,
      '--fail-on',
      '*->deny',
    ]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('changed:   100');
  });

  it('finds no change when the candidate is the active bundle', async () => {
    const same = signedBundleCopy(keys, undefined, join(work, 'same'));
    const run = await ala([
      '--json',
      'policy',
      'replay',
      '--bundle',
      same.dir,
      '--store',
      dbPath,
      '--fail-on',
      'any',
    ]);
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as { changed: number }).changed).toBe(0);
  });

  it('replays an audit export (JSON Lines) to the same result as the store', async () => {
    const store = new SqliteRequestStore({ path: dbPath });
    const lines: string[] = [];
    for (const request of stored) {
      for (const event of await store.listEvents(request.id)) lines.push(JSON.stringify(event));
    }
    await store.close();
    const file = join(work, 'audit.jsonl');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const run = await ala(['--json', 'policy', 'replay', '--bundle', candidateDir, '--audit', file]);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as {
      evaluated: number;
      inputMismatches: string[];
      requests: { id: string }[];
    };
    expect(report.evaluated).toBe(300);
    expect(report.inputMismatches).toEqual([]);
    expect(report.requests.map((r) => r.id).sort()).toEqual(nonProdExportsNeedingOne());
  });

  it('refuses a candidate whose signature does not verify with the given key', async () => {
    const other = testKeys();
    const run = await ala([
      'policy',
      'replay',
      '--bundle',
      candidateDir,
      '--store',
      dbPath,
      '--verification-key',
      other.publicKeyPath,
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/does not verify with the verification key/);
  });

  it('refuses an unknown --fail-on rule with the forms it accepts', async () => {
    const run = await ala([
      'policy',
      'replay',
      '--bundle',
      candidateDir,
      '--store',
      dbPath,
      '--fail-on',
      'stricter',
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/FROM->TO .*quorum-up/);
  });
});
