import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { TOKEN_TTL_ATTRIBUTE } from '../../functions/adapters/aws/task-token-store.ts';
import { auditTableDefinition, requestsTableDefinition } from '../../functions/adapters/dynamodb/tables.ts';

type TableDefinition = ReturnType<typeof requestsTableDefinition>;

export interface GatewayTablesProps {
  /** Encrypts both tables at rest. */
  readonly encryptionKey: kms.IKey;
}

/**
 * The requests and audit tables, declared from the same definitions DynamoDB Local and the tests
 * create them with (functions/adapters/dynamodb/tables.ts), so keys, index and stream cannot drift.
 * Both keep 35 days of point-in-time recovery, are deletion-protected and retained on stack deletion.
 */
export class GatewayTables extends Construct {
  /** Requests and their keyed companions (pk `id`, docs/data-model.md); three KEYS_ONLY GSIs; TTL on token and counter items. */
  readonly requests: dynamodb.Table;
  /** Hash-chained audit events (pk `request_id`, sk `seq`); stream NEW_IMAGE feeds the archiver. Put-only. */
  readonly audit: dynamodb.Table;

  constructor(scope: Construct, id: string, props: GatewayTablesProps) {
    super(scope, id);
    this.requests = declareTable(this, 'Requests', requestsTableDefinition('requests'), props.encryptionKey, {
      timeToLiveAttribute: TOKEN_TTL_ATTRIBUTE,
    });
    this.audit = declareTable(this, 'Audit', auditTableDefinition('audit'), props.encryptionKey, {});
    for (const table of [this.requests, this.audit]) {
      Validations.of(table).acknowledge({
        id: 'NIST.800.53.R5-DynamoDBInBackupPlan',
        reason:
          'Continuous backups are on (point-in-time recovery, 35 days) with deletion protection and retention on stack deletion, and audit events are archived to the Object Lock bucket. AWS Backup plans and vaults are an account-level choice (often AWS Organizations backup policies selecting by tag), not something one application stack should create.',
      });
    }
  }
}

function attribute(definition: TableDefinition, name: string): dynamodb.Attribute {
  const declared = definition.AttributeDefinitions?.find((a) => a.AttributeName === name);
  const types: Record<string, dynamodb.AttributeType> = {
    S: dynamodb.AttributeType.STRING,
    N: dynamodb.AttributeType.NUMBER,
    B: dynamodb.AttributeType.BINARY,
  };
  const type = declared?.AttributeType ? types[declared.AttributeType] : undefined;
  if (!type) {
    throw new Error(`table definition ${definition.TableName} declares no attribute type for key "${name}"`);
  }
  return { name, type };
}

function keys(
  definition: TableDefinition,
  schema: readonly { AttributeName?: string; KeyType?: string }[] | undefined,
): { partitionKey: dynamodb.Attribute; sortKey?: dynamodb.Attribute } {
  const hash = schema?.find((k) => k.KeyType === 'HASH')?.AttributeName;
  const range = schema?.find((k) => k.KeyType === 'RANGE')?.AttributeName;
  if (!hash) throw new Error(`table definition ${definition.TableName} has no HASH key`);
  return {
    partitionKey: attribute(definition, hash),
    ...(range ? { sortKey: attribute(definition, range) } : {}),
  };
}

const STREAM_VIEWS: Record<string, dynamodb.StreamViewType> = {
  NEW_IMAGE: dynamodb.StreamViewType.NEW_IMAGE,
  OLD_IMAGE: dynamodb.StreamViewType.OLD_IMAGE,
  NEW_AND_OLD_IMAGES: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
  KEYS_ONLY: dynamodb.StreamViewType.KEYS_ONLY,
};

function declareTable(
  scope: Construct,
  id: string,
  definition: TableDefinition,
  encryptionKey: kms.IKey,
  extra: { timeToLiveAttribute?: string },
): dynamodb.Table {
  if (definition.BillingMode !== 'PAY_PER_REQUEST') {
    throw new Error(
      `table definition ${definition.TableName} must be PAY_PER_REQUEST, got ${definition.BillingMode}`,
    );
  }
  const stream = definition.StreamSpecification?.StreamEnabled
    ? STREAM_VIEWS[definition.StreamSpecification.StreamViewType ?? '']
    : undefined;
  const table = new dynamodb.Table(scope, id, {
    ...keys(definition, definition.KeySchema),
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
    encryptionKey,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    deletionProtection: true,
    removalPolicy: RemovalPolicy.RETAIN,
    ...(stream ? { stream } : {}),
    ...extra,
  });
  const projections: Record<string, dynamodb.ProjectionType> = {
    ALL: dynamodb.ProjectionType.ALL,
    KEYS_ONLY: dynamodb.ProjectionType.KEYS_ONLY,
  };
  for (const index of definition.GlobalSecondaryIndexes ?? []) {
    const projectionType = projections[index.Projection?.ProjectionType ?? ''];
    if (!projectionType) {
      throw new Error(
        `index ${index.IndexName} of ${definition.TableName}: only ALL and KEYS_ONLY projections are mapped`,
      );
    }
    table.addGlobalSecondaryIndex({
      indexName: index.IndexName ?? '',
      ...keys(definition, index.KeySchema),
      projectionType,
    });
  }
  return table;
}
