/**
 * The review page in a real browser (Debian's Chromium driven by playwright-core) against the real
 * local gateway process (SQLite, the signed default policy bundle) and a real OpenID Connect
 * provider (oidc-provider) on 127.0.0.1. Screenshots of the list and a request page are kept under
 * test-results/review-page/ (gitignored).
 */
import { existsSync, mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import Provider from 'oidc-provider';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROD_CUI_EXPORT } from '../../fixtures/requests.ts';
import { freePort } from '../../harness/ports.ts';
import {
  type GatewayProcess,
  gatewayConfig,
  ROOT,
  startGatewayProcess,
} from '../../support/gateway-process.ts';

const CHROMIUM = process.env.ALA_CHROMIUM ?? '/usr/bin/chromium';
const ARTEFACTS = join(ROOT, 'test-results', 'review-page');
const XSS = '<img src=x onerror=alert(1)><script>alert(2)</script>"\'><svg onload=alert(3)>';
const RESOURCE_XSS = '<img/src=x/onerror=alert(4)>';

/** OIDC subjects (what the provider's login form is given) and whom policy data binds them to. */
const SUBJECTS = { bob: 'oidc-bob', carol: 'oidc-carol', mallory: 'oidc-mallory' } as const;

interface Submitted {
  id: string;
  status: string;
  action_hash: string;
}

describe('Review page in a browser, with OpenID Connect sign-in', () => {
  let gw: GatewayProcess;
  let idp: Server;
  let browser: Browser;
  const dialogs: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} is missing: install Debian's chromium package (bash scripts/tools.sh does, as root)`,
      );
    }
    const [gatewayPort, idpPort] = [await freePort(), await freePort()];
    const base = `http://127.0.0.1:${gatewayPort}`;
    const issuer = `http://127.0.0.1:${idpPort}`;
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: 'review-page',
          client_secret: 'review-page-client-secret-0123456789',
          redirect_uris: [`${base}/review/auth/callback`],
          grant_types: ['authorization_code'],
          response_types: ['code'],
        },
      ],
      pkce: { required: () => true },
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
      findAccount: (_ctx, sub) => ({
        accountId: sub,
        claims: () => ({ sub, email: `${sub}@idp.example`, email_verified: true, name: sub }),
      }),
      cookies: { keys: ['review-page-test-cookie-key-0123456789'] },
    });
    idp = provider.listen(idpPort, '127.0.0.1');

    const config = gatewayConfig(
      (data) => {
        const identities = data.identities as Record<string, unknown>;
        identities.oidc = {
          [SUBJECTS.bob]: 'user:bob@example.gov',
          [SUBJECTS.carol]: 'user:carol@example.gov',
          [SUBJECTS.mallory]: 'user:mallory@example.gov',
        };
        // bob reviews privilege escalations too, whose policy asks for step-up.
        const groups = data.groups as Record<string, string[]>;
        groups.security = [...(groups.security ?? []), 'user:bob@example.gov'];
      },
      'warn',
      {
        port: gatewayPort,
        review: {
          baseUrl: base,
          oidc: {
            issuer,
            clientId: 'review-page',
            clientSecret: 'review-page-client-secret-0123456789',
          },
        },
      },
    );
    gw = await startGatewayProcess(config);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    mkdirSync(ARTEFACTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    await new Promise<void>((resolve) => (idp ? idp.close(() => resolve()) : resolve()));
  });

  const submit = async (body: unknown): Promise<Submitted> => {
    const res = await gw.call('agent', 'POST', '/v1/action-requests', body);
    const view = (await res.json()) as Submitted;
    expect(res.status, JSON.stringify(view)).toBe(202);
    return view;
  };

  const newPage = async (): Promise<{ context: BrowserContext; page: Page }> => {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    return { context, page };
  };

  /** Signs in at the provider's login form (any password) and consents when asked. */
  const idpLogin = async (page: Page, subject: string) => {
    await page.locator('input[name=login]').fill(subject);
    await page.locator('input[name=password]').fill('any-password');
    await page.locator('button[type=submit]').click();
    const consent = page.getByRole('button', { name: 'Continue' });
    await page.waitForURL((url) => !url.pathname.startsWith('/interaction') || true);
    if (await consent.isVisible().catch(() => false)) await consent.click();
  };

  const signIn = async (page: Page, subject: string, path = '/review') => {
    await page.goto(`${gw.url}${path}`);
    await idpLogin(page, subject);
    await page.waitForURL(
      (url) =>
        url.origin === gw.url &&
        url.pathname.startsWith('/review') &&
        !url.pathname.startsWith('/review/auth'),
    );
  };

  it('signs in through the provider and lists what the person may review', async () => {
    const request = await submit(PROD_CUI_EXPORT);
    const { context, page } = await newPage();
    await signIn(page, SUBJECTS.bob);
    await expect.poll(() => page.getByTestId('principal').textContent()).toBe('user:bob@example.gov');
    const link = page.getByRole('link', { name: request.id });
    expect(await link.count()).toBe(1);
    await page.screenshot({ path: join(ARTEFACTS, 'list.png'), fullPage: true });

    // The security headers hold on every page.
    const res = await page.request.get(`${gw.url}/review`);
    expect(res.headers()['content-security-policy']).toContain("default-src 'none'");
    expect(res.headers()['x-frame-options']).toBe('DENY');
    expect(res.headers()['referrer-policy']).toBe('no-referrer');
    expect(res.headers()['x-content-type-options']).toBe('nosniff');
    await context.close();
  });

  it('shows a request whole and approves it bound to the action hash shown', async () => {
    const request = await submit(PROD_CUI_EXPORT);
    const { context, page } = await newPage();
    await signIn(page, SUBJECTS.bob, `/review/requests/${request.id}`);
    expect(await page.getByTestId('action-hash').textContent()).toBe(request.action_hash);
    expect(await page.getByTestId('justification').textContent()).toBe('Quarterly reconciliation, CHG-4821');
    expect(await page.getByTestId('vouched').textContent()).toContain('environment');
    expect(await page.getByTestId('audit-verification').textContent()).toMatch(/^Verified/);
    await page.screenshot({ path: join(ARTEFACTS, 'request.png'), fullPage: true });

    await page.getByLabel('Comment (optional)').fill('checked the change ticket');
    await page.getByTestId('approve').click();
    await expect.poll(() => page.getByRole('status').textContent()).toBe('Your approval is recorded.');
    expect(await page.getByTestId('votes').textContent()).toContain('checked the change ticket');
    const view = (await (await gw.call('agent', 'GET', `/v1/action-requests/${request.id}`)).json()) as {
      approval: { received: number };
    };
    expect(view.approval.received).toBe(1);
    await context.close();
  });

  it('rejects with a comment, and refuses a rejection without one', async () => {
    const request = await submit(PROD_CUI_EXPORT);
    const { context, page } = await newPage();
    await signIn(page, SUBJECTS.carol, `/review/requests/${request.id}`);
    // The browser requires the field; a post without it (the form bypassed) is a 400 naming it.
    const csrf = await page.locator('form[aria-label=Reject] input[name=csrf]').inputValue();
    const bare = await page.request.post(`${gw.url}/review/requests/${request.id}/reject`, {
      form: { csrf, action_hash: request.action_hash, comment: '  ' },
    });
    expect(bare.status()).toBe(400);
    expect(await bare.text()).toContain('A rejection needs a comment');

    await page.getByLabel(/Why you reject it/).fill('Not during the freeze');
    await page.getByTestId('reject').click();
    await expect.poll(() => page.getByTestId('status').textContent()).toBe('rejected');
    expect(await page.getByTestId('votes').textContent()).toContain('Not during the freeze');
    await context.close();
  });

  it("approves less than was asked: a shorter window, recorded as the vote's own terms", async () => {
    const request = await submit(PROD_CUI_EXPORT);
    const { context, page } = await newPage();
    await signIn(page, SUBJECTS.carol, `/review/requests/${request.id}`);
    const window = page.getByLabel(/Window in seconds/);
    expect(Number(await window.getAttribute('max'))).toBeGreaterThan(60);
    await window.fill('60');
    await page.getByTestId('approve-narrower').click();
    await expect
      .poll(() => page.getByRole('status').textContent())
      .toBe('Your narrowed approval is recorded.');
    expect(await page.getByTestId('votes').textContent()).toMatch(/narrower: .* for 60 s/);
    await page.screenshot({ path: join(ARTEFACTS, 'narrowed.png'), fullPage: true });
    await context.close();
  });

  it('renders every agent-supplied field as text: no script runs, the text is shown literally', async () => {
    const request = await submit({
      action: { name: 'data.export', args: { ...PROD_CUI_EXPORT.action.args, note: XSS } },
      resource: {
        type: 'aws:s3:bucket',
        // An ARN (the grant needs one) that is markup all the same.
        id: `arn:aws-us-gov:s3:::x${RESOURCE_XSS}`,
        properties: { environment: 'prod', note: XSS },
      },
      context: { justification: XSS, ticket: XSS },
    });
    const { context, page } = await newPage();
    await signIn(page, SUBJECTS.bob, `/review/requests/${request.id}`);
    expect(await page.getByTestId('justification').textContent()).toBe(XSS);
    expect(await page.getByTestId('resource-id').textContent()).toBe(`arn:aws-us-gov:s3:::x${RESOURCE_XSS}`);
    expect(await page.getByTestId('args').textContent()).toContain(JSON.stringify(XSS).slice(1, -1));
    expect(await page.getByTestId('claimed').textContent()).toContain(JSON.stringify(XSS).slice(1, -1));
    expect(await page.getByTestId('context').textContent()).toContain(JSON.stringify(XSS).slice(1, -1));
    expect(await page.locator('main img, main script, main svg').count()).toBe(0);
    await page.goto(`${gw.url}/review`);
    expect(dialogs).toEqual([]);
    await context.close();
  });

  it('refuses a forged form post without the CSRF token (403) and changes nothing', async () => {
    const request = await submit(PROD_CUI_EXPORT);
    const { context, page } = await newPage();
    await signIn(page, SUBJECTS.bob, `/review/requests/${request.id}`);
    const forged = await page.request.post(`${gw.url}/review/requests/${request.id}/approve`, {
      form: { action_hash: request.action_hash },
    });
    expect(forged.status()).toBe(403);
    const wrong = await page.request.post(`${gw.url}/review/requests/${request.id}/approve`, {
      form: { action_hash: request.action_hash, csrf: 'not-the-token' },
    });
    expect(wrong.status()).toBe(403);
    const view = (await (await gw.call('agent', 'GET', `/v1/action-requests/${request.id}`)).json()) as {
      approval: { received: number };
    };
    expect(view.approval.received).toBe(0);
    await context.close();
  });

  it('answers 404 for a request the person may not see', async () => {
    const request = await submit(PROD_CUI_EXPORT);
    const { context, page } = await newPage();
    await signIn(page, SUBJECTS.mallory);
    const res = await page.goto(`${gw.url}/review/requests/${request.id}`);
    expect(res?.status()).toBe(404);
    expect(await page.locator('main').textContent()).not.toContain('data.export');
    await context.close();
  });

  it('forces a fresh sign-in before a vote on a step-up request counts', async () => {
    const request = await submit({
      action: { name: 'iam.attach_role_policy', args: { role: 'reporting', policy: 'ReadOnlyAccess' } },
      resource: {
        type: 'aws:iam:role',
        id: 'arn:aws-us-gov:iam::123456789012:role/reporting',
        properties: {},
      },
      context: { justification: 'Reporting needs read access' },
    });
    // Outside the page, a vote on it is refused whoever casts it.
    const api = await gw.call('bob', 'POST', `/v1/action-requests/${request.id}/decisions`, {
      decision: 'approve',
      action_hash: request.action_hash,
    });
    expect(api.status).toBe(403);
    expect(await api.json()).toMatchObject({ error: 'step_up_required' });

    const { context, page } = await newPage();
    await signIn(page, SUBJECTS.bob, `/review/requests/${request.id}`);
    expect(await page.getByTestId('step-up-notice').count()).toBe(1);
    await page.getByTestId('approve').click();
    // Back at the provider, asked to log in again even though its session is live.
    await page.waitForURL((url) => url.origin !== gw.url);
    expect(await page.locator('input[name=login]').count()).toBe(1);
    await idpLogin(page, SUBJECTS.bob);
    await page.waitForURL(`${gw.url}/review/requests/${request.id}`);
    await page.getByTestId('approve').click();
    await expect.poll(() => page.getByTestId('status').textContent()).toBe('approved');
    await context.close();
  });
});
