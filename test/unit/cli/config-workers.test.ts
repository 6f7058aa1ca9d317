import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { workerStart } from '../../../functions/local/cluster.ts';
import { ConfigError, loadConfig } from '../../../functions/local/config.ts';
import { main } from '../../../functions/local/main.ts';

describe('local configuration: workers', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function write(config: unknown): string {
    const dir = mkdtempSync(join(tmpdir(), 'ala-config-'));
    dirs.push(dir);
    const file = join(dir, 'gateway.json');
    writeFileSync(file, JSON.stringify(config));
    return file;
  }

  it('defaults to one process', () => {
    expect(loadConfig(write({})).config.workers).toBe(1);
  });

  it('accepts auto (one per core)', () => {
    expect(loadConfig(write({ workers: 'auto' })).config.workers).toBe('auto');
  });

  it('accepts a number of processes', () => {
    expect(loadConfig(write({ workers: 2 })).config.workers).toBe(2);
  });

  it.each([0, 65, 1.5, 'many'])('refuses workers %j, naming the key', (workers) => {
    expect(() => loadConfig(write({ workers }))).toThrow(ConfigError);
    expect(() => loadConfig(write({ workers }))).toThrow(/workers/);
  });

  it.each(['0', 'two', '65'])('refuses --workers %j before starting anything', async (value) => {
    await expect(main(['--workers', value, '--config', write({})], { handleSignals: false })).rejects.toThrow(
      `--workers must be a whole number from 1 to 64, or auto; got "${value}"`,
    );
  });

  it('refuses to run as a worker without what the primary hands it', () => {
    expect(() => workerStart({})).toThrow(/ALA_WORKER_INDEX, ALA_WORKER_COUNT and ALA_WORKER_SESSION_SECRET/);
    expect(
      workerStart({
        ALA_WORKER_INDEX: '1',
        ALA_WORKER_COUNT: '2',
        ALA_WORKER_SESSION_SECRET: 'k'.repeat(43),
      }),
    ).toEqual({ index: 1, workers: 2, sessionSecret: 'k'.repeat(43) });
  });
});
