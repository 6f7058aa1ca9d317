import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { DynamoDbRateCounter } from '../../../functions/adapters/dynamodb/dynamodb-rate-counter.ts';
import { ensureTables } from '../../../functions/adapters/dynamodb/tables.ts';
import { SqliteRateCounter } from '../../../functions/adapters/sqlite/sqlite-rate-counter.ts';
import { describeRateCounterContract } from '../../contract/rate-counter.contract.ts';
import { dynamoClient, uniqueName } from '../../harness/index.ts';

describeRateCounterContract('SQLite (file)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ala-limits-'));
  const counter = new SqliteRateCounter({ path: join(dir, 'limits.db') });
  return {
    counter,
    close: async () => {
      counter.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describeRateCounterContract('DynamoDB (DynamoDB Local)', async () => {
  const client = dynamoClient();
  const tables = { requests: uniqueName('requests'), audit: uniqueName('audit') };
  await ensureTables(client, tables);
  return { counter: new DynamoDbRateCounter(client, tables.requests), close: async () => client.destroy() };
});

describe('Class: SqliteRateCounter', () => {
  it('creates its file owner-only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ala-limits-'));
    new SqliteRateCounter({ path: join(dir, 'limits.db') }).close();
    expect(statSync(join(dir, 'limits.db')).mode & 0o777).toBe(0o600);
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives the increments of one turn the counts they would have got one after the other', async () => {
    // Prepare: two counters on one file, as two gateway processes would share it.
    const dir = mkdtempSync(join(tmpdir(), 'ala-limits-'));
    const path = join(dir, 'limits.db');
    const first = new SqliteRateCounter({ path });
    const second = new SqliteRateCounter({ path });
    try {
      // Act: increments of two keys and two windows, in one turn of the event loop, on both.
      const asked = [
        first.increment('calls:agent:a', 1_800_000_000, 1_800_000_120),
        first.increment('calls:agent:b', 1_800_000_000, 1_800_000_120),
        first.increment('calls:agent:a', 1_800_000_000, 1_800_000_120),
        first.increment('calls:agent:a', 1_800_000_060, 1_800_000_180),
        second.increment('calls:agent:a', 1_800_000_000, 1_800_000_120),
        first.increment('calls:agent:a', 1_800_000_000, 1_800_000_120),
      ];
      const counts = await Promise.all(asked);
      // Assess: each key and window counted exactly, first come first counted within a counter.
      expect(counts.slice(0, 4)).toEqual([counts[0], 1, (counts[0] ?? 0) + 1, 1]);
      expect([counts[0], counts[2], counts[4], counts[5]].sort()).toEqual([1, 2, 3, 4]);
      expect(counts[5]).toBeGreaterThan(counts[2] ?? 0);
      expect(await second.increment('calls:agent:a', 1_800_000_000, 1_800_000_120)).toBe(5);
    } finally {
      first.close();
      second.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('waits for another process to release its lock, then counts every increment once', async () => {
    // Prepare: another connection holds the write lock.
    const dir = mkdtempSync(join(tmpdir(), 'ala-limits-'));
    const path = join(dir, 'limits.db');
    const counter = new SqliteRateCounter({ path, busyTimeoutMs: 5000 });
    const other = new Database(path);
    try {
      other.exec('BEGIN IMMEDIATE');
      // Act: increments while it is held, then it is released.
      const counts = Promise.all(
        Array.from({ length: 5 }, () => counter.increment('calls:agent:a', 1_800_000_000, 1_800_000_120)),
      );
      await new Promise((resolve) => setTimeout(resolve, 30));
      const later = counter.increment('calls:agent:a', 1_800_000_000, 1_800_000_120);
      other.exec('COMMIT');
      // Assess
      expect(await counts).toEqual([1, 2, 3, 4, 5]);
      expect(await later).toBe(6);
    } finally {
      other.close();
      counter.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses with 503 once the lock is held past its wait', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ala-limits-'));
    const path = join(dir, 'limits.db');
    const counter = new SqliteRateCounter({ path, busyTimeoutMs: 50 });
    const other = new Database(path);
    try {
      other.exec('BEGIN IMMEDIATE');
      await expect(counter.increment('calls:agent:a', 1_800_000_000, 1_800_000_120)).rejects.toMatchObject({
        code: 'store_unavailable',
      });
      other.exec('COMMIT');
      expect(await counter.increment('calls:agent:a', 1_800_000_000, 1_800_000_120)).toBe(1);
    } finally {
      other.close();
      counter.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
