import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DecisionLogFile } from '../../../functions/local/decision-log.ts';
import { silentLogger } from '../../../functions/observability/logger.ts';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('Class: DecisionLogFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ala-decisions-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('appends the lines of a turn, in order, once that turn is over; owner-only', async () => {
    const file = join(dir, 'decisions.jsonl');
    const log = new DecisionLogFile(file, silentLogger);

    log.append('{"n":1}');
    log.append('{"n":2}');
    expect(existsSync(file)).toBe(false);
    await nextTurn();
    await nextTurn();

    expect(readFileSync(file, 'utf8')).toBe('{"n":1}\n{"n":2}\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    log.append('{"n":3}');
    await nextTurn();
    await nextTurn();
    expect(readFileSync(file, 'utf8')).toBe('{"n":1}\n{"n":2}\n{"n":3}\n');
    log.close();
  });

  it('writes what is queued when closed, and nothing after', () => {
    const file = join(dir, 'decisions.jsonl');
    const log = new DecisionLogFile(file, silentLogger);

    log.append('{"last":true}');
    log.close();
    log.append('{"late":true}');
    log.flush();

    expect(readFileSync(file, 'utf8')).toBe('{"last":true}\n');
  });

  it('keeps lines already in the file (appends)', () => {
    const file = join(dir, 'decisions.jsonl');
    const first = new DecisionLogFile(file, silentLogger);
    first.append('{"run":1}');
    first.close();

    const second = new DecisionLogFile(file, silentLogger);
    second.append('{"run":2}');
    second.close();

    expect(readFileSync(file, 'utf8')).toBe('{"run":1}\n{"run":2}\n');
  });

  it('logs a failing write once per run of failures and never throws', () => {
    const errors: unknown[] = [];
    const logger = { ...silentLogger, error: (...args: unknown[]) => errors.push(args) };
    const log = new DecisionLogFile(join(dir, 'missing', 'decisions.jsonl'), logger);

    log.append('{"n":1}');
    log.flush();
    log.append('{"n":2}');
    log.flush();

    expect(errors).toHaveLength(1);
    expect(JSON.stringify(errors[0])).toContain('cannot write the decision log');
    log.close();
  });
});
