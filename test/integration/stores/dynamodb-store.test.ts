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

  /** Waits until the emulator answers (a busy machine may take seconds after a restart or a thaw). */
  const untilServing = async () => {
    for (let attempt = 0; ; attempt++) {
      try {
        await store.get('ar_probe');
        return;
      } catch (error) {
        if (attempt >= 60) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  };

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

  it('sends each commit as one transaction, and answers every commit in flight when the emulator is killed with a retryable error', async () => {
    // Atomicity and durability are DynamoDB's TransactWriteItems guarantees; what the store owns
    // is putting the request and every event of a transition into that one call, checked here on
    // what was sent. DynamoDB Local keeps neither guarantee across a SIGKILL (seen here: a
    // request's events without its record, and an acknowledged version gone after the restart),
    // so what survives the emulator's crash says nothing about the store and is not asserted; the
    // SQLite store's kill -9 tests show crash safety for the store the gateway runs locally.
    const sent: { requestId: string; eventSeqs: number[]; requestWrites: number }[] = [];
    // Attribute values as the document client passes them (plain) or marshalled ({ S } / { N }).
    const plain = (value: unknown): string =>
      String(value && typeof value === 'object' ? Object.values(value)[0] : value);
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'TransactWriteItemsCommand') {
          type Write = { TableName?: string; Item?: Record<string, unknown>; Key?: Record<string, unknown> };
          const items = (args.input as { TransactItems: Record<string, Write>[] }).TransactItems;
          const writes = items.map((item) => Object.values(item)[0]);
          const events = writes.filter((w) => w?.TableName === tables.audit);
          const requestWrites = writes.filter(
            (w) => w?.TableName === tables.requests && !plain(w.Item?.id ?? w.Key?.id).includes('#'),
          );
          sent.push({
            requestId: plain(events[0]?.Item?.request_id),
            eventSeqs: events.map((e) => Number(plain(e?.Item?.seq))),
            requestWrites: requestWrites.length,
          });
        }
        return next(args);
      },
      { step: 'initialize', name: 'recordTransactions' },
    );
    // The previous test froze the emulator; start from one that answers.
    await untilServing();
    // 40 requests, each created and then moved on twice, all in flight when the process dies.
    const work = Array.from({ length: 40 }, () => submitted());
    // Kill the emulator once a quarter of the 120 commits are in, with the rest in flight. A commit
    // that starts after the kill began waits until the process is gone, so on a loaded machine the
    // kill cannot trail behind the remaining commits and let them all through.
    let committed = 0;
    let kill: Promise<void> | undefined;
    const attempted: { requestId: string; eventSeqs: number[] }[] = [];
    const acknowledged = new Map<string, number>();
    const acknowledgedKeys: string[] = [];
    const commit = async (t: Parameters<typeof store.commit>[0]) => {
      if (kill) await kill;
      attempted.push({ requestId: t.request.id, eventSeqs: t.events.map((e) => e.seq) });
      await store.commit(t);
      acknowledged.set(t.request.id, t.request.version);
      acknowledgedKeys.push(`${t.request.id}:${t.events.map((e) => e.seq).join(',')}`);
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
    // One transaction per commit, holding the request and all of the transition's events: each
    // transaction sent is one whole commit, no commit is sent as two, and every acknowledged
    // commit went out that way (a commit refused before it was sent sends nothing).
    const key = (t: { requestId: string; eventSeqs: readonly number[] }) =>
      `${t.requestId}:${t.eventSeqs.join(',')}`;
    const sentKeys = sent.map(key);
    const attemptedKeys = new Set(attempted.map(key));
    expect(sentKeys.filter((k) => !attemptedKeys.has(k))).toEqual([]);
    expect(new Set(sentKeys).size).toBe(sentKeys.length);
    expect(acknowledgedKeys.filter((k) => !sentKeys.includes(k))).toEqual([]);
    expect(sent.every((t) => t.requestWrites === 1)).toBe(true);

    await own.start();
    // The store serves again once DynamoDB is back.
    await untilServing();
    const [firstId] = acknowledged.keys();
    if (firstId) expect((await store.get(firstId))?.id).toBe(firstId);
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
