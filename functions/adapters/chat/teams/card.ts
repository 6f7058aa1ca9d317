/**
 * The approval card as an Adaptive Card (1.5, Universal Actions) for Teams.
 *
 * Inert agent text: every string that is not the card's own wording is a `TextRun` of a
 * `RichTextBlock`, which Adaptive Cards never parse as markdown (unlike `TextBlock` and `FactSet`);
 * `<at>` tags are broken so no client can take them for a mention (the card also carries no
 * `msteams.entities`, without which Teams resolves none), and URL schemes and `www.` are broken so
 * clients do not turn them into links. Nothing an agent wrote reaches a button's data.
 *
 * Limits: Teams refuses messages over about 28 KB. Agent fields are cut to a length each (with a
 * marker saying how much was left out and where to read it whole); if the card is still too large,
 * it is rendered again with tighter limits.
 */
import type { ApprovalCard, CardAction } from '../../../core/approval-card.ts';

export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

/** Upper bound of a rendered card, JSON-encoded, leaving room for the activity around it. */
export const MAX_CARD_BYTES = 24_000;

/** The verbs of the card's `Action.Execute` buttons. */
export const TEAMS_VERBS = ['approve', 'reject', 'escalate'] as const satisfies readonly CardAction[];

/** Longest comment an approver can type (the gateway's own limit for votes). */
export const MAX_COMMENT_LENGTH = 1000;

export type AdaptiveCard = Record<string, unknown>;

interface Limits {
  readonly field: number;
  readonly args: number;
  readonly justification: number;
  readonly comment: number;
  readonly votes: number;
  readonly reasons: number;
}

const LEVELS: readonly Limits[] = [
  { field: 512, args: 3000, justification: 1500, comment: 500, votes: 25, reasons: 10 },
  { field: 200, args: 800, justification: 500, comment: 200, votes: 10, reasons: 5 },
  { field: 80, args: 0, justification: 200, comment: 80, votes: 5, reasons: 3 },
];

/** Control characters, zero-width and bidirectional controls: nothing an approver can see. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNSAFE_CHARACTERS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069]/g;

const ZERO_WIDTH = '\u2060'; // WORD JOINER: invisible, and breaks the patterns clients look for

/**
 * `text` as it may appear on a card: control characters gone, mention tags and link patterns
 * broken, cut at `max` characters with a marker.
 */
export function inert(text: string, max: number): string {
  let out = text.replace(UNSAFE_CHARACTERS, ' ');
  const cut = out.length - max;
  if (cut > 0) out = `${out.slice(0, max)}… [${cut} more characters; read the request through the API]`;
  return out
    .replace(/<(\/?)(at)/gi, `<$1${ZERO_WIDTH}$2`)
    .replace(/:\/\//g, `:${ZERO_WIDTH}//`)
    .replace(/\bwww\./gi, (m) => `${m.slice(0, 3)}${ZERO_WIDTH}.`)
    .replace(/\b(mailto|tel|javascript|data):/gi, `$1${ZERO_WIDTH}:`);
}

const STATUS_TITLES: Record<string, { text: string; color: string }> = {
  pending: { text: 'Approval requested', color: 'Warning' },
  approved: { text: 'Approved', color: 'Good' },
  rejected: { text: 'Rejected', color: 'Attention' },
  expired: { text: 'Expired without a decision', color: 'Attention' },
  cancelled: { text: 'Cancelled by the requester', color: 'Default' },
  denied: { text: 'Denied by policy', color: 'Attention' },
};

/** The Adaptive Card for `card`, within MAX_CARD_BYTES. */
export function renderTeamsCard(card: ApprovalCard): AdaptiveCard {
  let rendered: AdaptiveCard | undefined;
  for (const limits of LEVELS) {
    rendered = render(card, limits);
    if (Buffer.byteLength(JSON.stringify(rendered)) <= MAX_CARD_BYTES) return rendered;
  }
  // Even the tightest limits overflow (thousands of votes): the card points to the API instead.
  return render(
    { ...card, votes: card.votes.slice(-3), reasons: card.reasons.slice(0, 1) },
    LEVELS[2] as Limits,
  );
}

function render(card: ApprovalCard, limits: Limits): AdaptiveCard {
  const title = STATUS_TITLES[card.status] ?? { text: card.status, color: 'Default' };
  const body: unknown[] = [
    { type: 'TextBlock', text: title.text, weight: 'Bolder', size: 'Medium', color: title.color, wrap: true },
    line('Action', card.action.name, limits.field),
    line('Requested by', card.requester, limits.field),
  ];
  if (card.onBehalfOf) body.push(line('On behalf of', card.onBehalfOf, limits.field));
  body.push(line('Resource', `${card.resource.type} ${card.resource.id}`, limits.field));
  const claimed = Object.entries(card.resource.claimed);
  if (claimed.length > 0) {
    body.push(
      line('Claimed by the agent', claimed.map(([k, v]) => `${k}=${scalar(v)}`).join(', '), limits.field * 2),
    );
  }
  if (card.vouched) {
    const attributes = Object.entries(card.vouched.attributes);
    body.push(
      line(
        `Vouched by the gateway (${card.vouched.source})`,
        !card.vouched.known
          ? 'the gateway does not know this resource'
          : attributes.length === 0
            ? 'no attributes'
            : attributes.map(([k, v]) => `${k}=${v}`).join(', '),
        limits.field * 2,
      ),
    );
  }
  if (card.justification !== undefined)
    body.push(line('Justification', card.justification, limits.justification));
  if (limits.args > 0 && Object.keys(card.action.args).length > 0) {
    body.push(line('Arguments', JSON.stringify(card.action.args, null, 1), limits.args));
  }
  for (const reason of card.reasons.slice(0, limits.reasons)) {
    body.push(line('Policy', reason.message, limits.field));
  }
  const progress = `${card.approvalsReceived} of ${card.approvalsRequired} approvals`;
  body.push(
    line(
      'Approvals',
      card.groups.length > 0 ? `${progress} from ${card.groups.join(', ')}` : progress,
      limits.field,
    ),
  );
  if (card.escalated) body.push(line('Escalated to', card.escalationGroups.join(', '), limits.field));
  if (card.status === 'pending' && card.expiresAt) body.push(line('Expires', card.expiresAt, limits.field));
  if (card.decidedAt) body.push(line('Decided', card.decidedAt, limits.field));
  const shown = card.votes.slice(-limits.votes);
  if (shown.length < card.votes.length) {
    body.push(line('Votes', `${card.votes.length - shown.length} earlier votes not shown`, limits.field));
  }
  for (const vote of shown) {
    const said = vote.comment ? `: ${vote.comment.slice(0, limits.comment)}` : '';
    body.push(
      line(
        vote.decision === 'approve' ? 'Approved' : 'Rejected',
        `${vote.approver} (${vote.channel}, ${vote.time})${said}`,
        limits.field + limits.comment,
      ),
    );
  }
  body.push(line('Action hash', card.shortHash, limits.field, true));
  body.push(line('Request', card.requestId, limits.field, true));

  const data = { requestId: card.requestId, actionHash: card.actionHash };
  const actions: unknown[] = [];
  if (card.actions.length > 0) {
    body.push({
      type: 'Input.Text',
      id: 'comment',
      label: 'Comment (optional when approving)',
      isMultiline: true,
      maxLength: MAX_COMMENT_LENGTH,
    });
  }
  if (card.actions.includes('approve')) {
    actions.push({ type: 'Action.Execute', verb: 'approve', title: 'Approve', style: 'positive', data });
  }
  if (card.actions.includes('reject')) {
    // A rejection must say why: the comment is required before the button sends anything.
    actions.push({
      type: 'Action.ShowCard',
      title: 'Reject…',
      card: {
        type: 'AdaptiveCard',
        body: [
          {
            type: 'Input.Text',
            id: 'rejectComment',
            label: 'Why reject? The requester sees this.',
            isMultiline: true,
            isRequired: true,
            maxLength: MAX_COMMENT_LENGTH,
            errorMessage: 'A rejection needs a comment',
          },
        ],
        actions: [{ type: 'Action.Execute', verb: 'reject', title: 'Reject', style: 'destructive', data }],
      },
    });
  }
  if (card.reviewUrl) {
    // The gateway's own configured URL, never agent text.
    actions.push({ type: 'Action.OpenUrl', title: 'Open in review page', url: card.reviewUrl });
  }
  if (card.actions.includes('escalate')) {
    actions.push({
      type: 'Action.Execute',
      verb: 'escalate',
      title: `Escalate to ${card.escalationGroups.join(', ')}`,
      data,
    });
  }
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    fallbackText: `Approval request ${card.requestId}: open it in Teams or through the gateway's API.`,
    msteams: { width: 'Full' },
    body,
    ...(actions.length > 0 ? { actions } : {}),
  };
}

/** A labelled line: the label is the card's own wording, the value a literal TextRun. */
function line(label: string, value: string, max: number, subtle = false): unknown {
  return {
    type: 'RichTextBlock',
    inlines: [
      { type: 'TextRun', text: `${label}: `, weight: 'Bolder' },
      {
        type: 'TextRun',
        text: inert(value, max),
        ...(subtle ? { isSubtle: true, fontType: 'Monospace' } : {}),
      },
    ],
  };
}

function scalar(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
