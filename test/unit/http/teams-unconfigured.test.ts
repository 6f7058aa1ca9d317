/** A gateway without a Teams bot has no messaging endpoint: 404 saying how to configure one (401 first for a call without a token). */
import { describe, expect, it } from 'vitest';
import { testApp } from '../../support/app.ts';

describe('Teams messaging endpoint without a Teams bot', () => {
  it('answers 401 to a call without a token, configured or not', async () => {
    const { call } = testApp();
    const response = await call('POST', '/v1/integrations/teams/messages', {
      token: null,
      body: { type: 'invoke' },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('answers 404 naming the configuration to add to a call with a token', async () => {
    const { call } = testApp();
    for (const token of ['bob'] as const) {
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
