/** About the gateway itself: health and the OpenAPI document, both without authentication. */
import type { AppDependencies, GatewayApp } from '../context.ts';
import { registerSecuritySchemes } from '../openapi.ts';

export function registerMetaRoutes(app: GatewayApp, deps: AppDependencies): void {
  app.get('/healthz', (c) => c.json({ status: 'ok', version: deps.version ?? 'dev' }));

  registerSecuritySchemes(app);
  // Generated from the routes registered on the app and their zod schemas, when asked for.
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
}
