/**
 * Redemption latency of an `aws_sts` grant against moto's STS, beside the bare AssumeRole call the
 * broker makes: what the gateway adds (policy build, reads, the conditional commit, HTTP) on top
 * of STS. The real local gateway (SQLite on disk, default policy bundle) runs in this process;
 * each redemption is of a freshly approved request (setup not timed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { type LocalConfig, LocalConfigSchema } from '../functions/local/config.ts';
import { startGateway } from '../functions/local/gateway.ts';
import { silentLogger } from '../functions/observability/logger.ts';
import { loadPolicyEvaluatorFromFiles } from '../functions/policy/files.ts';
import { PROD_CUI_EXPORT } from '../test/fixtures/requests.ts';
import { startMotoServer } from '../test/harness/emulators.ts';

const ROOT = resolve(import.meta.dirname, '..');
const ROUNDS = Number(process.env.BENCH_REDEEM_ROUNDS ?? 200);
const ACCOUNT = '123456789012';
const TOKENS = {
  agent: 'bench-agent-token-0123456789',
  bob: 'bench-bob-token-0123456789',
  carol: 'bench-carol-token-0123456789',
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function summary(name: string, samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const f = (n: number) => `${n.toFixed(2)} ms`;
  return `${name.padEnd(34)} p50 ${f(percentile(sorted, 50))}  p99 ${f(percentile(sorted, 99))}  (n=${samples.length})`;
}

process.env.AWS_ACCESS_KEY_ID ??= 'testing';
process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
const moto = await startMotoServer();
const dataDir = mkdtempSync(join(tmpdir(), 'ala-bench-creds-'));
try {
  const parsed = LocalConfigSchema.parse({
    port: 0,
    dataDir,
    policy: {
      wasm: join(ROOT, 'policies/build/policy.wasm'),
      data: join(ROOT, 'policies/build/data.json'),
    },
    principals: [
      { token: TOKENS.agent, id: 'agent:demo-exporter' },
      { token: TOKENS.bob, id: 'user:bob@example.gov' },
      { token: TOKENS.carol, id: 'user:carol@example.gov' },
    ],
    logLevel: 'error',
    credentials: {
      sts: {
        partition: 'aws-us-gov',
        accountId: ACCOUNT,
        region: 'us-gov-west-1',
        allowedRoles: ['approved-data-export'],
        endpoint: moto.endpoint,
      },
    },
  });
  const config: LocalConfig = { ...parsed, principals: parsed.principals ?? [] };
  const policy = await loadPolicyEvaluatorFromFiles(config.policy, { logger: silentLogger });
  const gateway = await startGateway(config, policy, silentLogger);
  const call = async (who: keyof typeof TOKENS, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gateway.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TOKENS[who]}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  const approved = async () => {
    const { body } = await call('agent', 'POST', '/v1/action-requests', PROD_CUI_EXPORT);
    const vote = { decision: 'approve', action_hash: body.action_hash };
    for (const who of ['bob', 'carol'] as const) {
      const answer = await call(who, 'POST', `/v1/action-requests/${body.id}/decisions`, vote);
      if (answer.status !== 200)
        throw new Error(`vote answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    }
    return body.id as string;
  };

  const redeem: number[] = [];
  for (let i = 0; i < ROUNDS + 10; i++) {
    const id = await approved();
    const started = performance.now();
    const answer = await call('agent', 'POST', `/v1/action-requests/${id}/grant`);
    const elapsed = performance.now() - started;
    if (answer.status !== 200 || !answer.body.credentials) {
      throw new Error(`redeem answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    }
    if (i >= 10) redeem.push(elapsed); // the first ten warm the JIT and connections
  }
  await gateway.close();

  const sts = new STSClient({ region: 'us-gov-west-1', endpoint: moto.endpoint, maxAttempts: 1 });
  const bare: number[] = [];
  const policyJson = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ApprovedAction',
        Effect: 'Allow',
        Action: ['s3:GetObject'],
        Resource: ['arn:aws-us-gov:s3:::fin-ledger-prod/ledger_2026q2/*'],
        Condition: { DateLessThan: { 'aws:CurrentTime': new Date(Date.now() + 300_000).toISOString() } },
      },
    ],
  });
  for (let i = 0; i < ROUNDS + 10; i++) {
    const started = performance.now();
    await sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws-us-gov:iam::${ACCOUNT}:role/approved-data-export`,
        RoleSessionName: `bench-${i}`,
        DurationSeconds: 900,
        Policy: policyJson,
        SourceIdentity: 'agent.demo-exporter',
        Tags: [
          { Key: 'principal', Value: 'agent:demo-exporter' },
          { Key: 'request_id', Value: `bench-${i}` },
          { Key: 'action_hash', Value: 'sha256:0' },
        ],
      }),
    );
    if (i >= 10) bare.push(performance.now() - started);
  }
  sts.destroy();

  console.log(summary('bare AssumeRole (moto)', bare));
  console.log(summary('redeem aws_sts grant (HTTP, moto)', redeem));
} finally {
  await moto.dispose();
  rmSync(dataDir, { recursive: true, force: true });
}
