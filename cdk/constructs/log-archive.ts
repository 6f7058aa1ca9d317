import { Aws, Duration, RemovalPolicy, Size, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as destinations from 'aws-cdk-lib/aws-logs-destinations';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface LogArchiveProps {
  /** The log groups whose every line is archived. */
  readonly logGroups: readonly logs.ILogGroup[];
  /** Encrypts the stream, the bucket's objects and the delivery-error log group. */
  readonly encryptionKey: kms.IKey;
  /** Days the log groups keep their lines searchable in CloudWatch ("hot"). */
  readonly hotDays: number;
  /** Days after the hot period the archived copy is kept in cold storage. */
  readonly coldDays: number;
  /** Where the bucket's server access logs go. */
  readonly accessLogsBucket: s3.IBucket;
}

/**
 * Log retention as OMB M-21-31 asks (12 months in active storage, 18 more in cold storage, by
 * default): every line of the listed log groups is streamed by a subscription filter through Data
 * Firehose into an S3 bucket, which moves it to Glacier at once and deletes it after hot + cold
 * days. The log groups themselves keep their lines for the hot period.
 */
export class LogArchive extends Construct {
  readonly bucket: s3.Bucket;
  readonly stream: firehose.DeliveryStream;

  constructor(scope: Construct, id: string, props: LogArchiveProps) {
    super(scope, id);
    for (const [name, days] of [
      ['hot', props.hotDays],
      ['cold', props.coldDays],
    ] as const) {
      if (!Number.isInteger(days) || days < 1) {
        throw new Error(`log retention: ${name} days must be a whole number ≥ 1, got ${days}`);
      }
    }
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: true,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: 'log-archive/',
      lifecycleRules: [
        {
          id: 'cold-then-expire',
          // The hot copy is in CloudWatch Logs; this one is the cold copy from day one.
          transitions: [{ storageClass: s3.StorageClass.GLACIER, transitionAfter: Duration.days(1) }],
          expiration: Duration.days(props.hotDays + props.coldDays),
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'NIST.800.53.R5-S3BucketReplicationEnabled',
      reason:
        'A retention copy of logs that CloudWatch Logs also holds for the hot period; cross-region replication needs a second, deployer-chosen region (add a replication rule in an extension stack if your authorization requires it).',
    });

    const deliveryErrors = new logs.LogGroup(this, 'DeliveryErrors', {
      retention: logs.RetentionDays.ONE_YEAR,
      encryptionKey: props.encryptionKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const region = Stack.of(this).region;
    // As everywhere in the stack: own roles, one customer-managed policy of explicit statements each,
    // and CDK may not add grants behind them.
    const deliveryRole = new iam.Role(this, 'DeliveryRole', {
      assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      }),
      description: 'Log archive: Data Firehose writes log lines to the archive bucket',
    });
    const deliveryPolicy = new iam.ManagedPolicy(this, 'DeliveryPolicy', {
      roles: [deliveryRole],
      description: 'Permissions of the log archive delivery stream',
      statements: [
        new iam.PolicyStatement({
          sid: 'WriteArchiveBucket',
          // What Data Firehose documents for an S3 destination, on this bucket only.
          actions: [
            's3:AbortMultipartUpload',
            's3:GetBucketLocation',
            's3:GetObject',
            's3:ListBucket',
            's3:ListBucketMultipartUploads',
            's3:PutObject',
          ],
          resources: [this.bucket.bucketArn, this.bucket.arnForObjects('*')],
        }),
        new iam.PolicyStatement({
          sid: 'ArchiveKeyThroughS3',
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: [props.encryptionKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `s3.${region}.${Aws.URL_SUFFIX}` } },
        }),
        new iam.PolicyStatement({
          sid: 'WriteDeliveryErrors',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [deliveryErrors.logGroupArn],
        }),
      ],
    });
    Validations.of(deliveryPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket)}.Arn>/*]`,
      reason:
        "Data Firehose names each object it writes (date prefix and a generated suffix), so object permissions can only name the archive bucket's objects as a whole; no other bucket is reachable.",
    });
    const subscriptionRole = new iam.Role(this, 'SubscriptionRole', {
      assumedBy: new iam.ServicePrincipal(`logs.${region}.amazonaws.com`).withConditions({
        StringLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:logs:${region}:${Aws.ACCOUNT_ID}:*` },
      }),
      description: 'Log archive: CloudWatch Logs puts subscribed log lines into the delivery stream',
    });
    const subscriptionPolicy = new iam.ManagedPolicy(this, 'SubscriptionPolicy', {
      roles: [subscriptionRole],
      description: 'Permissions of the log archive subscriptions',
    });

    this.stream = new firehose.DeliveryStream(this, 'Stream', {
      destination: new firehose.S3Bucket(this.bucket, {
        role: deliveryRole.withoutPolicyUpdates(),
        // CloudWatch Logs delivers gzip already.
        compression: firehose.Compression.UNCOMPRESSED,
        dataOutputPrefix: 'logs/!{timestamp:yyyy/MM/dd}/',
        errorOutputPrefix: 'errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/',
        bufferingInterval: Duration.minutes(5),
        bufferingSize: Size.mebibytes(5),
        encryptionKey: props.encryptionKey,
        loggingConfig: new firehose.EnableLogging(deliveryErrors),
      }),
      // Lines stay in the stream's buffer for minutes; the objects are encrypted with the stack's key.
      encryption: firehose.StreamEncryption.awsOwnedKey(),
    });
    this.stream.node.addDependency(deliveryPolicy);
    subscriptionPolicy.addStatements(
      new iam.PolicyStatement({
        sid: 'PutIntoDeliveryStream',
        actions: ['firehose:PutRecord', 'firehose:PutRecordBatch'],
        resources: [this.stream.deliveryStreamArn],
      }),
    );
    const destination = new destinations.FirehoseDestination(this.stream, {
      role: subscriptionRole.withoutPolicyUpdates(),
    });
    props.logGroups.forEach((logGroup, i) => {
      const filter = new logs.SubscriptionFilter(this, `Subscription${i}`, {
        logGroup,
        destination,
        filterPattern: logs.FilterPattern.allEvents(),
      });
      // CloudWatch Logs checks the role may put records when the filter is created.
      filter.node.addDependency(subscriptionPolicy);
    });
  }
}
