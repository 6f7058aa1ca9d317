/** An HTTP application over a real SQLite store (in memory) and a policy double, for in-process tests. */
import { SqliteRateCounter } from '../../functions/adapters/sqlite/sqlite-rate-counter.ts';
import { SqliteRequestStore } from '../../functions/adapters/sqlite/sqlite-store.ts';
import { ulidIds } from '../../functions/adapters/system/system.ts';
import { DEFAULT_LIMITS, type LimitSettings, RateLimits } from '../../functions/core/limits.ts';
import type { PolicyDecision, PolicyInput } from '../../functions/core/model.ts';
import type { CredentialBroker } from '../../functions/core/ports/credentials.port.ts';
import { ApprovalService } from '../../functions/core/service.ts';
import { createApp } from '../../functions/http/app.ts';
import { bearerTokenAuthenticator, bearerTokenLookup } from '../../functions/http/auth.ts';
import { CookieSealer } from '../../functions/http/review/session.ts';
import { ChangeHub } from '../../functions/http/waiter.ts';
import { silentLogger } from '../../functions/observability/logger.ts';
import { decision, directory, fixedPolicy, ManualClock } from './fixtures.ts';

export const TOKENS = {
  agent: 'agent-token-0123456789abcdef',
  bob: 'bob-token-0123456789abcdef',
  carol: 'carol-token-0123456789abcdef',
  audrey: 'audrey-token-0123456789abcdef',
  mallory: 'mallory-token-0123456789abcdef',
  other: 'other-agent-token-0123456789abcdef',
} as const;

export function testApp(
  answer: PolicyDecision | ((input: PolicyInput) => PolicyDecision) = decision(),
  options: {
    credentials?: CredentialBroker;
    maxWaitSeconds?: number;
    /** Rate limits over an in-memory SQLite counter, on the test's clock. @default none */
    limits?: Partial<LimitSettings>;
    /** Where the test's clock starts (epoch ms). @default now */
    clockStart?: number;
    /** The SQLite file. @default in memory */
    storePath?: string;
    /** Told of records that disagree with their audit chain. */
    onAuditMismatch?: ConstructorParameters<typeof ApprovalService>[0]['onAuditMismatch'];
    /** Serve the review page with demo sign-in (the test tokens), on plain http. @default off */
    review?: boolean;
  } = {},
) {
  const store = new SqliteRequestStore({ path: options.storePath ?? ':memory:' });
  const hub = new ChangeHub();
  const clock = new ManualClock(options.clockStart ?? Date.now());
  const limits = options.limits
    ? new RateLimits({
        counter: new SqliteRateCounter({ path: ':memory:' }),
        clock,
        base: { ...DEFAULT_LIMITS, ...options.limits },
        directory: () => directory,
      })
    : undefined;
  const service = new ApprovalService({
    store,
    policy: fixedPolicy(answer),
    clock,
    ids: ulidIds(),
    onCommit: hub.publish,
    ...(limits ? { limits } : {}),
    ...(options.onAuditMismatch ? { onAuditMismatch: options.onAuditMismatch } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
  const principals = [
    { token: TOKENS.agent, id: 'agent:demo-exporter' },
    { token: TOKENS.bob, id: 'user:bob@example.gov' },
    { token: TOKENS.carol, id: 'user:carol@example.gov' },
    { token: TOKENS.audrey, id: 'user:audrey@example.gov' },
    { token: TOKENS.mallory, id: 'user:mallory@example.gov' },
    { token: TOKENS.other, id: 'agent:other-agent' },
  ];
  const app = createApp({
    service,
    logger: silentLogger,
    hub,
    ...(options.review
      ? {
          review: {
            sealer: new CookieSealer('unit-test-review-session-secret-0123456789'),
            secureCookies: false,
            demoToken: bearerTokenLookup(principals),
          },
        }
      : {}),
    ...(options.maxWaitSeconds !== undefined ? { maxWaitSeconds: options.maxWaitSeconds } : {}),
    authenticate: bearerTokenAuthenticator(principals),
  });
  const call = (
    method: string,
    path: string,
    options: {
      token?: keyof typeof TOKENS | null;
      body?: unknown;
      raw?: string;
      headers?: Record<string, string>;
    } = {},
  ) => {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token === undefined ? 'agent' : options.token;
    if (token) headers.authorization = `Bearer ${TOKENS[token]}`;
    let body: string | undefined = options.raw;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    return app.request(path, { method, headers, ...(body !== undefined ? { body } : {}) });
  };
  return { app, service, store, clock, hub, call };
}
