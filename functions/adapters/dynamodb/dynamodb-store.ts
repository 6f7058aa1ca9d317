/**
 * RequestStore on DynamoDB. Every transition is one TransactWriteItems: the request is put on the
 * condition that its version is the one we read, each audit event is put on the condition that its
 * (request_id, seq) does not exist, and an idempotency key likewise. Audit items are only ever put;
 * the functions' IAM roles hold no UpdateItem/DeleteItem on the audit table.
 */
import { type DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  IdempotencyKeyTakenError,
  PendingCapReachedError,
  StaleStateError,
  StoreUnavailableError,
  ValidationError,
} from '../../core/errors.ts';
import type { ActionRequest, AuditEvent, Status } from '../../core/model.ts';
import {
  cursorAfter,
  type Keyed,
  mergeRuns,
  pageLimit,
  readCursor,
  type SortedRun,
} from '../../core/paging.ts';
import type {
  IdempotencyRecord,
  ListByStatusOptions,
  ListPendingOptions,
  ListVisibleOptions,
  Page,
  RequestStore,
  Transition,
} from '../../core/ports/store.port.ts';
import {
  GROUP_CREATED_INDEX,
  GROUP_DEADLINE_INDEX,
  groupPartitions,
  idempotencyId,
  idOfSortKey,
  type KeyOptions,
  listedGroups,
  type PendingPointer,
  pendingCounterId,
  planCommit,
  requestIndexKeys,
  resolveKeyOptions,
  STATUS_SHARD_INDEX,
  sortKey,
  statusPartitions,
  VIEWER_INDEX,
  type ViewerPointer,
  viewerPartitions,
} from './keys.ts';
import type { TableNames } from './tables.ts';

type Item = Record<string, unknown>;
type TransactItems = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>;

/** DynamoDB's most items in one TransactWriteItems. */
const MAX_TRANSACTION_ITEMS = 100;
/** DynamoDB's most keys in one BatchGetItem. */
const MAX_BATCH_GET = 100;

export class DynamoDbRequestStore implements RequestStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #tables: TableNames;
  readonly #keys: Required<Pick<KeyOptions, 'shards' | 'statusShards'>>;

  /** `keys`: the shard counts (keys.ts); every instance sharing a table must use the same ones. */
  constructor(client: DynamoDBClient, tables: TableNames, keys: Partial<KeyOptions> = {}) {
    this.#doc = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
    });
    this.#tables = tables;
    this.#keys = resolveKeyOptions(keys);
  }

  // No ClientRequestToken: two racing writers can build byte-identical transitions (same clock
  // reading), and a shared token would let DynamoDB report success to both. A resend after a timeout
  // may instead see its own write as a stale version; the service then re-reads and decides again.
  async commit(transition: Transition): Promise<void> {
    const { request, expectedVersion, events, idempotency, pendingCap } = transition;
    // What the pointers and the counter change from: given by the caller, or read (the version
    // condition below makes sure the write replaces exactly what was read).
    let previous = transition.previous;
    if (!previous && expectedVersion > 0) {
      previous = await this.get(request.id);
      if (previous?.version !== expectedVersion) {
        throw new StaleStateError(`request ${request.id} changed since version ${expectedVersion}`);
      }
    }
    const requestPut = {
      Put: {
        TableName: this.#tables.requests,
        Item: requestItem(request, this.#keys),
        ...(expectedVersion === 0
          ? { ConditionExpression: 'attribute_not_exists(id)' }
          : {
              ConditionExpression: 'version = :expected',
              ExpressionAttributeValues: { ':expected': expectedVersion },
            }),
      },
    };
    const eventPuts = events.map((event) => ({
      Put: {
        TableName: this.#tables.audit,
        Item: eventItem(event),
        ConditionExpression: 'attribute_not_exists(request_id)',
      },
    }));
    const all: unknown[] = [requestPut, ...eventPuts];
    let idempotencyIndex = -1;
    if (idempotency) {
      idempotencyIndex = all.length;
      all.push({
        Put: {
          TableName: this.#tables.requests,
          Item: idempotencyItem(idempotency),
          ConditionExpression: 'attribute_not_exists(id)',
        },
      });
    }
    let counterIndex = -1;
    for (const write of planCommit(previous, request, this.#keys)) {
      if (write.kind === 'pending-counter') {
        const capped = write.delta === 1 && pendingCap !== undefined;
        if (capped) counterIndex = all.length;
        all.push({
          Update: {
            TableName: this.#tables.requests,
            Key: { id: write.id },
            UpdateExpression: 'ADD #count :delta SET requester = :requester',
            ExpressionAttributeNames: { '#count': 'count' },
            ExpressionAttributeValues: {
              ':delta': write.delta,
              ':requester': request.subject.id,
              ...(capped ? { ':cap': pendingCap } : {}),
            },
            ...(capped ? { ConditionExpression: 'attribute_not_exists(#count) OR #count < :cap' } : {}),
          },
        });
      } else if (write.kind === 'pointer-put') {
        all.push({ Put: { TableName: this.#tables.requests, Item: pointerItem(write.pointer) } });
      } else if (write.kind === 'pointer-delete' || write.kind === 'viewer-delete') {
        all.push({ Delete: { TableName: this.#tables.requests, Key: { id: write.pointer.id } } });
      } else if (write.kind === 'viewer-put') {
        all.push({ Put: { TableName: this.#tables.requests, Item: viewerItem(write.pointer) } });
      }
    }
    if (all.length > MAX_TRANSACTION_ITEMS) {
      throw new ValidationError(
        `request ${request.id} would need ${all.length} writes in one transaction (its audit events, one index entry per approving group and one per viewer key), more than DynamoDB's ${MAX_TRANSACTION_ITEMS}; name fewer approval groups in the policy`,
      );
    }
    try {
      await this.#doc.send(new TransactWriteCommand({ TransactItems: all as TransactItems }));
    } catch (error) {
      if (error instanceof TransactionCanceledException) {
        const reasons = error.CancellationReasons ?? [];
        if (idempotencyIndex >= 0 && reasons[idempotencyIndex]?.Code === 'ConditionalCheckFailed') {
          throw new IdempotencyKeyTakenError(`idempotency key ${idempotency?.key} is taken`, {
            cause: error,
          });
        }
        if (counterIndex >= 0 && reasons[counterIndex]?.Code === 'ConditionalCheckFailed') {
          throw new PendingCapReachedError(
            `${request.subject.id} has ${pendingCap} pending requests, its cap`,
            { cause: error },
          );
        }
        if (reasons.some((r) => r.Code === 'ConditionalCheckFailed' || r.Code === 'TransactionConflict')) {
          throw new StaleStateError(`request ${request.id} changed since version ${expectedVersion}`, {
            cause: error,
          });
        }
      }
      throw translate(error);
    }
  }

  async get(requestId: string): Promise<ActionRequest | undefined> {
    const out = await this.#call(() =>
      this.#doc.send(
        new GetCommand({ TableName: this.#tables.requests, Key: { id: requestId }, ConsistentRead: true }),
      ),
    );
    const item = out.Item;
    return item && typeof item.body === 'string' ? (JSON.parse(item.body) as ActionRequest) : undefined;
  }

  async getIdempotency(requester: string, key: string): Promise<IdempotencyRecord | undefined> {
    const out = await this.#call(() =>
      this.#doc.send(
        new GetCommand({
          TableName: this.#tables.requests,
          Key: { id: idempotencyId(requester, key) },
          ConsistentRead: true,
        }),
      ),
    );
    const item = out.Item;
    // The key is a digest of (requester, key); the stored pair proves which one it is.
    if (!item || item.requester !== requester || item.key !== key) return undefined;
    return {
      requester: String(item.requester),
      key: String(item.key),
      requestId: String(item.requestId),
      bodyHash: String(item.bodyHash),
      createdAt: String(item.createdAt),
    };
  }

  async listEvents(requestId: string): Promise<readonly AuditEvent[]> {
    const events: AuditEvent[] = [];
    let start: Item | undefined;
    do {
      const out = await this.#call(() =>
        this.#doc.send(
          new QueryCommand({
            TableName: this.#tables.audit,
            KeyConditionExpression: 'request_id = :id',
            ExpressionAttributeValues: { ':id': requestId },
            ConsistentRead: true,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      );
      for (const item of out.Items ?? []) events.push(toEvent(item));
      start = out.LastEvaluatedKey;
    } while (start);
    return events;
  }

  async listByStatus(status: Status, options: ListByStatusOptions = {}): Promise<Page<ActionRequest>> {
    const limit = pageLimit(options.limit);
    const newestFirst = options.newestFirst === true;
    const after = options.cursor ? readCursor(options.cursor) : undefined;
    const partitions = statusPartitions(status, this.#keys);
    const runs = await Promise.all(
      partitions.map((partition) =>
        this.#run({
          index: STATUS_SHARD_INDEX,
          hashName: 'statusShard',
          hash: partition,
          rangeName: 'statusSort',
          after: after ? sortKey(after.createdAt, after.id) : undefined,
          descending: newestFirst,
          limit: perPartition(limit, partitions.length),
        }),
      ),
    );
    // The index lags the table a moment: what changed status since is left out here.
    return this.#recordsOf(
      mergeRuns(runs, newestFirst ? 'desc' : 'asc', limit),
      (request) => request.status === status,
    );
  }

  async listPendingForGroups(
    groups: readonly string[],
    options: ListPendingOptions = {},
  ): Promise<Page<ActionRequest>> {
    const limit = pageLimit(options.limit);
    const order = options.order ?? 'newest';
    const after = options.cursor ? readCursor(options.cursor) : undefined;
    const wanted = new Set(groups);
    if (wanted.size === 0) return { items: [] };
    const partitions = groupPartitions([...wanted], this.#keys);
    const runs = await Promise.all(
      partitions.map((partition) =>
        this.#run({
          index: order === 'newest' ? GROUP_CREATED_INDEX : GROUP_DEADLINE_INDEX,
          hashName: 'groupShard',
          hash: partition,
          rangeName: order === 'newest' ? 'createdSort' : 'deadlineSort',
          after: after ? sortKey(after.createdAt, after.id) : undefined,
          descending: order === 'newest',
          // Any one group may fill the page alone; its shards share it.
          limit: perPartition(limit, this.#keys.shards),
        }),
      ),
    );
    // Read from the table itself (strongly consistent): an entry the index still holds for a
    // request decided meanwhile is left out.
    return this.#recordsOf(mergeRuns(runs, order === 'newest' ? 'desc' : 'asc', limit), (request) =>
      listedGroups(request).some((group) => wanted.has(group)),
    );
  }

  async listVisible(
    keys: readonly string[],
    status: Status,
    options: ListVisibleOptions = {},
  ): Promise<Page<ActionRequest>> {
    const limit = pageLimit(options.limit);
    const after = options.cursor ? readCursor(options.cursor) : undefined;
    const wanted = new Set(keys);
    if (wanted.size === 0) return { items: [] };
    const runs = await Promise.all(
      viewerPartitions([...wanted], status, this.#keys).map((partition) =>
        this.#run({
          index: VIEWER_INDEX,
          hashName: 'viewerShard',
          hash: partition,
          rangeName: 'createdSort',
          after: after ? sortKey(after.createdAt, after.id) : undefined,
          descending: true,
          // Any one key may fill the page alone; its shards share it.
          limit: perPartition(limit, this.#keys.shards),
        }),
      ),
    );
    // The index lags the table a moment: what changed status since is left out here.
    return this.#recordsOf(mergeRuns(runs, 'desc', limit), (request) => request.status === status);
  }

  /**
   * The records of a merged page of index keys, read from the table (strongly consistent), those
   * `keep` still accepts, with the cursor after the page's last key.
   */
  async #recordsOf(
    page: ReturnType<typeof mergeRuns>,
    keep: (request: ActionRequest) => boolean,
  ): Promise<Page<ActionRequest>> {
    const items = (await this.#getMany(page.keys.map((key) => key.id))).filter(keep);
    const last = page.keys.at(-1);
    return page.more && last
      ? { items, cursor: cursorAfter({ createdAt: last.at, id: last.id }) }
      : { items };
  }

  /** The requester's pending counter, kept in the same transactions as its requests. */
  async countPending(requester: string, atMost: number): Promise<number> {
    const out = await this.#call(() =>
      this.#doc.send(
        new GetCommand({
          TableName: this.#tables.requests,
          Key: { id: pendingCounterId(requester) },
          ConsistentRead: true,
        }),
      ),
    );
    const count = Number(out.Item?.count ?? 0);
    return Math.max(0, Math.min(Number.isFinite(count) ? count : 0, atMost));
  }

  /** One partition of a KEYS_ONLY index, from after `after` in its order, at most `limit` keys. */
  async #run(query: {
    readonly index: string;
    readonly hashName: string;
    readonly hash: string;
    readonly rangeName: string;
    readonly after: string | undefined;
    readonly descending: boolean;
    readonly limit: number;
  }): Promise<SortedRun> {
    const out = await this.#call(() =>
      this.#doc.send(
        new QueryCommand({
          TableName: this.#tables.requests,
          IndexName: query.index,
          KeyConditionExpression:
            query.after === undefined
              ? '#hash = :hash'
              : `#hash = :hash AND #range ${query.descending ? '<' : '>'} :after`,
          ExpressionAttributeNames: {
            '#hash': query.hashName,
            ...(query.after === undefined ? {} : { '#range': query.rangeName }),
          },
          ExpressionAttributeValues: {
            ':hash': query.hash,
            ...(query.after === undefined ? {} : { ':after': query.after }),
          },
          Limit: query.limit,
          ScanIndexForward: !query.descending,
        }),
      ),
    );
    const keys: Keyed[] = (out.Items ?? []).map((item) => {
      const key = String(item[query.rangeName]);
      const id = idOfSortKey(key);
      return { at: key.slice(0, key.length - id.length - 1), id };
    });
    return { keys, truncated: out.LastEvaluatedKey !== undefined && keys.length > 0 };
  }

  /** The requests with these ids that exist, in the order asked (strongly consistent reads). */
  async #getMany(ids: readonly string[]): Promise<ActionRequest[]> {
    const found = new Map<string, ActionRequest>();
    for (let i = 0; i < ids.length; i += MAX_BATCH_GET) {
      let keys: Item[] = ids.slice(i, i + MAX_BATCH_GET).map((id) => ({ id }));
      for (let attempt = 1; keys.length > 0; attempt++) {
        if (attempt > 8) {
          throw new StoreUnavailableError('DynamoDB left part of a batch read unprocessed; retry shortly');
        }
        const batch = keys;
        const out = await this.#call(() =>
          this.#doc.send(
            new BatchGetCommand({
              RequestItems: {
                [this.#tables.requests]: { Keys: batch, ConsistentRead: true, ProjectionExpression: 'body' },
              },
            }),
          ),
        );
        for (const item of out.Responses?.[this.#tables.requests] ?? []) {
          if (typeof item.body !== 'string') continue;
          const request = JSON.parse(item.body) as ActionRequest;
          found.set(request.id, request);
        }
        keys = (out.UnprocessedKeys?.[this.#tables.requests]?.Keys as Item[] | undefined) ?? [];
        if (keys.length > 0) await new Promise((resolve) => setTimeout(resolve, 2 ** attempt * 10));
      }
    }
    return ids.flatMap((id) => {
      const request = found.get(id);
      return request ? [request] : [];
    });
  }

  async #call<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw translate(error);
    }
  }
}

/**
 * The request and each event's data are stored as JSON text: DynamoDB's own types cannot hold
 * every JSON value an agent may send (numbers beyond 38 digits or below 1e-130, empty keys, more
 * than 32 levels of nesting), and text keeps the stored value byte-for-byte what was hashed.
 */
function requestItem(request: ActionRequest, keys: Partial<KeyOptions>): Item {
  return {
    id: request.id,
    version: request.version,
    status: request.status,
    ...requestIndexKeys(request, keys),
    body: JSON.stringify(request),
  };
}

/** A pending request's entry in one approver group's index partitions (keys only). */
function pointerItem(pointer: PendingPointer): Item {
  return {
    id: pointer.id,
    groupShard: pointer.groupShard,
    createdSort: pointer.createdSort,
    deadlineSort: pointer.deadlineSort,
  };
}

/** A decided request's entry under one viewer key, in its status's partitions (keys only). */
function viewerItem(pointer: ViewerPointer): Item {
  return { id: pointer.id, viewerShard: pointer.viewerShard, createdSort: pointer.createdSort };
}

/** Keys per partition: enough for one partition to fill the page alone when spread over `over`. */
function perPartition(limit: number, over: number): number {
  return Math.ceil(limit / over) + 1;
}

function idempotencyItem(record: IdempotencyRecord): Item {
  return { id: idempotencyId(record.requester, record.key), ...record };
}

function eventItem(event: AuditEvent): Item {
  const { data, ...fields } = event;
  return { ...fields, data: JSON.stringify(data) };
}

function toEvent(item: Item): AuditEvent {
  const { request_id, seq, type, time, actor, data, prev_hash, hash } = item;
  return {
    request_id,
    seq,
    type,
    time,
    actor,
    data: typeof data === 'string' ? JSON.parse(data) : data,
    prev_hash,
    hash,
  } as AuditEvent;
}

const UNAVAILABLE = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TransactionInProgressException',
  'TimeoutError',
]);
const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** Outages become a retryable StoreUnavailableError; anything else (a bug, a misconfiguration) is rethrown. */
function translate(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  if (
    UNAVAILABLE.has(error.name) ||
    (typeof code === 'string' && NETWORK.has(code)) ||
    isNetworkCause(error)
  ) {
    return new StoreUnavailableError(
      `DynamoDB is unavailable (${error.name}: ${error.message}); retry shortly`,
      {
        cause: error,
      },
    );
  }
  return error;
}

function isNetworkCause(error: Error): boolean {
  if (error.name === 'AggregateError' && Array.isArray((error as AggregateError).errors)) {
    return (error as AggregateError).errors.some((e: unknown) => e instanceof Error && isNetworkCause(e));
  }
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK.has(code)) return true;
  return error.cause instanceof Error ? isNetworkCause(error.cause) : false;
}
