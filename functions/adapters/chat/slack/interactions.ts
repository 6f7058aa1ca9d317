/**
 * What a click on a card does, once the caller has authenticated Slack (a verified signature over
 * HTTP, or the Socket Mode connection): the Slack user becomes a principal only through policy
 * data (`identities.slack`), and the core service decides everything else — eligibility on every
 * click, the action hash the card showed, idempotent votes, a 409 for a changed mind, late votes
 * audited. Refusals are answered to the clicker alone (ephemeral); nothing here throws.
 *
 * Approve votes; Reject opens a modal (views.open) whose submission carries the mandatory comment;
 * Escalate hands the request to the escalation groups now. The card itself is updated by whoever
 * refreshes cards after a commit (the local gateway's commit hook, the api function's wrapper).
 */
import type { WebClient } from '@slack/web-api';
import { z } from 'zod';
import { approvalCard } from '../../../core/approval-card.ts';
import { boundPrincipal, ineligibility } from '../../../core/eligibility.ts';
import { GatewayError, NotFoundError, TerminalStateError } from '../../../core/errors.ts';
import type { ApprovalService } from '../../../core/service.ts';
import type { Logger } from '../../../observability/logger.ts';
import {
  ACTION_IDS,
  escapeSlack,
  parseButtonValue,
  REJECT_MODAL,
  type RejectContext,
  rejectModal,
  SLACK_LIMITS,
} from './render.ts';

const User = z.object({ id: z.string().min(1).max(64) }).loose();

const BlockActions = z
  .object({
    type: z.literal('block_actions'),
    user: User,
    trigger_id: z.string().max(256).optional(),
    channel: z
      .object({ id: z.string().min(1).max(64) })
      .loose()
      .optional(),
    container: z
      .object({ channel_id: z.string().max(64).optional() })
      .loose()
      .optional(),
    actions: z
      .array(z.object({ action_id: z.string().max(255), value: z.string().max(2000).optional() }).loose())
      .min(1),
  })
  .loose();

const ViewSubmission = z
  .object({
    type: z.literal('view_submission'),
    user: User,
    view: z
      .object({
        callback_id: z.string().max(255),
        private_metadata: z.string().max(3000).optional(),
        state: z
          .object({
            values: z.record(
              z.string(),
              z.record(z.string(), z.object({ value: z.string().nullish() }).loose()),
            ),
          })
          .loose(),
      })
      .loose(),
  })
  .loose();

const Payload = z.union([BlockActions, ViewSubmission, z.object({ type: z.string() }).loose()]);

/** What to send back to Slack in the HTTP answer (or the Socket Mode ack); undefined: an empty 200. */
export type InteractionAnswer = Record<string, unknown> | undefined;

export class InvalidInteractionError extends Error {
  override name = 'InvalidInteractionError';
}

export interface SlackInteractionDependencies {
  readonly service: ApprovalService;
  readonly client: WebClient;
  readonly logger: Logger;
  /**
   * The workspace (T…) or Enterprise Grid organisation (E…) whose clicks count. A signing secret
   * belongs to an app, and one app can be installed in several workspaces: without this, a click
   * from any of them whose user id policy data happens to bind would be counted.
   * @default - clicks from any workspace the app is installed in
   */
  readonly teamId?: string;
}

const Origin = z
  .object({
    team: z.object({ id: z.string() }).loose().nullish(),
    user: z.object({ team_id: z.string().optional() }).loose().optional(),
    enterprise: z.object({ id: z.string() }).loose().nullish(),
  })
  .loose();

/** Every workspace or organisation id a payload says it comes from (Slack sends team and, on Grid, enterprise). */
function originIds(raw: unknown): string[] {
  const parsed = Origin.safeParse(raw);
  if (!parsed.success) return [];
  const { team, user, enterprise } = parsed.data;
  return [team?.id, user?.team_id, enterprise?.id].filter((id): id is string => typeof id === 'string');
}

export class SlackInteractions {
  readonly #deps: SlackInteractionDependencies;

  constructor(deps: SlackInteractionDependencies) {
    this.#deps = deps;
  }

  /**
   * Handles one authenticated interaction payload (the JSON of the `payload` form field).
   * `retry` is Slack's X-Slack-Retry-Num: a retry is handled like the first delivery, which is
   * harmless because votes and escalations are idempotent per approver.
   * Throws InvalidInteractionError only for a payload that is not an interaction at all.
   */
  async handle(raw: unknown, meta: { readonly retry?: number } = {}): Promise<InteractionAnswer> {
    const parsed = Payload.safeParse(raw);
    if (!parsed.success) {
      throw new InvalidInteractionError(
        `the payload is not a Slack interaction: ${parsed.error.issues[0]?.path.join('.') || '(root)'}: ${parsed.error.issues[0]?.message}`,
      );
    }
    const payload = parsed.data;
    const teamId = this.#deps.teamId;
    if (teamId !== undefined && !originIds(raw).includes(teamId)) {
      // Another workspace of the same app: nothing is read or recorded, and nobody there is told
      // anything about this gateway's requests.
      this.#deps.logger.warn('slack interaction from a workspace other than the configured one; ignored', {
        expected: teamId,
        got: originIds(raw),
        type: payload.type,
      });
      return undefined;
    }
    if (meta.retry !== undefined) {
      this.#deps.logger.info('slack retried an interaction; handling it again (votes are idempotent)', {
        retry: meta.retry,
        type: payload.type,
      });
    }
    if (payload.type === 'block_actions') return this.#blockActions(payload as z.infer<typeof BlockActions>);
    if (payload.type === 'view_submission') {
      return this.#viewSubmission(payload as z.infer<typeof ViewSubmission>);
    }
    // Other interactions (a modal closed, a shortcut) need nothing from the gateway.
    return undefined;
  }

  async #blockActions(payload: z.infer<typeof BlockActions>): Promise<InteractionAnswer> {
    const channel = payload.channel?.id ?? payload.container?.channel_id;
    const tell = (text: string) => this.#ephemeral(channel, payload.user.id, text);
    const action = payload.actions[0];
    const kind = (Object.keys(ACTION_IDS) as (keyof typeof ACTION_IDS)[]).find(
      (key) => ACTION_IDS[key] === action?.action_id,
    );
    if (!action || !kind) return undefined;
    const target = parseButtonValue(action.value ?? '');
    if (!target) {
      await tell('This button does not name a request of the gateway; nothing was recorded.');
      return undefined;
    }
    const principal = this.#principal(payload.user.id);
    if (!principal) {
      await tell(this.#unbound(payload.user.id));
      return undefined;
    }
    const { service } = this.#deps;
    try {
      if (kind === 'approve') {
        const { duplicate } = await service.review(target.requestId, principal, {
          decision: 'approve',
          actionHash: target.actionHash,
          channel: 'slack',
        });
        if (duplicate)
          await tell(`You (${principal}) approved ${target.requestId} already; nothing changed.`);
      } else if (kind === 'escalate') {
        const { escalated } = await service.escalateNow(target.requestId, principal, 'slack');
        if (!escalated) await tell(`${target.requestId} is escalated already; nothing changed.`);
      } else {
        await this.#openRejectModal(target, principal, payload.trigger_id);
      }
    } catch (error) {
      await tell(this.#refusal(error, principal, target.requestId));
    }
    return undefined;
  }

  /** Checks the clicker may reject before asking for a comment, so nobody types one in vain. */
  async #openRejectModal(
    target: { requestId: string; actionHash: string },
    principal: string,
    triggerId: string | undefined,
  ): Promise<void> {
    const { service, client } = this.#deps;
    const request = await service.get(target.requestId, principal);
    const refusal = ineligibility(request, principal, service.directory);
    if (refusal) throw refusal;
    if (request.status !== 'pending') {
      throw new TerminalStateError(
        `request ${request.id} is ${request.status}; it can no longer be rejected`,
      );
    }
    if (!triggerId) throw new Error('the click carried no trigger_id to open the rejection form with');
    const card = approvalCard(request);
    // The modal carries the hash the clicker saw on the card, not the one stored now.
    const view = rejectModal({ ...card, actionHash: target.actionHash });
    await client.views.open({ trigger_id: triggerId, view });
  }

  async #viewSubmission(payload: z.infer<typeof ViewSubmission>): Promise<InteractionAnswer> {
    const { view } = payload;
    if (view.callback_id !== REJECT_MODAL.callbackId) return undefined;
    const fail = (message: string): InteractionAnswer => ({
      response_action: 'errors',
      errors: { [REJECT_MODAL.blockId]: message.slice(0, SLACK_LIMITS.inputLabel) },
    });
    let context: RejectContext;
    try {
      context = JSON.parse(view.private_metadata ?? '') as RejectContext;
    } catch {
      return fail('This form does not name a request of the gateway; nothing was recorded.');
    }
    const target = parseButtonValue(`${context?.requestId} ${context?.actionHash}`);
    if (!target) return fail('This form does not name a request of the gateway; nothing was recorded.');
    const principal = this.#principal(payload.user.id);
    if (!principal) return fail(this.#unbound(payload.user.id));
    const comment = view.state.values[REJECT_MODAL.blockId]?.[REJECT_MODAL.actionId]?.value ?? '';
    try {
      await this.#deps.service.review(target.requestId, principal, {
        decision: 'reject',
        comment,
        actionHash: target.actionHash,
        channel: 'slack',
      });
    } catch (error) {
      return fail(this.#refusal(error, principal, target.requestId));
    }
    return undefined;
  }

  #principal(slackUser: string): string | undefined {
    return boundPrincipal(this.#deps.service.directory, 'slack', slackUser);
  }

  #unbound(slackUser: string): string {
    return `Your Slack user ${slackUser} is not bound to a gateway principal, so the gateway cannot count your click. Policy data must map it under identities.slack (ask the policy owners); nothing was recorded.`;
  }

  /** What the clicker is told when the core refused; an outage is logged and worded as retryable. */
  #refusal(error: unknown, principal: string, requestId: string): string {
    if (error instanceof NotFoundError) {
      return `${requestId} is not a request ${principal} may review (not in its approving groups); nothing was recorded.`;
    }
    if (error instanceof GatewayError && !error.retryable) {
      return `Not recorded: ${error.message}`;
    }
    this.#deps.logger.error('slack interaction failed', { requestId, principal, error });
    return 'The gateway could not record your click just now; nothing was recorded. Try again in a moment, or use `ala approve` / `ala reject`.';
  }

  /** Tells one person only; a failure here is logged (the click itself was handled). */
  async #ephemeral(channel: string | undefined, user: string, text: string): Promise<void> {
    if (!channel) return;
    try {
      await this.#deps.client.chat.postEphemeral({ channel, user, text: escapeSlack(text).slice(0, 3000) });
    } catch (error) {
      this.#deps.logger.warn('could not answer a Slack user ephemerally', { user, error });
    }
  }
}
