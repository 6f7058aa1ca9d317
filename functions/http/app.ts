/**
 * The one HTTP application. API Gateway (through Lambda) and the local gateway both serve it, so
 * routes, validation and error shapes cannot drift. The OpenAPI document comes from the same schemas.
 *
 * This file only assembles: middleware (middleware.ts), routes (routes/), error mapping (errors.ts).
 * A new route is one module in routes/ and one line in ROUTES.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppDependencies, GatewayEnv, RouteModule } from './context.ts';
import { issuesOf, problems, respond, toHttpError } from './errors.ts';
import {
  authentication,
  bodySizeLimit,
  earlySubmissionRefusal,
  exceptIntegrations,
  jsonHygiene,
  jsonOnly,
  rateLimit,
  requestContext,
} from './middleware.ts';
import { registerReviewRoutes } from './review/routes.ts';
import { registerAuditRoutes } from './routes/audit.ts';
import { registerDecisionRoutes } from './routes/decisions.ts';
import { registerEvaluateRoutes } from './routes/evaluate.ts';
import { registerGrantRoutes } from './routes/grants.ts';
import {
  registerSlackRoutes,
  SLACK_BODY_LIMIT,
  SLACK_INTERACTIONS_PATH,
} from './routes/integrations/slack.ts';
import { registerTeamsRoutes } from './routes/integrations/teams.ts';
import { registerMetaRoutes } from './routes/meta.ts';
import { registerRequestRoutes } from './routes/requests.ts';
import { registerWhoamiRoutes } from './routes/whoami.ts';

export type { AppDependencies } from './context.ts';

const ROUTES: readonly RouteModule[] = [
  registerRequestRoutes,
  registerDecisionRoutes,
  registerGrantRoutes,
  registerAuditRoutes,
  registerEvaluateRoutes,
  registerWhoamiRoutes,
  registerTeamsRoutes,
  registerMetaRoutes,
  registerSlackRoutes,
  registerReviewRoutes,
];

export function createApp(deps: AppDependencies): OpenAPIHono<GatewayEnv> {
  const { logger } = deps;
  const app = new OpenAPIHono<GatewayEnv>({
    // A route's zod validation failed: name every field to fix.
    defaultHook: (result, c) => {
      if (!result.success) return respond(c, problems.invalidRequest(issuesOf(result.error)));
    },
  });

  app.onError((error, c) => {
    const problem = toHttpError(error);
    const { status, body, expected } = problem;
    const httpRequestId = c.get('requestId');
    const principal = c.get('principal');
    if (status >= 500 && body.error !== 'contention') {
      // Outages and missing configuration (503) and bugs (500) need an operator: error. An
      // expected one has no stack worth logging.
      logger.error('request failed', {
        httpRequestId,
        principal,
        status,
        error: expected ? body.error : error,
        detail: body.message,
      });
    } else if (status >= 500) {
      // Too many writers raced on one request: retryable by design, worth seeing, not alarming.
      logger.warn('request failed', { httpRequestId, principal, status, error: body.error });
    } else if (error instanceof Error && error.cause !== undefined) {
      // A refusal an upstream caused (STS refusing a role): its text is for the operator only.
      logger.warn('request refused upstream', {
        httpRequestId,
        principal,
        status,
        error: body.error,
        cause: error.cause,
      });
    }
    // Refusals (4xx) are logged once, by the access log (middleware.ts requestContext).
    return respond(c, problem);
  });
  // A path that exists answers 405 with `Allow` for a method it does not have; only an unknown
  // path is 404. (Routes are read when the call comes, so routes added later count too.)
  app.notFound((c) => {
    const path = new URL(c.req.url).pathname;
    const allowed = allowedMethods(app, path);
    return respond(
      c,
      allowed.length > 0
        ? problems.methodNotAllowed(c.req.method, path, allowed)
        : problems.noRoute(c.req.method, path),
    );
  });

  app.use('*', requestContext(logger));
  app.use('/v1/*', bodySizeLimit({ [SLACK_INTERACTIONS_PATH]: SLACK_BODY_LIMIT }));
  app.use('/v1/*', exceptIntegrations(jsonOnly()));
  app.use('/v1/*', exceptIntegrations(authentication(deps.authenticate)));
  app.use('/v1/*', exceptIntegrations(rateLimit((principal) => deps.service.admitCall(principal))));
  app.use(
    '/v1/*',
    earlySubmissionRefusal((principal) => deps.service.refuseKnownOverSubmissions(principal)),
  );
  app.use('/v1/*', exceptIntegrations(jsonHygiene()));

  for (const register of ROUTES) register(app, deps);
  return app;
}

const routePatterns = new WeakMap<object, { pattern: RegExp; method: string }[]>();

/** The methods the app serves at `path` (GET implies HEAD), from its own route table. */
function allowedMethods(app: OpenAPIHono<GatewayEnv>, path: string): string[] {
  let patterns = routePatterns.get(app.routes);
  if (!patterns) {
    patterns = app.routes
      .filter((route) => route.method !== 'ALL' && !route.path.includes('*'))
      .map((route) => ({
        method: route.method,
        pattern: new RegExp(
          `^${route.path
            .split('/')
            .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
            .join('/')}$`,
        ),
      }));
    routePatterns.set(app.routes, patterns);
  }
  const methods = new Set(patterns.filter(({ pattern }) => pattern.test(path)).map(({ method }) => method));
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}
