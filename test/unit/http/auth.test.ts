import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { bearerTokenAuthenticator, iamAuthenticator } from '../../../functions/http/auth.ts';

describe('Authenticators', () => {
  const probe = (authenticate: ReturnType<typeof iamAuthenticator>) => {
    const app = new Hono();
    app.get('/', async (c) => c.json({ principal: (await authenticate(c)) ?? null }));
    return app;
  };

  it('reads the caller from the API Gateway request context, never from headers', async () => {
    const app = probe(iamAuthenticator());
    const event = {
      requestContext: {
        accountId: '123456789012',
        identity: { userArn: 'arn:aws:sts::123456789012:assumed-role/agent/s1' },
      },
    };
    const res = await app.request('/', {}, { event });
    expect(await res.json()).toEqual({ principal: 'iam:arn:aws:iam::123456789012:role/agent' });
    const forged = await app.request(
      '/',
      { headers: { 'x-amz-user-arn': 'arn:aws:iam::123456789012:user/admin' } },
      {},
    );
    expect(await forged.json()).toEqual({ principal: null });
  });

  it('accepts only a known bearer token, exactly', async () => {
    const app = probe(bearerTokenAuthenticator([{ token: 'a-token-of-sixteen-chars', id: 'agent:a' }]));
    const as = async (header?: string) =>
      (await (await app.request('/', header ? { headers: { authorization: header } } : {})).json()) as {
        principal: string | null;
      };
    expect((await as('Bearer a-token-of-sixteen-chars')).principal).toBe('agent:a');
    expect((await as('bearer a-token-of-sixteen-chars')).principal).toBe('agent:a');
    expect((await as('Bearer A-TOKEN-OF-SIXTEEN-CHARS')).principal).toBeNull();
    for (const header of [
      undefined,
      'Bearer a-token-of-sixteen-char',

      'Basic abc',
      'bearer',
    ]) {
      expect((await as(header)).principal).toBeNull();
    }
  });
});
