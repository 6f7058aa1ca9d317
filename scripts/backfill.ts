/**
 * One-off data migrations of a deployed stack's DynamoDB tables (docs/data-model.md).
 *
 *   npm run backfill -- viewers --table <requests table> [--region us-gov-west-1] [--shards 4]
 *                       [--status-shards 32] [--segments 4] [--endpoint http://127.0.0.1:8000]
 *
 * `viewers` puts the `visible-by` index's pointers of every request decided before the index
 * existed. Credentials and region come from the usual AWS environment (profile, SSO, role); the
 * caller needs Scan and PutItem on the requests table. `--shards` / `--status-shards` must be the
 * stack's `indexShards` (the functions' INDEX_SHARDS), or the pointers land under keys no listing
 * reads. Safe to run while the functions serve, and to run again.
 */

import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { backfillViewerPointers } from '../functions/adapters/dynamodb/backfill.ts';
import { DEFAULT_GROUP_SHARDS, DEFAULT_STATUS_SHARDS } from '../functions/adapters/dynamodb/keys.ts';

const USAGE =
  'usage: npm run backfill -- viewers --table <requests table> [--region <region>] [--shards <n>] [--status-shards <n>] [--segments <n>] [--endpoint <url>]';

function whole(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--${name} must be a whole number ≥ 1, got "${value}"`);
  return n;
}

class UsageError extends Error {}

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  const { table, region, endpoint, shards, statusShards, segments } = parsed;
  const client = new DynamoDBClient({
    ...(region ? { region } : {}),
    ...(endpoint ? { endpoint } : {}),
  });
  try {
    const report = await backfillViewerPointers(client, {
      table,
      keys: { shards, statusShards },
      segments,
      ...(process.stderr.isTTY
        ? {
            onProgress: (t: { scanned: number; decided: number; written: number }) =>
              process.stderr.write(`scanned ${t.scanned}, decided ${t.decided}, written ${t.written}\r`),
          }
        : {}),
    });
    if (process.stderr.isTTY) process.stderr.write('\n');
    console.log(JSON.stringify(report, null, 2));
    if (report.skipped > 0) {
      console.error(
        `${report.skipped} request item(s) could not be read as requests and got no pointers: ${report.unreadable.slice(0, 10).join(', ')}`,
      );
      return 1;
    }
    return 0;
  } catch (error) {
    console.error(
      `backfill stopped: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
    );
    console.error('nothing it wrote needs undoing; run it again once the cause is fixed');
    return 1;
  } finally {
    client.destroy();
  }
}

function parse(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      table: { type: 'string' },
      region: { type: 'string' },
      endpoint: { type: 'string' },
      shards: { type: 'string' },
      'status-shards': { type: 'string' },
      segments: { type: 'string' },
    },
  });
  if (positionals.length !== 1 || positionals[0] !== 'viewers') {
    throw new UsageError(`name the backfill to run (viewers), got "${positionals.join(' ')}"`);
  }
  if (!values.table)
    throw new UsageError(
      '--table is required: the stack’s requests table name (its RequestsTableName output)',
    );
  return {
    table: values.table,
    region: values.region,
    endpoint: values.endpoint,
    shards: whole('shards', values.shards, DEFAULT_GROUP_SHARDS),
    statusShards: whole('status-shards', values['status-shards'], DEFAULT_STATUS_SHARDS),
    segments: whole('segments', values.segments, 4),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
}
