import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { appendEvents, hashEvent, verifyChain } from '../../../functions/core/audit.ts';
import { canonicalize } from '../../../functions/core/canonical.ts';
import { type AuditEvent, GENESIS_HASH } from '../../../functions/core/model.ts';

function chain(length = 5): AuditEvent[] {
  const drafts = Array.from({ length }, (_, i) => ({
    type: 'notification.sent' as const,
    actor: 'system:notifier',
    data: { n: i, text: 'naïve ✓' },
  }));
  return appendEvents('ar_TEST', { seq: 0, hash: GENESIS_HASH }, '2026-11-22T10:00:00.000Z', drafts).events;
}

describe('Module: audit chain', () => {
  it('hashes each event as sha256 of the previous hash, a newline and the JCS of the event without its hash', () => {
    const [first] = chain(1);
    if (!first) throw new Error('no event');
    const { hash, ...rest } = first;
    // Recomputed the way an auditor would, without our hashEvent.
    const expected = `sha256:${createHash('sha256')
      .update(`${GENESIS_HASH}\n${canonicalize(rest)}`)
      .digest('hex')}`;
    expect(hash).toBe(expected);
    expect(first.prev_hash).toBe(`sha256:${'0'.repeat(64)}`);
    expect(first.seq).toBe(1);
    expect(hashEvent(rest)).toBe(hash);
  });

  it('links every event to the one before it', () => {
    const events = chain();
    events.slice(1).forEach((event, i) => {
      expect(event.prev_hash).toBe(events[i]?.hash);
      expect(event.seq).toBe(i + 2);
    });
    expect(verifyChain(events)).toEqual({ ok: true, count: 5, head: events[4]?.hash });
  });

  it('detects a modified event', () => {
    const events = chain();
    const tampered = events.map((e) => (e.seq === 3 ? { ...e, data: { n: 99 } } : e));
    const verdict = verifyChain(tampered);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok)
      expect(verdict.problems).toContainEqual(expect.objectContaining({ seq: 3, code: 'hash_mismatch' }));
  });

  it('detects a modified event whose hash was recomputed, at the next link', () => {
    const events = chain();
    const third = events[2];
    if (!third) throw new Error('no event');
    const { hash: _, ...rest } = { ...third, actor: 'user:mallory@example.gov' };
    const forged = { ...rest, hash: hashEvent(rest) };
    const verdict = verifyChain(events.map((e) => (e.seq === 3 ? forged : e)));
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) {
      expect(verdict.problems).toContainEqual(
        expect.objectContaining({ seq: 4, code: 'prev_hash_mismatch' }),
      );
    }
  });

  it('detects a removed event', () => {
    const events = chain();
    const verdict = verifyChain(events.filter((e) => e.seq !== 2));
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.problems.map((p) => p.code)).toContain('seq_gap');
  });

  it('detects reordered events', () => {
    const events = chain();
    const [a, b, ...rest] = events;
    if (!a || !b) throw new Error('no events');
    expect(verifyChain([b, a, ...rest]).ok).toBe(false);
  });

  it('detects an inserted event', () => {
    const events = chain();
    const extra = appendEvents(
      'ar_TEST',
      { seq: 2, hash: events[1]?.hash ?? '' },
      '2026-11-22T10:00:01.000Z',
      [{ type: 'review.recorded', actor: 'user:mallory@example.gov', data: {} }],
    ).events;
    expect(verifyChain([...events.slice(0, 2), ...extra, ...events.slice(2)]).ok).toBe(false);
  });

  it('detects events cut off the end only when told the expected head', () => {
    const events = chain();
    const cut = events.slice(0, 3);
    expect(verifyChain(cut).ok).toBe(true);
    const verdict = verifyChain(cut, { expectedHead: { seq: 5, hash: events[4]?.hash ?? '' } });
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.problems.map((p) => p.code)).toEqual(['head_mismatch']);
  });

  it('accepts events written after a known head, but not a chain that lost it', () => {
    const events = chain();
    const known = { seq: 3, hash: events[2]?.hash ?? '' };
    expect(verifyChain(events, { knownHead: known }).ok).toBe(true);
    expect(verifyChain(events.slice(0, 2), { knownHead: known }).ok).toBe(false);
    expect(verifyChain(events, { knownHead: { seq: 3, hash: events[1]?.hash ?? '' } }).ok).toBe(false);
  });

  it('detects an event from another request spliced in', () => {
    const events = chain();
    const other = appendEvents('ar_OTHER', { seq: 0, hash: GENESIS_HASH }, '2026-11-22T10:00:00.000Z', [
      { type: 'notification.sent', actor: 'system:notifier', data: { n: 0, text: 'naïve ✓' } },
    ]).events;
    const verdict = verifyChain([...other, ...events.slice(1)], { requestId: 'ar_TEST' });
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.problems.map((p) => p.code)).toContain('request_mismatch');
  });

  it('reports malformed entries instead of throwing', () => {
    const verdict = verifyChain([null, 42, { seq: 'x' }]);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.problems.every((p) => p.code === 'malformed')).toBe(true);
    expect(verifyChain([]).ok).toBe(false);
  });
});
