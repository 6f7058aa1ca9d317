/**
 * The `visible-by` backfill on DynamoDB Local: requests decided before the index existed (their
 * viewer pointers removed here) are listed again after it, exactly as a commit would have listed
 * them; a pointer a commit already wrote is never replaced; a second run writes nothing.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfillViewerPointers } from '../../../functions/adapters/dynamodb/backfill.ts';
import { DynamoDbRequestStore } from '../../../functions/adapters/dynamodb/dynamodb-store.ts';
import { viewerPointer } from '../../../functions/adapters/dynamodb/keys.ts';
import { ensureTables, type TableNames } from '../../../functions/adapters/dynamodb/tables.ts';
import { ulidIds } from '../../../functions/adapters/system/system.ts';
import { viewerKeys } from '../../../functions/core/eligibility.ts';
import * as lifecycle from '../../../functions/core/lifecycle.ts';
import { type ActionRequest, STATUSES, type Status } from '../../../functions/core/model.ts';
import { main as backfillCli } from '../../../scripts/backfill.ts';
import { TEST_CREDENTIALS } from '../../harness/env.ts';
import { dynamoClient, dynamodbEndpoint, uniqueName } from '../../harness/index.ts';
import { decision, exportInput } from '../../support/fixtures.ts';

const SHARDS = 3;
const AGENTS = ['agent:one', 'agent:two', 'agent:three'];

describe('backfillViewerPointers', () => {
  const tables: TableNames = { requests: uniqueName('requests'), audit: uniqueName('audit') };
  const ids = ulidIds();
  let client: DynamoDBClient;
  let doc: DynamoDBDocumentClient;
  let store: DynamoDbRequestStore;
  const requests: ActionRequest[] = [];

  /** Every listing a viewer key can make, by key and status, as id lists. */
  async function listings(): Promise<Map<string, string[]>> {
    const keys = new Set(requests.flatMap((r) => viewerKeys(r)));
    const out = new Map<string, string[]>();
    for (const key of keys) {
      for (const status of STATUSES.filter((s): s is Exclude<Status, 'pending'> => s !== 'pending')) {
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.listVisible([key], status, { limit: 7, ...(cursor ? { cursor } : {}) });
          seen.push(...page.items.map((r) => r.id));
          cursor = page.cursor;
        } while (cursor);
        out.set(`${key} ${status}`, seen);
      }
    }
    return out;
  }

  async function viewerItems(): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(
        new ScanCommand({
          TableName: tables.requests,
          FilterExpression: 'begins_with(id, :view)',
          ExpressionAttributeValues: { ':view': 'view#' },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  beforeAll(async () => {
    client = dynamoClient();
    doc = DynamoDBDocumentClient.from(client);
    await ensureTables(client, tables);
    store = new DynamoDbRequestStore(client, tables, { shards: SHARDS });
    const at = (i: number) => new Date(Date.UTC(2026, 10, 20, 9, 0, i));
    for (let i = 0; i < 24; i++) {
      const subject = lifecycle.subjectOf(AGENTS[i % AGENTS.length] ?? 'agent:one');
      const kind = i % 4;
      const submitted = lifecycle.submit({
        id: ids.requestId(),
        subject,
        input: exportInput,
        decision:
          kind === 0
            ? decision({ outcome: 'deny' })
            : kind === 1
              ? decision({ outcome: 'allow' })
              : decision({ approval: { groups: [`group-${i % 3}`], min_approvals: 1, timeout_seconds: 60 } }),
        now: at(i),
      });
      await store.commit(submitted);
      let request = submitted.request;
      if (kind === 2) {
        const t = lifecycle.cancel(request, subject.id, at(i + 1));
        await store.commit(t);
        request = t.request;
      } else if (kind === 3 && i % 8 === 3) {
        const t = lifecycle.expire(request, new Date(at(i).getTime() + 120_000));
        if (!t) throw new Error('expected an expiry');
        await store.commit(t);
        request = t.request;
      }
      requests.push(request);
    }
  }, 120_000);

  afterAll(() => client?.destroy());

  it('restores every listing a commit would have made, and a second run writes nothing', async () => {
    const expected = await listings();
    const pointers = await viewerItems();
    const decided = requests.filter((r) => r.status !== 'pending');
    expect(pointers.length).toBe(decided.reduce((n, r) => n + viewerKeys(r).length, 0));
    expect([...expected.values()].some((list) => list.length > 0)).toBe(true);

    // A deployment from before the index: no request has viewer pointers.
    for (const item of pointers) {
      await doc.send(new DeleteCommand({ TableName: tables.requests, Key: { id: item.id } }));
    }
    const emptied = await listings();
    expect([...emptied.values()].every((list) => list.length === 0)).toBe(true);

    const first = await backfillViewerPointers(client, {
      table: tables.requests,
      keys: { shards: SHARDS },
      segments: 3,
      pageSize: 5,
    });
    expect(first).toMatchObject({
      decided: decided.length,
      written: pointers.length,
      present: 0,
      skipped: 0,
    });
    expect(await listings()).toEqual(expected);

    const second = await backfillViewerPointers(client, { table: tables.requests, keys: { shards: SHARDS } });
    expect(second).toMatchObject({ decided: decided.length, written: 0, present: pointers.length });
  }, 120_000);

  it('never replaces a pointer a commit wrote, and names a request item it cannot read', async () => {
    const request = requests.find((r) => r.status === 'denied');
    if (!request) throw new Error('fixture has no denied request');
    const key = viewerKeys(request)[0] ?? '';
    const pointer = viewerPointer(request, key, { shards: SHARDS });
    // As if a commit had moved the request on (a status the backfill would not write) meanwhile.
    const newer = { id: pointer.id, viewerShard: `${key}#expired#0`, createdSort: pointer.createdSort };
    await doc.send(new PutCommand({ TableName: tables.requests, Item: newer }));
    await doc.send(
      new PutCommand({
        TableName: tables.requests,
        Item: { id: 'broken-request', version: 3, status: 'approved', body: '{not json' },
      }),
    );

    const report = await backfillViewerPointers(client, { table: tables.requests, keys: { shards: SHARDS } });
    expect(report.written).toBe(0);
    expect(report.skipped).toBe(1);
    expect(report.unreadable).toEqual(['broken-request']);
    const kept = await doc.send(new GetCommand({ TableName: tables.requests, Key: { id: pointer.id } }));
    expect(kept.Item).toEqual(newer);
  }, 120_000);

  it('runs from the command line and says what to fix for a wrong call', async () => {
    const env = { ...process.env };
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    });
    const errors: string[] = [];
    const logs: string[] = [];
    const error = console.error;
    const log = console.log;
    console.error = (...args: unknown[]) => errors.push(args.join(' '));
    console.log = (...args: unknown[]) => logs.push(args.join(' '));
    try {
      expect(await backfillCli(['viewers'])).toBe(2);
      expect(errors.join('\n')).toMatch(/--table is required/);
      expect(await backfillCli(['viewers', '--table', tables.requests, '--shards', 'two'])).toBe(2);
      expect(errors.join('\n')).toMatch(/--shards must be a whole number/);
      expect(await backfillCli(['everything', '--table', tables.requests])).toBe(2);

      await doc.send(new DeleteCommand({ TableName: tables.requests, Key: { id: 'broken-request' } }));
      const args = ['viewers', '--table', tables.requests, '--endpoint', dynamodbEndpoint()];
      const code = await backfillCli([...args, '--region', 'us-east-1', '--shards', String(SHARDS)]);
      expect(errors.slice(3)).toEqual([]);
      expect(code).toBe(0);
      expect(JSON.parse(logs.join('\n'))).toMatchObject({ written: 0, skipped: 0 });
    } finally {
      console.error = error;
      console.log = log;
      process.env = env;
    }
  }, 120_000);
});
