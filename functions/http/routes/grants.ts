/** After approval: redeeming the one-shot grant, and reporting how the action went. */
import { createRoute } from '@hono/zod-openapi';
import type { AppDependencies, GatewayApp } from '../context.ts';
import { COMMON_ERRORS, errorResponses, json, jsonBody, security } from '../openapi.ts';
import { ActionRequestView, GrantView, OutcomeBody, RequestIdParam } from '../schemas.ts';
import { toGrantView, toView } from '../views.ts';

const redeemRoute = createRoute({
  method: 'post',
  path: '/v1/action-requests/{id}/grant',
  operationId: 'redeemGrant',
  summary: 'Redeem the grant of an approved request, once (requester)',
  description:
    'Returns the scoped credentials exactly once (`Cache-Control: no-store`). A second call answers 409 `grant_already_redeemed`. ' +
    "A grant that cannot be issued as stated (unstated wildcard, foreign service, session policy over STS's limit, role not allowed) answers 422 and is audited as `grant.refused`. " +
    'A gateway without a credential broker answers an `aws_sts` grant with 501 `credentials_not_configured` (do not retry). Nothing is used up by a refusal.',
  security,
  request: { params: RequestIdParam },
  responses: {
    200: json(GrantView, 'The grant'),
    ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422, 501, 503),
  },
});

const outcomeRoute = createRoute({
  method: 'post',
  path: '/v1/action-requests/{id}/outcome',
  operationId: 'reportOutcome',
  summary: 'Report the outcome of an approved action (requester)',
  description: 'Only after the grant was redeemed: before, it answers 409 `grant_not_redeemed`.',
  security,
  request: { params: RequestIdParam, ...jsonBody(OutcomeBody) },
  responses: {
    200: json(ActionRequestView, 'Outcome recorded'),
    ...errorResponses(...COMMON_ERRORS, 403, 404, 409),
  },
});

export function registerGrantRoutes(app: GatewayApp, { service }: AppDependencies): void {
  app.openapi(redeemRoute, async (c) => {
    const { id } = c.req.valid('param');
    // Credentials must not be kept by any cache between the gateway and the agent.
    c.header('cache-control', 'no-store');
    c.header('pragma', 'no-cache');
    const { request, credentials } = await service.redeem(id, c.get('principal'));
    return c.json(toGrantView(request, credentials), 200);
  });

  app.openapi(outcomeRoute, async (c) => {
    const { id } = c.req.valid('param');
    const outcome = c.req.valid('json');
    const request = await service.reportOutcome(id, c.get('principal'), {
      status: outcome.status,
      ...(outcome.detail !== undefined ? { detail: outcome.detail } : {}),
    });
    return c.json(toView(request), 200);
  });
}
