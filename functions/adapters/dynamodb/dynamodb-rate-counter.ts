/**
 * RateCounter on DynamoDB: one item per key and window in the requests table (pk `rate#…`), one
 * atomic `ADD` per call, removed by the table's TTL once its window is over. Every Lambda instance
 * counts on the same item, so a limit holds however many instances run.
 */
import { createHash } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { StoreUnavailableError } from '../../core/errors.ts';
import type { RateCounter } from '../../core/ports/counter.port.ts';
import { TTL_ATTRIBUTE } from './tables.ts';

export class DynamoDbRateCounter implements RateCounter {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(client: DynamoDBClient, requestsTable: string) {
    this.#doc = DynamoDBDocumentClient.from(client);
    this.#table = requestsTable;
  }

  async increment(key: string, windowStart: number, expiresAt: number): Promise<number> {
    // Principal ids may hold any visible character: the key is digested into the item id.
    const id = `rate#${createHash('sha256').update(key).digest('hex')}#${windowStart}`;
    try {
      const out = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { id },
          UpdateExpression: 'ADD #count :one SET #ttl = if_not_exists(#ttl, :expires)',
          ExpressionAttributeNames: { '#count': 'count', '#ttl': TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ':one': 1, ':expires': expiresAt },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Number(out.Attributes?.count ?? 1);
    } catch (error) {
      throw new StoreUnavailableError(
        `the rate-limit counters in DynamoDB are unavailable (${(error as Error).name}); retry shortly`,
        { cause: error },
      );
    }
  }
}
