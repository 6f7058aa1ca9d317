/**
 * Links between the docs hold: every relative Markdown link in README.md and docs/ names a file
 * that exists and, with a #fragment, a heading that exists; every `docs/<page>.md#anchor` written
 * in code or comments does too. Anchors follow GitHub's rule (lower case, punctuation dropped,
 * spaces to hyphens), so headings can be cited as `docs/design.md#43-review-invariants`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');

/** GitHub's heading anchor: lower case, drop what is not a letter, digit, space, hyphen or underscore. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsIn(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const match of text.matchAll(/^#{1,6}\s+(.+)$/gm)) {
    const base = anchorOf(match[1] ?? '');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

function markdownFiles(): string[] {
  const docs = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? docs(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : [],
    );
  return [join(ROOT, 'README.md'), ...docs(join(ROOT, 'docs'))];
}

function problem(target: string, fragment: string | undefined): string | undefined {
  if (!existsSync(target)) return 'no such file';
  if (fragment && target.endsWith('.md') && !anchorsIn(target).has(fragment))
    return `no heading #${fragment}`;
  return undefined;
}

describe('Documentation links', () => {
  it('computes anchors the way GitHub does', () => {
    expect(anchorOf('4.3 Review invariants')).toBe('43-review-invariants');
    expect(anchorOf('2. Who uses it, and how')).toBe('2-who-uses-it-and-how');
    expect(anchorOf('`audit show` and `audit verify`')).toBe('audit-show-and-audit-verify');
    expect(anchorOf('cdk-nag')).toBe('cdk-nag');
  });

  it('every relative link in README.md and docs/ reaches an existing file and heading', () => {
    const broken: string[] = [];
    let checked = 0;
    for (const file of markdownFiles()) {
      const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = match[1] ?? '';
        if (/^[a-z]+:/i.test(link)) continue; // http:, https:, mailto:
        const [path = '', fragment] = link.split('#');
        const target = path === '' ? file : resolve(dirname(file), path);
        checked++;
        const why = problem(target, fragment);
        if (why) broken.push(`${relative(ROOT, file)}: (${link}) ${why}`);
      }
    }
    expect(checked).toBeGreaterThan(10);
    expect(broken).toEqual([]);
  });

  it('every docs/<page>.md#anchor cited in code, scripts, tests and docs text exists', () => {
    const tracked = execFileSync(
      'git',
      ['ls-files', 'functions', 'client', 'cdk', 'scripts', 'test', 'bench', 'policies', 'docs', 'README.md'],
      {
        cwd: ROOT,
        encoding: 'utf8',
      },
    )
      .split('\n')
      .filter((f) => /\.(ts|mjs|js|sh|rego|md)$/.test(f));
    const broken: string[] = [];
    let checked = 0;
    for (const file of tracked) {
      if (!existsSync(join(ROOT, file))) continue;
      for (const match of readFileSync(join(ROOT, file), 'utf8').matchAll(/docs\/([\w./-]+\.md)#([\w-]+)/g)) {
        checked++;
        const why = problem(join(ROOT, 'docs', match[1] ?? ''), match[2]);
        if (why) broken.push(`${file}: docs/${match[1]}#${match[2]} ${why}`);
      }
    }
    // At least docs/design.md's own example of a citation.
    expect(checked).toBeGreaterThan(0);
    expect(broken).toEqual([]);
  });
});
