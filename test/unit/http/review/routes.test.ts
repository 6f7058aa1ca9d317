/**
 * The review page's routes in process (demo sign-in, a real SQLite store in memory): cookies,
 * CSRF, headers, visibility and step-up. The browser and OpenID Connect are covered by
 * test/integration/review/review-page.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { TOKENS, testApp } from '../../../support/app.ts';
import { decision, exportInput } from '../../../support/fixtures.ts';

type App = ReturnType<typeof testApp>;

/** A browser of sorts: keeps the cookies the app sets, sends them back. */
function browser(app: App['app']) {
  const jar = new Map<string, string>();
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const remember = (res: Response) => {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const [name, ...value] = (pair ?? '').split('=');
      if (!name) continue;
      if (/Max-Age=0/.test(line)) jar.delete(name);
      else jar.set(name, value.join('='));
    }
    return res;
  };
  return {
    jar,
    get: async (path: string) => remember(await app.request(path, { headers: { cookie: cookie() } })),
    post: async (path: string, form: Record<string, string | string[]>) => {
      const body = new URLSearchParams();
      for (const [k, v] of Object.entries(form)) for (const one of [v].flat()) body.append(k, one);
      return remember(
        await app.request(path, {
          method: 'POST',
          headers: { cookie: cookie(), 'content-type': 'application/x-www-form-urlencoded' },
          body: body.toString(),
        }),
      );
    },
  };
}

const csrfOf = (page: string) => /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';

async function signedIn(app: App['app'], who: keyof typeof TOKENS) {
  const b = browser(app);
  const login = await b.get('/review/auth/login?return_to=/review');
  const res = await b.post('/review/auth/demo', {
    csrf: csrfOf(await login.text()),
    token: TOKENS[who],
    return_to: '/review',
  });
  expect(res.status).toBe(303);
  return b;
}

async function submitted(t: App) {
  const res = await t.call('POST', '/v1/action-requests', { body: exportInput });
  return (await res.json()) as { id: string; action_hash: string };
}

describe('Review page routes', () => {
  it('sends someone without a session to sign in, and answers 404 when not configured', async () => {
    const t = testApp(decision(), { review: true });
    const res = await t.app.request('/review');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/review/auth/login?return_to=%2Freview');
    expect((await testApp().app.request('/review')).status).toBe(404);
  });

  it('signs in with a demo token: HttpOnly, SameSite=Strict session; Lax sign-in state only', async () => {
    const t = testApp(decision(), { review: true });
    const b = browser(t.app);
    const login = await b.get('/review/auth/login');
    expect(login.headers.get('set-cookie')).toMatch(
      /^ala_review_signin=[^;]+; Path=\/; Max-Age=600; HttpOnly; SameSite=Lax$/,
    );
    const res = await b.post('/review/auth/demo', { csrf: csrfOf(await login.text()), token: TOKENS.bob });
    const cookies = res.headers.getSetCookie();
    expect(cookies.find((c) => c.startsWith('ala_review='))).toMatch(/; HttpOnly; SameSite=Strict$/);
    expect((await b.get('/review')).status).toBe(200);
  });

  it('refuses a demo sign-in without the form token, and a token it does not know', async () => {
    const t = testApp(decision(), { review: true });
    const b = browser(t.app);
    const login = await b.get('/review/auth/login');
    expect((await b.post('/review/auth/demo', { token: TOKENS.bob })).status).toBe(403);
    const wrong = await b.post('/review/auth/demo', {
      csrf: csrfOf(await login.text()),
      token: 'not-a-token-0123456789',
    });
    expect(wrong.status).toBe(401);
    expect(b.jar.has('ala_review')).toBe(false);
  });

  it('sends the security headers on every page', async () => {
    const t = testApp(decision(), { review: true });
    const res = await (await signedIn(t.app, 'bob')).get('/review');
    expect(res.headers.get('content-security-policy')).toBe(
      "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.text()).not.toMatch(/<script|\sstyle=|\son[a-z]+=/i);
  });

  it('lists and shows a request to an approver, and 404s it for anyone who may not see it', async () => {
    const t = testApp(decision(), { review: true });
    const { id } = await submitted(t);
    const bob = await signedIn(t.app, 'bob');
    expect(await (await bob.get('/review')).text()).toContain(`/review/requests/${id}`);
    const page = await bob.get(`/review/requests/${id}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Verified:');
    const mallory = await signedIn(t.app, 'mallory');
    expect(await (await mallory.get('/review')).text()).not.toContain(id);
    expect((await mallory.get(`/review/requests/${id}`)).status).toBe(404);
    expect((await mallory.get('/review/requests/not-an-id')).status).toBe(404);
  });

  it('records a vote only with the session’s CSRF token and the action hash shown', async () => {
    const t = testApp(decision(), { review: true });
    const { id, action_hash } = await submitted(t);
    const bob = await signedIn(t.app, 'bob');
    const csrf = csrfOf(await (await bob.get(`/review/requests/${id}`)).text());
    expect((await bob.post(`/review/requests/${id}/approve`, { action_hash })).status).toBe(403);
    const carol = await signedIn(t.app, 'carol');
    // Another person's token is not this session's.
    expect((await carol.post(`/review/requests/${id}/approve`, { csrf, action_hash })).status).toBe(403);
    const stale = await bob.post(`/review/requests/${id}/approve`, {
      csrf,
      action_hash: `sha256:${'0'.repeat(64)}`,
    });
    expect(stale.status).toBe(409);
    expect((await t.service.get(id, 'user:bob@example.gov')).approval?.votes).toEqual([]);
    const ok = await bob.post(`/review/requests/${id}/approve`, { csrf, action_hash });
    expect(ok.status).toBe(303);
    const votes = (await t.service.get(id, 'user:bob@example.gov')).approval?.votes;
    expect(votes).toMatchObject([
      { approver: 'user:bob@example.gov', decision: 'approve', channel: 'review' },
    ]);
  });

  it('ends the session on sign-out (with the CSRF token only)', async () => {
    const t = testApp(decision(), { review: true });
    const bob = await signedIn(t.app, 'bob');
    const csrf = csrfOf(await (await bob.get('/review')).text());
    expect((await bob.post('/review/auth/logout', {})).status).toBe(403);
    expect((await bob.post('/review/auth/logout', { csrf })).status).toBe(200);
    expect((await bob.get('/review')).status).toBe(303);
  });

  describe('step-up', () => {
    const stepUp = () => {
      const base = decision();
      return decision({
        approval: { ...(base.approval as NonNullable<typeof base.approval>), step_up: true },
      });
    };

    it('counts a vote from a fresh sign-in, and sends an older one to sign in again', async () => {
      const t = testApp(stepUp(), { review: true });
      const { id, action_hash } = await submitted(t);
      const bob = await signedIn(t.app, 'bob');
      const csrf = csrfOf(await (await bob.get(`/review/requests/${id}`)).text());
      t.clock.advance(301);
      const stale = await bob.post(`/review/requests/${id}/approve`, { csrf, action_hash });
      expect(stale.status).toBe(303);
      expect(stale.headers.get('location')).toBe(
        `/review/auth/login?return_to=%2Freview%2Frequests%2F${id}&step_up=1`,
      );
      const again = await signedIn(t.app, 'bob');
      const fresh = csrfOf(await (await again.get(`/review/requests/${id}`)).text());
      expect((await again.post(`/review/requests/${id}/approve`, { csrf: fresh, action_hash })).status).toBe(
        303,
      );
      expect((await t.service.get(id, 'user:bob@example.gov')).approval?.votes).toHaveLength(1);
    });

    it('refuses a vote on a step-up request through the API, saying where to vote', async () => {
      const t = testApp(stepUp(), { review: true });
      const { id, action_hash } = await submitted(t);
      const res = await t.call('POST', `/v1/action-requests/${id}/decisions`, {
        token: 'bob',
        body: { decision: 'approve', action_hash },
      });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({
        error: 'step_up_required',
        message: expect.stringMatching(/review page/),
      });
    });
  });
});
