import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApprovalsGatewayStack, checkSizing } from '../../../cdk/approvals-stack.ts';
import { LAMBDA_SERVICE_ERRORS, retryBudgetSeconds } from '../../../cdk/constructs/approval-state-machine.ts';
import { ACCESS_LOG_FIELDS } from '../../../cdk/constructs/gateway-api.ts';
import {
  auditTableDefinition,
  requestsTableDefinition,
} from '../../../functions/adapters/dynamodb/tables.ts';
import { describeIamChecks } from './iam-checks.ts';
import {
  type CfnResource,
  COMMERCIAL_REGION,
  cfnLint,
  functionResource,
  onlyResourceOfType,
  placeholder,
  property,
  readViolations,
  renderDefinition,
  resourcesOfType,
  type StateMachineDefinition,
  SYNTH_TIMEOUT_MS,
  type Synthesized,
  synthGateway,
  templatePath,
} from './synth.ts';

type TableDefinition = ReturnType<typeof requestsTableDefinition>;

function tableResource(synth: Synthesized, constructId: 'Requests' | 'Audit'): CfnResource {
  const child = synth.stack.tables.node.findChild(constructId).node.defaultChild;
  const logicalId = synth.stack.getLogicalId(child as never);
  const resource = synth.json.Resources[logicalId];
  if (!resource) throw new Error(`no resource ${logicalId}`);
  return resource;
}

/** The parts of a CreateTable input CloudFormation also has, in comparable form. */
function shape(definition: TableDefinition) {
  return {
    KeySchema: definition.KeySchema,
    AttributeDefinitions: [...(definition.AttributeDefinitions ?? [])].sort((a, b) =>
      String(a.AttributeName).localeCompare(String(b.AttributeName)),
    ),
    BillingMode: definition.BillingMode,
    GlobalSecondaryIndexes: definition.GlobalSecondaryIndexes,
    StreamSpecification: definition.StreamSpecification
      ? { StreamViewType: definition.StreamSpecification.StreamViewType }
      : undefined,
  };
}

function cfnShape(resource: CfnResource) {
  const p = resource.Properties ?? {};
  const attributes = (p.AttributeDefinitions as { AttributeName: string }[]).toSorted((a, b) =>
    a.AttributeName.localeCompare(b.AttributeName),
  );
  return {
    KeySchema: p.KeySchema,
    AttributeDefinitions: attributes,
    BillingMode: p.BillingMode,
    GlobalSecondaryIndexes: p.GlobalSecondaryIndexes,
    StreamSpecification: p.StreamSpecification,
  };
}

describe('Class: ApprovalsGatewayStack', () => {
  let synth: Synthesized;
  let definition: StateMachineDefinition;

  beforeAll(() => {
    synth = synthGateway({ region: COMMERCIAL_REGION });
    definition = renderDefinition(synth.json, placeholder);
  }, SYNTH_TIMEOUT_MS);

  describeIamChecks(() => synth);

  describe('tables', () => {
    it('declares the requests table exactly as requestsTableDefinition: keys, index, billing', () => {
      expect(cfnShape(tableResource(synth, 'Requests'))).toEqual(shape(requestsTableDefinition('x')));
    });

    it('declares the audit table exactly as auditTableDefinition: keys and the NEW_IMAGE stream', () => {
      expect(cfnShape(tableResource(synth, 'Audit'))).toEqual(shape(auditTableDefinition('x')));
    });

    it('keeps both tables recoverable and encrypted: PITR, customer-managed KMS key, deletion protection, retained', () => {
      for (const id of ['Requests', 'Audit'] as const) {
        const table = tableResource(synth, id);
        expect(table.Properties).toMatchObject({
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: expect.anything() },
          DeletionProtectionEnabled: true,
        });
        expect((table as { DeletionPolicy?: string }).DeletionPolicy).toBe('Retain');
      }
    });

    it('expires task token items by TTL on the requests table only', () => {
      expect(tableResource(synth, 'Requests').Properties?.TimeToLiveSpecification).toEqual({
        AttributeName: 'ttl',
        Enabled: true,
      });
      expect(tableResource(synth, 'Audit').Properties?.TimeToLiveSpecification).toBeUndefined();
    });
  });

  describe('audit archive', () => {
    it('locks every object in COMPLIANCE mode for 7 years by default, versioned, SSE-KMS, no public access', () => {
      synth.template.hasResourceProperties('AWS::S3::Bucket', {
        ObjectLockEnabled: true,
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 2555 } },
        },
        VersioningConfiguration: { Status: 'Enabled' },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            {
              ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: Match.anyValue() },
              BucketKeyEnabled: true,
            },
          ],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        LoggingConfiguration: { DestinationBucketName: Match.anyValue(), LogFilePrefix: 'audit-archive/' },
      });
    });

    it('refuses any request to any bucket without TLS', () => {
      const policies = resourcesOfType(synth.json, 'AWS::S3::BucketPolicy');
      // Every bucket (archive, its access logs, the log archive) has a policy.
      expect(policies.length).toBeGreaterThanOrEqual(3);
      expect(policies).toHaveLength(resourcesOfType(synth.json, 'AWS::S3::Bucket').length);
      for (const [, policy] of policies) {
        const statements = property<{ Statement: Record<string, unknown>[] }>(
          policy,
          'PolicyDocument',
        ).Statement;
        expect(statements).toContainEqual(
          expect.objectContaining({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        );
      }
    });

    it('takes the retention from auditRetentionDays, and refuses a retention that is not whole days', () => {
      const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
      const stack = new ApprovalsGatewayStack(app, 'Short', {
        env: { region: COMMERCIAL_REGION },
        auditRetentionDays: 30,
      });
      const bucket = stack.archive.bucket.node.defaultChild as unknown as {
        objectLockConfiguration: { rule: { defaultRetention: { days: number; mode: string } } };
      };
      expect(bucket.objectLockConfiguration.rule.defaultRetention).toEqual({ days: 30, mode: 'COMPLIANCE' });
      expect(
        () =>
          new ApprovalsGatewayStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Bad', {
            env: { region: COMMERCIAL_REGION },
            auditRetentionDays: 0.5,
          }),
      ).toThrow(/auditRetentionDays must be a whole number of days from 1 to 36500, got 0.5/);
    });
  });

  describe('functions', () => {
    it('runs three functions on nodejs22.x arm64 with active tracing and their own log groups', () => {
      for (const id of ['ApiFunction', 'WorkflowFunction', 'SweeperFunction'] as const) {
        const { resource } = functionResource(synth, id);
        expect(resource.Properties).toMatchObject({
          Runtime: 'nodejs22.x',
          Architectures: ['arm64'],
          Handler: 'index.handler',
          TracingConfig: { Mode: 'Active' },
          LoggingConfig: { LogGroup: { Ref: expect.stringMatching(new RegExp(`^${id}Logs`)) } },
        });
      }
    });

    it('tells each function its tables, and the api and sweeper the state machine, never the workflow function', () => {
      const [smLogicalId] = onlyResourceOfType(synth.json, 'AWS::StepFunctions::StateMachine');
      const env = (id: 'ApiFunction' | 'WorkflowFunction' | 'SweeperFunction') =>
        property<{ Variables: Record<string, unknown> }>(functionResource(synth, id).resource, 'Environment')
          .Variables;
      for (const id of ['ApiFunction', 'WorkflowFunction', 'SweeperFunction'] as const) {
        expect(env(id)).toMatchObject({
          REQUESTS_TABLE_NAME: { Ref: expect.stringMatching(/^TablesRequests/) },
          AUDIT_TABLE_NAME: { Ref: expect.stringMatching(/^TablesAudit/) },
        });
      }
      expect(env('ApiFunction').STATE_MACHINE_ARN).toEqual({ Ref: smLogicalId });
      expect(env('SweeperFunction').STATE_MACHINE_ARN).toEqual({ Ref: smLogicalId });
      // The state machine names the workflow function; the reverse would be a dependency cycle.
      expect(env('WorkflowFunction').STATE_MACHINE_ARN).toBeUndefined();
    });

    it('commercial regions keep the SDK default endpoints (no FIPS switch)', () => {
      for (const id of ['ApiFunction', 'WorkflowFunction', 'SweeperFunction'] as const) {
        const vars = property<{ Variables: object }>(
          functionResource(synth, id).resource,
          'Environment',
        ).Variables;
        expect(vars).not.toHaveProperty('AWS_USE_FIPS_ENDPOINT');
      }
    });

    it('reserves concurrency for the workflow function only, and caps long-polls on the api function at 10 s', () => {
      expect(
        functionResource(synth, 'WorkflowFunction').resource.Properties?.ReservedConcurrentExecutions,
      ).toBe(20);
      expect(functionResource(synth, 'ApiFunction').resource.Properties).not.toHaveProperty(
        'ReservedConcurrentExecutions',
      );
      const vars = property<{ Variables: Record<string, unknown> }>(
        functionResource(synth, 'ApiFunction').resource,
        'Environment',
      ).Variables;
      expect(vars.MAX_WAIT_SECONDS).toBe('10');
    });

    it('refuses a sizing where rate × wait exceeds the concurrency left to the api function', () => {
      expect(checkSizing({})).toEqual({ apiMaxWait: 10, workflowReserved: 20 });
      expect(() => checkSizing({ apiMaxWaitSeconds: 25 })).toThrow(
        /apiThrottleRateLimit 50\/s × apiMaxWaitSeconds 25 s = 1250 concurrent long-polls, more than the 980/,
      );
      expect(() => checkSizing({ lambdaConcurrencyQuota: 10 })).toThrow(
        /Lambda keeps at least 100 unreserved/,
      );
      expect(
        checkSizing({ lambdaConcurrencyQuota: 10, workflowReservedConcurrency: 0, apiThrottleRateLimit: 1 }),
      ).toEqual({
        apiMaxWait: 10,
        workflowReserved: 0,
      });
      expect(() => checkSizing({ apiMaxWaitSeconds: 26 })).toThrow(/from 1 to 25/);
    });

    it('runs the sweeper every 5 minutes from an EventBridge rule, without async retries', () => {
      const { logicalId } = functionResource(synth, 'SweeperFunction');
      synth.template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(5 minutes)',
        State: 'ENABLED',
        Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId, 'Arn'] } })],
      });
      synth.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: logicalId },
        MaximumRetryAttempts: 0,
      });
    });
  });

  describe('REST API', () => {
    it('is REGIONAL (GovCloud has no edge-optimized endpoints)', () => {
      synth.template.hasResourceProperties('AWS::ApiGateway::RestApi', {
        EndpointConfiguration: { Types: ['REGIONAL'] },
      });
    });

    it('requires AWS_IAM (SigV4) on every method', () => {
      const methods = resourcesOfType(synth.json, 'AWS::ApiGateway::Method');
      expect(methods.length).toBeGreaterThanOrEqual(2);
      for (const [, method] of methods) {
        expect(method.Properties?.AuthorizationType).toBe('AWS_IAM');
      }
    });

    it('logs access as one JSON object per line with the caller ARN and API Gateway errors, never a free-text field', () => {
      const [, stage] = onlyResourceOfType(synth.json, 'AWS::ApiGateway::Stage');
      const format = property<{ Format: string }>(stage, 'AccessLogSetting').Format;
      // Every variable as API Gateway would fill it with a quote-free placeholder: still valid JSON.
      const line = JSON.parse(
        format.replace(/\$context\.[A-Za-z.]+String/g, '"x"').replace(/\$context\.[A-Za-z.]+/g, 'x'),
      );
      expect(line).toMatchObject({
        callerArn: 'x',
        accountId: 'x',
        errorMessage: 'x',
        errorResponseType: 'x',
        status: 'x',
        requestId: 'x',
      });
      expect(format).toContain('"callerArn":"$context.identity.userArn"');
      expect(format).toContain('"errorMessage":$context.error.messageString');
      expect(format).toContain('"errorResponseType":"$context.error.responseType"');
      expect(format).not.toMatch(/userAgent|\$context\.path/);
      expect(Object.keys(line).sort()).toEqual(Object.keys(ACCESS_LOG_FIELDS).sort());
    });

    it('throttles the stage, traces, and never logs bodies', () => {
      synth.template.hasResourceProperties('AWS::ApiGateway::Stage', {
        StageName: 'prod',
        TracingEnabled: true,
        MethodSettings: [
          Match.objectLike({
            HttpMethod: '*',
            ResourcePath: '/*',
            ThrottlingRateLimit: 50,
            ThrottlingBurstLimit: 100,
            LoggingLevel: 'ERROR',
            DataTraceEnabled: false,
            MetricsEnabled: true,
          }),
        ],
      });
    });
  });

  describe('approval state machine', () => {
    it('is a standard workflow logging ALL events without execution data (task tokens stay out of logs), traced', () => {
      synth.template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        StateMachineType: 'STANDARD',
        LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false },
        TracingConfiguration: { Enabled: true },
      });
    });

    it('starts at Notify, which waits for a task token with its timeout from the input', () => {
      const { workflow } = functionLogicalIds(synth);
      expect(definition.StartAt).toBe('Notify');
      expect(definition.States.Notify).toMatchObject({
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
        TimeoutSecondsPath: '$.notify_timeout_seconds',
        ResultPath: '$.decision',
        Next: 'Finalize',
        Parameters: {
          FunctionName: `\${${workflow}.Arn}`,
          Payload: { stage: 'notify', 'request_id.$': '$.request_id', 'task_token.$': '$$.Task.Token' },
        },
      });
    });

    it('escalates on States.Timeout when the request escalates, else waits for the deadline', () => {
      expect(definition.States.Notify?.Catch?.[0]).toEqual({
        ErrorEquals: ['States.Timeout'],
        ResultPath: '$.failure',
        Next: 'EscalateIfConfigured',
      });
      expect(definition.States.EscalateIfConfigured).toEqual({
        Type: 'Choice',
        Choices: [{ Variable: '$.escalates', BooleanEquals: true, Next: 'Escalate' }],
        Default: 'WaitForDeadline',
      });
      expect(definition.States.Escalate).toMatchObject({
        Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
        TimeoutSecondsPath: '$.escalation_timeout_seconds',
        Parameters: { Payload: { stage: 'escalate', 'task_token.$': '$$.Task.Token' } },
        Next: 'Finalize',
      });
    });

    it('fails closed: any other Notify or Escalate failure waits for the deadline and expires', () => {
      for (const state of ['Notify', 'Escalate']) {
        expect(definition.States[state]?.Catch?.at(-1)).toEqual({
          ErrorEquals: ['States.ALL'],
          ResultPath: '$.failure',
          Next: 'WaitForDeadline',
        });
      }
      expect(definition.States.Escalate?.Catch?.[0]).toMatchObject({
        ErrorEquals: ['States.Timeout'],
        Next: 'WaitForDeadline',
      });
    });

    it('never expires early: a Wait on $.expires_at stands before Expire, which is the only way in', () => {
      expect(definition.States.WaitForDeadline).toMatchObject({
        Type: 'Wait',
        TimestampPath: '$.expires_at',
        Next: 'Expire',
      });
      const into = Object.entries(definition.States).filter(
        ([, s]) => s.Next === 'Expire' || s.Default === 'Expire' || s.Catch?.some((c) => c.Next === 'Expire'),
      );
      expect(into.map(([name]) => name)).toEqual(['WaitForDeadline']);
    });

    it('expires with a plain invoke carrying the failure, then finalizes; failures end in recorded Fail states', () => {
      expect(definition.States.Expire).toMatchObject({
        Resource: 'arn:aws:states:::lambda:invoke',
        Parameters: {
          Payload: { stage: 'expire', 'request_id.$': '$.request_id', 'failure.$': '$.failure' },
        },
        ResultSelector: { 'request_id.$': '$.Payload.request_id', 'status.$': '$.Payload.status' },
        Next: 'Finalize',
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.expire_failure', Next: 'ExpireFailed' }],
      });
      expect(definition.States.Finalize).toMatchObject({
        Resource: 'arn:aws:states:::lambda:invoke',
        Parameters: { Payload: { stage: 'finalize', 'decision.$': '$.decision' } },
        End: true,
        Catch: [{ ErrorEquals: ['States.ALL'], Next: 'FinalizeFailed' }],
      });
      expect(definition.States.ExpireFailed).toMatchObject({ Type: 'Fail', Error: 'ExpireFailed' });
      expect(definition.States.FinalizeFailed).toMatchObject({ Type: 'Fail', Error: 'FinalizeFailed' });
    });

    it('retries Lambda service errors and transient store errors on every task with full jitter, capped waits and a half-hour budget', () => {
      const tasks = Object.entries(definition.States).filter(([, s]) => s.Type === 'Task');
      expect(tasks.map(([name]) => name).sort()).toEqual(['Escalate', 'Expire', 'Finalize', 'Notify']);
      expect(LAMBDA_SERVICE_ERRORS).toContain('Lambda.TooManyRequestsException');
      expect(LAMBDA_SERVICE_ERRORS).toContain('Lambda.ClientExecutionTimeoutException');
      const policy = {
        IntervalSeconds: 2,
        MaxAttempts: 20,
        BackoffRate: 2,
        MaxDelaySeconds: 120,
        JitterStrategy: 'FULL',
      };
      for (const [name, task] of tasks) {
        expect(task.Retry?.[0], name).toEqual({ ErrorEquals: [...LAMBDA_SERVICE_ERRORS], ...policy });
        expect(task.Retry?.[1], name).toEqual({
          ErrorEquals: ['StoreUnavailableError', 'ContentionError'],
          ...policy,
        });
        const notDue = task.Retry?.some((r) => r.ErrorEquals.includes('NotDueError'));
        expect(notDue, name).toBe(name === 'Escalate' || name === 'Expire');
      }
    });

    it('outlasts a regional throttling episode: up to half an hour of waits, where the old policy gave two minutes', () => {
      expect(retryBudgetSeconds()).toBe(2 + 4 + 8 + 16 + 32 + 64 + 14 * 120);
      expect(retryBudgetSeconds()).toBeGreaterThan(25 * 60);
      expect(() => retryBudgetSeconds({ maxAttempts: 100 })).toThrow(
        /maxAttempts must be a whole number 0–99/,
      );
    });

    it('logs to a vended-log group named per stack instance, so a retained group never blocks a redeploy', () => {
      const [, group] = resourcesOfType(synth.json, 'AWS::Logs::LogGroup').find(([id]) =>
        id.startsWith('ApprovalsLogs'),
      ) ?? ['', { Type: '' }];
      const name = JSON.stringify(group.Properties?.LogGroupName);
      expect(name).toContain('/aws/vendedlogs/states/');
      expect(name).toContain('AWS::StackId');
      expect(group.Properties?.RetentionInDays).toBe(365);
    });

    it('has no state that can end the execution without passing through Finalize or a Fail state', () => {
      const ends = Object.entries(definition.States).filter(([, s]) => s.End === true || s.Type === 'Fail');
      expect(ends.map(([name]) => name).sort()).toEqual(['ExpireFailed', 'Finalize', 'FinalizeFailed']);
      for (const [name, state] of Object.entries(definition.States)) {
        if (state.Type !== 'Task') continue;
        expect(
          state.Catch?.some((c) => c.ErrorEquals.includes('States.ALL')),
          `${name} catches all`,
        ).toBe(true);
      }
    });
  });

  describe('operations', () => {
    const alarms = () => resourcesOfType(synth.json, 'AWS::CloudWatch::Alarm');
    const topicRef = () => ({ Ref: onlyResourceOfType(synth.json, 'AWS::SNS::Topic')[0] });

    it('sends every alarm to one KMS-encrypted topic, on ALARM and back to OK', () => {
      const [, topic] = onlyResourceOfType(synth.json, 'AWS::SNS::Topic');
      expect(topic.Properties?.KmsMasterKeyId).toEqual({
        'Fn::GetAtt': [expect.stringMatching(/^OperationsTopicKey/), 'Arn'],
      });
      expect(alarms().length).toBeGreaterThanOrEqual(14);
      for (const [id, alarm] of alarms()) {
        expect(alarm.Properties?.AlarmActions, id).toEqual([topicRef()]);
        expect(alarm.Properties?.OKActions, id).toEqual([topicRef()]);
      }
    });

    it('lets CloudWatch use the topic key of this account only', () => {
      const keys = resourcesOfType(synth.json, 'AWS::KMS::Key').filter(([id]) =>
        id.startsWith('OperationsTopicKey'),
      );
      expect(keys).toHaveLength(1);
      const policy = keys[0]?.[1].Properties?.KeyPolicy as
        | { Statement: Record<string, unknown>[] }
        | undefined;
      const statements = policy?.Statement ?? [];
      expect(statements.find((st) => st.Sid === 'CloudWatchAlarmsPublish')).toMatchObject({
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      });
    });

    it('alarms on failed and timed-out executions, function errors and throttles, API 5XX and latency, table throttles, fail-closed lines and repairs', () => {
      const byMetric = alarms().map(([, a]) => {
        const p = a.Properties ?? {};
        const metrics =
          (p.Metrics as { MetricStat?: { Metric: { MetricName: string } } }[] | undefined) ?? [];
        return [
          String(
            p.MetricName ??
              metrics
                .flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric.MetricName] : []))
                .sort()
                .join('+'),
          ),
          String(p.Namespace ?? 'math'),
        ];
      });
      const count = (name: string, namespace: string) =>
        byMetric.filter(([m, n]) => m === name && n === namespace).length;
      expect(count('ExecutionsFailed', 'AWS/States')).toBe(1);
      expect(count('ExecutionsTimedOut', 'AWS/States')).toBe(1);
      // api, workflow, sweeper; and the audit archiver's own (AuditArchive.alarms), routed here too.
      expect(count('Errors', 'AWS/Lambda')).toBe(4);
      expect(count('Throttles', 'AWS/Lambda')).toBe(3);
      expect(count('5XXError', 'AWS/ApiGateway')).toBe(1);
      expect(count('Latency', 'AWS/ApiGateway')).toBe(1);
      expect(count('ReadThrottleEvents+WriteThrottleEvents', 'math')).toBe(2);
      expect(count('FailClosed', 'ActionLevelApprovals')).toBe(1);
      expect(count('SweeperRepairs', 'ActionLevelApprovals')).toBe(1);
      synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'Latency',
        ExtendedStatistic: 'p99',
        Threshold: 15_000,
      });
    });

    it('counts fail-closed and repair log lines of the workflow and sweeper functions with metric filters', () => {
      const filters = resourcesOfType(synth.json, 'AWS::Logs::MetricFilter').map(
        ([, f]) => f.Properties ?? {},
      );
      const patterns = filters.map((f) => `${f.FilterPattern} → ${JSON.stringify(f.MetricTransformations)}`);
      expect(filters.filter((f) => f.FilterPattern === '{ $.failClosed IS TRUE }')).toHaveLength(2);
      expect(filters.filter((f) => f.FilterPattern === '{ $.repaired IS TRUE }')).toHaveLength(2);
      expect(patterns.join('\n')).toContain('"MetricName":"FailClosed"');
      const groups = filters.map((f) => JSON.stringify(f.LogGroupName));
      expect(groups.filter((g) => g.includes('WorkflowFunctionLogs'))).toHaveLength(2);
      expect(groups.filter((g) => g.includes('SweeperFunctionLogs'))).toHaveLength(2);
    });

    it('draws one dashboard of the same metrics', () => {
      const [, dashboard] = onlyResourceOfType(synth.json, 'AWS::CloudWatch::Dashboard');
      const body = JSON.stringify(dashboard.Properties?.DashboardBody);
      for (const metric of [
        'ExecutionsFailed',
        'Throttles',
        '5XXError',
        'ReadThrottleEvents',
        'FailClosed',
      ]) {
        expect(body).toContain(metric);
      }
    });
  });

  describe('log retention (OMB M-21-31: 12 months hot, 18 months cold)', () => {
    it('keeps every log group searchable for 12 months', () => {
      const groups = resourcesOfType(synth.json, 'AWS::Logs::LogGroup');
      expect(groups.length).toBeGreaterThanOrEqual(6);
      for (const [id, group] of groups) expect(group.Properties?.RetentionInDays, id).toBe(365);
    });

    it('streams every line of the function, state-machine and access logs to a bucket that keeps it cold for 18 more months', () => {
      const filters = resourcesOfType(synth.json, 'AWS::Logs::SubscriptionFilter').map(
        ([, f]) => f.Properties ?? {},
      );
      const groups = filters.map((f) => JSON.stringify(f.LogGroupName)).join(' ');
      for (const group of [
        'ApiFunctionLogs',
        'WorkflowFunctionLogs',
        'SweeperFunctionLogs',
        'ApprovalsLogs',
        'ApiAccessLogs',
      ]) {
        expect(groups).toContain(group);
      }
      for (const filter of filters) {
        expect(filter.FilterPattern).toBe('');
        expect(JSON.stringify(filter.DestinationArn)).toContain('LogArchiveStream');
      }
      const [, bucket] =
        resourcesOfType(synth.json, 'AWS::S3::Bucket').find(([id]) => id.startsWith('LogArchiveBucket')) ??
        [];
      expect(bucket?.Properties?.LifecycleConfiguration).toEqual({
        Rules: [
          expect.objectContaining({
            ExpirationInDays: 365 + 548,
            Transitions: [{ StorageClass: 'GLACIER', TransitionInDays: 1 }],
          }),
        ],
      });
      expect(JSON.stringify(bucket?.Properties?.BucketEncryption)).toContain('aws:kms');
    });

    it('takes the cold period from coldLogRetentionDays, and 0 turns the archive off', () => {
      const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
      const off = new ApprovalsGatewayStack(app, 'NoLogArchive', {
        env: { region: COMMERCIAL_REGION },
        coldLogRetentionDays: 0,
      });
      expect(off.logArchive).toBeUndefined();
      expect(
        () =>
          new ApprovalsGatewayStack(app, 'BadLogArchive', {
            env: { region: COMMERCIAL_REGION },
            coldLogRetentionDays: 1.5,
          }),
      ).toThrow(/cold days must be a whole number ≥ 1, got 1.5/);
    });
  });

  it('lets CloudWatch Logs use the data key only for log groups of this stack', () => {
    const [, key] =
      resourcesOfType(synth.json, 'AWS::KMS::Key').find(([id]) => id.startsWith('DataKey')) ?? [];
    const policy = key?.Properties?.KeyPolicy as { Statement: Record<string, unknown>[] } | undefined;
    const statements = policy?.Statement ?? [];
    const logsStatement = statements.find((st) => st.Sid === 'CloudWatchLogsOfThisStack');
    const arns = JSON.stringify(logsStatement?.Condition);
    expect(arns).toContain('kms:EncryptionContext:aws:logs:arn');
    expect(arns).toContain('AWS::StackName');
    expect(arns).not.toMatch(/log-group:\*/);
    expect(statements.some((st) => JSON.stringify(st.Condition ?? {}).includes('log-group:*"'))).toBe(false);
  });

  it('passes cdk-nag AwsSolutions and NIST 800-53 R5 with no unacknowledged finding', () => {
    expect(readViolations(synth.outdir)).toEqual([]);
  });

  it('passes cfn-lint for us-east-1', async () => {
    expect(await cfnLint(synth, COMMERCIAL_REGION)).toEqual([]);
  });

  it('writes no literal partition into any ARN: every ARN uses AWS::Partition', () => {
    const text = readFileSync(templatePath(synth), 'utf8');
    expect(text).not.toMatch(/arn:aws:/);
    expect(text).toContain('"Ref": "AWS::Partition"');
  });

  it('outputs the API URL, state machine, tables, archive bucket, its failure queue and the alarm topic', () => {
    expect(Object.keys(synth.json.Outputs ?? {}).sort()).toEqual([
      'AlarmTopicArn',
      'ApiUrl',
      'AuditArchiveBucketName',
      'AuditArchiveFailureQueueUrl',
      'AuditTableName',
      'RequestsTableName',
      'StateMachineArn',
    ]);
  });

  it('refuses a stack whose region is unknown at synth time unless FIPS is decided explicitly', () => {
    expect(() => new ApprovalsGatewayStack(new App(), 'Agnostic')).toThrow(/needs a concrete region/);
  });
});

function functionLogicalIds(synth: Synthesized): { workflow: string } {
  return { workflow: functionResource(synth, 'WorkflowFunction').logicalId };
}
