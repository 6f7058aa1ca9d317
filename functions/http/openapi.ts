/** Building blocks of the routes' OpenAPI descriptions, and the document itself. */
import type { z } from '@hono/zod-openapi';
import type { GatewayApp } from './context.ts';
import { ERROR_DESCRIPTIONS } from './errors.ts';
import { ErrorView } from './schemas.ts';

/** A JSON response (or body) of this schema. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

/** The error responses a route can give, each described once (errors.ts). */
export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, json(ErrorView, ERROR_DESCRIPTIONS[s] ?? 'Error')]));

/** What any route with a JSON body can answer besides its own errors. */
export const COMMON_ERRORS = [400, 401, 413, 415, 503] as const;

/** A required JSON request body. */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
});

/** What a client can do next with the id it got back (OpenAPI links). */
export const REQUEST_LINKS = Object.fromEntries(
  [
    'getActionRequest',
    'decideActionRequest',
    'cancelActionRequest',
    'redeemGrant',
    'reportOutcome',
    'getAuditTrail',
  ].map((operationId) => [operationId, { operationId, parameters: { id: '$response.body#/id' } }]),
);

export const security: Record<string, string[]>[] = [{ bearer: [] }, { sigv4: [] }];

export function registerSecuritySchemes(app: GatewayApp): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  app.openAPIRegistry.registerComponent('securitySchemes', 'sigv4', {
    type: 'apiKey',
    name: 'Authorization',
    in: 'header',
    description: 'AWS Signature Version 4 (API Gateway IAM authorization)',
  });
}
