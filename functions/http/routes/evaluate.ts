/** Policy dry run: what would happen to this request, recording nothing. */
import { createRoute } from '@hono/zod-openapi';
import * as lifecycle from '../../core/lifecycle.ts';
import type { ActionRequestInput } from '../../core/model.ts';
import type { AppDependencies, GatewayApp } from '../context.ts';
import { COMMON_ERRORS, errorResponses, json, jsonBody, security } from '../openapi.ts';
import { ActionRequestBody, EvaluationView } from '../schemas.ts';
import { toEvaluationView } from '../views.ts';

const evaluateRoute = createRoute({
  method: 'post',
  path: '/v1/evaluate',
  operationId: 'evaluatePolicy',
  summary: 'Dry run of the policy for you as the requester; records nothing',
  security,
  request: jsonBody(ActionRequestBody),
  responses: { 200: json(EvaluationView, 'The decision'), ...errorResponses(...COMMON_ERRORS) },
});

export function registerEvaluateRoutes(app: GatewayApp, { service }: AppDependencies): void {
  app.openapi(evaluateRoute, async (c) => {
    const input = c.req.valid('json') as ActionRequestInput;
    const subject = lifecycle.subjectOf(c.get('principal'));
    const decision = await service.evaluate({ subject, ...input, now: new Date().toISOString() });
    return c.json(toEvaluationView(decision, lifecycle.actionHash(subject, input)), 200);
  });
}
