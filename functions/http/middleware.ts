/**
 * What runs before every route: request id and access log, body size, media type, authentication,
 * and JSON hygiene. Each refuses through errors.ts, before any route sees the call.
 */
import { randomUUID } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from '../observability/logger.ts';
import type { Authenticator } from './auth.ts';
import type { GatewayEnv } from './context.ts';
import { problems, respond } from './errors.ts';
import { MAX_BODY_BYTES, MAX_JSON_DEPTH } from './schemas.ts';
import { parseStrictJson } from './strict-json.ts';

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
    setAnswerHeader(c, 'x-request-id', requestId);
    // `httpRequestId` in logs: `requestId` there always means an action request's id (ar_…). The
    // members are spelled out in each line: `{ ...call, ms }` (a member after a leading spread)
    // cost several µs per call in Node 20's V8, for a debug line that is usually off.
    const method = c.req.method;
    const path = c.req.path;
    const status = c.res.status;
    const principal = c.get('principal');
    if (status >= 400 && status < 500) {
      const error = c.get('refusal') ?? 'refused';
      logger.info('request refused', { httpRequestId: requestId, method, path, status, principal, error });
    }
    const ms = Math.round((performance.now() - started) * 10) / 10;
    logger.debug('http', { httpRequestId: requestId, method, path, status, principal, ms });
  };
}

/**
 * A header on the answer already made. hono's `c.header` after the route has answered rebuilds the
 * answer around its body stream, which turns the Node adapter's buffered fast path into a web
 * stream copy on every call; setting it on the answer's own headers keeps the body as it is. An
 * answer whose headers are immutable (a fetched response) goes the slow way.
 */
function setAnswerHeader(c: Context<GatewayEnv>, name: string, value: string): void {
  try {
    c.res.headers.set(name, value);
  } catch {
    c.header(name, value);
  }
}

/**
 * Bodies over MAX_BODY_BYTES are refused while they are read, so none is ever buffered whole.
 * `larger` names the few paths a platform sends more to (with their own limit and why, in the
 * route module that declares them). A body with a Content-Length (and no Transfer-Encoding) is
 * judged by it, as hono's bodyLimit does, without touching the body: Node's parser never delivers
 * more than that length, and the Node adapter keeps its direct body read. Any other body with a
 * method that carries one is counted while it is read by hono's bodyLimit.
 */
export function bodySizeLimit(larger: Readonly<Record<string, number>> = {}): Middleware {
  const limit = (maxSize: number) => ({
    maxSize,
    counted: bodyLimit({ maxSize, onError: (c) => respond(c, problems.payloadTooLarge(maxSize)) }),
  });
  const standard = limit(MAX_BODY_BYTES);
  const special = new Map(Object.entries(larger).map(([path, maxSize]) => [path, limit(maxSize)]));
  return async (c, next) => {
    const { maxSize, counted } = special.get(c.req.path) ?? standard;
    const method = c.req.method;
    // No body reaches a route on these (the Request of a GET or HEAD has none).
    if (method === 'GET' || method === 'HEAD') return next();
    const length = c.req.header('content-length');
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      return Number.parseInt(length, 10) > maxSize ? respond(c, problems.payloadTooLarge(maxSize)) : next();
    }
    return counted(c, next);
  };
}

/**
 * JSON only: a body in any other media type is refused before it is parsed. A body sent chunked
 * without a content type is read (bounded by bodySizeLimit) to tell "no body" from "a body of no
 * declared type".
 */
export function jsonOnly(): Middleware {
  return async (c, next) => {
    if (c.req.method === 'POST') {
      const type = c.req.header('content-type');
      const length = c.req.header('content-length');
      let hasBody = type !== undefined || (length !== undefined && length !== '0');
      if (!hasBody && c.req.header('transfer-encoding') !== undefined) {
        hasBody = (await c.req.arrayBuffer()).byteLength > 0;
      }
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
 * Calls per minute of the authenticated principal (429 with Retry-After past its limit). After
 * authentication, so an unauthenticated flood costs no counter write; before the body is parsed.
 */
export function rateLimit(admit: (principal: string) => Promise<void>): Middleware {
  return async (c, next) => {
    const principal = c.get('principal') as string | undefined;
    if (principal !== undefined) await admit(principal);
    await next();
  };
}

/**
 * A submission by a principal already known over its submissions per minute is refused (429,
 * Retry-After) before its body is read or parsed: a flood at its limit costs no parsing. A
 * submission carrying an Idempotency-Key goes on, since a replay of an earlier one is free and
 * only the store can tell a replay from a new one; the exact count stays in the service.
 */
export function earlySubmissionRefusal(refuse: (principal: string) => void): Middleware {
  return async (c, next) => {
    const principal = c.get('principal') as string | undefined;
    if (
      principal !== undefined &&
      c.req.method === 'POST' &&
      c.req.path === SUBMIT_PATH &&
      c.req.header('idempotency-key') === undefined
    ) {
      refuse(principal);
    }
    await next();
  };
}

const SUBMIT_PATH = '/v1/action-requests';

/**
 * JSON bodies are parsed once here, strictly (strict-json.ts: duplicate keys, numbers that would
 * change, invalid UTF-8, lone surrogates, nesting), and the result is what the route's validator
 * reads: hono's body cache holds its text, so no lenient UTF-8 decoding ever sees the bytes. An empty
 * body counts as `{}`.
 */
export function jsonHygiene(): Middleware {
  return async (c, next) => {
    if (c.req.method !== 'POST' || !/^application\/json/i.test(c.req.header('content-type') ?? '')) {
      return next();
    }
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (isBlank(bytes)) {
      // No body is no fields: fine where all are optional (cancel), a 400 naming the required ones.
      bodyCache(c).text = Promise.resolve('{}');
      return next();
    }
    // `args`, `properties` and `attributes` sit up to four levels below the body.
    const parsed = parseStrictJson(bytes, {
      maxDepth: MAX_JSON_DEPTH + 4,
      tooDeep: `nested deeper than ${MAX_JSON_DEPTH} levels; flatten the structure`,
    });
    if (!parsed.ok) {
      const { problem } = parsed;
      return respond(
        c,
        problem.code === 'syntax' || problem.code === 'invalid_utf8'
          ? problems.invalidJson(problem.message)
          : problems.invalidRequest([{ path: problem.path, message: problem.message }]),
      );
    }
    // hono's json() parses its cached text: the strictly decoded text, which (checked above) every
    // JSON parser reads as the same value.
    bodyCache(c).text = Promise.resolve(parsed.text);
    await next();
  };
}

/** Whether a body is empty or only JSON whitespace. */
export function isBlank(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d);
}

/** hono's per-request body cache (its type names the values, the cache holds their promises). */
function bodyCache(c: { req: { bodyCache: object } }): Record<string, Promise<unknown>> {
  return c.req.bodyCache as Record<string, Promise<unknown>>;
}
