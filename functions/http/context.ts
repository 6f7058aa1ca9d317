/** What every part of the HTTP application shares: its dependencies and the per-call variables. */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { SlackInteractions } from '../adapters/chat/slack/interactions.ts';
import type { TeamsInbound } from '../adapters/chat/teams/index.ts';
import type { ReplayGuard } from '../core/ports/replay.port.ts';
import type { ApprovalService } from '../core/service.ts';
import type { Logger } from '../observability/logger.ts';
import type { Authenticator } from './auth.ts';
import type { ReviewPageSettings } from './review/settings.ts';
import type { ChangeHub } from './waiter.ts';

export interface AppDependencies {
  readonly service: ApprovalService;
  readonly authenticate: Authenticator;
  readonly logger: Logger;
  /** Local mode wakes long-polls on commits; without it they poll the store with backoff. */
  readonly hub?: ChangeHub;
  /**
   * The longest a long-poll (`?wait`, `Prefer: wait`) is held, in seconds, below MAX_WAIT_SECONDS.
   * On Lambda every held poll is a busy function, so the stack sets a shorter one (docs/aws.md).
   * @default MAX_WAIT_SECONDS
   */
  readonly maxWaitSeconds?: number;
  readonly version?: string;
  /** The Teams bot's messaging endpoint; absent: the route answers 404 (Teams not configured). */
  readonly teams?: TeamsInbound;
  /** Slack's interactivity callback; absent: that route answers 404 slack_not_configured. */
  readonly slack?: SlackEndpoint;
  /** Cards this app renders (the Teams refresh) link to the review page here. @default no link */
  readonly reviewBaseUrl?: string;
  /** The review page (/review); absent: its routes answer 404 (not configured). */
  readonly review?: ReviewPageSettings;
}

/** What the Slack route needs (local `slack` block; on AWS, the Slack secret). */
export interface SlackEndpoint {
  readonly signingSecret: string;
  /** Refuses a signature seen before within the window, across every instance serving the route. */
  readonly replay: ReplayGuard;
  readonly interactions: SlackInteractions;
  readonly now?: () => Date;
}

/**
 * Set by the middleware for every call under /v1 (principal) and every call at all (requestId).
 * Read them with `c.get(name)`: hono's `c.var` builds a new object of all of them on every read.
 */
export type GatewayEnv = {
  Variables: {
    principal: string;
    requestId: string;
    /** The error code of a refusal (4xx), for the access log. */
    refusal?: string;
  };
};

export type GatewayApp = OpenAPIHono<GatewayEnv>;

/**
 * A route module registers its routes (with their OpenAPI description) on the app. A new route is
 * one such module plus one line in app.ts.
 */
export type RouteModule = (app: GatewayApp, deps: AppDependencies) => void;
