/**
 * Signed callbacks seen within their window, on AWS: one item per signature in the requests
 * table, written only if absent (a conditional put), expiring through the table's TTL. Every api
 * Lambda instance writes to the same table, so a replay that lands on another instance than the
 * original is refused too; an in-memory cache could not do that. The signature is stored as a
 * SHA-256 digest: the item proves it was seen without keeping it.
 */
import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { StoreUnavailableError } from '../../core/errors.ts';
import type { ReplayGuard } from '../../core/ports/replay.port.ts';
import { TOKEN_TTL_ATTRIBUTE } from './task-token-store.ts';

/** The item's key; never collides with a request id (`ar_…`), `idem#…` or `token#…`. */
export function replayItemId(key: string): string {
  return `replay#${createHash('sha256').update(key).digest('hex')}`;
}

export class DynamoDbReplayGuard implements ReplayGuard {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(client: DynamoDBClient, options: { readonly tableName: string }) {
    this.#doc = DynamoDBDocumentClient.from(client);
    this.#table = options.tableName;
  }

  async firstSeen(key: string, until: Date): Promise<boolean> {
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          // No index key attributes (`statusShard`, `groupShard`): the item appears in no index.
          Item: { id: replayItemId(key), [TOKEN_TTL_ATTRIBUTE]: Math.ceil(until.getTime() / 1000) },
          ConditionExpression: 'attribute_not_exists(id)',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw new StoreUnavailableError(
        `the replay guard could not be written (${(error as Error).name}); retry shortly`,
        { cause: error },
      );
    }
  }
}
