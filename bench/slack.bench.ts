/**
 * Slack latencies against the local Slack Web API stand-in (test/support/slack-stand-in.ts), with the
 * real local gateway (SQLite on disk, default policy bundle) in this process:
 *
 * - submit → card posted: from sending the submission until the stand-in receives chat.postMessage;
 * - click → waiting agent answered: from sending a signed Approve click until the agent's long-poll
 *   (`GET …?wait=25`, already waiting) returns the approved request;
 * - the click's HTTP answer: what Slack waits for (it gives up after 3 s).
 *
 * Targets: both the first two p99 ≤ 100 ms; the click's answer far inside 3 s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type LocalConfig, LocalConfigSchema } from '../functions/local/config.ts';
import { startGateway } from '../functions/local/gateway.ts';
import { silentLogger } from '../functions/observability/logger.ts';
import { loadPolicyEvaluatorFromFiles } from '../functions/policy/files.ts';
import { buttonClick, SlackStandIn, signedInteraction } from '../test/support/slack-stand-in.ts';

const ROOT = resolve(import.meta.dirname, '..');
const ROUNDS = Number(process.env.BENCH_SLACK_ROUNDS ?? 200);
const AGENT = 'bench-agent-token-0123456789';
const BOB = 'bench-bob-token-0123456789';
const SIGNING_SECRET = 'bench-signing-secret-0123456789';
const BOT_TOKEN = 'xoxb-bench-standin';
const CHANNEL = 'C0BENCH';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function summary(name: string, samples: number[], target?: number): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const f = (n: number) => `${n.toFixed(2)} ms`;
  const p99 = percentile(sorted, 99);
  const verdict =
    target === undefined
      ? ''
      : p99 <= target
        ? `  (target p99 ≤ ${target} ms: met)`
        : `  (target p99 ≤ ${target} ms: NOT met)`;
  return `${name.padEnd(34)} p50 ${f(percentile(sorted, 50))}  p99 ${f(p99)}  max ${f(sorted.at(-1) ?? Number.NaN)}  (n=${samples.length})${verdict}`;
}

const slack = await SlackStandIn.start({ botToken: BOT_TOKEN });
const dataDir = mkdtempSync(join(tmpdir(), 'ala-bench-slack-'));
try {
  const parsed = LocalConfigSchema.parse({
    port: 0,
    dataDir,
    policy: { wasm: join(ROOT, 'policies/build/policy.wasm'), data: join(ROOT, 'policies/build/data.json') },
    principals: [
      { token: AGENT, id: 'agent:demo-exporter' },
      { token: BOB, id: 'user:bob@example.gov' },
    ],
    logLevel: 'error',
    slack: { signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN, apiUrl: slack.url, channel: CHANNEL },
  });
  const config: LocalConfig = { ...parsed, principals: parsed.principals ?? [] };
  const policy = await loadPolicyEvaluatorFromFiles(config.policy, { logger: silentLogger });
  const gateway = await startGateway(config, policy, silentLogger);
  const agent = (method: string, path: string, body?: unknown) =>
    fetch(`${gateway.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${AGENT}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  // Non-production export: one data-owner approval decides it.
  const request = (n: number) => ({
    action: {
      name: 'data.export',
      args: { dataset: `sample_${n}`, destination: 's3://agency-internal-archive/x/' },
    },
    resource: { type: 'aws:s3:bucket', id: 'arn:aws:s3:::dev-bucket', properties: { environment: 'dev' } },
    context: { justification: `Refresh the staging sample, CHG-${n}` },
  });

  const posted: number[] = [];
  const answered: number[] = [];
  const clickAnswer: number[] = [];
  const warmup = 20;
  for (let n = 0; n < ROUNDS + warmup; n++) {
    const started = performance.now();
    const submitted = await agent('POST', '/v1/action-requests', request(n));
    const view = (await submitted.json()) as { id: string; action_hash: string };
    if (submitted.status !== 202)
      throw new Error(`submit answered ${submitted.status}: ${JSON.stringify(view)}`);
    const card = await slack.waitForCall('chat.postMessage', (call) =>
      String(call.args.text).includes(view.id),
    );
    // Let the notification.sent record land before the vote, as it would for a person.
    await new Promise((r) => setTimeout(r, 2));

    const waiting = agent('GET', `/v1/action-requests/${view.id}?wait=25`);
    // The long-poll is registered once its first read returned; give it that moment (not timed).
    await new Promise((r) => setTimeout(r, 5));
    const signed = signedInteraction(
      SIGNING_SECRET,
      buttonClick({
        user: 'U0DEMOBOB',
        actionId: 'ala.approve',
        value: `${view.id} ${view.action_hash}`,
        channel: CHANNEL,
        ts: String(card.args.ts ?? ''),
      }),
    );
    const clicked = performance.now();
    const clickResponse = await fetch(`${gateway.url}/v1/integrations/slack/interactions`, {
      method: 'POST',
      headers: signed.headers,
      body: signed.body,
    });
    const clickDone = performance.now();
    await clickResponse.arrayBuffer();
    if (clickResponse.status !== 200) throw new Error(`click answered ${clickResponse.status}`);
    const final = (await (await waiting).json()) as { status: string };
    const agentDone = performance.now();
    if (final.status !== 'approved') throw new Error(`the agent was answered ${final.status}`);
    if (n >= warmup) {
      posted.push(card.at - started);
      answered.push(agentDone - clicked);
      clickAnswer.push(clickDone - clicked);
    }
  }
  // The same vote through the API, for comparison: what the Slack path adds on top of a vote.
  const apiVote: number[] = [];
  for (let n = 0; n < Math.min(ROUNDS, 100); n++) {
    const submitted = await agent('POST', '/v1/action-requests', request(100_000 + n));
    const view = (await submitted.json()) as { id: string; action_hash: string };
    await slack.waitForCall('chat.postMessage', (call) => String(call.args.text).includes(view.id));
    const started = performance.now();
    const voted = await fetch(`${gateway.url}/v1/action-requests/${view.id}/decisions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BOB}`, 'content-type': 'application/json' },
      body: JSON.stringify({ decision: 'approve', action_hash: view.action_hash }),
    });
    await voted.arrayBuffer();
    apiVote.push(performance.now() - started);
    if (voted.status !== 200) throw new Error(`API vote answered ${voted.status}`);
  }
  await gateway.close();
  if (slack.violations.length > 0)
    throw new Error(`Slack limits broken: ${JSON.stringify(slack.violations[0])}`);
  console.log(summary('submit → card posted', posted, 100));
  console.log(summary('click → waiting agent answered', answered, 100));
  console.log(summary("click's HTTP answer (Slack: 3 s)", clickAnswer, 3000));
  console.log(summary('the same vote through the API', apiVote));
} finally {
  await slack.close();
  rmSync(dataDir, { recursive: true, force: true });
}
