/**
 * The audit archive: events archived per second by the archiver handler (the deployed entry, its
 * S3 client against a moto server of its own, batches of 1,000 stream records as Lambda delivers
 * them), beside the same handler logic with an in-memory sink (the handler's own cost); and
 * `ala audit verify --archive` over a local archive of 100,000 events (CLI end to end, and the
 * verifier alone). Setup (building chains and records) is not timed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CreateBucketCommand, PutObjectLockConfigurationCommand, S3Client } from '@aws-sdk/client-s3';
import { marshall } from '@aws-sdk/util-dynamodb';
import {
  type ArchiveSink,
  archiveRecords,
  type StreamRecord,
} from '../functions/adapters/aws/s3-audit-archive.ts';
import type { CliIo } from '../functions/cli/io.ts';
import { main } from '../functions/cli/main.ts';
import { appendEvents } from '../functions/core/audit.ts';
import {
  type ArchiveEntry,
  ArchiveVerifier,
  buildCheckpoint,
  checkpointKey,
  entryHeads,
  eventsObjectBody,
  eventsObjectKey,
  objectDigest,
} from '../functions/core/audit-archive.ts';
import { type AuditEvent, GENESIS_HASH } from '../functions/core/model.ts';
import { startMotoServer } from '../test/harness/emulators.ts';

const ARCHIVE_EVENTS = Number(process.env.BENCH_ARCHIVE_EVENTS ?? 20_000);
const VERIFY_EVENTS = Number(process.env.BENCH_VERIFY_EVENTS ?? 100_000);
const EVENTS_PER_REQUEST = 10;
const BATCH = 1000;
const SOURCE = 'ala-gateway/audit/bench';

/** `count` events in chains of 10, interleaved as a busy stream delivers them. */
function events(count: number): AuditEvent[] {
  const chains: AuditEvent[][] = [];
  const time = new Date().toISOString();
  for (let r = 0; r < count / EVENTS_PER_REQUEST; r++) {
    const id = `ar_01BENCH${String(r).padStart(17, '0')}`;
    const drafts = Array.from({ length: EVENTS_PER_REQUEST }, (_, i) => ({
      type: i === 0 ? ('request.submitted' as const) : ('review.recorded' as const),
      actor: 'user:bob@example.gov',
      data: { comment: 'matches CHG-4821', vote: 'approve', n: i },
    }));
    chains.push(appendEvents(id, { seq: 0, hash: GENESIS_HASH }, time, drafts).events);
  }
  const out: AuditEvent[] = [];
  for (let i = 0; i < EVENTS_PER_REQUEST; i++) for (const chain of chains) out.push(chain[i] as AuditEvent);
  return out;
}

/** The records Lambda hands the archiver: DynamoDB JSON images, as the store writes the items. */
function streamRecords(list: readonly AuditEvent[]): StreamRecord[] {
  return list.map((event, i) => {
    const { data, ...fields } = event;
    return {
      eventName: 'INSERT',
      dynamodb: {
        SequenceNumber: String(1_000_000_000 + i),
        ApproximateCreationDateTime: Date.now() / 1000,
        Keys: marshall({ request_id: event.request_id, seq: event.seq }),
        NewImage: marshall({ ...fields, data: JSON.stringify(data) }),
      },
    };
  });
}

function rate(count: number, ms: number): string {
  return `${Math.round((count / ms) * 1000).toLocaleString('en-US')} events/s`;
}

const records = streamRecords(events(ARCHIVE_EVENTS));

// 1. The handler's own cost: parse, envelope, chunk, checksum, checkpoint — sink in memory.
const memory = new Map<string, string>();
const memorySink: ArchiveSink = {
  putIfAbsent: async (key, body) => {
    if (memory.has(key)) return 'exists';
    memory.set(key, body);
    return 'written';
  },
};
let started = performance.now();
for (let i = 0; i < records.length; i += BATCH) {
  const result = await archiveRecords(records.slice(i, i + BATCH), { sink: memorySink, source: SOURCE });
  if (result.batchItemFailures.length > 0) throw new Error('in-memory archive failed');
}
const memoryMs = performance.now() - started;

// 2. The deployed handler writing to S3 (moto, Object Lock COMPLIANCE), conditional puts included.
process.env.AWS_ACCESS_KEY_ID ??= 'testing';
process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
process.env.AWS_REGION ??= 'us-east-1';
const moto = await startMotoServer();
let s3Ms = Number.NaN;
try {
  const bucket = `bench-archive-${Date.now()}`;
  const admin = new S3Client({ endpoint: moto.endpoint, forcePathStyle: true, region: 'us-east-1' });
  await admin.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
  await admin.send(
    new PutObjectLockConfigurationCommand({
      Bucket: bucket,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 1 } },
      },
    }),
  );
  admin.destroy();
  process.env.AWS_ENDPOINT_URL = moto.endpoint;
  process.env.AUDIT_ARCHIVE_BUCKET = bucket;
  process.env.AUDIT_TABLE_NAME = 'bench-audit';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  const { handler } = await import('../functions/handlers/audit-archiver.ts');
  // One warm-up batch (connections, JIT), not counted.
  await handler({ Records: records.slice(0, BATCH) as never }, {});
  started = performance.now();
  for (let i = BATCH; i < records.length; i += BATCH) {
    const answer = await handler({ Records: records.slice(i, i + BATCH) as never }, {});
    if (answer.batchItemFailures.length > 0) throw new Error('the handler reported a failed batch');
  }
  s3Ms = performance.now() - started;
} finally {
  await moto.dispose();
}
const s3Count = records.length - BATCH;

// 3. Verifying 100,000 events: an archive as the archiver writes it, in a local folder.
const verifyEvents = events(VERIFY_EVENTS);
const dir = mkdtempSync(join(tmpdir(), 'ala-bench-archive-'));
let verifierMs = Number.NaN;
let cliMs = Number.NaN;
let cliCode = -1;
try {
  const files: [string, string][] = [];
  for (let i = 0; i < verifyEvents.length; i += BATCH) {
    const chunk: ArchiveEntry[] = verifyEvents.slice(i, i + BATCH).map((event, j) => ({
      kind: 'event',
      change: 'INSERT',
      position: String(1 + i + j),
      event,
    }));
    const body = eventsObjectBody(chunk, SOURCE);
    const key = eventsObjectKey(chunk);
    files.push([key, body]);
    const checkpoint = buildCheckpoint(
      SOURCE,
      [{ key, sha256: objectDigest(body), lines: chunk.length }],
      entryHeads(chunk),
    );
    files.push([checkpointKey(chunk), JSON.stringify(checkpoint)]);
  }
  for (const [key, text] of files) {
    await mkdir(dirname(join(dir, key)), { recursive: true });
    await writeFile(join(dir, key), text);
  }
  started = performance.now();
  const verifier = new ArchiveVerifier();
  for (const [key, text] of files) {
    if (key.startsWith('checkpoints/')) verifier.addCheckpoint(key, text);
    else verifier.addObject(key, text);
  }
  const report = verifier.report();
  verifierMs = performance.now() - started;
  if (!report.ok || report.events !== VERIFY_EVENTS) throw new Error('the bench archive did not verify');

  const sink = { write: () => true };
  const io: CliIo = { stdout: sink, stderr: sink, env: {}, cwd: dir, readStdin: async () => '' };
  started = performance.now();
  cliCode = await main(['audit', 'verify', '--archive', dir], io);
  cliMs = performance.now() - started;
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log(
  `archiver handler → S3 (moto, Object Lock)   ${rate(s3Count, s3Ms).padStart(16)}  (${s3Count} events, batches of ${BATCH}, ${s3Ms.toFixed(0)} ms; goal ≥ 5,000/s)`,
);
console.log(
  `archiver logic, in-memory sink              ${rate(records.length, memoryMs).padStart(16)}  (${records.length} events, ${memoryMs.toFixed(0)} ms)`,
);
console.log(
  `verify ${VERIFY_EVENTS.toLocaleString('en-US')} events, verifier alone         ${`${(verifierMs / 1000).toFixed(2)} s`.padStart(16)}  (${rate(VERIFY_EVENTS, verifierMs)})`,
);
console.log(
  `ala audit verify --archive <folder>         ${`${(cliMs / 1000).toFixed(2)} s`.padStart(16)}  (${VERIFY_EVENTS.toLocaleString('en-US')} events, exit ${cliCode}; goal < 10 s)`,
);
if (cliCode !== 0) process.exitCode = 1;
