import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  type ActionRequestView,
  ApprovalsClient,
  type AuditEventView,
  type GrantView,
  type WhoamiView,
} from '../../../client/index.ts';
import type { CliIo } from '../../../functions/cli/io.ts';
import { main } from '../../../functions/cli/main.ts';
import { TOKENS } from '../../support/app.ts';
import { decision, exportInput } from '../../support/fixtures.ts';
import { closedPortUrl, jsonError, type PolicyAnswer, startGateway } from '../client/server.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

const workDir = mkdtempSync(join(tmpdir(), 'ala-cli-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

interface AlaOptions {
  url?: string;
  as?: keyof typeof TOKENS | null;
  stdin?: string;
  env?: Record<string, string>;
}

/**
 * Starts `ala …` in-process with output captured as it is written (stdout and stderr are not
 * terminals, as in a pipe); `as` picks the ALA_TOKEN.
 */
function alaLive(argv: string[], options: AlaOptions = {}) {
  let stdout = '';
  let stderr = '';
  const env: Record<string, string> = { ...options.env };
  if (options.url) env.ALA_URL = options.url;
  const who = options.as === undefined ? 'agent' : options.as;
  if (who) env.ALA_TOKEN = TOKENS[who];
  const io: CliIo = {
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: { write: (chunk: string) => (stderr += chunk) },
    env,
    cwd: workDir,
    readStdin: async () => options.stdin ?? '',
  };
  const done = main(argv, io).then((code): Run => ({ code, stdout, stderr }));
  return { stdout: () => stdout, stderr: () => stderr, done };
}

/** Runs `ala …` in-process to the end. */
function ala(argv: string[], options: AlaOptions = {}): Promise<Run> {
  return alaLive(argv, options).done;
}

/** Polls until `probe` returns something; fails with `what` after `timeoutMs`. */
async function eventually<T>(probe: () => T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function gateway(answer?: PolicyAnswer) {
  const started = await startGateway(answer ? { answer } : {});
  closers.push(started.close);
  const as = (who: keyof typeof TOKENS, argv: string[], stdin?: string) =>
    ala(argv, { url: started.url, as: who, ...(stdin !== undefined ? { stdin } : {}) });
  return { ...started, as };
}

const REQUEST_FLAGS = [
  'request',
  '--action',
  'data.export',
  '--resource-type',
  'aws:s3:bucket',
  '--resource-id',
  'arn:aws-us-gov:s3:::fin-ledger-prod',
  '--arg',
  'dataset=ledger_2026q2',
  '--arg',
  'max_rows:=5000',
  '--prop',
  'environment=prod',
  '--justification',
  'Quarterly reconciliation, CHG-4821',
  '--on-behalf-of',
  'user:alice@example.gov',
];

const ROOT = join(import.meta.dirname, '../../..');

function client(who: keyof typeof TOKENS, url: string): ApprovalsClient {
  return new ApprovalsClient({ baseUrl: url, token: TOKENS[who] });
}

function parse<T>(run: Run): T {
  return JSON.parse(run.stdout) as T;
}

describe('CLI: ala', () => {
  it('answers --help on every command with its usage and exit code 0', async () => {
    const commands = [
      [],
      ['serve'],
      ['request'],
      ['status'],
      ['pending'],
      ['approve'],
      ['reject'],
      ['cancel'],
      ['redeem'],
      ['outcome'],
      ['audit'],
      ['audit', 'show'],
      ['audit', 'verify'],
      ['policy'],
      ['policy', 'eval'],
      ['whoami'],
    ];
    for (const command of commands) {
      const run = await ala([...command, '--help']);
      expect(run.code, command.join(' ')).toBe(0);
      expect(run.stdout).toContain(`Usage: ala ${command.join(' ')}`.trim());
    }
    expect((await ala(['--help'])).stdout).toContain('Exit codes:');
  });

  it('runs the approval path: request, pending, approve ×2, wait, redeem, outcome, audit verify', async () => {
    // Prepare
    const { as } = await gateway();

    // Act: the agent asks
    const submitted = await as('agent', [...REQUEST_FLAGS, '--json']);
    const request = parse<ActionRequestView>(submitted);
    const forBob = await as('bob', ['pending']);
    const bobApproves = await as('bob', ['approve', request.id, '--comment', 'looks right']);
    const waiting = as('agent', ['status', request.id, '--wait', '20', '--json']);
    const carolApproves = await as('carol', ['approve', request.id, '--action-hash', request.action_hash]);
    const waited = await waiting;
    const redeemed = await as('agent', ['redeem', request.id, '--json']);
    const outcome = await as('agent', ['outcome', request.id, 'succeeded', '--detail', 'exported']);
    const verified = await as('audrey', ['audit', 'verify', request.id]);

    // Assess
    expect(submitted.code).toBe(0);
    expect(request).toMatchObject({
      status: 'pending',
      action: { name: 'data.export', args: { dataset: 'ledger_2026q2', max_rows: 5000 } },
      resource: { properties: { environment: 'prod' } },
      context: { on_behalf_of: 'user:alice@example.gov' },
    });
    expect(forBob.stdout).toContain(request.id);
    expect(forBob.stdout).toContain('0/2');
    expect(bobApproves.code).toBe(0);
    expect(bobApproves.stdout).toContain('You are approving:');
    expect(bobApproves.stdout).toContain('"max_rows": 5000');
    expect(bobApproves.stdout).toContain('Quarterly reconciliation, CHG-4821');
    expect(bobApproves.stdout).toContain(request.action_hash);
    expect(bobApproves.stdout).toContain('(1 of 2 approvals)');
    expect(carolApproves.stdout).toContain('is now approved');
    expect(parse<ActionRequestView>(waited).status).toBe('approved');
    expect(redeemed.code).toBe(0);
    expect(parse<GrantView>(redeemed).request_id).toBe(request.id);
    expect(outcome).toMatchObject({ code: 0, stdout: expect.stringContaining('succeeded') });
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/✓ ar_\w+: \d+ events, chain intact/);
  });

  it('exits 1 with the comment when a human rejects a request the agent waits for', async () => {
    const { as } = await gateway();
    const { id } = parse<ActionRequestView>(await as('agent', [...REQUEST_FLAGS, '--json']));

    const withoutComment = await as('bob', ['reject', id]);
    const waiting = as('agent', ['status', id, '--wait', '20']);
    const rejected = await as('bob', ['reject', id, '--comment', 'Use the redacted set.']);
    const status = await waiting;
    const again = await as('carol', ['approve', id]);

    expect(withoutComment.code).toBe(2);
    expect(withoutComment.stderr).toContain("required option '--comment <text>'");
    expect(rejected.code).toBe(0);
    expect(rejected.stdout).toContain('is now rejected');
    expect(status.stdout).toContain('REJECTED');
    expect(status.stdout).toContain('Use the redacted set.');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('is rejected; only pending requests can be reviewed');
  });

  it('exits by the decision with request --wait: 0 approved, 1 denied, 3 still pending', async () => {
    const allowed = await gateway(decision({ outcome: 'allow', approval: undefined }));
    const denied = await gateway(decision({ outcome: 'deny', approval: undefined }));
    const pending = await gateway();

    const approvedRun = await allowed.as('agent', [...REQUEST_FLAGS, '--wait', '5']);
    const deniedRun = await denied.as('agent', [...REQUEST_FLAGS, '--wait', '5']);
    const pendingRun = await pending.as('agent', [...REQUEST_FLAGS, '--wait', '1']);

    expect(approvedRun.code).toBe(0);
    expect(approvedRun.stdout).toContain('APPROVED');
    expect(deniedRun.code).toBe(1);
    expect(deniedRun.stdout).toContain('Denied by policy');
    expect(pendingRun.code).toBe(3);
    expect(pendingRun.stderr).toContain('still pending after 1s');
  });

  it('reads the request from a JSON file or stdin, flags overriding it', async () => {
    const { as } = await gateway();
    const file = join(workDir, 'request.json');
    writeFileSync(file, JSON.stringify(exportInput));

    const fromFile = parse<ActionRequestView>(await as('agent', ['request', 'request.json', '--json']));
    const fromStdin = parse<ActionRequestView>(
      await as('agent', ['request', '-', '--arg', 'dataset=other', '--json'], JSON.stringify(exportInput)),
    );

    expect(fromFile.action).toEqual(exportInput.action);
    expect(fromFile.context).toMatchObject({ justification: exportInput.context.justification });
    expect(fromStdin.action.args).toMatchObject({ dataset: 'other', destination: 's3://agency-drop/fin/' });
  });

  it('says to set ALA_TOKEN on a 401, and never prints the token', async () => {
    const { url } = await gateway();

    const missing = await ala(['pending'], { url, as: null });
    const wrong = await ala(['pending'], { url, as: null, env: { ALA_TOKEN: 'wrong-token-0123456789' } });

    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('set ALA_TOKEN');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('did not accept your token');
    expect(wrong.stderr + wrong.stdout).not.toContain('wrong-token-0123456789');
  });

  it('explains a 409 and exits 1', async () => {
    const { as } = await gateway();
    const { id } = parse<ActionRequestView>(await as('agent', [...REQUEST_FLAGS, '--json']));

    await as('agent', ['cancel', id, '--reason', 'not needed']);
    const again = await as('agent', ['cancel', id]);
    const asJson = await as('agent', ['cancel', id, '--json']);

    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/conflict: .*\(409 request_not_pending\)/);
    expect(JSON.parse(asJson.stderr)).toMatchObject({ error: 'request_not_pending', status: 409 });
    expect(asJson.stdout).toBe('');
  });

  it('says on stderr what a retry waits for when the gateway asks to wait', async () => {
    let refused = 0;
    const started = await startGateway({
      // Only the listing is made to fail, once.
      faults: (request) =>
        new URL(request.url).pathname === '/v1/action-requests' && refused++ === 0
          ? jsonError(503, 'store_unavailable', { 'retry-after': '1' })
          : undefined,
    });
    closers.push(started.close);

    const run = await ala(['pending'], { url: started.url, as: 'bob' });

    expect(run.code).toBe(0);
    expect(run.stderr).toContain(
      'the gateway answered 503 store_unavailable to GET /v1/action-requests; retrying in 1.0 s (retry 1 of 2)',
    );
    expect(run.stdout).toBe('Nothing is waiting for your review.\n');
  });

  it('tells the user to start the gateway when nothing listens', async () => {
    const run = await ala(['pending'], { url: await closedPortUrl() });

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('is the gateway running? start it with npm start');
  });

  it('exits 2 for usage and input errors, naming what to fix', async () => {
    const { as } = await gateway();
    writeFileSync(join(workDir, 'broken.json'), '{"action": ');

    const missing = await as('agent', ['request', '--action', 'data.export']);
    const badJson = await as('agent', ['request', 'broken.json']);
    const noFile = await as('agent', ['request', 'nope.json']);
    const badArg = await as('agent', [...REQUEST_FLAGS, '--arg', 'novalue']);
    const badWait = await as('agent', ['status', 'ar_x', '--wait', 'soon']);
    const badOutcome = await as('agent', ['outcome', 'ar_x', 'maybe']);
    const unknown = await as('agent', ['launch']);
    const refused = await as('agent', [...REQUEST_FLAGS, '--action', 'data export!']);
    const badUrl = await ala(['pending', '--url', 'localhost:8787']);
    const badLimit = await as('bob', ['pending', '--limit', '0']);

    for (const run of [
      missing,
      badJson,
      noFile,
      badArg,
      badWait,
      badOutcome,
      unknown,
      refused,
      badUrl,
      badLimit,
    ]) {
      expect(run.code).toBe(2);
    }
    expect(missing.stderr).toContain('--resource-type');
    expect(badJson.stderr).toContain('broken.json is not valid JSON');
    expect(noFile.stderr).toContain('no such file');
    expect(badArg.stderr).toContain('--arg expects key=value');
    expect(badWait.stderr).toContain('--wait expects whole seconds');
    expect(badOutcome.stderr).toContain('succeeded, failed');
    expect(unknown.stderr).toContain("unknown command 'launch'");
    expect(refused.stderr).toContain('action.name:');
    expect(badUrl.stderr).toContain('--url / ALA_URL: baseUrl must be an absolute http(s) URL');
    expect(badLimit.stderr).toContain('--limit expects a whole number from 1 to 500');
  });

  it("shows an approver the agent's text with terminal control sequences escaped", async () => {
    const { as } = await gateway();
    const { id } = parse<ActionRequestView>(
      await as('agent', [
        ...REQUEST_FLAGS,
        '--justification',
        'routine\u001b[2K\rall fine \u202eevil',
        '--arg',
        'note=\u001b]8;;https://x\u0007',
        '--json',
      ]),
    );

    const shown = await as('bob', ['status', id]);

    for (const raw of ['\u001b', '\u0007', '\u202e', '\r']) expect(shown.stdout).not.toContain(raw);
    expect(shown.stdout).toContain('routine\\u{001b}[2K\\u{000d}all fine \\u{202e}evil');
  });

  it('verifies an exported audit file offline, and finds a tampered event', async () => {
    const { as } = await gateway();
    const { id } = parse<ActionRequestView>(await as('agent', [...REQUEST_FLAGS, '--json']));
    await as('agent', ['cancel', id]);
    const exported = await as('agent', ['audit', 'show', id, '--jsonl']);
    const good = join(workDir, 'events.jsonl');
    writeFileSync(good, exported.stdout);
    const events = exported.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as AuditEventView);
    const tampered = events.map((e) => (e.seq === 1 ? { ...e, actor: 'user:mallory@example.gov' } : e));
    const bad = join(workDir, 'tampered.jsonl');
    writeFileSync(bad, tampered.map((e) => JSON.stringify(e)).join('\n'));
    const cloudEvents = join(workDir, 'cloudevents.jsonl');
    writeFileSync(
      cloudEvents,
      events.map((e) => JSON.stringify({ specversion: '1.0', type: e.type, id: e.hash, data: e })).join('\n'),
    );

    const okRun = await ala(['audit', 'verify', '--file', good]);
    const badRun = await ala(['audit', 'verify', '--file', bad, '--json']);
    const envelopes = await ala(['audit', 'verify', '--file', cloudEvents]);
    const neither = await ala(['audit', 'verify']);

    expect(events.length).toBeGreaterThan(2);
    expect(readFileSync(good, 'utf8')).toContain(id);
    expect(okRun.code).toBe(0);
    expect(okRun.stdout).toContain(`✓ ${id}: ${events.length} events, chain intact`);
    expect(badRun.code).toBe(1);
    expect(parse<{ ok: boolean; chains: { problems: { code: string }[] }[] }>(badRun)).toMatchObject({
      ok: false,
      chains: [{ problems: [{ code: 'hash_mismatch' }] }],
    });
    expect(envelopes.code).toBe(0);
    expect(neither.code).toBe(2);
  });

  it("dry-runs the gateway's policy with policy eval", async () => {
    const { as } = await gateway();
    writeFileSync(
      join(workDir, 'input.json'),
      JSON.stringify({
        ...exportInput,
        subject: { id: 'user:x', type: 'user' },
        now: '2026-01-01T00:00:00Z',
      }),
    );

    const human = await as('agent', ['policy', 'eval', 'input.json']);
    const json = await as('agent', ['policy', 'eval', 'input.json', '--json']);

    expect(human.code).toBe(0);
    expect(human.stdout).toContain('Policy decision: require_approval');
    expect(human.stdout).toContain('2 from data-owners');
    expect(human.stderr).toContain('"subject" and "now"');
    expect(parse<{ outcome: string }>(json).outcome).toBe('require_approval');
  });

  it('evaluates the compiled bundle offline, hashing the action as the gateway does', async () => {
    const { as } = await gateway();
    writeFileSync(join(workDir, 'offline.json'), JSON.stringify(exportInput));

    const offline = await ala([
      'policy',
      'eval',
      'offline.json',
      '--offline',
      '--as',
      'agent:demo-exporter',
      '--json',
    ]);
    const online = await as('agent', ['policy', 'eval', 'offline.json', '--json']);
    const noSubject = await ala(['policy', 'eval', 'offline.json', '--offline']);
    const noBundle = await ala([
      'policy',
      'eval',
      'offline.json',
      '--offline',
      '--as',
      'agent:a',
      '--wasm',
      'nope.wasm',
    ]);

    expect(offline.code).toBe(0);
    const view = parse<{ outcome: string; reasons: unknown[]; policy_digest: string; action_hash: string }>(
      offline,
    );
    expect(['allow', 'deny', 'require_approval']).toContain(view.outcome);
    expect(view.reasons.length).toBeGreaterThan(0);
    expect(view.policy_digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(view.action_hash).toBe(parse<{ action_hash: string }>(online).action_hash);
    expect(noSubject.code).toBe(2);
    expect(noSubject.stderr).toContain('--as');
    expect(noBundle.code).toBe(2);
    expect(noBundle.stderr).toContain('npm run policy:build');
  });

  it('prints no credentials with redeem --env for a grant that has none', async () => {
    const { as } = await gateway(decision({ outcome: 'allow', approval: undefined }));
    const { id } = parse<ActionRequestView>(await as('agent', [...REQUEST_FLAGS, '--json']));

    const run = await as('agent', ['redeem', id, '--env']);
    const again = await as('agent', ['redeem', id]);

    expect(run).toMatchObject({ code: 0, stdout: '' });
    expect(run.stderr).toContain('no credentials');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('grant_already_redeemed');
  });

  describe('whoami', () => {
    it('shows who the gateway takes you to be: principal, type, groups, authentication', async () => {
      const { as } = await gateway();

      const bob = await as('bob', ['whoami']);
      const audrey = await as('audrey', ['whoami', '--json']);

      expect(bob.code).toBe(0);
      expect(bob.stdout).toContain('You are user:bob@example.gov');
      expect(bob.stdout).toMatch(/groups\s+data-owners/);
      expect(bob.stdout).toMatch(/authenticated\s+bearer token/);
      expect(bob.stdout).toMatch(/slack\s+U0BOB/);
      expect(parse<WhoamiView>(audrey)).toMatchObject({
        principal: 'user:audrey@example.gov',
        type: 'user',
        groups: ['auditors'],
        auditor: true,
      });
    });

    it('says why you may not vote on a request, with --request', async () => {
      const { as } = await gateway();
      const { id } = parse<ActionRequestView>(await as('agent', [...REQUEST_FLAGS, '--json']));

      const auditor = await as('audrey', ['whoami', '--request', id]);
      const owner = await as('bob', ['whoami', '--request', id]);
      const stranger = await as('mallory', ['whoami', '--request', id]);

      expect(auditor.code).toBe(0);
      expect(auditor.stdout).toMatch(
        /may vote\s+no: user:audrey@example.gov is not a member of any approving group \(data-owners\) \[not_eligible\]/,
      );
      expect(owner.stdout).toMatch(/may vote\s+yes/);
      expect(stranger.code).toBe(1);
      expect(stranger.stderr).toContain('not found');
    });
  });

  describe('pending', () => {
    it('leaves out requests you already voted on, and lists them marked with --all', async () => {
      const { as } = await gateway();
      const first = parse<ActionRequestView>(await as('agent', [...REQUEST_FLAGS, '--json']));
      const second = parse<ActionRequestView>(await as('agent', [...REQUEST_FLAGS, '--json']));
      await as('bob', ['approve', first.id]);

      const bob = await as('bob', ['pending']);
      const bobAll = await as('bob', ['pending', '--all']);
      const bobJson = parse<{ items: ActionRequestView[]; count: number }>(
        await as('bob', ['pending', '--json']),
      );
      const carol = await as('carol', ['pending']);

      expect(bob.code).toBe(0);
      expect(bob.stdout).toContain(second.id);
      expect(bob.stdout).not.toContain(first.id);
      expect(bobAll.stdout).toMatch(new RegExp(`${first.id} .*\\(you voted approve\\)`));
      expect(bobAll.stdout).toMatch(new RegExp(`${second.id} (?!.*you voted)`));
      expect(bobJson).toMatchObject({ count: 1 });
      expect(bobJson.items.map((item) => item.id)).toEqual([second.id]);
      expect(carol.stdout).toContain(first.id);
      expect(carol.stdout).toContain(second.id);
    });

    it('says nothing is waiting when you voted on everything, and how to list those', async () => {
      const { as } = await gateway();
      const { id } = parse<ActionRequestView>(await as('agent', [...REQUEST_FLAGS, '--json']));
      await as('bob', ['approve', id]);

      const run = await as('bob', ['pending']);

      expect(run.stdout).toBe('Nothing is waiting for your review.\n');
      expect(run.stderr).toContain(
        'requests you already voted on are not listed; ala pending --all lists them',
      );
    });

    it('stops at --limit and prints the cursor that --cursor continues from', async () => {
      const { as } = await gateway();
      const first = parse<ActionRequestView>(await as('agent', [...REQUEST_FLAGS, '--json']));
      const second = parse<ActionRequestView>(await as('agent', [...REQUEST_FLAGS, '--json']));

      const page = await as('bob', ['pending', '--limit', '1']);
      const cursor = /--cursor (\S+)\)/.exec(page.stderr)?.[1];
      const rest = await as('bob', ['pending', '--limit', '1', '--cursor', cursor ?? 'missing', '--json']);

      // Newest first.
      expect(page.stdout).toContain(second.id);
      expect(page.stdout).not.toContain(first.id);
      expect(cursor).toBeDefined();
      expect(parse<{ items: ActionRequestView[] }>(rest).items.map((item) => item.id)).toEqual([first.id]);
    });
  });

  describe('a repeated vote', () => {
    it('exits 4 and says the earlier vote stands and nothing new was recorded', async () => {
      const { as } = await gateway();
      const { id } = parse<ActionRequestView>(await as('agent', [...REQUEST_FLAGS, '--json']));
      await as('bob', ['approve', id, '--comment', 'first']);

      const again = await as('bob', ['approve', id, '--comment', 'second']);
      const againJson = await as('bob', ['approve', id, '--json']);
      const status = parse<ActionRequestView>(await as('agent', ['status', id, '--json']));

      expect(again.code).toBe(4);
      expect(again.stdout).toMatch(
        new RegExp(
          `Nothing new was recorded: you had already voted to approve ${id} at .+ via api, and that vote stands\\. It is pending \\(1 of 2 approvals\\)\\.`,
        ),
      );
      expect(again.stdout).not.toContain('Approved:');
      expect(againJson.code).toBe(4);
      expect(parse<{ vote: { recorded: boolean } }>(againJson).vote.recorded).toBe(false);
      expect(status.approval?.votes).toEqual([
        expect.objectContaining({ approver: 'user:bob@example.gov', comment: 'first' }),
      ]);
    });

    it('exits 1 when you try to vote the other way after voting', async () => {
      const { as } = await gateway();
      const { id } = parse<ActionRequestView>(await as('agent', [...REQUEST_FLAGS, '--json']));
      await as('bob', ['approve', id]);

      const reject = await as('bob', ['reject', id, '--comment', 'changed my mind']);

      expect(reject.code).toBe(1);
      expect(reject.stderr).toMatch(
        /already voted to approve at .*; a vote cannot be changed \(409 vote_already_cast\)/,
      );
    });
  });

  describe('approve --only-action/--only-resource/--window', () => {
    const grant = {
      type: 'aws_sts' as const,
      role: 'exporter',
      actions: ['s3:GetObject', 's3:ListBucket'],
      resources: ['arn:aws:s3:::exports/a.csv', 'arn:aws:s3:::exports/b.csv'],
      window_seconds: 600,
    };

    it('approves only the named terms and says so', async () => {
      const { as } = await gateway(decision({ grant }));
      const { id } = parse<ActionRequestView>(await as('agent', [...REQUEST_FLAGS, '--json']));

      const run = await as('bob', [
        'approve',
        id,
        '--only-action',
        's3:GetObject',
        '--only-resource',
        'arn:aws:s3:::exports/a.csv',
        '--window',
        '120',
      ]);
      await as('carol', [
        'approve',
        id,
        '--only-resource',
        'arn:aws:s3:::exports/a.csv',
        '--only-action',
        's3:GetObject',
        '--window',
        '120',
      ]);
      const status = parse<ActionRequestView>(await as('agent', ['status', id, '--json']));

      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Only: s3:GetObject on arn:aws:s3:::exports/a.csv, for 120 s');
      expect(run.stdout).toMatch(/Approved narrower \(terms sha256:[0-9a-f]{64}\): .* is now pending/);
      expect(status.status).toBe('approved');
      expect(status.grant).toMatchObject({
        actions: ['s3:GetObject'],
        resources: ['arn:aws:s3:::exports/a.csv'],
        window_seconds: 120,
      });
      expect(status.agent_message).toContain('narrower than you asked');
    });

    it('exits 2 (a 400) and names the term when it was not asked for', async () => {
      const { as } = await gateway(decision({ grant }));
      const { id } = parse<ActionRequestView>(await as('agent', [...REQUEST_FLAGS, '--json']));

      const run = await as('bob', ['approve', id, '--only-action', 's3:DeleteObject']);

      expect(run.code).toBe(2);
      expect(run.stderr).toContain('action "s3:DeleteObject" was not asked for');
    });
  });

  describe('request --wait', () => {
    it('prints the id and status at once, says on stderr what it waits for, then prints the result', async () => {
      const { as, url } = await gateway();

      const run = alaLive([...REQUEST_FLAGS, '--wait', '60'], { url, as: 'agent' });
      const firstLine = await eventually(
        () => /^(ar_\w{26}) +pending +0\/2 .*\n/.exec(run.stdout()) ?? undefined,
        'the id on stdout',
      );
      const id = firstLine[1] as string;
      const waitingForTwo = await eventually(
        () => (run.stderr().includes('waiting for 2 more approvals') ? run.stderr() : undefined),
        'the wait described on stderr',
      );
      await as('bob', ['approve', id]);
      await as('carol', ['approve', id]);
      const done = await run.done;

      expect(waitingForTwo).toMatch(
        new RegExp(
          `waiting for 2 more approvals \\(0 of 2\\) from data-owners until \\S+Z \\(request ${id}, expires \\S+Z; escalates to data-owner-leads at \\S+Z\\)`,
        ),
      );
      expect(done.code).toBe(0);
      expect(done.stdout.startsWith(firstLine[0])).toBe(true);
      expect(done.stdout).toContain(`Request ${id}  APPROVED`);
      // One line per change of what it waits for, never the same line again for another poll.
      const waitLines = done.stderr.split('\n').filter((line) => line.startsWith('waiting for'));
      expect(waitLines[0]).toBe(waitingForTwo.trim());
      expect(new Set(waitLines).size).toBe(waitLines.length);
    }, 30_000);

    it('with --json, prints JSON Lines: the request as submitted at once, then as it ended', async () => {
      const { as, url } = await gateway();

      const run = alaLive([...REQUEST_FLAGS, '--wait', '60', '--json'], { url, as: 'agent' });
      const submitted = await eventually(() => {
        const line = run.stdout().split('\n')[0];
        return run.stdout().includes('\n') && line ? (JSON.parse(line) as ActionRequestView) : undefined;
      }, 'the submitted request on stdout');
      await as('bob', ['reject', submitted.id, '--comment', 'Use the redacted set.']);
      const done = await run.done;
      const lines = done.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as ActionRequestView);

      expect(submitted.status).toBe('pending');
      expect(done.code).toBe(1);
      expect(lines.map((line) => [line.id, line.status])).toEqual([
        [submitted.id, 'pending'],
        [submitted.id, 'rejected'],
      ]);
      // stderr carries JSON errors with --json; the wait is shown there only on a terminal.
      expect(done.stderr).toBe('');
    }, 30_000);

    it('prints the id before the decision through a real pipe, from the installed command', async () => {
      const { url } = await gateway();
      const child = spawn(process.execPath, [join(ROOT, 'bin/ala.js'), ...REQUEST_FLAGS, '--wait', '60'], {
        cwd: workDir,
        env: { ...process.env, ALA_URL: url, ALA_TOKEN: TOKENS.agent },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      closers.push(async () => {
        if (child.exitCode === null) child.kill('SIGKILL');
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

      const id = await eventually(
        () => /^(ar_\w{26}) +pending /.exec(stdout)?.[1],
        'the id on the pipe',
        25_000,
      );
      const hash = ((await client('bob', url).get(id)) as ActionRequestView).action_hash;
      await client('bob', url).decide(id, { decision: 'approve', actionHash: hash });
      await client('carol', url).decide(id, { decision: 'approve', actionHash: hash });
      const code = await exited;

      expect(code).toBe(0);
      expect(stdout).toContain(`Request ${id}  APPROVED`);
      expect(stderr).toContain(`waiting for 2 more approvals (0 of 2) from data-owners`);
    }, 60_000);
  });
});
