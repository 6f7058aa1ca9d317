/** Local log formats, and one line per lifecycle event from a real service over SQLite. */
import { describe, expect, it } from 'vitest';
import { SqliteRequestStore } from '../../../functions/adapters/sqlite/sqlite-store.ts';
import { ulidIds } from '../../../functions/adapters/system/system.ts';
import { ApprovalService } from '../../../functions/core/service.ts';
import { logLifecycle } from '../../../functions/observability/lifecycle-log.ts';
import { jsonLogger, type Logger, logFormat, prettyLogger } from '../../../functions/observability/logger.ts';
import { decision, exportInput, fixedPolicy, ManualClock } from '../../support/fixtures.ts';

function capture(make: (write: (line: string) => void) => Logger) {
  const lines: string[] = [];
  return { logger: make((line) => lines.push(line)), lines };
}

describe('Function: logFormat', () => {
  it('is pretty on a terminal and JSON otherwise, unless LOG_FORMAT says', () => {
    expect(logFormat({}, true)).toBe('pretty');
    expect(logFormat({}, false)).toBe('json');
    expect(logFormat({ LOG_FORMAT: 'json' }, true)).toBe('json');
    expect(logFormat({ LOG_FORMAT: 'Pretty' }, false)).toBe('pretty');
  });

  it('refuses a LOG_FORMAT it does not know, naming the two it does', () => {
    expect(() => logFormat({ LOG_FORMAT: 'xml' }, false)).toThrow(/"json" or "pretty" \(got "xml"\)/);
  });
});

describe('Function: prettyLogger', () => {
  it('writes one line per event: time, level, message, then key=value fields', () => {
    const { logger, lines } = capture((write) => prettyLogger({ write }));
    logger.info('request submitted', { requestId: 'ar_1', action: 'data.export', note: 'two words' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} INFO {2}request submitted {2}requestId=ar_1 action=data\.export note="two words"\n$/,
    );
  });

  it('drops lines below its level and puts an error’s stack on indented lines', () => {
    const { logger, lines } = capture((write) => prettyLogger({ write, level: 'warn' }));
    logger.info('quiet');
    logger.error('request failed', { error: new TypeError('boom') });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/ERROR request failed {2}error="TypeError: boom"\n {4}TypeError: boom\n {8}at /);
  });
});

describe('Function: logLifecycle', () => {
  const setup = () => {
    const { logger, lines } = capture((write) => jsonLogger({ write }));
    const clock = new ManualClock();
    const service = new ApprovalService({
      store: new SqliteRequestStore({ path: ':memory:' }),
      policy: fixedPolicy(decision()),
      clock,
      ids: ulidIds(),
      onCommit: logLifecycle(logger),
    });
    const entries = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    return { service, clock, entries };
  };
  const AGENT = 'agent:demo-exporter';
  const vote = (actionHash: string) => ({ decision: 'approve' as const, actionHash, channel: 'api' });

  it('logs submission, votes and the decision at info, with the request id and action name', async () => {
    const { service, entries } = setup();
    const { request } = await service.submit(AGENT, exportInput);
    await service.review(request.id, 'user:bob@example.gov', vote(request.actionHash));
    await service.review(request.id, 'user:carol@example.gov', vote(request.actionHash));
    const logged = entries();
    expect(logged.map((e) => e.message)).toEqual([
      'request submitted',
      'approval requested',
      'vote recorded',
      'vote recorded',
      'request decided',
    ]);
    for (const e of logged) {
      expect(e).toMatchObject({ level: 'INFO', requestId: request.id, action: 'data.export' });
    }
    expect(logged.at(-1)).toMatchObject({ outcome: 'approved', by: 'review', status: 'approved' });
  });

  it('logs expiry, cancellation, redemption and outcome, and never the justification or arguments', async () => {
    const { service, clock, entries } = setup();
    const expiring = (await service.submit(AGENT, exportInput)).request;
    const cancelled = (await service.submit(AGENT, exportInput, { idempotencyKey: 'second' })).request;
    await service.cancel(cancelled.id, AGENT, 'not needed');
    clock.advance(3600);
    await service.expire(expiring.id);
    const messages = entries().map((e) => [e.message, e.requestId]);
    expect(messages).toContainEqual(['request cancelled', cancelled.id]);
    expect(messages).toContainEqual(['request expired', expiring.id]);

    // Allowed by policy: decided at once, then redeemed and reported.
    const allowedLines: Record<string, unknown>[] = [];
    const auto = new ApprovalService({
      store: new SqliteRequestStore({ path: ':memory:' }),
      policy: fixedPolicy(decision({ outcome: 'allow', approval: undefined })),
      clock: new ManualClock(),
      ids: ulidIds(),
      onCommit: logLifecycle(jsonLogger({ write: (line) => allowedLines.push(JSON.parse(line)) })),
    });
    const { request } = await auto.submit(AGENT, exportInput);
    await auto.redeem(request.id, AGENT);
    await auto.reportOutcome(request.id, AGENT, { status: 'succeeded', detail: 'exported 12 files' });
    expect(allowedLines.map((l) => [l.message, l.outcome ?? l.grantType])).toEqual([
      ['request submitted', undefined],
      ['request decided', 'approved'],
      ['grant redeemed', 'none'],
      ['outcome reported', 'succeeded'],
    ]);
    expect(allowedLines[1]).toMatchObject({ by: 'policy' });

    const text = JSON.stringify([...entries(), ...allowedLines]);
    for (const secret of ['Quarterly reconciliation', 'ledger_2026q2', 'not needed', 'exported 12 files']) {
      expect(text).not.toContain(secret);
    }
  });
});
