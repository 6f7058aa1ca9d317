/**
 * One agent floods the real local gateway (a child process) with submissions that need approval.
 * It is held at its pending cap with 429s that say when to retry, while another agent's request
 * still heads the approvers' first page and /healthz keeps answering. Figures: bench/flood.bench.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROD_CUI_EXPORT } from '../../fixtures/requests.ts';
import {
  type GatewayProcess,
  gatewayConfig,
  PRINCIPALS,
  startGatewayProcess,
} from '../../support/gateway-process.ts';

const OTHER = { id: 'agent:other-agent', token: 'e2e-other-agent-token-0123456789' };
const MAX_PENDING = 10;
const CONCURRENCY = 5;

let gateway: GatewayProcess;
beforeAll(async () => {
  gateway = await startGatewayProcess(
    gatewayConfig(undefined, 'warn', {
      principals: [...Object.values(PRINCIPALS), OTHER],
      limits: { callsPerMinute: 10_000, submissionsPerMinute: 10_000, maxPending: MAX_PENDING },
    }),
  );
}, 60_000);
afterAll(async () => {
  await gateway?.stop();
});

describe('Local gateway: a flood of submissions', () => {
  it("holds the flooding agent at its pending cap while another agent reaches the approvers' first page", async () => {
    let flooding = true;
    const health: number[] = [];
    const probe = (async () => {
      while (flooding) {
        health.push((await fetch(`${gateway.url}/healthz`)).status);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    // Twelve waves of five at once: the cap is counted inside each submission's commit, so however
    // many are in flight together, exactly the cap is accepted.
    const answers: { status: number; error?: string; retryAfter: string | null }[] = [];
    for (let wave = 0; wave < 12; wave++) {
      answers.push(
        ...(await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            const res = await gateway.call('agent', 'POST', '/v1/action-requests', PROD_CUI_EXPORT);
            const body = (await res.json()) as { error?: string };
            return {
              status: res.status,
              ...(body.error ? { error: body.error } : {}),
              retryAfter: res.headers.get('retry-after'),
            };
          }),
        )),
      );
    }
    flooding = false;
    await probe;

    const accepted = answers.filter((a) => a.status === 202).length;
    const refused = answers.filter((a) => a.status === 429);
    expect(accepted).toBe(MAX_PENDING);
    expect(refused.length).toBe(60 - accepted);
    expect(answers.every((a) => a.status === 202 || a.status === 429)).toBe(true);
    for (const answer of refused) {
      expect(answer.error).toBe('too_many_pending');
      expect(Number(answer.retryAfter)).toBeGreaterThan(0);
    }
    expect(health.length).toBeGreaterThan(0);
    expect(health.every((status) => status === 200)).toBe(true);

    const other = await fetch(`${gateway.url}/v1/action-requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OTHER.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(PROD_CUI_EXPORT),
    });
    expect(other.status).toBe(202);
    const { id } = (await other.json()) as { id: string };
    const page = (await (await gateway.call('bob', 'GET', '/v1/action-requests?limit=5')).json()) as {
      items: { id: string }[];
    };
    expect(page.items[0]?.id).toBe(id);
    // And the flooding agent is still refused afterwards.
    expect((await gateway.call('agent', 'POST', '/v1/action-requests', PROD_CUI_EXPORT)).status).toBe(429);
  }, 60_000);
});
