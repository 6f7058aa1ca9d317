/**
 * Local stand-ins for the Microsoft side of a Teams bot, as one real HTTP server on 127.0.0.1:
 *
 * - Bot Framework OpenID metadata (`…/v1/.well-known/openidconfiguration`) and its key set
 *   (`…/v1/.well-known/keys`, keys endorsed for `msteams`), with a key made here;
 * - the Entra token endpoint (`…/oauth2/v2.0/token`, client credentials);
 * - the Bot Connector (`…/v3/conversations/{id}/activities[/{activityId}]`), recording every card.
 *
 * Paths may carry a host prefix (`/login.botframework.azure.us/v1/…`): `cloudTransport` sends a
 * cloud's real URLs here that way, so a test sees which cloud's endpoints were used.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

export interface RecordedCall {
  readonly method: string;
  /** `host/path` for host-prefixed calls (a cloud URL), else the path alone. */
  readonly target: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export interface PostedActivity {
  readonly conversation: string;
  readonly activityId: string;
  readonly method: 'POST' | 'PUT';
  readonly card: Record<string, unknown>;
  readonly authorization?: string;
}

export interface TeamsStandIn {
  readonly url: string;
  readonly calls: RecordedCall[];
  readonly activities: PostedActivity[];
  /** The newest card posted or put for an activity id. */
  cardOf(activityId: string): Record<string, unknown> | undefined;
  /** A channel token signed by the served key (or `key: 'unknown'`, a key the set does not list). */
  token(
    claims: TokenClaims,
    options?: { key?: 'served' | 'unknown'; alg?: string; kid?: string },
  ): Promise<string>;
  /** The access token the token endpoint hands out. */
  readonly accessToken: string;
  close(): Promise<void>;
}

export interface TokenClaims {
  readonly iss: string;
  readonly aud: string;
  readonly serviceurl?: string;
  /** Seconds from now. @default 600 */
  readonly expiresIn?: number;
}

export async function startTeamsStandIn(): Promise<TeamsStandIn> {
  const served = await generateKeyPair('RS256', { extractable: true });
  const unknown = await generateKeyPair('RS256', { extractable: true });
  const kid = 'standin-key-1';
  const jwk: JWK & { endorsements: string[] } = {
    ...(await exportJWK(served.publicKey)),
    kid,
    use: 'sig',
    endorsements: ['msteams'],
  };
  const calls: RecordedCall[] = [];
  const activities: PostedActivity[] = [];
  const accessToken = `standin-access-${Math.random().toString(36).slice(2)}`;
  let next = 1;
  let base = '';

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', base);
      // `/host.name/rest` when the transport forwarded a cloud URL; else the path itself.
      const hostPrefixed = /^\/([a-z0-9-]+(?:\.[a-z0-9-]+)+)(\/.*)$/i.exec(url.pathname);
      const path = hostPrefixed?.[2] ?? url.pathname;
      const prefix = hostPrefixed ? `/${hostPrefixed[1]}` : '';
      calls.push({
        method: req.method ?? '',
        target: `${hostPrefixed?.[1] ?? ''}${path}`,
        headers: req.headers,
        body,
      });
      const send = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      if (req.method === 'GET' && path === '/v1/.well-known/openidconfiguration') {
        return send(200, {
          issuer: 'https://api.botframework.com',
          jwks_uri: `${base}${prefix}/v1/.well-known/keys`,
          id_token_signing_alg_values_supported: ['RS256'],
        });
      }
      if (req.method === 'GET' && path === '/v1/.well-known/keys') return send(200, { keys: [jwk] });
      if (req.method === 'POST' && /\/oauth2\/v2\.0\/token$/.test(path)) {
        const form = new URLSearchParams(body);
        if (form.get('grant_type') !== 'client_credentials' || !form.get('client_secret')) {
          return send(400, { error: 'invalid_request' });
        }
        return send(200, { token_type: 'Bearer', expires_in: 3599, access_token: accessToken });
      }
      const activity = /^\/(?:[^/]+\/)?v3\/conversations\/([^/]+)\/activities(?:\/([^/]+))?$/.exec(path);
      if (activity && (req.method === 'POST' || req.method === 'PUT')) {
        if (req.headers.authorization !== `Bearer ${accessToken}`)
          return send(401, { message: 'no bot token' });
        const conversation = decodeURIComponent(activity[1] ?? '');
        // The bot was never added there: the Bot Connector refuses, as it does for real.
        if (conversation.includes('not-installed'))
          return send(403, { error: { code: 'BotNotInConversationRoster' } });
        const activityId =
          req.method === 'PUT' ? decodeURIComponent(activity[2] ?? '') : `activity-${next++}`;
        const parsed = JSON.parse(body) as { attachments?: { content?: Record<string, unknown> }[] };
        const card = parsed.attachments?.[0]?.content ?? {};
        activities.push({
          conversation,
          activityId,
          method: req.method,
          card,
          ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
        });
        return send(req.method === 'POST' ? 201 : 200, { id: activityId });
      }
      send(404, { message: `stand-in has no ${req.method} ${path}` });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    calls,
    activities,
    accessToken,
    cardOf: (activityId) => activities.filter((a) => a.activityId === activityId).at(-1)?.card,
    async token(claims, options = {}) {
      const key = options.key === 'unknown' ? unknown.privateKey : served.privateKey;
      return new SignJWT({ ...(claims.serviceurl !== undefined ? { serviceurl: claims.serviceurl } : {}) })
        .setProtectedHeader({ alg: options.alg ?? 'RS256', kid: options.kid ?? kid, typ: 'JWT' })
        .setIssuer(claims.iss)
        .setAudience(claims.aud)
        .setIssuedAt()
        .setNotBefore(Math.floor(Date.now() / 1000) - 60)
        .setExpirationTime(Math.floor(Date.now() / 1000) + (claims.expiresIn ?? 600))
        .sign(key);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A JWT with `alg: none` and no signature, carrying otherwise valid claims. */
export function unsignedToken(claims: TokenClaims): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: 'none', typ: 'JWT', kid: 'standin-key-1' })}.${part({
    iss: claims.iss,
    aud: claims.aud,
    serviceurl: claims.serviceurl,
    iat: now,
    exp: now + 600,
  })}.`;
}

/**
 * A fetch that sends `https://<host>/<path>` to the stand-in as `/<host>/<path>`: the code under
 * test keeps its real cloud URLs, and the stand-in records which host each call was for.
 */
export function cloudTransport(standIn: Pick<TeamsStandIn, 'url'>) {
  return (url: string, init?: RequestInit): Promise<Response> => {
    const target = new URL(url);
    if (target.origin === standIn.url) return fetch(url, init);
    return fetch(`${standIn.url}/${target.host}${target.pathname}${target.search}`, init);
  };
}
