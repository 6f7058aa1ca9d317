/**
 * The audit archive on S3: stream records of the audit table become CloudEvents JSON Lines objects
 * and checkpoints in the Object Lock bucket (functions/core/audit-archive.ts has the format), and
 * an archive is read back for verification.
 *
 * Writes are conditional (`If-None-Match: *`) and their keys derive from the stream positions of
 * the records they hold, so a redelivered batch finds its objects already there (412) and writes
 * nothing twice. A batch is written in stream order and stops at the first failed object: the
 * records from that object on are reported as failed, and Lambda redelivers exactly those.
 */
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { type NativeAttributeValue, unmarshall } from '@aws-sdk/util-dynamodb';
import {
  type ArchiveEntry,
  base64Sha256,
  buildCheckpoint,
  CHECKPOINTS_PREFIX,
  checkpointKey,
  EVENTS_PREFIX,
  entryHeads,
  eventsObjectBody,
  eventsObjectKey,
  objectDigest,
} from '../../core/audit-archive.ts';
import { AUDIT_EVENT_TYPES, type AuditEvent } from '../../core/model.ts';

/** The part of a DynamoDB stream record (as Lambda delivers it) the archiver reads. */
export interface StreamRecord {
  readonly eventName?: 'INSERT' | 'MODIFY' | 'REMOVE' | string;
  readonly dynamodb?: {
    readonly SequenceNumber?: string;
    readonly ApproximateCreationDateTime?: number | Date;
    readonly Keys?: Record<string, unknown>;
    readonly NewImage?: Record<string, unknown>;
  };
}

const knownTypes: ReadonlySet<string> = new Set(AUDIT_EVENT_TYPES);

/**
 * The archive entry of one stream record. Never throws: an item that is not an audit event is kept
 * verbatim as an `unreadable` entry (the verifier reports it), so one bad record neither blocks nor
 * loses the rest of the batch. Throws only when the record has no stream position at all.
 */
export function streamRecordToEntry(record: StreamRecord): ArchiveEntry {
  const position = record.dynamodb?.SequenceNumber;
  if (typeof position !== 'string' || !/^\d{1,40}$/.test(position)) {
    throw new TypeError(
      `stream record has no usable dynamodb.SequenceNumber (got ${JSON.stringify(position)}); is the event source a DynamoDB stream?`,
    );
  }
  const approximate = record.dynamodb?.ApproximateCreationDateTime;
  const time = new Date(
    approximate instanceof Date
      ? approximate.getTime()
      : typeof approximate === 'number'
        ? approximate * 1000
        : 0,
  ).toISOString();
  const change = record.eventName === 'MODIFY' || record.eventName === 'REMOVE' ? record.eventName : 'INSERT';
  if (change === 'REMOVE') {
    const keys = safeUnmarshall(record.dynamodb?.Keys);
    return {
      kind: 'removed',
      position,
      time,
      requestId: typeof keys?.request_id === 'string' ? keys.request_id : '(unknown)',
      seq: typeof keys?.seq === 'number' ? keys.seq : 0,
    };
  }
  const item = safeUnmarshall(record.dynamodb?.NewImage);
  if (!item) {
    return {
      kind: 'unreadable',
      change,
      position,
      time,
      reason: 'the record carries no readable NewImage',
      item: {},
    };
  }
  const event = toAuditEvent(item);
  if (typeof event === 'string') return { kind: 'unreadable', change, position, time, reason: event, item };
  return { kind: 'event', change, position, event };
}

function safeUnmarshall(image: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!image) return undefined;
  try {
    const item = unmarshall(image as never, { wrapNumbers: false }) as Record<string, NativeAttributeValue>;
    // Audit items hold strings and numbers only; anything else (sets, binary) is made JSON-safe.
    return Object.values(item).some((v) => typeof v === 'object' && v !== null) ? jsonSafe(item) : item;
  } catch {
    return undefined;
  }
}

/** Sets become arrays, binary base64: what JSON can hold. */
function jsonSafe(value: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify(value, (_key, v: unknown) =>
      v instanceof Set ? [...v] : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v,
    ),
  ) as Record<string, unknown>;
}

/** The table item back as the audit event it stores (`data` is kept as a JSON string). */
function toAuditEvent(item: Record<string, unknown>): AuditEvent | string {
  const { request_id, seq, type, time, actor, data, prev_hash, hash } = item;
  if (typeof request_id !== 'string' || typeof seq !== 'number' || !Number.isInteger(seq)) {
    return 'the item has no request_id and whole-number seq';
  }
  if (typeof type !== 'string' || !knownTypes.has(type)) return `unknown event type ${JSON.stringify(type)}`;
  if (
    typeof time !== 'string' ||
    typeof actor !== 'string' ||
    typeof prev_hash !== 'string' ||
    typeof hash !== 'string'
  ) {
    return 'the item lacks time, actor, prev_hash or hash';
  }
  let parsed: unknown = data;
  if (typeof data === 'string') {
    try {
      parsed = JSON.parse(data);
    } catch {
      return 'the item data is not JSON';
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return 'the item data is not an object';
  return {
    request_id,
    seq,
    type: type as AuditEvent['type'],
    time,
    actor,
    data: parsed as Record<string, unknown>,
    prev_hash,
    hash,
  };
}

/** Where archive objects go: a conditional put that reports an object already there. */
export interface ArchiveSink {
  /** Writes `body` at `key` unless an object is there already. */
  putIfAbsent(key: string, body: string, contentType: string): Promise<'written' | 'exists'>;
}

export interface ArchiveBatchOptions {
  readonly sink: ArchiveSink;
  /** CloudEvents `source` of every line. */
  readonly source: string;
  /** Entries per object at most. @default 1000 */
  readonly maxEntriesPerObject?: number;
  /** Bytes per object at most (a single larger entry still gets an object of its own). @default 5 MiB */
  readonly maxBytesPerObject?: number;
}

export interface ArchiveBatchResult {
  /** The stream positions Lambda must redeliver from (ReportBatchItemFailures): the first failed object's first record. */
  readonly batchItemFailures: { itemIdentifier: string }[];
  readonly written: number;
  readonly existing: number;
  readonly entries: number;
  readonly unreadable: number;
  readonly failure?: { readonly key: string; readonly error: unknown };
}

/** Entries in order, split into objects of at most `maxEntries` entries and about `maxBytes` bytes, with their bodies. */
export function chunkEntries(
  entries: readonly ArchiveEntry[],
  source: string,
  maxEntries: number,
  maxBytes: number,
): { entries: ArchiveEntry[]; body: string }[] {
  const chunks: { entries: ArchiveEntry[]; body: string }[] = [];
  let current: ArchiveEntry[] = [];
  let body = '';
  for (const entry of entries) {
    const line = eventsObjectBody([entry], source);
    if (current.length > 0 && (current.length >= maxEntries || body.length + line.length > maxBytes)) {
      chunks.push({ entries: current, body });
      current = [];
      body = '';
    }
    current.push(entry);
    body += line;
  }
  if (current.length > 0) chunks.push({ entries: current, body });
  return chunks;
}

/**
 * Archives a batch of stream records: one events object and one checkpoint per chunk, in stream
 * order. Returns the partial-batch failure Lambda needs when a write fails; never throws.
 */
export async function archiveRecords(
  records: readonly StreamRecord[],
  options: ArchiveBatchOptions,
): Promise<ArchiveBatchResult> {
  const entries = records.map(streamRecordToEntry);
  const chunks = chunkEntries(
    entries,
    options.source,
    options.maxEntriesPerObject ?? 1000,
    options.maxBytesPerObject ?? 5 * 1024 * 1024,
  );
  let written = 0;
  let existing = 0;
  const unreadable = entries.filter((e) => e.kind === 'unreadable').length;
  for (const { entries: chunk, body } of chunks) {
    const key = eventsObjectKey(chunk);
    try {
      const outcome = await options.sink.putIfAbsent(key, body, 'application/cloudevents-batch+jsonl');
      if (outcome === 'written') written += 1;
      else existing += 1;
      // The checkpoint follows its object: written after it, it never vouches for bytes not stored.
      const checkpoint = buildCheckpoint(
        options.source,
        [{ key, sha256: objectDigest(body), lines: chunk.length }],
        entryHeads(chunk),
      );
      await options.sink.putIfAbsent(
        checkpointKey(chunk),
        `${JSON.stringify(checkpoint)}\n`,
        'application/json',
      );
    } catch (error) {
      const first = chunk[0]?.position ?? '';
      return {
        batchItemFailures: [{ itemIdentifier: first }],
        written,
        existing,
        entries: entries.length,
        unreadable,
        failure: { key, error },
      };
    }
  }
  return { batchItemFailures: [], written, existing, entries: entries.length, unreadable };
}

/** An S3 client whose hung calls fail instead of holding the function until its timeout. */
export function createS3Client(config: S3ClientConfig = {}): S3Client {
  return new S3Client({
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 2_000, requestTimeout: 20_000, throwOnRequestTimeout: true },
    ...config,
  });
}

/** Writes archive objects to an S3 bucket with `If-None-Match: *` and a SHA-256 checksum. */
export class S3ArchiveSink implements ArchiveSink {
  readonly #client: S3Client;
  readonly #bucket: string;

  constructor(client: S3Client, bucket: string) {
    this.#client = client;
    this.#bucket = bucket;
  }

  async putIfAbsent(key: string, body: string, contentType: string): Promise<'written' | 'exists'> {
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          Body: body,
          ContentType: contentType,
          // S3 checks the bytes against it; Object Lock buckets refuse a put without
          // x-amz-sdk-checksum-algorithm (or Content-MD5).
          ChecksumAlgorithm: 'SHA256',
          ChecksumSHA256: base64Sha256(body),
          IfNoneMatch: '*',
        }),
      );
      return 'written';
    } catch (error) {
      // 412: the same key holds the same records (the key is their stream positions): done before.
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412)
        return 'exists';
      throw error;
    }
  }
}

/** One object of an archive, as the verifier takes it. */
export interface ArchiveObject {
  readonly key: string;
  readonly text: string;
}

/**
 * Reads every events object and checkpoint under `prefix` (a folder inside the bucket, or ''),
 * `concurrency` at a time, and hands each to `onObject` with its key relative to the prefix.
 */
export async function readS3Archive(
  client: S3Client,
  bucket: string,
  prefix: string,
  onObject: (kind: 'events' | 'checkpoint', object: ArchiveObject) => void,
  concurrency = 8,
): Promise<number> {
  const keys: string[] = [];
  for (const folder of [EVENTS_PREFIX, CHECKPOINTS_PREFIX]) {
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}${folder}`, ContinuationToken: token }),
      );
      for (const item of page.Contents ?? []) if (item.Key) keys.push(item.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < keys.length) {
      const key = keys[next++] as string;
      const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const text = (await answer.Body?.transformToString('utf8')) ?? '';
      const relative = key.slice(prefix.length);
      onObject(relative.startsWith(CHECKPOINTS_PREFIX) ? 'checkpoint' : 'events', { key: relative, text });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, keys.length) }, worker));
  return keys.length;
}
