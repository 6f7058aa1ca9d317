/**
 * The approval card as Slack Block Kit, and the rejection modal. Pure: no Slack calls here.
 *
 * Everything an agent supplied (action name and arguments, resource, claimed properties,
 * justification) and everything a person typed (comments) is rendered inert:
 *
 * - it only ever appears in `plain_text` objects with `emoji: false`, which Slack shows literally:
 *   no mentions (`<!channel>`, `<@U…>`), no links (`<url|label>`), no bold or italics, no `:emoji:`;
 * - `&`, `<` and `>` are escaped as well (Slack's three control characters), so even a client that
 *   parsed the text would find no markup;
 * - our own labels are the only `mrkdwn` on the card, and they never contain a supplied string.
 *
 * Slack's limits (Block Kit reference) are respected by cutting long text with a visible marker
 * that says how much was left out and where the whole request can be read: a card with a 40 KB
 * argument is posted, never refused.
 */
import type { ActionsBlock, KnownBlock, ModalView, PlainTextElement, SectionBlock } from '@slack/types';
import type { ApprovalCard, CardAction } from '../../../core/approval-card.ts';
import { REQUEST_ID_PATTERN } from '../../../core/identifiers.ts';

/** Slack's documented limits this renderer relies on (checked again by the tests' stand-in). */
export const SLACK_LIMITS = {
  blocksPerMessage: 50,
  blocksPerModal: 100,
  sectionText: 3000,
  sectionField: 2000,
  sectionFields: 10,
  headerText: 150,
  contextElements: 10,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  blockId: 255,
  modalTitle: 24,
  modalButton: 24,
  privateMetadata: 3000,
  callbackId: 255,
  inputLabel: 2000,
  inputMaxLength: 3000,
  /** chat.postMessage truncates `text` past 40,000 characters; the card's fallback text stays far below. */
  messageText: 40_000,
} as const;

/** action_id of each button; the interaction handler reads them back. */
export const ACTION_IDS: Readonly<Record<CardAction, string>> = {
  approve: 'ala.approve',
  reject: 'ala.reject',
  escalate: 'ala.escalate',
};

/**
 * The "Open in review page" link button. Slack still posts an interaction when it is clicked; the
 * handler knows no such action and answers with nothing.
 */
export const REVIEW_LINK_ACTION_ID = 'ala.open_review';

/** callback_id of the rejection modal, and the ids of its comment input. */
export const REJECT_MODAL = {
  callbackId: 'ala.reject',
  blockId: 'ala.reject.comment',
  actionId: 'comment',
} as const;

/** Slack's three control characters, as entities. */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Escapes `text` and cuts it to `limit` characters, ending with a marker that says how much was cut.
 * The cut never splits an entity or a surrogate pair.
 */
export function inert(text: string, limit: number, where = ''): string {
  const escaped = escapeSlack(text);
  if (escaped.length <= limit) return escaped;
  const marker = (left: number) => `… [truncated: ${left} more characters${where ? `; ${where}` : ''}]`;
  // The marker's own length depends on the number it shows; reserve for the longest it can be.
  const room = Math.max(0, limit - marker(escaped.length).length);
  let cut = escaped.slice(0, room);
  const amp = cut.lastIndexOf('&');
  if (amp !== -1 && !cut.slice(amp).includes(';')) cut = cut.slice(0, amp);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}${marker(escaped.length - cut.length)}`;
}

function plain(text: string, limit: number, where?: string): PlainTextElement {
  return { type: 'plain_text', text: inert(text, limit, where), emoji: false };
}

/** A label of ours (never a supplied string) in mrkdwn. */
function label(text: string): SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

function plainSection(text: string, where: string): SectionBlock {
  return { type: 'section', text: plain(text, SLACK_LIMITS.sectionText, where) };
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? 'null';
}

const STATUS_TITLE: Record<ApprovalCard['status'], string> = {
  pending: 'Approval needed',
  approved: 'Approved',
  rejected: 'Rejected',
  expired: 'Expired',
  cancelled: 'Cancelled',
  denied: 'Denied',
};

/** The `value` of every button: which request and which action hash the approver saw. */
export function buttonValue(card: ApprovalCard): string {
  return `${card.requestId} ${card.actionHash}`;
}

/** The request id and action hash a button carried, or undefined when it is not one of ours. */
export function parseButtonValue(value: string): { requestId: string; actionHash: string } | undefined {
  const [requestId, actionHash, ...rest] = value.split(' ');
  if (rest.length > 0 || !requestId || !actionHash) return undefined;
  if (!REQUEST_ID_PATTERN.test(requestId) || !/^sha256:[0-9a-f]{64}$/.test(actionHash)) return undefined;
  return { requestId, actionHash };
}

/** The card's blocks and its fallback text (notifications, screen readers). */
export function renderCard(card: ApprovalCard): { text: string; blocks: KnownBlock[] } {
  const more = `the whole request: ala status ${card.requestId}`;
  const title = `${STATUS_TITLE[card.status]}: ${card.action.name}`;
  const blocks: KnownBlock[] = [
    { type: 'header', text: plain(title, SLACK_LIMITS.headerText) },
    {
      type: 'section',
      fields: [
        plain(`Requester: ${card.requester}`, SLACK_LIMITS.sectionField),
        plain(`On behalf of: ${card.onBehalfOf ?? '(nobody declared)'}`, SLACK_LIMITS.sectionField),
        plain(`Action: ${card.action.name}`, SLACK_LIMITS.sectionField, more),
        plain(`Resource: ${card.resource.type} ${card.resource.id}`, SLACK_LIMITS.sectionField, more),
        plain(
          `Approvals: ${card.approvalsReceived} of ${card.approvalsRequired} (${card.groups.join(', ') || 'no group'})`,
          SLACK_LIMITS.sectionField,
        ),
        plain(
          card.expiresAt ? `Deadline: ${card.expiresAt}` : `Request: ${card.requestId}`,
          SLACK_LIMITS.sectionField,
        ),
      ],
    },
    label('*Arguments* (as the agent sent them)'),
    plainSection(json(card.action.args), more),
    label('*Resource properties the agent claims*'),
    plainSection(json(card.resource.claimed), more),
  ];
  if (card.vouched) {
    blocks.push(
      label(
        card.vouched.known
          ? `*What the gateway vouches for* (from ${escapeSlack(card.vouched.source)})`
          : '*The gateway knows nothing about this resource*: only the claims above',
      ),
    );
    if (card.vouched.known) blocks.push(plainSection(json(card.vouched.attributes), more));
  }
  blocks.push(
    label('*Justification* (the agent’s words)'),
    plainSection(card.justification ?? '(none given)', more),
    label('*Why the policy asks*'),
    plainSection(
      card.reasons.map((reason) => `${reason.code}: ${reason.message}`).join('\n') || '(no reason given)',
      more,
    ),
  );
  if (card.escalationGroups.length > 0) {
    blocks.push({
      type: 'context',
      elements: [
        plain(
          card.escalated
            ? `Escalated to ${card.escalationGroups.join(', ')}`
            : `Escalates to ${card.escalationGroups.join(', ')} if undecided`,
          SLACK_LIMITS.sectionField,
        ),
      ],
    });
  }
  if (card.votes.length > 0) {
    const votes = card.votes.map(
      (vote) =>
        `${vote.decision === 'approve' ? 'Approved' : 'Rejected'} by ${vote.approver} at ${vote.time} via ${vote.channel}${vote.comment ? `: ${vote.comment}` : ''}`,
    );
    blocks.push(label('*Votes*'), plainSection(votes.join('\n'), more));
  }
  if (card.decidedAt) {
    blocks.push(label(`*${STATUS_TITLE[card.status]}* at ${escapeSlack(card.decidedAt)}`));
  }
  if (card.stepUp && !card.decidedAt) {
    blocks.push(
      label('*Step-up:* vote on the review page after a fresh sign-in; votes from chat are not accepted.'),
    );
  }
  blocks.push({
    type: 'context',
    elements: [plain(`${card.requestId} · action ${card.shortHash} · v${card.version}`, 2000)],
  });
  const actions = renderActions(card);
  if (actions) blocks.push(actions);
  const text = inert(`${title} (${card.requestId}, action ${card.shortHash})`, 3000);
  return { text, blocks };
}

function renderActions(card: ApprovalCard): ActionsBlock | undefined {
  // The review page link is the gateway's own URL (configured, never agent text).
  const link = card.reviewUrl
    ? [
        {
          type: 'button' as const,
          action_id: REVIEW_LINK_ACTION_ID,
          text: { type: 'plain_text' as const, text: 'Open in review page', emoji: false },
          url: card.reviewUrl,
        },
      ]
    : [];
  if (card.actions.length === 0 && link.length === 0) return undefined;
  const value = buttonValue(card);
  const text: Record<CardAction, string> = {
    approve: 'Approve',
    reject: 'Reject…',
    escalate: 'Escalate now',
  };
  return {
    type: 'actions',
    // A new block id per version: Slack keeps a button's state per block id across updates.
    block_id: `ala.actions.${card.version}`,
    elements: [
      ...card.actions.map((action) => ({
        type: 'button' as const,
        action_id: ACTION_IDS[action],
        text: { type: 'plain_text' as const, text: text[action], emoji: false },
        value,
        ...(action === 'approve' ? { style: 'primary' as const } : {}),
        ...(action === 'reject' ? { style: 'danger' as const } : {}),
      })),
      ...link,
    ],
  };
}

/** What the rejection modal carries back in `private_metadata`. */
export interface RejectContext {
  readonly requestId: string;
  readonly actionHash: string;
}

/** The modal a Reject click opens: the comment is mandatory. */
export function rejectModal(card: ApprovalCard): ModalView {
  const metadata: RejectContext = { requestId: card.requestId, actionHash: card.actionHash };
  return {
    type: 'modal',
    callback_id: REJECT_MODAL.callbackId,
    private_metadata: JSON.stringify(metadata),
    title: { type: 'plain_text', text: 'Reject request', emoji: false },
    submit: { type: 'plain_text', text: 'Reject', emoji: false },
    close: { type: 'plain_text', text: 'Cancel', emoji: false },
    blocks: [
      {
        type: 'section',
        text: plain(
          `${card.action.name} on ${card.resource.type} ${card.resource.id} (${card.requestId}, action ${card.shortHash})`,
          SLACK_LIMITS.sectionText,
        ),
      },
      {
        type: 'input',
        block_id: REJECT_MODAL.blockId,
        label: { type: 'plain_text', text: 'Why do you reject it? (required, kept in the audit trail)' },
        element: {
          type: 'plain_text_input',
          action_id: REJECT_MODAL.actionId,
          multiline: true,
          min_length: 1,
          max_length: 2000,
        },
      },
    ],
  };
}
