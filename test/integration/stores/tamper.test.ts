/**
 * Someone with write access to the SQLite file edits it behind the gateway's back. Whatever they
 * change, the gateway does not act on it: the record is checked against its hash-chained events on
 * every read that decides, a disagreement is refused (409 audit_mismatch), logged, and shown by
 * the request's audit verification; an event is only ever served as it was hashed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChainProblem } from '../../../functions/core/audit.ts';
import { testApp } from '../../support/app.ts';
import { exportInput } from '../../support/fixtures.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tamperable() {
  const dir = mkdtempSync(join(tmpdir(), 'ala-tamper-'));
  dirs.push(dir);
  const path = join(dir, 'gateway.db');
  const reported: { requestId: string; problems: readonly ChainProblem[] }[] = [];
  const gateway = testApp(undefined, {
    storePath: path,
    onAuditMismatch: (request, problems) => reported.push({ requestId: request.id, problems }),
  });
  // The intruder: a connection of its own, without the append-only triggers.
  const intruder = new Database(path);
  intruder.exec(
    'DROP TRIGGER IF EXISTS audit_events_no_update; DROP TRIGGER IF EXISTS audit_events_no_delete;',
  );
  const editRecord = (id: string, edit: (body: Record<string, unknown>) => void) => {
    const row = intruder
      .prepare<[string], { body: string }>('SELECT body FROM requests WHERE id = ?')
      .get(id);
    const body = JSON.parse(row?.body ?? '{}') as Record<string, unknown>;
    edit(body);
    intruder
      .prepare('UPDATE requests SET body = ?, status = ? WHERE id = ?')
      .run(JSON.stringify(body), String(body.status), id);
  };
  return { ...gateway, intruder, editRecord, reported };
}

interface Audit {
  events: Record<string, unknown>[];
  verification: { ok: boolean; problems?: { code: string; message: string }[] };
}

async function submit(call: ReturnType<typeof testApp>['call']) {
  return (await (await call('POST', '/v1/action-requests', { body: exportInput })).json()) as {
    id: string;
    action_hash: string;
  };
}

describe('Tampering with the SQLite store', () => {
  it('never serves an event field its hash does not cover, and reports it', async () => {
    const { call, intruder, reported } = tamperable();
    const { id, action_hash } = await submit(call);
    intruder
      .prepare(
        `UPDATE audit_events SET body = json_set(body, '$.approved_by', 'user:ceo@example.gov') WHERE request_id = ? AND seq = 1`,
      )
      .run(id);

    const audit = (await (
      await call('GET', `/v1/action-requests/${id}/audit`, { token: 'audrey' })
    ).json()) as Audit;
    expect(audit.events[0]).not.toHaveProperty('approved_by');
    expect(JSON.stringify(audit)).not.toContain('ceo@example.gov');
    expect(audit.verification.ok).toBe(false);
    expect(audit.verification.problems?.map((p) => p.code)).toContain('unhashed_fields');

    const vote = await call('POST', `/v1/action-requests/${id}/decisions`, {
      token: 'bob',
      body: { decision: 'approve', action_hash },
    });
    expect(vote.status).toBe(409);
    expect(await vote.json()).toMatchObject({ error: 'audit_mismatch' });
    expect(reported.map((r) => r.requestId)).toContain(id);
  });

  it('refuses a second redemption of a grant re-armed in the record, and verification says why', async () => {
    const { call, editRecord, reported } = tamperable();
    const { id, action_hash } = await submit(call);
    for (const token of ['bob', 'carol'] as const) {
      const res = await call('POST', `/v1/action-requests/${id}/decisions`, {
        token,
        body: { decision: 'approve', action_hash },
      });
      expect(res.status).toBe(200);
    }
    expect((await call('POST', `/v1/action-requests/${id}/grant`)).status).toBe(200);

    editRecord(id, (body) => {
      delete body.grantRedeemedAt;
    });
    const again = await call('POST', `/v1/action-requests/${id}/grant`);
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: 'audit_mismatch' });

    const audit = (await (
      await call('GET', `/v1/action-requests/${id}/audit`, { token: 'audrey' })
    ).json()) as Audit;
    expect(audit.verification.ok).toBe(false);
    expect(audit.verification.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          code: 'record_mismatch',
          message: expect.stringContaining('grant redemption'),
        }),
      ]),
    );
    expect(reported.length).toBeGreaterThan(0);
  });

  it('does not count, list or act on votes added to the record without events', async () => {
    const { call, editRecord } = tamperable();
    const { id, action_hash } = await submit(call);
    editRecord(id, (body) => {
      const approval = body.approval as { votes: unknown[] };
      approval.votes.push({
        approver: 'user:carol@example.gov',
        decision: 'approve',
        channel: 'api',
        time: new Date().toISOString(),
      });
    });

    // Bob's vote would make two: refused, not approved.
    const vote = await call('POST', `/v1/action-requests/${id}/decisions`, {
      token: 'bob',
      body: { decision: 'approve', action_hash },
    });
    expect(vote.status).toBe(409);
    expect(await vote.json()).toMatchObject({ error: 'audit_mismatch' });
    // Left out of the approvers' listing, never shown as sound.
    const listing = (await (await call('GET', '/v1/action-requests', { token: 'bob' })).json()) as {
      items: { id: string }[];
    };
    expect(listing.items.map((item) => item.id)).not.toContain(id);
    expect((await call('POST', `/v1/action-requests/${id}/grant`)).status).toBe(409);

    const audit = (await (
      await call('GET', `/v1/action-requests/${id}/audit`, { token: 'audrey' })
    ).json()) as Audit;
    expect(audit.verification.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'record_mismatch', message: expect.stringContaining('votes') }),
      ]),
    );
  });

  it('leaves an untouched request to be decided as usual beside a tampered one', async () => {
    const { call, editRecord } = tamperable();
    const tampered = await submit(call);
    const sound = await submit(call);
    editRecord(tampered.id, (body) => {
      body.status = 'approved';
    });
    const vote = await call('POST', `/v1/action-requests/${sound.id}/decisions`, {
      token: 'bob',
      body: { decision: 'approve', action_hash: sound.action_hash },
    });
    expect(vote.status).toBe(200);
    const audit = (await (
      await call('GET', `/v1/action-requests/${sound.id}/audit`, { token: 'audrey' })
    ).json()) as Audit;
    expect(audit.verification.ok).toBe(true);
    expect((await call('POST', `/v1/action-requests/${tampered.id}/grant`)).status).toBe(409);
  });
});
