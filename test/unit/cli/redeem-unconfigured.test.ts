// `ala redeem` against a gateway without a credential broker: one call, the gateway's explanation
// and a failure exit, no retries (the CLI's client retries 503s twice; a 501 must not be).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ActionRequestView } from '../../../client/index.ts';
import type { CliIo } from '../../../functions/cli/io.ts';
import { main } from '../../../functions/cli/main.ts';
import { TOKENS } from '../../support/app.ts';
import { decision, exportInput } from '../../support/fixtures.ts';
import { startGateway } from '../client/server.ts';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});
const workDir = mkdtempSync(join(tmpdir(), 'ala-cli-redeem-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

async function ala(url: string, argv: string[], stdin = '') {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: { write: (chunk: string) => (stderr += chunk) },
    env: { ALA_URL: url, ALA_TOKEN: TOKENS.agent },
    cwd: workDir,
    readStdin: async () => stdin,
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

describe('Command: ala redeem, on a gateway without a credential broker', () => {
  it('fails after one call with the configuration hint, then refuses an outcome for the unredeemed grant', async () => {
    const gateway = await startGateway({
      answer: decision({
        outcome: 'allow',
        approval: undefined,
        grant: {
          type: 'aws_sts',
          role: 'approved-data-export',
          actions: ['s3:GetObject'],
          resources: ['arn:aws-us-gov:s3:::fin-ledger-prod/ledger_2026q2/report.csv'],
          window_seconds: 300,
        },
      }),
    });
    closers.push(gateway.close);
    const submitted = await ala(gateway.url, ['request', '-', '--json'], JSON.stringify(exportInput));
    expect(submitted.code).toBe(0);
    const { id } = JSON.parse(submitted.stdout) as ActionRequestView;
    const grantCalls = () => gateway.seen.filter((s) => s.method === 'POST' && s.path.endsWith('/grant'));

    const redeem = await ala(gateway.url, ['redeem', id]);

    expect(redeem.code).not.toBe(0);
    expect(redeem.stderr).toContain('501 credentials_not_configured');
    expect(redeem.stderr).toContain('Configure one');
    expect(redeem.stderr).not.toContain('can be retried');
    expect(grantCalls()).toHaveLength(1);

    const outcome = await ala(gateway.url, ['outcome', id, 'succeeded']);
    expect(outcome.code).not.toBe(0);
    expect(outcome.stderr).toContain('grant_not_redeemed');
  });
});
