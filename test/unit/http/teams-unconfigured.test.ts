/** A gateway without a Teams bot has no messaging endpoint: 404 saying how to configure one, for any caller. */
import { describe, expect, it } from 'vitest';
import { testApp } from '../../support/app.ts';

describe('Teams messaging endpoint without a Teams bot', () => {
  it('answers 404 naming the configuration to add, with or without a token', async () => {
    const { call } = testApp();
    for (const token of [null, 'bob'] as const) {
      const response = await call('POST', '/v1/integrations/teams/messages', {
        token,
        body: { type: 'invoke' },
      });
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({
        error: 'not_found',
        message: expect.stringMatching(/no Teams bot configured.*teams block/),
      });
    }
  });
});
