/**
 * Property-based API testing: schemathesis generates requests from the served OpenAPI document
 * (valid and invalid, plus stateful sequences through the document's links) against the real
 * local gateway process, and fails on any 5xx or any response that violates the document.
 * In the slow project: it needs schemathesis (Python) and runs for a minute or more on a busy machine.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type GatewayProcess,
  gatewayConfig,
  PRINCIPALS,
  ROOT,
  startGatewayProcess,
} from '../../support/gateway-process.ts';

const ST = join(ROOT, '.tools', 'bin', 'st');

const POLICY_DATA = JSON.parse(readFileSync(join(ROOT, 'policies/build/data.json'), 'utf8')) as {
  groups: Record<string, string[]>;
};
/** The agent and every group member of the default policy data, each with a token of its own. */
const ST_TOKENS: Record<string, string> = Object.fromEntries([
  [PRINCIPALS.agent.id, PRINCIPALS.agent.token],
  ...[...new Set(Object.values(POLICY_DATA.groups).flat())].map((id) => [
    id,
    `st-${id.replace(/[^a-z]/g, '')}-token-0123456789`,
  ]),
]);

/** Some 400 generated calls; about a minute on an idle 2-core machine, several when it is loaded. */
const SCHEMATHESIS_TIMEOUT_MS = 600_000;

function run(
  command: string,
  args: string[],
  signal: AbortSignal,
  env: Record<string, string> = {},
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // Run from a scratch folder: schemathesis leaves a .schemathesis/ cache where it runs. The
    // signal (aborted when the test times out) kills it, so it never outlives the test.
    const child = spawn(command, args, {
      cwd: tmpdir(),
      env: { ...process.env, NO_COLOR: '1', ...env },
      signal,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', (error) => (signal.aborted ? resolve({ code: null, output }) : reject(error)));
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('OpenAPI conformance (schemathesis)', () => {
  let gw: GatewayProcess;
  beforeAll(async () => {
    if (!existsSync(ST)) throw new Error('schemathesis is not installed: run `bash scripts/tools.sh python`');
    // Limits high enough that thousands of generated calls are judged on their own, not refused
    // as a flood (the limits have tests of their own).
    gw = await startGatewayProcess(
      // debug: every call is logged, so the test can tell which operations the run reached.
      // The pack's production export grants AWS credentials, which this gateway has no broker
      // for (501); without that grant an approved export redeems a `none` grant, as in the README.
      gatewayConfig(
        (data) => {
          delete (data.grants as Record<string, unknown>)['data.export'];
        },
        'debug',
        {
          principals: Object.entries(ST_TOKENS).map(([id, token]) => ({ id, token })),
          limits: { callsPerMinute: 1_000_000, submissionsPerMinute: 100_000, maxPending: 1_000_000 },
        },
      ),
    );
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('passes every check in every phase, the stateful one recording votes and cancels and reaching grants', {
    timeout: SCHEMATHESIS_TIMEOUT_MS,
  }, async ({ signal }) => {
    const { code, output } = await run(
      ST,
      [
        'run',
        `${gw.url}/v1/openapi.json`,
        '--checks',
        'all',
        '--phases',
        'examples,coverage,fuzzing,stateful',
        '--max-examples',
        '25',
        '--seed',
        '20261122',
        '--generation-database',
        'none',
        '--request-timeout',
        '30',
        // A long-poll (`Prefer: wait=N`, `?wait=N`) may hold its answer up to 25 s by design.
        '--max-response-time',
        '27',
        '--no-color',
      ],
      signal,
      {
        // Each call as the principal that may make it (schemathesis_hooks.py).
        SCHEMATHESIS_HOOKS: 'schemathesis_hooks',
        PYTHONPATH: import.meta.dirname,
        ALA_ST_TOKENS: JSON.stringify(ST_TOKENS),
        ALA_ST_GROUPS: JSON.stringify(POLICY_DATA.groups),
        ALA_ST_AGENT: PRINCIPALS.agent.id,
        ALA_ST_BASE: gw.url,
      },
    );
    const summary = /(\d+) generated, (\d+) passed/.exec(output);
    expect(code, output.slice(-4000)).toBe(0);
    expect(summary, output.slice(-2000)).not.toBeNull();
    expect(Number(summary?.[1])).toBeGreaterThan(300);
    expect(summary?.[1]).toBe(summary?.[2]);
    // The gateway itself logged no unexpected failure while being fuzzed.
    expect(gw.output()).not.toMatch(/"level":"ERROR"/);
    // The stateful phase got past submission (before the hooks, every vote, grant and cancel was 404).
    const calls = gw
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map(
        (line) => JSON.parse(line) as { message?: string; method?: string; path?: string; status?: number },
      )
      .filter((entry) => entry.message === 'http' && entry.method === 'POST');
    const answered = (suffix: string, statuses: number[]) =>
      calls.filter((call) => call.path?.endsWith(suffix) && statuses.includes(call.status ?? 0)).length;
    const seen = JSON.stringify(
      Object.entries(
        calls.reduce<Record<string, number>>((count, call) => {
          const key = `${call.path?.replace(/ar_[0-9A-Z]{26}/, '{id}')} ${call.status}`;
          count[key] = (count[key] ?? 0) + 1;
          return count;
        }, {}),
      ),
    );
    // The stateful phase recorded votes (a submission's answer links to the vote, a vote's answer to
    // the cancel, so a vote comes before a cancel), reached grants (redeemed, or refused as not
    // approved yet) and cancelled requests a vote had left pending.
    console.info(`schemathesis: ${summary?.[0]}; POST answers: ${seen}`);
    expect(answered('/decisions', [200]), `votes recorded; POST calls: ${seen}`).toBeGreaterThan(0);
    expect(answered('/grant', [200, 409]), `grants reached; POST calls: ${seen}`).toBeGreaterThan(0);
    expect(answered('/cancel', [200]), `requests cancelled; POST calls: ${seen}`).toBeGreaterThan(0);
  });
});
