// The audit archive end to end on the real parts: events committed through the core into DynamoDB
// Local, read from its stream, archived by the archiver into a moto S3 bucket with Object Lock
// (COMPLIANCE), and verified from there — also when S3 refuses an object once.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type _Record,
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListStreamsCommand,
} from '@aws-sdk/client-dynamodb-streams';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectLockConfigurationCommand,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  archiveRecords,
  readS3Archive,
  S3ArchiveSink,
  type StreamRecord,
} from '../../../functions/adapters/aws/s3-audit-archive.ts';
import { DynamoDbRequestStore } from '../../../functions/adapters/dynamodb/dynamodb-store.ts';
import { ensureTables, type TableNames } from '../../../functions/adapters/dynamodb/tables.ts';
import { ulidIds } from '../../../functions/adapters/system/system.ts';
import type { CliIo } from '../../../functions/cli/io.ts';
import { main } from '../../../functions/cli/main.ts';
import { type ArchiveReport, ArchiveVerifier } from '../../../functions/core/audit-archive.ts';
import * as lifecycle from '../../../functions/core/lifecycle.ts';
import type { AuditEvent } from '../../../functions/core/model.ts';
import { dynamoClient, s3Client, streamsClient, uniqueName, waitFor } from '../../harness/index.ts';
import { decision, exportInput } from '../../support/fixtures.ts';

const SOURCE = 'ala-gateway/audit/integration';

/** Every record in the stream, shard by shard from TRIM_HORIZON, in stream order per shard. */
async function readStream(streams: DynamoDBStreamsClient, table: string): Promise<_Record[]> {
  const listed = await streams.send(new ListStreamsCommand({ TableName: table }));
  const streamArn = listed.Streams?.[0]?.StreamArn;
  if (!streamArn) throw new Error(`table ${table} has no stream`);
  const description = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  const records: _Record[] = [];
  for (const shard of description.StreamDescription?.Shards ?? []) {
    const { ShardIterator } = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shard.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    let iterator = ShardIterator;
    for (let page = 0; iterator !== undefined && page < 200; page++) {
      const batch = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      const got = batch.Records ?? [];
      records.push(...got);
      if (got.length === 0) break;
      iterator = batch.NextShardIterator;
    }
  }
  return records;
}

async function verifyBucket(s3: S3Client, bucket: string): Promise<ArchiveReport> {
  const verifier = new ArchiveVerifier();
  await readS3Archive(s3, bucket, '', (kind, object) =>
    kind === 'checkpoint'
      ? verifier.addCheckpoint(object.key, object.text)
      : verifier.addObject(object.key, object.text),
  );
  return verifier.report();
}

async function lockedBucket(s3: S3Client, prefix: string): Promise<string> {
  const bucket = uniqueName(prefix);
  await s3.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
  await s3.send(
    new PutObjectLockConfigurationCommand({
      Bucket: bucket,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 1 } },
      },
    }),
  );
  return bucket;
}

/** Lambda's delivery, as ReportBatchItemFailures defines it: redeliver from the reported record on. */
async function deliver(
  records: readonly StreamRecord[],
  batchSize: number,
  invoke: (batch: StreamRecord[]) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>,
): Promise<{ invocations: number; failures: number }> {
  let start = 0;
  let invocations = 0;
  let failures = 0;
  while (start < records.length) {
    const batch = records.slice(start, start + batchSize);
    invocations += 1;
    const result = await invoke(batch);
    const { batchItemFailures } = result;
    const failed = batchItemFailures[0]?.itemIdentifier;
    if (failed === undefined) {
      start += batch.length;
      continue;
    }
    failures += 1;
    if (failures > 5)
      throw new Error(
        `record ${failed} keeps failing: ${String((result as { failure?: { error: unknown } }).failure?.error)}`,
      );
    start += batch.findIndex((r) => r.dynamodb?.SequenceNumber === failed);
  }
  return { invocations, failures };
}

describe('audit archiver on DynamoDB Local streams and moto S3 Object Lock', () => {
  let ddb: DynamoDBClient;
  let streams: DynamoDBStreamsClient;
  let s3: S3Client;
  let store: DynamoDbRequestStore;
  const tables: TableNames = { requests: uniqueName('requests'), audit: uniqueName('audit') };
  const ids = ulidIds();
  const committed = new Map<string, AuditEvent[]>();
  let records: StreamRecord[] = [];

  beforeAll(async () => {
    ddb = dynamoClient();
    streams = streamsClient();
    s3 = s3Client();
    await ensureTables(ddb, tables);
    store = new DynamoDbRequestStore(ddb, tables);
    // Twelve requests through the core: submitted, notified, then cancelled — three transitions each.
    for (let i = 0; i < 12; i++) {
      const created = lifecycle.submit({
        id: ids.requestId(),
        subject: lifecycle.subjectOf('agent:demo-exporter'),
        input: exportInput,
        decision: decision(),
        now: new Date(),
      });
      await store.commit(created);
      const notified = lifecycle.recordNotification(
        created.request,
        { channel: 'slack', recipients: ['data-owners'] },
        new Date(),
      );
      await store.commit(notified);
      await store.commit(lifecycle.cancel(notified.request, 'agent:demo-exporter', new Date()));
      committed.set(created.request.id, [...(await store.listEvents(created.request.id))]);
    }
    const total = [...committed.values()].reduce((n, events) => n + events.length, 0);
    records = (await waitFor(
      async () => {
        const got = await readStream(streams, tables.audit);
        return got.length >= total ? got : undefined;
      },
      { what: `${total} audit stream records`, timeoutMs: 30_000, intervalMs: 250 },
    )) as StreamRecord[];
  }, 120_000);

  afterAll(() => {
    ddb?.destroy();
    streams?.destroy();
    s3?.destroy();
  });

  it('archives every streamed event through the handler, refuses deleting an archived version, and verifies complete', async () => {
    // Prepare: the deployed handler, configured as the stack configures it.
    const bucket = await lockedBucket(s3, 'audit-archive');
    process.env.AUDIT_ARCHIVE_BUCKET = bucket;
    process.env.AUDIT_TABLE_NAME = tables.audit;
    process.env.AUDIT_ARCHIVE_OBJECT_MAX_EVENTS = '10';
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    const { handler } = await import('../../../functions/handlers/audit-archiver.ts');

    // Act: Lambda's batches of 25; then the first batch once more, as after a lost response.
    const delivery = await deliver(records, 25, (batch) => handler({ Records: batch as never }, {}));
    const again = await handler({ Records: records.slice(0, 25) as never }, {});
    const report = await verifyBucket(s3, bucket);
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    const version = listed.Versions?.find((v) => v.Key?.startsWith('events/'));
    const refused = await s3
      .send(new DeleteObjectCommand({ Bucket: bucket, Key: version?.Key, VersionId: version?.VersionId }))
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: bucket, Key: version?.Key, VersionId: version?.VersionId }),
    );
    const sample = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: version?.Key }));
    const firstLine = JSON.parse(
      ((await sample.Body?.transformToString()) ?? '').split('\n')[0] ?? '{}',
    ) as Record<string, unknown>;

    // Assess
    expect(delivery.failures).toBe(0);
    expect(again.batchItemFailures).toEqual([]);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.duplicates).toBe(0);
    expect(report.events).toBe(records.length);
    expect(report.requests).toHaveLength(committed.size);
    for (const [id, events] of committed) {
      const result = report.requests.find((r) => r.request_id === id);
      expect(result, id).toMatchObject({
        status: 'complete',
        count: events.length,
        head: { seq: events.length, hash: events.at(-1)?.hash },
      });
    }
    // Every version listed once: the repeated batch wrote nothing new.
    const keys = (listed.Versions ?? []).map((v) => v.Key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(refused).toBeInstanceOf(S3ServiceException);
    expect((refused as S3ServiceException).name).toBe('AccessDenied');
    expect(head.ObjectLockMode).toBe('COMPLIANCE');
    expect(firstLine).toMatchObject({
      specversion: '1.0',
      source: `ala-gateway/audit/${tables.audit}`,
      alachange: 'INSERT',
    });
    expect(String(firstLine.type)).toMatch(/^ala\.audit\./);
  }, 120_000);

  it('loses and doubles nothing when S3 refuses one object of a batch once', async () => {
    // Prepare: S3 refuses the second object of the first batch, once.
    const bucket = await lockedBucket(s3, 'audit-fault');
    const faulty = s3Client({ maxAttempts: 1 });
    const refusedKeys: string[] = [];
    let puts = 0;
    faulty.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Key?: string };
        if (context.commandName === 'PutObjectCommand' && input.Key?.startsWith('events/') && ++puts === 2) {
          refusedKeys.push(input.Key);
          throw Object.assign(
            new S3ServiceException({
              name: 'InternalError',
              $fault: 'server',
              $metadata: { httpStatusCode: 500 },
            }),
            {
              message: 'We encountered an internal error. Please try again.',
            },
          );
        }
        return next(args);
      },
      { step: 'initialize', name: 'refuseOneObjectOnce' },
    );
    const sink = new S3ArchiveSink(faulty, bucket);

    // Act
    const delivery = await deliver(records, 40, (batch) =>
      archiveRecords(batch, { sink, source: SOURCE, maxEntriesPerObject: 8 }),
    );
    const report = await verifyBucket(s3, bucket);
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'events/' }));
    faulty.destroy();

    // Assess: one failure, retried from the refused object on; every event once, all complete.
    expect(refusedKeys).toHaveLength(1);
    expect(delivery.failures).toBe(1);
    expect(listed.Versions?.map((v) => v.Key)).toContain(refusedKeys[0]);
    expect(report.ok).toBe(true);
    expect(report.duplicates).toBe(0);
    expect(report.events).toBe(records.length);
    expect(report.requests.every((r) => r.status === 'complete')).toBe(true);
    expect(report.requests.map((r) => r.count).reduce((a, b) => a + b, 0)).toBe(records.length);
  }, 120_000);

  it('lets ala audit verify --archive check the bucket, and a local copy with an event removed fails naming it', async () => {
    // Prepare: archive into a fresh bucket, and copy it to a folder with one line dropped.
    const bucket = await lockedBucket(s3, 'audit-cli');
    const sink = new S3ArchiveSink(s3, bucket);
    await deliver(records, 100, (batch) => archiveRecords(batch, { sink, source: SOURCE }));
    const dir = mkdtempSync(join(tmpdir(), 'ala-archive-copy-'));
    let out = '';
    let err = '';
    const io: CliIo = {
      stdout: { write: (chunk: string) => (out += chunk) },
      stderr: { write: (chunk: string) => (err += chunk) },
      env: process.env,
      cwd: dir,
      readStdin: async () => '',
    };
    try {
      let victim: { id: string; seq: number } | undefined;
      await readS3Archive(s3, bucket, '', (_kind, object) => {
        let text = object.text;
        if (!victim && object.key.startsWith('events/')) {
          const lines = text.split('\n');
          const data = (JSON.parse(lines[1] ?? '{}') as { data: AuditEvent }).data;
          victim = { id: data.request_id, seq: data.seq };
          text = lines.filter((_, i) => i !== 1).join('\n');
        }
        const file = join(dir, 'copy', object.key);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, text);
      });

      // Act
      const online = await main(['audit', 'verify', '--archive', `s3://${bucket}`], io);
      const onlineOut = out;
      out = '';
      const copy = await main(['audit', 'verify', '--archive', 'copy', '--json'], io);

      // Assess
      expect(online, err).toBe(0);
      expect(onlineOut).toContain(`${committed.size} of ${committed.size} requests complete`);
      expect(copy).toBe(1);
      const report = JSON.parse(out) as ArchiveReport;
      const broken = report.requests.find((r) => r.request_id === victim?.id);
      expect(broken).toMatchObject({ first_bad_seq: victim?.seq });
      expect(broken?.status).not.toBe('complete');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
