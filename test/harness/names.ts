// Names for per-test resources, valid everywhere the product needs one: S3 buckets (3–63 chars,
// lowercase letters, digits and hyphens, starting and ending with a letter or digit), DynamoDB
// tables, Step Functions state machines/executions, SQS queues.
import { randomBytes } from 'node:crypto';

const MAX_LENGTH = 63;
const SUFFIX_LENGTH = 12; // "-" + 11 chars of randomness and counter
let counter = 0;

/**
 * `uniqueName('audit')` → `audit-k3m9x2q7a1b`: unique across parallel workers and runs (random part)
 * and within a process (counter). The prefix is lowercased, other characters become `-`.
 */
export function uniqueName(prefix: string): string {
  counter += 1;
  const cleaned = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '');
  const head = (cleaned === '' ? 't' : cleaned).slice(0, MAX_LENGTH - SUFFIX_LENGTH).replace(/-+$/, '');
  const random = BigInt(`0x${randomBytes(6).toString('hex')}`)
    .toString(36)
    .padStart(8, '0')
    .slice(-8);
  const count = (counter % 36 ** 3).toString(36).padStart(3, '0');
  return `${head}-${random}${count}`;
}

/** Whether `name` is a valid general-purpose S3 bucket name (the strictest of the rules above). */
export function isValidBucketName(name: string): boolean {
  return (
    /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(name) &&
    !name.startsWith('xn--') &&
    !name.startsWith('sthree-') &&
    !name.endsWith('-s3alias') &&
    !name.endsWith('--ol-s3')
  );
}
