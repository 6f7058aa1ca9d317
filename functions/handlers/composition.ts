/**
 * The pieces every Lambda of the gateway builds once per cold start, from its environment:
 * DynamoDB store and token store on the stack's tables, Step Functions client, Powertools logger.
 */
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { createSfnClient, type SfnSender } from '../adapters/aws/clients.ts';
import { StepFunctionsWorkflow } from '../adapters/aws/step-functions-workflow.ts';
import { StsCredentialBroker } from '../adapters/aws/sts-credential-broker.ts';
import { DynamoDbTaskTokenStore } from '../adapters/aws/task-token-store.ts';
import { createDynamoDbClient } from '../adapters/dynamodb/client.ts';
import { DynamoDbRateCounter } from '../adapters/dynamodb/dynamodb-rate-counter.ts';
import { DynamoDbRequestStore } from '../adapters/dynamodb/dynamodb-store.ts';
import { type KeyOptions, MAX_SHARDS } from '../adapters/dynamodb/keys.ts';
import type { TableNames } from '../adapters/dynamodb/tables.ts';
import { inventoryAttributes, inventoryThenTags } from '../core/attributes.ts';
import { DEFAULT_LIMITS, type LimitSettings } from '../core/limits.ts';
import type { Directory } from '../core/model.ts';
import type { ResourceAttributes } from '../core/ports/attributes.port.ts';
import type { Logger } from '../observability/logger.ts';
import { ENV, optionalEnv, requireEnv } from './env.ts';

export interface LambdaLogger extends Logger {
  /** Adds the invocation's request id and function details to every following line. */
  withContext<E, C extends object, R>(
    handler: (event: E, context: C) => Promise<R>,
  ): (event: E, context: C) => Promise<R>;
}

/** Powertools' structured JSON logs in CloudWatch; level from POWERTOOLS_LOG_LEVEL (default INFO). */
export function lambdaLogger(serviceName: string): LambdaLogger {
  const powertools = new PowertoolsLogger({ serviceName });
  const level =
    (name: 'debug' | 'info' | 'warn' | 'error') =>
    (message: string, attributes?: Record<string, unknown>): void => {
      if (attributes) powertools[name](message, attributes);
      else powertools[name](message);
    };
  return {
    debug: level('debug'),
    info: level('info'),
    warn: level('warn'),
    error: level('error'),
    withContext: (handler) => async (event, context) => {
      if (isLambdaContext(context)) powertools.addContext(context);
      return handler(event, context);
    },
  };
}

function isLambdaContext(value: object): value is Context {
  return 'awsRequestId' in value && 'functionName' in value;
}

export interface DataPlane {
  readonly tables: TableNames;
  readonly store: DynamoDbRequestStore;
  /** Rate-limit counters shared by every instance (items in the requests table). */
  readonly counter: DynamoDbRateCounter;
  readonly tokens: DynamoDbTaskTokenStore;
  readonly sfn: SfnSender;
}

export function dataPlaneFromEnv(): DataPlane {
  const tables: TableNames = {
    requests: requireEnv(ENV.requestsTable, 'the requests table of the stack'),
    audit: requireEnv(ENV.auditTable, 'the audit table of the stack'),
  };
  const dynamo = createDynamoDbClient();
  return {
    tables,
    store: new DynamoDbRequestStore(dynamo, tables, indexShardsFromEnv()),
    counter: new DynamoDbRateCounter(dynamo, tables.requests),
    tokens: new DynamoDbTaskTokenStore(dynamo, { tableName: tables.requests }),
    sfn: createSfnClient(),
  };
}

export function workflowFromEnv(plane: DataPlane, logger: Logger): StepFunctionsWorkflow {
  return new StepFunctionsWorkflow({
    client: plane.sfn,
    stateMachineArn: requireEnv(ENV.stateMachineArn, 'the approval state machine of the stack'),
    tokens: plane.tokens,
    logger,
  });
}

/**
 * The STS broker when the stack allows grant roles (GRANT_ROLE_ARNS), else nothing (aws_sts grants
 * then answer 501). Region and FIPS come from the Lambda environment (AWS_REGION,
 * AWS_USE_FIPS_ENDPOINT), credentials from the function's role.
 */
export function stsBrokerFromEnv(): { credentials?: StsCredentialBroker } {
  const arns = optionalEnv(ENV.grantRoleArns);
  if (!arns) return {};
  return {
    credentials: new StsCredentialBroker({
      partition: requireEnv(ENV.grantPartition),
      accountId: requireEnv(ENV.grantAccount),
      allowedRoleArns: arns
        .split(',')
        .map((arn) => arn.trim())
        .filter((arn) => arn !== ''),
    }),
  };
}

/**
 * Where vouched resource attributes come from: the policy data's inventory, then — when
 * RESOURCE_TAGS_ENABLED is `true` — the resource's tags for what the inventory does not know.
 * Undefined when tags are off (the service's default, the inventory alone).
 */
export async function resourceAttributesFromEnv(
  policy: { readonly directory: Directory },
  logger: Logger,
): Promise<ResourceAttributes | undefined> {
  const enabled = optionalEnv(ENV.resourceTagsEnabled);
  if (enabled === undefined || enabled === 'false') return undefined;
  if (enabled !== 'true') {
    throw new Error(`${ENV.resourceTagsEnabled} is "${enabled}"; set it to true or false`);
  }
  // Loaded only when enabled: the workflow and sweeper functions, and the api without tags, never need it.
  const { createTaggingClient, DEFAULT_TAG_ATTRIBUTES, parseTagAttributes, ResourceTagAttributes } =
    await import('../adapters/aws/resource-tags.ts');
  const mapping = optionalEnv(ENV.resourceTagAttributes);
  const tags = new ResourceTagAttributes({
    client: await createTaggingClient(),
    tagAttributes: mapping === undefined ? DEFAULT_TAG_ATTRIBUTES : parseTagAttributes(mapping),
    logger,
  });
  return inventoryThenTags(
    inventoryAttributes(() => policy.directory),
    tags,
  );
}

/**
 * A JSON object setting from the environment, checked by `schema`; undefined when unset or blank.
 * A malformed value stops the start, naming the variable, an example and what was got.
 */
function jsonEnv<T>(name: string, schema: z.ZodType<T>, shape: string): T | undefined {
  const text = optionalEnv(name);
  if (text === undefined || text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new Error(`${name} must be JSON like ${shape}; got ${JSON.stringify(text.slice(0, 200))}`);
  }
  return parsed.data;
}

/** The index shard counts (INDEX_SHARDS, JSON), over the defaults; a malformed value stops the start. */
export function indexShardsFromEnv(): Partial<KeyOptions> {
  return (
    jsonEnv(
      ENV.indexShards,
      INDEX_SHARDS,
      `{"shards":4,"statusShards":32} (whole numbers 1–${MAX_SHARDS}, any subset)`,
    ) ?? {}
  );
}

const INDEX_SHARDS = z.strictObject({
  shards: z.number().int().min(1).max(MAX_SHARDS).optional(),
  statusShards: z.number().int().min(1).max(MAX_SHARDS).optional(),
});

/** The configured limits (GATEWAY_LIMITS, JSON), over the defaults; a malformed value stops the start. */
export function limitSettingsFromEnv(): LimitSettings {
  const set = jsonEnv(
    ENV.limits,
    LIMIT_SETTINGS,
    '{"callsPerMinute":1200,"submissionsPerMinute":120,"maxPending":100} (positive integers, any subset)',
  );
  return { ...DEFAULT_LIMITS, ...set };
}

const LIMIT_SETTINGS = z.strictObject({
  callsPerMinute: z.number().int().min(1).optional(),
  submissionsPerMinute: z.number().int().min(1).optional(),
  maxPending: z.number().int().min(1).optional(),
});

/** Cards link to the review page when the stack sets its base URL (REVIEW_BASE_URL). */
export function reviewLinkFromEnv(): { reviewBaseUrl?: string } {
  const url = optionalEnv(ENV.reviewBaseUrl);
  return url ? { reviewBaseUrl: url } : {};
}
