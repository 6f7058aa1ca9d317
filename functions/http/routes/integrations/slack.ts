/**
 * Slack's interactivity callback: button clicks on approval cards and the rejection form. Slack
 * authenticates itself by signing the raw body (verified here, before anything is parsed); the
 * bearer-token / IAM authentication of the other routes does not apply (middleware.ts
 * exceptIntegrations; on AWS this method alone has no IAM authorisation).
 *
 * Every refusal of the request itself (unsigned, forged, stale, replayed) is a 4xx with the reason;
 * an authentic click always gets 200 within Slack's 3 s, and what the clicker may not do is
 * told to them alone in Slack (ephemeral) — see adapters/chat/slack/interactions.ts.
 */
import { z } from '@hono/zod-openapi';
import {
  type InteractionAnswer,
  InvalidInteractionError,
} from '../../../adapters/chat/slack/interactions.ts';
import {
  SLACK_SIGNATURE_WINDOW_SECONDS,
  verifySlackSignature,
} from '../../../adapters/chat/slack/verifier.ts';
import type { AppDependencies, GatewayApp } from '../../context.ts';
import { type Problem, respond } from '../../errors.ts';
import { errorResponses } from '../../openapi.ts';
import { ErrorView } from '../../schemas.ts';

export const SLACK_INTERACTIONS_PATH = '/v1/integrations/slack/interactions';

/**
 * Slack posts the whole message with every click (`message.blocks`): a card at Slack's block
 * limits, URL-encoded JSON, can pass the API's 64 KiB; 1 MiB holds any card this gateway renders.
 */
export const SLACK_BODY_LIMIT = 1024 * 1024;

const problem = (status: 400 | 401 | 404 | 415 | 503, error: string, message: string): Problem => ({
  status,
  body: { error, message },
});

export function registerSlackRoutes(app: GatewayApp, deps: AppDependencies): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'slackSignature', {
    type: 'apiKey',
    in: 'header',
    name: 'X-Slack-Signature',
    description:
      "Slack's request signature: `v0=` + hex HMAC-SHA256 of `v0:<X-Slack-Request-Timestamp>:<raw body>` with the Slack app's signing secret. Timestamps more than 5 minutes off and replayed signatures are refused.",
  });
  app.openAPIRegistry.registerPath({
    method: 'post',
    path: SLACK_INTERACTIONS_PATH,
    operationId: 'slackInteraction',
    summary: 'Slack interactivity callback (Slack only)',
    description:
      "Set this URL as the Slack app's Interactivity Request URL (docs/chat.md). Slack signs each call; the caller's Slack user is mapped to a principal through policy data (`identities.slack`). Refusals of the clicker (not bound, not eligible, request decided) are answered in Slack, ephemerally, with 200.",
    security: [{ slackSignature: [] }],
    request: {
      headers: z.object({
        'x-slack-request-timestamp': z.string().openapi({ description: 'Seconds since the epoch' }),
        'x-slack-retry-num': z.string().optional().openapi({ description: 'Set by Slack on a retry' }),
      }),
      body: {
        required: true,
        content: {
          'application/x-www-form-urlencoded': {
            schema: z.object({
              payload: z.string().openapi({ description: 'The interaction payload, JSON (Slack API docs)' }),
            }),
          },
        },
      },
    },
    responses: {
      200: {
        description:
          'Handled: empty, or (for the rejection form) `{"response_action":"errors",…}` naming what to fix',
        content: { 'application/json': { schema: z.object({}).loose() } },
      },
      400: { description: 'No `payload` field, or it is not a Slack interaction', content: json() },
      401: { description: 'Signature missing, wrong, stale or replayed', content: json() },
      ...errorResponses(413, 415),
      404: {
        description: 'Slack is not configured on this gateway: there is no such callback here',
        content: json(),
      },
      503: { description: 'The replay guard could not be consulted; nothing was done; Slack may retry' },
    },
  });

  app.post(SLACK_INTERACTIONS_PATH, async (c) => {
    // A call without Slack's signature is unauthenticated whether or not Slack is configured here.
    const unsigned = ['x-slack-signature', 'x-slack-request-timestamp'].filter((h) => !c.req.header(h));
    if (unsigned.length > 0) {
      return respond(
        c,
        problem(
          401,
          'invalid_signature',
          `missing ${unsigned.join(' and ')}: Slack signs every interaction with X-Slack-Signature over X-Slack-Request-Timestamp and the body`,
        ),
      );
    }
    const slack = deps.slack;
    if (!slack) {
      return respond(
        c,
        // 404, not 501: without Slack this callback does not exist here, and nothing is wrong.
        problem(
          404,
          'slack_not_configured',
          'Slack is not configured on this gateway: add the slack block to the local config, or deploy with the Slack secret (docs/chat.md)',
        ),
      );
    }
    const type = c.req.header('content-type') ?? '';
    if (!/^application\/x-www-form-urlencoded\s*(;.*)?$/i.test(type)) {
      return respond(
        c,
        problem(
          415,
          'unsupported_media_type',
          `Slack sends interactions as application/x-www-form-urlencoded (got ${type ? JSON.stringify(type.slice(0, 100)) : 'no content-type'})`,
        ),
      );
    }
    const body = await c.req.text();
    const now = slack.now?.() ?? new Date();
    const verdict = verifySlackSignature({
      signingSecret: slack.signingSecret,
      body,
      timestamp: c.req.header('x-slack-request-timestamp'),
      signature: c.req.header('x-slack-signature'),
      now,
    });
    if (!verdict.ok) return respond(c, problem(401, 'invalid_signature', verdict.reason));
    // The signature is unique per timestamp and body: seen before within the window is a replay.
    const signature = c.req.header('x-slack-signature') as string;
    const until = new Date((verdict.timestamp + SLACK_SIGNATURE_WINDOW_SECONDS + 60) * 1000);
    let first: boolean;
    try {
      first = await slack.replay.firstSeen(`slack:${signature}`, until);
    } catch (error) {
      deps.logger.error('replay guard unavailable; refusing the Slack callback', { error });
      return respond(
        c,
        problem(503, 'replay_guard_unavailable', 'the gateway cannot check for replays right now; retry'),
      );
    }
    if (!first) {
      return respond(
        c,
        problem(401, 'replayed_request', 'this signed request was received before; a replay is refused'),
      );
    }
    const payload = new URLSearchParams(body).get('payload');
    if (payload === null) {
      return respond(c, problem(400, 'invalid_request', 'the form has no payload field; Slack sends one'));
    }
    let raw: unknown;
    try {
      raw = JSON.parse(payload);
    } catch {
      return respond(c, problem(400, 'invalid_json', 'the payload field is not JSON'));
    }
    const retryHeader = c.req.header('x-slack-retry-num');
    const retry = retryHeader && /^\d{1,3}$/.test(retryHeader) ? Number(retryHeader) : undefined;
    let answer: InteractionAnswer;
    try {
      answer = await slack.interactions.handle(raw, retry === undefined ? {} : { retry });
    } catch (error) {
      if (error instanceof InvalidInteractionError) {
        return respond(c, problem(400, 'invalid_request', error.message));
      }
      throw error;
    }
    return answer ? c.json(answer, 200) : c.body(null, 200);
  });
}

function json() {
  return { 'application/json': { schema: ErrorView } };
}
