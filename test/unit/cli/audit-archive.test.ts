import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ActionRequestView } from '../../../client/index.ts';
import { SqliteRequestStore } from '../../../functions/adapters/sqlite/sqlite-store.ts';
import { ulidIds } from '../../../functions/adapters/system/system.ts';
import type { CliIo } from '../../../functions/cli/io.ts';
import { main } from '../../../functions/cli/main.ts';
import type { ArchiveReport } from '../../../functions/core/audit-archive.ts';
import * as lifecycle from '../../../functions/core/lifecycle.ts';
import type { AuditEvent } from '../../../functions/core/model.ts';
import { TOKENS } from '../../support/app.ts';
import { decision, exportInput } from '../../support/fixtures.ts';
import { startGateway } from '../client/server.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const workDir = mkdtempSync(join(tmpdir(), 'ala-cli-archive-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

async function ala(argv: string[], env: Record<string, string> = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: { write: (chunk: string) => (stderr += chunk) },
    env,
    cwd: workDir,
    readStdin: async () => '',
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

describe('ala audit verify <id> (online)', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (closers.length > 0) await closers.pop()?.();
  });

  async function cancelledRequest() {
    const gateway = await startGateway();
    closers.push(gateway.close);
    const env = (who: keyof typeof TOKENS) => ({ ALA_URL: gateway.url, ALA_TOKEN: TOKENS[who] });
    const submitted = await ala(
      [
        'request',
        '--json',
        '--action',
        'data.export',
        '--resource-type',
        'aws:s3:bucket',
        '--resource-id',
        'arn:aws-us-gov:s3:::fin-ledger-prod',
        '--justification',
        'Quarterly reconciliation, CHG-4821',
      ],
      env('agent'),
    );
    const { id } = JSON.parse(submitted.stdout) as ActionRequestView;
    expect((await ala(['cancel', id], env('agent'))).code).toBe(0);
    const events = gateway.store.db
      .prepare<[string], { seq: number; hash: string }>(
        'SELECT seq, hash FROM audit_events WHERE request_id = ? ORDER BY seq',
      )
      .all(id);
    return { gateway, id, events, env: env('audrey') };
  }

  it('finds a deleted last event: the chain no longer reaches the head the request record keeps', async () => {
    const { gateway, id, events, env } = await cancelledRequest();
    const intact = await ala(['audit', 'verify', id], env);
    // Someone with database access removes the last event (the triggers refuse it, so drop them first).
    gateway.store.db.exec('DROP TRIGGER audit_events_no_delete');
    gateway.store.db
      .prepare('DELETE FROM audit_events WHERE request_id = ? AND seq = ?')
      .run(id, events.length);
    const cut = await ala(['audit', 'verify', id, '--json'], env);

    expect(intact.code).toBe(0);
    expect(intact.stdout).toContain(`${events.length} events, chain intact`);
    expect(cut.code).toBe(1);
    const report = JSON.parse(cut.stdout) as {
      ok: boolean;
      chains: { problems: { seq: number; code: string }[] }[];
    };
    expect(report.ok).toBe(false);
    expect(report.chains[0]?.problems).toContainEqual(
      expect.objectContaining({ code: 'head_mismatch', seq: events.length }),
    );
  });

  it('holds the chain to --expect-seq and --expect-head, and refuses malformed or orphaned expectations', async () => {
    const { id, events, env } = await cancelledRequest();
    const last = events.at(-1) as { seq: number; hash: string };
    const right = await ala(
      ['audit', 'verify', id, '--expect-seq', String(last.seq), '--expect-head', last.hash],
      env,
    );
    const longer = await ala(['audit', 'verify', id, '--expect-seq', String(last.seq + 1)], env);
    const otherHead = await ala(['audit', 'verify', id, '--expect-head', `sha256:${'0'.repeat(64)}`], env);
    const malformed = await ala(['audit', 'verify', id, '--expect-head', 'abc'], env);
    const noId = await ala(['audit', 'verify', '--expect-seq', '3'], env);

    expect(right.code).toBe(0);
    expect(longer.code).toBe(1);
    expect(longer.stdout).toContain(
      `expected the chain to end at seq ${last.seq + 1}, but it ends at seq ${last.seq}`,
    );
    expect(otherHead.code).toBe(1);
    expect(otherHead.stdout).toContain('expected the head sha256:0000');
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('--expect-head expects sha256: and 64 lowercase hex digits');
    expect(noId.code).toBe(2);
    expect(noId.stderr).toContain('give its id too');
  });
});

describe('ala audit export and verify --archive (local mode)', () => {
  const db = join(workDir, 'gateway.db');
  const ids: string[] = [];
  const chains = new Map<string, AuditEvent[]>();
  let exported: Run;

  beforeAll(async () => {
    const store = new SqliteRequestStore({ path: db });
    const idSource = ulidIds();
    for (let i = 0; i < 5; i++) {
      const created = lifecycle.submit({
        id: idSource.requestId(),
        subject: lifecycle.subjectOf('agent:demo-exporter'),
        input: exportInput,
        decision: decision(),
        now: new Date(),
      });
      await store.commit(created);
      const notified = lifecycle.recordNotification(
        created.request,
        { channel: 'slack', recipients: ['data-owners'] },
        new Date(),
      );
      await store.commit(notified);
      await store.commit(lifecycle.cancel(notified.request, 'agent:demo-exporter', new Date()));
      ids.push(created.request.id);
      chains.set(created.request.id, [...(await store.listEvents(created.request.id))]);
    }
    store.db.close();
    exported = await ala(['audit', 'export', '--db', 'gateway.db', '--out', 'export', '--json']);
  });

  /** A fresh copy of the export to tamper with. */
  function copy(name: string): string {
    const target = join(workDir, name);
    rmSync(target, { recursive: true, force: true });
    cpSync(join(workDir, 'export'), target, { recursive: true });
    return target;
  }

  /** The one events file of the export (5 requests × a handful of events fit one object). */
  function eventsFile(dir: string): string {
    const found: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else if (e.name.endsWith('.jsonl')) found.push(join(d, e.name));
      }
    };
    walk(join(dir, 'events'));
    expect(found).toHaveLength(1);
    return found[0] as string;
  }

  function tamper(name: string, edit: (lines: string[]) => string[]): string {
    const dir = copy(name);
    const file = eventsFile(dir);
    const lines = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    writeFileSync(file, `${edit(lines).join('\n')}\n`);
    return name;
  }

  /** Index of the line holding (request, seq). */
  function lineOf(lines: string[], requestId: string, seq: number): number {
    return lines.findIndex((l) => {
      const data = (JSON.parse(l) as { data: AuditEvent }).data;
      return data.request_id === requestId && data.seq === seq;
    });
  }

  async function verdict(dir: string): Promise<{ run: Run; report: ArchiveReport }> {
    const run = await ala(['audit', 'verify', '--archive', dir, '--json']);
    return { run, report: JSON.parse(run.stdout) as ArchiveReport };
  }

  const problem = (report: ArchiveReport, id: string) => report.requests.find((r) => r.request_id === id);

  it('exports the SQLite log to the archive layout, which verifies complete', async () => {
    const run = await ala(['audit', 'verify', '--archive', 'export']);
    const total = [...chains.values()].reduce((n, c) => n + c.length, 0);

    expect(exported.code).toBe(0);
    expect(JSON.parse(exported.stdout)).toMatchObject({ objects: 1, checkpoints: 1, events: total });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`5 of 5 requests complete; ${total} events in 1 objects, 1 checkpoints`);
    expect(run.stdout).toMatch(/digest of the verified heads: sha256:[0-9a-f]{64}/);
  });

  it('refuses to export into a folder that is not empty, or from a missing database', async () => {
    const again = await ala(['audit', 'export', '--db', 'gateway.db', '--out', 'export']);
    const missing = await ala(['audit', 'export', '--db', 'nowhere.db', '--out', 'new-folder']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('is not empty');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no database at');
  });

  it('catches a modified event in an export, naming the request and seq', async () => {
    const id = ids[1] as string;
    const dir = tamper('modified', (lines) => {
      const i = lineOf(lines, id, 2);
      lines[i] = (lines[i] as string).replace('"actor":"', '"actor":"x');
      return lines;
    });
    const { run, report } = await verdict(dir);
    expect(run.code).toBe(1);
    expect(problem(report, id)).toMatchObject({ status: 'broken', first_bad_seq: 2 });
    expect(problem(report, id)?.problems).toContainEqual(
      expect.objectContaining({ code: 'hash_mismatch', seq: 2 }),
    );
  });

  it('catches a deleted event in an export', async () => {
    const id = ids[2] as string;
    const dir = tamper('deleted', (lines) => lines.filter((_, i) => i !== lineOf(lines, id, 2)));
    const { run, report } = await verdict(dir);
    expect(run.code).toBe(1);
    expect(problem(report, id)).toMatchObject({ status: 'missing_events', first_bad_seq: 2 });
  });

  it('catches a deleted tail in an export against the head its request record keeps', async () => {
    const id = ids[3] as string;
    const last = (chains.get(id) as AuditEvent[]).length;
    const dir = tamper('tail', (lines) => lines.filter((_, i) => i !== lineOf(lines, id, last)));
    const { run, report } = await verdict(dir);
    expect(run.code).toBe(1);
    expect(problem(report, id)).toMatchObject({ status: 'missing_events', first_bad_seq: last });
    expect(problem(report, id)?.problems).toContainEqual(
      expect.objectContaining({ code: 'head_mismatch', seq: last }),
    );
  });

  it('catches two reordered events in an export', async () => {
    const id = ids[4] as string;
    const dir = tamper('reordered', (lines) => {
      const a = lineOf(lines, id, 1);
      const b = lineOf(lines, id, 2);
      [lines[a], lines[b]] = [lines[b] as string, lines[a] as string];
      return lines;
    });
    const { run, report } = await verdict(dir);
    expect(run.code).toBe(1);
    expect(problem(report, id)).toMatchObject({ status: 'broken', first_bad_seq: 1 });
  });

  it('catches a forged event inserted into an export', async () => {
    const id = ids[0] as string;
    const chain = chains.get(id) as AuditEvent[];
    const dir = tamper('forged', (lines) => {
      const forgedEvent = { ...(chain[1] as AuditEvent), actor: 'user:mallory@example.gov' };
      const envelope = {
        ...(JSON.parse(lines[lineOf(lines, id, 2)] as string) as object),
        data: forgedEvent,
      };
      lines.splice(lineOf(lines, id, 2), 0, JSON.stringify(envelope));
      return lines;
    });
    const { run, report } = await verdict(dir);
    expect(run.code).toBe(1);
    expect(problem(report, id)?.status).toBe('broken');
    expect(problem(report, id)?.problems).toContainEqual(expect.objectContaining({ seq: 2 }));
    expect(run.stdout).not.toContain('"ok": true');
  });
});
