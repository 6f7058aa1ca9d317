/** Submitting a request, reading it (with long-poll), listing, and cancelling. */
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ActionRequest, ActionRequestInput } from '../../core/model.ts';
import type { AppDependencies, GatewayApp } from '../context.ts';
import { COMMON_ERRORS, errorResponses, json, jsonBody, SUBMISSION_LINKS, security } from '../openapi.ts';
import {
  ActionRequestBody,
  ActionRequestList,
  ActionRequestView,
  CancelBody,
  IdempotencyKeyHeader,
  ListQuery,
  MAX_WAIT_SECONDS,
  RequestIdParam,
  WaitQuery,
} from '../schemas.ts';
import { requestPath, toView } from '../views.ts';
import { waitForStatusChange } from '../waiter.ts';

const submitRoute = createRoute({
  method: 'post',
  path: '/v1/action-requests',
  operationId: 'submitActionRequest',
  summary: 'Submit an action request',
  description:
    'Evaluates the policy and records the request. `Idempotency-Key` makes retries safe; `Prefer: wait=N` (≤ 25) waits for a human decision. 200 when decided, 202 when pending.',
  security,
  request: {
    ...jsonBody(ActionRequestBody),
    headers: z.object({
      'idempotency-key': IdempotencyKeyHeader,
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
      links: SUBMISSION_LINKS,
    },
    202: { ...json(ActionRequestView, 'Pending human approval'), links: SUBMISSION_LINKS },
    ...errorResponses(...COMMON_ERRORS, 403, 409),
  },
});

const listRoute = createRoute({
  method: 'get',
  path: '/v1/action-requests',
  operationId: 'listActionRequests',
  summary: 'List requests: by default, the pending ones awaiting your vote',
  description:
    'Pages through the requests in one status that you may see, newest first. For `pending`, the requests you may vote on now and have not voted on yet (`include_voted=true` adds those you have), read from an index of pending requests by approving group, newest first or (`order=deadline`) soonest deadline first. Other statuses are read from an index of decided requests by viewer (requester, person acted for, owners of the requesting agent, approving groups; auditors see all), newest first. Follow `cursor` until it is absent.',
  security,
  request: { query: ListQuery },
  responses: { 200: json(ActionRequestList, 'Requests'), ...errorResponses(400, 401, 503) },
});

const getRoute = createRoute({
  method: 'get',
  path: '/v1/action-requests/{id}',
  operationId: 'getActionRequest',
  summary: 'Status of a request; `?wait=N` long-polls until its status changes',
  security,
  request: { params: RequestIdParam, query: WaitQuery },
  responses: { 200: json(ActionRequestView, 'The request'), ...errorResponses(400, 401, 404, 503) },
});

const cancelRoute = createRoute({
  method: 'post',
  path: '/v1/action-requests/{id}/cancel',
  operationId: 'cancelActionRequest',
  summary: 'Cancel a pending request (requester)',
  security,
  request: {
    params: RequestIdParam,
    body: { content: { 'application/json': { schema: CancelBody } }, required: false },
  },
  responses: {
    200: json(ActionRequestView, 'Cancelled'),
    ...errorResponses(...COMMON_ERRORS, 403, 404, 409),
  },
});

export function registerRequestRoutes(app: GatewayApp, deps: AppDependencies): void {
  const { service } = deps;

  app.openapi(submitRoute, async (c) => {
    const input = c.req.valid('json') as ActionRequestInput;
    const principal = c.get('principal');
    const key = c.req.header('idempotency-key');
    const { request } = await service.submit(
      principal,
      input,
      key === undefined ? {} : { idempotencyKey: key },
    );
    const answer = await waitIfAsked(c, deps, request, waitSeconds(c, deps));
    c.header('location', requestPath(answer.id));
    return c.json(toView(answer), answer.status === 'pending' ? 202 : 200);
  });

  app.openapi(listRoute, async (c) => {
    const { status, limit, cursor, include_voted, order } = c.req.valid('query');
    const page = await service.list(status, c.get('principal'), {
      limit,
      ...(cursor ? { cursor } : {}),
      ...(order ? { order } : {}),
      includeVoted: include_voted === 'true',
    });
    return c.json(
      {
        items: page.items.map(toView),
        count: page.items.length,
        ...(page.cursor ? { cursor: page.cursor } : {}),
      },
      200,
    );
  });

  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const request = await service.get(id, c.get('principal'));
    const answer = await waitIfAsked(c, deps, request, waitSeconds(c, deps, c.req.valid('query').wait));
    return c.json(toView(answer), 200);
  });

  app.openapi(cancelRoute, async (c) => {
    const { id } = c.req.valid('param');
    // Absent, empty or `{}`: no reason. The body was parsed strictly by the middleware.
    const reason = c.req.valid('json').reason;
    return c.json(toView(await service.cancel(id, c.get('principal'), reason)), 200);
  });
}

/**
 * `?wait=N` when given, else `Prefer: wait=N` (RFC 7240), capped at MAX_WAIT_SECONDS and at the
 * deployment's own cap; a shorter wait answers 202/pending sooner and the caller polls again.
 */
function waitSeconds(c: Context, deps: AppDependencies, query?: number): number {
  const cap = Math.min(MAX_WAIT_SECONDS, deps.maxWaitSeconds ?? MAX_WAIT_SECONDS);
  if (query !== undefined) return Math.min(query, cap);
  const prefer = c.req.header('prefer');
  const match = prefer ? /(?:^|[,;\s])wait=(\d{1,6})(?:$|[,;\s])/.exec(prefer) : null;
  return match?.[1] ? Math.min(Number(match[1]), cap) : 0;
}

/** Holds the answer until the request's status changes, the wait is over, or the caller hangs up. */
function waitIfAsked(
  c: Context,
  deps: AppDependencies,
  request: ActionRequest,
  seconds: number,
): Promise<ActionRequest> {
  if (seconds <= 0) return Promise.resolve(request);
  const principal = c.get('principal') as string;
  const signal = c.req.raw.signal as AbortSignal | undefined;
  return waitForStatusChange(request, () => deps.service.get(request.id, principal), {
    timeoutMs: seconds * 1000,
    // The long-polls of one caller on one request read it once per commit (access checked for it).
    shareKey: principal,
    ...(deps.hub ? { hub: deps.hub } : {}),
    ...(signal ? { signal } : {}),
  });
}
