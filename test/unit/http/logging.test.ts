/** What the HTTP application logs for refusals and failures, and at which level. */
import { describe, expect, it } from 'vitest';
import { SqliteRequestStore } from '../../../functions/adapters/sqlite/sqlite-store.ts';
import { ulidIds } from '../../../functions/adapters/system/system.ts';
import { StoreUnavailableError } from '../../../functions/core/errors.ts';
import { ApprovalService } from '../../../functions/core/service.ts';
import { createApp } from '../../../functions/http/app.ts';
import { bearerTokenAuthenticator } from '../../../functions/http/auth.ts';
import { jsonLogger } from '../../../functions/observability/logger.ts';
import { decision, exportInput, fixedPolicy, ManualClock } from '../../support/fixtures.ts';

const TOKEN = 'agent-token-0123456789abcdef';

function setup() {
  const store = new SqliteRequestStore({ path: ':memory:' });
  const lines: Record<string, unknown>[] = [];
  const service = new ApprovalService({
    store,
    policy: fixedPolicy(decision()),
    clock: new ManualClock(),
    ids: ulidIds(),
  });
  const app = createApp({
    service,
    logger: jsonLogger({ write: (line) => lines.push(JSON.parse(line)) }),
    authenticate: bearerTokenAuthenticator([{ token: TOKEN, id: 'agent:demo-exporter' }]),
  });
  return { app, store, lines };
}

describe('HTTP application logs', () => {
  it('logs every refusal at info with its error code, whether middleware or a route refused', async () => {
    const { app, lines } = setup();
    await app.request('/v1/action-requests');
    await app.request('/v1/action-requests', {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/plain' },
      body: 'hello',
    });
    await app.request('/v1/action-requests/ar_01JD3Z6Q0M8Y3W8T5V9K2N4P6R', {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(lines.map((l) => [l.level, l.message, l.status, l.error])).toEqual([
      ['INFO', 'request refused', 401, 'unauthenticated'],
      ['INFO', 'request refused', 415, 'unsupported_media_type'],
      ['INFO', 'request refused', 404, 'not_found'],
    ]);
    for (const line of lines) expect(line.httpRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.stringify(lines)).not.toContain(TOKEN);
  });

  it('logs a store outage (503) at error, once, without a stack', async () => {
    const { app, store, lines } = setup();
    store.get = () =>
      Promise.reject(new StoreUnavailableError('the local database is unavailable (SQLITE_BUSY)'));
    const res = await app.request('/v1/action-requests/ar_01JD3Z6Q0M8Y3W8T5V9K2N4P6R', {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.status).toBe(503);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'ERROR',
      message: 'request failed',
      status: 503,
      error: 'store_unavailable',
    });
    expect(JSON.stringify(lines[0])).not.toContain('stack');
  });

  it('logs an unexpected failure at error with its stack, and answers 500 without it', async () => {
    const { app, store, lines } = setup();
    store.commit = () => Promise.reject(new TypeError('a bug'));
    const res = await app.request('/v1/action-requests', {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(exportInput),
    });
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain('a bug');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'ERROR', message: 'request failed', status: 500 });
    expect((lines[0]?.error as { stack?: string } | undefined)?.stack).toMatch(/TypeError: a bug/);
  });
});
