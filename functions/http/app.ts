/**
 * The one HTTP application. API Gateway (through Lambda) and the local gateway both serve it, so
 * routes, validation and error shapes cannot drift. The OpenAPI document comes from the same schemas.
 */
import { randomUUID } from 'node:crypto';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { ValidationError } from '../core/errors.ts';
import * as lifecycle from '../core/lifecycle.ts';
import type { ActionRequestInput } from '../core/model.ts';
import type { ApprovalService } from '../core/service.ts';
import type { Logger } from '../observability/logger.ts';
import type { Authenticator } from './auth.ts';
import { toHttpError } from './errors.ts';
import {
  ActionRequestBody,
  ActionRequestList,
  ActionRequestView,
  AuditView,
  CancelBody,
  DecisionBody,
  ErrorView,
  EvaluationView,
  GrantView,
  jsonProblem,
  ListQuery,
  MAX_BODY_BYTES,
  MAX_WAIT_SECONDS,
  OutcomeBody,
  RequestIdParam,
  WaitQuery,
} from './schemas.ts';
import { toView } from './views.ts';
import { type ChangeHub, waitForStatusChange } from './waiter.ts';

export interface AppDependencies {
  readonly service: ApprovalService;
  readonly authenticate: Authenticator;
  readonly logger: Logger;
  /** Local mode wakes long-polls on commits; without it they poll the store with backoff. */
  readonly hub?: ChangeHub;
  readonly version?: string;
}

type Env = { Variables: { principal: string; requestId: string } };

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});
const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, json(ErrorView, ERROR_DESCRIPTIONS[s] ?? 'Error')]));
const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input; `details` names the fields to fix',
  401: 'Not authenticated',
  403: 'Authenticated but not allowed',
  404: 'No such request, or not visible to you',
  409: 'Conflicts with the request state (decided, stale action_hash, redeemed already)',
  413: 'Body over 64 KiB',
  415: 'Body is not application/json',
  503: 'A dependency is unavailable; nothing was written; retry',
};
const COMMON = [400, 401, 413, 415, 503];
const body = <T extends z.ZodType>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
});
/** What a client can do next with the id it got back (OpenAPI links). */
const REQUEST_LINKS = Object.fromEntries(
  [
    'getActionRequest',
    'decideActionRequest',
    'cancelActionRequest',
    'redeemGrant',
    'reportOutcome',
    'getAuditTrail',
  ].map((operationId) => [operationId, { operationId, parameters: { id: '$response.body#/id' } }]),
);
const security: Record<string, string[]>[] = [{ bearer: [] }, { sigv4: [] }];

export function createApp(deps: AppDependencies): OpenAPIHono<Env> {
  const { service, logger } = deps;
  const app = new OpenAPIHono<Env>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const issues = result.error.issues.map((issue) => ({
          path: issue.path.map(String).join('.') || '(root)',
          message: issue.message,
        }));
        const first = issues[0];
        return c.json(
          {
            error: 'invalid_request',
            message: first ? `${first.path}: ${first.message}` : 'the request is invalid',
            details: { issues },
          },
          400,
        );
      }
    },
  });

  app.onError((error, c) => {
    const { status, body: payload, expected } = toHttpError(error);
    const requestId = c.get('requestId');
    if (expected) logger.info('request refused', { requestId, status, error: payload.error });
    else logger.error('request failed', { requestId, status, error });
    return c.json(payload, status);
  });
  app.notFound((c) =>
    c.json(
      { error: 'not_found', message: `no route for ${c.req.method} ${new URL(c.req.url).pathname}` },
      404,
    ),
  );

  // Request id and access log on every call.
  app.use('*', async (c, next) => {
    const requestId = randomUUID();
    c.set('requestId', requestId);
    const started = performance.now();
    await next();
    c.header('x-request-id', requestId);
    logger.debug('http', {
      requestId,
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
      principal: c.var.principal,
    });
  });

  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) =>
        c.json(
          { error: 'payload_too_large', message: 'the request body is over 64 KiB; send a smaller request' },
          413,
        ),
    }),
  );

  // JSON only: a body in any other media type is refused before it is parsed.
  app.use('/v1/*', async (c, next) => {
    if (c.req.method === 'POST') {
      const type = c.req.header('content-type');
      const length = c.req.header('content-length');
      const hasBody = type !== undefined || (length !== undefined && length !== '0');
      if (hasBody && !/^application\/json\s*(;\s*charset=utf-8\s*)?$/i.test(type ?? '')) {
        return c.json(
          {
            error: 'unsupported_media_type',
            message: `send the body as application/json (got ${type ? JSON.stringify(type.slice(0, 100)) : 'no content-type'})`,
          },
          415,
        );
      }
    }
    await next();
  });

  // Authentication for everything under /v1 but the spec.
  app.use('/v1/*', async (c, next) => {
    if (c.req.path === '/v1/openapi.json') return next();
    const principal = await deps.authenticate(c);
    if (!principal) {
      c.header('www-authenticate', 'Bearer realm="ala"');
      return c.json(
        {
          error: 'unauthenticated',
          message: 'authenticate with a bearer token (local) or AWS SigV4 (API Gateway)',
        },
        401,
      );
    }
    c.set('principal', principal);
    await next();
  });

  // JSON bodies are parsed once here (hono caches the result for the route's validator) and
  // checked for what JSON.parse accepts but the gateway must refuse (schemas.ts jsonProblem).
  app.use('/v1/*', async (c, next) => {
    if (c.req.method !== 'POST' || !/^application\/json/i.test(c.req.header('content-type') ?? ''))
      return next();
    let parsed: unknown;
    try {
      parsed = await c.req.json();
    } catch (error) {
      if (error instanceof HTTPException) throw error;
      return c.json(
        { error: 'invalid_json', message: 'the request body is not valid JSON; send a JSON object' },
        400,
      );
    }
    const problem = jsonProblem(parsed);
    if (problem)
      return c.json(
        {
          error: 'invalid_request',
          message: problem,
          details: { issues: [{ path: problem.split(':')[0], message: problem }] },
        },
        400,
      );
    await next();
  });

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  app.openAPIRegistry.registerComponent('securitySchemes', 'sigv4', {
    type: 'apiKey',
    name: 'Authorization',
    in: 'header',
    description: 'AWS Signature Version 4 (API Gateway IAM authorization)',
  });

  const waitSeconds = (c: Context, query?: number): number => {
    if (query !== undefined) return query;
    const prefer = c.req.header('prefer');
    const match = prefer ? /(?:^|[,;\s])wait=(\d{1,6})(?:$|[,;\s])/.exec(prefer) : null;
    return match?.[1] ? Math.min(Number(match[1]), MAX_WAIT_SECONDS) : 0;
  };
  const abortSignal = (c: Context): AbortSignal | undefined => c.req.raw.signal;

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/action-requests',
      operationId: 'submitActionRequest',
      summary: 'Submit an action request',
      description:
        'Evaluates the policy and records the request. `Idempotency-Key` makes retries safe; `Prefer: wait=N` (≤ 25) waits for a human decision. 200 when decided, 202 when pending.',
      security,
      request: {
        ...body(ActionRequestBody),
        headers: z.object({
          'idempotency-key': z
            .string()
            .max(255)
            .optional()
            .openapi({ param: { name: 'idempotency-key', in: 'header' } }),
          prefer: z
            .string()
            .max(200)
            .optional()
            .openapi({ param: { name: 'prefer', in: 'header' }, example: 'wait=20' }),
        }),
      },
      responses: {
        200: {
          ...json(ActionRequestView, 'Decided (allowed, denied, or decided while waiting)'),
          links: REQUEST_LINKS,
        },
        202: { ...json(ActionRequestView, 'Pending human approval'), links: REQUEST_LINKS },
        ...errors(...COMMON, 403, 409),
      },
    }),
    async (c) => {
      const input = c.req.valid('json') as ActionRequestInput;
      const principal = c.var.principal;
      const key = c.req.header('idempotency-key');
      let { request } = await service.submit(
        principal,
        input,
        key === undefined ? {} : { idempotencyKey: key },
      );
      const wait = waitSeconds(c);
      if (wait > 0) {
        request = await waitForStatusChange(request, () => service.get(request.id, principal), {
          timeoutMs: wait * 1000,
          ...(deps.hub ? { hub: deps.hub } : {}),
          ...(abortSignal(c) ? { signal: abortSignal(c) } : {}),
        });
      }
      c.header('location', `/v1/action-requests/${request.id}`);
      return c.json(toView(request), request.status === 'pending' ? 202 : 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/action-requests',
      operationId: 'listActionRequests',
      summary: 'List requests: by default, the pending ones you may review',
      security,
      request: { query: ListQuery },
      responses: { 200: json(ActionRequestList, 'Requests'), ...errors(400, 401, 503) },
    }),
    async (c) => {
      const { status, limit } = c.req.valid('query');
      const items = await service.list(status, c.var.principal, limit);
      return c.json({ items: items.map(toView), count: items.length }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/action-requests/{id}',
      operationId: 'getActionRequest',
      summary: 'Status of a request; `?wait=N` long-polls until its status changes',
      security,
      request: { params: RequestIdParam, query: WaitQuery },
      responses: { 200: json(ActionRequestView, 'The request'), ...errors(400, 401, 404, 503) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const principal = c.var.principal;
      let request = await service.get(id, principal);
      const wait = waitSeconds(c, c.req.valid('query').wait);
      if (wait > 0) {
        request = await waitForStatusChange(request, () => service.get(id, principal), {
          timeoutMs: wait * 1000,
          ...(deps.hub ? { hub: deps.hub } : {}),
          ...(abortSignal(c) ? { signal: abortSignal(c) } : {}),
        });
      }
      return c.json(toView(request), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/action-requests/{id}/decisions',
      operationId: 'decideActionRequest',
      summary: 'Approve or reject (approvers)',
      description:
        'The `action_hash` must be the one you reviewed. A rejection needs a comment. A repeated vote changes nothing.',
      security,
      request: { params: RequestIdParam, ...body(DecisionBody) },
      responses: { 200: json(ActionRequestView, 'Vote recorded'), ...errors(...COMMON, 403, 404, 409) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const vote = c.req.valid('json');
      const { request } = await service.review(id, c.var.principal, {
        decision: vote.decision,
        ...(vote.comment !== undefined ? { comment: vote.comment } : {}),
        actionHash: vote.action_hash,
        channel: 'api',
      });
      return c.json(toView(request), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/action-requests/{id}/cancel',
      operationId: 'cancelActionRequest',
      summary: 'Cancel a pending request (requester)',
      security,
      request: { params: RequestIdParam, body: { content: { 'application/json': { schema: CancelBody } } } },
      responses: { 200: json(ActionRequestView, 'Cancelled'), ...errors(...COMMON, 403, 404, 409) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const reason = (await optionalJson(c, CancelBody))?.reason;
      return c.json(toView(await service.cancel(id, c.var.principal, reason)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/action-requests/{id}/grant',
      operationId: 'redeemGrant',
      summary: 'Redeem the grant of an approved request, once (requester)',
      description:
        'Returns the scoped credentials exactly once (`Cache-Control: no-store`). A second call answers 409 `grant_already_redeemed`.',
      security,
      request: { params: RequestIdParam },
      responses: { 200: json(GrantView, 'The grant'), ...errors(400, 401, 403, 404, 409, 413, 415, 503) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      c.header('cache-control', 'no-store');
      c.header('pragma', 'no-cache');
      const { request, credentials } = await service.redeem(id, c.var.principal);
      const grant = request.grant ?? { type: 'none' as const };
      return c.json(
        {
          request_id: request.id,
          action_hash: request.actionHash,
          grant: { type: grant.type, ...(grant.role ? { role: grant.role } : {}) },
          ...(credentials
            ? {
                credentials: {
                  access_key_id: credentials.accessKeyId,
                  secret_access_key: credentials.secretAccessKey,
                  session_token: credentials.sessionToken,
                  expiration: credentials.expiration,
                  usable_until: credentials.usableUntil,
                  ...(credentials.region ? { region: credentials.region } : {}),
                },
              }
            : {}),
          agent_message:
            grant.type === 'none'
              ? 'Granted. This action needs no credentials from the gateway: perform exactly the approved action now, then report the outcome.'
              : 'Here are credentials scoped to exactly the approved action; they are shown once and work only within the approved window. Perform the action, then report the outcome.',
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/action-requests/{id}/outcome',
      operationId: 'reportOutcome',
      summary: 'Report the outcome of an approved action (requester)',
      security,
      request: { params: RequestIdParam, ...body(OutcomeBody) },
      responses: { 200: json(ActionRequestView, 'Outcome recorded'), ...errors(...COMMON, 403, 404, 409) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const outcome = c.req.valid('json');
      const request = await service.reportOutcome(id, c.var.principal, {
        status: outcome.status,
        ...(outcome.detail !== undefined ? { detail: outcome.detail } : {}),
      });
      return c.json(toView(request), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/action-requests/{id}/audit',
      operationId: 'getAuditTrail',
      summary: "The request's hash-chained audit events and their verification (requester, auditors)",
      security,
      request: { params: RequestIdParam },
      responses: { 200: json(AuditView, 'Audit trail'), ...errors(400, 401, 404, 503) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { events, verification } = await service.audit(id, c.var.principal);
      return c.json(
        {
          request_id: id,
          events: events.map((e) => ({ ...e })),
          verification: verification.ok
            ? { ok: true, count: verification.count, head: verification.head }
            : { ok: false, problems: verification.problems.map((p) => ({ ...p })) },
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/evaluate',
      operationId: 'evaluatePolicy',
      summary: 'Dry run of the policy for you as the requester; records nothing',
      security,
      request: body(ActionRequestBody),
      responses: { 200: json(EvaluationView, 'The decision'), ...errors(...COMMON) },
    }),
    (c) => {
      const input = c.req.valid('json') as ActionRequestInput;
      const subject = lifecycle.subjectOf(c.var.principal);
      const decision = service.evaluate({ subject, ...input, now: new Date().toISOString() });
      return c.json(
        {
          outcome: decision.outcome,
          reasons: [...decision.reasons],
          ...(decision.approval ? { approval: mutableCopy(decision.approval) } : {}),
          ...(decision.grant ? { grant: mutableCopy(decision.grant) } : {}),
          policy_digest: decision.policyDigest,
          input_hash: decision.inputHash,
          action_hash: lifecycle.actionHash(subject, input),
        },
        200,
      );
    },
  );

  app.get('/healthz', (c) => c.json({ status: 'ok', version: deps.version ?? 'dev' }));

  app.doc31('/v1/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Action-Level Approvals gateway',
      version: deps.version ?? '0.1.0',
      description:
        'Agents ask before they act: Rego policies allow, deny or require human approval; approved actions get one-shot scoped credentials; every step is hash-chained audit.',
    },
    servers: [{ url: '/' }],
  });

  return app;
}

/** Parses an optional JSON body (cancel): empty is fine, anything else must match the schema. */
async function optionalJson<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T> | undefined> {
  const text = await c.req.text();
  if (text.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new HTTPException(400, { message: 'invalid JSON' });
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ValidationError(`${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`, {
      details: { issues: result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
    });
  }
  return result.data;
}

/** A JSON-safe deep copy whose type drops `readonly`, for response bodies. */
type Mutable<T> = T extends readonly (infer U)[]
  ? Mutable<U>[]
  : T extends object
    ? { -readonly [K in keyof T]: Mutable<T[K]> }
    : T;
function mutableCopy<T>(value: T): Mutable<T> {
  return structuredClone(value) as Mutable<T>;
}
