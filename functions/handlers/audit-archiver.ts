/**
 * Lambda entry of the audit archiver, fed by the audit table's stream (NEW_IMAGE, from the trim
 * horizon, ReportBatchItemFailures): every record becomes a CloudEvents line in the Object Lock
 * bucket, with a checkpoint per object (functions/adapters/aws/s3-audit-archive.ts).
 */
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import {
  archiveRecords,
  createS3Client,
  S3ArchiveSink,
  type StreamRecord,
} from '../adapters/aws/s3-audit-archive.ts';
import { lambdaLogger } from './composition.ts';
import { ENV, optionalEnv, requireEnv } from './env.ts';

const logger = lambdaLogger('ala-audit-archiver');
const bucket = requireEnv(ENV.archiveBucket, 'the Object Lock bucket of the audit archive');
// The table name identifies the chain's origin in every line; it never changes for a stack.
const source = `ala-gateway/audit/${requireEnv(ENV.auditTable, 'the audit table of the stack')}`;
const maxEntriesPerObject = Number(optionalEnv(ENV.archiveObjectMaxEvents) ?? '1000');
if (!Number.isInteger(maxEntriesPerObject) || maxEntriesPerObject < 1) {
  throw new Error(
    `${ENV.archiveObjectMaxEvents} must be a whole number ≥ 1, got ${JSON.stringify(optionalEnv(ENV.archiveObjectMaxEvents))}`,
  );
}
const sink = new S3ArchiveSink(createS3Client(), bucket);

export const handler = logger.withContext(
  async (event: Pick<DynamoDBStreamEvent, 'Records'>, _context: object): Promise<DynamoDBBatchResponse> => {
    const result = await archiveRecords(event.Records as StreamRecord[], {
      sink,
      source,
      maxEntriesPerObject,
    });
    const summary = {
      records: result.entries,
      objectsWritten: result.written,
      objectsAlreadyThere: result.existing,
      unreadable: result.unreadable,
    };
    if (result.failure) {
      // Lambda redelivers from the failed object's first record; after the retries run out the
      // batch's position goes to the on-failure queue (alarmed).
      logger.error('could not write an archive object; the stream redelivers from it', {
        ...summary,
        key: result.failure.key,
        error: result.failure.error,
      });
    } else if (result.unreadable > 0) {
      logger.warn('archived table items that are not audit events; ala audit verify reports them', summary);
    } else {
      logger.info('archived', summary);
    }
    return { batchItemFailures: result.batchItemFailures };
  },
);
