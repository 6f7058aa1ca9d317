import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ActionRequestInput,
  ApprovalsApiError,
  ApprovalsClient,
  ApprovalsNetworkError,
  MAX_WAIT_SECONDS,
  type RetryNotice,
} from '../../../client/index.ts';
import { verifyChain } from '../../../functions/core/audit.ts';
import { MAX_WAIT_SECONDS as SERVER_MAX_WAIT_SECONDS } from '../../../functions/http/schemas.ts';
import { TOKENS } from '../../support/app.ts';
import { decision, exportInput } from '../../support/fixtures.ts';
import { closedPortUrl, jsonError, startGateway, startRawServer } from './server.ts';

const FAST_RETRY = { baseDelayMs: 5, maxDelayMs: 20 };
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

async function gateway(options: Parameters<typeof startGateway>[0] = {}) {
  const started = await startGateway(options);
  closers.push(started.close);
  const as = (who: keyof typeof TOKENS, extra: { retry?: typeof FAST_RETRY | false } = {}) =>
    new ApprovalsClient({ baseUrl: started.url, token: TOKENS[who], retry: extra.retry ?? FAST_RETRY });
  return { ...started, as };
}

const input: ActionRequestInput = exportInput;

describe('Class: ApprovalsClient', () => {
  describe('over the real HTTP application', () => {
    it('runs the approval path: submit, wait, two approvals, redeem once, outcome, verifiable audit', async () => {
      // Prepare
      const { as } = await gateway();
      const agent = as('agent');

      // Act
      const submitted = await agent.request(input);
      const waiting = agent.waitForDecision(submitted.id, { timeoutMs: 20_000 });
      const first = await as('bob').decide(submitted.id, {
        decision: 'approve',
        actionHash: submitted.action_hash,
      });
      const second = await as('carol').decide(submitted.id, {
        decision: 'approve',
        comment: 'reconciliation is due',
        actionHash: submitted.action_hash,
      });
      const decided = await waiting;
      const grant = await agent.redeem(submitted.id);
      const again = await agent.redeem(submitted.id).catch((error: unknown) => error);
      const closed = await agent.reportOutcome(submitted.id, 'succeeded', 'exported 1,204 rows');
      const audit = await as('audrey').audit(submitted.id);

      // Assess
      expect(submitted).toMatchObject({ status: 'pending', approval: { required: 2, received: 0 } });
      expect(first).toMatchObject({ status: 'pending', approval: { received: 1 } });
      expect(second.status).toBe('approved');
      expect(decided).toMatchObject({ id: submitted.id, status: 'approved' });
      expect(grant).toMatchObject({ request_id: submitted.id, action_hash: submitted.action_hash });
      expect(grant.grant.type).toBe('none');
      expect(again).toBeInstanceOf(ApprovalsApiError);
      expect(again).toMatchObject({ status: 409, code: 'grant_already_redeemed' });
      expect(closed.outcome).toMatchObject({ status: 'succeeded', detail: 'exported 1,204 rows' });
      expect(verifyChain(audit.events, { requestId: submitted.id }).ok).toBe(true);
      expect(audit.events.map((e) => e.type)).toEqual(
        expect.arrayContaining(['request.submitted', 'request.approved', 'grant.redeemed', 'action.outcome']),
      );
    });

    it('answers a rejection with the reviewer and comment in agent_message', async () => {
      const { as } = await gateway();
      const submitted = await as('agent').request(input);

      await as('bob').decide(submitted.id, {
        decision: 'reject',
        comment: 'Use the redacted data set.',
        actionHash: submitted.action_hash,
      });
      const view = await as('agent').waitForDecision(submitted.id, { timeoutMs: 5_000 });

      expect(view.status).toBe('rejected');
      expect(view.agent_message).toContain('Use the redacted data set.');
      expect(view.agent_message).toContain('user:bob@example.gov');
    });

    it('lists pending requests for an approver and nothing for a stranger', async () => {
      const { as } = await gateway();
      const submitted = await as('agent').request(input);

      const forBob = await as('bob').pending();
      const forMallory = await as('mallory').pending();

      expect(forBob.map((r) => r.id)).toEqual([submitted.id]);
      expect(forMallory).toEqual([]);
    });

    it('cancels a pending request, and a second cancel is a 409', async () => {
      const { as } = await gateway();
      const agent = as('agent');
      const submitted = await agent.request(input);

      const cancelled = await agent.cancel(submitted.id, 'no longer needed');
      const again = await agent.cancel(submitted.id).catch((error: unknown) => error);

      expect(cancelled.status).toBe('cancelled');
      expect(again).toMatchObject({ status: 409, code: 'request_not_pending' });
    });

    it('evaluates the policy without recording anything', async () => {
      const { as, service } = await gateway();

      const evaluation = await as('agent').evaluate(input);

      expect(evaluation).toMatchObject({
        outcome: 'require_approval',
        approval: { groups: ['data-owners'], min_approvals: 2 },
      });
      expect(evaluation.action_hash).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect((await service.list('pending', 'user:bob@example.gov')).items).toHaveLength(0);
    });

    it('tells the caller who the gateway takes it to be, and whether it may vote on a request', async () => {
      const { as } = await gateway();
      const submitted = await as('agent').request(input);

      const bob = await as('bob').whoami();
      const agentOnItsOwn = await as('agent').whoami({ requestId: submitted.id });

      expect(bob).toMatchObject({
        principal: 'user:bob@example.gov',
        type: 'user',
        authentication: 'bearer',
        groups: ['data-owners'],
        auditor: false,
      });
      expect(bob.review).toBeUndefined();
      expect(agentOnItsOwn.review).toMatchObject({
        request_id: submitted.id,
        may_vote: false,
        reason: { code: 'self_approval' },
      });
    });

    it('tells a repeated vote (nothing recorded) from a counted one, and refuses a changed vote', async () => {
      const { as } = await gateway();
      const submitted = await as('agent').request(input);
      const approve = { decision: 'approve' as const, actionHash: submitted.action_hash };

      const first = await as('bob').decide(submitted.id, approve);
      const retry = await as('bob').decide(submitted.id, approve);
      const changed = await as('bob')
        .decide(submitted.id, { decision: 'reject', comment: 'no', actionHash: submitted.action_hash })
        .catch((error: unknown) => error);

      expect(first.vote).toMatchObject({ decision: 'approve', recorded: true });
      expect(retry.vote).toMatchObject({ decision: 'approve', recorded: false, time: first.vote.time });
      expect(retry.approval?.received).toBe(1);
      expect(changed).toBeInstanceOf(ApprovalsApiError);
      expect(changed).toMatchObject({ status: 409, code: 'vote_already_cast' });
    });

    it('long-polls a submission with waitSeconds and answers at once when the policy decides', async () => {
      const { as } = await gateway({ answer: decision({ outcome: 'deny', approval: undefined }) });

      const started = Date.now();
      const view = await as('agent').request(input, { waitSeconds: 20 });

      expect(view.status).toBe('denied');
      expect(view.agent_message).toMatch(/Denied by policy/);
      expect(Date.now() - started).toBeLessThan(5_000);
    });
  });

  describe('pending', () => {
    it('follows cursors past short and empty pages up to the limit, and stops after maxCalls', async () => {
      const pages = [
        { items: [], count: 0, cursor: 'c1' },
        { items: [{ id: 'ar_x' }], count: 1, cursor: 'c2' },
        { items: [{ id: 'ar_y' }], count: 1 },
      ];
      const cursorsSeen: (string | null)[] = [];
      const server = await startRawServer((request, response, attempt) => {
        cursorsSeen.push(new URL(request.url ?? '/', 'http://x').searchParams.get('cursor'));
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(pages[(attempt - 1) % pages.length]));
      });
      try {
        const client = new ApprovalsClient({ baseUrl: server.url, token: TOKENS.bob, retry: FAST_RETRY });

        const all = await client.pending({ limit: 5 });
        const first = await client.pendingPage({ limit: 5, maxCalls: 1 });

        expect(all.map((view) => view.id)).toEqual(['ar_x', 'ar_y']);
        expect(first).toEqual({ items: [], cursor: 'c1' });
        expect(cursorsSeen).toEqual([null, 'c1', 'c2', null]);
      } finally {
        await server.close();
      }
    });
  });

  describe('errors', () => {
    it('maps a refused token to ApprovalsApiError 401 unauthenticated', async () => {
      const { url } = await gateway();
      const client = new ApprovalsClient({ baseUrl: url, token: 'not-a-real-token-0000' });

      const error = await client.pending().catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ApprovalsApiError);
      expect(error).toMatchObject({ status: 401, code: 'unauthenticated', retryable: false });
      expect((error as ApprovalsApiError).requestId).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('maps a vote on a changed action to 409 stale_action_hash', async () => {
      const { as } = await gateway();
      const submitted = await as('agent').request(input);

      const error = await as('bob')
        .decide(submitted.id, { decision: 'approve', actionHash: `sha256:${'0'.repeat(64)}` })
        .catch((e: unknown) => e);

      expect(error).toMatchObject({ status: 409, code: 'stale_action_hash' });
    });

    it('maps an idempotency key reused for another body to 409 idempotency_conflict', async () => {
      const { as } = await gateway();
      const agent = as('agent');
      const first = await agent.request(input, { idempotencyKey: 'tool-call-1' });

      const same = await agent.request(input, { idempotencyKey: 'tool-call-1' });
      const other = await agent
        .request(
          { ...input, context: { justification: 'something else' } },
          { idempotencyKey: 'tool-call-1' },
        )
        .catch((e: unknown) => e);

      expect(same.id).toBe(first.id);
      expect(other).toMatchObject({ status: 409, code: 'idempotency_conflict' });
    });

    it('names the fields to fix for a 400, and does not retry it', async () => {
      const { as, seen } = await gateway();
      const invalid = { action: { name: 'data export!' }, resource: { type: 'x', id: 'y' } };

      const error = await as('agent')
        .request(invalid as ActionRequestInput)
        .catch((e: unknown) => e);

      expect(error).toMatchObject({ status: 400, code: 'invalid_request' });
      expect((error as ApprovalsApiError).issues.map((i) => i.path)).toContain('action.name');
      expect(seen.filter((r) => r.method === 'POST')).toHaveLength(1);
    });

    it('reports a connection refused as ApprovalsNetworkError connection_refused', async () => {
      const client = new ApprovalsClient({
        baseUrl: await closedPortUrl(),
        token: TOKENS.agent,
        retry: FAST_RETRY,
      });

      const error = await client.get('ar_01JD3Z6Q0M8Y3W8T5V9K2N4P6R').catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ApprovalsNetworkError);
      expect(error).toMatchObject({ code: 'connection_refused' });
      expect((error as Error).message).toContain('connection refused');
    });

    it('refuses bad options with messages that say what to fix', async () => {
      expect(() => new ApprovalsClient({ baseUrl: 'localhost:8787' })).toThrow(/absolute http\(s\) URL/);
      expect(() => new ApprovalsClient({ baseUrl: 'http://u:p@127.0.0.1' })).toThrow(/credentials/);
      expect(() => new ApprovalsClient({ baseUrl: 'http://127.0.0.1', token: 'two words' })).toThrow(
        /ALA_TOKEN/,
      );
      const client = new ApprovalsClient({ baseUrl: 'http://127.0.0.1:1/' });
      await expect(client.get('ar_x', { waitSeconds: 30 })).rejects.toThrow(/waitForDecision/);
      expect(MAX_WAIT_SECONDS).toBe(SERVER_MAX_WAIT_SECONDS);
    });
  });

  describe('retries', () => {
    it('retries a 503 twice, then succeeds, with the same Idempotency-Key every time', async () => {
      const { as, seen } = await gateway({
        faults: (_request, attempt) => (attempt <= 2 ? jsonError(503, 'store_unavailable') : undefined),
      });

      const view = await as('agent').request(input);

      const posts = seen.filter((r) => r.method === 'POST');
      expect(view.status).toBe('pending');
      expect(posts).toHaveLength(3);
      const keys = new Set(posts.map((r) => r.headers.get('idempotency-key')));
      expect(keys.size).toBe(1);
      expect([...keys][0]).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('retries a 429 after the Retry-After the gateway asked for', async () => {
      const { as, seen } = await gateway({
        faults: (_request, attempt) =>
          attempt === 1 ? jsonError(429, 'rate_limited', { 'retry-after': '1' }) : undefined,
      });

      const started = Date.now();
      const items = await as('bob').pending();

      expect(items).toEqual([]);
      expect(seen).toHaveLength(2);
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    });

    it("waits out the gateway's own 429 Retry-After, then gets through", async () => {
      // One call a minute, 59 s into the window: the 429 says to come back in 1 s.
      const windowStart = Math.floor(Date.now() / 60_000) * 60_000;
      const started = await gateway({
        app: { limits: { callsPerMinute: 1 }, clockStart: windowStart + 59_000 },
      });
      const notices: RetryNotice[] = [];
      const client = new ApprovalsClient({
        baseUrl: started.url,
        token: TOKENS.bob,
        retry: FAST_RETRY,
        onRetry: (notice) => {
          notices.push(notice);
          // The gateway's clock moves into the next window while the SDK waits.
          started.clock.advance(2);
        },
      });
      expect(await client.pending()).toEqual([]);

      const before = Date.now();
      expect(await client.pending()).toEqual([]);

      expect(notices).toHaveLength(1);
      expect(notices[0]?.error).toMatchObject({ status: 429, code: 'rate_limited', retryAfterMs: 1000 });
      expect(notices[0]?.delayMs).toBeGreaterThanOrEqual(1000);
      expect(Date.now() - before).toBeGreaterThanOrEqual(950);
    });

    it('tells onRetry why and how long each retry waits', async () => {
      const { url } = await gateway({
        faults: (_request, attempt) =>
          attempt === 1 ? jsonError(503, 'store_unavailable', { 'retry-after': '1' }) : undefined,
      });
      const notices: RetryNotice[] = [];
      const client = new ApprovalsClient({
        baseUrl: url,
        token: TOKENS.bob,
        retry: FAST_RETRY,
        onRetry: (notice) => notices.push(notice),
      });

      await client.pending();

      expect(notices).toHaveLength(1);
      expect(notices[0]).toMatchObject({
        method: 'GET',
        path: '/v1/action-requests',
        retry: 1,
        retries: 3,
        delayMs: 1000,
        error: { status: 503, code: 'store_unavailable' },
      });
    });

    it('gives up after the configured retries and throws the last 503', async () => {
      const { url, seen } = await gateway({ faults: () => jsonError(503, 'store_unavailable') });
      const client = new ApprovalsClient({
        baseUrl: url,
        token: TOKENS.agent,
        retry: { ...FAST_RETRY, retries: 2 },
      });

      const error = await client.request(input).catch((e: unknown) => e);

      expect(error).toMatchObject({ status: 503, code: 'store_unavailable', retryable: true });
      expect(seen).toHaveLength(3);
    });

    it('does not sleep through a Retry-After longer than maxRetryAfterMs', async () => {
      const { url, seen } = await gateway({
        faults: () => jsonError(503, 'store_unavailable', { 'retry-after': '120' }),
      });
      const client = new ApprovalsClient({ baseUrl: url, token: TOKENS.agent, retry: FAST_RETRY });

      const error = await client.pending().catch((e: unknown) => e);

      expect(error).toMatchObject({ status: 503, retryAfterMs: 120_000 });
      expect(seen).toHaveLength(1);
    });

    it('never retries other 4xx answers', async () => {
      const { as, seen } = await gateway({ faults: () => jsonError(409, 'request_not_pending') });

      const error = await as('agent')
        .cancel('ar_01JD3Z6Q0M8Y3W8T5V9K2N4P6R')
        .catch((e: unknown) => e);

      expect(error).toMatchObject({ status: 409 });
      expect(seen).toHaveLength(1);
    });

    it('retries a read after a dropped connection, but never a vote whose answer was lost', async () => {
      const view = JSON.stringify({ items: [], count: 0 });
      const server = await startRawServer((_request, response, attempt) => {
        if (attempt % 2 === 1) {
          response.socket?.destroy();
          return;
        }
        response.writeHead(200, { 'content-type': 'application/json' }).end(view);
      });
      closers.push(server.close);
      const client = new ApprovalsClient({ baseUrl: server.url, token: TOKENS.bob, retry: FAST_RETRY });

      const list = await client.pending();
      const afterRead = server.attempts();
      const vote = await client
        .decide('ar_01JD3Z6Q0M8Y3W8T5V9K2N4P6R', {
          decision: 'approve',
          actionHash: `sha256:${'a'.repeat(64)}`,
        })
        .catch((e: unknown) => e);

      expect(list).toEqual([]);
      expect(afterRead).toBe(2);
      expect(vote).toBeInstanceOf(ApprovalsNetworkError);
      expect(vote).toMatchObject({ code: 'network_error' });
      expect(server.attempts()).toBe(3);
    });
  });

  describe('waitForDecision', () => {
    it('returns the request still pending when the time runs out', async () => {
      const { as } = await gateway();
      const submitted = await as('agent').request(input);

      const started = Date.now();
      const view = await as('agent').waitForDecision(submitted.id, { timeoutMs: 1_200 });

      expect(view.status).toBe('pending');
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_150);
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it('stops when its signal aborts', async () => {
      const { as } = await gateway();
      const submitted = await as('agent').request(input);
      const controller = new AbortController();

      const waiting = as('agent').waitForDecision(submitted.id, {
        timeoutMs: 20_000,
        signal: controller.signal,
      });
      setTimeout(() => controller.abort(new Error('user gave up')), 100);

      await expect(waiting).rejects.toThrow('user gave up');
    });
  });

  it('loads no server code at run time: imports outside client/ are type-only', () => {
    const dir = join(import.meta.dirname, '../../../client');
    const offenders: string[] = [];
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(join(dir, file), 'utf8');
      for (const match of source.matchAll(/^import\s+(type\s+)?[\s\S]*?from\s+'([^']+)';/gm)) {
        const [, typeOnly, specifier = ''] = match;
        if (!typeOnly && !specifier.startsWith('./')) offenders.push(`${file}: ${specifier}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
