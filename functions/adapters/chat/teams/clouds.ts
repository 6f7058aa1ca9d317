/**
 * The Microsoft endpoints a Teams bot talks to, per cloud. Commercial Microsoft 365 and GCC (which
 * runs its bots on the commercial Bot Framework) use the public Azure endpoints; GCC High and DoD use
 * Azure Government's. The set is chosen by configuration, never by anything a caller sends: the
 * validator and the notifier read the same set, so a gov bot neither trusts commercial tokens nor
 * sends its card or its credentials to commercial endpoints.
 */

export const TEAMS_CLOUDS = ['public', 'gcc', 'gcchigh', 'dod'] as const;
export type TeamsCloud = (typeof TEAMS_CLOUDS)[number];

export interface TeamsEndpoints {
  readonly cloud: TeamsCloud;
  /** Bot Framework OpenID metadata: its `jwks_uri` holds the keys the channel signs with. */
  readonly openIdMetadataUrl: string;
  /** The `iss` of every token the channel sends the bot. */
  readonly issuer: string;
  /** Entra token endpoint the bot gets its own (client-credentials) token from. */
  readonly tokenUrl: string;
  /** OAuth scope of that token: the Bot Connector. */
  readonly scope: string;
  /** Bot Connector base URL for proactive messages (posting and updating cards). */
  readonly serviceUrl: string;
}

const PUBLIC_AUTH = {
  openIdMetadataUrl: 'https://login.botframework.com/v1/.well-known/openidconfiguration',
  issuer: 'https://api.botframework.com',
  login: 'https://login.microsoftonline.com',
  defaultTenant: 'botframework.com',
  scope: 'https://api.botframework.com/.default',
} as const;

const GOV_AUTH = {
  openIdMetadataUrl: 'https://login.botframework.azure.us/v1/.well-known/openidconfiguration',
  issuer: 'https://api.botframework.us',
  login: 'https://login.microsoftonline.us',
  defaultTenant: 'MicrosoftServices.onmicrosoft.us',
  scope: 'https://api.botframework.us/.default',
} as const;

const CLOUDS: Record<TeamsCloud, { auth: typeof PUBLIC_AUTH | typeof GOV_AUTH; serviceUrl: string }> = {
  public: { auth: PUBLIC_AUTH, serviceUrl: 'https://smba.trafficmanager.net/teams/' },
  gcc: { auth: PUBLIC_AUTH, serviceUrl: 'https://smba.infra.gcc.teams.microsoft.com/teams/' },
  gcchigh: { auth: GOV_AUTH, serviceUrl: 'https://smba.infra.gov.teams.microsoft.us/teams/' },
  dod: { auth: GOV_AUTH, serviceUrl: 'https://smba.infra.dod.teams.microsoft.us/teams/' },
};

export interface TeamsEndpointOptions {
  readonly cloud: TeamsCloud;
  /**
   * The Entra tenant the bot's app registration lives in (single-tenant bots, the only kind Azure
   * creates now). Absent: the Bot Framework's own tenant (older multi-tenant registrations).
   */
  readonly tenantId?: string;
  /** Overrides, for a cloud this list does not know yet or a regional Bot Connector. */
  readonly serviceUrl?: string;
  readonly openIdMetadataUrl?: string;
  readonly tokenUrl?: string;
}

/** The endpoint set of `options.cloud`, with the tenant and any overrides applied. */
export function teamsEndpoints(options: TeamsEndpointOptions): TeamsEndpoints {
  const cloud = CLOUDS[options.cloud];
  if (!cloud) {
    throw new Error(`unknown Teams cloud "${options.cloud}"; use one of ${TEAMS_CLOUDS.join(', ')}`);
  }
  const tenant = options.tenantId ?? cloud.auth.defaultTenant;
  return {
    cloud: options.cloud,
    openIdMetadataUrl: options.openIdMetadataUrl ?? cloud.auth.openIdMetadataUrl,
    issuer: cloud.auth.issuer,
    tokenUrl: options.tokenUrl ?? `${cloud.auth.login}/${encodeURIComponent(tenant)}/oauth2/v2.0/token`,
    scope: cloud.auth.scope,
    serviceUrl: withSlash(options.serviceUrl ?? cloud.serviceUrl),
  };
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
