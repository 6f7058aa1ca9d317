/**
 * Task tokens of waiting approval executions, kept server-side. A token resumes an execution, so it
 * is never sent to chat, to the requester or to approvers, and never logged: the notify step stores
 * it here and `decided()` reads it back to call SendTaskSuccess.
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { StoreUnavailableError } from '../../core/errors.ts';
import type { WaitingStage } from './approval-execution.ts';

export interface StoredTaskToken {
  readonly requestId: string;
  readonly stage: WaitingStage;
  readonly taskToken: string;
  /** RFC 3339. */
  readonly storedAt: string;
  /** RFC 3339: when the execution was known to have left this waiting task (Finalize ran, or the task was over). */
  readonly settledAt?: string;
}

export interface TaskTokenStore {
  /**
   * Stores the token of the stage now waiting. A later stage's token is never replaced by an
   * earlier one's (a retried notify after the escalation began is a no-op). `keepUntil` bounds how
   * long the token is kept: past the request's deadline it can resume nothing.
   */
  put(token: StoredTaskToken, keepUntil: Date): Promise<void>;
  get(requestId: string): Promise<StoredTaskToken | undefined>;
  /**
   * Marks this very token as used up, so the sweeper's reconciler stops looking at it. A no-op when
   * another token (a later stage) holds the slot meanwhile.
   */
  settle(token: StoredTaskToken, at: Date, keepUntil: Date): Promise<void>;
}

const STAGE_RANK: Record<WaitingStage, number> = { notify: 1, escalate: 2 };

/** The token item's key in the requests table; never collides with a request id (`ar_…`) or `idem#…`. */
export function taskTokenItemId(requestId: string): string {
  return `token#${requestId}`;
}

/** Attribute the requests table's TTL reads (epoch seconds); only token items carry it. */
export const TOKEN_TTL_ATTRIBUTE = 'ttl';

/**
 * One item per request in the requests table: `{id: "token#<requestId>", stage, taskToken, ttl}`.
 * It has no index key attributes (`statusShard`, `groupShard`), so it appears in no index.
 */
export class DynamoDbTaskTokenStore implements TaskTokenStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(client: DynamoDBClient, options: { readonly tableName: string }) {
    this.#doc = DynamoDBDocumentClient.from(client);
    this.#table = options.tableName;
  }

  async put(token: StoredTaskToken, keepUntil: Date): Promise<void> {
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            id: taskTokenItemId(token.requestId),
            requestId: token.requestId,
            stage: token.stage,
            stageRank: STAGE_RANK[token.stage],
            taskToken: token.taskToken,
            storedAt: token.storedAt,
            [TOKEN_TTL_ATTRIBUTE]: Math.ceil(keepUntil.getTime() / 1000),
          },
          ConditionExpression: 'attribute_not_exists(id) OR stageRank <= :rank',
          ExpressionAttributeValues: { ':rank': STAGE_RANK[token.stage] },
        }),
      );
    } catch (error) {
      // A later stage holds the slot: the earlier stage's task is over already.
      if (error instanceof ConditionalCheckFailedException) return;
      throw unavailable(error);
    }
  }

  async settle(token: StoredTaskToken, at: Date, keepUntil: Date): Promise<void> {
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            id: taskTokenItemId(token.requestId),
            requestId: token.requestId,
            stage: token.stage,
            stageRank: STAGE_RANK[token.stage],
            taskToken: token.taskToken,
            storedAt: token.storedAt,
            settledAt: at.toISOString(),
            [TOKEN_TTL_ATTRIBUTE]: Math.ceil(keepUntil.getTime() / 1000),
          },
          // Only the token read: a later stage's token stays unsettled.
          ConditionExpression: 'taskToken = :token',
          ExpressionAttributeValues: { ':token': token.taskToken },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw unavailable(error);
    }
  }

  async get(requestId: string): Promise<StoredTaskToken | undefined> {
    let item: Record<string, unknown> | undefined;
    try {
      const out = await this.#doc.send(
        new GetCommand({
          TableName: this.#table,
          Key: { id: taskTokenItemId(requestId) },
          ConsistentRead: true,
        }),
      );
      item = out.Item;
    } catch (error) {
      throw unavailable(error);
    }
    if (!item) return undefined;
    const { stage, taskToken, storedAt, settledAt } = item;
    if ((stage !== 'notify' && stage !== 'escalate') || typeof taskToken !== 'string') {
      throw new Error(`task token item of request ${requestId} is malformed (stage ${String(stage)})`);
    }
    return {
      requestId,
      stage,
      taskToken,
      storedAt: typeof storedAt === 'string' ? storedAt : '',
      ...(typeof settledAt === 'string' ? { settledAt } : {}),
    };
  }
}

const TRANSIENT = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
]);

/** Throttling, 5xx and network failures become a retryable StoreUnavailableError; the rest is rethrown. */
function unavailable(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const fault = (error as { $fault?: unknown }).$fault;
  const code = (error as { code?: unknown }).code;
  const network = typeof code === 'string' && /^E[A-Z]+$/.test(code);
  if (TRANSIENT.has(error.name) || fault === 'server' || network) {
    return new StoreUnavailableError(
      `DynamoDB is unavailable (${error.name}: ${error.message}); retry shortly`,
      {
        cause: error,
      },
    );
  }
  return error;
}
