/**
 * The local gateway process and its policy bundle: reload under load (SIGHUP), a broken bundle
 * refused while the old one keeps serving, refusals at start, shadow mode and the decision log.
 */
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type GatewayProcess, PRINCIPALS, startGatewayProcess } from '../../support/gateway-process.ts';
import { signedBundleCopy, type TestKeys, testKeys } from '../../support/signed-bundle.ts';

const running: GatewayProcess[] = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()?.stop();
});

interface Setup {
  readonly dir: string;
  readonly keys: TestKeys;
  readonly bundleDir: string;
  readonly config: string;
  readonly decisionLog: string;
}

function setup(
  policyExtra: Record<string, unknown> = {},
  edit?: (data: Record<string, unknown>) => void,
): Setup {
  const dir = mkdtempSync(join(tmpdir(), 'ala-reload-'));
  const keys = testKeys(dir);
  const bundle = signedBundleCopy(keys, edit, join(dir, 'bundle'));
  const decisionLog = join(dir, 'decisions.jsonl');
  const config = join(dir, 'gateway.json');
  writeFileSync(
    config,
    JSON.stringify({
      port: 0,
      dataDir: join(dir, 'data'),
      // Two processes: a reload must reach both, and both decide with one digest.
      workers: 2,
      // The load below submits as fast as it is answered: on a fast machine it would reach the
      // default limits (120 submissions a minute, 100 pending), which are not what is tested here.
      limits: { callsPerMinute: 1_000_000, submissionsPerMinute: 100_000, maxPending: 1_000_000 },
      logLevel: 'info',
      principals: Object.values(PRINCIPALS),
      policy: {
        wasm: bundle.wasm,
        data: bundle.data,
        verificationKey: keys.publicKeyPath,
        decisionLog,
        ...policyExtra,
      },
    }),
  );
  return { dir, keys, bundleDir: bundle.dir, config, decisionLog };
}

/** Non-production data exports need two approvals instead of one: a decision that shows the swap. */
function tightened(data: Record<string, unknown>): void {
  const profiles = data.approval_profiles as Record<string, { min_approvals: number }>;
  (profiles.data_export_nonprod as { min_approvals: number }).min_approvals = 2;
}

/** Replaces the live bundle's files by renames, as a deploy tool would. */
function install(from: string, to: string): void {
  for (const file of ['policy.wasm', 'data.json', '.manifest', '.signatures.json']) {
    copyFileSync(join(from, file), join(to, `${file}.next`));
    renameSync(join(to, `${file}.next`), join(to, file));
  }
}

const devExport = (n: number) => ({
  action: { name: 'data.export', args: { dataset: `d${n}`, destination: 's3://agency-internal-archive/x/' } },
  resource: { type: 'aws:s3:bucket', id: `arn:aws:s3:::dev-reload-${n}` },
  context: { justification: `reload ${n}` },
});

async function until(probe: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function logLines(gw: GatewayProcess, message: string): Record<string, unknown>[] {
  return gw
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{') && line.includes(`"${message}"`))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('Local gateway policy reload', () => {
  it('keeps answering during a SIGHUP reload; every decision names its digest; a broken bundle leaves the new one serving', async () => {
    const s = setup();
    const gw = await startGatewayProcess(s.config);
    running.push(gw);

    const answers: { status: number; digest: string; min?: number; at: number }[] = [];
    let stop = false;
    let n = 0;
    const worker = async () => {
      while (!stop) {
        const res = await gw.call('agent', 'POST', '/v1/action-requests', devExport(n++));
        const view = (await res.json()) as {
          decision?: { policy_digest: string };
          approval?: { required: number };
        };
        answers.push({
          status: res.status,
          digest: view.decision?.policy_digest ?? '',
          ...(view.approval ? { min: view.approval.required } : {}),
          at: Date.now(),
        });
      }
    };
    const load = Promise.all([worker(), worker()]);
    await until(() => answers.length >= 20, 'submissions before the reload');
    const oldDigest = answers[0]?.digest as string;

    // A new, validly signed bundle, then SIGHUP.
    const next = signedBundleCopy(s.keys, tightened, join(s.dir, 'next'));
    install(next.dir, s.bundleDir);
    gw.child.kill('SIGHUP');
    await until(() => logLines(gw, 'policy reloaded').length === 1, 'the reload log line');
    const reloaded = logLines(gw, 'policy reloaded')[0] as { previousDigest: string; digest: string };
    const reloadedAt = Date.now();
    expect(reloaded.previousDigest).toBe(oldDigest);
    const newDigest = reloaded.digest;
    expect(newDigest).not.toBe(oldDigest);
    await until(() => answers.filter((a) => a.at > reloadedAt).length >= 20, 'submissions after the reload');

    // A tampered bundle: data changed after signing. Refused; the new bundle keeps serving.
    const data = JSON.parse(readFileSync(join(s.bundleDir, 'data.json'), 'utf8')) as Record<string, unknown>;
    (data.groups as Record<string, string[]>)['data-owners']?.push('user:mallory@example.gov');
    writeFileSync(join(s.bundleDir, 'data.json.next'), JSON.stringify(data));
    renameSync(join(s.bundleDir, 'data.json.next'), join(s.bundleDir, 'data.json'));
    gw.child.kill('SIGHUP');
    await until(
      () => logLines(gw, 'policy reload refused; the previous bundle keeps serving').length === 1,
      'the refusal',
    );
    const refusal = logLines(gw, 'policy reload refused; the previous bundle keeps serving')[0] as {
      digest: string;
      error: string;
    };
    expect(refusal.digest).toBe(newDigest);
    expect(refusal.error).toMatch(/data\.json does not match its signature/);
    const refusedAt = Date.now();
    await until(() => answers.filter((a) => a.at > refusedAt).length >= 20, 'submissions after the refusal');
    stop = true;
    await load;
    process.stdout.write(
      `reload under load: ${answers.length} submissions answered, ${answers.filter((a) => a.digest === oldDigest).length} with the old bundle\n`,
    );

    expect(answers.every((a) => a.status === 202)).toBe(true);
    expect(new Set(answers.map((a) => a.digest))).toEqual(new Set([oldDigest, newDigest]));
    for (const a of answers) expect(a.min).toBe(a.digest === oldDigest ? 1 : 2);
    // Once the reload was logged, nothing is decided with the old bundle, nor with the tampered one.
    expect(answers.filter((a) => a.at > reloadedAt + 50).every((a) => a.digest === newDigest)).toBe(true);

    // The decision log has one line per submission, each with the digest its decision names.
    await gw.stop();
    const logged = readFileSync(s.decisionLog, 'utf8')
      .trim()
      .split('\n')
      .map(
        (line) =>
          JSON.parse(line) as {
            custom: { policy_digest: string };
            bundles: { approvals: { revision: string } };
          },
      );
    expect(logged).toHaveLength(answers.length);
    expect(logged.every((l) => l.custom.policy_digest === l.bundles.approvals.revision)).toBe(true);
    expect(logged.filter((l) => l.custom.policy_digest === newDigest).length).toBe(
      answers.filter((a) => a.digest === newDigest).length,
    );
    rmSync(s.dir, { recursive: true, force: true });
  }, 180_000);

  it('with "watch" reloads when new bundle files are renamed into place, again and again', async () => {
    const s = setup({ watch: true });
    const gw = await startGatewayProcess(s.config);
    running.push(gw);
    const first = signedBundleCopy(s.keys, tightened, join(s.dir, 'first'));
    install(first.dir, s.bundleDir);
    await until(() => logLines(gw, 'policy reloaded').length >= 1, 'the first reload');
    const second = signedBundleCopy(
      s.keys,
      (data) => {
        tightened(data);
        (data.groups as Record<string, string[]>)['data-owners']?.push('user:zoe@example.gov');
      },
      join(s.dir, 'second'),
    );
    install(second.dir, s.bundleDir);
    // Two bundles, two digests: both reloads happened, the second after the first file replacement.
    await until(
      () => new Set(logLines(gw, 'policy reloaded').map((l) => l.digest)).size >= 2,
      'a second reload with a new digest',
    );
    expect(logLines(gw, 'policy reloaded').every((l) => l.trigger === 'file change')).toBe(true);
    const res = await gw.call('agent', 'POST', '/v1/action-requests', devExport(7));
    const view = (await res.json()) as { decision: { policy_digest: string } };
    const digests = logLines(gw, 'policy reloaded').map((l) => l.digest);
    expect(view.decision.policy_digest).toBe(digests[digests.length - 1]);
  }, 90_000);

  it('refuses to start on a tampered bundle, and says which file', async () => {
    const s = setup();
    const wasm = readFileSync(join(s.bundleDir, 'policy.wasm'));
    wasm[wasm.length - 1] = (wasm[wasm.length - 1] ?? 0) ^ 0x01;
    writeFileSync(join(s.bundleDir, 'policy.wasm'), wasm);
    await expect(startGatewayProcess(s.config)).rejects.toThrow(
      /exited with 2[\s\S]*policy\.wasm does not match its signature/,
    );
  }, 60_000);

  it('refuses to start with principals but no verification key, naming the setting', async () => {
    const s = setup();
    const config = JSON.parse(readFileSync(s.config, 'utf8')) as { policy: Record<string, unknown> };
    delete config.policy.verificationKey;
    writeFileSync(s.config, JSON.stringify(config));
    await expect(startGatewayProcess(s.config)).rejects.toThrow(/policy\.verificationKey is not set/);
  }, 60_000);

  it('refuses the public demo key when principals are configured', async () => {
    const s = setup({ verificationKey: join(process.cwd(), 'policies/keys/demo-verification-key.pem') });
    await expect(startGatewayProcess(s.config)).rejects.toThrow(/is the public demo key/);
  }, 60_000);

  it('in shadow mode records the candidate verdict in policy.evaluated and acts on the active bundle', async () => {
    const s = setup();
    // The candidate is signed with the configured key too: the gateway loads only signed bundles.
    const shadow = signedBundleCopy(s.keys, tightened, join(s.dir, 'candidate'));
    const config = JSON.parse(readFileSync(s.config, 'utf8')) as { policy: Record<string, unknown> };
    config.policy.shadow = { wasm: shadow.wasm, data: shadow.data };
    writeFileSync(s.config, JSON.stringify(config));
    const gw = await startGatewayProcess(s.config);
    running.push(gw);
    expect(gw.output()).toMatch(/shadow\s+\S+ \(sha256:[0-9a-f]{64}\)/);

    const res = await gw.call('agent', 'POST', '/v1/action-requests', devExport(1));
    expect(res.status).toBe(202);
    const view = (await res.json()) as { id: string; approval: { required: number } };
    expect(view.approval.required).toBe(1);
    const audit = (await (await gw.call('agent', 'GET', `/v1/action-requests/${view.id}/audit`)).json()) as {
      events: {
        type: string;
        data: { shadow?: { diverged: boolean; changes: string[]; min_approvals: number } };
      }[];
    };
    const evaluated = audit.events.find((e) => e.type === 'policy.evaluated');
    expect(evaluated?.data.shadow).toMatchObject({
      diverged: true,
      changes: ['quorum 1→2'],
      min_approvals: 2,
    });
    await until(() => logLines(gw, 'policy shadow divergence').length === 1, 'the divergence log line');
  }, 60_000);
});
