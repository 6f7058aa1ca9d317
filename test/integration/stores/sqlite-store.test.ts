import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteRequestStore } from '../../../functions/adapters/sqlite/sqlite-store.ts';
import { StoreUnavailableError } from '../../../functions/core/errors.ts';
import * as lifecycle from '../../../functions/core/lifecycle.ts';
import { describeRequestStoreContract, type StoreUnderTest } from '../../contract/request-store.contract.ts';
import { decision, exportInput } from '../../support/fixtures.ts';

function sqliteUnderTest(path: string): StoreUnderTest {
  const store = new SqliteRequestStore({ path });
  const countEvents = store.db.prepare<[string], { n: number }>(
    'SELECT count(*) AS n FROM audit_events WHERE request_id = ?',
  );
  const version = store.db.prepare<[string], { version: number }>(
    'SELECT version FROM requests WHERE id = ?',
  );
  return {
    store,
    raw: {
      eventCount: async (id) => countEvents.get(id)?.n ?? 0,
      requestVersion: async (id) => version.get(id)?.version,
    },
    close: async () => store.close(),
  };
}

describeRequestStoreContract('SQLite (file, WAL)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ala-sqlite-'));
  const sut = sqliteUnderTest(join(dir, 'gateway.db'));
  return {
    ...sut,
    close: async () => {
      await sut.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describeRequestStoreContract('SQLite (:memory:)', async () => sqliteUnderTest(':memory:'));

describe('Class: SqliteRequestStore', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const fresh = () => {
    const dir = mkdtempSync(join(tmpdir(), 'ala-sqlite-'));
    dirs.push(dir);
    return join(dir, 'gateway.db');
  };
  const submitted = () =>
    lifecycle.submit({
      id: `ar_${Date.now()}${Math.random().toString(36).slice(2)}`,
      subject: lifecycle.subjectOf('agent:demo'),
      input: exportInput,
      decision: decision(),
      now: new Date(),
    });

  it('refuses UPDATE and DELETE of audit rows at the database level', async () => {
    const path = fresh();
    const store = new SqliteRequestStore({ path });
    const t = submitted();
    await store.commit(t);
    const raw = new Database(path);
    expect(() =>
      raw.prepare("UPDATE audit_events SET body = '{}' WHERE request_id = ?").run(t.request.id),
    ).toThrow(/append-only/);
    expect(() => raw.prepare('DELETE FROM audit_events WHERE request_id = ?').run(t.request.id)).toThrow(
      /append-only/,
    );
    raw.close();
    expect(await store.listEvents(t.request.id)).toEqual(t.events);
    store.close();
  });

  it('answers a retryable error and writes nothing while another process holds the write lock', async () => {
    const path = fresh();
    const store = new SqliteRequestStore({ path, busyTimeoutMs: 50 });
    const blocker = new Database(path);
    blocker.prepare('BEGIN IMMEDIATE').run();
    const t = submitted();
    const error = await store.commit(t).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).retryable).toBe(true);
    blocker.prepare('ROLLBACK').run();
    blocker.close();
    expect(await store.get(t.request.id)).toBeUndefined();
    expect(await store.listEvents(t.request.id)).toEqual([]);
    await store.commit(t);
    expect(await store.get(t.request.id)).toEqual(t.request);
    store.close();
  });

  it("keeps the event loop turning while it waits for another process's lock, then commits", async () => {
    const path = fresh();
    const store = new SqliteRequestStore({ path, busyTimeoutMs: 10_000 });
    const blocker = new Database(path);
    blocker.prepare('BEGIN IMMEDIATE').run();
    const t = submitted();
    let settled = false;
    const commit = store.commit(t).finally(() => {
      settled = true;
    });
    // Timers keep firing while the commit waits: the wait is not inside SQLite.
    let ticks = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (++ticks >= 20) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    expect(settled).toBe(false);
    expect(await store.get(t.request.id)).toBeUndefined();
    blocker.prepare('COMMIT').run();
    blocker.close();
    await commit;
    expect(await store.get(t.request.id)).toEqual(t.request);
    store.close();
  });

  it("creates its database owner-only, and takes others' access away from an existing one", () => {
    const path = fresh();
    new SqliteRequestStore({ path }).close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const other = fresh();
    writeFileSync(other, '', { mode: 0o644 });
    chmodSync(other, 0o644);
    new SqliteRequestStore({ path: other }).close();
    expect(statSync(other).mode & 0o777).toBe(0o600);
  });

  it('commits the good transitions of a batch when another one in it fails', async () => {
    const store = new SqliteRequestStore({ path: ':memory:' });
    const good = submitted();
    const bad = submitted();
    const broken = { ...bad, events: bad.events.map((e, i) => (i === 1 ? { ...e, seq: 1.5 } : e)) };
    const [first, second] = await Promise.allSettled([store.commit(good), store.commit(broken)]);
    expect(first.status).toBe('fulfilled');
    expect(second.status).toBe('rejected');
    expect(await store.get(good.request.id)).toEqual(good.request);
    expect(await store.get(bad.request.id)).toBeUndefined();
    expect(await store.listEvents(bad.request.id)).toEqual([]);
    store.close();
  });

  it('keeps requests and chains across a reopen of the same file', async () => {
    const path = fresh();
    const first = new SqliteRequestStore({ path });
    const t = submitted();
    await first.commit(t);
    first.close();
    const second = new SqliteRequestStore({ path });
    expect(await second.get(t.request.id)).toEqual(t.request);
    expect(await second.listEvents(t.request.id)).toEqual(t.events);
    second.close();
  });

  it('fills the pending index from the pending requests of a database made before it (schema 2 to 3)', async () => {
    const path = fresh();
    const store = new SqliteRequestStore({ path });
    const plain = submitted();
    const escalating = submitted();
    const decided = submitted();
    for (const t of [plain, escalating, decided]) await store.commit(t);
    const escalated = lifecycle.escalate(escalating.request, new Date(Date.now() + 1_300_000));
    if (!escalated) throw new Error('fixture did not escalate');
    await store.commit(escalated);
    await store.commit(lifecycle.cancel(decided.request, 'agent:demo', new Date()));
    store.close();
    // As a gateway of schema 2 left it: no index tables.
    const raw = new Database(path);
    raw.exec('DROP TABLE pending_by_group; DROP TABLE visible_by');
    raw.pragma('user_version = 2');
    raw.close();

    const reopened = new SqliteRequestStore({ path });
    const ids = async (groups: string[]) =>
      (await reopened.listPendingForGroups(groups, { limit: 10 })).items.map((r) => r.id).sort();
    expect(await ids(['data-owners'])).toEqual([plain.request.id, escalating.request.id].sort());
    expect(await ids(['data-owner-leads'])).toEqual([escalating.request.id]);
    reopened.close();
  });

  it('fills the viewer index from the decided requests of a database made before it (schema 3 to 4)', async () => {
    const path = fresh();
    const store = new SqliteRequestStore({ path });
    const pending = submitted();
    const cancelled = submitted();
    const allowed = lifecycle.submit({
      ...{ id: `ar_${Date.now()}allowed`, subject: lifecycle.subjectOf('agent:demo') },
      input: exportInput,
      decision: decision({ outcome: 'allow', approval: undefined }),
      now: new Date(),
    });
    for (const t of [pending, cancelled, allowed]) await store.commit(t);
    await store.commit(lifecycle.cancel(cancelled.request, 'agent:demo', new Date()));
    store.close();
    // As a gateway of schema 3 left it: no viewer index.
    const raw = new Database(path);
    raw.exec('DROP TABLE visible_by');
    raw.pragma('user_version = 3');
    raw.close();

    const reopened = new SqliteRequestStore({ path });
    const ids = async (keys: string[], status: 'cancelled' | 'approved' | 'pending') =>
      (await reopened.listVisible(keys, status, { limit: 10 })).items.map((r) => r.id);
    expect(await ids(['p:agent:demo'], 'cancelled')).toEqual([cancelled.request.id]);
    expect(await ids(['p:user:alice@example.gov'], 'cancelled')).toEqual([cancelled.request.id]);
    expect(await ids(['g:data-owners'], 'cancelled')).toEqual([cancelled.request.id]);
    expect(await ids(['g:data-owner-leads'], 'cancelled')).toEqual([cancelled.request.id]);
    expect(await ids(['p:agent:demo'], 'approved')).toEqual([allowed.request.id]);
    expect(await ids(['p:agent:demo'], 'pending')).toEqual([]);
    expect(reopened.db.pragma('user_version', { simple: true })).toBe(4);
    reopened.close();
  });

  it('refuses to open a database written by a newer schema', () => {
    const path = fresh();
    const raw = new Database(path);
    raw.pragma('user_version = 99');
    raw.close();
    expect(() => new SqliteRequestStore({ path })).toThrow(/schema version 99.*upgrade the gateway/);
  });
});
