// Smoke: moto's STS issues session credentials for AssumeRole with a session policy, and the
// credentials identify as the assumed role. (moto does not intersect the session policy with the
// role's policies, so the session policy itself is tested elsewhere.)
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MOTO_ACCOUNT_ID, stsClient, uniqueName } from '../../harness/index.ts';

describe('moto STS: AssumeRole', () => {
  let sts: STSClient;

  beforeAll(() => {
    sts = stsClient();
  });

  afterAll(() => sts?.destroy());

  it('answers an SDK client built with no configuration at all (env credentials and endpoint)', async () => {
    const bare = new STSClient({});
    try {
      const identity = await bare.send(new GetCallerIdentityCommand({}));
      expect(identity.Account).toBe(MOTO_ACCOUNT_ID);
      expect(identity.Arn).toBe(`arn:aws:sts::${MOTO_ACCOUNT_ID}:user/moto`);
    } finally {
      bare.destroy();
    }
  });

  it('returns 15-minute credentials that identify as the assumed role session', async () => {
    const identity = await sts.send(new GetCallerIdentityCommand({}));
    expect(identity.Account).toBe(MOTO_ACCOUNT_ID);

    const role = uniqueName('ala-grant');
    const session = uniqueName('req');
    const before = Date.now();
    const assumed = await sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${MOTO_ACCOUNT_ID}:role/${role}`,
        RoleSessionName: session,
        DurationSeconds: 900,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::exports/report.csv' },
          ],
        }),
      }),
    );
    const credentials = assumed.Credentials;
    expect(credentials?.AccessKeyId).toMatch(/^ASIA/);
    expect(credentials?.SecretAccessKey).toBeTruthy();
    expect(credentials?.SessionToken).toBeTruthy();
    const expires = credentials?.Expiration?.getTime() ?? 0;
    expect(expires).toBeGreaterThan(before + 890_000);
    expect(expires).toBeLessThan(Date.now() + 910_000);
    const assumedArn = `arn:aws:sts::${MOTO_ACCOUNT_ID}:assumed-role/${role}/${session}`;
    expect(assumed.AssumedRoleUser?.Arn).toBe(assumedArn);
    if (credentials?.AccessKeyId === undefined || credentials.SecretAccessKey === undefined) return;

    const asSession = stsClient({
      credentials: {
        accessKeyId: credentials.AccessKeyId,
        secretAccessKey: credentials.SecretAccessKey,
        sessionToken: credentials.SessionToken,
      },
    });
    try {
      const who = await asSession.send(new GetCallerIdentityCommand({}));
      expect(who.Arn).toBe(assumedArn);
    } finally {
      asSession.destroy();
    }
  });
});
