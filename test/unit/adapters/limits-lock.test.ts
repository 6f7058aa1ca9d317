import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  claimLimitsLock,
  type LimitsLock,
  LimitsLockHeldError,
} from '../../../functions/adapters/sqlite/limits-lock.ts';

describe('Function: claimLimitsLock', () => {
  let dir: string;
  let path: string;
  const held: LimitsLock[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ala-lock-'));
    path = join(dir, 'limits.lock');
  });
  afterEach(() => {
    for (const lock of held.splice(0)) lock.release();
    rmSync(dir, { recursive: true, force: true });
  });
  const claim = (mode: 'sole' | 'shared') => {
    const lock = claimLimitsLock(path, mode);
    held.push(lock);
    return lock;
  };

  it('creates the file owner-only', () => {
    claim('shared');
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('lets one sole holder in, and nobody beside it', () => {
    claim('sole');
    expect(() => claim('sole')).toThrow(LimitsLockHeldError);
    expect(() => claim('shared')).toThrow(LimitsLockHeldError);
  });

  it('lets any number of sharers in, and no sole holder beside them, from the first start on', () => {
    // The file is new: the first sharers must not write it (a write would keep the others out).
    claim('shared');
    claim('shared');
    expect(() => claim('sole')).toThrow(LimitsLockHeldError);
  });

  it('is free again once released', () => {
    claim('sole').release();
    const shared = claim('shared');
    shared.release();
    expect(claim('sole').mode).toBe('sole');
  });

  it('is released when the process holding it dies', async () => {
    // Prepare: another process takes the sole lock and is killed while it holds it.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { claimLimitsLock } = await import(${JSON.stringify(
          join(process.cwd(), 'functions/adapters/sqlite/limits-lock.ts'),
        )});
         claimLimitsLock(${JSON.stringify(path)}, 'sole');
         process.stdout.write('held\\n');
         setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('held')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`holder exited early (${code})`)));
    });
    expect(() => claim('shared')).toThrow(LimitsLockHeldError);

    // Act
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    // Assert
    expect(claim('sole').mode).toBe('sole');
  });
});
