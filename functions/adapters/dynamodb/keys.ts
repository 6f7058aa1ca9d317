/**
 * The DynamoDB key design (docs/data-model.md), as pure functions: which items a commit writes and
 * which base-table and index partitions those writes touch. The store builds its transactions from
 * `planCommit`, and the capacity model runs the same functions over synthetic traffic, so what the
 * model measures is what the store does. No SDK here: plain data in, plain data out.
 */
import { createHash } from 'node:crypto';
import { listedGroups, viewerKeys } from '../../core/eligibility.ts';
import type { ActionRequest, Status } from '../../core/model.ts';

/** The sparse index of request items by `<status>#<shard>`: timers, the sweeper and recovery. */
export const STATUS_SHARD_INDEX = 'by-status-shard';
/** Pending pointers by `<group>#<shard>`, newest first (sort key `<createdAt>#<id>`). */
export const GROUP_CREATED_INDEX = 'pending-by-group';
/** Pending pointers by `<group>#<shard>`, soonest deadline first (sort key `<expiresAt>#<id>`). */
export const GROUP_DEADLINE_INDEX = 'pending-by-group-deadline';
/** Decided requests' viewer pointers by `<viewer key>#<status>#<shard>`, newest first. */
export const VIEWER_INDEX = 'visible-by';

export interface KeyOptions {
  /**
   * Shards per approver group in the pending-by-group indexes: a listing queries each of the
   * caller's groups once per shard; one group's pending writes spread over this many partitions.
   * The same count shards the visible-by index: one viewer key's entries in a status spread over
   * this many partitions, and a listing queries each of the caller's keys once per shard.
   */
  readonly shards: number;
  /**
   * Shards per status in the by-status-shard index (timers, sweeper, recovery query them all and
   * merge). @default DEFAULT_STATUS_SHARDS
   */
  readonly statusShards?: number;
  /** The Idempotency-Key sent with a creation, if any (partitionWritesForCommit only). */
  readonly idempotency?: { readonly requester: string; readonly key: string };
}

export const DEFAULT_GROUP_SHARDS = 4;
export const DEFAULT_STATUS_SHARDS = 32;
export const DEFAULT_KEY_OPTIONS: KeyOptions = {
  shards: DEFAULT_GROUP_SHARDS,
  statusShards: DEFAULT_STATUS_SHARDS,
};
/** Most shards either index may be configured with (each listing queries every shard). */
export const MAX_SHARDS = 256;

export interface PartitionWrite {
  readonly table: 'requests' | 'audit';
  readonly index?: string;
  readonly partitionKey: string;
}

/** One item a commit writes, in the order the store puts them into its transaction. */
export type ItemWrite =
  | { readonly kind: 'request'; readonly id: string }
  | { readonly kind: 'event'; readonly requestId: string; readonly seq: number }
  | { readonly kind: 'idempotency'; readonly id: string }
  /** +1 when a request enters pending (conditional on the cap), -1 when it leaves. */
  | { readonly kind: 'pending-counter'; readonly id: string; readonly delta: 1 | -1 }
  | { readonly kind: 'pointer-put'; readonly pointer: PendingPointer }
  | { readonly kind: 'pointer-delete'; readonly pointer: PendingPointer }
  /** Put (or moved to the new status) when a request enters a status other than pending. */
  | { readonly kind: 'viewer-put'; readonly pointer: ViewerPointer }
  | { readonly kind: 'viewer-delete'; readonly pointer: ViewerPointer };

/** An item `grp#<request id>#<group>` standing for a pending request in one approver group. */
export interface PendingPointer {
  readonly id: string;
  readonly requestId: string;
  readonly group: string;
  readonly groupShard: string;
  readonly createdSort: string;
  readonly deadlineSort: string;
}

/**
 * An item `view#<request id>#<viewer key>` standing for a request that is not pending, under one
 * of its viewer keys (core/eligibility.ts viewerKeys). Its id does not name the status: a status
 * change overwrites it, moving it to the new status's partition.
 */
export interface ViewerPointer {
  readonly id: string;
  readonly requestId: string;
  readonly viewerKey: string;
  readonly viewerShard: string;
  readonly createdSort: string;
}

/** The request item's index attributes (present on every request item). */
export interface RequestIndexKeys {
  readonly statusShard: string;
  readonly statusSort: string;
}

/** FNV-1a (32 bit) of the id, modulo `n`: cheap, stable across processes and languages. */
export function shardOf(id: string, n: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % n;
}

/** The checked shard counts: whole numbers 1..MAX_SHARDS, or an Error saying what to set. */
export function resolveKeyOptions(
  options: Partial<KeyOptions> = {},
): Required<Pick<KeyOptions, 'shards' | 'statusShards'>> {
  const shards = options.shards ?? DEFAULT_GROUP_SHARDS;
  const statusShards = options.statusShards ?? DEFAULT_STATUS_SHARDS;
  for (const [name, value] of [
    ['shards', shards],
    ['statusShards', statusShards],
  ] as const) {
    if (!Number.isInteger(value) || value < 1 || value > MAX_SHARDS) {
      throw new Error(`${name} must be a whole number from 1 to ${MAX_SHARDS}; got ${value}`);
    }
  }
  return { shards, statusShards };
}

/** `<time>#<id>`: the order of an index partition, ties broken by id. */
export function sortKey(time: string, id: string): string {
  return `${time}#${id}`;
}

/** The request id at the end of a sort key made by sortKey (ids never contain `#`). */
export function idOfSortKey(key: string): string {
  return key.slice(key.lastIndexOf('#') + 1);
}

export function statusShardKey(status: Status, shard: number): string {
  return `${status}#${shard}`;
}

export function groupShardKey(group: string, shard: number): string {
  return `${group}#${shard}`;
}

/** `<viewer key>#<status>#<shard>`; viewer keys may contain `#`, status and shard never do. */
export function viewerShardKey(viewerKey: string, status: Status, shard: number): string {
  return `${viewerKey}#${status}#${shard}`;
}

export function viewerPointer(
  request: ActionRequest,
  viewerKey: string,
  options: Partial<KeyOptions> = {},
): ViewerPointer {
  const { shards } = resolveKeyOptions(options);
  return {
    id: `view#${request.id}#${viewerKey}`,
    requestId: request.id,
    viewerKey,
    viewerShard: viewerShardKey(viewerKey, request.status, shardOf(request.id, shards)),
    createdSort: sortKey(request.createdAt, request.id),
  };
}

export function requestIndexKeys(
  request: ActionRequest,
  options: Partial<KeyOptions> = {},
): RequestIndexKeys {
  const { statusShards } = resolveKeyOptions(options);
  return {
    statusShard: statusShardKey(request.status, shardOf(request.id, statusShards)),
    statusSort: sortKey(request.createdAt, request.id),
  };
}

export { listedGroups };

export function pendingPointer(
  request: ActionRequest,
  group: string,
  options: Partial<KeyOptions> = {},
): PendingPointer {
  const { shards } = resolveKeyOptions(options);
  return {
    id: `grp#${request.id}#${group}`,
    requestId: request.id,
    group,
    groupShard: groupShardKey(group, shardOf(request.id, shards)),
    createdSort: sortKey(request.createdAt, request.id),
    deadlineSort: sortKey(request.approval?.expiresAt ?? request.createdAt, request.id),
  };
}

/** `pending#<sha256 of the requester>`: one counter item per requester. */
export function pendingCounterId(requester: string): string {
  return `pending#${createHash('sha256').update(requester).digest('hex')}`;
}

/** Principal ids may contain any visible character, so the pair is digested, not concatenated. */
export function idempotencyId(requester: string, key: string): string {
  return `idem#${createHash('sha256')
    .update(JSON.stringify([requester, key]))
    .digest('hex')}`;
}

/**
 * Every item committing `before` → `after` writes: the request, its new audit events, the
 * idempotency item (creations that carry a key), the requester's pending counter (on entering or
 * leaving pending) and the pointers added or removed.
 */
export function planCommit(
  before: ActionRequest | undefined,
  after: ActionRequest,
  options: Partial<KeyOptions> = {},
): ItemWrite[] {
  const writes: ItemWrite[] = [{ kind: 'request', id: after.id }];
  for (let seq = (before?.auditSeq ?? 0) + 1; seq <= after.auditSeq; seq++) {
    writes.push({ kind: 'event', requestId: after.id, seq });
  }
  if (!before && options.idempotency) {
    writes.push({
      kind: 'idempotency',
      id: idempotencyId(options.idempotency.requester, options.idempotency.key),
    });
  }
  const wasPending = before?.status === 'pending';
  const isPending = after.status === 'pending';
  if (wasPending !== isPending) {
    writes.push({
      kind: 'pending-counter',
      id: pendingCounterId(after.subject.id),
      delta: isPending ? 1 : -1,
    });
  }
  const old = new Set(before ? listedGroups(before) : []);
  const now = new Set(listedGroups(after));
  for (const group of now) {
    if (!old.has(group)) writes.push({ kind: 'pointer-put', pointer: pendingPointer(after, group, options) });
  }
  for (const group of old) {
    if (!now.has(group)) {
      writes.push({ kind: 'pointer-delete', pointer: pendingPointer(before ?? after, group, options) });
    }
  }
  // Viewer keys are fixed at creation; only a change of status moves (or removes) the pointers.
  if (before?.status !== after.status) {
    for (const key of viewerKeys(after)) {
      if (after.status !== 'pending') {
        writes.push({ kind: 'viewer-put', pointer: viewerPointer(after, key, options) });
      } else if (before) {
        writes.push({ kind: 'viewer-delete', pointer: viewerPointer(before, key, options) });
      }
    }
  }
  return writes;
}

/**
 * Every base-table and index partition written by committing `before` → `after`. An index is
 * written when an item enters it, leaves it, or changes its keys there (the indexes are KEYS_ONLY,
 * so other changes to an item do not reach them).
 */
export function partitionWritesForCommit(
  before: ActionRequest | undefined,
  after: ActionRequest,
  options: KeyOptions,
): PartitionWrite[] {
  const out: PartitionWrite[] = [];
  for (const write of planCommit(before, after, options)) {
    switch (write.kind) {
      case 'request': {
        out.push({ table: 'requests', partitionKey: write.id });
        const next = requestIndexKeys(after, options);
        const prior = before ? requestIndexKeys(before, options) : undefined;
        if (prior && prior.statusShard !== next.statusShard) {
          out.push({ table: 'requests', index: STATUS_SHARD_INDEX, partitionKey: prior.statusShard });
        }
        if (!prior || prior.statusShard !== next.statusShard || prior.statusSort !== next.statusSort) {
          out.push({ table: 'requests', index: STATUS_SHARD_INDEX, partitionKey: next.statusShard });
        }
        break;
      }
      case 'event':
        out.push({ table: 'audit', partitionKey: write.requestId });
        break;
      case 'idempotency':
      case 'pending-counter':
        out.push({ table: 'requests', partitionKey: write.id });
        break;
      case 'pointer-put':
      case 'pointer-delete':
        out.push(
          { table: 'requests', partitionKey: write.pointer.id },
          { table: 'requests', index: GROUP_CREATED_INDEX, partitionKey: write.pointer.groupShard },
          { table: 'requests', index: GROUP_DEADLINE_INDEX, partitionKey: write.pointer.groupShard },
        );
        break;
      case 'viewer-put':
      case 'viewer-delete': {
        out.push(
          { table: 'requests', partitionKey: write.pointer.id },
          { table: 'requests', index: VIEWER_INDEX, partitionKey: write.pointer.viewerShard },
        );
        // Moved from another status: it also leaves that status's partition.
        if (write.kind === 'viewer-put' && before && before.status !== 'pending') {
          out.push({
            table: 'requests',
            index: VIEWER_INDEX,
            partitionKey: viewerPointer(before, write.pointer.viewerKey, options).viewerShard,
          });
        }
        break;
      }
    }
  }
  return out;
}

/** The partitions a pending-for-me listing queries: each of the caller's groups, once per shard. */
export function groupPartitions(groups: readonly string[], options: Partial<KeyOptions> = {}): string[] {
  const { shards } = resolveKeyOptions(options);
  return [...new Set(groups)].flatMap((group) =>
    Array.from({ length: shards }, (_, shard) => groupShardKey(group, shard)),
  );
}

/** The partitions a listing of one status queries (timers, sweeper, recovery). */
export function statusPartitions(status: Status, options: Partial<KeyOptions> = {}): string[] {
  const { statusShards } = resolveKeyOptions(options);
  return Array.from({ length: statusShards }, (_, shard) => statusShardKey(status, shard));
}

/** The partitions a listing of one status by viewer keys queries: each key, once per shard. */
export function viewerPartitions(
  keys: readonly string[],
  status: Status,
  options: Partial<KeyOptions> = {},
): string[] {
  const { shards } = resolveKeyOptions(options);
  return [...new Set(keys)].flatMap((key) =>
    Array.from({ length: shards }, (_, shard) => viewerShardKey(key, status, shard)),
  );
}
