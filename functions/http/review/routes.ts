/**
 * The review page's routes (docs/review-page.md): HTML for people, outside /v1, so the bearer/IAM
 * authentication and JSON-only middleware never see them. They authenticate with their own session
 * cookie (session.ts), check a CSRF token on every form, and send strict security headers.
 *
 * GET  /review                          what the signed-in person may review
 * GET  /review/requests/{id}            one request, whole; 404 for anyone who may not see it
 * POST /review/requests/{id}/approve    form: csrf, action_hash, comment?
 * POST /review/requests/{id}/reject     form: csrf, action_hash, comment (required)
 * GET  /review/auth/login               starts a sign-in (?return_to, ?step_up=1)
 * GET  /review/auth/callback            the identity provider's redirect
 * POST /review/auth/demo                local demo sign-in with a demo token
 * POST /review/auth/logout              ends the session
 */
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { boundPrincipal } from '../../core/eligibility.ts';
import { GatewayError, NotFoundError } from '../../core/errors.ts';
import { REQUEST_ID_PATTERN } from '../../core/identifiers.ts';
import { ineligibility, REVIEW_PAGE_CHANNEL } from '../../core/lifecycle.ts';
import type { ActionRequest, NarrowTo, VoteDecision } from '../../core/model.ts';
import type { AppDependencies, GatewayApp, GatewayEnv } from '../context.ts';
import { toHttpError } from '../errors.ts';
import { OidcSignIn, SignInError } from './oidc.ts';
import {
  continuePage,
  demoSignInPage,
  listPage,
  messagePage,
  requestPage,
  STYLESHEET,
  STYLESHEET_PATH,
} from './pages.ts';
import {
  cookieNames,
  csrfMatches,
  newCsrfToken,
  type ReviewSession,
  readCookie,
  safeReturnPath,
  setCookie,
} from './session.ts';

export const REVIEW_PREFIX = '/review';
const FORM_LIMIT = 16 * 1024;
const SIGN_IN_TTL_SECONDS = 600;

type C = Context<GatewayEnv>;

export function registerReviewRoutes(app: GatewayApp, deps: AppDependencies): void {
  const settings = deps.review;
  const { service, logger } = deps;

  app.use(`${REVIEW_PREFIX}/*`, async (c, next) => {
    await next();
    securityHeaders(c, settings?.issuerOrigin);
  });
  app.use(`${REVIEW_PREFIX}`, async (c, next) => {
    await next();
    securityHeaders(c, settings?.issuerOrigin);
  });
  app.use(
    `${REVIEW_PREFIX}/*`,
    bodyLimit({
      maxSize: FORM_LIMIT,
      onError: (c) =>
        c.html(messagePage('Too large', `Forms on this page are at most ${FORM_LIMIT} bytes.`), 413),
    }),
  );

  app.get(STYLESHEET_PATH, (c) => {
    c.header('content-type', 'text/css; charset=utf-8');
    c.header('cache-control', 'public, max-age=300');
    return c.body(STYLESHEET);
  });

  if (!settings) {
    const notConfigured = (c: C) =>
      c.html(
        messagePage(
          'Review page not configured',
          'This gateway has no review page: configure the review block (local config) or the stack’s reviewPage props (docs/review-page.md).',
        ),
        404,
      );
    app.get(REVIEW_PREFIX, notConfigured);
    app.all(`${REVIEW_PREFIX}/*`, notConfigured);
    return;
  }

  const names = cookieNames({ secure: settings.secureCookies });
  const now = () => settings.now?.() ?? service.now();
  const sessionTtl = settings.sessionTtlSeconds ?? 1800;
  const stepUpMaxAge = settings.stepUpMaxAgeSeconds ?? 300;

  const currentSession = async (c: C): Promise<ReviewSession | undefined> =>
    settings.sealer.openSession(readCookie(c.req.header('cookie'), names.session), now());

  const fresh = (session: ReviewSession) =>
    session.authTime > 0 && now().getTime() / 1000 - session.authTime <= stepUpMaxAge;

  const signInUrl = (returnTo: string, stepUp: boolean) =>
    `${REVIEW_PREFIX}/auth/login?${new URLSearchParams({
      return_to: returnTo,
      ...(stepUp ? { step_up: '1' } : {}),
    })}`;

  const startSession = async (c: C, principal: string, authTime: number, method: ReviewSession['method']) => {
    const session: ReviewSession = { principal, authTime, csrf: newCsrfToken(), method };
    c.header(
      'set-cookie',
      setCookie(names.session, await settings.sealer.sealSession(session, sessionTtl, now()), {
        secure: settings.secureCookies,
        maxAgeSeconds: sessionTtl,
        sameSite: 'Strict',
      }),
      { append: true },
    );
    c.header('set-cookie', clearCookie(names.signIn, settings.secureCookies), { append: true });
  };

  // --- sign-in ---

  app.get(`${REVIEW_PREFIX}/auth/login`, async (c) => {
    const returnTo = safeReturnPath(c.req.query('return_to'));
    const stepUp = c.req.query('step_up') === '1';
    const state = OidcSignIn.newState(returnTo, stepUp, newCsrfToken());
    c.header(
      'set-cookie',
      setCookie(names.signIn, await settings.sealer.sealSignIn(state, SIGN_IN_TTL_SECONDS, now()), {
        secure: settings.secureCookies,
        maxAgeSeconds: SIGN_IN_TTL_SECONDS,
        sameSite: 'Lax',
      }),
    );
    if (!settings.oidc) return c.html(demoSignInPage(state.csrf, returnTo));
    let url: URL;
    try {
      url = await settings.oidc.authorizationUrl(state, stepUpMaxAge);
    } catch (error) {
      logger.error('review page: the identity provider cannot be reached', { error });
      return c.html(
        messagePage(
          'Sign-in unavailable',
          'The identity provider could not be reached; try again in a moment. If it persists, the operator should check the issuer URL.',
        ),
        503,
      );
    }
    return c.redirect(url.href, 302);
  });

  app.get(`${REVIEW_PREFIX}/auth/callback`, async (c) => {
    const oidc = settings.oidc;
    if (!oidc) return c.html(messagePage('Not found', 'No identity provider is configured here.'), 404);
    const state = await settings.sealer.openSignIn(readCookie(c.req.header('cookie'), names.signIn), now());
    if (!state) {
      return c.html(
        messagePage(
          'Sign-in expired',
          'This sign-in was not started here or took longer than ten minutes; start again.',
          undefined,
          { href: signInUrl('/review', false), text: 'Sign in' },
        ),
        400,
      );
    }
    const error = c.req.query('error');
    if (error !== undefined) {
      return c.html(
        messagePage(
          'Sign-in refused',
          `The identity provider refused the sign-in (${error}${c.req.query('error_description') ? `: ${c.req.query('error_description')}` : ''}).`,
          undefined,
          { href: signInUrl(state.returnTo, state.stepUp), text: 'Try again' },
        ),
        401,
      );
    }
    // The URL the provider redirected to, as registered (a proxy or API Gateway may rewrite ours).
    const callback = new URL(oidc.redirectUri);
    callback.search = new URL(c.req.url).search;
    let identity: Awaited<ReturnType<OidcSignIn['finish']>>;
    try {
      identity = await oidc.finish(callback, state, stepUpMaxAge);
    } catch (err) {
      if (!(err instanceof SignInError)) throw err;
      logger.info('review page: sign-in refused', { reason: err.message });
      return c.html(
        messagePage('Sign-in refused', err.message, undefined, {
          href: signInUrl(state.returnTo, state.stepUp),
          text: 'Try again',
        }),
        401,
      );
    }
    const principal = boundPrincipal(service.directory, 'oidc', identity.key);
    if (!principal) {
      logger.info('review page: sign-in not bound to a principal', { oidc: identity.key });
      return c.html(
        messagePage(
          'Not bound to a principal',
          `You signed in as ${identity.display}, but policy data binds no principal to "${identity.key}". Ask a policy author to add it to identities.oidc.`,
        ),
        403,
      );
    }
    await startSession(c, principal, identity.authTime, 'oidc');
    return c.html(continuePage(state.returnTo));
  });

  app.post(`${REVIEW_PREFIX}/auth/demo`, async (c) => {
    const demo = settings.demoToken;
    if (!demo || settings.oidc) {
      return c.html(
        messagePage('Not found', 'Demo sign-in is only for a local gateway without an identity provider.'),
        404,
      );
    }
    const state = await settings.sealer.openSignIn(readCookie(c.req.header('cookie'), names.signIn), now());
    const form = await readForm(c);
    if (!form || !state || !csrfMatches(state.csrf, form.csrf)) return forbiddenCsrf(c);
    const principal = typeof form.token === 'string' ? demo(form.token) : undefined;
    if (!principal) {
      const retry = OidcSignIn.newState(state.returnTo, state.stepUp, newCsrfToken());
      c.header(
        'set-cookie',
        setCookie(names.signIn, await settings.sealer.sealSignIn(retry, SIGN_IN_TTL_SECONDS, now()), {
          secure: settings.secureCookies,
          maxAgeSeconds: SIGN_IN_TTL_SECONDS,
          sameSite: 'Lax',
        }),
      );
      return c.html(
        demoSignInPage(retry.csrf, retry.returnTo, 'That is not a demo token of this gateway.'),
        401,
      );
    }
    await startSession(c, principal, Math.floor(now().getTime() / 1000), 'demo');
    return c.redirect(state.returnTo, 303);
  });

  app.post(`${REVIEW_PREFIX}/auth/logout`, async (c) => {
    const session = await currentSession(c);
    const form = await readForm(c);
    if (!session || !form || !csrfMatches(session.csrf, form.csrf)) return forbiddenCsrf(c);
    c.header('set-cookie', clearCookie(names.session, settings.secureCookies));
    return c.html(
      messagePage('Signed out', 'You are signed out.', undefined, { href: '/review', text: 'Sign in again' }),
    );
  });

  // --- pages ---

  const requireSession = async (c: C, returnTo: string): Promise<ReviewSession | Response> => {
    const session = await currentSession(c);
    return session ?? c.redirect(signInUrl(returnTo, false), 303);
  };

  app.get(REVIEW_PREFIX, async (c) => {
    const session = await requireSession(c, '/review');
    if (session instanceof Response) return session;
    const page = await service.pendingFor(session.principal, { includeVoted: true, limit: 100 });
    return c.html(listPage(session, page.items, page.cursor !== undefined));
  });

  const showRequest = async (
    c: C,
    session: ReviewSession,
    id: string,
    status: 200 | 400 | 403 | 409 = 200,
    messages: { notice?: string; problem?: string } = {},
  ) => {
    let request: ActionRequest;
    try {
      request = await service.get(id, session.principal);
    } catch (error) {
      if (error instanceof NotFoundError) return notFound(c, session);
      throw error;
    }
    let audit: Awaited<ReturnType<typeof service.audit>> | undefined;
    try {
      audit = await service.audit(id, session.principal);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
    const canVote =
      request.status === 'pending' &&
      ineligibility(request, session.principal, service.directory) === undefined;
    return c.html(
      requestPage({
        session,
        request,
        ...(audit ? { audit: { events: audit.events, verification: audit.verification } } : {}),
        canVote,
        stepUpNeeded: request.approval?.stepUp === true && !fresh(session),
        ...messages,
      }),
      status,
    );
  };

  app.get(`${REVIEW_PREFIX}/requests/:id`, async (c) => {
    const id = c.req.param('id');
    const session = await requireSession(c, `/review/requests/${REQUEST_ID_PATTERN.test(id) ? id : ''}`);
    if (session instanceof Response) return session;
    if (!REQUEST_ID_PATTERN.test(id)) return notFound(c, session);
    const voted = c.req.query('voted');
    return showRequest(c, session, id, 200, {
      ...(voted === 'approve' ? { notice: 'Your approval is recorded.' } : {}),
      ...(voted === 'reject' ? { notice: 'Your rejection is recorded.' } : {}),
      ...(voted === 'approve-narrower' ? { notice: 'Your narrowed approval is recorded.' } : {}),
    });
  });

  const VOTES = { approve: 'approve', reject: 'reject', 'approve-narrower': 'approve' } as const;
  for (const [path, decision] of Object.entries(VOTES) as [keyof typeof VOTES, VoteDecision][]) {
    app.post(`${REVIEW_PREFIX}/requests/:id/${path}`, async (c) => {
      const id = c.req.param('id');
      const session = await currentSession(c);
      const form = await readForm(c);
      // No session, or a form without this session's token: a forged or stale post changes nothing.
      if (!session || !form || !csrfMatches(session.csrf, form.csrf)) return forbiddenCsrf(c);
      if (!REQUEST_ID_PATTERN.test(id)) return notFound(c, session);
      const actionHash = form.action_hash ?? '';
      const comment = form.comment !== undefined && form.comment.trim() !== '' ? form.comment : undefined;
      if (actionHash === '') {
        return showRequest(c, session, id, 400, {
          problem: 'The form lost its action hash; reload the page and vote again.',
        });
      }
      if (decision === 'reject' && comment === undefined) {
        return showRequest(c, session, id, 400, {
          problem: 'A rejection needs a comment that tells the requester why.',
        });
      }
      let narrowTo: NarrowTo | undefined;
      if (path === 'approve-narrower') {
        const parsed = narrowingFrom(form);
        if (typeof parsed === 'string') return showRequest(c, session, id, 400, { problem: parsed });
        narrowTo = parsed;
      }
      let request: ActionRequest;
      try {
        request = await service.get(id, session.principal);
      } catch (error) {
        if (error instanceof NotFoundError) return notFound(c, session);
        throw error;
      }
      if (request.approval?.stepUp === true && !fresh(session)) {
        // Step-up: sign in again (the provider is told max_age), then come back and vote.
        return c.redirect(signInUrl(`/review/requests/${id}`, true), 303);
      }
      try {
        await service.review(id, session.principal, {
          decision,
          ...(comment !== undefined ? { comment } : {}),
          actionHash,
          channel: REVIEW_PAGE_CHANNEL,
          steppedUp: fresh(session),
          ...(narrowTo ? { narrowTo } : {}),
        });
      } catch (error) {
        if (!(error instanceof GatewayError)) throw error;
        if (error instanceof NotFoundError) return notFound(c, session);
        const problem = toHttpError(error);
        const status =
          problem.status === 400 || problem.status === 403 || problem.status === 409 ? problem.status : 409;
        return showRequest(c, session, id, status, { problem: problem.body.message });
      }
      return c.redirect(`/review/requests/${id}?voted=${path}`, 303);
    });
  }
}

/** The headers every review page answer carries: no script, no framing, no referrer, no caching. */
function securityHeaders(c: C, issuerOrigin: string | undefined): void {
  c.header(
    'content-security-policy',
    [
      "default-src 'none'",
      "style-src 'self'",
      "img-src 'self'",
      // A step-up vote is a form post answered by a redirect to the identity provider.
      `form-action 'self'${issuerOrigin ? ` ${issuerOrigin}` : ''}`,
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ].join('; '),
  );
  c.header('x-frame-options', 'DENY');
  c.header('referrer-policy', 'no-referrer');
  c.header('x-content-type-options', 'nosniff');
  if (!c.res.headers.has('cache-control')) c.header('cache-control', 'no-store');
}

function clearCookie(name: string, secure: boolean): string {
  return setCookie(name, '', { secure, maxAgeSeconds: 0, sameSite: 'Strict' });
}

/** The posted form, or undefined when the body is not a form. */
async function readForm(c: C): Promise<Form | undefined> {
  if (!/^application\/x-www-form-urlencoded\s*(;.*)?$/i.test(c.req.header('content-type') ?? '')) {
    return undefined;
  }
  const params = new URLSearchParams(await c.req.text());
  const fields: Record<string, string> = {};
  for (const [key, value] of params) if (!(key in fields)) fields[key] = value;
  return Object.assign(fields, { all: (name: string) => params.getAll(name) });
}

/**
 * The narrowed terms of the "approve less" form: the ticked actions and resources, and the window.
 * The service checks they are within what was asked (core/narrowing.ts); here only their shape.
 */
function narrowingFrom(form: Form): NarrowTo | string {
  const actions = form.all('narrow_action');
  const resources = form.all('narrow_resource');
  if (actions.length === 0) return 'Tick at least one action to approve (approving none is a rejection).';
  if (resources.length === 0) return 'Tick at least one resource to approve (approving none is a rejection).';
  const window = form.window_seconds?.trim() ?? '';
  if (window !== '' && !/^[1-9]\d{0,5}$/.test(window)) {
    return `The window must be a whole number of seconds, at least 1 (got "${window.slice(0, 20)}").`;
  }
  return { actions, resources, ...(window !== '' ? { window_seconds: Number(window) } : {}) };
}

/** A form's fields (the first value of each) and every value of a repeated field (`all`). */
type Form = Record<string, string | undefined> & { readonly all: (name: string) => string[] };

function forbiddenCsrf(c: C): Response {
  return c.html(
    messagePage(
      'Refused',
      'This form did not come from your current review session (missing or wrong CSRF token, or the session ended). Reload the page and try again.',
      undefined,
      { href: '/review', text: 'Back to the review list' },
    ),
    403,
  );
}

function notFound(c: C, session: ReviewSession): Response {
  return c.html(
    messagePage('Not found', 'There is no such request, or you may not see it.', session, {
      href: '/review',
      text: 'Back to the review list',
    }),
    404,
  );
}
