/**
 * Known answers for the audit hash (test/fixtures/audit-hash-vectors.json): the canonical text and
 * hashes are fixed, so a change in the canonicalizer or the hash rule cannot shift hashes unnoticed.
 * The documented verifier (docs/data-model.md) is taken from the page and run on the same vectors.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appendEvents, hashEvent, verifyChain } from '../../../functions/core/audit.ts';
import { canonicalize } from '../../../functions/core/canonical.ts';
import { type AuditEvent, GENESIS_HASH } from '../../../functions/core/model.ts';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');

interface Vectors {
  genesis: string;
  request_id: string;
  events: { event: Omit<AuditEvent, 'hash'>; canonical: string; hash: string }[];
  head: { seq: number; hash: string };
}

const vectors = JSON.parse(
  readFileSync(join(ROOT, 'test/fixtures/audit-hash-vectors.json'), 'utf8'),
) as Vectors;
const events: AuditEvent[] = vectors.events.map(({ event, hash }) => ({ ...event, hash }));
const jsonl = (list: readonly AuditEvent[]) => list.map((e) => `${JSON.stringify(e)}\n`).join('');

describe('Audit hash known-answer vectors', () => {
  it('cover a chain of several events with non-ASCII text, escapes, numbers, nesting and key order', () => {
    expect(vectors.events.length).toBeGreaterThanOrEqual(3);
    const all = vectors.events.map((v) => v.canonical).join('\n');
    expect(all).toContain('Zürich');
    expect(all).toContain('😀'); // a key outside the BMP, sorted by UTF-16 code units
    expect(all).toContain('1e+21');
    expect(all).toContain('0.5');
    expect(all).toContain('\\u0001');
    expect(all).toContain('"deepest":[true,false,null,[],{}]');
  });

  it('the canonicalizer reproduces the exact canonical text of every event', () => {
    for (const { event, canonical } of vectors.events) expect(canonicalize(event)).toBe(canonical);
  });

  it('hashEvent reproduces every hash, and each is sha256 of prev_hash, a newline and the canonical text', () => {
    expect(vectors.genesis).toBe(GENESIS_HASH);
    let prev = GENESIS_HASH;
    for (const { event, canonical, hash } of vectors.events) {
      expect(event.prev_hash).toBe(prev);
      expect(`sha256:${createHash('sha256').update(`${prev}\n${canonical}`, 'utf8').digest('hex')}`).toBe(
        hash,
      );
      expect(hashEvent(event)).toBe(hash);
      prev = hash;
    }
    expect(vectors.head).toEqual({ seq: vectors.events.length, hash: prev });
  });

  it('appendEvents builds the same chain from the same drafts and times', () => {
    let head = { seq: 0, hash: GENESIS_HASH };
    const rebuilt: AuditEvent[] = [];
    for (const { event } of vectors.events) {
      const out = appendEvents(vectors.request_id, head, event.time, [
        { type: event.type, actor: event.actor, data: event.data },
      ]);
      rebuilt.push(...out.events);
      head = out.head;
    }
    expect(rebuilt).toEqual(events);
    expect(head).toEqual(vectors.head);
  });

  it('verifyChain accepts the vectors up to their head, and rejects them with one character changed', () => {
    expect(verifyChain(events, { expectedHead: vectors.head })).toEqual({
      ok: true,
      count: events.length,
      head: vectors.head.hash,
    });
    const tampered = events.map((e) => (e.seq === 3 ? { ...e, actor: `${e.actor} ` } : e));
    expect(verifyChain(tampered)).toMatchObject({
      ok: false,
      problems: [expect.objectContaining({ seq: 3, code: 'hash_mismatch' })],
    });
  });
});

describe('The verifier in docs/data-model.md', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ala-verifier-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The ```js block of the page that starts with the verifier's name, as a reader would copy it. */
  function verifierFromDocs(): string {
    const page = readFileSync(join(ROOT, 'docs/data-model.md'), 'utf8');
    const blocks = [...page.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    const found = blocks.filter((b) => b.startsWith('// verify-chain.mjs'));
    if (found.length !== 1)
      throw new Error(
        `expected one \`\`\`js block starting with "// verify-chain.mjs" in docs/data-model.md, found ${found.length}`,
      );
    return found[0] as string;
  }

  function runVerifier(input: string) {
    const script = join(dir, 'verify-chain.mjs');
    writeFileSync(script, verifierFromDocs());
    return spawnSync(process.execPath, [script], { input, encoding: 'utf8', timeout: 15_000 });
  }

  it('is as short as the page says: twenty lines besides imports and comments', () => {
    const code = verifierFromDocs()
      .split('\n')
      .filter((line) => line.trim() && !line.startsWith('//') && !line.startsWith('import '));
    expect(code.length).toBeLessThanOrEqual(20);
  });

  it('verifies the known-answer chain and prints its head', () => {
    const result = runVerifier(jsonl(events));
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe(`${events.length} events, chain intact, head ${vectors.head.hash}`);
  });

  it('fails, naming the event, when one character of an event changed', () => {
    const tampered = events.map((e) =>
      e.seq === 3
        ? { ...e, data: { ...e.data, comment: String(e.data.comment).replace('Zürich', 'Zurich') } }
        : e,
    );
    expect(JSON.stringify(tampered)).not.toBe(JSON.stringify(events));
    const result = runVerifier(jsonl(tampered));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('chain broken at event 3');
  });

  it('fails when an event was removed from the middle', () => {
    const result = runVerifier(jsonl(events.filter((e) => e.seq !== 2)));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('chain broken at event 2');
  });
});
