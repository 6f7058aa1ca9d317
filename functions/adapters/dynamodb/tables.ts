/**
 * The DynamoDB table design (docs/data-model.md). CDK declares the same tables for AWS; this
 * definition is used to create them in DynamoDB Local and in tests, and a test keeps both in step.
 */
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
  ResourceInUseException,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { GROUP_CREATED_INDEX, GROUP_DEADLINE_INDEX, STATUS_SHARD_INDEX, VIEWER_INDEX } from './keys.ts';

export interface TableNames {
  /**
   * Requests (pk `id`), pending pointers (`grp#…`), viewer pointers (`view#…`), pending counters
   * (`pending#…`), idempotency keys (`idem#…`), rate counters (`rate#…`), task tokens (`token#…`)
   * and replay guards (`replay#…`).
   * Only request items carry `statusShard`, only pending pointers `groupShard`, only viewer
   * pointers `viewerShard`: the indexes are sparse.
   */
  readonly requests: string;
  /** Audit events: pk `request_id`, sk `seq`; stream NEW_IMAGE feeds the archiver. Put-only. */
  readonly audit: string;
}

export { GROUP_CREATED_INDEX, GROUP_DEADLINE_INDEX, STATUS_SHARD_INDEX, VIEWER_INDEX };
/** The requests table's TTL attribute (epoch seconds): task tokens and rate counters expire by it. */
export const TTL_ATTRIBUTE = 'ttl';

/**
 * Four KEYS_ONLY indexes (docs/data-model.md): request items by `<status>#<shard>`, pending
 * pointers by `<group>#<shard>` in creation and in deadline order, and viewer pointers of decided
 * requests by `<viewer key>#<status>#<shard>` newest first. Listings read keys from them and
 * the records from the table (a consistent BatchGetItem), so no index doubles the body's writes.
 */
export function requestsTableDefinition(name: string): CreateTableCommandInput {
  const keysOnly = (index: string, hash: string, range: string) => ({
    IndexName: index,
    KeySchema: [
      { AttributeName: hash, KeyType: 'HASH' as const },
      { AttributeName: range, KeyType: 'RANGE' as const },
    ],
    Projection: { ProjectionType: 'KEYS_ONLY' as const },
  });
  return {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'id', AttributeType: 'S' },
      { AttributeName: 'statusShard', AttributeType: 'S' },
      { AttributeName: 'statusSort', AttributeType: 'S' },
      { AttributeName: 'groupShard', AttributeType: 'S' },
      { AttributeName: 'createdSort', AttributeType: 'S' },
      { AttributeName: 'deadlineSort', AttributeType: 'S' },
      { AttributeName: 'viewerShard', AttributeType: 'S' },
    ],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [
      keysOnly(STATUS_SHARD_INDEX, 'statusShard', 'statusSort'),
      keysOnly(GROUP_CREATED_INDEX, 'groupShard', 'createdSort'),
      keysOnly(GROUP_DEADLINE_INDEX, 'groupShard', 'deadlineSort'),
      keysOnly(VIEWER_INDEX, 'viewerShard', 'createdSort'),
    ],
  };
}

export function auditTableDefinition(name: string): CreateTableCommandInput {
  return {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'request_id', AttributeType: 'S' },
      { AttributeName: 'seq', AttributeType: 'N' },
    ],
    KeySchema: [
      { AttributeName: 'request_id', KeyType: 'HASH' },
      { AttributeName: 'seq', KeyType: 'RANGE' },
    ],
    StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
  };
}

/** Creates both tables if they do not exist (local mode and tests; CDK owns them on AWS). */
export async function ensureTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  for (const definition of [requestsTableDefinition(names.requests), auditTableDefinition(names.audit)]) {
    try {
      await client.send(new CreateTableCommand(definition));
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    await waitUntilTableExists({ client, maxWaitTime: 60 }, { TableName: definition.TableName });
  }
}
