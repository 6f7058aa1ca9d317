import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

/** The JSON field every fail-closed log line carries (`failClosed: true`); the metric filter matches it. */
export const FAIL_CLOSED_FIELD = 'failClosed';
/** The JSON field a sweeper repair's log line carries (`repaired: true`). */
export const REPAIRED_FIELD = 'repaired';
/** Namespace of the metrics the stack's metric filters publish. */
export const METRIC_NAMESPACE = 'ActionLevelApprovals';

export interface OperationsFunction {
  /** Short name used in alarm and widget titles, e.g. `api`. */
  readonly name: string;
  readonly function: lambda.IFunction;
  readonly logGroup: logs.ILogGroup;
  /** Errors in 5 minutes that raise the alarm. @default 1 */
  readonly errorThreshold?: number;
}

export interface OperationsProps {
  readonly functions: readonly OperationsFunction[];
  readonly stateMachine: sfn.IStateMachine;
  readonly api: apigw.RestApi;
  readonly tables: readonly dynamodb.ITable[];
  /** API p99 latency that raises the alarm; long-polls are held up to the deployment's maximum wait. */
  readonly apiLatencyThreshold: Duration;
  /** Log groups of the functions whose lines may carry `failClosed` / `repaired`. */
  readonly failClosedLogGroups: readonly logs.ILogGroup[];
  /** E-mail addresses subscribed to the alarm topic. @default - none: subscribe yourself */
  readonly alarmEmails?: readonly string[];
}

/**
 * How the gateway is watched: an encrypted SNS topic every alarm notifies (on ALARM and OK),
 * alarms on what fails under stress — executions failed or timed out, function errors and
 * throttles, API 5XX and latency, DynamoDB throttles, fail-closed log lines, sweeper repairs — and
 * one CloudWatch dashboard of the same metrics (plain metrics widgets, which GovCloud supports).
 * Other constructs route their alarms here with `addAlarm`.
 */
export class Operations extends Construct {
  readonly topic: sns.Topic;
  readonly topicKey: kms.Key;
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly #action: actions.SnsAction;

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    // A key of its own: CloudWatch must be allowed to use it to publish, and nothing else needs that.
    this.topicKey = new kms.Key(this, 'TopicKey', {
      description: 'Action-Level Approvals: alarm topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );
    this.topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Action-Level Approvals alarms',
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    for (const [i, email] of (props.alarmEmails ?? []).entries()) {
      new sns.Subscription(this, `Email${i}`, {
        topic: this.topic,
        protocol: sns.SubscriptionProtocol.EMAIL,
        endpoint: email,
      });
    }
    this.#action = new actions.SnsAction(this.topic);
    const fiveMinutes = Duration.minutes(5);
    const widgets: cloudwatch.IWidget[] = [];

    const failed = props.stateMachine.metricFailed({ period: fiveMinutes, statistic: 'Sum' });
    const timedOut = props.stateMachine.metricTimedOut({ period: fiveMinutes, statistic: 'Sum' });
    const throttledExecutions = props.stateMachine.metricThrottled({ period: fiveMinutes, statistic: 'Sum' });
    this.#alarm('ExecutionsFailed', failed, 1, 'An approval execution failed (ExpireFailed/FinalizeFailed)');
    this.#alarm('ExecutionsTimedOut', timedOut, 1, 'An approval execution timed out');
    widgets.push(
      graph('Approval executions', [
        props.stateMachine.metricStarted({ period: fiveMinutes, statistic: 'Sum' }),
        props.stateMachine.metricSucceeded({ period: fiveMinutes, statistic: 'Sum' }),
        failed,
        timedOut,
        throttledExecutions,
      ]),
    );

    for (const fn of props.functions) {
      const errors = fn.function.metricErrors({ period: fiveMinutes, statistic: 'Sum' });
      const throttles = fn.function.metricThrottles({ period: fiveMinutes, statistic: 'Sum' });
      this.#alarm(
        `${title(fn.name)}Errors`,
        errors,
        fn.errorThreshold ?? 1,
        `The ${fn.name} function failed`,
      );
      this.#alarm(`${title(fn.name)}Throttles`, throttles, 1, `The ${fn.name} function was throttled`);
      widgets.push(
        graph(`${fn.name} function`, [
          fn.function.metricInvocations({ period: fiveMinutes, statistic: 'Sum' }),
          errors,
          throttles,
        ]),
        graph(`${fn.name} duration and concurrency`, [
          fn.function.metricDuration({ period: fiveMinutes, statistic: 'p99' }),
          fn.function.metric('ConcurrentExecutions', { period: fiveMinutes, statistic: 'Maximum' }),
        ]),
      );
    }

    const serverErrors = props.api.metricServerError({ period: fiveMinutes, statistic: 'Sum' });
    const latency = props.api.metricLatency({ period: fiveMinutes, statistic: 'p99' });
    this.#alarm('Api5XX', serverErrors, 1, 'The API answered 5XX');
    this.#alarm(
      'ApiLatency',
      latency,
      props.apiLatencyThreshold.toMilliseconds(),
      `The API's p99 latency exceeded ${props.apiLatencyThreshold.toSeconds()} s`,
      3,
    );
    widgets.push(
      graph('API', [
        props.api.metricCount({ period: fiveMinutes, statistic: 'Sum' }),
        props.api.metricClientError({ period: fiveMinutes, statistic: 'Sum' }),
        serverErrors,
      ]),
      graph('API latency', [
        latency,
        props.api.metricIntegrationLatency({ period: fiveMinutes, statistic: 'p99' }),
      ]),
    );

    for (const table of props.tables) {
      const name = table.node.id;
      const throttled = new cloudwatch.MathExpression({
        expression: 'r + w',
        usingMetrics: {
          r: table.metric('ReadThrottleEvents', { period: fiveMinutes, statistic: 'Sum' }),
          w: table.metric('WriteThrottleEvents', { period: fiveMinutes, statistic: 'Sum' }),
        },
        label: `${name} throttle events`,
        period: fiveMinutes,
      });
      this.#alarm(`${title(name)}TableThrottles`, throttled, 1, `DynamoDB throttled the ${name} table`);
      widgets.push(
        graph(`${name} table`, [
          table.metricConsumedReadCapacityUnits({ period: fiveMinutes, statistic: 'Sum' }),
          table.metricConsumedWriteCapacityUnits({ period: fiveMinutes, statistic: 'Sum' }),
          throttled,
        ]),
      );
    }

    const failClosed = this.#logMetric('FailClosed', FAIL_CLOSED_FIELD, props.failClosedLogGroups);
    const repaired = this.#logMetric('SweeperRepairs', REPAIRED_FIELD, props.failClosedLogGroups);
    this.#alarm(
      'FailClosed',
      failClosed,
      1,
      'A request failed closed (an approval stage failed; approvers told by the sweeper or the request expires)',
    );
    this.#alarm(
      'SweeperRepairs',
      repaired,
      1,
      'The sweeper repaired an execution a decision had not reached',
    );
    widgets.push(graph('Fail-closed lines and sweeper repairs', [failClosed, repaired]));

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
      widgets: chunk(widgets, 2),
    });
  }

  /** Routes an alarm (of this construct or another) to the alarm topic, on ALARM and back to OK. */
  addAlarm(alarm: cloudwatch.Alarm): void {
    alarm.addAlarmAction(this.#action);
    alarm.addOkAction(this.#action);
    this.alarms.push(alarm);
  }

  #alarm(
    id: string,
    metric: cloudwatch.IMetric,
    threshold: number,
    description: string,
    evaluationPeriods = 1,
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, `${id}Alarm`, {
      metric,
      threshold,
      evaluationPeriods,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    this.addAlarm(alarm);
    return alarm;
  }

  /** Counts log lines whose JSON has `field: true` in any of the groups, as one metric. */
  #logMetric(name: string, field: string, groups: readonly logs.ILogGroup[]): cloudwatch.IMetric {
    groups.forEach((group, i) => {
      new logs.MetricFilter(this, `${name}Filter${i}`, {
        logGroup: group,
        filterPattern: logs.FilterPattern.booleanValue(`$.${field}`, true),
        metricNamespace: METRIC_NAMESPACE,
        metricName: name,
        metricValue: '1',
        defaultValue: 0,
      });
    });
    return new cloudwatch.Metric({
      namespace: METRIC_NAMESPACE,
      metricName: name,
      period: Duration.minutes(5),
      statistic: 'Sum',
    });
  }
}

function title(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function graph(name: string, metrics: cloudwatch.IMetric[]): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({ title: name, left: metrics, width: 12, height: 6 });
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const rows: T[][] = [];
  for (let i = 0; i < items.length; i += size) rows.push(items.slice(i, i + size));
  return rows;
}
