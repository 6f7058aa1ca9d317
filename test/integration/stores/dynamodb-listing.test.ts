/**
 * What a pending-for-me listing reads on DynamoDB: with many groups and thousands of pending
 * requests, a caller's query touches only its own groups' index partitions, and the items it reads
 * are bounded by its page, not by what is stored. Counted at the client, on DynamoDB Local.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbRequestStore } from '../../../functions/adapters/dynamodb/dynamodb-store.ts';
import { ensureTables, type TableNames } from '../../../functions/adapters/dynamodb/tables.ts';
import { ulidIds } from '../../../functions/adapters/system/system.ts';
import * as lifecycle from '../../../functions/core/lifecycle.ts';
import type { Transition } from '../../../functions/core/ports/store.port.ts';
import { dynamoClient, uniqueName } from '../../harness/index.ts';
import { decision, exportInput } from '../../support/fixtures.ts';

const GROUPS = 40;
const PER_GROUP = 50;
const SHARDS = 4;

interface Read {
  readonly command: string;
  readonly index?: string;
  readonly partition?: string;
  readonly items: number;
}

/** Records every call's command, index partition and the number of items DynamoDB returned. */
function countReads(client: DynamoDBClient): Read[] {
  const reads: Read[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      // The request as sent (after the document client's marshalling): its index and partition.
      const body = (args as { request?: { body?: unknown } }).request?.body;
      const text =
        body instanceof Uint8Array ? new TextDecoder().decode(body) : typeof body === 'string' ? body : '{}';
      const input = JSON.parse(text) as {
        IndexName?: string;
        ExpressionAttributeValues?: Record<string, { S?: string }>;
      };
      const output = result.output as { Items?: unknown[]; Responses?: Record<string, unknown[]> };
      const items =
        output.Items?.length ??
        Object.values(output.Responses ?? {}).reduce((sum, list) => sum + list.length, 0);
      reads.push({
        command: String(context.commandName),
        ...(input.IndexName ? { index: input.IndexName } : {}),
        ...(input.ExpressionAttributeValues?.[':hash']?.S
          ? { partition: input.ExpressionAttributeValues[':hash'].S }
          : {}),
        items,
      });
      return result;
    },
    { step: 'finalizeRequest', name: 'countReads' },
  );
  return reads;
}

describe('Class: DynamoDbRequestStore, listing pending requests by group', () => {
  const tables: TableNames = { requests: uniqueName('requests'), audit: uniqueName('audit') };
  const ids = ulidIds();
  const group = (i: number) => `group-${i}`;
  let client: DynamoDBClient;
  let store: DynamoDbRequestStore;
  let reads: Read[];
  const byGroup = new Map<string, string[]>();

  beforeAll(async () => {
    client = dynamoClient();
    await ensureTables(client, tables);
    store = new DynamoDbRequestStore(client, tables, { shards: SHARDS });
    const all: Transition[] = [];
    for (let g = 0; g < GROUPS; g++) {
      for (let i = 0; i < PER_GROUP; i++) {
        const t = lifecycle.submit({
          id: ids.requestId(),
          subject: lifecycle.subjectOf(`agent:bulk-${g % 7}`),
          input: exportInput,
          decision: decision({
            approval: { groups: [group(g)], min_approvals: 1, timeout_seconds: 3600 + i },
          }),
          now: new Date(Date.UTC(2026, 10, 22, 10, 0, 0, g * PER_GROUP + i)),
        });
        all.push(t);
        byGroup.set(group(g), [...(byGroup.get(group(g)) ?? []), t.request.id]);
      }
    }
    // Twenty writers at a time: DynamoDB Local on a shared machine.
    for (let i = 0; i < all.length; i += 20) {
      await Promise.all(all.slice(i, i + 20).map((t) => store.commit(t)));
    }
    reads = countReads(client);
  }, 600_000);

  afterAll(() => client?.destroy());

  it(`reads only the caller's groups' partitions and a page's worth of items, among ${GROUPS * PER_GROUP} pending`, async () => {
    const mine = [group(3), group(17)];
    reads.length = 0;
    const page = await store.listPendingForGroups(mine, { limit: 20 });

    const expected = [...(byGroup.get(group(3)) ?? []), ...(byGroup.get(group(17)) ?? [])].sort().reverse();
    expect(page.items.map((r) => r.id)).toEqual(expected.slice(0, page.items.length));
    expect(page.items.length).toBeGreaterThan(0);
    expect(page.cursor).toBeDefined();

    const queries = reads.filter((r) => r.command === 'QueryCommand');
    expect(new Set(queries.map((q) => q.partition))).toEqual(
      new Set(mine.flatMap((g) => Array.from({ length: SHARDS }, (_, s) => `${g}#${s}`))),
    );
    expect(queries.every((q) => q.index === 'pending-by-group')).toBe(true);
    const keysRead = queries.reduce((sum, q) => sum + q.items, 0);
    // Each partition reads at most ceil(20 / shards) + 1 keys; the records read are the page.
    expect(keysRead).toBeLessThanOrEqual(mine.length * SHARDS * (Math.ceil(20 / SHARDS) + 1));
    const recordsRead = reads
      .filter((r) => r.command.startsWith('BatchGet'))
      .reduce((s, r) => s + r.items, 0);
    expect(recordsRead).toBe(page.items.length);
    expect(keysRead + recordsRead).toBeLessThan((GROUPS * PER_GROUP) / 20);
  });

  it('follows cursors through one group, soonest deadline first, losing and repeating nothing', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    reads.length = 0;
    do {
      const page = await store.listPendingForGroups([group(5)], {
        limit: 15,
        order: 'deadline',
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.items.map((r) => r.id));
      cursor = page.cursor;
    } while (cursor);
    // Deadlines grow with i in each group, as creation times do.
    expect(seen).toEqual(byGroup.get(group(5)));
    const partitions = new Set(reads.filter((r) => r.command === 'QueryCommand').map((q) => q.partition));
    expect([...partitions].every((p) => p?.startsWith(`${group(5)}#`))).toBe(true);
  });

  it('reads nothing for a caller in no group that has pending requests', async () => {
    reads.length = 0;
    const page = await store.listPendingForGroups(['group-without-requests'], { limit: 50 });
    expect(page).toEqual({ items: [] });
    expect(reads.reduce((sum, r) => sum + r.items, 0)).toBe(0);
    expect(reads.filter((r) => r.command.startsWith('BatchGet'))).toEqual([]);
  });
});

describe('Class: DynamoDbRequestStore, listing decided requests by viewer key', () => {
  const tables: TableNames = { requests: uniqueName('requests'), audit: uniqueName('audit') };
  const ids = ulidIds();
  const MANY = 2000;
  const FEW = 3;
  let client: DynamoDBClient;
  let store: DynamoDbRequestStore;
  let reads: Read[];
  const few: string[] = [];

  beforeAll(async () => {
    client = dynamoClient();
    await ensureTables(client, tables);
    store = new DynamoDbRequestStore(client, tables, { shards: SHARDS });
    const all: Transition[] = [];
    for (let i = 0; i < MANY + FEW; i++) {
      // Every 667th request is the few agent's; the rest are other agents' auto-allowed traffic.
      const mine = i % Math.floor(MANY / FEW) === 0 && few.length < FEW;
      const t = lifecycle.submit({
        id: ids.requestId(),
        subject: lifecycle.subjectOf(mine ? 'agent:few' : `agent:bulk-${i % 7}`),
        input: { ...exportInput, context: { justification: 'bulk' } },
        decision: decision({ outcome: 'allow', approval: undefined }),
        now: new Date(Date.UTC(2026, 10, 22, 10, 0, 0, i)),
      });
      all.push(t);
      if (mine) few.push(t.request.id);
    }
    for (let i = 0; i < all.length; i += 20) {
      await Promise.all(all.slice(i, i + 20).map((t) => store.commit(t)));
    }
    reads = countReads(client);
  }, 600_000);

  afterAll(() => client?.destroy());

  it(`reads a page's worth of keys for a caller who may see ${FEW} of ${MANY + FEW} approved requests`, async () => {
    reads.length = 0;
    const page = await store.listVisible(['p:agent:few', 'g:some-group'], 'approved', { limit: 20 });

    expect(page.items.map((r) => r.id)).toEqual([...few].reverse());
    expect(page.cursor).toBeUndefined();
    const queries = reads.filter((r) => r.command === 'QueryCommand');
    expect(queries.every((q) => q.index === 'visible-by')).toBe(true);
    expect(new Set(queries.map((q) => q.partition))).toEqual(
      new Set(
        ['p:agent:few', 'g:some-group'].flatMap((key) =>
          Array.from({ length: SHARDS }, (_, s) => `${key}#approved#${s}`),
        ),
      ),
    );
    const keysRead = queries.reduce((sum, q) => sum + q.items, 0);
    const recordsRead = reads
      .filter((r) => r.command.startsWith('BatchGet'))
      .reduce((s, r) => s + r.items, 0);
    expect(keysRead).toBe(FEW);
    expect(recordsRead).toBe(FEW);
  });

  it('reads at most its keys times shards times a share of the page for a caller who may see many', async () => {
    reads.length = 0;
    const page = await store.listVisible(['p:agent:bulk-3'], 'approved', { limit: 20 });
    // A merged page stops at the first truncated shard's last key, so it may be short; the cursor goes on.
    expect(page.items.length).toBeGreaterThan(0);
    expect(page.items.length).toBeLessThanOrEqual(20);
    expect(page.items.every((r) => r.subject.id === 'agent:bulk-3')).toBe(true);
    expect(page.cursor).toBeDefined();
    const keysRead = reads.filter((r) => r.command === 'QueryCommand').reduce((sum, q) => sum + q.items, 0);
    expect(keysRead).toBeLessThanOrEqual(SHARDS * (Math.ceil(20 / SHARDS) + 1));
  });
});
