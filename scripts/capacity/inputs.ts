/**
 * The capacity model's inputs (capacity/*.json): published quotas and prices per region, and the
 * traffic mix. Each is checked on load; a wrong file is refused with the field and what to fix.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export const REGIONS = ['us-east-1', 'us-gov-west-1'] as const;
export type Region = (typeof REGIONS)[number];

/** Where a published value comes from, and whether it was checked against that page. */
const sourced = {
  source: z.string().min(1),
  checked: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date, YYYY-MM-DD'),
  verified: z.boolean(),
  note: z.string().optional(),
};
const quota = z.strictObject({ value: z.number().positive(), raisable: z.string().min(1), ...sourced });
const price = z.strictObject({ value: z.number().nonnegative(), ...sourced });

export const QUOTA_IDS = [
  'apigwAccountRps',
  'apigwIntegrationTimeoutSeconds',
  'apigwPayloadBytes',
  'lambdaConcurrency',
  'dynamodbPartitionWrites',
  'dynamodbPartitionReads',
  'dynamodbTableWrites',
  'dynamodbTableReads',
  'dynamodbTransactionItems',
  'sfnStartExecutionRefill',
  'sfnStartExecutionBucket',
  'sfnStateTransitionRefill',
  'sfnStateTransitionBucket',
  'sfnOpenExecutions',
  'stsAssumeRoleRps',
  'kmsSymmetricRps',
  's3PutPerPrefix',
] as const;
export type QuotaId = (typeof QUOTA_IDS)[number];

export const PRICE_IDS = [
  'apigwPerMillionRequests',
  'lambdaPerMillionRequests',
  'lambdaPerGbSecond',
  'dynamodbPerMillionWriteUnits',
  'dynamodbPerMillionReadUnits',
  'sfnPerThousandTransitions',
  'kmsPerTenThousandRequests',
  's3PerThousandPuts',
  'logsPerGbIngested',
] as const;
export type PriceId = (typeof PRICE_IDS)[number];

const perRegion = <T extends z.ZodType>(ids: readonly string[], item: T) =>
  z.strictObject(Object.fromEntries(ids.map((id) => [id, item])) as Record<string, T>);

export const quotasSchema = z.strictObject({
  $comment: z.string().optional(),
  regions: z.strictObject({
    'us-east-1': perRegion(QUOTA_IDS, quota),
    'us-gov-west-1': perRegion(QUOTA_IDS, quota),
  }),
});
export const pricesSchema = z.strictObject({
  $comment: z.string().optional(),
  currency: z.literal('USD'),
  regions: z.strictObject({
    'us-east-1': perRegion(PRICE_IDS, price),
    'us-gov-west-1': perRegion(PRICE_IDS, price),
  }),
});

const share = z.number().min(0).max(1);
/** A refinement: the shares add up to 1 (zod refinements must return a boolean; the message names the field). */
const sumsToOne = (what: string) =>
  [
    (shares: Record<string, number>) => Math.abs(Object.values(shares).reduce((a, b) => a + b, 0) - 1) < 1e-9,
    { message: `${what} must add up to 1` },
  ] as const;

export const mixSchema = z.strictObject({
  $comment: z.string().optional(),
  /** The rate lines: action requests submitted per second. */
  rates: z.array(z.number().positive()).min(1),
  shares: z
    .strictObject({ auto_allowed: share, approval: share, denied: share })
    .refine(...sumsToOne('shares (auto_allowed + approval + denied)')),
  autoAllowed: z.strictObject({ redeemed: share }),
  approval: z.strictObject({
    outcomes: z
      .strictObject({ approved: share, rejected: share, expired: share, cancelled: share })
      .refine(...sumsToOne('approval.outcomes')),
    redeemedOfApproved: share,
    escalatedOfExpired: share,
    minApprovals: z
      .record(z.string().regex(/^[1-5]$/, 'a quorum from 1 to 5'), share)
      .refine(...sumsToOne('approval.minApprovals')),
    channels: z.number().int().min(0).max(3),
    decisionSeconds: z.number().positive(),
    timeoutSeconds: z.number().positive(),
    longPollShare: share,
    listingsPerFlow: z.number().min(0),
  }),
  idempotencyKeyShare: share,
  stsShareOfRedemptions: share,
  deployment: z.strictObject({
    apiThrottleRateLimit: z.number().positive(),
    groupShards: z.number().int().min(1).max(256),
    statusShards: z.number().int().min(1).max(256),
  }),
  runtime: z.strictObject({
    apiCallSeconds: z.number().positive(),
    workflowTaskSeconds: z.number().positive(),
    archiverBatchSeconds: z.number().positive(),
    apiMemoryMb: z.number().int().positive(),
    workflowMemoryMb: z.number().int().positive(),
    archiverMemoryMb: z.number().int().positive(),
  }),
  readUnits: z.strictObject({
    submit: z.number().min(0),
    poll: z.number().min(0),
    vote: z.number().min(0),
    listing: z.number().min(0),
    redeem: z.number().min(0),
    outcome: z.number().min(0),
    cancel: z.number().min(0),
    workflowTask: z.number().min(0),
  }),
  logBytes: z.strictObject({
    perApiCall: z.number().min(0),
    perWorkflowTask: z.number().min(0),
    perStateTransition: z.number().min(0),
  }),
  simulation: z.strictObject({
    requests: z.number().int().positive(),
    seed: z.number().int(),
    agents: z.number().int().positive(),
    agentSkew: z.number().min(0),
    groups: z.number().int().positive(),
    groupSkew: z.number().min(0),
    groupsPerRequest: z
      .strictObject({ '1': share, '2': share })
      .refine(...sumsToOne('simulation.groupsPerRequest')),
  }),
});

export type Quotas = z.infer<typeof quotasSchema>;
export type Prices = z.infer<typeof pricesSchema>;
export type Mix = z.infer<typeof mixSchema>;
export type Quota = z.infer<typeof quota>;

export interface Inputs {
  readonly quotas: Quotas;
  readonly prices: Prices;
  readonly mix: Mix;
}

export class CapacityInputError extends Error {
  override readonly name = 'CapacityInputError';
}

/** Parses one input file's text; the error names the file, the field and the problem. */
export function parseInput<T extends z.ZodType>(schema: T, text: string, file: string): z.infer<T> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CapacityInputError(`${file} is not JSON (${(error as Error).message}); fix the syntax`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new CapacityInputError(
      `${file} does not fit the capacity model's inputs:\n${z.prettifyError(parsed.error)}`,
    );
  }
  return parsed.data;
}

/** Reads capacity/quotas.json, prices.json and mix.json from `dir`. */
export function loadInputs(dir: string): Inputs {
  const read = (name: string) => {
    try {
      return readFileSync(`${dir}/${name}`, 'utf8');
    } catch (error) {
      throw new CapacityInputError(`cannot read ${dir}/${name} (${(error as Error).message})`);
    }
  };
  return {
    quotas: parseInput(quotasSchema, read('quotas.json'), 'quotas.json'),
    prices: parseInput(pricesSchema, read('prices.json'), 'prices.json'),
    mix: parseInput(mixSchema, read('mix.json'), 'mix.json'),
  };
}

/** One quota of one Region (the schema requires every one, so it is always there). */
export function quotaOf(quotas: Quotas, region: Region, id: QuotaId): Quota {
  const found = quotas.regions[region][id];
  if (!found) throw new CapacityInputError(`quotas.json has no ${id} for ${region}`);
  return found;
}
