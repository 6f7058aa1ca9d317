/**
 * RequestStore on DynamoDB. Every transition is one TransactWriteItems: the request is put on the
 * condition that its version is the one we read, each audit event is put on the condition that its
 * (request_id, seq) does not exist, and an idempotency key likewise. Audit items are only ever put;
 * the functions' IAM roles hold no UpdateItem/DeleteItem on the audit table.
 */
import { createHash } from 'node:crypto';
import { type DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { IdempotencyKeyTakenError, StaleStateError, StoreUnavailableError } from '../../core/errors.ts';
import type { ActionRequest, AuditEvent, Status } from '../../core/model.ts';
import { cursorAfter, pageLimit, readCursor } from '../../core/paging.ts';
import type {
  IdempotencyRecord,
  ListByStatusOptions,
  Page,
  RequestStore,
  Transition,
} from '../../core/ports/store.port.ts';
import { REQUESTER_INDEX, STATUS_INDEX, type TableNames } from './tables.ts';

type Item = Record<string, unknown>;

export class DynamoDbRequestStore implements RequestStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #tables: TableNames;

  constructor(client: DynamoDBClient, tables: TableNames) {
    this.#doc = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
    });
    this.#tables = tables;
  }

  // No ClientRequestToken: two racing writers can build byte-identical transitions (same clock
  // reading), and a shared token would let DynamoDB report success to both. A resend after a timeout
  // may instead see its own write as a stale version; the service then re-reads and decides again.
  async commit(transition: Transition): Promise<void> {
    const { request, expectedVersion, events, idempotency } = transition;
    const requestPut = {
      Put: {
        TableName: this.#tables.requests,
        Item: requestItem(request),
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
    const idempotencyIndex = 1 + eventPuts.length;
    const all: unknown[] = [requestPut, ...eventPuts];
    if (idempotency) {
      all.push({
        Put: {
          TableName: this.#tables.requests,
          Item: idempotencyItem(idempotency),
          ConditionExpression: 'attribute_not_exists(id)',
        },
      });
    }
    try {
      await this.#doc.send(
        new TransactWriteCommand({
          TransactItems: all as NonNullable<
            ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']
          >,
        }),
      );
    } catch (error) {
      if (error instanceof TransactionCanceledException) {
        const reasons = error.CancellationReasons ?? [];
        if (idempotency && reasons[idempotencyIndex]?.Code === 'ConditionalCheckFailed') {
          throw new IdempotencyKeyTakenError(`idempotency key ${idempotency.key} is taken`, { cause: error });
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
    // The index's key of the item the cursor stands after: table key plus index key.
    const after = options.cursor ? readCursor(options.cursor) : undefined;
    const start = after
      ? { id: after.id, status, statusSort: statusSort(after.createdAt, after.id) }
      : undefined;
    const out = await this.#call(() =>
      this.#doc.send(
        new QueryCommand({
          TableName: this.#tables.requests,
          IndexName: STATUS_INDEX,
          KeyConditionExpression: '#status = :status',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':status': status },
          Limit: limit,
          ScanIndexForward: options.newestFirst !== true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      ),
    );
    const items = (out.Items ?? []).map((item) => JSON.parse(String(item.body)) as ActionRequest);
    const last = items.at(-1);
    return out.LastEvaluatedKey && last ? { items, cursor: cursorAfter(last) } : { items };
  }

  async countPending(requester: string, atMost: number): Promise<number> {
    let count = 0;
    let start: Item | undefined;
    // Keys only, and never more than `atMost` of them: bounded however many the requester has.
    do {
      const out = await this.#call(() =>
        this.#doc.send(
          new QueryCommand({
            TableName: this.#tables.requests,
            IndexName: REQUESTER_INDEX,
            KeyConditionExpression: 'requesterStatus = :key',
            ExpressionAttributeValues: { ':key': requesterStatus(requester, 'pending') },
            Select: 'COUNT',
            Limit: Math.max(1, atMost - count),
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      );
      count += out.Count ?? 0;
      start = out.LastEvaluatedKey;
    } while (start && count < atMost);
    return Math.min(count, atMost);
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
function requestItem(request: ActionRequest): Item {
  return {
    id: request.id,
    version: request.version,
    status: request.status,
    statusSort: statusSort(request.createdAt, request.id),
    requesterStatus: requesterStatus(request.subject.id, request.status),
    body: JSON.stringify(request),
  };
}

/** The by-requester index's partition key. */
function requesterStatus(requester: string, status: Status): string {
  return `${requester}#${status}`;
}

/** The by-status index's sort key: creation order, ties broken by id (as the cursor's position). */
function statusSort(createdAt: string, id: string): string {
  return `${createdAt}#${id}`;
}

function idempotencyId(requester: string, key: string): string {
  // Principal ids may contain any visible character, so the pair is digested, not concatenated.
  return `idem#${createHash('sha256')
    .update(JSON.stringify([requester, key]))
    .digest('hex')}`;
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
