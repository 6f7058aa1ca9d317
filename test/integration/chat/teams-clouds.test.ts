/**
 * The cloud named in the configuration decides every Microsoft endpoint the bot uses: the OpenID
 * metadata and keys the validator trusts, the issuer it expects, the token endpoint and scope of the
 * notifier's credentials, and the Bot Connector it posts to. The stand-in serves each cloud's real
 * URLs under a host prefix (cloudTransport), so the test sees which hosts were called.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BotAuthenticationError, teamsChannel } from '../../../functions/adapters/chat/teams/index.ts';
import { sampleCard } from '../../support/teams-card.ts';
import { cloudTransport, startTeamsStandIn, type TeamsStandIn } from '../../support/teams-standin.ts';

const APP_ID = '6f1d3c2a-0b7e-4a51-9d8e-2c4b7a9e1f30';
const TENANT = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const CONVERSATION = '19:gov-approvers@thread.tacv2';
const target = { stage: 'notify' as const, groups: ['data-owners'], destinations: [CONVERSATION] };

describe('Teams endpoint sets chosen by configuration', () => {
  let standIn: TeamsStandIn;
  beforeAll(async () => {
    standIn = await startTeamsStandIn();
  });
  afterAll(async () => {
    await standIn?.close();
  });

  const channel = (cloud: 'public' | 'gcchigh' | 'dod') =>
    teamsChannel(
      { appId: APP_ID, appPassword: 'standin-client-secret', tenantId: TENANT, cloud },
      { fetch: cloudTransport(standIn) },
    );

  it('GCC High: validates against the Azure Government metadata and issuer, and posts through the gov token endpoint and Bot Connector', async () => {
    standIn.calls.length = 0;
    const gov = channel('gcchigh');
    const serviceUrl = 'https://smba.infra.gov.teams.microsoft.us/teams/';
    const token = await standIn.token({
      iss: 'https://api.botframework.us',
      aud: APP_ID,
      serviceurl: serviceUrl,
    });
    const claims = await gov.inbound.verifier.verify(`Bearer ${token}`, { serviceUrl, channelId: 'msteams' });
    expect(claims.aud).toBe(APP_ID);
    // A commercial token, though signed by the same key, is not one the gov bot accepts.
    const commercial = await standIn.token({
      iss: 'https://api.botframework.com',
      aud: APP_ID,
      serviceurl: serviceUrl,
    });
    await expect(
      gov.inbound.verifier.verify(`Bearer ${commercial}`, { serviceUrl, channelId: 'msteams' }),
    ).rejects.toThrow(BotAuthenticationError);

    const receipt = await gov.notifier.notify(sampleCard(), target);
    expect(receipt?.recipients).toEqual([CONVERSATION]);
    const targets = standIn.calls.map((call) => `${call.method} ${call.target}`);
    expect(targets).toEqual([
      'GET login.botframework.azure.us/v1/.well-known/openidconfiguration',
      'GET login.botframework.azure.us/v1/.well-known/keys',
      `POST login.microsoftonline.us/${TENANT}/oauth2/v2.0/token`,
      `POST smba.infra.gov.teams.microsoft.us/teams/v3/conversations/${encodeURIComponent(CONVERSATION)}/activities`,
    ]);
    const tokenCall = standIn.calls.find((call) => call.target.endsWith('/oauth2/v2.0/token'));
    expect(new URLSearchParams(tokenCall?.body).get('scope')).toBe('https://api.botframework.us/.default');

    // Refreshing the card goes to the same gov Bot Connector.
    await gov.notifier.update(sampleCard({ approvalsReceived: 1 }), receipt?.reference ?? '');
    expect(standIn.calls.at(-1)?.target).toMatch(
      /^smba\.infra\.gov\.teams\.microsoft\.us\/teams\/v3\/conversations\/.+\/activities\/activity-\d+$/,
    );
  });

  it('DoD: the gov authentication endpoints, the DoD Bot Connector', async () => {
    standIn.calls.length = 0;
    await channel('dod').notifier.notify(sampleCard(), target);
    expect(standIn.calls.map((call) => call.target.split('/')[0])).toEqual([
      'login.microsoftonline.us',
      'smba.infra.dod.teams.microsoft.us',
    ]);
  });

  it('commercial: the public metadata, issuer, token endpoint and Bot Connector, and no gov token', async () => {
    standIn.calls.length = 0;
    const pub = channel('public');
    const serviceUrl = 'https://smba.trafficmanager.net/teams/';
    const gov = await standIn.token({
      iss: 'https://api.botframework.us',
      aud: APP_ID,
      serviceurl: serviceUrl,
    });
    await expect(
      pub.inbound.verifier.verify(`Bearer ${gov}`, { serviceUrl, channelId: 'msteams' }),
    ).rejects.toThrow(/iss/);
    await pub.notifier.notify(sampleCard(), target);
    expect(standIn.calls.map((call) => call.target.split('/')[0])).toEqual([
      'login.botframework.com',
      'login.botframework.com',
      'login.microsoftonline.com',
      'smba.trafficmanager.net',
    ]);
    const tokenCall = standIn.calls.find((call) => call.target.endsWith('/oauth2/v2.0/token'));
    expect(new URLSearchParams(tokenCall?.body).get('scope')).toBe('https://api.botframework.com/.default');
  });

  it('posts to the conversations it can, reports the one it cannot, and fails only when it reaches none', async () => {
    const missed: [string, string][] = [];
    const pub = teamsChannel(
      { appId: APP_ID, appPassword: 'standin-client-secret', tenantId: TENANT, cloud: 'public' },
      { fetch: cloudTransport(standIn), onPartialFailure: (to, error) => missed.push([to, error.message]) },
    );
    const receipt = await pub.notifier.notify(sampleCard(), {
      ...target,
      destinations: [CONVERSATION, '19:not-installed@thread.tacv2'],
    });
    expect(receipt?.recipients).toEqual([CONVERSATION]);
    expect(receipt?.reference?.split(' ')).toHaveLength(1);
    expect(missed).toEqual([['19:not-installed@thread.tacv2', expect.stringMatching(/HTTP 403.*installed/)]]);
    await expect(
      pub.notifier.notify(sampleCard(), { ...target, destinations: ['19:not-installed@thread.tacv2'] }),
    ).rejects.toThrow(/HTTP 403/);
  });

  it('refuses a key the metadata lists for another channel only', async () => {
    const pub = channel('public');
    const serviceUrl = 'https://smba.trafficmanager.net/teams/';
    const token = await standIn.token({
      iss: 'https://api.botframework.com',
      aud: APP_ID,
      serviceurl: serviceUrl,
    });
    await expect(
      pub.inbound.verifier.verify(`Bearer ${token}`, { serviceUrl, channelId: 'webchat' }),
    ).rejects.toThrow(/not endorsed for channel "webchat"/);
  });
});
