import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface AuditArchiveProps {
  /** Encrypts the archive objects (SSE-KMS with an S3 bucket key). */
  readonly encryptionKey: kms.IKey;
  /** Days every archived object version is locked in COMPLIANCE mode; no one, root included, can shorten it. */
  readonly retentionDays: number;
  /** Days server access logs of the archive are kept. */
  readonly accessLogRetentionDays: number;
}

/**
 * The immutable archive of the audit chains (docs/design.md#44-audit-events): an S3 bucket with Object Lock in
 * COMPLIANCE mode as the default retention, versioned, SSE-KMS, no public access, TLS only. The
 * archiver Lambda that fills it from the audit table's stream comes in a later issue.
 */
export class AuditArchive extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, props: AuditArchiveProps) {
    super(scope, id);
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
      encryptionKey: props.encryptionKey,
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
  }
}
