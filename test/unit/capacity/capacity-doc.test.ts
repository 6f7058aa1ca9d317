/**
 * docs/capacity.md cannot drift from the model: the capacity script, run on the committed inputs
 * (capacity/*.json), prints exactly the tables the page holds between its markers.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { BEGIN_MARKER, blockOf, END_MARKER, replaceBlock } from '../../../scripts/capacity/render.ts';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const run = promisify(execFile);
const script = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'scripts/capacity.ts', ...args], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
const scratch = mkdtempSync(join(tmpdir(), 'capacity-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('npm run capacity', () => {
  it('prints the tables docs/capacity.md shows', { timeout: 180_000 }, async () => {
    const { stdout } = await script();
    const doc = readFileSync(join(ROOT, 'docs', 'capacity.md'), 'utf8');
    expect(blockOf(doc)).not.toBe('');
    expect(stdout.trim()).toBe(blockOf(doc));
  });

  it('--check fails when the inputs no longer give the page', { timeout: 180_000 }, async () => {
    cpSync(join(ROOT, 'capacity'), scratch, { recursive: true });
    const mix = JSON.parse(readFileSync(join(scratch, 'mix.json'), 'utf8'));
    mix.approval.longPollShare = 0.1;
    writeFileSync(join(scratch, 'mix.json'), JSON.stringify(mix));
    const failed = await script('--check', '--inputs', scratch).then(
      () => undefined,
      (error: { code?: number; stderr?: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain('run `npm run capacity -- --write`');
  });
});

describe('the page markers', () => {
  it('replaces exactly the text between them', () => {
    const doc = `intro\n${BEGIN_MARKER}\nold\n${END_MARKER}\noutro\n`;
    const next = replaceBlock(doc, 'new table');
    expect(blockOf(next)).toBe('new table');
    expect(next.startsWith('intro\n')).toBe(true);
    expect(next.endsWith(`${END_MARKER}\noutro\n`)).toBe(true);
  });

  it('refuses a page that lost them, saying what to restore', () => {
    expect(() => replaceBlock('no markers here', 'x')).toThrow(/lacks the markers/);
  });
});
