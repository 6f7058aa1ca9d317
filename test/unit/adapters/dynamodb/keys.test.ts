import { describe, expect, it } from 'vitest';
import {
  DEFAULT_KEY_OPTIONS,
  GROUP_CREATED_INDEX,
  GROUP_DEADLINE_INDEX,
  groupPartitions,
  idOfSortKey,
  type KeyOptions,
  partitionWritesForCommit,
  pendingCounterId,
  planCommit,
  STATUS_SHARD_INDEX,
  shardOf,
  VIEWER_INDEX,
  viewerPartitions,
} from '../../../../functions/adapters/dynamodb/keys.ts';
import * as lifecycle from '../../../../functions/core/lifecycle.ts';
import type { ActionRequest } from '../../../../functions/core/model.ts';
import { decision, exportInput } from '../../../support/fixtures.ts';

const ID = 'ar_01JD0000000000000000000001';
const options: KeyOptions = { shards: 4, statusShards: 8 };

function pending(groups = ['data-owners'], escalation: string[] = []): ActionRequest {
  return lifecycle.submit({
    id: ID,
    subject: lifecycle.subjectOf('agent:demo-exporter'),
    input: exportInput,
    decision: decision({
      approval: {
        groups,
        min_approvals: 1,
        timeout_seconds: 3600,
        ...(escalation.length > 0 ? { escalation_groups: escalation, escalate_after_seconds: 600 } : {}),
      },
    }),
    now: new Date('2026-11-22T10:00:00.000Z'),
  }).request;
}

function next(before: ActionRequest, changes: Partial<ActionRequest>, events = 1): ActionRequest {
  return { ...before, ...changes, version: before.version + 1, auditSeq: before.auditSeq + events };
}

describe('Module: dynamodb keys', () => {
  it('spreads ids over every shard and keeps one id on one shard', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 400; i++) seen.add(shardOf(`ar_01JD${String(i).padStart(22, '0')}`, 8));
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(shardOf(ID, 8)).toBe(shardOf(ID, 8));
  });

  it('writes the request, its events, the counter and one pointer per group when a request enters pending', () => {
    const after = pending(['data-owners', 'security']);
    const writes = partitionWritesForCommit(undefined, after, {
      ...options,
      idempotency: { requester: 'agent:demo-exporter', key: 'k1' },
    });
    const shard = shardOf(ID, 4);
    expect(writes).toContainEqual({ table: 'requests', partitionKey: ID });
    expect(writes.filter((w) => w.table === 'audit')).toHaveLength(after.auditSeq);
    expect(writes).toContainEqual({
      table: 'requests',
      partitionKey: pendingCounterId('agent:demo-exporter'),
    });
    expect(writes.filter((w) => w.partitionKey.startsWith('idem#'))).toHaveLength(1);
    expect(writes).toContainEqual({
      table: 'requests',
      index: STATUS_SHARD_INDEX,
      partitionKey: `pending#${shardOf(ID, 8)}`,
    });
    for (const group of ['data-owners', 'security']) {
      expect(writes).toContainEqual({
        table: 'requests',
        index: GROUP_CREATED_INDEX,
        partitionKey: `${group}#${shard}`,
      });
      expect(writes).toContainEqual({
        table: 'requests',
        index: GROUP_DEADLINE_INDEX,
        partitionKey: `${group}#${shard}`,
      });
    }
  });

  it('adds the escalation groups when escalated and removes every pointer when decided', () => {
    const before = pending(['data-owners'], ['security']);
    const escalated = next(before, {
      approval: { ...(before.approval as NonNullable<ActionRequest['approval']>), escalated: true },
    });
    expect(planCommit(before, escalated, options).filter((w) => w.kind.startsWith('pointer'))).toEqual([
      expect.objectContaining({
        kind: 'pointer-put',
        pointer: expect.objectContaining({ group: 'security' }),
      }),
    ]);
    const decided = next(escalated, { status: 'approved' }, 2);
    const plan = planCommit(escalated, decided, options);
    expect(
      plan
        .filter((w) => w.kind === 'pointer-delete')
        .map((w) => (w.kind === 'pointer-delete' ? w.pointer.group : '')),
    ).toEqual(['data-owners', 'security']);
    expect(plan).toContainEqual({
      kind: 'pending-counter',
      id: pendingCounterId('agent:demo-exporter'),
      delta: -1,
    });
    const writes = partitionWritesForCommit(escalated, decided, options);
    expect(writes).toContainEqual({
      table: 'requests',
      index: STATUS_SHARD_INDEX,
      partitionKey: `pending#${shardOf(ID, 8)}`,
    });
    expect(writes).toContainEqual({
      table: 'requests',
      index: STATUS_SHARD_INDEX,
      partitionKey: `approved#${shardOf(ID, 8)}`,
    });
  });

  it('puts one viewer pointer per viewer key when a request is decided, and moves them on a later change of status', () => {
    const before = pending(['data-owners'], ['security']);
    expect(planCommit(undefined, before, options).filter((w) => w.kind.startsWith('viewer'))).toEqual([]);
    const decided = next(before, { status: 'rejected' }, 2);
    const shard = shardOf(ID, 4);
    const puts = planCommit(before, decided, options).filter((w) => w.kind === 'viewer-put');
    expect(puts.map((w) => (w.kind === 'viewer-put' ? w.pointer.viewerShard : ''))).toEqual([
      `p:agent:demo-exporter#rejected#${shard}`,
      `p:user:alice@example.gov#rejected#${shard}`,
      `g:data-owners#rejected#${shard}`,
      `g:security#rejected#${shard}`,
    ]);
    expect(puts.every((w) => w.kind === 'viewer-put' && w.pointer.id.startsWith(`view#${ID}#`))).toBe(true);
    // A commit that keeps the status (an outcome, a redemption) writes no viewer pointer.
    expect(
      planCommit(decided, next(decided, {}), options).filter((w) => w.kind.startsWith('viewer')),
    ).toEqual([]);
    const expired = next(decided, { status: 'expired' });
    const writes = partitionWritesForCommit(decided, expired, options);
    expect(writes).toContainEqual({
      table: 'requests',
      index: VIEWER_INDEX,
      partitionKey: `g:security#rejected#${shard}`,
    });
    expect(writes).toContainEqual({
      table: 'requests',
      index: VIEWER_INDEX,
      partitionKey: `g:security#expired#${shard}`,
    });
    expect(viewerPartitions(['p:x', 'p:x', 'g:y'], 'approved', { shards: 2 })).toEqual([
      'p:x#approved#0',
      'p:x#approved#1',
      'g:y#approved#0',
      'g:y#approved#1',
    ]);
  });

  it('touches no index and no counter for a vote that leaves the request pending', () => {
    const before = pending();
    const voted = next(before, {});
    expect(partitionWritesForCommit(before, voted, DEFAULT_KEY_OPTIONS)).toEqual([
      { table: 'requests', partitionKey: ID },
      { table: 'audit', partitionKey: ID },
    ]);
  });

  it('lists each of the caller groups once per shard, and reads ids back from sort keys', () => {
    expect(groupPartitions(['a', 'b', 'a'], { shards: 2 })).toEqual(['a#0', 'a#1', 'b#0', 'b#1']);
    expect(idOfSortKey(`2026-11-22T10:00:00.000Z#${ID}`)).toBe(ID);
  });

  it('refuses a shard count outside 1..256', () => {
    expect(() => planCommit(undefined, pending(), { shards: 0 })).toThrow(/shards must be a whole number/);
  });
});
