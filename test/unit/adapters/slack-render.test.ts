/**
 * The Slack card: supplied text is inert, Slack's limits hold (checked by the same rules the Web API
 * stand-in applies), long text is cut with a visible marker, and the buttons follow the request.
 */
import { describe, expect, it } from 'vitest';
import {
  buttonValue,
  escapeSlack,
  inert,
  parseButtonValue,
  rejectModal,
  renderCard,
} from '../../../functions/adapters/chat/slack/render.ts';
import { slackSignature, verifySlackSignature } from '../../../functions/adapters/chat/slack/verifier.ts';
import type { ApprovalCard } from '../../../functions/core/approval-card.ts';
import { blockProblems } from '../../support/slack-stand-in.ts';

const HOSTILE = '<!channel> *APPROVED by security* <https://evil.example|click>';

function card(overrides: Partial<ApprovalCard> = {}): ApprovalCard {
  return {
    requestId: 'ar_01JD3Z6Q0M8Y3W8T5V9K2N4P6R',
    version: 2,
    status: 'pending',
    requester: 'agent:demo-exporter',
    onBehalfOf: 'user:alice@example.gov',
    action: { name: 'data.export', args: { dataset: 'ledger_2026q2' } },
    resource: { type: 'aws:s3:bucket', id: 'arn:aws:s3:::fin-ledger-prod', claimed: { environment: 'prod' } },
    vouched: { known: true, source: 'inventory', attributes: { environment: 'prod' } },
    justification: 'Quarterly reconciliation, CHG-4821',
    reasons: [{ code: 'prod_export', message: 'Production export needs two data-owner approvals.' }],
    approvalsRequired: 2,
    approvalsReceived: 0,
    groups: ['data-owners'],
    escalationGroups: ['data-owner-leads'],
    escalated: false,
    expiresAt: '2026-11-29T18:00:00.000Z',
    actionHash: `sha256:${'ab'.repeat(32)}`,
    shortHash: 'abababababab',
    votes: [],
    actions: ['approve', 'reject', 'escalate'],
    ...overrides,
  };
}

interface TextObject {
  type: string;
  text: string;
  emoji?: boolean;
}

/** Every text object of a card, wherever it sits. */
function textObjects(value: unknown, out: TextObject[] = []): TextObject[] {
  if (Array.isArray(value)) for (const item of value) textObjects(item, out);
  else if (value && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if ((object.type === 'plain_text' || object.type === 'mrkdwn') && typeof object.text === 'string') {
      out.push(object as unknown as TextObject);
    }
    for (const child of Object.values(object)) textObjects(child, out);
  }
  return out;
}

describe('Slack card rendering', () => {
  it('renders a hostile justification inert: no mention, no link, no formatting reaches Slack', () => {
    const rendered = renderCard(
      card({
        justification: HOSTILE,
        action: { name: '<@U0BOSS> :white_check_mark:', args: { note: HOSTILE } },
        resource: { type: 'aws:s3:bucket', id: '<https://evil.example|bucket>', claimed: {} },
      }),
    );
    expect(blockProblems(rendered.blocks, 'message')).toEqual([]);
    const texts = textObjects(rendered.blocks);
    const all = [rendered.text, ...texts.map((t) => t.text)].join('\n');
    expect(all).not.toContain('<!channel>');
    expect(all).not.toContain('<https://');
    expect(all).not.toContain('<@U0BOSS>');
    expect(all).toContain('&lt;!channel&gt; *APPROVED by security* &lt;https://evil.example|click&gt;');
    // The supplied text sits only in plain_text objects with emoji off: Slack shows it literally.
    const carrying = texts.filter((t) => /APPROVED by security|U0BOSS|evil\.example/.test(t.text));
    expect(carrying.length).toBeGreaterThanOrEqual(4);
    for (const t of carrying) expect(t).toMatchObject({ type: 'plain_text', emoji: false });
    // Our own mrkdwn labels never contain a supplied string.
    for (const t of texts.filter((t) => t.type === 'mrkdwn'))
      expect(t.text).not.toMatch(/evil|APPROVED|U0BOSS/);
  });

  it('truncates a 40 KB argument with a visible marker and stays within every Slack limit', () => {
    const huge = 'x'.repeat(40 * 1024);
    const rendered = renderCard(
      card({ action: { name: 'data.export', args: { blob: huge } }, justification: huge }),
    );
    expect(blockProblems(rendered.blocks, 'message')).toEqual([]);
    const texts = textObjects(rendered.blocks).map((t) => t.text);
    const cut = texts.filter((t) => t.includes('[truncated: '));
    expect(cut.length).toBe(2);
    for (const t of cut) {
      expect(t.length).toBeLessThanOrEqual(3000);
      expect(t).toMatch(/… \[truncated: \d+ more characters; the whole request: ala status ar_/);
    }
    expect(JSON.stringify(rendered.blocks).length).toBeLessThan(40_000);
  });

  it('never cuts an escaped entity or a surrogate pair in half', () => {
    const text = inert(`${'a'.repeat(40)}${'&'.repeat(40)}`, 100);
    expect(text.length).toBeLessThanOrEqual(100);
    expect(text).toMatch(/^(a|&amp;)*… \[truncated/);
    const emoji = inert('😀'.repeat(80), 100);
    expect(emoji).toContain('[truncated: ');
    expect(/[\uD800-\uDBFF]…/.test(emoji)).toBe(false);
    expect(escapeSlack('a & <b> c')).toBe('a &amp; &lt;b&gt; c');
  });

  it('shows Approve, Reject and Escalate while pending, Approve and Reject once escalated, none once decided', () => {
    const buttons = (c: ApprovalCard) =>
      renderCard(c)
        .blocks.filter((b) => b.type === 'actions')
        .flatMap((b) =>
          'elements' in b ? b.elements.map((e) => ('action_id' in e ? e.action_id : '')) : [],
        );
    expect(buttons(card())).toEqual(['ala.approve', 'ala.reject', 'ala.escalate']);
    expect(buttons(card({ actions: ['approve', 'reject'], escalated: true }))).toEqual([
      'ala.approve',
      'ala.reject',
    ]);
    const decided = card({
      status: 'approved',
      actions: [],
      decidedAt: '2026-11-29T17:30:00.000Z',
      approvalsReceived: 2,
      votes: [
        {
          approver: 'user:bob@example.gov',
          decision: 'approve',
          channel: 'slack',
          time: '2026-11-29T17:20:00.000Z',
          comment: HOSTILE,
        },
        {
          approver: 'user:carol@example.gov',
          decision: 'approve',
          channel: 'api',
          time: '2026-11-29T17:30:00.000Z',
        },
      ],
    });
    expect(buttons(decided)).toEqual([]);
    const texts = textObjects(renderCard(decided).blocks)
      .map((t) => t.text)
      .join('\n');
    expect(texts).toContain(
      'Approved by user:bob@example.gov at 2026-11-29T17:20:00.000Z via slack: &lt;!channel&gt;',
    );
    expect(texts).toContain('*Approved* at 2026-11-29T17:30:00.000Z');
  });

  it('carries the request id and the action hash the approver saw in each button, and reads only that back', () => {
    const c = card();
    expect(parseButtonValue(buttonValue(c))).toEqual({ requestId: c.requestId, actionHash: c.actionHash });
    expect(parseButtonValue(`${c.requestId} ${c.actionHash} extra`)).toBeUndefined();
    expect(parseButtonValue(`ar_short ${c.actionHash}`)).toBeUndefined();
    expect(parseButtonValue(`${c.requestId} sha256:xyz`)).toBeUndefined();
  });

  it('builds a rejection modal within the modal limits whose metadata names the request and hash', () => {
    const view = rejectModal(card({ action: { name: HOSTILE, args: {} } }));
    expect(view.title.text.length).toBeLessThanOrEqual(24);
    expect(blockProblems(view.blocks, 'modal')).toEqual([]);
    expect(JSON.parse(view.private_metadata ?? '')).toEqual({
      requestId: card().requestId,
      actionHash: card().actionHash,
    });
    expect(JSON.stringify(view.blocks)).not.toContain('<!channel>');
  });
});

describe('Slack request signatures', () => {
  const secret = 'signing-secret-0123456789';
  const body = 'payload=%7B%7D';
  const now = new Date('2026-11-29T17:00:00Z');
  const ts = Math.floor(now.getTime() / 1000);

  it('accepts the signature Slack computes over v0:timestamp:body', () => {
    const verdict = verifySlackSignature({
      signingSecret: secret,
      body,
      timestamp: String(ts),
      signature: slackSignature(secret, ts, body),
      now,
    });
    expect(verdict).toEqual({ ok: true, timestamp: ts });
  });

  it('refuses a forged signature, a changed body, a stale or future timestamp, and malformed headers', () => {
    const check = (overrides: { body?: string; timestamp?: string; signature?: string | undefined }) =>
      verifySlackSignature({
        signingSecret: secret,
        body: overrides.body ?? body,
        timestamp: 'timestamp' in overrides ? overrides.timestamp : String(ts),
        signature: 'signature' in overrides ? overrides.signature : slackSignature(secret, ts, body),
        now,
      });
    expect(check({ signature: slackSignature('another-secret-000000', ts, body) })).toMatchObject({
      ok: false,
      reason: /does not match/,
    });
    expect(check({ body: 'payload=%7B%22x%22%7D' })).toMatchObject({ ok: false, reason: /does not match/ });
    const stale = ts - 301;
    expect(check({ timestamp: String(stale), signature: slackSignature(secret, stale, body) })).toMatchObject(
      { ok: false, reason: /301 s from/ },
    );
    const future = ts + 400;
    expect(
      check({ timestamp: String(future), signature: slackSignature(secret, future, body) }),
    ).toMatchObject({ ok: false, reason: /400 s from/ });
    expect(check({ signature: undefined })).toMatchObject({
      ok: false,
      reason: /X-Slack-Signature is missing/,
    });
    expect(check({ signature: 'v1=abc' })).toMatchObject({ ok: false });
    expect(check({ timestamp: 'yesterday' })).toMatchObject({
      ok: false,
      reason: /Timestamp is missing or not a number/,
    });
  });
});
