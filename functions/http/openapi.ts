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

/**
 * The error responses a route can give, each described once (errors.ts). Every authenticated
 * route (one that can answer 401) can also answer 429: the limits count every call.
 */
export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(
    (statuses.includes(401) ? [...statuses, 429] : statuses).map((s) => [
      s,
      json(ErrorView, ERROR_DESCRIPTIONS[s] ?? 'Error'),
    ]),
  );

/** What any route with a JSON body can answer besides its own errors. */
export const COMMON_ERRORS = [400, 401, 413, 415, 503] as const;

/** A required JSON request body. */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
});

/**
 * What a client can do next with the id it got back (OpenAPI links). A vote carries the action
 * hash it approves, taken from the same answer.
 */
export const REQUEST_LINKS = Object.fromEntries(
  [
    'getActionRequest',
    'decideActionRequest',
    'cancelActionRequest',
    'redeemGrant',
    'reportOutcome',
    'getAuditTrail',
  ].map((operationId) => [
    operationId,
    {
      operationId,
      parameters: { id: '$response.body#/id' },
      ...(operationId === 'decideActionRequest'
        ? { requestBody: { decision: 'approve', action_hash: '$response.body#/action_hash' } }
        : {}),
    },
  ]),
);

/**
 * The links of a submission's answer: REQUEST_LINKS without cancel, which a vote's answer links to
 * instead (a requester may still cancel any pending request: the operation is in the document).
 * Links say what a client may do next, not all it may do; with cancel linked from the submission,
 * a link-following client (the schemathesis stateful phase) cancelled each new request before any
 * approver could vote on it, so no vote was ever recorded.
 */
export const SUBMISSION_LINKS = Object.fromEntries(
  Object.entries(REQUEST_LINKS).filter(([name]) => name !== 'cancelActionRequest'),
);

export const security: Record<string, string[]>[] = [{ bearer: [] }, { sigv4: [] }];

/** Any JSON value the strict parser accepts (strict-json.ts), for the free-form objects. */
const JSON_VALUE = {
  anyOf: [
    { type: 'string' },
    { type: 'boolean' },
    { type: 'null' },
    { type: 'number', minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
    { type: 'array', items: { $ref: '#/components/schemas/JsonValue' } },
    {
      type: 'object',
      additionalProperties: { $ref: '#/components/schemas/JsonValue' },
      propertyNames: { not: { const: '__proto__' } },
    },
  ],
};

export function registerSecuritySchemes(app: GatewayApp): void {
  app.openAPIRegistry.registerComponent('schemas', 'JsonValue', JSON_VALUE as never);
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  app.openAPIRegistry.registerComponent('securitySchemes', 'sigv4', {
    type: 'apiKey',
    name: 'Authorization',
    in: 'header',
    description: 'AWS Signature Version 4 (API Gateway IAM authorization)',
  });
}
