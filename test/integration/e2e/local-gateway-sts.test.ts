// The local gateway as `npm start` runs it, configured with `credentials.sts` against moto: the
// default pack's production export is approved twice, redeemed for scoped credentials once, and
// the credentials never reach the logs or the audit.
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../../functions/core/audit.ts';
import { PROD_CUI_EXPORT } from '../../fixtures/requests.ts';
import { MOTO_ACCOUNT_ID, motoEndpoint, stsClient } from '../../harness/index.ts';
import { type GatewayProcess, gatewayConfig, startGatewayProcess } from '../../support/gateway-process.ts';

describe('Local gateway with credentials.sts (moto)', () => {
  let gw: GatewayProcess;

  beforeAll(async () => {
    const config = gatewayConfig(undefined, 'debug', {
      credentials: {
        sts: {
          partition: 'aws-us-gov',
          accountId: MOTO_ACCOUNT_ID,
          region: 'us-gov-west-1',
          allowedRoles: ['approved-data-export'],
          endpoint: motoEndpoint(),
        },
      },
    });
    gw = await startGatewayProcess(config);
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
  });

  it('issues credentials of the approved role session once, and keeps them out of logs and audit', async () => {
    const submitted = await gw.call('agent', 'POST', '/v1/action-requests', PROD_CUI_EXPORT);
    const view = (await submitted.json()) as { id: string; action_hash: string };
    const path = `/v1/action-requests/${view.id}`;
    const vote = { decision: 'approve', action_hash: view.action_hash };
    expect((await gw.call('bob', 'POST', `${path}/decisions`, vote)).status).toBe(200);
    expect((await gw.call('carol', 'POST', `${path}/decisions`, vote)).status).toBe(200);

    const grant = await gw.call('agent', 'POST', `${path}/grant`);
    expect(grant.status).toBe(200);
    expect(grant.headers.get('cache-control')).toBe('no-store');
    const { credentials } = (await grant.json()) as {
      credentials: {
        access_key_id: string;
        secret_access_key: string;
        session_token: string;
        region?: string;
      };
    };
    expect(credentials.region).toBe('us-gov-west-1');
    const session = stsClient({
      region: 'us-gov-west-1',
      credentials: {
        accessKeyId: credentials.access_key_id,
        secretAccessKey: credentials.secret_access_key,
        sessionToken: credentials.session_token,
      },
    });
    try {
      const who = await session.send(new GetCallerIdentityCommand({}));
      expect(who.Arn).toBe(
        `arn:aws-us-gov:sts::${MOTO_ACCOUNT_ID}:assumed-role/approved-data-export/ala-${view.id}`,
      );
    } finally {
      session.destroy();
    }
    expect((await gw.call('agent', 'POST', `${path}/grant`)).status).toBe(409);
    expect((await gw.call('agent', 'POST', `${path}/outcome`, { status: 'succeeded' })).status).toBe(200);

    const trail = (await (await gw.call('agent', 'GET', `${path}/audit`)).json()) as {
      events: Parameters<typeof verifyChain>[0];
    };
    expect(verifyChain(trail.events).ok).toBe(true);
    const recorded = JSON.stringify(trail) + gw.output();
    expect(recorded).toContain(`ala-${view.id}`);
    expect(recorded).not.toContain(credentials.secret_access_key);
    expect(recorded).not.toContain(credentials.session_token);
  }, 60_000);
});
