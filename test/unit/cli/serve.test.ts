import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionRequestView, EvaluationView } from '../../../client/index.ts';
import type { CliIo } from '../../../functions/cli/io.ts';
import { main } from '../../../functions/cli/main.ts';
import { PROD_CUI_EXPORT } from '../../fixtures/requests.ts';

const ROOT = join(import.meta.dirname, '../../..');
const workDir = mkdtempSync(join(tmpdir(), 'ala-serve-'));

let child: ChildProcess | undefined;
let url = '';
const tokens = new Map<string, string>();

/** Starts `node bin/ala.js serve` in demo mode and reads its URL and demo tokens from the banner. */
beforeAll(async () => {
  const env = { ...process.env };
  delete env.ALA_CONFIG;
  child = spawn(
    process.execPath,
    ['bin/ala.js', 'serve', '--port', '0', '--data-dir', join(workDir, 'data')],
    {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let banner = '';
  let errors = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    errors += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${banner}\n${errors}`)), 30_000);
    child?.stdout?.on('data', (chunk: Buffer) => {
      banner += chunk.toString();
      const listening = /listening on (http:\/\/\S+)/.exec(banner);
      if (listening?.[1] && /demo mode[\s\S]*\n\s+agent:demo-exporter\s+\S+/.test(banner)) {
        url = listening[1];
        for (const match of banner.matchAll(/^\s{4}(\S+:\S+)\s+(\S+)$/gm)) {
          if (match[1] && match[2]) tokens.set(match[1], match[2]);
        }
        clearTimeout(timer);
        resolve();
      }
    });
    child?.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code}:\n${banner}\n${errors}`));
    });
  });
}, 40_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child?.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  rmSync(workDir, { recursive: true, force: true });
});

async function ala(argv: string[], as: string) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: { write: (chunk: string) => (stderr += chunk) },
    env: { ALA_URL: url, ALA_TOKEN: tokens.get(as) ?? '' },
    cwd: workDir,
    readStdin: async () => '',
  };
  return { code: await main(argv, io), stdout, stderr };
}

describe('CLI: ala serve', () => {
  it('runs the local gateway with the default bundle and prints demo tokens', async () => {
    const health = await fetch(`${url}/healthz`);

    expect(health.status).toBe(200);
    expect(tokens.get('agent:demo-exporter')).toMatch(/^ala_demo_/);
  });

  it('answers policy eval on the gateway exactly as the offline evaluator of the same bundle', async () => {
    writeFileSync(join(workDir, 'input.json'), JSON.stringify(PROD_CUI_EXPORT));

    const online = await ala(['policy', 'eval', 'input.json', '--json'], 'agent:demo-exporter');
    const offline = await ala(
      ['policy', 'eval', 'input.json', '--offline', '--as', 'agent:demo-exporter', '--json'],
      'agent:demo-exporter',
    );

    expect(online.code).toBe(0);
    expect(offline.code).toBe(0);
    const remote = JSON.parse(online.stdout) as EvaluationView;
    const local = JSON.parse(offline.stdout) as EvaluationView;
    expect(local.policy_digest).toBe(remote.policy_digest);
    expect(local.action_hash).toBe(remote.action_hash);
    expect(local.outcome).toBe(remote.outcome);
    expect(local.reasons).toEqual(remote.reasons);
  });

  it('takes a request from the agent and shows it to the approvers the policy names', async () => {
    const submitted = await ala(
      ['request', 'input.json', '--on-behalf-of', 'user:alice@example.gov', '--json'],
      'agent:demo-exporter',
    );
    const request = JSON.parse(submitted.stdout) as ActionRequestView;
    const approvers = [...tokens.keys()].filter((id) => id.startsWith('user:'));
    const listings = await Promise.all(approvers.map((id) => ala(['pending', '--json'], id)));
    const reviewers = approvers.filter((_, i) => listings[i]?.stdout.includes(request.id));

    expect(submitted.code).toBe(0);
    expect(request.status).toBe('pending');
    expect(reviewers.length).toBeGreaterThanOrEqual(request.approval?.required ?? 1);
    expect(reviewers).not.toContain('user:alice@example.gov');
    expect((await ala(['audit', 'verify', request.id], 'agent:demo-exporter')).code).toBe(0);
  });
});
