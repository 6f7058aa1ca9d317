/**
 * The audit hash vectors checked by an implementation that shares no code with the gateway:
 * RFC 8785 and SHA-256 in Python (test/fixtures/audit-hash-vectors.py). Slow project: needs python3.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CHECK = join(ROOT, 'test/fixtures/audit-hash-vectors.py');
const VECTORS = join(ROOT, 'test/fixtures/audit-hash-vectors.json');

function python(file: string) {
  const result = spawnSync('python3', [CHECK, file], { encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw new Error(`python3 could not run (install Python 3.9+): ${result.error.message}`);
  return result;
}

describe('Audit hash vectors, independently in Python', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ala-vectors-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('agree with an independent RFC 8785 canonicalization and SHA-256', () => {
    const result = python(VECTORS);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/canonical text and hashes agree/);
  });

  it('would notice a vector file whose canonical text was changed', () => {
    const doc = JSON.parse(readFileSync(VECTORS, 'utf8')) as { events: { canonical: string }[] };
    const first = doc.events[0];
    if (!first) throw new Error('the vector file has no events');
    // Reorder two keys: still valid JSON, no longer canonical.
    first.canonical = first.canonical.replace('{"actor":', '{ "actor":');
    const copy = join(dir, 'changed.json');
    writeFileSync(copy, JSON.stringify(doc));
    const result = python(copy);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('event 1: canonical text differs');
    copyFileSync(VECTORS, join(dir, 'same.json'));
    expect(python(join(dir, 'same.json')).status).toBe(0);
  });
});
