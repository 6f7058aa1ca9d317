/**
 * The review page's HTML: a list of what the signed-in person may review and one page per request.
 * Server-rendered, no script at all; every agent-supplied value goes through `html` (html.ts) and so
 * is shown as text. Landmarks (header, nav, main), a skip link, labelled controls and native form
 * elements keep it usable by keyboard and screen reader.
 */
import type { ChainVerdict } from '../../core/audit.ts';
import { activeGroups, approvers } from '../../core/eligibility.ts';
import type { ActionRequest, AuditEvent, GrantSpec } from '../../core/model.ts';
import { termsOf } from '../../core/narrowing.ts';
import { html, jsonText, type SafeHtml } from './html.ts';
import type { ReviewSession } from './session.ts';

export const STYLESHEET_PATH = '/review/assets/review.css';

export const STYLESHEET = `
:root { font-family: system-ui, sans-serif; line-height: 1.45; color: #1b1b1b; background: #fff; }
body { margin: 0; }
.skip { position: absolute; left: -10000px; }
.skip:focus { left: 1rem; top: 1rem; background: #fff; padding: .5rem; z-index: 2; }
header, main, footer { padding: 1rem 2rem; max-width: 72rem; margin: 0 auto; }
header { display: flex; justify-content: space-between; align-items: center; border-bottom: 1px solid #ccc; }
header form { display: inline; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { border: 1px solid #ccc; padding: .35rem .5rem; text-align: left; vertical-align: top; }
pre { background: #f4f4f4; padding: .5rem; overflow-x: auto; white-space: pre-wrap; word-break: break-word; }
.agent { border-left: 4px solid #b50909; padding-left: 1rem; }
.vouched { border-left: 4px solid #1a7f37; padding-left: 1rem; }
.notice { border: 2px solid #005ea2; padding: .5rem 1rem; }
.problem { border: 2px solid #b50909; padding: .5rem 1rem; }
.ok { color: #1a7f37; font-weight: bold; }
.bad { color: #b50909; font-weight: bold; }
button { font: inherit; padding: .4rem 1rem; }
label { display: block; font-weight: bold; margin-top: .5rem; }
fieldset label { display: inline; font-weight: normal; margin-left: .25rem; }
textarea, input[type=password] { font: inherit; width: 100%; max-width: 40rem; }
:focus-visible { outline: 3px solid #005ea2; outline-offset: 2px; }
`;

export function layout(title: string, body: SafeHtml, session?: ReviewSession): string {
  return `<!doctype html>${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Action-Level Approvals</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
<nav aria-label="Review"><a href="/review">Requests to review</a></nav>
${
  session
    ? html`<div>Signed in as <strong data-testid="principal">${session.principal}</strong>
<form method="post" action="/review/auth/logout"><input type="hidden" name="csrf" value="${session.csrf}"><button type="submit">Sign out</button></form></div>`
    : ''
}
</header>
<main id="main">
${body}
</main>
</body>
</html>`}`;
}

function time(iso: string | undefined): SafeHtml | string {
  return iso ? html`<time datetime="${iso}">${iso}</time>` : '—';
}

export function listPage(session: ReviewSession, pending: readonly ActionRequest[], more: boolean): string {
  const rows = pending.map(
    (r) => html`<tr>
<td><a href="/review/requests/${r.id}">${r.id}</a></td>
<td>${r.action.name}</td>
<td>${r.resource.type}: ${r.resource.id}</td>
<td>${r.subject.id}</td>
<td>${r.approval ? `${approvers(r.approval.votes).length} of ${r.approval.minApprovals}` : '—'}${
      r.approval?.stepUp ? html` <strong>(step-up)</strong>` : ''
    }</td>
<td>${time(r.approval?.expiresAt)}</td>
</tr>`,
  );
  return layout(
    'Requests to review',
    html`<h1>Requests to review</h1>
${
  pending.length === 0
    ? html`<p>Nothing awaits your review.</p>`
    : html`<table>
<caption>Pending requests you may vote on, newest first</caption>
<thead><tr><th scope="col">Request</th><th scope="col">Action</th><th scope="col">Resource</th><th scope="col">Requester</th><th scope="col">Approvals</th><th scope="col">Deadline</th></tr></thead>
<tbody>${rows}</tbody>
</table>`
}
${more ? html`<p>More requests are waiting; decide these first, or use the API to page further.</p>` : ''}`,
    session,
  );
}

export interface RequestPageModel {
  readonly session: ReviewSession;
  readonly request: ActionRequest;
  /** The audit trail and its verification, when the signed-in person may read it. */
  readonly audit?: { readonly events: readonly AuditEvent[]; readonly verification: ChainVerdict };
  /** Whether the signed-in person may vote now (pending and eligible). */
  readonly canVote: boolean;
  /** Whether this request asks for step-up and the session is older than the window. */
  readonly stepUpNeeded: boolean;
  readonly notice?: string;
  readonly problem?: string;
}

export function requestPage(model: RequestPageModel): string {
  const { request: r, session } = model;
  const a = r.approval;
  const justification = typeof r.context.justification === 'string' ? r.context.justification : undefined;
  return layout(
    `Request ${r.id}`,
    html`<h1>${r.action.name} on ${r.resource.id}</h1>
${model.notice ? html`<p class="notice" role="status">${model.notice}</p>` : ''}
${model.problem ? html`<p class="problem" role="alert">${model.problem}</p>` : ''}
<dl>
<dt>Request</dt><dd data-testid="request-id">${r.id}</dd>
<dt>Status</dt><dd data-testid="status">${r.status}</dd>
<dt>Requester (authenticated)</dt><dd>${r.subject.id}</dd>
${r.context.on_behalf_of ? html`<dt>On behalf of (declared, checked against policy data)</dt><dd>${String(r.context.on_behalf_of)}</dd>` : ''}
<dt>Submitted</dt><dd>${time(r.createdAt)}</dd>
<dt>Deadline</dt><dd>${time(a?.expiresAt)}</dd>
<dt>Action hash (your vote is bound to it)</dt><dd><code data-testid="action-hash">${r.actionHash}</code></dd>
</dl>

<section aria-labelledby="agent-h" class="agent">
<h2 id="agent-h">What the agent asks (supplied by the agent, not verified)</h2>
<h3>Action</h3>
<p><code data-testid="action-name">${r.action.name}</code></p>
<h4>Arguments</h4>
<pre data-testid="args">${jsonText(r.action.args)}</pre>
<h3>Resource</h3>
<p>Type <code data-testid="resource-type">${r.resource.type}</code>, id <code data-testid="resource-id">${r.resource.id}</code></p>
<h4>Properties the agent claims</h4>
<pre data-testid="claimed">${jsonText(r.resource.properties)}</pre>
<h3>Justification</h3>
${justification === undefined ? html`<p>None given.</p>` : html`<pre data-testid="justification">${justification}</pre>`}
<h3>Full context</h3>
<pre data-testid="context">${jsonText(r.context)}</pre>
</section>

<section aria-labelledby="vouched-h" class="vouched">
<h2 id="vouched-h">What the gateway vouches for</h2>
${
  r.vouched
    ? html`<p>${r.vouched.known ? `Known resource, from ${r.vouched.source}` : 'Unknown to every trusted source: treated by the strictest rule of its family'}${r.vouched.match ? html` (inventory entry <code>${r.vouched.match}</code>)` : ''}.</p>
<table data-testid="vouched"><caption>Vouched attributes</caption><thead><tr><th scope="col">Attribute</th><th scope="col">Value</th></tr></thead>
<tbody>${Object.entries(r.vouched.attributes).map(([k, v]) => html`<tr><th scope="row">${k}</th><td>${v}</td></tr>`)}</tbody></table>`
    : html`<p>This request was recorded before vouched attributes were kept.</p>`
}
</section>

<section aria-labelledby="policy-h">
<h2 id="policy-h">Why the policy asks</h2>
<ul>${r.decision.reasons.map((reason) => html`<li><code>${reason.code}</code>: ${reason.message}</li>`)}</ul>
<p>Policy digest <code data-testid="policy-digest">${r.decision.policyDigest}</code>; input hash <code>${r.decision.inputHash}</code>.</p>
${a?.stepUp ? html`<p><strong>Step-up:</strong> votes count only from a sign-in within the last few minutes, on this page.</p>` : ''}
</section>

<section aria-labelledby="grant-h">
<h2 id="grant-h">What approval grants</h2>
${grantSummary(r.narrowed ? r.narrowed.asked : r.grant, r.narrowed ? 'Asked' : undefined)}
${r.narrowed ? grantSummary(r.grant, 'Approved (narrower than asked)') : ''}
</section>

<section aria-labelledby="votes-h">
<h2 id="votes-h">Approvals so far</h2>
${
  a
    ? html`<p>${approvers(a.votes).length} of ${a.minApprovals} approvals. Voting groups now: ${activeGroups(a).join(', ')}${
        a.escalationGroups.length > 0 && !a.escalated
          ? html`; escalates to ${a.escalationGroups.join(', ')} at ${time(a.escalateAt)}`
          : ''
      }.</p>
${
  a.votes.length > 0
    ? html`<table data-testid="votes"><caption>Votes</caption><thead><tr><th scope="col">Approver</th><th scope="col">Vote</th><th scope="col">Comment</th><th scope="col">Channel</th><th scope="col">Time</th></tr></thead>
<tbody>${a.votes.map((v) => html`<tr><td>${v.approver}</td><td>${v.decision}${v.terms ? html` (narrower: ${v.terms.actions.join(', ')} on ${v.terms.resources.join(', ')} for ${v.terms.window_seconds} s)` : ''}</td><td>${v.comment ?? ''}</td><td>${v.channel}</td><td>${time(v.time)}</td></tr>`)}</tbody></table>`
    : html`<p>No votes yet.</p>`
}`
    : html`<p>This request needs no human approval.</p>`
}
</section>

${model.canVote ? voteForms(r, session, model.stepUpNeeded) : ''}

<section aria-labelledby="audit-h">
<h2 id="audit-h">Audit trail</h2>
${model.audit ? auditTable(model.audit) : html`<p>The audit trail is shown to the requester, auditors and the people who may vote on this request.</p>`}
</section>`,
    session,
  );
}

function voteForms(r: ActionRequest, session: ReviewSession, stepUpNeeded: boolean): SafeHtml {
  return html`<section aria-labelledby="vote-h">
<h2 id="vote-h">Your vote</h2>
${stepUpNeeded ? html`<p class="notice" data-testid="step-up-notice">This request asks for a recent sign-in. Voting sends you to sign in again first.</p>` : ''}
<form method="post" action="/review/requests/${r.id}/approve" aria-label="Approve">
<input type="hidden" name="csrf" value="${session.csrf}">
<input type="hidden" name="action_hash" value="${r.actionHash}">
<label for="approve-comment">Comment (optional)</label>
<textarea id="approve-comment" name="comment" rows="2" maxlength="2000"></textarea>
<p><button type="submit" data-testid="approve">Approve exactly this request</button></p>
</form>
<form method="post" action="/review/requests/${r.id}/reject" aria-label="Reject">
<input type="hidden" name="csrf" value="${session.csrf}">
<input type="hidden" name="action_hash" value="${r.actionHash}">
<label for="reject-comment">Why you reject it (required; the requester sees this)</label>
<textarea id="reject-comment" name="comment" rows="3" maxlength="2000" required aria-required="true"></textarea>
<p><button type="submit" data-testid="reject">Reject</button></p>
</form>
${narrowerForm(r, session)}
</section>`;
}

function grantSummary(grant: GrantSpec | undefined, heading?: string): SafeHtml {
  const title = heading ? html`<h3>${heading}</h3>` : '';
  if (!grant || grant.type === 'none')
    return html`${title}<p>No AWS credentials: the agent acts with what it has.</p>`;
  return html`${title}<p>Credentials for one use, role <code>${grant.role ?? ''}</code>, for ${grant.window_seconds ?? 0} seconds:</p>
<ul>${(grant.actions ?? []).map((action) => html`<li>action <code>${action}</code></li>`)}${(grant.resources ?? []).map((resource) => html`<li>resource <code>${resource}</code></li>`)}</ul>`;
}

/**
 * Approve less than was asked: untick actions or resources, shorten the window. Only for a grant
 * with a scope (aws_sts); the service checks the terms are within what was asked.
 */
function narrowerForm(r: ActionRequest, session: ReviewSession): SafeHtml | string {
  const terms = termsOf(r.grant);
  if (!terms) return '';
  return html`<form method="post" action="/review/requests/${r.id}/approve-narrower" aria-labelledby="narrow-h">
<h3 id="narrow-h">Approve less than was asked</h3>
<input type="hidden" name="csrf" value="${session.csrf}">
<input type="hidden" name="action_hash" value="${r.actionHash}">
<fieldset><legend>Actions to allow</legend>
${terms.actions.map((action, i) => html`<div><input type="checkbox" id="narrow-action-${i}" name="narrow_action" value="${action}" checked><label for="narrow-action-${i}">${action}</label></div>`)}
</fieldset>
<fieldset><legend>Resources to allow</legend>
${terms.resources.map((resource, i) => html`<div><input type="checkbox" id="narrow-resource-${i}" name="narrow_resource" value="${resource}" checked><label for="narrow-resource-${i}">${resource}</label></div>`)}
</fieldset>
<label for="narrow-window">Window in seconds (at most ${terms.window_seconds})</label>
<input id="narrow-window" name="window_seconds" type="number" min="1" max="${terms.window_seconds}" step="1" value="${terms.window_seconds}">
<label for="narrow-comment">Comment on the narrowed approval (optional)</label>
<textarea id="narrow-comment" name="comment" rows="2" maxlength="2000"></textarea>
<p><button type="submit" data-testid="approve-narrower">Approve only what is ticked</button></p>
</form>`;
}

function auditTable(audit: NonNullable<RequestPageModel['audit']>): SafeHtml {
  const v = audit.verification;
  return html`<p data-testid="audit-verification">${
    v.ok
      ? html`<span class="ok">Verified:</span> the hash chain of ${audit.events.length} events is intact and agrees with the request record.`
      : html`<span class="bad">Verification failed:</span></p><ul>${v.problems.map((p) => html`<li>event ${p.seq}: ${p.message}</li>`)}</ul><p>`
  }</p>
<table data-testid="audit"><caption>Events, oldest first</caption>
<thead><tr><th scope="col">#</th><th scope="col">Event</th><th scope="col">Time</th><th scope="col">Actor</th><th scope="col">Data</th></tr></thead>
<tbody>${audit.events.map((e) => html`<tr><td>${e.seq}</td><td>${e.type}</td><td>${time(e.time)}</td><td>${e.actor}</td><td><pre>${jsonText(e.data)}</pre></td></tr>`)}</tbody>
</table>`;
}

export function messagePage(
  title: string,
  message: string,
  session?: ReviewSession,
  link?: { href: string; text: string },
): string {
  return layout(
    title,
    html`<h1>${title}</h1><p role="alert">${message}</p>${link ? html`<p><a href="${link.href}">${link.text}</a></p>` : ''}`,
    session,
  );
}

/** Demo sign-in (local mode without an identity provider): a demo token from the gateway banner. */
export function demoSignInPage(csrf: string, returnTo: string, problem?: string): string {
  return layout(
    'Sign in',
    html`<h1>Sign in to review</h1>
<p>This local gateway has no identity provider configured: sign in with a demo token (the gateway prints them at start, and keeps them in <code>demo-tokens.json</code> in its data folder).</p>
${problem ? html`<p class="problem" role="alert">${problem}</p>` : ''}
<form method="post" action="/review/auth/demo">
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="return_to" value="${returnTo}">
<label for="token">Demo token</label>
<input id="token" name="token" type="password" autocomplete="off" required>
<p><button type="submit">Sign in</button></p>
</form>`,
  );
}

/**
 * After the identity provider's redirect: the session cookie is `SameSite=Strict`, which a browser
 * withholds on the rest of a redirect chain that began on another site, so this page continues
 * with a same-site navigation (a meta refresh, and a link for anyone whose browser ignores it).
 */
export function continuePage(returnTo: string): string {
  return `<!doctype html>${html`<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="0;url=${returnTo}">
<title>Signed in · Action-Level Approvals</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}"></head>
<body><main id="main"><p>Signed in. <a href="${returnTo}">Continue</a></p></main></body></html>`}`;
}
