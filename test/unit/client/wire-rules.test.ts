/** The SDK keeps copies of a few gateway rules (it loads no server code); they must not drift. */
import { describe, expect, it } from 'vitest';
import { IDEMPOTENCY_KEY_PATTERN as SDK_IDEMPOTENCY_KEY } from '../../../client/client.ts';
import { MAX_WAIT_SECONDS as SDK_MAX_WAIT } from '../../../client/types.ts';
import { IDEMPOTENCY_KEY_PATTERN } from '../../../functions/core/identifiers.ts';
import { MAX_WAIT_SECONDS } from '../../../functions/http/schemas.ts';

describe('The SDK’s copies of the gateway’s wire rules', () => {
  it('checks an Idempotency-Key exactly as the gateway does', () => {
    expect(SDK_IDEMPOTENCY_KEY.source).toBe(IDEMPOTENCY_KEY_PATTERN.source);
    expect(SDK_IDEMPOTENCY_KEY.flags).toBe(IDEMPOTENCY_KEY_PATTERN.flags);
    for (const key of ['tool-call-42', 'x'.repeat(255), 'x'.repeat(256), 'has space', '', 'é']) {
      expect(SDK_IDEMPOTENCY_KEY.test(key), key).toBe(IDEMPOTENCY_KEY_PATTERN.test(key));
    }
  });

  it('waits no longer per call than the gateway holds a long-poll', () => {
    expect(SDK_MAX_WAIT).toBe(MAX_WAIT_SECONDS);
  });
});
