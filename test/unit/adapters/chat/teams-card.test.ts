/** The Teams card: agent text is shown, never interpreted (markdown, mentions, links), within Teams' size limit. */
import { describe, expect, it } from 'vitest';
import { MAX_CARD_BYTES, renderTeamsCard } from '../../../../functions/adapters/chat/teams/card.ts';
import { sampleCard } from '../../../support/teams-card.ts';

const HOSTILE =
  '**Approve now** [click here](https://evil.example/phish) <at>Everyone</at> <at id="0">Bob</at> www.evil.example _x_ \n# Heading\u202e\u200b mailto:a@evil.example';

/** Every node of the card of the given type. */
function nodesOf(node: unknown, type: string): Record<string, unknown>[] {
  if (Array.isArray(node)) return node.flatMap((child) => nodesOf(child, type));
  if (typeof node !== 'object' || node === null) return [];
  const record = node as Record<string, unknown>;
  return [
    ...(record.type === type ? [record] : []),
    ...Object.values(record).flatMap((v) => nodesOf(v, type)),
  ];
}

const runs = (card: unknown) => nodesOf(card, 'TextRun').map((run) => String(run.text));

describe('Teams card rendering', () => {
  const card = renderTeamsCard(
    sampleCard({
      action: { name: 'data.export', args: { note: HOSTILE } },
      resource: { type: 'aws:s3:bucket', id: HOSTILE, claimed: { environment: HOSTILE } },
      justification: HOSTILE,
      votes: [
        {
          approver: 'user:bob@example.gov',
          decision: 'approve',
          comment: HOSTILE,
          channel: 'teams',
          time: '2026-11-29T17:00:00.000Z',
        },
      ],
      approvalsReceived: 1,
    }),
  );
  const json = JSON.stringify(card);

  it('shows agent text only in TextRuns, which Adaptive Cards never parse as markdown', () => {
    // TextBlocks (markdown) hold only the card's own title; there is no FactSet (markdown) at all.
    expect(nodesOf(card, 'TextBlock').map((block) => block.text)).toEqual(['Approval requested']);
    expect(nodesOf(card, 'FactSet')).toEqual([]);
    const justification = runs(card).find((text) => text.startsWith('**Approve now**'));
    expect(justification).toContain('[click here](');
    expect(justification).toContain('# Heading');
    // Resource, claimed properties, justification, arguments and the vote's comment: all TextRuns.
    expect(runs(card).filter((text) => text.includes('**Approve now**'))).toHaveLength(5);
  });

  it('makes mentions impossible: no mention entities, and every <at> tag is broken', () => {
    expect(card.msteams).toEqual({ width: 'Full' });
    expect(json).not.toMatch(/"entities"/);
    for (const text of runs(card)) expect(text).not.toMatch(/<\/?at[\s>]/i);
    expect(runs(card).join('\n')).toMatch(/<\u2060at>Everyone<\/\u2060at>/);
  });

  it('leaves no link a client would follow, and no invisible or bidirectional control characters', () => {
    const texts = runs(card).join('\n');
    expect(texts).not.toMatch(/https?:\/\//);
    expect(texts).not.toMatch(/www\./i);
    expect(texts).not.toMatch(/mailto:/i);
    expect(texts).toContain('evil.example/phish');
    expect(texts).not.toMatch(/[\u202e\u200b]/);
  });

  it('puts nothing the agent wrote into a button: the data is the request id and the action hash', () => {
    const executes = nodesOf(card, 'Action.Execute');
    expect(executes.map((action) => action.verb)).toEqual(['approve', 'reject', 'escalate']);
    for (const action of executes) {
      expect(action.data).toEqual({
        requestId: 'ar_01JTEAMSCARD0000000000000',
        actionHash: `sha256:${'ab'.repeat(32)}`,
      });
    }
  });

  it('asks for a comment before Reject sends anything', () => {
    const [showCard] = nodesOf(card, 'Action.ShowCard');
    const [input] = nodesOf(showCard, 'Input.Text');
    expect(input).toMatchObject({ id: 'rejectComment', isRequired: true });
    expect(nodesOf(showCard, 'Action.Execute').map((a) => a.verb)).toEqual(['reject']);
  });

  it('shows a decided request without buttons or inputs', () => {
    const decided = renderTeamsCard(
      sampleCard({
        status: 'approved',
        actions: [],
        decidedAt: '2026-11-29T17:10:00.000Z',
        approvalsReceived: 2,
      }),
    );
    expect(decided.actions).toBeUndefined();
    expect(nodesOf(decided, 'Input.Text')).toEqual([]);
    expect(nodesOf(decided, 'TextBlock').map((block) => block.text)).toEqual(['Approved']);
  });

  it(`stays within ${MAX_CARD_BYTES} bytes whatever the agent sends, and says what was left out`, () => {
    const huge = 'x'.repeat(200_000);
    const votes = Array.from({ length: 400 }, (_, i) => ({
      approver: `user:owner${i}@example.gov`,
      decision: 'approve' as const,
      comment: huge.slice(0, 2000),
      channel: 'teams',
      time: '2026-11-29T17:00:00.000Z',
    }));
    const big = renderTeamsCard(
      sampleCard({
        action: { name: 'data.export', args: { blob: huge } },
        justification: huge,
        votes,
        approvalsReceived: 400,
      }),
    );
    const size = Buffer.byteLength(JSON.stringify(big));
    expect(size).toBeLessThanOrEqual(MAX_CARD_BYTES);
    expect(runs(big).join('\n')).toContain('more characters; read the request through the API');
    expect(runs(big).join('\n')).toMatch(/\d+ earlier votes not shown/);
    // Still a working card: the buttons survive.
    expect(nodesOf(big, 'Action.Execute').map((a) => a.verb)).toEqual(['approve', 'reject', 'escalate']);
  });
});
