import {
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
import { ENV } from '../functions/handlers/env.ts';
import { ApprovalStateMachine, type LambdaRetryOptions } from './constructs/approval-state-machine.ts';
import { AuditArchive } from './constructs/audit-archive.ts';
import { GatewayApi } from './constructs/gateway-api.ts';
import { GatewayFunction } from './constructs/gateway-function.ts';
import { GatewayTables } from './constructs/gateway-tables.ts';
import { DEFAULT_POLICY_BUNDLE_DIR } from './paths.ts';

export interface ApprovalsGatewayStackProps extends StackProps {
  /**
   * Days each audit archive object version stays locked in COMPLIANCE mode.
   * @default 2555 - seven years
   */
  readonly auditRetentionDays?: number;
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
   * Retention of all log groups (functions, state machine, API access logs).
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * How often the sweeper runs.
   * @default Duration.minutes(5)
   */
  readonly sweepInterval?: Duration;
  /**
   * Retry of the state machine's Lambda tasks on Lambda service errors.
   * @default - 2 s interval, 6 attempts, backoff rate 2
   */
  readonly lambdaRetry?: LambdaRetryOptions;
  /**
   * Folder with the compiled policy bundle (policy.wasm, data.json) copied into the api and
   * workflow functions.
   * @default policies/build of this repository
   */
  readonly policyBundleDir?: string;
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
    const bundleAwsSdk = props.bundleAwsSdk ?? false;

    this.key = new kms.Key(this, 'DataKey', {
      description: 'Action-Level Approvals: tables, audit archive and log groups',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchLogsOfThisAccount',
        principals: [new iam.ServicePrincipal(`logs.${this.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${this.region}:${Aws.ACCOUNT_ID}:log-group:*`,
          },
        },
      }),
    );

    this.tables = new GatewayTables(this, 'Tables', { encryptionKey: this.key });
    this.archive = new AuditArchive(this, 'AuditArchive', {
      encryptionKey: this.key,
      retentionDays: props.auditRetentionDays ?? 2555,
      accessLogRetentionDays: 365,
    });

    const common = { logKey: this.key, logRetention, fipsEndpoints, bundleAwsSdk };
    this.workflowFunction = new GatewayFunction(this, 'WorkflowFunction', {
      ...common,
      entry: 'workflow.ts',
      description: 'Action-Level Approvals: approval state machine tasks',
      memorySize: 512,
      timeout: Duration.seconds(30),
      policyBundleDir,
    });
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
    });
    this.apiFunction.useTables(this.tables, this.key);
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
    });
    this.sweeperFunction.useTables(this.tables, this.key);
    this.sweeperFunction.allow(startExecutions, resumeTasks);
    this.sweeperFunction.function.addEnvironment(ENV.stateMachineArn, stateMachine.stateMachineArn);
    this.sweeperFunction.function.node.addDependency(this.sweeperFunction.policy);
    const sweepInterval = props.sweepInterval ?? Duration.minutes(5);
    new events.Rule(this, 'SweepSchedule', {
      description: 'Runs the approvals sweeper',
      schedule: events.Schedule.rate(sweepInterval),
      targets: [new targets.LambdaFunction(this.sweeperFunction.function, { retryAttempts: 0 })],
    });

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
