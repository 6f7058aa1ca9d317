import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  type ArchiveSink,
  archiveRecords,
  type StreamRecord,
  streamRecordToEntry,
} from '../../../functions/adapters/aws/s3-audit-archive.ts';
import { appendEvents } from '../../../functions/core/audit.ts';
import { ArchiveVerifier } from '../../../functions/core/audit-archive.ts';
import { type AuditEvent, GENESIS_HASH } from '../../../functions/core/model.ts';

const SOURCE = 'ala-gateway/audit/unit';

function events(requestId: string, count: number): AuditEvent[] {
  const drafts = Array.from({ length: count }, (_, i) => ({
    type: 'review.recorded' as const,
    actor: 'user:bob@example.gov',
    data: { n: i },
  }));
  return appendEvents(requestId, { seq: 0, hash: GENESIS_HASH }, '2026-11-29T17:00:00.000Z', drafts).events;
}

/** A stream record as Lambda delivers it, with the item as the store writes it (data as JSON text). */
function record(event: AuditEvent, position: number, eventName = 'INSERT'): StreamRecord {
  const { data, ...fields } = event;
  return {
    eventName,
    dynamodb: {
      SequenceNumber: String(position),
      ApproximateCreationDateTime: 1_795_000_000,
      Keys: marshall({ request_id: event.request_id, seq: event.seq }),
      NewImage: marshall({ ...fields, data: JSON.stringify(data) }),
    },
  };
}

/** An in-memory bucket that refuses the listed keys once each. */
function bucket(refuseOnce: Set<number> = new Set()) {
  const objects = new Map<string, string>();
  let puts = 0;
  const sink: ArchiveSink = {
    putIfAbsent: async (key, body) => {
      puts += 1;
      if (key.startsWith('events/') && refuseOnce.delete(puts)) throw new Error('503 Slow Down');
      if (objects.has(key)) return 'exists';
      objects.set(key, body);
      return 'written';
    },
  };
  const verify = () => {
    const verifier = new ArchiveVerifier();
    for (const [key, text] of objects) {
      if (key.startsWith('checkpoints/')) verifier.addCheckpoint(key, text);
      else verifier.addObject(key, text);
    }
    return verifier.report();
  };
  return { sink, objects, verify };
}

describe('streamRecordToEntry', () => {
  const [event] = events('ar_A', 1) as [AuditEvent];

  it('reads an INSERT back into the audit event the store wrote', () => {
    expect(streamRecordToEntry(record(event, 7))).toEqual({
      kind: 'event',
      change: 'INSERT',
      position: '7',
      event,
    });
  });

  it('keeps an overwrite (MODIFY) and a deletion (REMOVE), which the gateway never makes, as such', () => {
    expect(streamRecordToEntry(record(event, 8, 'MODIFY'))).toMatchObject({
      kind: 'event',
      change: 'MODIFY',
    });
    expect(
      streamRecordToEntry({
        eventName: 'REMOVE',
        dynamodb: { SequenceNumber: '9', Keys: marshall({ request_id: 'ar_A', seq: 1 }) },
      }),
    ).toEqual({ kind: 'removed', position: '9', time: expect.any(String), requestId: 'ar_A', seq: 1 });
  });

  it('keeps an item that is not an audit event verbatim, with the reason, instead of failing the batch', () => {
    const entry = streamRecordToEntry({
      eventName: 'INSERT',
      dynamodb: { SequenceNumber: '10', NewImage: marshall({ request_id: 'ar_A', seq: 2, type: 'made.up' }) },
    });
    expect(entry).toMatchObject({
      kind: 'unreadable',
      reason: 'unknown event type "made.up"',
      item: { request_id: 'ar_A', seq: 2, type: 'made.up' },
    });
  });

  it('refuses a record without a stream position, saying what it expected', () => {
    expect(() => streamRecordToEntry({ eventName: 'INSERT', dynamodb: {} })).toThrow(
      /no usable dynamodb.SequenceNumber \(got undefined\); is the event source a DynamoDB stream\?/,
    );
  });
});

describe('archiveRecords', () => {
  const records = [...events('ar_A', 6), ...events('ar_B', 4)].map((e, i) => record(e, 100 + i));

  it('writes objects in stream order with a checkpoint each, and a repeated batch writes nothing new', async () => {
    const { sink, objects, verify } = bucket();
    const first = await archiveRecords(records, { sink, source: SOURCE, maxEntriesPerObject: 4 });
    const again = await archiveRecords(records, { sink, source: SOURCE, maxEntriesPerObject: 4 });
    expect(first).toMatchObject({ batchItemFailures: [], written: 3, existing: 0, entries: 10 });
    expect(again).toMatchObject({ batchItemFailures: [], written: 0, existing: 3 });
    expect([...objects.keys()].filter((k) => k.startsWith('events/'))).toHaveLength(3);
    expect(verify()).toMatchObject({ ok: true, events: 10, duplicates: 0 });
  });

  it('stops at a refused object and reports its first record, so the redelivery completes the archive once', async () => {
    // The second object's put (put #3: events, checkpoint, events) is refused once.
    const { sink, verify } = bucket(new Set([3]));
    const failed = await archiveRecords(records, { sink, source: SOURCE, maxEntriesPerObject: 4 });
    const from = records.findIndex(
      (r) => r.dynamodb?.SequenceNumber === failed.batchItemFailures[0]?.itemIdentifier,
    );
    const retried = await archiveRecords(records.slice(from), {
      sink,
      source: SOURCE,
      maxEntriesPerObject: 4,
    });
    expect(failed).toMatchObject({ batchItemFailures: [{ itemIdentifier: '104' }], written: 1 });
    expect(failed.failure?.key).toMatch(/0104-0+107\.jsonl$/);
    expect(retried.batchItemFailures).toEqual([]);
    expect(verify()).toMatchObject({ ok: true, events: 10, duplicates: 0 });
  });
});
