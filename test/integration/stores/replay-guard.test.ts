/**
 * The replay guards: a signature is first seen once, however many callers race with it; the
 * DynamoDB guard on a real table (DynamoDB Local), the memory guard with its own clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbReplayGuard } from '../../../functions/adapters/aws/replay-guard.ts';
import { ensureTables } from '../../../functions/adapters/dynamodb/tables.ts';
import { MemoryReplayGuard } from '../../../functions/adapters/local/replay-guard.ts';
import { StoreUnavailableError } from '../../../functions/core/errors.ts';
import { dynamoClient, uniqueName } from '../../harness/index.ts';

describe('DynamoDB replay guard', () => {
  const dynamo = dynamoClient();
  let guard: DynamoDbReplayGuard;

  beforeAll(async () => {
    const tables = { requests: uniqueName('ala-requests'), audit: uniqueName('ala-audit') };
    await ensureTables(dynamo, tables);
    guard = new DynamoDbReplayGuard(dynamo, { tableName: tables.requests });
  });
  afterAll(() => dynamo.destroy());

  it('lets exactly one of twenty racing deliveries of one signature through, as other instances would race', async () => {
    const until = new Date(Date.now() + 360_000);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => guard.firstSeen('slack:v0=race', until)),
    );
    expect(answers.filter(Boolean)).toHaveLength(1);
    expect(await guard.firstSeen('slack:v0=other', until)).toBe(true);
  });

  it('fails closed when the table cannot be written', async () => {
    const missing = new DynamoDbReplayGuard(dynamo, { tableName: uniqueName('no-such-table') });
    await expect(missing.firstSeen('slack:v0=x', new Date(Date.now() + 60_000))).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
  });
});

describe('memory replay guard', () => {
  it('refuses a key seen within its window and forgets it once the window has passed', async () => {
    let now = 1_000_000;
    const guard = new MemoryReplayGuard(() => now);
    expect(await guard.firstSeen('k', new Date(now + 1000))).toBe(true);
    expect(await guard.firstSeen('k', new Date(now + 1000))).toBe(false);
    now += 1001;
    expect(await guard.firstSeen('k', new Date(now + 1000))).toBe(true);
  });
});
