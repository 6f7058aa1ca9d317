/**
 * The audit archive in the synthesized stack: its own key and who may delete, disable or decrypt
 * with it; the archiver's grants (stream read, PutObject only); the bucket's guards; the stream
 * mapping with its on-failure queue; the alarms. Both partitions, nag- and cfn-lint-clean.
 */
import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApprovalsGatewayStack } from '../../../cdk/approvals-stack.ts';
import {
  type CfnResource,
  COMMERCIAL_REGION,
  cfnLint,
  functionResource,
  GOVCLOUD_REGION,
  property,
  readViolations,
  resourcesOfType,
  SYNTH_TIMEOUT_MS,
  type Synthesized,
  synthGateway,
} from './synth.ts';

interface Statement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Principal?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

const BREAK_GLASS = 'arn:aws:iam::111122223333:role/audit-break-glass';
const READER = 'arn:aws:iam::111122223333:role/auditors';
const list = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);

function logicalId(synth: Synthesized, construct: { node: { defaultChild?: unknown } }): string {
  return synth.stack.getLogicalId(construct.node.defaultChild as never);
}

function resource(synth: Synthesized, id: string): CfnResource {
  const found = synth.json.Resources[id];
  if (!found) throw new Error(`no resource ${id}`);
  return found;
}

function keyPolicy(synth: Synthesized, key: { node: { defaultChild?: unknown } }): Statement[] {
  return property<{ Statement: Statement[] }>(resource(synth, logicalId(synth, key)), 'KeyPolicy').Statement;
}

function archiverStatements(synth: Synthesized): Statement[] {
  const policy = resource(synth, logicalId(synth, synth.stack.archive.archiver.policy));
  return property<{ Statement: Statement[] }>(policy, 'PolicyDocument').Statement;
}

function bucketPolicy(synth: Synthesized): Statement[] {
  const [, policy] =
    resourcesOfType(synth.json, 'AWS::S3::BucketPolicy').find(
      ([, p]) =>
        JSON.stringify(p.Properties?.Bucket) ===
        JSON.stringify({ Ref: logicalId(synth, synth.stack.archive.bucket) }),
    ) ?? [];
  if (!policy) throw new Error('no bucket policy on the archive bucket');
  return property<{ Statement: Statement[] }>(policy, 'PolicyDocument').Statement;
}

describe('audit archive in the stack', () => {
  let synth: Synthesized;
  let plain: Synthesized;

  beforeAll(() => {
    synth = synthGateway({
      region: COMMERCIAL_REGION,
      stackProps: { auditBreakGlassRoleArn: BREAK_GLASS, auditArchiveReaderRoleArns: [READER] },
    });
    plain = synthGateway({ region: COMMERCIAL_REGION });
  }, 2 * SYNTH_TIMEOUT_MS);

  describe('its own key', () => {
    it('encrypts the archive bucket with a key of its own, not the tables key, rotated and retained', () => {
      const archiveKey = logicalId(synth, synth.stack.archive.key);
      expect(archiveKey).not.toBe(logicalId(synth, synth.stack.key));
      synth.template.hasResourceProperties('AWS::S3::Bucket', {
        ObjectLockEnabled: true,
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            {
              ServerSideEncryptionByDefault: {
                SSEAlgorithm: 'aws:kms',
                KMSMasterKeyID: { 'Fn::GetAtt': [archiveKey, 'Arn'] },
              },
              BucketKeyEnabled: true,
            },
          ],
        },
      });
      expect(resource(synth, archiveKey)).toMatchObject({
        Properties: { EnableKeyRotation: true, PendingWindowInDays: 30 },
        DeletionPolicy: 'Retain',
      });
    });

    it('denies scheduling deletion and disabling to everyone but the break-glass role', () => {
      const deny = keyPolicy(synth, synth.stack.archive.key).find(
        (s) => s.Sid === 'OnlyBreakGlassMayDeleteOrDisable',
      );
      expect(deny).toEqual({
        Sid: 'OnlyBreakGlassMayDeleteOrDisable',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: ['kms:ScheduleKeyDeletion', 'kms:DisableKey'],
        Resource: '*',
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': BREAK_GLASS } },
      });
    });

    it('denies them to everyone when no break-glass role is named', () => {
      const deny = keyPolicy(plain, plain.stack.archive.key).find(
        (s) => s.Sid === 'OnlyBreakGlassMayDeleteOrDisable',
      );
      expect(deny?.Effect).toBe('Deny');
      expect(deny?.Condition).toBeUndefined();
    });

    it('grants decrypt through S3 to the readers, and denies it to every other principal but break-glass', () => {
      const statements = keyPolicy(synth, synth.stack.archive.key);
      const allow = statements.find((s) => s.Sid === 'ReadersDecryptThroughS3');
      const deny = statements.find((s) => s.Sid === 'OnlyReadersMayDecrypt');
      expect(allow).toMatchObject({
        Effect: 'Allow',
        Principal: { AWS: READER },
        Action: ['kms:Decrypt', 'kms:DescribeKey'],
      });
      expect(JSON.stringify(allow?.Condition)).toContain('s3.us-east-1.');
      expect(deny).toMatchObject({
        Effect: 'Deny',
        Action: 'kms:Decrypt',
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': [READER, BREAK_GLASS] } },
      });
      expect(keyPolicy(plain, plain.stack.archive.key).map((s) => s.Sid)).not.toContain(
        'OnlyReadersMayDecrypt',
      );
    });

    it('refuses a break-glass or reader value that is not a role ARN', () => {
      const make = (props: object) => () =>
        new ApprovalsGatewayStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Bad', {
          env: { region: COMMERCIAL_REGION },
          ...props,
        });
      expect(make({ auditBreakGlassRoleArn: 'audit-break-glass' })).toThrow(
        /breakGlassRoleArn holds "audit-break-glass", which is not an IAM role ARN/,
      );
      expect(make({ auditArchiveReaderRoleArns: ['arn:aws:iam::111122223333:user/bob'] })).toThrow(
        /readerRoleArns holds/,
      );
    });
  });

  describe('the archiver', () => {
    it('may read the audit stream, put objects under events/ and checkpoints/, and queue given-up batches — nothing else', () => {
      const statements = archiverStatements(synth);
      const bySid = Object.fromEntries(statements.map((s) => [s.Sid, list(s.Action).sort()]));
      expect(bySid).toEqual({
        WriteOwnLogs: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        WriteTraces: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
        ReadAuditStream: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        ListAuditStreams: ['dynamodb:ListStreams'],
        StreamKeyThroughDynamoDb: ['kms:Decrypt', 'kms:DescribeKey'],
        PutArchiveObjects: ['s3:PutObject'],
        ArchiveKeyThroughS3: ['kms:GenerateDataKey'],
        SendGivenUpBatches: ['sqs:SendMessage'],
        QueueKeyThroughSqs: ['kms:Decrypt', 'kms:GenerateDataKey'],
      });
      const put = statements.find((s) => s.Sid === 'PutArchiveObjects');
      expect(JSON.stringify(put?.Resource)).toContain('/events/*');
      expect(JSON.stringify(put?.Resource)).toContain('/checkpoints/*');
      const stream = statements.find((s) => s.Sid === 'ReadAuditStream');
      expect(stream?.Resource).toEqual({
        'Fn::GetAtt': [logicalId(synth, synth.stack.tables.audit), 'StreamArn'],
      });
      const archiveKey = statements.find((s) => s.Sid === 'ArchiveKeyThroughS3');
      expect(archiveKey?.Resource).toEqual({
        'Fn::GetAtt': [logicalId(synth, synth.stack.archive.key), 'Arn'],
      });
    });

    it('leaves no role in the stack a way to delete archive objects, loosen retention or write audit items other than by put', () => {
      const forbidden = [
        's3:DeleteObject',
        's3:DeleteObjectVersion',
        's3:PutObjectRetention',
        's3:BypassGovernanceRetention',
        's3:PutBucketObjectLockConfiguration',
        's3:PutLifecycleConfiguration',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:BatchWriteItem',
      ];
      const requestsTable = { 'Fn::GetAtt': [logicalId(synth, synth.stack.tables.requests), 'Arn'] };
      for (const [id, policy] of resourcesOfType(synth.json, 'AWS::IAM::ManagedPolicy')) {
        const statements = property<{ Statement: Statement[] }>(policy, 'PolicyDocument').Statement;
        // The one UpdateItem in the stack: rate counters, on the requests table, only on `rate#` keys
        // (never an audit item, never a request).
        const rateCounters = statements.filter((s) => s.Sid === 'RateCounters');
        for (const s of rateCounters) {
          expect(s).toMatchObject({
            Action: 'dynamodb:UpdateItem',
            Resource: requestsTable,
            Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['rate#*'] } },
          });
        }
        // A commit's index upkeep: UpdateItem only on `pending#` counters, DeleteItem only on `grp#`
        // and `view#` pointers, both on the requests table (never an audit item, never a request).
        const upkeep: Record<string, [string, string[]]> = {
          PendingCounters: ['dynamodb:UpdateItem', ['pending#*']],
          PendingPointers: ['dynamodb:DeleteItem', ['grp#*', 'view#*']],
        };
        for (const s of statements.filter((s) => s.Sid !== undefined && s.Sid in upkeep)) {
          const [action, keys] = upkeep[s.Sid as string] as [string, string[]];
          expect(s).toMatchObject({
            Action: action,
            Resource: requestsTable,
            Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': keys } },
          });
        }
        const actions = statements
          .filter((s) => s.Sid !== 'RateCounters' && !(s.Sid !== undefined && s.Sid in upkeep))
          .flatMap((s) => list(s.Action));
        for (const action of forbidden) expect(actions, `${id} holds ${action}`).not.toContain(action);
        expect(
          actions.filter((a) => a.startsWith('s3:') && a.includes('*')),
          id,
        ).toEqual([]);
      }
    });

    it('is fed by the audit stream from the trim horizon, reports partial failures, bisects, and queues given-up batches', () => {
      const { logicalId: fn } = functionResource(synth, 'AuditArchiver');
      synth.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: fn },
        EventSourceArn: { 'Fn::GetAtt': [logicalId(synth, synth.stack.tables.audit), 'StreamArn'] },
        StartingPosition: 'TRIM_HORIZON',
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 20,
        MaximumRecordAgeInSeconds: 21600,
        ParallelizationFactor: 1,
        DestinationConfig: {
          OnFailure: {
            Destination: { 'Fn::GetAtt': [logicalId(synth, synth.stack.archive.failureQueue), 'Arn'] },
          },
        },
      });
      synth.template.hasResourceProperties('AWS::SQS::Queue', {
        KmsMasterKeyId: { 'Fn::GetAtt': [logicalId(synth, synth.stack.key), 'Arn'] },
        MessageRetentionPeriod: 14 * 24 * 3600,
      });
    });

    it('is told its bucket and table, and runs on nodejs22.x arm64 with tracing', () => {
      const { resource: fn } = functionResource(synth, 'AuditArchiver');
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        Environment: {
          Variables: {
            AUDIT_ARCHIVE_BUCKET: { Ref: logicalId(synth, synth.stack.archive.bucket) },
            AUDIT_TABLE_NAME: { Ref: logicalId(synth, synth.stack.tables.audit) },
          },
        },
      });
    });
  });

  describe('the bucket', () => {
    it('denies deleting, loosening retention, lifecycle and versioning changes to all but break-glass', () => {
      const deny = bucketPolicy(synth).find((s) => s.Sid === 'OnlyBreakGlassMayDeleteOrLoosen');
      expect(deny).toMatchObject({
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': BREAK_GLASS } },
      });
      expect(list(deny?.Action ?? []).sort()).toEqual([
        's3:BypassGovernanceRetention',
        's3:DeleteObject',
        's3:DeleteObjectVersion',
        's3:PutBucketObjectLockConfiguration',
        's3:PutBucketVersioning',
        's3:PutLifecycleConfiguration',
        's3:PutObjectLegalHold',
        's3:PutObjectRetention',
      ]);
    });

    it('lets only the archiver (and break-glass) put objects', () => {
      const deny = bucketPolicy(synth).find((s) => s.Sid === 'OnlyTheArchiverWrites');
      expect(deny).toMatchObject({
        Effect: 'Deny',
        Action: 's3:PutObject',
        Condition: {
          ArnNotEquals: {
            'aws:PrincipalArn': [
              { 'Fn::GetAtt': [logicalId(synth, synth.stack.archive.archiver.role), 'Arn'] },
              BREAK_GLASS,
            ],
          },
        },
      });
    });
  });

  describe('alarms', () => {
    it('alarms on iterator age, function errors, failed writes and the on-failure queue, exposed on the construct', () => {
      const alarms = synth.stack.archive.alarms;
      const byId = (alarm: { node: { defaultChild?: unknown } }) =>
        resource(synth, logicalId(synth, alarm)).Properties;
      const fn = functionResource(synth, 'AuditArchiver').logicalId;
      expect(byId(alarms.iteratorAge)).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'IteratorAge',
        Statistic: 'Maximum',
        Threshold: 600_000,
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }],
      });
      expect(byId(alarms.errors)).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Threshold: 1,
      });
      expect(byId(alarms.writeFailures)).toMatchObject({
        Namespace: 'ActionLevelApprovals/AuditArchive',
        MetricName: 'ArchiveWriteFailures',
        Threshold: 1,
      });
      expect(byId(alarms.failureQueueDepth)).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [
          {
            Name: 'QueueName',
            Value: { 'Fn::GetAtt': [logicalId(synth, synth.stack.archive.failureQueue), 'QueueName'] },
          },
        ],
      });
      synth.template.hasResourceProperties('AWS::Logs::MetricFilter', {
        FilterPattern: Match.stringLikeRegexp('could not write an archive object'),
        LogGroupName: { Ref: logicalId(synth, synth.stack.archive.archiver.logGroup) },
      });
      const topic = { Ref: logicalId(synth, synth.stack.operations.topic) };
      for (const alarm of Object.values(alarms)) {
        expect(byId(alarm)?.AlarmActions, 'routed to the stack alarm topic').toEqual([topic]);
        expect(byId(alarm)?.TreatMissingData).toBe('notBreaching');
      }
    });
  });

  it('passes cdk-nag with the break-glass and reader roles set, and cfn-lint', async () => {
    expect(readViolations(synth.outdir)).toEqual([]);
    expect(await cfnLint(synth, COMMERCIAL_REGION)).toEqual([]);
  });

  it(
    'synthesizes in GovCloud with the same guards: nag-clean, cfn-lint-clean, no literal partition in its ARNs',
    async () => {
      const gov = synthGateway({
        region: GOVCLOUD_REGION,
        stackProps: {
          auditBreakGlassRoleArn: 'arn:aws-us-gov:iam::111122223333:role/audit-break-glass',
          auditArchiveReaderRoleArns: ['arn:aws-us-gov:iam::111122223333:role/auditors'],
        },
      });
      expect(readViolations(gov.outdir)).toEqual([]);
      expect(await cfnLint(gov, GOVCLOUD_REGION)).toEqual([]);
      const deny = keyPolicy(gov, gov.stack.archive.key).find(
        (s) => s.Sid === 'OnlyBreakGlassMayDeleteOrDisable',
      );
      expect(deny?.Condition).toEqual({
        ArnNotEquals: { 'aws:PrincipalArn': 'arn:aws-us-gov:iam::111122223333:role/audit-break-glass' },
      });
      expect(JSON.stringify(archiverStatements(gov))).not.toMatch(/arn:aws(-us-gov)?:/);
    },
    2 * SYNTH_TIMEOUT_MS,
  );
});
