/** A request's audit trail, verified by the gateway (requester and auditors). */
import { createRoute } from '@hono/zod-openapi';
import type { AppDependencies, GatewayApp } from '../context.ts';
import { errorResponses, json, security } from '../openapi.ts';
import { AuditView, RequestIdParam } from '../schemas.ts';
import { toAuditView } from '../views.ts';

const auditRoute = createRoute({
  method: 'get',
  path: '/v1/action-requests/{id}/audit',
  operationId: 'getAuditTrail',
  summary: "The request's hash-chained audit events and their verification (requester, auditors)",
  security,
  request: { params: RequestIdParam },
  responses: { 200: json(AuditView, 'Audit trail'), ...errorResponses(400, 401, 404, 503) },
});

export function registerAuditRoutes(app: GatewayApp, { service }: AppDependencies): void {
  app.openapi(auditRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { request, events, verification } = await service.audit(id, c.get('principal'));
    const head = { seq: request.auditSeq, hash: request.auditHead };
    return c.json(toAuditView(id, events, verification, head), 200);
  });
}
