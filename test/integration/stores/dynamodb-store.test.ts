import { type DynamoDBClient, GetItemCommand, QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbReplayGuard } from '../../../functions/adapters/aws/replay-guard.ts';
import { DynamoDbTaskTokenStore } from '../../../functions/adapters/aws/task-token-store.ts';
import { DynamoDbRateCounter } from '../../../functions/adapters/dynamodb/dynamodb-rate-counter.ts';
import { DynamoDbRequestStore } from '../../../functions/adapters/dynamodb/dynamodb-store.ts';
import {
  ensureTables,
  GROUP_CREATED_INDEX,
  GROUP_DEADLINE_INDEX,
  STATUS_SHARD_INDEX,
  type TableNames,
} from '../../../functions/adapters/dynamodb/tables.ts';
import { ulidIds } from '../../../functions/adapters/system/system.ts';
import { verifyChain } from '../../../functions/core/audit.ts';
import { StoreUnavailableError } from '../../../functions/core/errors.ts';
import * as lifecycle from '../../../functions/core/lifecycle.ts';
import { describeRequestStoreContract, type StoreUnderTest } from '../../contract/request-store.contract.ts';
import { dynamoClient, type EmulatorHandle, startDynamoDbLocal, uniqueName } from '../../harness/index.ts';
import { decision, exportInput } from '../../support/fixtures.ts';

function tableNames(): TableNames {
  return { requests: uniqueName('requests'), audit: uniqueName('audit') };
}

function raw(client: DynamoDBClient, tables: TableNames): StoreUnderTest['raw'] {
  return {
    eventCount: async (id) => {
      const out = await client.send(
        new QueryCommand({
          TableName: tables.audit,
          KeyConditionExpression: 'request_id = :id',
          ExpressionAttributeValues: { ':id': { S: id } },
          Select: 'COUNT',
          ConsistentRead: true,
        }),
      );
      return out.Count ?? 0;
    },
    requestVersion: async (id) => {
      const out = await client.send(
        new GetItemCommand({ TableName: tables.requests, Key: { id: { S: id } }, ConsistentRead: true }),
      );
      const version = out.Item?.version?.N;
      return version === undefined ? undefined : Number(version);
    },
  };
}

describeRequestStoreContract('DynamoDB (DynamoDB Local)', async () => {
  const client = dynamoClient();
  const tables = tableNames();
  await ensureTables(client, tables);
  return {
    store: new DynamoDbRequestStore(client, tables),
    raw: raw(client, tables),
    close: async () => client.destroy(),
  };
});

describe('Class: DynamoDbRequestStore, when DynamoDB fails', () => {
  let own: EmulatorHandle;
  let client: DynamoDBClient;
  let store: DynamoDbRequestStore;
  const tables = tableNames();
  const ids = ulidIds();

  beforeAll(async () => {
    own = await startDynamoDbLocal({ storage: 'disk' });
    client = dynamoClient({
      endpoint: own.endpoint,
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 500, requestTimeout: 1_500, throwOnRequestTimeout: true },
    });
    await ensureTables(client, tables);
    store = new DynamoDbRequestStore(client, tables);
  });

  afterAll(async () => {
    client?.destroy();
    await own?.dispose();
  });

  const submitted = () =>
    lifecycle.submit({
      id: ids.requestId(),
      subject: lifecycle.subjectOf('agent:demo-exporter'),
      input: exportInput,
      decision: decision(),
      now: new Date(),
    });

  it('answers a retryable error while the emulator is down, and commits nothing', async () => {
    await own.stop({ signal: 'SIGKILL' });
    const t = submitted();
    const error = await store.commit(t).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).retryable).toBe(true);
    await expect(store.get(t.request.id)).rejects.toBeInstanceOf(StoreUnavailableError);
    await own.start();
    expect(await store.get(t.request.id)).toBeUndefined();
    expect(await store.listEvents(t.request.id)).toEqual([]);
  });

  it('answers a retryable error when DynamoDB hangs', async () => {
    own.freeze();
    try {
      await expect(store.commit(submitted())).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      own.thaw();
    }
  });

  it('leaves no partial transition when the emulator is killed in the middle of many commits', async () => {
    // 40 requests, each created and then moved on twice, all in flight when the process dies.
    const work = Array.from({ length: 40 }, () => submitted());
    // Kill the emulator once a quarter of the 120 commits are in, with the rest in flight. A commit
    // that starts after the kill began waits until the process is gone, so on a loaded machine the
    // kill cannot trail behind the remaining commits and let them all through.
    let committed = 0;
    let kill: Promise<void> | undefined;
    const commit = async (t: Parameters<typeof store.commit>[0]) => {
      if (kill) await kill;
      await store.commit(t);
      if (++committed === 30) kill = own.stop({ signal: 'SIGKILL' });
    };
    const runs = work.map(async (created) => {
      await commit(created);
      const notified = lifecycle.recordNotification(
        created.request,
        { channel: 'slack', recipients: ['data-owners'] },
        new Date(),
      );
      await commit(notified);
      await commit(lifecycle.cancel(notified.request, 'agent:demo-exporter', new Date()));
    });
    const settled = await Promise.allSettled(runs);
    await kill;
    const failed = settled.filter((r) => r.status === 'rejected');
    expect(failed.length).toBeGreaterThan(0);
    for (const result of failed) {
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError);
    }
    await own.start();
    let complete = 0;
    for (const created of work) {
      const request = await store.get(created.request.id);
      const events = await store.listEvents(created.request.id);
      if (!request) {
        expect(events).toEqual([]);
        continue;
      }
      // Whatever survived is whole: the chain matches the head the request record keeps.
      const verdict = verifyChain(events, {
        expectedHead: { seq: request.auditSeq, hash: request.auditHead },
      });
      expect(verdict.ok).toBe(true);
      expect(events).toHaveLength(3 + (request.version - 1));
      if (request.status === 'cancelled') complete++;
    }
    expect(complete).toBeLessThan(work.length);
  });
});

describe('Class: DynamoDbRequestStore, items that share the requests table', () => {
  it('keeps counters, idempotency keys, task tokens and replay guards out of every index', async () => {
    const client = dynamoClient();
    const tables = tableNames();
    await ensureTables(client, tables);
    const store = new DynamoDbRequestStore(client, tables);
    const ids = ulidIds();
    const created = lifecycle.submit({
      id: ids.requestId(),
      subject: lifecycle.subjectOf('agent:demo-exporter'),
      input: exportInput,
      decision: decision(),
      now: new Date('2026-11-22T10:00:00.000Z'),
    });
    await store.commit({
      ...created,
      idempotency: {
        requester: 'agent:demo-exporter',
        key: 'k-1',
        requestId: created.request.id,
        bodyHash: 'sha256:1',
        createdAt: created.request.createdAt,
      },
      pendingCap: 10,
    });
    const until = new Date(Date.now() + 600_000);
    await new DynamoDbTaskTokenStore(client, { tableName: tables.requests }).put(
      {
        requestId: created.request.id,
        stage: 'notify',
        taskToken: 'token-1',
        storedAt: created.request.createdAt,
      },
      until,
    );
    await new DynamoDbReplayGuard(client, { tableName: tables.requests }).firstSeen('signature-1', until);
    await new DynamoDbRateCounter(client, tables.requests).increment('calls:agent:demo-exporter', 0, 120);

    const all = await client.send(new ScanCommand({ TableName: tables.requests, ConsistentRead: true }));
    const prefixes = new Set((all.Items ?? []).map((item) => String(item.id?.S).replace(/[#_].*$/, '')));
    expect(prefixes).toEqual(new Set(['ar', 'grp', 'pending', 'idem', 'token', 'replay', 'rate']));
    const inIndex = async (index: string) =>
      (
        (await client.send(new ScanCommand({ TableName: tables.requests, IndexName: index }))).Items ?? []
      ).map((item) => String(item.id?.S));
    expect(await inIndex(STATUS_SHARD_INDEX)).toEqual([created.request.id]);
    const pointers = [`grp#${created.request.id}#data-owners`];
    expect(await inIndex(GROUP_CREATED_INDEX)).toEqual(pointers);
    expect(await inIndex(GROUP_DEADLINE_INDEX)).toEqual(pointers);
    client.destroy();
  });
});
