import { readFileSync } from 'node:fs';
import {
  Annotations,
  Aws,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Token,
  Validations,
} from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import type { Construct } from 'constructs';
import { parseTagAttributes } from '../functions/adapters/aws/resource-tags.ts';
import { MAX_SHARDS } from '../functions/adapters/dynamodb/keys.ts';
import { ENV } from '../functions/handlers/env.ts';
import { MAX_WAIT_SECONDS } from '../functions/http/schemas.ts';
import {
  ApprovalStateMachine,
  type LambdaRetryOptions,
  STATE_MACHINE_LOG_PREFIX,
} from './constructs/approval-state-machine.ts';
import { AuditArchive } from './constructs/audit-archive.ts';
import { GatewayApi } from './constructs/gateway-api.ts';
import { GatewayFunction } from './constructs/gateway-function.ts';
import { GatewayTables } from './constructs/gateway-tables.ts';
import { LogArchive } from './constructs/log-archive.ts';
import { Operations } from './constructs/operations.ts';
import { ReviewPage, type ReviewPageProps } from './constructs/review-page.ts';
import { SlackIntegration, type SlackProps } from './constructs/slack-integration.ts';
import { TeamsBot, type TeamsBotProps } from './constructs/teams-bot.ts';
import { WebhookNotifications, type WebhookProps } from './constructs/webhook-notifications.ts';
import { DEFAULT_POLICY_BUNDLE_DIR, DEMO_POLICY_VERIFICATION_KEY } from './paths.ts';

export interface ApprovalsGatewayStackProps extends StackProps {
  /**
   * Days each audit archive object version stays locked in COMPLIANCE mode.
   * @default 2555 - seven years
   */
  readonly auditRetentionDays?: number;
  /**
   * The break-glass role (ARN) that alone may schedule deletion of or disable the audit archive's
   * key, and delete or loosen anything in the archive bucket (docs/aws.md#audit-archive).
   * @default - no one may
   */
  readonly auditBreakGlassRoleArn?: string;
  /**
   * Roles (ARNs) that may decrypt the audit archive; when set, no other principal may.
   * @default - decryption is governed by IAM policies in the account
   */
  readonly auditArchiveReaderRoleArns?: readonly string[];
  /**
   * Make every function's AWS SDK use FIPS endpoints (AWS_USE_FIPS_ENDPOINT=true).
   * @default - true when the stack's region is in the aws-us-gov partition, else false
   */
  readonly fipsEndpoints?: boolean;
  /**
   * Steady-state requests per second the API stage accepts.
   * @default 50
   */
  readonly apiThrottleRateLimit?: number;
  /**
   * Burst of requests the API stage accepts.
   * @default 100
   */
  readonly apiThrottleBurstLimit?: number;
  /**
   * API stage name; the API is served under `https://…/<stage>/v1/…`.
   * @default 'prod'
   */
  readonly apiStageName?: string;
  /**
   * Let this stack set the account-wide API Gateway CloudWatch Logs role (execution logs need it).
   * Set false when the account has one already; execution logs are then off.
   * @default true
   */
  readonly manageApiGatewayCloudWatchRole?: boolean;
  /**
   * A WAFv2 web ACL (REGIONAL scope) to associate with the API stage.
   * @default - no web ACL
   */
  readonly webAclArn?: string;
  /**
   * Retention of all log groups (functions, state machine, API access logs): the "hot",
   * searchable period (OMB M-21-31: 12 months).
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Days an archived copy of every log line is kept in cold storage (S3 Glacier) after the hot
   * period (OMB M-21-31: 18 months); 0 turns the log archive off.
   * @default 548
   */
  readonly coldLogRetentionDays?: number;
  /**
   * How often the sweeper runs.
   * @default Duration.minutes(5)
   */
  readonly sweepInterval?: Duration;
  /**
   * Retry of the state machine's Lambda tasks on Lambda service errors and transient store errors.
   * @default - 2 s, doubling, at most 2 min apart, full jitter, 20 attempts (≤ 30 min of waits)
   */
  readonly lambdaRetry?: LambdaRetryOptions;
  /**
   * Concurrent executions reserved for the workflow function, so long-polls on the api function
   * can never take the capacity the approval executions need. 0 turns the reservation off (an
   * account whose concurrency quota is too small to reserve from).
   * @default 20
   */
  readonly workflowReservedConcurrency?: number;
  /**
   * The longest long-poll (`?wait`, `Prefer: wait`) the api function holds, in seconds (1–25). Each
   * held poll keeps one api function busy: apiThrottleRateLimit × apiMaxWaitSeconds must fit in
   * the account's concurrency (docs/aws.md, sizing).
   * @default 10
   */
  readonly apiMaxWaitSeconds?: number;
  /**
   * The account's Lambda concurrent-executions quota in this region, to check the sizing rule at
   * synth time.
   * @default 1000 - the default quota
   */
  readonly lambdaConcurrencyQuota?: number;
  /**
   * The gateway's limits per principal (GATEWAY_LIMITS on the api function): calls and submissions
   * per minute, open pending requests. Policy data's `limits` override them per principal.
   * @default - callsPerMinute 1200, submissionsPerMinute 120, maxPending 100 (core/limits.ts)
   */
  readonly limits?: GatewayLimitsProps;
  /**
   * Shards of the requests table's indexes (INDEX_SHARDS on every function that reads the table):
   * `shards` per approver group, `statusShards` per status. More shards spread writes further and
   * cost more queries per listing; changing them on a deployed table needs the re-keying in
   * docs/data-model.md.
   * @default - shards 4, statusShards 32 (functions/adapters/dynamodb/keys.ts)
   */
  readonly indexShards?: IndexShardsProps;
  /** E-mail addresses subscribed to the alarm topic. @default - none */
  readonly alarmEmails?: readonly string[];
  /**
   * Folder with the compiled policy bundle (policy.wasm, data.json) copied into the api and
   * workflow functions.
   * @default policies/build of this repository
   */
  readonly policyBundleDir?: string;
  /**
   * PEM public key the bundle's signature must verify with (`.signatures.json`, `opa sign`).
   * @default the repository's demo key, with a synth warning: sign with a key of your own
   */
  readonly policyVerificationKey?: string;
  /** Pins the policy digest: functions refuse to start on any other bundle. @default - not pinned */
  readonly policyDigest?: string;
  /** A candidate signed bundle evaluated beside the active one in shadow mode (never decides). */
  readonly policyShadowBundleDir?: string;
  /**
   * Bundle the AWS SDK into each function instead of using the SDK v3 of the Lambda runtime.
   * @default false - bundles stay under 1 MB
   */
  readonly bundleAwsSdk?: boolean;
  /**
   * Accounts, besides the stack's own, whose IAM callers may use the API. The API's resource
   * policy denies every other account, and the api function refuses them too (docs/aws.md).
   * @default - none: only callers from the stack's account
   */
  readonly trustedAccountIds?: readonly string[];
  /**
   * When set, the API's resource policy also requires callers to belong to this AWS Organization
   * (`aws:PrincipalOrgID`, `o-…`).
   * @default - no organization condition
   */
  readonly principalOrgId?: string;
  /**
   * Map IAM Identity Center sessions (`AWSReservedSSO_*` roles) to `user:<user name>` principals.
   * @default true
   */
  readonly identityCenterUsers?: boolean;
  /**
   * Trusted accounts (each also in trustedAccountIds) whose Identity Center sessions are people.
   * Elsewhere an `AWSReservedSSO_…` role is an ordinary `iam:` role: an administrator of that
   * account could create a role of that name and choose any session name.
   * @default - the stack's own account only
   */
  readonly identityCenterAccountIds?: readonly string[];
  /**
   * The roles `aws_sts` grants may name: role names (with an optional path) in the stack's account,
   * or role ARNs. The api function may `sts:AssumeRole`, `sts:TagSession` and
   * `sts:SetSourceIdentity` on exactly these; each role's trust policy must allow the api
   * function's role (docs/credentials.md).
   * @default - none: aws_sts grants answer 501 credentials_not_configured
   */
  readonly allowedGrantRoles?: readonly string[];
  /**
   * Read a resource's tags (Resource Groups Tagging API, `tag:GetResources`) as vouched attributes
   * for resources the policy data's inventory does not know (docs/aws.md). Present = on.
   * @default - off: the inventory alone
   */
  readonly resourceTags?: ResourceTagsProps;
  /**
   * The Teams approval bot (docs/chat-teams.md): its messaging endpoint is added to the API
   * without IAM authorisation (the function verifies the Bot Framework token).
   * @default - no Teams bot
   */
  readonly teams?: TeamsBotProps;
  /**
   * Approval cards in Slack (docs/chat.md): the default channel and, optionally, an existing
   * secret. Present = on; it adds the one API method without IAM authorisation (Slack's callback).
   * @default - no Slack
   */
  readonly slack?: SlackProps;
  /**
   * Signed webhook deliveries of every approval card (docs/chat.md#signed-webhook): the https URL
   * and, optionally, an existing secret. Adds no API method.
   * @default - no webhook
   */
  readonly webhook?: WebhookProps;
  /**
   * The review page (docs/review-page.md): OpenID Connect sign-in for approvers in a browser. Present
   * = on; it adds the page's methods without IAM authorisation (the function signs people in).
   * @default - no review page
   */
  readonly reviewPage?: ReviewPageProps;
}

export interface GatewayLimitsProps {
  /** Authenticated calls per principal per minute. @default 1200 */
  readonly callsPerMinute?: number;
  /** New submissions per principal per minute. @default 120 */
  readonly submissionsPerMinute?: number;
  /** Open pending requests per requester, exact (counted in the submission's own transaction). @default 100 */
  readonly maxPending?: number;
}

export interface IndexShardsProps {
  /** Shards per approver group in the pending-by-group indexes. @default 4 */
  readonly shards?: number;
  /** Shards per status in the by-status-shard index. @default 32 */
  readonly statusShards?: number;
}

/** Most any one limit may be set to (as in local mode's configuration). */
const MAX_LIMIT = 1_000_000;

/** GATEWAY_LIMITS' value for `limits`, or undefined when none is set; throws on a bad value, saying which. */
export function limitsEnvironment(limits: GatewayLimitsProps | undefined): string | undefined {
  if (!limits) return undefined;
  const out: Record<string, number> = {};
  for (const name of ['callsPerMinute', 'submissionsPerMinute', 'maxPending'] as const) {
    const value = limits[name];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 1 || value > MAX_LIMIT) {
      throw new Error(
        `limits.${name} must be a whole number from 1 to ${MAX_LIMIT}, got ${value}; set it so, or leave it out for the default`,
      );
    }
    out[name] = value;
  }
  const unknown = Object.keys(limits).filter(
    (k) => !['callsPerMinute', 'submissionsPerMinute', 'maxPending'].includes(k),
  );
  if (unknown.length > 0) {
    throw new Error(
      `limits has ${unknown.join(', ')}, which is not a limit; use callsPerMinute, submissionsPerMinute or maxPending`,
    );
  }
  return Object.keys(out).length > 0 ? JSON.stringify(out) : undefined;
}

/** INDEX_SHARDS' value for `indexShards`, or undefined when none is set; throws on a bad value. */
export function indexShardsEnvironment(shards: IndexShardsProps | undefined): string | undefined {
  if (!shards) return undefined;
  const out: Record<string, number> = {};
  for (const name of ['shards', 'statusShards'] as const) {
    const value = shards[name];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 1 || value > MAX_SHARDS) {
      throw new Error(
        `indexShards.${name} must be a whole number from 1 to ${MAX_SHARDS}, got ${value}; set it so, or leave it out for the default`,
      );
    }
    out[name] = value;
  }
  return Object.keys(out).length > 0 ? JSON.stringify(out) : undefined;
}

export interface ResourceTagsProps {
  /**
   * Tag key (case-sensitive) → attribute name the policy reads in `vouched.resource.attributes`.
   * @default { environment: 'environment', data_classification: 'data_classification', owner: 'owner' }
   */
  readonly tagAttributes?: Readonly<Record<string, string>>;
}

/** Whether `region` is a GovCloud region; undefined when the region is not known at synth time. */
export function isGovCloudRegion(region: string): boolean | undefined {
  if (Token.isUnresolved(region)) return undefined;
  return RegionInfo.get(region).partition === 'aws-us-gov';
}

/**
 * The gateway on AWS: tables, audit archive, the api/workflow/sweeper functions, the approval state
 * machine and the REST API. Construct ids are part of the contract (they name the resources).
 */
export class ApprovalsGatewayStack extends Stack {
  readonly key: kms.Key;
  readonly tables: GatewayTables;
  readonly archive: AuditArchive;
  readonly apiFunction: GatewayFunction;
  readonly workflowFunction: GatewayFunction;
  readonly sweeperFunction: GatewayFunction;
  readonly approvals: ApprovalStateMachine;
  readonly gatewayApi: GatewayApi;
  readonly operations: Operations;
  readonly logArchive: LogArchive | undefined;

  constructor(scope: Construct, id: string, props: ApprovalsGatewayStackProps = {}) {
    super(scope, id, props);
    // Access-log delivery through a bucket policy, not an ACL, whatever the app's context says.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const govCloud = isGovCloudRegion(this.region);
    const fipsEndpoints = props.fipsEndpoints ?? govCloud === true;
    if (govCloud === undefined && props.fipsEndpoints === undefined) {
      throw new Error(
        'the stack needs a concrete region (env.region, e.g. us-east-1 or us-gov-west-1) to decide on FIPS endpoints; or set fipsEndpoints',
      );
    }
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    const policyBundleDir = props.policyBundleDir ?? DEFAULT_POLICY_BUNDLE_DIR;
    const policyTrust = this.#policyTrust(props);
    const bundleAwsSdk = props.bundleAwsSdk ?? false;

    this.key = new kms.Key(this, 'DataKey', {
      description: 'Action-Level Approvals: tables, queues and log groups',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchLogsOfThisStack',
        principals: [new iam.ServicePrincipal(`logs.${this.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': stackLogGroupArns() } },
      }),
    );

    this.tables = new GatewayTables(this, 'Tables', { encryptionKey: this.key });
    this.archive = new AuditArchive(this, 'AuditArchive', {
      auditTable: this.tables.audit,
      dataKey: this.key,
      retentionDays: props.auditRetentionDays ?? 2555,
      accessLogRetentionDays: 365,
      ...(props.auditBreakGlassRoleArn !== undefined
        ? { breakGlassRoleArn: props.auditBreakGlassRoleArn }
        : {}),
      ...(props.auditArchiveReaderRoleArns ? { readerRoleArns: props.auditArchiveReaderRoleArns } : {}),
      logRetention,
      fipsEndpoints,
      bundleAwsSdk,
    });

    const sizing = checkSizing(props);
    const limitsEnv = limitsEnvironment(props.limits);
    const shardsEnv = indexShardsEnvironment(props.indexShards);
    const common = { logKey: this.key, logRetention, fipsEndpoints, bundleAwsSdk };
    this.workflowFunction = new GatewayFunction(this, 'WorkflowFunction', {
      ...common,
      entry: 'workflow.ts',
      description: 'Action-Level Approvals: approval state machine tasks',
      memorySize: 512,
      timeout: Duration.seconds(30),
      policyBundleDir,
      ...(sizing.workflowReserved > 0 ? { reservedConcurrency: sizing.workflowReserved } : {}),
    });
    for (const [name, value] of Object.entries(policyTrust))
      this.workflowFunction.function.addEnvironment(name, value);
    if (sizing.workflowReserved === 0) {
      this.workflowFunction.withoutReservedConcurrency(
        'workflowReservedConcurrency is 0 in this deployment (an account whose concurrency quota leaves nothing to reserve); throttled tasks are retried for up to 30 minutes and the sweeper tells approvers when Notify could not.',
      );
    }
    this.approvals = new ApprovalStateMachine(this, 'Approvals', {
      workflowFunction: this.workflowFunction.function,
      logKey: this.key,
      logRetention,
      ...(props.lambdaRetry ? { lambdaRetry: props.lambdaRetry } : {}),
    });
    const stateMachine = this.approvals.stateMachine;
    const resumeTasks = new iam.PolicyStatement({
      sid: 'ResumeWaitingApprovals',
      actions: ['states:SendTaskSuccess'],
      resources: [stateMachine.stateMachineArn],
    });
    const startExecutions = new iam.PolicyStatement({
      sid: 'StartApprovalExecutions',
      actions: ['states:StartExecution'],
      resources: [stateMachine.stateMachineArn],
    });
    this.workflowFunction.useTables(this.tables, this.key);
    if (shardsEnv) this.workflowFunction.function.addEnvironment(ENV.indexShards, shardsEnv);
    this.workflowFunction.allow(resumeTasks);
    // No dependency of the workflow function on its policy: the policy names the state machine,
    // which names the function. Executions start only after the stack is complete.

    this.apiFunction = new GatewayFunction(this, 'ApiFunction', {
      ...common,
      entry: 'api.ts',
      description: 'Action-Level Approvals: HTTP API',
      memorySize: 1024,
      timeout: Duration.seconds(29),
      policyBundleDir,
      ...(props.policyShadowBundleDir ? { policyShadowBundleDir: props.policyShadowBundleDir } : {}),
      environment: { [ENV.maxWaitSeconds]: String(sizing.apiMaxWait) },
    });
    for (const [name, value] of Object.entries(policyTrust))
      this.apiFunction.function.addEnvironment(name, value);
    this.apiFunction.withoutReservedConcurrency(
      'The api function draws on the unreserved pool on purpose: a reservation would also cap it, and its load is bounded upstream by the stage throttle (rate × maximum long-poll wait ≤ the pool, checked at synth; docs/aws.md).',
    );
    this.apiFunction.useTables(this.tables, this.key);
    if (shardsEnv) this.apiFunction.function.addEnvironment(ENV.indexShards, shardsEnv);
    if (limitsEnv) this.apiFunction.function.addEnvironment(ENV.limits, limitsEnv);
    this.apiFunction.useRateCounters(this.tables.requests);
    this.apiFunction.allow(startExecutions, resumeTasks);
    this.apiFunction.function.addEnvironment(ENV.stateMachineArn, stateMachine.stateMachineArn);
    const trustedAccountIds = [...(props.trustedAccountIds ?? [])];
    for (const account of trustedAccountIds) {
      if (!/^\d{12}$/.test(account)) {
        throw new Error(`trustedAccountIds holds "${account}", which is not a 12-digit AWS account id`);
      }
    }
    if (props.principalOrgId !== undefined && !/^o-[a-z0-9]{10,32}$/.test(props.principalOrgId)) {
      throw new Error(`principalOrgId "${props.principalOrgId}" is not an AWS Organizations id (o-…)`);
    }
    this.apiFunction.function.addEnvironment(ENV.trustedAccounts, trustedAccountIds.join(','));
    this.apiFunction.function.addEnvironment(
      ENV.identityCenterUsers,
      String(props.identityCenterUsers ?? true),
    );
    const identityCenterAccountIds = [...(props.identityCenterAccountIds ?? [])];
    for (const account of identityCenterAccountIds) {
      if (!trustedAccountIds.includes(account)) {
        throw new Error(
          `identityCenterAccountIds holds "${account}", which is not in trustedAccountIds; list it there too`,
        );
      }
    }
    this.apiFunction.function.addEnvironment(ENV.identityCenterAccounts, identityCenterAccountIds.join(','));
    this.allowGrantRoles(props.allowedGrantRoles ?? []);
    this.apiFunction.function.addEnvironment(
      ENV.resourceTagsEnabled,
      String(props.resourceTags !== undefined),
    );
    if (props.resourceTags !== undefined) this.#readResourceTags(props.resourceTags);
    this.apiFunction.function.node.addDependency(this.apiFunction.policy);

    this.sweeperFunction = new GatewayFunction(this, 'SweeperFunction', {
      ...common,
      entry: 'sweeper.ts',
      description: 'Action-Level Approvals: sweeper (expires overdue requests, starts missing executions)',
      memorySize: 256,
      timeout: Duration.minutes(4),
      retryAttempts: 0,
      // Only the directory in policy data (who is told where); the sweeper evaluates nothing.
      policyBundleDir,
    });
    this.sweeperFunction.withoutReservedConcurrency(
      'One invocation per schedule tick (every 5 minutes, no retries): its concurrency is bounded by the schedule itself.',
    );
    this.sweeperFunction.useTables(this.tables, this.key);
    if (shardsEnv) this.sweeperFunction.function.addEnvironment(ENV.indexShards, shardsEnv);
    this.sweeperFunction.allow(startExecutions, resumeTasks);
    this.sweeperFunction.function.addEnvironment(ENV.stateMachineArn, stateMachine.stateMachineArn);
    this.sweeperFunction.function.node.addDependency(this.sweeperFunction.policy);
    const sweepInterval = props.sweepInterval ?? Duration.minutes(5);
    new events.Rule(this, 'SweepSchedule', {
      description: 'Runs the approvals sweeper',
      schedule: events.Schedule.rate(sweepInterval),
      targets: [new targets.LambdaFunction(this.sweeperFunction.function, { retryAttempts: 0 })],
    });

    const slack = props.slack
      ? new SlackIntegration(this, 'Slack', {
          ...props.slack,
          key: this.key,
          api: this.apiFunction,
          workflow: this.workflowFunction,
          sweeper: this.sweeperFunction,
        })
      : undefined;
    if (props.webhook !== undefined) {
      new WebhookNotifications(this, 'Webhook', {
        ...props.webhook,
        key: this.key,
        api: this.apiFunction,
        workflow: this.workflowFunction,
        sweeper: this.sweeperFunction,
      });
    }
    const reviewPage = props.reviewPage
      ? new ReviewPage(this, 'ReviewPage', {
          ...props.reviewPage,
          key: this.key,
          api: this.apiFunction,
          cardSenders: [this.workflowFunction, this.sweeperFunction],
        })
      : undefined;
    const unauthenticatedRoutes = [...(slack ? [slack.route] : []), ...(reviewPage?.routes ?? [])];
    this.gatewayApi = new GatewayApi(this, 'Api', {
      handler: this.apiFunction.function,
      logKey: this.key,
      logRetention,
      stageName: props.apiStageName ?? 'prod',
      throttleRateLimit: props.apiThrottleRateLimit ?? 50,
      throttleBurstLimit: props.apiThrottleBurstLimit ?? 100,
      manageCloudWatchRole: props.manageApiGatewayCloudWatchRole ?? true,
      ...(props.webAclArn !== undefined ? { webAclArn: props.webAclArn } : {}),
      trustedAccountIds,
      ...(props.principalOrgId !== undefined ? { principalOrgId: props.principalOrgId } : {}),
      ...(unauthenticatedRoutes.length > 0 ? { unauthenticatedRoutes } : {}),
    });

    if (props.teams !== undefined) {
      new TeamsBot(this, 'TeamsBot', {
        ...props.teams,
        api: this.gatewayApi.api,
        apiFunction: this.apiFunction,
        workflowFunction: this.workflowFunction,
        sweeperFunction: this.sweeperFunction,
      });
    }

    this.operations = new Operations(this, 'Operations', {
      functions: [
        { name: 'api', function: this.apiFunction.function, logGroup: this.apiFunction.logGroup },
        {
          name: 'workflow',
          function: this.workflowFunction.function,
          logGroup: this.workflowFunction.logGroup,
        },
        { name: 'sweeper', function: this.sweeperFunction.function, logGroup: this.sweeperFunction.logGroup },
      ],
      stateMachine,
      api: this.gatewayApi.api,
      tables: [this.tables.requests, this.tables.audit],
      apiLatencyThreshold: Duration.seconds(sizing.apiMaxWait + 5),
      failClosedLogGroups: [this.workflowFunction.logGroup, this.sweeperFunction.logGroup],
      ...(props.alarmEmails ? { alarmEmails: props.alarmEmails } : {}),
    });
    // The archive's alarms (stream iterator age, archiver errors and failed writes, on-failure queue
    // depth) go to the same topic as every other alarm.
    for (const alarm of Object.values(this.archive.alarms)) this.operations.addAlarm(alarm);

    const coldDays = props.coldLogRetentionDays ?? 548;
    this.logArchive =
      coldDays === 0
        ? undefined
        : new LogArchive(this, 'LogArchive', {
            logGroups: [
              this.apiFunction.logGroup,
              this.workflowFunction.logGroup,
              this.sweeperFunction.logGroup,
              this.approvals.logGroup,
              this.gatewayApi.accessLogs,
              this.archive.archiver.logGroup,
            ],
            encryptionKey: this.key,
            hotDays: logRetention === logs.RetentionDays.INFINITE ? 3653 : logRetention,
            coldDays,
            accessLogsBucket: this.archive.accessLogs,
          });

    acknowledgeDeadLetters({
      api: this.apiFunction,
      workflow: this.workflowFunction,
      sweeper: this.sweeperFunction,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.gatewayApi.api.url, description: 'Base URL (append v1/…)' });
    new CfnOutput(this, 'StateMachineArn', { value: stateMachine.stateMachineArn });
    new CfnOutput(this, 'RequestsTableName', { value: this.tables.requests.tableName });
    new CfnOutput(this, 'AuditTableName', { value: this.tables.audit.tableName });
    new CfnOutput(this, 'AuditArchiveBucketName', { value: this.archive.bucket.bucketName });
    new CfnOutput(this, 'AuditArchiveFailureQueueUrl', { value: this.archive.failureQueue.queueUrl });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.operations.topic.topicArn });
  }

  /** The api function's STS permissions and the broker's configuration, for exactly these roles. */
  private allowGrantRoles(roles: readonly string[]): void {
    if (roles.length === 0) return;
    const arns = roles.map((role) => {
      if (role.startsWith('arn:')) {
        if (!/^arn:[a-z-]+:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(role)) {
          throw new Error(`allowedGrantRoles holds "${role}", which is not an IAM role ARN`);
        }
        return role;
      }
      if (!/^[\w+=,.@/-]{1,512}$/.test(role) || role.includes('*')) {
        throw new Error(`allowedGrantRoles holds "${role}", which is not an IAM role name`);
      }
      return this.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: role });
    });
    this.apiFunction.allow(
      new iam.PolicyStatement({
        sid: 'IssueGrantCredentials',
        actions: ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity'],
        resources: arns,
      }),
    );
    this.apiFunction.function.addEnvironment(ENV.grantRoleArns, arns.join(','));
    this.apiFunction.function.addEnvironment(ENV.grantPartition, Aws.PARTITION);
    this.apiFunction.function.addEnvironment(ENV.grantAccount, Aws.ACCOUNT_ID);
  }

  /** The functions' policy trust settings; the demo key (with a warning) when no key is given. */
  #policyTrust(props: ApprovalsGatewayStackProps): Record<string, string> {
    if (props.policyDigest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(props.policyDigest)) {
      throw new Error(
        `policyDigest is "${props.policyDigest}"; give sha256:<64 hex digits>, as the gateway prints it`,
      );
    }
    let key = props.policyVerificationKey;
    if (key === undefined) {
      key = readFileSync(DEMO_POLICY_VERIFICATION_KEY, 'utf8');
      Annotations.of(this).addWarningV2(
        'ala:demo-policy-key',
        'policyVerificationKey is not set: the functions trust the demo policy signing key, whose private half is public. ' +
          "Sign your bundle with a key of your own ('npm run policy:build -- --signing-key <key.pem>') and set policyVerificationKey.",
      );
    } else if (!key.includes('-----BEGIN PUBLIC KEY-----')) {
      throw new Error('policyVerificationKey must be a PEM public key (-----BEGIN PUBLIC KEY-----)');
    }
    return {
      [ENV.policyVerificationKey]: key,
      ...(props.policyDigest !== undefined ? { [ENV.policyDigest]: props.policyDigest } : {}),
    };
  }

  /** Tells the api function to read tags and lets it, in a policy of its own (only when enabled). */
  #readResourceTags(props: ResourceTagsProps): void {
    if (props.tagAttributes !== undefined) {
      const text = Object.entries(props.tagAttributes)
        .map(([key, attribute]) => `${key}=${attribute}`)
        .join(',');
      const parsed = parseTagAttributes(text);
      if (JSON.stringify(parsed) !== JSON.stringify(props.tagAttributes)) {
        throw new Error(
          `resourceTags.tagAttributes ${JSON.stringify(props.tagAttributes)} holds a tag key with "," or "=" or surrounding spaces; use plain tag keys`,
        );
      }
      this.apiFunction.function.addEnvironment(ENV.resourceTagAttributes, text);
    }
    const readTags = new iam.ManagedPolicy(this, 'ApiResourceTagsPolicy', {
      roles: [this.apiFunction.role],
      description: 'Action-Level Approvals: HTTP API reads resource tags as vouched attributes',
      statements: [
        new iam.PolicyStatement({
          sid: 'ReadResourceTags',
          actions: ['tag:GetResources'],
          resources: ['*'],
        }),
      ],
    });
    Validations.of(readTags).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'tag:GetResources supports no resource-level permissions or condition keys (Service Authorization Reference, Resource Groups Tagging API), so "*" is the only resource it can be granted on. It is read-only, granted to the api function alone, and only when resourceTags is set.',
    });
    this.apiFunction.function.node.addDependency(readTags);
  }
}

/**
 * The log groups of this stack, as CloudWatch Logs names them in the encryption context: every
 * group CloudFormation names (`<stack name>-<logical id>-<suffix>`) and the state machine's
 * vended-log group. Names, not references: the groups refer to the key, so the key's policy
 * cannot refer to them.
 */
function stackLogGroupArns(): string[] {
  const prefix = `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:`;
  return [`${prefix}${Aws.STACK_NAME}-*`, `${prefix}${STATE_MACHINE_LOG_PREFIX}${Aws.STACK_NAME}-*`];
}

/**
 * The sizing rule (docs/aws.md): every long-poll holds one api function for its whole wait, so
 * rate × wait concurrent executions must fit in what the workflow's reservation leaves of the
 * account's quota (of which Lambda keeps 100 unreserved).
 */
export function checkSizing(props: ApprovalsGatewayStackProps): {
  apiMaxWait: number;
  workflowReserved: number;
} {
  const apiMaxWait = props.apiMaxWaitSeconds ?? 10;
  const workflowReserved = props.workflowReservedConcurrency ?? 20;
  const quota = props.lambdaConcurrencyQuota ?? 1000;
  const rate = props.apiThrottleRateLimit ?? 50;
  if (!Number.isInteger(apiMaxWait) || apiMaxWait < 1 || apiMaxWait > MAX_WAIT_SECONDS) {
    throw new Error(
      `apiMaxWaitSeconds must be a whole number from 1 to ${MAX_WAIT_SECONDS}, got ${apiMaxWait}`,
    );
  }
  if (!Number.isInteger(workflowReserved) || workflowReserved < 0) {
    throw new Error(`workflowReservedConcurrency must be a whole number ≥ 0, got ${workflowReserved}`);
  }
  if (workflowReserved > 0 && quota - workflowReserved < 100) {
    throw new Error(
      `workflowReservedConcurrency ${workflowReserved} leaves ${quota - workflowReserved} of the account's ${quota} concurrent executions unreserved; Lambda keeps at least 100 unreserved. Raise the quota (lambdaConcurrencyQuota) or set workflowReservedConcurrency to 0`,
    );
  }
  const pool = quota - workflowReserved;
  if (rate * apiMaxWait > pool) {
    throw new Error(
      `sizing: apiThrottleRateLimit ${rate}/s × apiMaxWaitSeconds ${apiMaxWait} s = ${rate * apiMaxWait} concurrent long-polls, more than the ${pool} concurrent executions the api function can have (lambdaConcurrencyQuota ${quota} − workflowReservedConcurrency ${workflowReserved}); lower the rate or the wait, or raise the quota`,
    );
  }
  return { apiMaxWait, workflowReserved };
}

/** A dead-letter queue only catches failed asynchronous invocations; each function's reason differs. */
function acknowledgeDeadLetters(functions: Record<'api' | 'workflow' | 'sweeper', GatewayFunction>): void {
  const reasons = {
    api: 'Invoked synchronously by API Gateway: a failure is the caller’s 5xx answer and nothing is queued, so a dead-letter queue would never receive anything.',
    workflow:
      'Invoked synchronously by Step Functions, whose Retry and Catch on every task route failures to a recorded state (expire, or a Fail state after logging); a dead-letter queue would never receive anything.',
    sweeper:
      'Runs on a schedule and is idempotent: a failed run is logged and counted in the function’s Errors metric, and the next run (5 minutes later) redoes the same work, so a queued event would add nothing.',
  } as const;
  for (const [name, fn] of Object.entries(functions) as [keyof typeof reasons, GatewayFunction][]) {
    Validations.of(fn.function).acknowledge({ id: 'NIST.800.53.R5-LambdaDLQ', reason: reasons[name] });
  }
}
