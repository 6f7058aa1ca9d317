import { describe, expect, it } from 'vitest';
import type { GrantView } from '../../../client/index.ts';
import { formatCredentialsEnv, safe } from '../../../functions/cli/format.ts';
import { Progress } from '../../../functions/cli/io.ts';

function stream(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, isTTY, columns: 80, write: (chunk: string) => chunks.push(chunk) };
}

describe('Class: Progress', () => {
  it('draws a self-rewriting line on a terminal and clears it when stopped', async () => {
    const tty = stream(true);
    const progress = new Progress(tty, 'auto');

    progress.start('waiting for a decision on ar_1');
    await new Promise((resolve) => setTimeout(resolve, 250));
    progress.update('waiting for a decision on ar_1 (1 of 2 approvals)');
    await new Promise((resolve) => setTimeout(resolve, 150));
    progress.stop();

    expect(tty.chunks.length).toBeGreaterThan(2);
    expect(tty.chunks[0]?.startsWith('\r\x1b[2K')).toBe(true);
    expect(tty.chunks[0]).toMatch(/. waiting for a decision on ar_1 \(0s\)$/);
    expect(tty.chunks.some((c) => c.includes('(1 of 2 approvals)'))).toBe(true);
    expect(tty.chunks.at(-1)).toBe('\r\x1b[2K');
  });

  it('prints a plain line per change when stderr is not a terminal, not one per poll', () => {
    const pipe = stream(false);
    const progress = new Progress(pipe, 'auto');

    progress.start('waiting for 2 more approvals');
    progress.update('waiting for 2 more approvals');
    progress.update('waiting for 1 more approval');
    progress.stop();

    expect(pipe.chunks).toEqual(['waiting for 2 more approvals\n', 'waiting for 1 more approval\n']);
  });

  it('prints nothing in a pipe with --json (stderr carries JSON errors), nor when off', () => {
    const pipe = stream(false);
    const tty = stream(true);

    for (const progress of [new Progress(pipe, 'terminal'), new Progress(tty, 'off')]) {
      progress.start('waiting');
      progress.update('still waiting');
      progress.stop();
    }

    expect(pipe.chunks).toEqual([]);
    expect(tty.chunks).toEqual([]);
  });

  it('still draws on a terminal with --json, where it does not touch stdout', () => {
    const tty = stream(true);
    const progress = new Progress(tty, 'terminal');

    progress.start('waiting');
    progress.stop();

    expect(tty.chunks[0]?.startsWith('\r\x1b[2K')).toBe(true);
    expect(tty.chunks[0]).toMatch(/. waiting \(0s\)$/);
    expect(tty.chunks.at(-1)).toBe('\r\x1b[2K');
  });
});

describe('Function: formatCredentialsEnv', () => {
  it('single-quotes values so a shell eval runs nothing from them', () => {
    const grant: GrantView = {
      request_id: 'ar_1',
      action_hash: `sha256:${'a'.repeat(64)}`,
      grant: { type: 'aws_sts', role: 'r' },
      credentials: {
        access_key_id: 'ASIAEXAMPLE',
        secret_access_key: "it's$(rm -rf ~)",
        session_token: 'token`id`',
        expiration: '2026-11-22T11:00:00Z',
        usable_until: '2026-11-22T10:05:00Z',
        region: 'us-gov-west-1',
      },
      agent_message: 'm',
    };

    expect(formatCredentialsEnv(grant).split('\n')).toEqual([
      "export AWS_ACCESS_KEY_ID='ASIAEXAMPLE'",
      "export AWS_SECRET_ACCESS_KEY='it'\\''s$(rm -rf ~)'",
      "export AWS_SESSION_TOKEN='token`id`'",
      "export AWS_REGION='us-gov-west-1'",
    ]);
  });
});

describe('Function: safe', () => {
  it('escapes ANSI, C1, bidi and zero-width characters and keeps ordinary text', () => {
    expect(safe('café ✓ ok')).toBe('café ✓ ok');
    expect(safe('a\u001b[31mb')).toBe('a\\u{001b}[31mb');
    expect(safe('x\u009by')).toBe('x\\u{009b}y');
    expect(safe('pay\u202Eusd')).toBe('pay\\u{202e}usd');
    expect(safe('zero\u200Bwidth')).toBe('zero\\u{200b}width');
  });
});
