/**
 * The replay guards through the port's contract (SQLite, DynamoDB on DynamoDB Local), and
 * what only one adapter does: the DynamoDB guard failing closed, the SQLite guard surviving a reopen.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DynamoDbReplayGuard } from '../../../functions/adapters/aws/replay-guard.ts';
import { ensureTables } from '../../../functions/adapters/dynamodb/tables.ts';
import { SqliteReplayGuard } from '../../../functions/adapters/sqlite/sqlite-replay-guard.ts';
import { StoreUnavailableError } from '../../../functions/core/errors.ts';
import { describeReplayGuardContract } from '../../contract/replay-guard.contract.ts';
import { dynamoClient, uniqueName } from '../../harness/index.ts';

describeReplayGuardContract(
  'SQLite (file, two connections as two gateway processes would hold)',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ala-replay-'));
    let offset = 0;
    const now = () => Date.now() + offset;
    const guard = new SqliteReplayGuard({ path: join(dir, 'replay.db'), now });
    const peer = new SqliteReplayGuard({ path: join(dir, 'replay.db'), now });
    return {
      guard,
      peer,
      advance: (ms) => {
        offset += ms;
      },
      close: async () => {
        guard.close();
        peer.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  { peer: true, clock: true },
);

describeReplayGuardContract(
  'DynamoDB (DynamoDB Local)',
  async () => {
    const dynamo = dynamoClient();
    const tables = { requests: uniqueName('ala-requests'), audit: uniqueName('ala-audit') };
    await ensureTables(dynamo, tables);
    return {
      guard: new DynamoDbReplayGuard(dynamo, { tableName: tables.requests }),
      peer: new DynamoDbReplayGuard(dynamo, { tableName: tables.requests }),
      close: async () => dynamo.destroy(),
    };
  },
  { peer: true, clock: false },
);

describe('DynamoDB replay guard', () => {
  const dynamo = dynamoClient();
  afterAll(() => dynamo.destroy());

  it('fails closed when the table cannot be written', async () => {
    const missing = new DynamoDbReplayGuard(dynamo, { tableName: uniqueName('no-such-table') });
    await expect(missing.firstSeen('slack:v0=x', new Date(Date.now() + 60_000))).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
  });
});

describe('SQLite replay guard', () => {
  it('still refuses a key after the file is closed and opened again, as after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ala-replay-'));
    try {
      const path = join(dir, 'replay.db');
      const until = new Date(Date.now() + 300_000);
      const before = new SqliteReplayGuard({ path });
      expect(await before.firstSeen('slack:v0=restart', until)).toBe(true);
      before.close();
      const after = new SqliteReplayGuard({ path });
      expect(await after.firstSeen('slack:v0=restart', until)).toBe(false);
      after.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
