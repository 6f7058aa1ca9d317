import { describe, expect, it } from 'vitest';
import { appendEvents } from '../../../functions/core/audit.ts';
import {
  type ArchiveEntry,
  type ArchiveReport,
  ArchiveVerifier,
  buildCheckpoint,
  checkpointKey,
  entryHeads,
  eventsObjectBody,
  eventsObjectKey,
  merkleRoot,
  objectDigest,
  toCloudEvent,
} from '../../../functions/core/audit-archive.ts';
import { type AuditEvent, GENESIS_HASH } from '../../../functions/core/model.ts';

const SOURCE = 'ala-gateway/audit/test';

function chain(requestId: string, length: number, time = '2026-11-29T17:04:05.000Z'): AuditEvent[] {
  const drafts = Array.from({ length }, (_, i) => ({
    type: i === 0 ? ('request.submitted' as const) : ('review.recorded' as const),
    actor: `user:r${i}@example.gov`,
    data: { n: i, note: 'é ✓' },
  }));
  return appendEvents(requestId, { seq: 0, hash: GENESIS_HASH }, time, drafts).events;
}

/** Interleaves the chains as a stream would deliver them, numbering positions from 1. */
function interleave(chains: AuditEvent[][]): ArchiveEntry[] {
  const entries: ArchiveEntry[] = [];
  const longest = Math.max(...chains.map((c) => c.length));
  for (let i = 0; i < longest; i++) {
    for (const c of chains) {
      const event = c[i];
      if (event)
        entries.push({ kind: 'event', change: 'INSERT', position: String(100 + entries.length), event });
    }
  }
  return entries;
}

type Files = Map<string, string>;

/** The archive as the archiver writes it: objects of `size` entries, each with its checkpoint. */
function archive(entries: ArchiveEntry[], size: number): Files {
  const files: Files = new Map();
  for (let i = 0; i < entries.length; i += size) {
    const chunk = entries.slice(i, i + size);
    const body = eventsObjectBody(chunk, SOURCE);
    const key = eventsObjectKey(chunk);
    files.set(key, body);
    const checkpoint = buildCheckpoint(
      SOURCE,
      [{ key, sha256: objectDigest(body), lines: chunk.length }],
      entryHeads(chunk),
    );
    files.set(checkpointKey(chunk), JSON.stringify(checkpoint));
  }
  return files;
}

function verify(files: Files, options: Parameters<ArchiveVerifier['report']>[0] = {}): ArchiveReport {
  const verifier = new ArchiveVerifier();
  // Fed in reverse to show the order of feeding does not matter.
  for (const [key, text] of [...files].reverse()) {
    if (key.startsWith('checkpoints/')) verifier.addCheckpoint(key, text);
    else verifier.addObject(key, text);
  }
  return verifier.report(options);
}

function lines(files: Files, key: string): string[] {
  return (files.get(key) ?? '').split('\n').filter((l) => l !== '');
}

function eventKeys(files: Files): string[] {
  return [...files.keys()].filter((k) => k.startsWith('events/')).sort();
}

function result(report: ArchiveReport, id: string) {
  const found = report.requests.find((r) => r.request_id === id);
  if (!found) throw new Error(`no result for ${id}`);
  return found;
}

/** Rewrites the line holding (request, seq) in whichever object has it. */
function editLine(
  files: Files,
  requestId: string,
  seq: number,
  edit: (line: string, all: string[], index: number) => string[],
): void {
  for (const key of eventKeys(files)) {
    const all = lines(files, key);
    const index = all.findIndex((l) => {
      const data = (JSON.parse(l) as { data: AuditEvent }).data;
      return data.request_id === requestId && data.seq === seq;
    });
    if (index >= 0) {
      files.set(key, `${edit(all[index] as string, all, index).join('\n')}\n`);
      return;
    }
  }
  throw new Error(`no line for ${requestId} seq ${seq}`);
}

describe('audit archive format', () => {
  it('wraps each event in a deterministic CloudEvents 1.0 envelope whose data is the event itself', () => {
    const [event] = chain('ar_A', 1) as [AuditEvent];
    const entry: ArchiveEntry = { kind: 'event', change: 'INSERT', position: '42', event };
    const envelope = toCloudEvent(entry, SOURCE);
    expect(envelope).toEqual({
      specversion: '1.0',
      id: 'ar_A/1',
      source: SOURCE,
      type: 'ala.audit.request.submitted',
      subject: 'ar_A',
      time: event.time,
      datacontenttype: 'application/json',
      alachange: 'INSERT',
      alaposition: '42',
      data: event,
    });
    expect(eventsObjectBody([entry], SOURCE)).toBe(eventsObjectBody([entry], SOURCE));
  });

  it('keys objects by the hour of their first event and the stream positions they hold, padded to sort', () => {
    const entries = interleave([chain('ar_A', 2)]);
    expect(eventsObjectKey(entries)).toBe(
      `events/2026/11/29/17/${'100'.padStart(40, '0')}-${'101'.padStart(40, '0')}.jsonl`,
    );
    expect(checkpointKey(entries)).toBe(
      `checkpoints/2026/11/29/17/${'100'.padStart(40, '0')}-${'101'.padStart(40, '0')}.json`,
    );
    expect(() => eventsObjectKey([])).toThrow(/at least one entry/);
  });

  it('computes the RFC 6962 Merkle tree hash over the heads, so any changed head changes the root', () => {
    const heads = [
      { request_id: 'ar_A', seq: 3, hash: `sha256:${'a'.repeat(64)}` },
      { request_id: 'ar_B', seq: 1, hash: `sha256:${'b'.repeat(64)}` },
      { request_id: 'ar_C', seq: 9, hash: `sha256:${'c'.repeat(64)}` },
    ];
    // Empty tree: the hash of the empty string (RFC 6962 §2.1).
    expect(merkleRoot([])).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const root = merkleRoot(heads);
    expect(root).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(merkleRoot(heads)).toBe(root);
    expect(merkleRoot([heads[0], { ...heads[1], seq: 2 }, heads[2]] as typeof heads)).not.toBe(root);
    expect(merkleRoot(heads.slice(0, 2))).not.toBe(root);
  });
});

describe('ArchiveVerifier', () => {
  const A = 'ar_01AAAAAAAAAAAAAAAAAAAAAAAA';
  const B = 'ar_01BBBBBBBBBBBBBBBBBBBBBBBB';
  const fresh = (): Files => archive(interleave([chain(A, 7), chain(B, 5)]), 4);

  it('reports every request complete in an untouched archive, with one digest over the verified heads', () => {
    const report = verify(fresh());
    expect(report.ok).toBe(true);
    expect(report.problems).toEqual([]);
    expect(report.requests.map((r) => [r.request_id, r.status, r.count, r.head?.seq])).toEqual([
      [A, 'complete', 7, 7],
      [B, 'complete', 5, 5],
    ]);
    expect(report.objects).toBe(3);
    expect(report.checkpoints).toBe(3);
    expect(report.events).toBe(12);
    expect(report.digest).toBe(verify(fresh()).digest);
  });

  it('counts an identical copy of an event (a redelivered batch) once and stays complete', () => {
    const files = fresh();
    const entries = interleave([chain(A, 7), chain(B, 5)]);
    // The same two records archived again in an object of their own, as after a lost response.
    const again = entries.slice(2, 4);
    const body = eventsObjectBody(again, SOURCE);
    files.set(eventsObjectKey(again), body);
    files.set(
      checkpointKey(again),
      JSON.stringify(
        buildCheckpoint(
          SOURCE,
          [{ key: eventsObjectKey(again), sha256: objectDigest(body), lines: 2 }],
          entryHeads(again),
        ),
      ),
    );
    const report = verify(files);
    expect(report.ok).toBe(true);
    expect(report.duplicates).toBe(2);
    expect(result(report, A).count).toBe(7);
  });

  it('catches a modified event, naming the request and its seq', () => {
    const files = fresh();
    editLine(files, A, 3, (line, all, i) => {
      all[i] = line.replace('user:r2@example.gov', 'user:mallory@example.gov');
      return all;
    });
    const report = verify(files);
    expect(report.ok).toBe(false);
    expect(result(report, A)).toMatchObject({ status: 'broken', first_bad_seq: 3 });
    expect(result(report, A).problems).toContainEqual(
      expect.objectContaining({ code: 'hash_mismatch', request_id: A, seq: 3 }),
    );
    expect(report.problems).toContainEqual(expect.objectContaining({ code: 'object_modified' }));
    expect(result(report, B).status).toBe('complete');
  });

  it('catches a deleted event in the middle as missing at its seq', () => {
    const files = fresh();
    editLine(files, B, 2, (_line, all, i) => all.filter((_, j) => j !== i));
    const report = verify(files);
    expect(result(report, B)).toMatchObject({ status: 'missing_events', first_bad_seq: 2 });
    expect(result(report, B).problems).toContainEqual(
      expect.objectContaining({
        code: 'seq_gap',
        request_id: B,
        seq: 2,
        message: expect.stringMatching(/expected seq 2, found 3/),
      }),
    );
  });

  it('catches a deleted tail: the checkpoint demands a seq the chain no longer reaches', () => {
    const files = fresh();
    editLine(files, A, 7, (_line, all, i) => all.filter((_, j) => j !== i));
    const report = verify(files);
    expect(result(report, A)).toMatchObject({ first_bad_seq: 7, head: { seq: 6 } });
    expect(result(report, A).problems).toContainEqual(
      expect.objectContaining({
        code: 'head_mismatch',
        request_id: A,
        seq: 7,
        message: expect.stringMatching(/events 7\.\.7 are missing/),
      }),
    );
  });

  it('catches a tail deleted together with its object and checkpoint only with an expected head from elsewhere', () => {
    const files = fresh();
    const lastKey = eventKeys(files).at(-1) as string;
    const before = verify(files);
    files.delete(lastKey);
    files.delete(lastKey.replace(/^events\//, 'checkpoints/').replace(/\.jsonl$/, '.json'));
    const expectedA = result(before, A).head as { seq: number; hash: string };
    const without = verify(files);
    const withExpectation = verify(files, { expect: new Map([[A, expectedA]]) });
    // Cut at an object boundary with its checkpoint, the rest is self-consistent ...
    expect(result(without, A).count).toBeLessThan(7);
    // ... which is what --expect-head / --expect-seq (or the digest recorded before) are for.
    expect(without.digest).not.toBe(before.digest);
    expect(withExpectation.ok).toBe(false);
    expect(result(withExpectation, A)).toMatchObject({ status: 'missing_events' });
    expect(result(withExpectation, A).problems).toContainEqual(
      expect.objectContaining({
        code: 'expectation_unmet',
        request_id: A,
        message: expect.stringMatching(/end at seq 7/),
      }),
    );
  });

  it('catches two reordered events, naming the first out of place', () => {
    const files = fresh();
    const key = eventKeys(files)[0] as string;
    const all = lines(files, key);
    // Lines 0..3: A1, B1, A2, B2 — swap A2 and B1's neighbour A1 → A2 before A1.
    [all[0], all[2]] = [all[2] as string, all[0] as string];
    files.set(key, `${all.join('\n')}\n`);
    const report = verify(files);
    expect(result(report, A)).toMatchObject({ status: 'broken', first_bad_seq: 1 });
    expect(result(report, A).problems).toContainEqual(
      expect.objectContaining({
        code: 'seq_gap',
        request_id: A,
        seq: 1,
        message: expect.stringMatching(/expected seq 1, found 2/),
      }),
    );
  });

  it('catches a forged event inserted with a correct hash: it has no checkpoint', () => {
    const files = fresh();
    const real = chain(A, 7);
    const forged = appendEvents(
      A,
      { seq: 7, hash: (real[6] as AuditEvent).hash },
      '2026-11-29T18:00:00.000Z',
      [{ type: 'grant.redeemed', actor: 'user:mallory@example.gov', data: {} }],
    ).events[0] as AuditEvent;
    const key = eventKeys(files).at(-1) as string;
    files.set(
      key,
      `${files.get(key)}${JSON.stringify(toCloudEvent({ kind: 'event', change: 'INSERT', position: '999', event: forged }, SOURCE))}\n`,
    );
    const report = verify(files);
    expect(result(report, A).status).not.toBe('complete');
    expect(result(report, A).problems).toContainEqual(
      expect.objectContaining({
        code: 'head_mismatch',
        request_id: A,
        seq: 8,
        message: expect.stringMatching(/past the last checkpointed head seq 7/),
      }),
    );
    expect(report.problems).toContainEqual(expect.objectContaining({ code: 'object_modified', key }));
  });

  it('catches a forged event put in place of a real one as a rewrite of that seq', () => {
    const files = fresh();
    const forged = appendEvents(
      B,
      { seq: 3, hash: (chain(B, 3)[2] as AuditEvent).hash },
      '2026-11-29T18:00:00.000Z',
      [{ type: 'request.approved', actor: 'user:mallory@example.gov', data: {} }],
    ).events[0] as AuditEvent;
    const key = eventKeys(files).at(-1) as string;
    files.set(
      key,
      `${files.get(key)}${JSON.stringify(toCloudEvent({ kind: 'event', change: 'MODIFY', position: '999', event: forged }, SOURCE))}\n`,
    );
    const report = verify(files);
    expect(result(report, B).problems).toContainEqual(
      expect.objectContaining({ code: 'rewritten', request_id: B, seq: 4 }),
    );
    expect(result(report, B).status).toBe('broken');
  });

  it('catches a deleted events object its checkpoint vouches for, and an altered checkpoint', () => {
    const files = fresh();
    const middle = eventKeys(files)[1] as string;
    files.delete(middle);
    const checkpoint = [...files.keys()].find((k) => k.startsWith('checkpoints/')) as string;
    files.set(checkpoint, (files.get(checkpoint) as string).replace('"seq":2', '"seq":1'));
    const report = verify(files);
    expect(report.problems).toContainEqual(expect.objectContaining({ code: 'object_missing', key: middle }));
    expect(report.problems).toContainEqual(
      expect.objectContaining({ code: 'checkpoint_invalid', key: checkpoint }),
    );
    expect(result(report, A).problems).toContainEqual(
      expect.objectContaining({ code: 'seq_gap', request_id: A }),
    );
  });

  it('gives the same report when asked twice', () => {
    const files = fresh();
    files.delete(eventKeys(files)[1] as string);
    const verifier = new ArchiveVerifier();
    for (const [key, text] of files) {
      if (key.startsWith('checkpoints/')) verifier.addCheckpoint(key, text);
      else verifier.addObject(key, text);
    }
    const first = verifier.report();
    expect(first.problems.length).toBeGreaterThan(0);
    expect(verifier.report()).toEqual(first);
  });

  it('reports table items that were removed or are not audit events', () => {
    const entries: ArchiveEntry[] = [
      ...interleave([chain(A, 2)]),
      { kind: 'removed', position: '500', time: '2026-11-29T17:05:00.000Z', requestId: A, seq: 2 },
      {
        kind: 'unreadable',
        change: 'INSERT',
        position: '501',
        time: '2026-11-29T17:05:00.000Z',
        reason: 'no seq',
        item: { request_id: A },
      },
    ];
    const report = verify(archive(entries, 10));
    expect(
      result(report, A)
        .problems.map((p) => p.code)
        .sort(),
    ).toEqual(['removed', 'unreadable']);
    expect(result(report, A).status).toBe('broken');
  });

  it('holds a request to --expect-seq and --expect-head, and limits the report to it', () => {
    const files = fresh();
    const head = result(verify(files), B).head as { seq: number; hash: string };
    const good = verify(files, { only: new Set([B]), expect: new Map([[B, head]]) });
    const wrong = verify(files, { only: new Set([B]), expect: new Map([[B, { seq: 6 }]]) });
    expect(good.ok).toBe(true);
    expect(good.requests.map((r) => r.request_id)).toEqual([B]);
    expect(wrong.ok).toBe(false);
    expect(result(wrong, B)).toMatchObject({ status: 'missing_events', first_bad_seq: 6 });
  });
});
