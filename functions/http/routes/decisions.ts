/** Approvers' votes. */
import { createRoute } from '@hono/zod-openapi';
import type { AppDependencies, GatewayApp } from '../context.ts';
import { COMMON_ERRORS, errorResponses, json, jsonBody, REQUEST_LINKS, security } from '../openapi.ts';
import { DecisionBody, DecisionView, RequestIdParam } from '../schemas.ts';
import { toDecisionView } from '../views.ts';

const decideRoute = createRoute({
  method: 'post',
  path: '/v1/action-requests/{id}/decisions',
  operationId: 'decideActionRequest',
  summary: 'Approve or reject (approvers)',
  description:
    'The `action_hash` must be the one you reviewed. A rejection needs a comment. Repeating your vote changes nothing and answers 200 with `vote.recorded` false; voting the other way (or on other terms) after you voted answers 409 `vote_already_cast`. ' +
    'An approval may be narrower than asked (`narrow_to`: fewer actions, fewer resources, a shorter window): the policy re-evaluates the narrowed terms (a deny is 403 `narrowing_denied`), a term that was not asked for is a 400 naming it, the vote counts only toward those terms (and votes on the request as asked count toward them too), and the grant then carries only them. ' +
    'A request whose policy asks for step-up (`approval.step_up`) is voted on only on the review page after a fresh sign-in (docs/review-page.md): here it answers 403 `step_up_required`.',
  security,
  request: { params: RequestIdParam, ...jsonBody(DecisionBody) },
  responses: {
    200: {
      ...json(
        DecisionView,
        'Your vote: recorded now, or (`vote.recorded` false) the same vote recorded earlier',
      ),
      links: REQUEST_LINKS,
    },
    ...errorResponses(...COMMON_ERRORS, 403, 404, 409),
  },
});

export function registerDecisionRoutes(app: GatewayApp, { service }: AppDependencies): void {
  app.openapi(decideRoute, async (c) => {
    const { id } = c.req.valid('param');
    const vote = c.req.valid('json');
    const { request, duplicate } = await service.review(id, c.get('principal'), {
      decision: vote.decision,
      ...(vote.comment !== undefined ? { comment: vote.comment } : {}),
      actionHash: vote.action_hash,
      channel: 'api',
      ...(vote.narrow_to !== undefined ? { narrowTo: vote.narrow_to } : {}),
    });
    return c.json(toDecisionView(request, c.get('principal'), !duplicate), 200);
  });
}
