import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Aws, type Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  GROUP_CREATED_INDEX,
  GROUP_DEADLINE_INDEX,
  STATUS_SHARD_INDEX,
  VIEWER_INDEX,
} from '../../functions/adapters/dynamodb/tables.ts';
import { ENV, POLICY_FILES } from '../../functions/handlers/env.ts';
import { REPO_ROOT } from '../paths.ts';
import { externalModules, LAMBDA_BUNDLING, sdkAliases } from './lambda-bundling.ts';

/** Where a shadow bundle is copied inside the function's bundle. */
const SHADOW_SUBDIR = 'shadow';

export interface GatewayFunctionProps {
  /** Handler module under functions/handlers, e.g. `api.ts`. Its export `handler` is the entry. */
  readonly entry: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  /** Encrypts the function's log group. */
  readonly logKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  /** Copy the signed bundle (policy.wasm, data.json, .manifest, .signatures.json) from this folder. @default - no policy bundle */
  readonly policyBundleDir?: string;
  /** Copy a candidate signed bundle from this folder into `shadow/`, evaluated in shadow mode. */
  readonly policyShadowBundleDir?: string;
  /** Sets AWS_USE_FIPS_ENDPOINT=true so every SDK client uses FIPS endpoints. */
  readonly fipsEndpoints: boolean;
  /** Bundle the AWS SDK instead of using the one in the Lambda runtime. */
  readonly bundleAwsSdk: boolean;
  /** Async invocations (the sweeper's schedule) are not retried when this is 0. @default 2 */
  readonly retryAttempts?: number;
  /** Concurrent executions kept for this function alone (and its ceiling). @default - none: the account's unreserved pool */
  readonly reservedConcurrency?: number;
  /** Extra environment variables. @default - none */
  readonly environment?: Readonly<Record<string, string>>;
}

/** The DynamoDB actions the gateway's store needs; no UpdateItem, DeleteItem, Scan or batch writes. */
export const TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:ConditionCheckItem',
] as const;

/**
 * One Lambda of the gateway: Node.js 22 on arm64, bundled with esbuild (ESM, minified, settings in
 * lambda-bundling.ts; error classes state their names, so they reach Step Functions' Retry/Catch intact), tracing on, its own encrypted log group,
 * and its own role whose every permission is an explicit statement in one customer-managed policy.
 */
export class GatewayFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly policy: iam.ManagedPolicy;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: GatewayFunctionProps) {
    super(scope, id);
    const entry = join(REPO_ROOT, 'functions', 'handlers', props.entry);
    if (!existsSync(entry))
      throw new Error(`handler ${entry} does not exist; entry must name a file in functions/handlers`);
    const policyDir = props.policyBundleDir;
    const shadowDir = policyDir === undefined ? undefined : props.policyShadowBundleDir;
    for (const dir of [policyDir, shadowDir]) {
      if (dir === undefined) continue;
      for (const file of Object.values(POLICY_FILES)) {
        if (!existsSync(join(dir, file))) {
          throw new Error(
            `policy bundle file ${join(dir, file)} is missing; build and sign the bundle with 'npm run policy:build' ` +
              '(--signing-key <your key>) or set policyBundleDir',
          );
        }
      }
    }

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      encryptionKey: props.logKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (execution role)`,
    });
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      roles: [this.role],
      description: `Permissions of ${props.description}`,
      statements: [
        new iam.PolicyStatement({
          sid: 'WriteOwnLogs',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [this.logGroup.logGroupArn],
        }),
        new iam.PolicyStatement({
          sid: 'WriteTraces',
          // X-Ray has no resource-level permissions for these actions.
          actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
          resources: ['*'],
        }),
      ],
    });

    const commandHooks: nodejs.ICommandHooks | undefined =
      policyDir === undefined
        ? undefined
        : {
            beforeBundling: () => [],
            beforeInstall: () => [],
            afterBundling: (_inputDir, outputDir) => [
              ...Object.values(POLICY_FILES).map(
                (file) => `cp ${shellQuote(join(policyDir, file))} ${shellQuote(join(outputDir, file))}`,
              ),
              ...(shadowDir === undefined
                ? []
                : [
                    `mkdir -p ${shellQuote(join(outputDir, SHADOW_SUBDIR))}`,
                    ...Object.values(POLICY_FILES).map(
                      (file) =>
                        `cp ${shellQuote(join(shadowDir, file))} ${shellQuote(join(outputDir, SHADOW_SUBDIR, file))}`,
                    ),
                  ]),
            ],
          };

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry,
      handler: 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      // The role is immutable to CDK: nothing is granted behind the policy's back.
      role: this.role.withoutPolicyUpdates(),
      logGroup: this.logGroup,
      tracing: lambda.Tracing.ACTIVE,
      retryAttempts: props.retryAttempts,
      ...(props.reservedConcurrency !== undefined
        ? { reservedConcurrentExecutions: props.reservedConcurrency }
        : {}),
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      environment: {
        ...(props.fipsEndpoints ? { AWS_USE_FIPS_ENDPOINT: 'true' } : {}),
        ...(shadowDir !== undefined ? { [ENV.policyShadowDir]: SHADOW_SUBDIR } : {}),
        ...props.environment,
      },
      bundling: {
        format: nodejs.OutputFormat.ESM,
        ...LAMBDA_BUNDLING,
        mainFields: [...LAMBDA_BUNDLING.mainFields],
        bundleAwsSDK: props.bundleAwsSdk,
        externalModules: externalModules(props.bundleAwsSdk),
        ...(props.bundleAwsSdk
          ? {}
          : {
              esbuildArgs: {
                '--alias': Object.entries(sdkAliases(false)).map(([name, shim]) => `${name}=${shim}`),
              },
            }),
        ...(commandHooks ? { commandHooks } : {}),
      },
    });

    Validations.of(this.policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only xray:PutTraceSegments and xray:PutTelemetryRecords use "*": X-Ray defines no resource types for them. Every other statement names its table, index, key, log group or state machine.',
    });
    Validations.of(this.function).acknowledge(
      {
        id: 'AwsSolutions-L1',
        reason:
          'Pinned to nodejs22.x on purpose: an LTS runtime offered in both aws and aws-us-gov, whose Node major the bundles and handler tests are also run on (test/integration/runtime); a runtime upgrade is a reviewed change, not a side effect of a CDK update.',
      },
      {
        id: 'NIST.800.53.R5-LambdaInsideVPC',
        reason:
          'The functions reach only AWS APIs (DynamoDB and its streams, Step Functions, S3, SQS), over TLS with SigV4 and IAM least privilege; they hold no network position worth isolating, and a VPC would need NAT or an interface endpoint per service in every region.',
      },
    );
  }

  /** Acknowledges cdk-nag's reserved-concurrency finding for a function that has none, with the reason. */
  withoutReservedConcurrency(reason: string): void {
    Validations.of(this.function).acknowledge({ id: 'NIST.800.53.R5-LambdaConcurrency', reason });
  }

  /** Adds statements to the function's managed policy. */
  allow(...statements: iam.PolicyStatement[]): void {
    for (const statement of statements) this.policy.addStatements(statement);
  }

  /**
   * May read `secretArn` (a chat or sign-in secret encrypted with the stack's `key`) and decrypt it
   * through Secrets Manager only; the statements' sids are `Read<name>Secret` and
   * `<name>SecretKeyThroughSecretsManager`.
   */
  readSecret(name: string, secretArn: string, key: kms.IKey): void {
    this.allow(
      new iam.PolicyStatement({
        sid: `Read${name}Secret`,
        actions: ['secretsmanager:GetSecretValue'],
        resources: [secretArn],
      }),
      new iam.PolicyStatement({
        sid: `${name}SecretKeyThroughSecretsManager`,
        actions: ['kms:Decrypt'],
        resources: [key.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.${Aws.URL_SUFFIX}` },
        },
      }),
    );
  }

  /** Read and write the gateway's tables through the store (put-only on audit) and tell the function their names. */
  useTables(tables: { requests: dynamodb.ITable; audit: dynamodb.ITable }, key: kms.IKey): void {
    this.allow(
      new iam.PolicyStatement({
        sid: 'RequestsTable',
        // BatchGetItem: listings read the records their index keys name (never a batch write).
        actions: [...TABLE_ACTIONS, 'dynamodb:BatchGetItem'],
        resources: [
          tables.requests.tableArn,
          ...[STATUS_SHARD_INDEX, GROUP_CREATED_INDEX, GROUP_DEADLINE_INDEX, VIEWER_INDEX].map(
            (index) => `${tables.requests.tableArn}/index/${index}`,
          ),
        ],
      }),
      // A commit's index upkeep (keys.ts): the requester's pending counter is one atomic ADD, a
      // decided request's group pointers are deleted (and viewer pointers, should a request return
      // to pending). Only those items, never a request.
      new iam.PolicyStatement({
        sid: 'PendingCounters',
        actions: ['dynamodb:UpdateItem'],
        resources: [tables.requests.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['pending#*'] } },
      }),
      new iam.PolicyStatement({
        sid: 'PendingPointers',
        actions: ['dynamodb:DeleteItem'],
        resources: [tables.requests.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['grp#*', 'view#*'] } },
      }),
      new iam.PolicyStatement({
        sid: 'AuditTableAppendAndRead',
        actions: [...TABLE_ACTIONS],
        resources: [tables.audit.tableArn],
      }),
      new iam.PolicyStatement({
        sid: 'TableKeyThroughDynamoDb',
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        resources: [key.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this).region}.${Aws.URL_SUFFIX}` },
        },
      }),
    );
    this.function.addEnvironment(ENV.requestsTable, tables.requests.tableName);
    this.function.addEnvironment(ENV.auditTable, tables.audit.tableName);
  }

  /**
   * Count calls on the shared rate-limit items of the requests table (`rate#…`, one atomic ADD
   * each): UpdateItem on those items only, never on a request.
   */
  useRateCounters(requests: dynamodb.ITable): void {
    this.allow(
      new iam.PolicyStatement({
        sid: 'RateCounters',
        actions: ['dynamodb:UpdateItem'],
        resources: [requests.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['rate#*'] } },
      }),
    );
  }
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
