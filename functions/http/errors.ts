/**
 * The one place where error bodies are made. Middleware, routes and the error handler all answer
 * through these functions, so every refusal has the same shape (`ErrorView` in schemas.ts) and
 * every message says what was wrong and how to fix it.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { type ErrorKind, GatewayError, RateLimitedError } from '../core/errors.ts';
import type { GatewayEnv } from './context.ts';
import { MAX_BODY_BYTES } from './schemas.ts';

export interface ErrorBody {
  error: string;
  message: string;
  details?: Record<string, unknown>;
}

/** A status and the body that explains it. */
export interface Problem {
  readonly status: ContentfulStatusCode;
  readonly body: ErrorBody;
  /** Answer headers that go with it (`Retry-After` of a 429, `Allow` of a 405). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** One field to fix: its dotted path in the body, query or path, and what is wrong with it. */
export interface Issue {
  readonly path: string;
  readonly message: string;
}

const STATUS_BY_KIND: Record<ErrorKind, ContentfulStatusCode> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  unprocessable: 422,
  unavailable: 503,
  not_configured: 501,
  rate_limited: 429,
};

const BODY_LIMIT = `${MAX_BODY_BYTES / 1024} KiB`;

/** What the OpenAPI document says each error status means. */
export const ERROR_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'Invalid input; `details` names the fields to fix',
  401: 'Not authenticated',
  403: 'Authenticated but not allowed',
  404: 'No such request, or not visible to you',
  409: 'Conflicts with the request state (decided, stale action_hash, redeemed already, voted the other way already)',
  413: `Body over ${BODY_LIMIT}`,
  415: 'Body is not application/json',
  429: 'Over a limit (calls or submissions per minute, open pending requests); wait `Retry-After` seconds',
  422: 'The approved grant cannot be issued as the policy states it (wildcard, foreign service, too large); the refusal is audited; fix the policy',
  501: 'The gateway is not configured for this (no credential broker); do not retry; ask the operator',
  503: 'A dependency is unavailable; nothing was written; retry',
};

export const problems = {
  /** Input that fails validation; the message names the first field, `details` all of them. */
  invalidRequest(issues: readonly Issue[]): Problem {
    const first = issues[0];
    return {
      status: 400,
      body: {
        error: 'invalid_request',
        message: first ? `${first.path}: ${first.message}` : 'the request is invalid',
        details: { issues: issues.map((i) => ({ ...i })) },
      },
    };
  },
  invalidJson(message = 'the request body is not valid JSON; send a JSON object'): Problem {
    return { status: 400, body: { error: 'invalid_json', message } };
  },
  payloadTooLarge(limitBytes = MAX_BODY_BYTES): Problem {
    return {
      status: 413,
      body: {
        error: 'payload_too_large',
        message: `the request body is over ${limitBytes === MAX_BODY_BYTES ? BODY_LIMIT : `${limitBytes / 1024} KiB`}; send a smaller request`,
      },
    };
  },
  unsupportedMediaType(contentType: string | undefined): Problem {
    const got = contentType ? JSON.stringify(contentType.slice(0, 100)) : 'no content-type';
    return {
      status: 415,
      body: { error: 'unsupported_media_type', message: `send the body as application/json (got ${got})` },
    };
  },
  unauthenticated(): Problem {
    return {
      status: 401,
      body: {
        error: 'unauthenticated',
        message: 'authenticate with a bearer token (local) or AWS SigV4 (API Gateway)',
      },
    };
  },
  methodNotAllowed(method: string, path: string, allowed: readonly string[]): Problem {
    return {
      status: 405,
      headers: { allow: allowed.join(', ') },
      body: {
        error: 'method_not_allowed',
        message: `${path} does not answer ${method.slice(0, 20)}; use ${allowed.join(', ')}`,
        details: { allow: [...allowed] },
      },
    };
  },
  noRoute(method: string, path: string): Problem {
    return { status: 404, body: { error: 'not_found', message: `no route for ${method} ${path}` } };
  },
  internal(): Problem {
    return {
      status: 500,
      body: {
        error: 'internal_error',
        message: "the gateway failed unexpectedly; the error is logged under this response's x-request-id",
      },
    };
  },
};

/** Thrown where a route cannot simply return its refusal (e.g. from a helper). */
export class ProblemError extends Error {
  override name = 'ProblemError';
  constructor(readonly problem: Problem) {
    super(problem.body.message);
  }
}

/** Answers with a problem, and notes a refusal's code for the access log (middleware.ts). */
export function respond(c: Context<GatewayEnv>, problem: Problem): Response {
  if (problem.status < 500) c.set('refusal', problem.body.error);
  for (const [name, value] of Object.entries(problem.headers ?? {})) c.header(name, value);
  return c.json(problem.body, problem.status);
}

/** zod's issues as fields to fix (`(root)` for the value itself). */
export function issuesOf(error: {
  issues: readonly { path: readonly PropertyKey[]; message: string }[];
}): Issue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(root)',
    message: issue.message,
  }));
}

/**
 * What any thrown error means for the caller: the core's errors by their kind, hono's by their
 * status, anything else a 500 whose details stay in the log. `expected` tells a refusal (the
 * caller's input or the request's state) from a failure of the gateway.
 */
export function toHttpError(error: unknown): Problem & { expected: boolean } {
  if (error instanceof ProblemError) return { ...error.problem, expected: error.problem.status < 500 };
  if (error instanceof GatewayError) {
    return {
      status: STATUS_BY_KIND[error.kind],
      ...(error instanceof RateLimitedError
        ? { headers: { 'retry-after': String(error.retryAfterSeconds) } }
        : {}),
      body: {
        error: error.code,
        message: error.message,
        ...(error.details ? { details: error.details } : {}),
      },
      expected: true,
    };
  }
  if (error instanceof HTTPException) {
    const status = error.status as ContentfulStatusCode;
    const known =
      status === 400 ? problems.invalidJson() : status === 413 ? problems.payloadTooLarge() : undefined;
    return {
      status,
      body: known?.body ?? { error: 'http_error', message: error.message || 'request refused' },
      expected: status < 500,
    };
  }
  return { ...problems.internal(), expected: false };
}
