/** Human-readable output. Everything the gateway relays from an agent is untrusted text. */
import type {
  ActionRequestView,
  AuditView,
  EvaluationView,
  GrantView,
  WhoamiView,
} from '../../client/index.ts';

/**
 * Makes untrusted text safe for a terminal: control characters (ANSI escapes, carriage returns),
 * bidirectional overrides and zero-width characters become visible escapes, so an agent cannot
 * hide or disguise part of what a human is asked to approve.
 */
export function safe(text: string): string {
  return text.replace(
    /[\p{Cc}\u200B-\u200F\u2028\u2029\u202A-\u202E\u2060-\u2069\uFEFF]/gu,
    (char) => `\\u{${char.codePointAt(0)?.toString(16).padStart(4, '0')}}`,
  );
}

/** Pretty JSON; its line breaks are structural (JSON escapes those inside strings), the rest is made safe. */
function json(value: unknown): string {
  return (JSON.stringify(value, null, 2) ?? 'null').split('\n').map(safe).join('\n');
}

const LABEL_WIDTH = 15;

function field(label: string, value: string): string {
  const [first = '', ...rest] = value.split('\n');
  const pad = ' '.repeat(LABEL_WIDTH + 2);
  return [`  ${label.padEnd(LABEL_WIDTH)}${first}`, ...rest.map((line) => `${pad}${line}`)].join('\n');
}

function isEmpty(value: Record<string, unknown> | undefined): boolean {
  return !value || Object.keys(value).length === 0;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? safe(value) : undefined;
}

/** The full picture of one request: what would run, on what, for whom, why, and its state. */
export function formatRequest(view: ActionRequestView, options: { message?: boolean } = {}): string {
  const lines: string[] = [`Request ${safe(view.id)}  ${view.status.toUpperCase()}`];
  lines.push(field('action', safe(view.action.name)));
  lines.push(field('resource', `${safe(view.resource.type)} ${safe(view.resource.id)}`));
  if (!isEmpty(view.resource.properties)) lines.push(field('properties', json(view.resource.properties)));
  lines.push(field('arguments', isEmpty(view.action.args) ? '(none)' : json(view.action.args)));
  lines.push(field('requested by', safe(view.requester)));
  const context = view.context;
  const onBehalfOf = text(context.on_behalf_of);
  if (onBehalfOf) lines.push(field('on behalf of', onBehalfOf));
  const justification = text(context.justification);
  lines.push(field('justification', justification ?? '(none given)'));
  const ticket = text(context.ticket);
  if (ticket) lines.push(field('ticket', ticket));
  if (context.break_glass === true) lines.push(field('break glass', 'yes'));
  if (context.agent !== undefined) lines.push(field('agent', json(context.agent)));
  const reasons = view.decision.reasons.map((r) => `${safe(r.message)} [${safe(r.code)}]`);
  lines.push(field('policy', [view.decision.outcome, ...reasons].join('\n')));
  const approval = view.approval;
  if (approval) {
    const groups = [...approval.groups, ...(approval.escalated ? approval.escalation_groups : [])];
    const votes = approval.votes.map(
      (v) =>
        `${v.decision === 'approve' ? '✓ approved' : '✗ rejected'} by ${safe(v.approver)} via ${safe(v.channel)} at ${v.time}${v.comment ? `: "${safe(v.comment)}"` : ''}`,
    );
    lines.push(
      field(
        'approvals',
        [
          `${approval.received} of ${approval.required} from ${groups.map(safe).join(', ')}${approval.escalated ? ' (escalated)' : ''}`,
          `expires ${approval.expires_at}`,
          ...votes,
        ].join('\n'),
      ),
    );
  }
  if (view.grant) lines.push(field('grant', formatGrantSpec(view.grant)));
  if (view.outcome) {
    lines.push(
      field(
        'outcome',
        `${view.outcome.status} at ${view.outcome.time}${view.outcome.detail ? `: ${safe(view.outcome.detail)}` : ''}`,
      ),
    );
  }
  lines.push(field('action hash', view.action_hash));
  lines.push(field('created', view.created_at));
  if (options.message) lines.push(field('message', safe(view.agent_message)));
  return lines.join('\n');
}

function formatGrantSpec(grant: NonNullable<ActionRequestView['grant']>): string {
  if (grant.type === 'none') {
    return `none (no credentials)${grant.redeemed_at ? `, redeemed at ${grant.redeemed_at}` : ''}`;
  }
  const parts = [`aws_sts role ${safe(grant.role ?? '?')}`];
  if (grant.actions?.length) parts.push(`actions ${grant.actions.map(safe).join(', ')}`);
  if (grant.resources?.length) parts.push(`resources ${grant.resources.map(safe).join(', ')}`);
  if (grant.window_seconds) parts.push(`usable for ${grant.window_seconds}s after redemption`);
  if (grant.redeemed_at) parts.push(`redeemed at ${grant.redeemed_at}`);
  return parts.join('\n');
}

/**
 * One line per request, for lists and for the first line of `request --wait`: id, status and
 * approvals first, separated by spaces, so `awk '{print $1, $2}'` reads them.
 */
export function formatRequestLine(view: ActionRequestView, note?: string): string {
  const approvals = view.approval ? `${view.approval.received}/${view.approval.required}` : '-';
  return [
    safe(view.id),
    view.status.padEnd(9),
    approvals.padEnd(5),
    `${safe(view.action.name)} on ${safe(view.resource.type)} ${safe(view.resource.id)}`,
    `by ${safe(view.requester)}`,
    ...(note ? [`(${note})`] : []),
  ].join('  ');
}

/** A time for a status line: `15:04:05Z` today (UTC), the full RFC 3339 time otherwise. */
export function clock(time: Date | string, now: Date = new Date()): string {
  const date = typeof time === 'string' ? new Date(time) : time;
  if (Number.isNaN(date.getTime())) return safe(String(time));
  const iso = date.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return iso.slice(0, 10) === now.toISOString().slice(0, 10) ? iso.slice(11) : iso;
}

/**
 * What a wait is waiting for, in one line: how many more approvals from whom, until when (the end of
 * --wait or the request's deadline, whichever comes first), and when it escalates.
 */
export function describeWait(view: ActionRequestView, waitEnds: Date, now: Date = new Date()): string {
  const approval = view.approval;
  if (!approval) return `waiting for a decision on ${safe(view.id)} until ${clock(waitEnds, now)}`;
  const groups = [...approval.groups, ...(approval.escalated ? approval.escalation_groups : [])].map(safe);
  const more = Math.max(0, approval.required - approval.received);
  const expires = new Date(approval.expires_at);
  const expiresFirst = expires.getTime() <= waitEnds.getTime();
  const until = expiresFirst
    ? `until ${clock(expires, now)}, when it expires`
    : `until ${clock(waitEnds, now)}`;
  const escalation =
    !approval.escalated && approval.escalate_at && approval.escalation_groups.length > 0
      ? `; escalates to ${approval.escalation_groups.map(safe).join(', ')} at ${clock(approval.escalate_at, now)}`
      : '';
  return (
    `waiting for ${more} more approval${more === 1 ? '' : 's'} (${approval.received} of ${approval.required}) ` +
    `from ${groups.join(' or ')} ${until} (request ${safe(view.id)}${expiresFirst ? '' : `, expires ${clock(expires, now)}`}${escalation})`
  );
}

/** Who the gateway takes you to be, and with a request, whether you may vote on it. */
export function formatWhoami(view: WhoamiView): string {
  const list = (items: readonly string[]) => (items.length > 0 ? items.map(safe).join(', ') : '(none)');
  const lines = [
    `You are ${safe(view.principal)}`,
    field('type', safe(view.type)),
    field('authenticated', view.authentication === 'bearer' ? 'bearer token' : 'AWS IAM (SigV4)'),
    field('groups', list(view.groups)),
    field('auditor', view.auditor ? 'yes: may read every request and audit trail' : 'no'),
  ];
  if (view.chat_identities.slack.length > 0) lines.push(field('slack', list(view.chat_identities.slack)));
  if (view.chat_identities.teams.length > 0) lines.push(field('teams', list(view.chat_identities.teams)));
  lines.push(field('policy digest', view.policy_digest));
  const review = view.review;
  if (review) {
    lines.push(field('request', `${safe(review.request_id)}  ${review.status.toUpperCase()}`));
    lines.push(field('approvers', `members of ${list(review.approving_groups)}`));
    if (review.your_vote) {
      lines.push(
        field(
          'your vote',
          `${review.your_vote.decision} at ${review.your_vote.time} via ${safe(review.your_vote.channel)}`,
        ),
      );
    }
    lines.push(
      field(
        'may vote',
        review.may_vote
          ? 'yes'
          : `no: ${safe(review.reason?.message ?? 'not now')} [${safe(review.reason?.code ?? '?')}]`,
      ),
    );
  }
  return lines.join('\n');
}

export function formatGrant(grant: GrantView): string {
  const lines = [`Grant for ${safe(grant.request_id)}  ${grant.grant.type}`];
  if (grant.grant.role) lines.push(field('role', safe(grant.grant.role)));
  lines.push(field('action hash', grant.action_hash));
  const c = grant.credentials;
  if (c) {
    lines.push(field('access key id', c.access_key_id));
    lines.push(field('secret key', c.secret_access_key));
    lines.push(field('session token', c.session_token));
    lines.push(field('usable until', c.usable_until));
    lines.push(field('expiration', c.expiration));
    if (c.region) lines.push(field('region', c.region));
  }
  lines.push(field('message', safe(grant.agent_message)));
  return lines.join('\n');
}

/** `export` lines for `eval "$(ala redeem <id> --env)"`. Values are single-quoted for the shell. */
export function formatCredentialsEnv(grant: GrantView): string {
  const c = grant.credentials;
  if (!c) return '';
  const quote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;
  const vars: [string, string][] = [
    ['AWS_ACCESS_KEY_ID', c.access_key_id],
    ['AWS_SECRET_ACCESS_KEY', c.secret_access_key],
    ['AWS_SESSION_TOKEN', c.session_token],
    ...(c.region ? ([['AWS_REGION', c.region]] as [string, string][]) : []),
  ];
  return vars.map(([name, value]) => `export ${name}=${quote(value)}`).join('\n');
}

export function formatAudit(view: AuditView): string {
  const lines = [`Audit trail of ${safe(view.request_id)}: ${view.events.length} events`];
  for (const event of view.events) {
    const data = isEmpty(event.data) ? '' : ` ${safe(JSON.stringify(event.data))}`;
    lines.push(
      `  ${String(event.seq).padStart(3)}  ${event.time}  ${safe(event.type).padEnd(19)}  ${safe(event.actor)}${data}`,
    );
  }
  const tail = view.events.at(-1);
  if (tail) lines.push(`  head ${tail.hash}`);
  return lines.join('\n');
}

export function formatEvaluation(view: EvaluationView): string {
  const lines = [`Policy decision: ${view.outcome}`];
  for (const reason of view.reasons)
    lines.push(field('reason', `${safe(reason.message)} [${safe(reason.code)}]`));
  const approval = view.approval;
  if (approval) {
    lines.push(
      field(
        'approval',
        [
          `${approval.min_approvals} from ${approval.groups.map(safe).join(', ')}, within ${approval.timeout_seconds}s`,
          ...(approval.escalation_groups?.length
            ? [
                `escalates to ${approval.escalation_groups.map(safe).join(', ')}${approval.escalate_after_seconds ? ` after ${approval.escalate_after_seconds}s` : ''}`,
              ]
            : []),
          ...(approval.exclude?.length ? [`excluded: ${approval.exclude.map(safe).join(', ')}`] : []),
        ].join('\n'),
      ),
    );
  }
  if (view.grant) lines.push(field('grant', formatGrantSpec(view.grant)));
  lines.push(field('policy digest', view.policy_digest));
  lines.push(field('input hash', view.input_hash));
  lines.push(field('action hash', view.action_hash));
  return lines.join('\n');
}
