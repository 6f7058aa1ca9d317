// The SDK retries only what may succeed unchanged (429, 503). A gateway without a credential
// broker answers 501 `credentials_not_configured`: repeating cannot help, so the SDK surfaces it at
// once. Fake timers make the backoff observable without waiting: a retry would show up as a
// second fetch after the timers run.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApprovalsApiError, ApprovalsClient } from '../../../client/index.ts';

const ID = 'ar_01JD3Z6Q0M8Y3W8T5V9K2N4P6R';

function answering(status: number, error: string) {
  const calls: string[] = [];
  const fetch = async (input: string | URL | Request) => {
    calls.push(String(input));
    return new Response(JSON.stringify({ error, message: `test answer ${error}` }), {
      status,
      headers: { 'content-type': 'application/json' },
    });
  };
  return { calls, fetch };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Class: ApprovalsClient, redeeming where no credential broker is configured', () => {
  it('surfaces 501 credentials_not_configured after one call, as not retryable', async () => {
    vi.useFakeTimers();
    const { calls, fetch } = answering(501, 'credentials_not_configured');
    const client = new ApprovalsClient({ baseUrl: 'http://127.0.0.1:9', token: 'agent-token', fetch });

    const outcome = client.redeem(ID).catch((e: unknown) => e);
    await vi.runAllTimersAsync();
    const error = await outcome;

    expect(error).toBeInstanceOf(ApprovalsApiError);
    expect(error).toMatchObject({ status: 501, code: 'credentials_not_configured', retryable: false });
    expect(calls).toHaveLength(1);
  });

  it('does retry a 503 under the same clock, so the count above would catch a retry', async () => {
    vi.useFakeTimers();
    const { calls, fetch } = answering(503, 'credentials_unavailable');
    const client = new ApprovalsClient({ baseUrl: 'http://127.0.0.1:9', token: 'agent-token', fetch });

    const outcome = client.redeem(ID).catch((e: unknown) => e);
    await vi.runAllTimersAsync();
    const error = await outcome;

    expect(error).toMatchObject({ status: 503, retryable: true });
    expect(calls).toHaveLength(4);
  });
});
