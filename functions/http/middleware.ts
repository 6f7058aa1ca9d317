/**
 * What runs before every route: request id and access log, body size, media type, authentication,
 * and JSON hygiene. Each refuses through errors.ts, before any route sees the call.
 */
import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from '../observability/logger.ts';
import type { Authenticator } from './auth.ts';
import type { GatewayEnv } from './context.ts';
import { problems, respond } from './errors.ts';
import { jsonProblem, MAX_BODY_BYTES } from './schemas.ts';

type Middleware = MiddlewareHandler<GatewayEnv>;

/** Paths under /v1 that anyone may read. */
const PUBLIC_PATHS = new Set(['/v1/openapi.json']);

/**
 * Chat platforms' callbacks (Slack interactions, Teams bot messages). Their routes authenticate the
 * platform themselves (a request signature, a Bot Framework token) over the raw body, map the chat
 * user to a principal through policy data, and read their own media types; the bearer-token and
 * JSON-only checks do not apply to them. On AWS these paths alone are exempt from IAM authorisation.
 */
export const INTEGRATIONS_PREFIX = '/v1/integrations/';

/** Runs `middleware` on every call but the chat platforms' callbacks. */
export function exceptIntegrations(middleware: Middleware): Middleware {
  return async (c, next) => (c.req.path.startsWith(INTEGRATIONS_PREFIX) ? next() : middleware(c, next));
}

/**
 * A fresh request id on every call (the `x-request-id` answer header), and the access log: every
 * refusal (4xx) at info with its error code, every call at debug. Failures (5xx) are logged with
 * their cause where they are caught (app.ts onError).
 */
export function requestContext(logger: Logger): Middleware {
  return async (c, next) => {
    const requestId = randomUUID();
    c.set('requestId', requestId);
    const started = performance.now();
    await next();
    c.header('x-request-id', requestId);
    // `httpRequestId` in logs: `requestId` there always means an action request's id (ar_…).
    const call = {
      httpRequestId: requestId,
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      status: c.res.status,
      principal: c.var.principal,
    };
    if (c.res.status >= 400 && c.res.status < 500) {
      logger.info('request refused', { ...call, error: c.var.refusal ?? 'refused' });
    }
    logger.debug('http', { ...call, ms: Math.round((performance.now() - started) * 10) / 10 });
  };
}

/**
 * Bodies over MAX_BODY_BYTES are refused while they are read, so none is ever buffered whole.
 * `larger` names the few paths a platform sends more to (with their own limit and why, in the
 * route module that declares them).
 */
export function bodySizeLimit(larger: Readonly<Record<string, number>> = {}): Middleware {
  const limit = (maxSize: number) =>
    bodyLimit({ maxSize, onError: (c) => respond(c, problems.payloadTooLarge(maxSize)) });
  const standard = limit(MAX_BODY_BYTES);
  const special = new Map(Object.entries(larger).map(([path, maxSize]) => [path, limit(maxSize)]));
  return async (c, next) => (special.get(c.req.path) ?? standard)(c, next);
}

/** JSON only: a body in any other media type is refused before it is parsed. */
export function jsonOnly(): Middleware {
  return async (c, next) => {
    if (c.req.method === 'POST') {
      const type = c.req.header('content-type');
      const length = c.req.header('content-length');
      const hasBody = type !== undefined || (length !== undefined && length !== '0');
      if (hasBody && !/^application\/json\s*(;\s*charset=utf-8\s*)?$/i.test(type ?? '')) {
        return respond(c, problems.unsupportedMediaType(type));
      }
    }
    await next();
  };
}

/** Who is calling, for everything under /v1 but the public paths; 401 for anyone unknown. */
export function authentication(authenticate: Authenticator): Middleware {
  return async (c, next) => {
    if (PUBLIC_PATHS.has(c.req.path)) return next();
    const principal = await authenticate(c);
    if (!principal) {
      c.header('www-authenticate', 'Bearer realm="ala"');
      return respond(c, problems.unauthenticated());
    }
    c.set('principal', principal);
    await next();
  };
}

/**
 * JSON bodies are parsed once here (hono caches the result for the route's validator) and checked
 * for what JSON.parse accepts but the gateway must refuse (jsonProblem).
 */
export function jsonHygiene(): Middleware {
  return async (c, next) => {
    if (c.req.method !== 'POST' || !/^application\/json/i.test(c.req.header('content-type') ?? '')) {
      return next();
    }
    let parsed: unknown;
    try {
      parsed = await c.req.json();
    } catch (error) {
      if (error instanceof HTTPException) throw error;
      return respond(c, problems.invalidJson());
    }
    const problem = jsonProblem(parsed);
    if (problem) return respond(c, problems.invalidRequest([problem]));
    await next();
  };
}
