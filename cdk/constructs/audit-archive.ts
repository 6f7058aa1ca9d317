import { Aws, type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CHECKPOINTS_PREFIX, EVENTS_PREFIX } from '../../functions/core/audit-archive.ts';
import { ENV } from '../../functions/handlers/env.ts';
import { GatewayFunction } from './gateway-function.ts';

export interface AuditArchiveProps {
  /** The audit table; its stream (NEW_IMAGE) feeds the archiver. */
  readonly auditTable: dynamodb.ITable;
  /** The key of the tables and log groups: decrypts the stream, encrypts the archiver's log group and queue. */
  readonly dataKey: kms.IKey;
  /**
   * The one role that may schedule deletion of or disable the archive key, delete objects (delete
   * markers), change the bucket's Object Lock or lifecycle configuration, or write objects besides
   * the archiver. Without it, nobody can.
   */
  readonly breakGlassRoleArn?: string;
  /** Roles that may read (decrypt) the archive; when given, no one else may decrypt with its key. */
  readonly readerRoleArns?: readonly string[];
  readonly logRetention: logs.RetentionDays;
  readonly fipsEndpoints: boolean;
  readonly bundleAwsSdk: boolean;
  /** Days every archived object version is locked in COMPLIANCE mode; no one, root included, can shorten it. */
  readonly retentionDays: number;
  /** Days server access logs of the archive are kept. */
  readonly accessLogRetentionDays: number;
}

/** The archive's alarms; the stack routes them to its alarm topic (`Operations.addAlarm`). */
export interface AuditArchiveAlarms {
  /** The oldest unarchived stream record is older than 10 minutes: the archiver falls behind or is stuck. */
  readonly iteratorAge: cloudwatch.Alarm;
  /** The archiver function failed (threw, timed out, ran out of memory). */
  readonly errors: cloudwatch.Alarm;
  /** The archiver could not write an archive object (it reported a partial batch failure). */
  readonly writeFailures: cloudwatch.Alarm;
  /** A batch was given up after its retries: its stream position is in the on-failure queue. */
  readonly failureQueueDepth: cloudwatch.Alarm;
}

/** The positions of given-up batches are kept this long; the stream itself keeps records 24 hours. */
const FAILURE_QUEUE_RETENTION = Duration.days(14);

/**
 * The immutable archive of the audit chains (docs/audit-archive.md): an S3 bucket with Object
 * Lock in COMPLIANCE mode as the default retention, versioned, encrypted with a key of its own,
 * no public access, TLS only; and the archiver Lambda that fills it from the audit table's stream,
 * with its on-failure queue and alarms.
 */
export class AuditArchive extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogs: s3.Bucket;
  /** The archive's own key: only the break-glass role may schedule its deletion or disable it. */
  readonly key: kms.Key;
  readonly archiver: GatewayFunction;
  readonly streamMapping: lambda.EventSourceMapping;
  /** Positions of stream batches the archiver gave up on (Lambda's on-failure destination). */
  readonly failureQueue: sqs.Queue;
  readonly alarms: AuditArchiveAlarms;
  readonly #breakGlass: string | undefined;

  constructor(scope: Construct, id: string, props: AuditArchiveProps) {
    super(scope, id);
    for (const [name, arn] of [
      ['breakGlassRoleArn', props.breakGlassRoleArn],
      ...(props.readerRoleArns ?? []).map((r) => ['readerRoleArns', r] as const),
    ] as const) {
      if (arn !== undefined && !/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(arn)) {
        throw new Error(
          `${name} holds "${arn}", which is not an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)`,
        );
      }
    }
    this.#breakGlass = props.breakGlassRoleArn;
    this.key = this.#archiveKey(props);
    if (!Number.isInteger(props.retentionDays) || props.retentionDays < 1 || props.retentionDays > 36_500) {
      throw new Error(
        `auditRetentionDays must be a whole number of days from 1 to 36500, got ${props.retentionDays}; 2555 is 7 years`,
      );
    }
    // Object Lock buckets cannot receive server access logs, and log delivery needs SSE-S3, so the
    // logs go to a bucket of their own.
    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          id: 'expire-access-logs',
          expiration: Duration.days(props.accessLogRetentionDays),
          noncurrentVersionExpiration: Duration.days(1),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.accessLogs).acknowledge(
      {
        id: 'NIST.800.53.R5-S3DefaultEncryptionKMS',
        reason: 'S3 server access log delivery only writes to buckets encrypted with SSE-S3, not SSE-KMS.',
      },
      {
        id: 'NIST.800.53.R5-S3BucketReplicationEnabled',
        reason:
          'Access logs are operational telemetry kept for a limited time; the audit evidence itself is the Object Lock archive.',
      },
    );

    this.bucket = new s3.Bucket(this, 'Bucket', {
      objectLockEnabled: true,
      objectLockDefaultRetention: s3.ObjectLockRetention.compliance(Duration.days(props.retentionDays)),
      versioned: true,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'audit-archive/',
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'NIST.800.53.R5-S3BucketReplicationEnabled',
      reason:
        'Object Lock COMPLIANCE already makes every version undeletable for the retention period; cross-region replication needs a second, deployer-chosen region and bucket, which this stack cannot pick (add a replication rule in an extension stack if your authorization requires it).',
    });

    this.#protectBucket(this.#breakGlass);
    this.archiver = new GatewayFunction(this, 'Archiver', {
      entry: 'audit-archiver.ts',
      description: 'Action-Level Approvals: audit archiver (audit table stream to the Object Lock bucket)',
      memorySize: 1024,
      timeout: Duration.minutes(2),
      logKey: props.dataKey,
      logRetention: props.logRetention,
      fipsEndpoints: props.fipsEndpoints,
      bundleAwsSdk: props.bundleAwsSdk,
    });
    this.archiver.withoutReservedConcurrency(
      'Invoked only by its stream mapping: one batch at a time per stream shard (parallelization factor 1), so the shards bound its concurrency; a reservation would only take capacity from the other functions.',
    );
    const fn = this.archiver.function;
    fn.addEnvironment(ENV.archiveBucket, this.bucket.bucketName);
    fn.addEnvironment(ENV.auditTable, props.auditTable.tableName);
    this.#allowOnlyArchiverWrites();

    this.failureQueue = new sqs.Queue(this, 'FailureQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.dataKey,
      enforceSSL: true,
      retentionPeriod: FAILURE_QUEUE_RETENTION,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const streamArn = props.auditTable.tableStreamArn;
    if (streamArn === undefined)
      throw new Error('the audit table has no stream; the archiver reads its NEW_IMAGE stream');
    const region = Stack.of(this).region;
    this.archiver.allow(
      new iam.PolicyStatement({
        sid: 'ReadAuditStream',
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        resources: [streamArn],
      }),
      new iam.PolicyStatement({
        sid: 'ListAuditStreams',
        actions: ['dynamodb:ListStreams'],
        resources: [`${props.auditTable.tableArn}/stream/*`],
      }),
      new iam.PolicyStatement({
        sid: 'StreamKeyThroughDynamoDb',
        actions: ['kms:Decrypt', 'kms:DescribeKey'],
        resources: [props.dataKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${region}.${Aws.URL_SUFFIX}` } },
      }),
      new iam.PolicyStatement({
        sid: 'PutArchiveObjects',
        // PutObject only: no read, no delete, no retention or legal-hold change, no bypass.
        actions: ['s3:PutObject'],
        resources: [
          this.bucket.arnForObjects(`${EVENTS_PREFIX}*`),
          this.bucket.arnForObjects(`${CHECKPOINTS_PREFIX}*`),
        ],
      }),
      new iam.PolicyStatement({
        sid: 'ArchiveKeyThroughS3',
        actions: ['kms:GenerateDataKey'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${region}.${Aws.URL_SUFFIX}` } },
      }),
      new iam.PolicyStatement({
        sid: 'SendGivenUpBatches',
        actions: ['sqs:SendMessage'],
        resources: [this.failureQueue.queueArn],
      }),
      new iam.PolicyStatement({
        sid: 'QueueKeyThroughSqs',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [props.dataKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `sqs.${region}.${Aws.URL_SUFFIX}` } },
      }),
    );
    this.streamMapping = new lambda.EventSourceMapping(this, 'StreamMapping', {
      target: fn,
      eventSourceArn: streamArn,
      // From the oldest record the stream still holds: nothing written before the archiver existed is skipped.
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: 1000,
      maxBatchingWindow: Duration.seconds(5),
      reportBatchItemFailures: true,
      bisectBatchOnError: true,
      retryAttempts: 20,
      // Given up well within the stream's 24-hour retention, so the queued position can still be replayed.
      maxRecordAge: Duration.hours(6),
      parallelizationFactor: 1,
      onFailure: new SqsDlq(this.failureQueue),
    });
    // Lambda checks the role's stream permissions when it creates the mapping.
    this.streamMapping.node.addDependency(this.archiver.policy);
    this.alarms = this.#alarms();

    const logicalId = (construct: Construct): string =>
      Stack.of(this).getLogicalId(construct.node.defaultChild as CfnElement);
    const bucketArn = `<${logicalId(this.bucket)}.Arn>`;
    Validations.of(this.archiver.policy).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::<${logicalId(props.auditTable)}.Arn>/stream/*]`,
        reason:
          'dynamodb:ListStreams is granted on the streams of the audit table only (the form AWS documents for Lambda stream readers); the stream label in the ARN changes whenever the stream is re-created.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::${bucketArn}/${EVENTS_PREFIX}*]`,
        reason:
          'The archiver writes new objects whose keys derive from stream positions, so it needs s3:PutObject on the events/ prefix; PutObject cannot overwrite (If-None-Match, and the bucket policy denies every other writer) nor shorten the COMPLIANCE retention.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::${bucketArn}/${CHECKPOINTS_PREFIX}*]`,
        reason:
          'Checkpoint keys derive from the stream positions of the objects they vouch for, so the archiver needs s3:PutObject on the checkpoints/ prefix; nothing else is granted there.',
      },
    );
    Validations.of(fn).acknowledge({
      id: 'NIST.800.53.R5-LambdaDLQ',
      reason:
        "Invoked by a DynamoDB stream event source mapping, never asynchronously: a function dead-letter queue would never receive anything. Given-up batches go to the mapping's on-failure destination (the FailureQueue), which is alarmed.",
    });
    Validations.of(this.failureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the on-failure destination of the stream mapping: it holds stream positions of given-up batches for an operator to replay, and its depth is alarmed. A dead-letter queue behind it would have no consumer to fail.',
    });
  }

  /** The archive's own key: deletion and disabling only by the break-glass role; decrypt only by readers. */
  #archiveKey(props: AuditArchiveProps): kms.Key {
    const key = new kms.Key(this, 'Key', {
      description: 'Action-Level Approvals: audit archive (Object Lock bucket) only',
      enableKeyRotation: true,
      pendingWindow: Duration.days(30),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const breakGlass = props.breakGlassRoleArn;
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlyBreakGlassMayDeleteOrDisable',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:ScheduleKeyDeletion', 'kms:DisableKey'],
        resources: ['*'],
        ...(breakGlass ? { conditions: { ArnNotEquals: { 'aws:PrincipalArn': breakGlass } } } : {}),
      }),
    );
    const readers = [...(props.readerRoleArns ?? [])];
    if (readers.length > 0) {
      key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'ReadersDecryptThroughS3',
          principals: readers.map((arn) => new iam.ArnPrincipal(arn)),
          actions: ['kms:Decrypt', 'kms:DescribeKey'],
          resources: ['*'],
          conditions: {
            StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.${Aws.URL_SUFFIX}` },
          },
        }),
      );
      key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'OnlyReadersMayDecrypt',
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['kms:Decrypt'],
          resources: ['*'],
          conditions: {
            ArnNotEquals: { 'aws:PrincipalArn': breakGlass ? [...readers, breakGlass] : readers },
          },
        }),
      );
    }
    return key;
  }

  /** What Object Lock alone does not stop: delete markers, a shorter default retention, lifecycle expiry. */
  #protectBucket(breakGlass: string | undefined): void {
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlyBreakGlassMayDeleteOrLoosen',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: [
          's3:DeleteObject',
          's3:DeleteObjectVersion',
          's3:PutObjectRetention',
          's3:PutObjectLegalHold',
          's3:BypassGovernanceRetention',
          's3:PutBucketObjectLockConfiguration',
          's3:PutLifecycleConfiguration',
          's3:PutBucketVersioning',
        ],
        resources: [this.bucket.bucketArn, this.bucket.arnForObjects('*')],
        ...(breakGlass ? { conditions: { ArnNotEquals: { 'aws:PrincipalArn': breakGlass } } } : {}),
      }),
    );
  }

  /** Only the archiver (and the break-glass role) may add objects: nothing else can shadow a key with a newer version. */
  #allowOnlyArchiverWrites(): void {
    const writers = [this.archiver.role.roleArn, ...(this.#breakGlass ? [this.#breakGlass] : [])];
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlyTheArchiverWrites',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects('*')],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': writers } },
      }),
    );
  }

  #alarms(): AuditArchiveAlarms {
    const fn = this.archiver.function;
    const writeFailures = new logs.MetricFilter(this, 'WriteFailureFilter', {
      logGroup: this.archiver.logGroup,
      // The handler logs this line (Powertools JSON) for every partial batch failure.
      filterPattern: logs.FilterPattern.stringValue(
        '$.message',
        '=',
        'could not write an archive object; the stream redelivers from it',
      ),
      metricNamespace: 'ActionLevelApprovals/AuditArchive',
      metricName: 'ArchiveWriteFailures',
      metricValue: '1',
      defaultValue: 0,
    });
    const common = {
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    };
    return {
      iteratorAge: new cloudwatch.Alarm(this, 'IteratorAgeAlarm', {
        ...common,
        alarmDescription:
          'Audit archiver: the oldest unarchived audit stream record is over 10 minutes old (records leave the stream after 24 hours)',
        metric: fn.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(5) }),
        threshold: 10 * 60 * 1000,
        evaluationPeriods: 1,
      }),
      errors: new cloudwatch.Alarm(this, 'ErrorsAlarm', {
        ...common,
        alarmDescription: 'Audit archiver: the function failed (error, timeout or out of memory)',
        metric: fn.metricErrors({ statistic: 'Sum', period: Duration.minutes(5) }),
        threshold: 1,
        evaluationPeriods: 1,
      }),
      writeFailures: new cloudwatch.Alarm(this, 'WriteFailuresAlarm', {
        ...common,
        alarmDescription:
          'Audit archiver: an archive object could not be written to the Object Lock bucket (the batch is retried)',
        metric: writeFailures.metric({ statistic: 'Sum', period: Duration.minutes(5) }),
        threshold: 1,
        evaluationPeriods: 1,
      }),
      failureQueueDepth: new cloudwatch.Alarm(this, 'FailureQueueAlarm', {
        ...common,
        alarmDescription:
          'Audit archiver: a stream batch was given up and its position queued; replay it before it leaves the stream (24 hours)',
        metric: this.failureQueue.metricApproximateNumberOfMessagesVisible({
          statistic: 'Maximum',
          period: Duration.minutes(5),
        }),
        threshold: 1,
        evaluationPeriods: 1,
      }),
    };
  }
}
