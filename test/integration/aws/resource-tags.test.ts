/**
 * Resource tags as vouched attributes, on moto's Resource Groups Tagging API (S3 buckets tagged
 * with PutBucketTagging): the attributes contract, the cache (calls counted by a middleware on a
 * real client), fail closed on real 127.0.0.1 endpoints that refuse, throttle or never answer, and
 * the decision of the default pack through the service.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Socket, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { CreateBucketCommand, PutBucketTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTaggingClient,
  isTaggableArn,
  parseTagAttributes,
  ResourceTagAttributes,
  type ResourceTagsOptions,
} from '../../../functions/adapters/aws/resource-tags.ts';
import { SqliteRequestStore } from '../../../functions/adapters/sqlite/sqlite-store.ts';
import { ulidIds } from '../../../functions/adapters/system/system.ts';
import { inventoryAttributes, inventoryThenTags } from '../../../functions/core/attributes.ts';
import { ApprovalService } from '../../../functions/core/service.ts';
import { loadConfig } from '../../../functions/local/config.ts';
import { startGateway } from '../../../functions/local/gateway.ts';
import type { WasmPolicyEvaluator } from '../../../functions/policy/evaluator.ts';
import { loadPolicyEvaluatorFromFiles } from '../../../functions/policy/files.ts';
import { describeAttributesContract } from '../../contract/attributes.contract.ts';
import { harnessContext, motoEndpoint, s3Client, TEST_CREDENTIALS, uniqueName } from '../../harness/index.ts';
import { ManualClock } from '../../support/fixtures.ts';
import { loadDefaultPack } from '../../unit/policy/support.ts';

interface Warning {
  readonly message: string;
  readonly attributes: Record<string, unknown>;
}

function warnings(): { logger: ResourceTagsOptions['logger']; seen: Warning[] } {
  const seen: Warning[] = [];
  return { seen, logger: { warn: (message, attributes = {}) => seen.push({ message, attributes }) } };
}

/** A Tagging API client on `endpoint` that counts the GetResources calls it sends. */
async function countingClient(
  endpoint: string,
): Promise<{ client: ResourceGroupsTaggingAPIClient; calls: () => number }> {
  const client = await createTaggingClient({
    endpoint,
    region: harnessContext().region,
    credentials: { ...TEST_CREDENTIALS },
  });
  let calls = 0;
  client.middlewareStack.add(
    (next) => async (args) => {
      calls += 1;
      return next(args);
    },
    { step: 'initialize', name: 'countGetResources' },
  );
  return { client, calls: () => calls };
}

/** A new moto bucket carrying `tags`; its ARN. */
async function taggedBucket(s3: S3Client, tags: Record<string, string>): Promise<string> {
  const bucket = uniqueName('tags');
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  if (Object.keys(tags).length > 0) {
    await s3.send(
      new PutBucketTaggingCommand({
        Bucket: bucket,
        Tagging: { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
      }),
    );
  }
  return `arn:aws:s3:::${bucket}`;
}

describeAttributesContract('resource tags on moto', async () => {
  const s3 = s3Client();
  const { client } = await countingClient(motoEndpoint());
  const created = new Set<string>();
  return {
    source: new ResourceTagAttributes({ client, logger: warnings().logger }),
    sourceName: 'tags',
    // An untagged bucket exists but says nothing; declare() tags it.
    newArn: async () => {
      const arn = await taggedBucket(s3, {});
      created.add(arn);
      return arn;
    },
    declare: async (arn, attributes) => {
      await s3.send(
        new PutBucketTaggingCommand({
          Bucket: arn.slice('arn:aws:s3:::'.length),
          Tagging: { TagSet: Object.entries(attributes).map(([Key, Value]) => ({ Key, Value })) },
        }),
      );
    },
    close: async () => {
      s3.destroy();
      client.destroy();
    },
  };
});

describe('resource tags on moto', () => {
  let s3: S3Client;

  beforeAll(() => {
    s3 = s3Client();
  });

  afterAll(() => s3?.destroy());

  it('maps configured tag keys to attributes and ignores every other tag', async () => {
    const arn = await taggedBucket(s3, {
      Environment: 'prod',
      DataClass: 'CUI',
      environment: 'dev',
      team: 'x',
    });
    const { client } = await countingClient(motoEndpoint());
    try {
      const tags = new ResourceTagAttributes({
        client,
        logger: warnings().logger,
        tagAttributes: parseTagAttributes('Environment=environment, DataClass=data_classification'),
      });
      expect(await tags.vouchedFor({ id: arn })).toEqual({
        known: true,
        source: 'tags',
        attributes: { environment: 'prod', data_classification: 'CUI' },
      });
    } finally {
      client.destroy();
    }
  });

  it('treats a resource that carries only unmapped tags as unknown', async () => {
    const arn = await taggedBucket(s3, { team: 'payments', cost_center: '42' });
    const { client } = await countingClient(motoEndpoint());
    try {
      const tags = new ResourceTagAttributes({ client, logger: warnings().logger });
      expect(await tags.vouchedFor({ id: arn })).toEqual({ known: false, source: 'none', attributes: {} });
    } finally {
      client.destroy();
    }
  });

  it('answers from its cache within the TTL: one GetResources call for repeated and concurrent lookups', async () => {
    const arn = await taggedBucket(s3, { environment: 'prod' });
    const { client, calls } = await countingClient(motoEndpoint());
    try {
      const tags = new ResourceTagAttributes({ client, logger: warnings().logger });
      const answers = await Promise.all([1, 2, 3].map(() => tags.vouchedFor({ id: arn })));
      answers.push(await tags.vouchedFor({ id: arn }));
      for (const answer of answers) expect(answer.attributes).toEqual({ environment: 'prod' });
      expect(calls()).toBe(1);
    } finally {
      client.destroy();
    }
  });

  it('asks again once the TTL has passed, and sees a changed tag', async () => {
    const arn = await taggedBucket(s3, { environment: 'dev' });
    const { client, calls } = await countingClient(motoEndpoint());
    let now = 1_000_000;
    try {
      const tags = new ResourceTagAttributes({
        client,
        logger: warnings().logger,
        ttlMs: 60_000,
        now: () => now,
      });
      expect((await tags.vouchedFor({ id: arn })).attributes).toEqual({ environment: 'dev' });
      await s3.send(
        new PutBucketTaggingCommand({
          Bucket: arn.slice('arn:aws:s3:::'.length),
          Tagging: { TagSet: [{ Key: 'environment', Value: 'prod' }] },
        }),
      );
      now += 59_999;
      expect((await tags.vouchedFor({ id: arn })).attributes).toEqual({ environment: 'dev' });
      expect(calls()).toBe(1);
      now += 1;
      expect((await tags.vouchedFor({ id: arn })).attributes).toEqual({ environment: 'prod' });
      expect(calls()).toBe(2);
    } finally {
      client.destroy();
    }
  });

  it('keeps at most maxEntries answers, dropping the least recently used', async () => {
    const [a, b, c] = [
      await taggedBucket(s3, { environment: 'a' }),
      await taggedBucket(s3, { environment: 'b' }),
      await taggedBucket(s3, { environment: 'c' }),
    ];
    const { client, calls } = await countingClient(motoEndpoint());
    try {
      const tags = new ResourceTagAttributes({ client, logger: warnings().logger, maxEntries: 2 });
      await tags.vouchedFor({ id: a });
      await tags.vouchedFor({ id: b });
      await tags.vouchedFor({ id: a }); // a is now the most recent; b goes first
      await tags.vouchedFor({ id: c });
      expect(tags.cachedEntries).toBe(2);
      expect(calls()).toBe(3);
      await tags.vouchedFor({ id: a });
      expect(calls()).toBe(3);
      await tags.vouchedFor({ id: b });
      expect(calls()).toBe(4);
    } finally {
      client.destroy();
    }
  });

  it('never calls the API for an id that is not an ARN', async () => {
    const { client, calls } = await countingClient(motoEndpoint());
    try {
      const tags = new ResourceTagAttributes({ client, logger: warnings().logger });
      for (const id of ['payments-prod', 'stack/payments-prod/1', `arn:aws:s3:::${'x'.repeat(1100)}`]) {
        expect(isTaggableArn(id)).toBe(false);
        expect((await tags.vouchedFor({ id })).known).toBe(false);
      }
      expect(calls()).toBe(0);
    } finally {
      client.destroy();
    }
  });
});

describe('resource tags fail closed', () => {
  const arn = 'arn:aws:s3:::fin-ledger-prod';
  const servers: (Server | TcpServer)[] = [];
  const sockets: Socket[] = [];

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });

  async function listen(server: Server | TcpServer): Promise<string> {
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    return `http://127.0.0.1:${address.port}`;
  }

  async function expectUnknownAndWarned(endpoint: string, timeoutMs: number): Promise<number> {
    const { client, calls } = await countingClient(endpoint);
    const { logger, seen } = warnings();
    try {
      const tags = new ResourceTagAttributes({ client, logger, timeoutMs });
      const started = Date.now();
      expect(await tags.vouchedFor({ id: arn })).toEqual({ known: false, source: 'none', attributes: {} });
      const elapsed = Date.now() - started;
      expect(seen).toHaveLength(1);
      expect(seen[0]?.message).toMatch(/treated as unknown/);
      expect(seen[0]?.attributes.arn).toBe(arn);
      // A failure is not cached: the next request asks again.
      expect((await tags.vouchedFor({ id: arn })).known).toBe(false);
      expect(calls()).toBe(2);
      expect(seen).toHaveLength(2);
      return elapsed;
    } finally {
      client.destroy();
    }
  }

  it('treats the resource as unknown, and warns, when the endpoint refuses connections', async () => {
    // A port that was just free: bound, then closed, so nothing listens on it.
    const probe = createTcpServer();
    const endpoint = await listen(probe);
    await new Promise((resolve) => probe.close(resolve));
    servers.splice(servers.indexOf(probe), 1);
    await expectUnknownAndWarned(endpoint, 5_000);
  });

  it('treats the resource as unknown, and warns, when the API throttles', async () => {
    const throttling = createServer((_request, response) => {
      response.writeHead(400, {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-errortype': 'ThrottlingException',
      });
      response.end(JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }));
    });
    await expectUnknownAndWarned(await listen(throttling), 5_000);
  });

  it('gives up at its deadline, treating the resource as unknown, when the endpoint never answers', async () => {
    const silent = createTcpServer((socket) => {
      sockets.push(socket); // accepted, never answered
    });
    const elapsed = await expectUnknownAndWarned(await listen(silent), 300);
    // The deadline holds (well below the client's own 2 s request timeout, with room for a busy box).
    expect(elapsed).toBeLessThan(1_900);
  });
});

describe('resource tags decide through the default pack', () => {
  let policy: WasmPolicyEvaluator;
  let s3: S3Client;
  let client: ResourceGroupsTaggingAPIClient;

  beforeAll(async () => {
    policy = await loadDefaultPack();
    s3 = s3Client();
    client = (await countingClient(motoEndpoint())).client;
  });

  afterAll(() => {
    s3?.destroy();
    client?.destroy();
  });

  const service = (tagsOn: boolean) =>
    new ApprovalService({
      store: new SqliteRequestStore({ path: ':memory:' }),
      policy,
      clock: new ManualClock(),
      ids: ulidIds(),
      ...(tagsOn
        ? {
            attributes: inventoryThenTags(
              inventoryAttributes(() => policy.directory),
              new ResourceTagAttributes({ client, logger: warnings().logger }),
            ),
          }
        : {}),
    });

  const exportFrom = (bucketArn: string, properties: Record<string, unknown>) => ({
    action: { name: 'data.export', args: { dataset: 'ledger_2026q2', destination: 's3://partner-drop/in/' } },
    resource: { type: 'aws:s3:bucket', id: bucketArn, properties },
    context: { justification: 'Quarterly reconciliation, CHG-4821' },
  });

  const codes = (decision: { reasons: readonly { code: string }[] }) => decision.reasons.map((r) => r.code);

  it('gives a production-tagged bucket the inventory does not know the production decision, whatever the agent claims', async () => {
    const bucket = await taggedBucket(s3, { environment: 'prod', data_classification: 'internal' });
    for (const claim of [{ environment: 'sandbox' }, { environment: 'dev' }, {}]) {
      const { request } = await service(true).submit('agent:demo-exporter', exportFrom(bucket, claim));
      expect(request.status, JSON.stringify(claim)).toBe('pending');
      expect(codes(request.decision)).toEqual(['prod_data_export']);
    }
  });

  it('lets a dev-tagged bucket take the non-production path, which an agent claim of prod tightens', async () => {
    const bucket = await taggedBucket(s3, { environment: 'dev', data_classification: 'internal' });
    const dev = await service(true).submit('agent:demo-exporter', exportFrom(bucket, {}));
    expect(codes(dev.request.decision)).toEqual(['nonprod_data_export']);
    const claimedProd = await service(true).evaluate({
      subject: { id: 'agent:demo-exporter', type: 'agent' },
      ...exportFrom(bucket, { environment: 'prod' }),
      now: '2026-11-29T00:00:00.000Z',
    });
    expect(codes(claimedProd)).toEqual(['prod_data_export']);
  });

  it('decides a tagged bucket as unknown (the strictest path) when tags are off', async () => {
    const bucket = await taggedBucket(s3, { environment: 'dev', data_classification: 'internal' });
    const { request } = await service(false).submit('agent:demo-exporter', exportFrom(bucket, {}));
    expect(request.status).toBe('denied');
    expect(codes(request.decision)).toEqual(['cui_external_destination']);
  });
});

describe('resource tags in local mode', () => {
  it('reads tags from the endpoint its config names (moto) and decides on them over HTTP', async () => {
    const s3 = s3Client();
    const dir = mkdtempSync(join(tmpdir(), 'ala-local-tags-'));
    const token = `tok_${randomBytes(12).toString('hex')}`;
    const file = join(dir, 'config.json');
    writeFileSync(
      file,
      JSON.stringify({
        port: 0,
        dataDir: join(dir, 'data'),
        principals: [{ token, id: 'agent:demo-exporter' }],
        resourceTags: { region: harnessContext().region, endpoint: motoEndpoint(), timeoutMs: 5_000 },
      }),
    );
    const { config } = loadConfig(file);
    const logger = { debug() {}, info() {}, warn() {}, error() {} };
    const gateway = await startGateway(config, await loadPolicyEvaluatorFromFiles(config.policy), logger);
    try {
      const bucket = await taggedBucket(s3, { environment: 'dev', data_classification: 'internal' });
      const response = await fetch(`${gateway.url}/v1/action-requests`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          action: {
            name: 'data.export',
            args: { dataset: 'ledger_2026q2', destination: 's3://partner-drop/in/' },
          },
          resource: { type: 'aws:s3:bucket', id: bucket, properties: {} },
          context: { justification: 'Quarterly reconciliation, CHG-4821' },
        }),
      });
      const body = (await response.json()) as { status: string; decision: { reasons: { code: string }[] } };
      expect(response.status, JSON.stringify(body)).toBe(202);
      expect(body.status).toBe('pending');
      // Unknown to the inventory, dev by its tags: the non-production path (unknown would be denied as CUI).
      expect(body.decision.reasons.map((r) => r.code)).toEqual(['nonprod_data_export']);
    } finally {
      await gateway.close();
      s3.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
