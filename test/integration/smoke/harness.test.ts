// The harness' own guarantees: emulators die with whoever started them, prerequisites fail with one
// clear line, resource names are valid and unique.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HarnessPrerequisiteError, isValidBucketName, uniqueName, waitFor } from '../../harness/index.ts';
import {
  checkDynamoDbLocalInstall,
  checkJava,
  checkMotoInstall,
  parseJavaVersion,
} from '../../harness/prereqs.ts';

const FIXTURE = fileURLToPath(new URL('../../harness/fixtures/guarded-parent.mjs', import.meta.url));

/** Whether `pid` runs; a zombie (dead, not yet reaped by its new parent) counts as dead. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

interface Started {
  parent: ChildProcess;
  guard: number;
  child: number;
  pdeathsig: boolean;
}

/** Runs the fixture: a parent process with `sleep 600` under a guard, as the harness runs emulators. */
async function startGuardedSleep(): Promise<Started> {
  const parent = spawn(process.execPath, [FIXTURE], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    parent.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const newline = buffer.indexOf('\n');
      if (newline >= 0) resolve(buffer.slice(0, newline));
    });
    parent.once('exit', (code) => reject(new Error(`fixture exited early with ${code}`)));
    setTimeout(() => reject(new Error('fixture did not report within 10 s')), 10_000).unref();
  });
  const parsed: unknown = JSON.parse(line);
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    !('guard' in parsed) ||
    !('child' in parsed) ||
    typeof parsed.guard !== 'number' ||
    typeof parsed.child !== 'number'
  ) {
    throw new Error(`unexpected fixture output ${line}`);
  }
  const pdeathsig = 'pdeathsig' in parsed && parsed.pdeathsig === true;
  return { parent, guard: parsed.guard, child: parsed.child, pdeathsig };
}

function gone(pid: number, what: string): Promise<true> {
  return waitFor(() => (alive(pid) ? undefined : true), { what, timeoutMs: 5000, intervalMs: 50 });
}

describe('guard processes', () => {
  it('kill the guarded process when the process that started it is SIGKILLed', async () => {
    const { parent, guard, child } = await startGuardedSleep();
    expect(alive(child)).toBe(true);
    parent.kill('SIGKILL');
    await gone(child, `guarded sleep ${child} to die with its starter`);
    await gone(guard, `guard ${guard} to exit`);
  });

  it.runIf(process.platform === 'linux')(
    'take the guarded process down with them even when the guard itself is SIGKILLed (pdeathsig)',
    async () => {
      const { parent, guard, child, pdeathsig } = await startGuardedSleep();
      try {
        expect(pdeathsig).toBe(true);
        process.kill(guard, 'SIGKILL');
        await gone(child, `guarded sleep ${child} to die with its guard`);
      } finally {
        parent.kill('SIGKILL');
      }
    },
  );
});

describe('prerequisites', () => {
  it('name what to run when .tools is not installed, in one line', () => {
    for (const check of [checkDynamoDbLocalInstall, checkMotoInstall]) {
      let error: unknown;
      try {
        check('/nonexistent/.tools');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(HarnessPrerequisiteError);
      const message = (error as Error).message;
      expect(message).toContain('bash scripts/tools.sh');
      expect(message).not.toContain('\n');
      expect((error as Error).stack).toBe(`HarnessPrerequisiteError: ${message}`);
    }
  });

  it('say how to get Java when it is missing', async () => {
    const error = await checkJava({ PATH: '/nonexistent' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HarnessPrerequisiteError);
    expect((error as Error).message).toMatch(/^java not found: install a Java 17\+ runtime/);
  });

  it('parse java -version output', () => {
    expect(parseJavaVersion('openjdk version "17.0.15" 2025-04-15')).toEqual({
      major: 17,
      version: '17.0.15',
    });
    expect(parseJavaVersion('java version "1.8.0_392"')).toEqual({ major: 8, version: '1.8.0_392' });
    expect(parseJavaVersion('openjdk version "21" 2023-09-19')).toEqual({ major: 21, version: '21' });
    expect(parseJavaVersion('no version here')).toBeUndefined();
  });
});

describe('uniqueName', () => {
  it('is unique and valid for S3 buckets, DynamoDB tables, state machines and queues', () => {
    const names = Array.from({ length: 2000 }, () => uniqueName('Smoke_Test.Table'));
    expect(new Set(names).size).toBe(names.length);
    for (const name of names.slice(0, 50)) {
      expect(name).toMatch(/^smoke-test-table-[a-z0-9]{11}$/);
      expect(isValidBucketName(name)).toBe(true);
    }
    const long = uniqueName('x'.repeat(200));
    expect(long.length).toBeLessThanOrEqual(63);
    expect(isValidBucketName(long)).toBe(true);
    expect(isValidBucketName(uniqueName('--'))).toBe(true);
    expect(isValidBucketName('Not_Valid')).toBe(false);
  });
});
