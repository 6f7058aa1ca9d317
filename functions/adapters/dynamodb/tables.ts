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

export interface TableNames {
  /** Requests (pk `id`), idempotency keys (pk `idem#…`) and rate counters (pk `rate#…`); GSIs `by-status`, `by-requester`. */
  readonly requests: string;
  /** Audit events: pk `request_id`, sk `seq`; stream NEW_IMAGE feeds the archiver. Put-only. */
  readonly audit: string;
}

export const STATUS_INDEX = 'by-status';
/** The requests table's TTL attribute (epoch seconds): task tokens and rate counters expire by it. */
export const TTL_ATTRIBUTE = 'ttl';
/** Requests by requester and status (`requesterStatus` = `<principal>#<status>`): the pending cap's count. */
export const REQUESTER_INDEX = 'by-requester';

export function requestsTableDefinition(name: string): CreateTableCommandInput {
  return {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'id', AttributeType: 'S' },
      { AttributeName: 'status', AttributeType: 'S' },
      { AttributeName: 'statusSort', AttributeType: 'S' },
      { AttributeName: 'requesterStatus', AttributeType: 'S' },
    ],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [
      {
        IndexName: STATUS_INDEX,
        KeySchema: [
          { AttributeName: 'status', KeyType: 'HASH' },
          { AttributeName: 'statusSort', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
      {
        IndexName: REQUESTER_INDEX,
        KeySchema: [
          { AttributeName: 'requesterStatus', KeyType: 'HASH' },
          { AttributeName: 'statusSort', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
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
