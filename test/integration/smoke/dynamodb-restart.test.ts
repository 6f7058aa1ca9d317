// Smoke: a test can get a DynamoDB Local of its own, crash it (SIGKILL), freeze it, and bring it
// back on the same endpoint — without disturbing the shared instance other test files use.
import {
  CreateTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dynamoClient,
  dynamodbEndpoint,
  type EmulatorHandle,
  startDynamoDbLocal,
  uniqueName,
} from '../../harness/index.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('startDynamoDbLocal(): an instance of your own', () => {
  let own: EmulatorHandle;
  let client: DynamoDBClient;
  const table = uniqueName('smoke-restart');
  const key = { pk: { S: 'REQ#1' } };

  beforeAll(async () => {
    own = await startDynamoDbLocal({ storage: 'disk' });
    // No retries: a stopped emulator must show up as an error right away.
    client = dynamoClient({ endpoint: own.endpoint, maxAttempts: 1 });
  });

  afterAll(async () => {
    client?.destroy();
    // Idempotent: normally the last test below disposed of it already.
    await own?.dispose();
  });

  it('runs on its own port, distinct from the shared instance', async () => {
    expect(own.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(own.endpoint).not.toBe(dynamodbEndpoint());
    expect(own.running).toBe(true);
    expect(own.pid).toBeGreaterThan(0);
    await client.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
    await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: table });
    await client.send(new PutItemCommand({ TableName: table, Item: { ...key, state: { S: 'PENDING' } } }));
    const shared = dynamoClient();
    try {
      const sharedTables = await shared.send(new ListTablesCommand({}));
      expect(sharedTables.TableNames ?? []).not.toContain(table);
    } finally {
      shared.destroy();
    }
  });

  it('is unreachable after a crash (SIGKILL) and comes back with its on-disk data', async () => {
    const pid = own.pid;
    expect(pid).toBeDefined();
    await own.stop({ signal: 'SIGKILL' });
    expect(own.running).toBe(false);
    if (pid !== undefined) expect(alive(pid)).toBe(false);

    const down = await rejection(client.send(new GetItemCommand({ TableName: table, Key: key })));
    expect(down).toBeInstanceOf(Error);
    expect(String((down as Error & { code?: unknown }).code ?? (down as Error).message)).toMatch(
      /ECONNREFUSED|connect/i,
    );
    // The shared instance is untouched.
    const shared = dynamoClient();
    try {
      await expect(shared.send(new ListTablesCommand({}))).resolves.toBeDefined();
    } finally {
      shared.destroy();
    }

    await own.start();
    expect(own.running).toBe(true);
    expect(own.pid).not.toBe(pid);
    const item = await client.send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }));
    expect(item.Item?.state).toEqual({ S: 'PENDING' });
  });

  it('hangs while frozen (SIGSTOP) and answers again after thaw', async () => {
    // A frozen process still accepts TCP connections (the kernel does): only a deadline ends the call.
    const deadline = () => ({ abortSignal: AbortSignal.timeout(500) });
    const get = new GetItemCommand({ TableName: table, Key: key });
    try {
      own.freeze();
      const started = Date.now();
      const hung = await rejection(client.send(get, deadline()));
      expect(hung).toBeInstanceOf(Error);
      expect((hung as Error).name).toMatch(/Abort|Timeout/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(450);
      own.thaw();
      // A thawed JVM on a loaded machine may take a while to answer: the point is that it does.
      const item = await client.send(get, { abortSignal: AbortSignal.timeout(15_000) });
      expect(item.Item?.state).toEqual({ S: 'PENDING' });
    } finally {
      if (own.running) own.thaw();
    }
  });

  it('restarts on the same endpoint', async () => {
    const endpoint = own.endpoint;
    const pid = own.pid;
    await own.restart();
    expect(own.endpoint).toBe(endpoint);
    expect(own.pid).not.toBe(pid);
    const item = await client.send(new GetItemCommand({ TableName: table, Key: key }));
    expect(item.Item?.state).toEqual({ S: 'PENDING' });
  });

  it('leaves no process behind once disposed', async () => {
    const pid = own.pid;
    expect(pid).toBeDefined();
    if (pid !== undefined) expect(alive(pid)).toBe(true);
    await own.dispose();
    expect(own.running).toBe(false);
    if (pid !== undefined) expect(alive(pid)).toBe(false);
  });
});
