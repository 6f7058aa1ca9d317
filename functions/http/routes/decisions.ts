/** Approvers' votes. */
import { createRoute } from '@hono/zod-openapi';
import type { AppDependencies, GatewayApp } from '../context.ts';
import { COMMON_ERRORS, errorResponses, json, jsonBody, security } from '../openapi.ts';
import { ActionRequestView, DecisionBody, RequestIdParam } from '../schemas.ts';
import { toView } from '../views.ts';

const decideRoute = createRoute({
  method: 'post',
  path: '/v1/action-requests/{id}/decisions',
  operationId: 'decideActionRequest',
  summary: 'Approve or reject (approvers)',
  description:
    'The `action_hash` must be the one you reviewed. A rejection needs a comment. A repeated vote changes nothing.',
  security,
  request: { params: RequestIdParam, ...jsonBody(DecisionBody) },
  responses: {
    200: json(ActionRequestView, 'Vote recorded'),
    ...errorResponses(...COMMON_ERRORS, 403, 404, 409),
  },
});

export function registerDecisionRoutes(app: GatewayApp, { service }: AppDependencies): void {
  app.openapi(decideRoute, async (c) => {
    const { id } = c.req.valid('param');
    const vote = c.req.valid('json');
    const { request } = await service.review(id, c.var.principal, {
      decision: vote.decision,
      ...(vote.comment !== undefined ? { comment: vote.comment } : {}),
      actionHash: vote.action_hash,
      channel: 'api',
    });
    return c.json(toView(request), 200);
  });
}
