/**
 * The one-off backfill of the `visible-by` index for a deployment whose requests were decided
 * before the index existed (docs/data-model.md, "Adding the visible-by index"). It scans the
 * requests table in parallel segments and, for each decided request, puts the viewer pointers
 * that a commit of that request would have written (`planCommit(undefined, request)`'s
 * `viewer-put`s, the same keys the functions compute).
 *
 * Each pointer is put only where none exists (`attribute_not_exists(id)`): a pointer that exists
 * was written by a commit of the running functions and is current, so the backfill never moves one
 * back to an older status, whichever of the two writes first. That makes the backfill safe to run
 * while the functions serve traffic and to run again (a second run puts nothing).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { ActionRequest } from '../../core/model.ts';
import { type KeyOptions, planCommit, type ViewerPointer } from './keys.ts';

export interface ViewerBackfillOptions {
  /** The requests table. */
  readonly table: string;
  /** The shard counts the functions use (their INDEX_SHARDS); a different count writes wrong keys. */
  readonly keys?: Partial<KeyOptions>;
  /** Parallel scan segments. @default 4 */
  readonly segments?: number;
  /** Items per scan page. @default 500 */
  readonly pageSize?: number;
  /** Puts in flight per segment. @default 8 */
  readonly concurrency?: number;
  /** Called after each scanned page with the totals so far. */
  readonly onProgress?: (totals: ViewerBackfillReport) => void;
}

export interface ViewerBackfillReport {
  /** Request items read (any status). */
  scanned: number;
  /** Decided requests among them: the ones that have viewer pointers. */
  decided: number;
  /** Pointers put by this run. */
  written: number;
  /** Pointers that already existed (a commit, or an earlier run, wrote them). */
  present: number;
  /** Items whose body is not a request this gateway can read; named in `unreadable`. */
  skipped: number;
  readonly unreadable: string[];
}

/** Puts the missing viewer pointers of every decided request in `options.table`. */
export async function backfillViewerPointers(
  client: DynamoDBClient,
  options: ViewerBackfillOptions,
): Promise<ViewerBackfillReport> {
  const segments = options.segments ?? 4;
  if (!Number.isInteger(segments) || segments < 1 || segments > 1000) {
    throw new RangeError(`segments must be an integer from 1 to 1000, not ${segments}`);
  }
  const doc = DynamoDBDocumentClient.from(client);
  const report: ViewerBackfillReport = {
    scanned: 0,
    decided: 0,
    written: 0,
    present: 0,
    skipped: 0,
    unreadable: [],
  };

  const put = async (pointer: ViewerPointer): Promise<void> => {
    try {
      await doc.send(
        new PutCommand({
          TableName: options.table,
          Item: { id: pointer.id, viewerShard: pointer.viewerShard, createdSort: pointer.createdSort },
          ConditionExpression: 'attribute_not_exists(id)',
        }),
      );
      report.written++;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) report.present++;
      else throw error;
    }
  };

  const segment = async (index: number): Promise<void> => {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(
        new ScanCommand({
          TableName: options.table,
          Segment: index,
          TotalSegments: segments,
          Limit: options.pageSize ?? 500,
          // Request items alone carry a version and a body; pointers, counters and keys do not.
          FilterExpression: 'attribute_exists(#version) AND attribute_exists(#body) AND #status <> :pending',
          ProjectionExpression: '#id, #body',
          ExpressionAttributeNames: {
            '#id': 'id',
            '#body': 'body',
            '#version': 'version',
            '#status': 'status',
          },
          ExpressionAttributeValues: { ':pending': 'pending' },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      report.scanned += page.ScannedCount ?? 0;
      const pointers: ViewerPointer[] = [];
      for (const item of page.Items ?? []) {
        const request = readRequest(item);
        if (!request) {
          report.skipped++;
          report.unreadable.push(String(item.id));
          continue;
        }
        report.decided++;
        for (const write of planCommit(undefined, request, options.keys)) {
          if (write.kind === 'viewer-put') pointers.push(write.pointer);
        }
      }
      const width = options.concurrency ?? 8;
      for (let i = 0; i < pointers.length; i += width) {
        await Promise.all(pointers.slice(i, i + width).map(put));
      }
      options.onProgress?.(report);
      start = page.LastEvaluatedKey;
    } while (start);
  };

  await Promise.all(Array.from({ length: segments }, (_, i) => segment(i)));
  return report;
}

/** The stored request, or undefined when the body is not one (nothing is guessed for it). */
function readRequest(item: Record<string, unknown>): ActionRequest | undefined {
  if (typeof item.body !== 'string') return undefined;
  try {
    const request = JSON.parse(item.body) as Partial<ActionRequest>;
    if (
      typeof request.id !== 'string' ||
      request.id !== item.id ||
      typeof request.status !== 'string' ||
      request.status === 'pending' ||
      typeof request.createdAt !== 'string' ||
      typeof request.subject?.id !== 'string' ||
      typeof request.context !== 'object' ||
      request.context === null
    ) {
      return undefined;
    }
    return request as ActionRequest;
  } catch {
    return undefined;
  }
}
