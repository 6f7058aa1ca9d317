/**
 * The Teams bot's messaging endpoint: the Bot Framework channel posts activities here, and card
 * clicks (`Action.Execute`) arrive as `invoke` activities named `adaptiveCard/action`.
 *
 * Authentication is the channel's JWT (adapters/chat/teams/verifier.ts), checked before anything in
 * the body is believed; a bad or missing token is 401. The clicking user is a principal only through
 * policy data (`identities.teams`, by Entra object id), and votes go through the same service call
 * as the API's, so every rule holds here too: no self-approval, group membership, the action hash the
 * card showed, one vote per approver (a retried invoke finds the vote recorded and changes nothing),
 * late votes audited as `review.late`. The answer is the card as it now stands, which Teams shows in
 * place of the clicked one; other posted copies are refreshed after the commit by the notifications.
 */
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { BotAuthenticationError, renderTeamsCard } from '../../../adapters/chat/teams/index.ts';
import { approvalCard } from '../../../core/approval-card.ts';
import { boundPrincipal } from '../../../core/eligibility.ts';
import { GatewayError, TerminalStateError } from '../../../core/errors.ts';
import type { ActionRequest } from '../../../core/model.ts';
import type { AppDependencies, GatewayApp, GatewayEnv } from '../../context.ts';
import { issuesOf, respond } from '../../errors.ts';
import { errorResponses, json } from '../../openapi.ts';
import { parseStrictJson } from '../../strict-json.ts';

export const TEAMS_MESSAGES_PATH = '/v1/integrations/teams/messages';

/** The parts of a Bot Framework activity the endpoint reads; everything else is ignored. */
const Activity = z.looseObject({
  type: z.string(),
  name: z.string().optional(),
  channelId: z.string().optional(),
  serviceUrl: z.string().optional(),
  from: z.looseObject({ id: z.string().optional(), aadObjectId: z.string().optional() }).optional(),
  recipient: z.looseObject({ id: z.string().optional() }).optional(),
  conversation: z.looseObject({ id: z.string().optional() }).optional(),
  channelData: z.looseObject({ tenant: z.looseObject({ id: z.string().optional() }).optional() }).optional(),
  membersAdded: z.array(z.looseObject({ id: z.string().optional() })).optional(),
  value: z.unknown().optional(),
});
type Activity = z.infer<typeof Activity>;

const Comment = z.string().max(2000, 'a comment is at most 2000 characters');

/** `value` of an `adaptiveCard/action` invoke: the button's verb, its data and the card's inputs. */
const CardAction = z.object({
  action: z.object({
    type: z.literal('Action.Execute'),
    verb: z.enum(['approve', 'reject', 'escalate']),
    data: z.looseObject({
      requestId: z.string().min(1).max(64),
      actionHash: z.string().min(1).max(128),
      comment: Comment.optional(),
      rejectComment: Comment.optional(),
    }),
  }),
});

const ADAPTIVE_CARD_ACTION = 'adaptiveCard/action';

/** An `adaptiveCard/action` invoke response: Teams shows the card, or the message, to the clicker. */
type InvokeResponse =
  | { statusCode: 200; type: 'application/vnd.microsoft.card.adaptive'; value: Record<string, unknown> }
  | { statusCode: 200; type: 'application/vnd.microsoft.activity.message'; value: string }
  | { statusCode: 400; type: 'application/vnd.microsoft.error'; value: { code: string; message: string } };

const InvokeResponseView = z
  .object({ statusCode: z.number().int(), type: z.string(), value: z.unknown() })
  .openapi('TeamsInvokeResponse');

export function registerTeamsRoutes(app: GatewayApp, deps: AppDependencies): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'botFramework', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'The Bot Framework channel token (RS256, keys from the cloud’s Bot Framework OpenID metadata, audience = the bot’s app id). Called by Teams only.',
  });
  app.openAPIRegistry.registerPath({
    method: 'post',
    path: TEAMS_MESSAGES_PATH,
    operationId: 'teamsMessages',
    summary: 'Teams bot messaging endpoint (called by the Bot Framework channel)',
    description:
      'Receives the bot’s activities. Approve, Reject and Escalate clicks on approval cards arrive as `invoke` activities named `adaptiveCard/action`; the answer is the card as it now stands, or a message saying why the click was refused. Other activities are acknowledged with 200. 404 when the gateway has no Teams bot configured. See docs/chat-teams.md.',
    security: [{ botFramework: [] }],
    request: {
      body: {
        content: { 'application/json': { schema: z.looseObject({ type: z.string() }) } },
        required: true,
      },
    },
    responses: {
      200: json(InvokeResponseView, 'The invoke answer (card or message), or an empty acknowledgement'),
      ...errorResponses(400, 401, 404, 413, 503),
    },
  });
  app.post(TEAMS_MESSAGES_PATH, async (c) => {
    // A call without a token is unauthenticated whether or not a bot is configured here.
    if (!c.req.header('authorization')) {
      c.header('www-authenticate', 'Bearer');
      return respond(c, {
        status: 401,
        body: {
          error: 'unauthenticated',
          message:
            'missing Authorization: the Bot Framework channel sends a Bearer token with every activity',
        },
      });
    }
    const teams = deps.teams;
    if (!teams) {
      return respond(c, {
        status: 404,
        body: {
          error: 'not_found',
          message:
            'this gateway has no Teams bot configured; add a teams block to its configuration (docs/chat-teams.md)',
        },
      });
    }
    // The same strict JSON as every other body: duplicate keys, unsafe numbers and invalid UTF-8
    // are refused, so what is verified and decided is what was sent. Unreadable JSON has no
    // serviceUrl to match the token's claim and is refused as unauthenticated below.
    const strict = parseStrictJson(new Uint8Array(await c.req.arrayBuffer()), { maxDepth: 64 });
    const raw: unknown = strict.ok ? strict.value : undefined;
    if (!strict.ok && strict.problem.code !== 'syntax') {
      // Refused before the token is checked: which value of a repeated serviceUrl would it match?
      return respond(c, {
        status: 400,
        body: {
          error: 'invalid_request',
          message: `the body is not strict JSON at ${strict.problem.path}: ${strict.problem.message}`,
        },
      });
    }
    const fields = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
    try {
      await teams.verifier.verify(c.req.header('authorization'), {
        serviceUrl: fields.serviceUrl,
        channelId: fields.channelId,
      });
    } catch (error) {
      if (error instanceof BotAuthenticationError) {
        deps.logger.warn('Teams call refused', { reason: error.message });
        return respond(c, { status: 401, body: { error: 'unauthenticated', message: error.message } });
      }
      deps.logger.error('cannot verify Teams calls: the Bot Framework keys are unavailable', { error });
      return respond(c, {
        status: 503,
        body: {
          error: 'unavailable',
          message: 'the Bot Framework signing keys cannot be read right now; the channel retries',
        },
      });
    }
    const parsed = Activity.safeParse(raw);
    if (!parsed.success) {
      return respond(c, {
        status: 400,
        body: {
          error: 'invalid_request',
          message: `the body is not a Bot Framework activity: ${issuesOf(parsed.error)
            .map((issue) => `${issue.path}: ${issue.message}`)
            .join('; ')}`,
        },
      });
    }
    const activity = parsed.data;
    if (activity.type !== 'invoke') {
      noteInstallation(deps, activity);
      return c.body(null, 200);
    }
    if (activity.name !== ADAPTIVE_CARD_ACTION) return c.body(null, 200);
    return invoke(c, deps, teams.tenantId, activity);
  });
}

async function invoke(
  c: Context<GatewayEnv>,
  deps: AppDependencies,
  tenantId: string | undefined,
  activity: Activity,
): Promise<Response> {
  const { service, logger } = deps;
  const answer = (response: InvokeResponse) => c.json(response, 200);
  const say = (message: string) =>
    answer({ statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: message });
  const card = (request: ActionRequest) =>
    answer({
      statusCode: 200,
      type: 'application/vnd.microsoft.card.adaptive',
      value: renderTeamsCard(
        approvalCard(request, deps.reviewBaseUrl ? { reviewBaseUrl: deps.reviewBaseUrl } : {}),
      ),
    });

  const clicked = CardAction.safeParse(activity.value);
  if (!clicked.success) {
    const issue = clicked.error.issues[0];
    return answer({
      statusCode: 400,
      type: 'application/vnd.microsoft.error',
      value: {
        code: 'BadRequest',
        message: `not an approval card action: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'unreadable'}`,
      },
    });
  }
  const tenant = activity.channelData?.tenant?.id;
  if (tenantId && tenant !== tenantId) {
    logger.warn('Teams click from another tenant refused', { tenant });
    return say('This approval bot serves another Microsoft 365 organization; your click was not counted.');
  }
  const aad = activity.from?.aadObjectId;
  const principal = aad ? boundPrincipal(service.directory, 'teams', aad) : undefined;
  if (!principal) {
    logger.warn('Teams click from an unbound user refused', { aadObjectId: aad ?? null });
    return say(
      `Your Teams account is not linked to an approver, so your click was not counted. Ask the policy administrators to add your Entra object id (${aad ?? 'unknown'}) to identities.teams in the policy data.`,
    );
  }
  const { verb, data } = clicked.data.action;
  try {
    if (verb === 'escalate') {
      const { request } = await service.escalateNow(data.requestId, principal, 'teams');
      return card(request);
    }
    const comment = verb === 'reject' ? (data.rejectComment ?? data.comment) : data.comment;
    const { request } = await service.review(data.requestId, principal, {
      decision: verb,
      ...(comment?.trim() ? { comment } : {}),
      actionHash: data.actionHash,
      channel: 'teams',
    });
    return card(request);
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    logger.info('Teams click refused', { requestId: data.requestId, principal, verb, error: error.code });
    if (error instanceof TerminalStateError) {
      // Decided or expired meanwhile (a late vote is audited as review.late): show how it ended.
      const request = await service.get(data.requestId, principal).catch(() => undefined);
      if (request) return card(request);
    }
    return say(`Not counted: ${error.message}`);
  }
}

/** The bot was added somewhere: log the conversation id an operator routes groups to. */
function noteInstallation(deps: AppDependencies, activity: Activity): void {
  const bot = activity.recipient?.id;
  if (activity.type !== 'conversationUpdate' || !bot) return;
  if (!activity.membersAdded?.some((member) => member.id === bot)) return;
  deps.logger.info(
    'Teams bot added to a conversation; route approval groups to it with notifications.teams',
    {
      conversation: activity.conversation?.id,
      tenant: activity.channelData?.tenant?.id,
    },
  );
}
