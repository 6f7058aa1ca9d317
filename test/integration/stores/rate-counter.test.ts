import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
});
