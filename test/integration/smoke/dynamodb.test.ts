// Smoke: DynamoDB Local started by the harness does what the store relies on — conditional
// TransactWriteItems (all-or-nothing) and a NEW_IMAGE stream readable through the Streams API.
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListStreamsCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dynamoClient, ENV, streamsClient, uniqueName, waitFor } from '../../harness/index.ts';

describe('DynamoDB Local: transactions and streams', () => {
  const table = uniqueName('smoke-ddb');
  let ddb: DynamoDBClient;
  let streams: DynamoDBStreamsClient;

  beforeAll(async () => {
    ddb = dynamoClient();
    streams = streamsClient();
    await ddb.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
      }),
    );
    await waitUntilTableExists({ client: ddb, maxWaitTime: 30 }, { TableName: table });
  });

  afterAll(async () => {
    await ddb?.send(new DeleteTableCommand({ TableName: table }));
    ddb?.destroy();
    streams?.destroy();
  });

  it('gets its endpoint through inject() and the environment, never a real AWS endpoint', () => {
    const context = inject('alaHarness');
    expect(context.dynamodbEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(process.env[ENV.dynamodbEndpoint]).toBe(context.dynamodbEndpoint);
    expect(process.env.AWS_ENDPOINT_URL_DYNAMODB).toBe(context.dynamodbEndpoint);
    expect(process.env.AWS_EC2_METADATA_DISABLED).toBe('true');
    expect(process.env.AWS_ACCESS_KEY_ID).toBe('test');
    expect(process.env.AWS_PROFILE).toBeUndefined();
  });

  it('sends even an SDK client built with no configuration at all to DynamoDB Local', async () => {
    const bare = new DynamoDBClient({});
    try {
      expect(await bare.config.region()).toBe('us-east-1');
      const tables = await bare.send(new ListTablesCommand({}));
      expect(tables.TableNames).toContain(table); // a table that exists only in the emulator
    } finally {
      bare.destroy();
    }
  });

  it('commits a conditional transaction, cancels a conflicting one without writing anything, and streams exactly the committed images', async () => {
    const request = { pk: { S: 'REQ#1' }, sk: { S: 'STATE' } };
    // 1. Create the request and its first audit event atomically.
    await ddb.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          {
            Put: {
              TableName: table,
              Item: { ...request, state: { S: 'PENDING' }, version: { N: '1' } },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          {
            Put: {
              TableName: table,
              Item: { pk: { S: 'REQ#1' }, sk: { S: 'AUDIT#0001' }, event: { S: 'submitted' } },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ],
      }),
    );
    // 2. Approve: optimistic lock on version 1, plus the audit event.
    await ddb.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          {
            Update: {
              TableName: table,
              Key: request,
              UpdateExpression: 'SET #s = :approved, version = :v2',
              ConditionExpression: '#s = :pending AND version = :v1',
              ExpressionAttributeNames: { '#s': 'state' },
              ExpressionAttributeValues: {
                ':approved': { S: 'APPROVED' },
                ':pending': { S: 'PENDING' },
                ':v1': { N: '1' },
                ':v2': { N: '2' },
              },
            },
          },
          {
            Put: {
              TableName: table,
              Item: { pk: { S: 'REQ#1' }, sk: { S: 'AUDIT#0002' }, event: { S: 'approved' } },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ],
      }),
    );
    // 3. A concurrent deny that read version 1: must be cancelled as a whole.
    const conflicting = ddb.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          {
            Update: {
              TableName: table,
              Key: request,
              UpdateExpression: 'SET #s = :denied, version = :v2',
              ConditionExpression: '#s = :pending AND version = :v1',
              ExpressionAttributeNames: { '#s': 'state' },
              ExpressionAttributeValues: {
                ':denied': { S: 'DENIED' },
                ':pending': { S: 'PENDING' },
                ':v1': { N: '1' },
                ':v2': { N: '2' },
              },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
          {
            Put: {
              TableName: table,
              Item: { pk: { S: 'REQ#1' }, sk: { S: 'AUDIT#0003' }, event: { S: 'denied' } },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ],
      }),
    );
    const error = await conflicting.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TransactionCanceledException);
    if (!(error instanceof TransactionCanceledException)) return;
    expect(error.CancellationReasons?.map((r) => r.Code)).toEqual(['ConditionalCheckFailed', 'None']);
    // The failed condition reports the item as it is (the winner's write).
    expect(error.CancellationReasons?.[0]?.Item?.state).toEqual({ S: 'APPROVED' });

    // Nothing of the cancelled transaction is visible.
    const state = await ddb.send(
      new GetItemCommand({ TableName: table, Key: request, ConsistentRead: true }),
    );
    expect(state.Item?.state).toEqual({ S: 'APPROVED' });
    expect(state.Item?.version).toEqual({ N: '2' });
    const deniedAudit = await ddb.send(
      new GetItemCommand({ TableName: table, Key: { pk: { S: 'REQ#1' }, sk: { S: 'AUDIT#0003' } } }),
    );
    expect(deniedAudit.Item).toBeUndefined();

    // The stream carries the four committed writes, in order per item, and nothing else.
    const described = await ddb.send(new DescribeTableCommand({ TableName: table }));
    const listed = await streams.send(new ListStreamsCommand({ TableName: table }));
    const streamArn = listed.Streams?.[0]?.StreamArn;
    expect(streamArn).toBeDefined();
    expect(streamArn).toBe(described.Table?.LatestStreamArn);
    if (streamArn === undefined) return;

    const records = await waitFor(
      async () => {
        const got = await readAllRecords(streams, streamArn);
        return got.length >= 4 ? got : undefined;
      },
      { what: 'four stream records', timeoutMs: 15_000, intervalMs: 200 },
    );
    const summary = records.map((r) => ({
      event: r.eventName,
      sk: r.dynamodb?.Keys?.sk?.S,
      viewType: r.dynamodb?.StreamViewType,
      state: r.dynamodb?.NewImage?.state?.S,
      auditEvent: r.dynamodb?.NewImage?.event?.S,
      hasOldImage: r.dynamodb?.OldImage !== undefined,
    }));
    expect(summary).toHaveLength(4);
    expect(summary).toEqual(
      expect.arrayContaining([
        {
          event: 'INSERT',
          sk: 'AUDIT#0001',
          viewType: 'NEW_IMAGE',
          state: undefined,
          auditEvent: 'submitted',
          hasOldImage: false,
        },
        {
          event: 'INSERT',
          sk: 'AUDIT#0002',
          viewType: 'NEW_IMAGE',
          state: undefined,
          auditEvent: 'approved',
          hasOldImage: false,
        },
      ]),
    );
    // Per-item order: the request was inserted PENDING, then modified to APPROVED; never DENIED.
    expect(summary.filter((r) => r.sk === 'STATE')).toEqual([
      {
        event: 'INSERT',
        sk: 'STATE',
        viewType: 'NEW_IMAGE',
        state: 'PENDING',
        auditEvent: undefined,
        hasOldImage: false,
      },
      {
        event: 'MODIFY',
        sk: 'STATE',
        viewType: 'NEW_IMAGE',
        state: 'APPROVED',
        auditEvent: undefined,
        hasOldImage: false,
      },
    ]);
    // Sequence numbers increase within the shard.
    const sequence = records.map((r) => BigInt(r.dynamodb?.SequenceNumber ?? '0'));
    expect([...sequence].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(sequence);
  });
});

/** All records currently in the stream, shard by shard from TRIM_HORIZON (parents first). */
async function readAllRecords(streams: DynamoDBStreamsClient, streamArn: string): Promise<StreamRecord[]> {
  const description = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  expect(description.StreamDescription?.StreamViewType).toBe('NEW_IMAGE');
  const shards = description.StreamDescription?.Shards ?? [];
  expect(shards.length).toBeGreaterThan(0);
  const records: StreamRecord[] = [];
  for (const shard of shards) {
    const { ShardIterator } = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shard.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    let iterator = ShardIterator;
    // An open shard always returns a next iterator: stop at the first empty page.
    for (let page = 0; iterator !== undefined && page < 100; page++) {
      const batch = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 100 }));
      const got = batch.Records ?? [];
      records.push(...got);
      if (got.length === 0) break;
      iterator = batch.NextShardIterator;
    }
  }
  return records;
}
