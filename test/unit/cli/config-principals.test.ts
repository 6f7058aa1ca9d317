import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../functions/local/config.ts';

describe('local configuration: principals', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function write(principals: unknown): string {
    const dir = mkdtempSync(join(tmpdir(), 'ala-config-'));
    dirs.push(dir);
    const file = join(dir, 'gateway.json');
    writeFileSync(file, JSON.stringify({ principals }));
    return file;
  }

  it.each([
    ['user:Bob@example.gov', 'user:bob@example.gov'],
    ['human:bob@example.gov', 'user:bob@example.gov'],
    ['agent:Exporter.', 'agent:exporter'],
  ])('refuses to start with token id %j, naming the canonical form', (id, canonical) => {
    const file = write([{ token: 'a-token-of-sixteen-chars', id }]);
    expect(() => loadConfig(file)).toThrow(ConfigError);
    expect(() => loadConfig(file)).toThrow(
      `principals.0.id: ${JSON.stringify(id)} is not in canonical form; write "${canonical}"`,
    );
  });

  it('refuses a look-alike letter in a token id', () => {
    const file = write([{ token: 'a-token-of-sixteen-chars', id: 'user:b\u043eb@example.gov' }]);
    expect(() => loadConfig(file)).toThrow(/U\+043E/);
  });

  it('accepts canonical ids', () => {
    const file = write([{ token: 'a-token-of-sixteen-chars', id: 'user:bob@example.gov' }]);
    expect(loadConfig(file).config.principals).toEqual([
      { token: 'a-token-of-sixteen-chars', id: 'user:bob@example.gov' },
    ]);
  });
});
