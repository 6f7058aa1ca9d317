// Smoke: moto's S3 keeps an audit archive object under COMPLIANCE retention — the version cannot be
// deleted and still reads back.
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectLockConfigurationCommand,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isValidBucketName, s3Client, uniqueName } from '../../harness/index.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('moto S3: Object Lock in COMPLIANCE mode', () => {
  const bucket = uniqueName('smoke-audit-archive');
  let s3: S3Client;

  beforeAll(async () => {
    expect(inject('alaHarness').motoEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    s3 = s3Client();
    expect(isValidBucketName(bucket)).toBe(true);
    await s3.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
    await s3.send(
      new PutObjectLockConfigurationCommand({
        Bucket: bucket,
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 1 } },
        },
      }),
    );
  });

  afterAll(() => s3?.destroy());

  it('applies the default retention to a new version and refuses to delete that version', async () => {
    const config = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }));
    expect(config.ObjectLockConfiguration?.ObjectLockEnabled).toBe('Enabled');
    // (moto also echoes `Years: 0`.)
    expect(config.ObjectLockConfiguration?.Rule?.DefaultRetention).toMatchObject({
      Mode: 'COMPLIANCE',
      Days: 1,
    });

    const key = 'chains/req-1/0001.json';
    const body = JSON.stringify({ seq: 1, event: 'submitted', prev: null });
    const before = Date.now();
    const put = await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }),
    );
    const versionId = put.VersionId;
    expect(versionId).toBeTruthy();
    if (versionId === undefined) return;

    // The version's retention, as HeadObject reports it. (moto 5.2.5 has no GetObjectRetention: its
    // server answers `GET ?retention` with the object itself — use HeadObject/GetObject headers.)
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
    expect(head.VersionId).toBe(versionId);
    expect(head.ObjectLockMode).toBe('COMPLIANCE');
    const until = head.ObjectLockRetainUntilDate?.getTime() ?? 0;
    // One day from the PUT (allowing for the emulator's one-second timestamps).
    expect(until).toBeGreaterThan(before + DAY_MS - 60_000);
    expect(until).toBeLessThan(Date.now() + DAY_MS + 60_000);

    const refused = await rejection(
      s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId })),
    );
    expect(refused).toBeInstanceOf(S3ServiceException);
    if (!(refused instanceof S3ServiceException)) return;
    expect(refused.name).toBe('AccessDenied');
    expect(refused.$metadata.httpStatusCode).toBe(403);

    // A delete without VersionId only adds a delete marker; the locked version is intact.
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    expect(marker.DeleteMarker).toBe(true);
    const read = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
    expect(await read.Body?.transformToString()).toBe(body);
    expect(read.ObjectLockMode).toBe('COMPLIANCE');
    expect(read.ObjectLockRetainUntilDate?.getTime()).toBe(until);
  });
});
