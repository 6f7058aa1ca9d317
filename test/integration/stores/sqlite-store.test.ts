import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
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
  /**
   * With the database locked by someone else: a commit waits without stopping the event loop
   * (timers keep firing, so the wait is not inside SQLite) and writes nothing; once `unlock` has
   * let go, it commits.
   */
  const commitsOnceUnlocked = async (store: SqliteRequestStore, unlock: () => Promise<void>) => {
    const t = submitted();
    let settled = false;
    const commit = store.commit(t).finally(() => {
      settled = true;
    });
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
    await unlock();
    await commit;
    expect(await store.get(t.request.id)).toEqual(t.request);
  };

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
    await store.close();
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
    await store.close();
  });

  it("keeps the event loop turning while it waits for another process's lock, then commits", async () => {
    const path = fresh();
    const store = new SqliteRequestStore({ path, busyTimeoutMs: 10_000 });
    const blocker = new Database(path);
    blocker.prepare('BEGIN IMMEDIATE').run();
    await commitsOnceUnlocked(store, async () => {
      blocker.prepare('COMMIT').run();
      blocker.close();
    });
    await store.close();
  });

  it('waits for the write lock of another process (not a connection of its own), then commits', async () => {
    const path = fresh();
    const store = new SqliteRequestStore({ path, busyTimeoutMs: 30_000 });
    await store.commit(submitted());
    // Another process takes the write lock and holds it until told to let go.
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const db = new (require(${JSON.stringify(driver)}))(${JSON.stringify(path)});
         db.prepare('BEGIN IMMEDIATE').run();
         process.stdout.write('locked\\n');
         process.stdin.once('data', () => { db.prepare('COMMIT').run(); db.close(); process.exit(0); });`,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const exited = new Promise<number | null>((resolve) => holder.once('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('locked')) resolve();
      });
      holder.once('exit', (code) => reject(new Error(`the lock holder exited with ${code}`)));
    });
    await commitsOnceUnlocked(store, async () => {
      holder.stdin.write('go\n');
      expect(await exited).toBe(0);
    });
    await store.close();
  });

  it("creates its database owner-only, and takes others' access away from an existing one", async () => {
    const path = fresh();
    await new SqliteRequestStore({ path }).close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const other = fresh();
    writeFileSync(other, '', { mode: 0o644 });
    chmodSync(other, 0o644);
    await new SqliteRequestStore({ path: other }).close();
    expect(statSync(other).mode & 0o777).toBe(0o600);
  });

  it.each([
    ['in memory (this thread)', () => ':memory:'],
    ['in a file (the writer thread)', fresh],
  ])('commits the good transitions of a batch when another one in it fails: %s', async (_, where) => {
    const store = new SqliteRequestStore({ path: where() });
    const good = submitted();
    const bad = submitted();
    const broken = { ...bad, events: bad.events.map((e, i) => (i === 1 ? { ...e, seq: 1.5 } : e)) };
    const [first, second] = await Promise.allSettled([store.commit(good), store.commit(broken)]);
    expect(first.status).toBe('fulfilled');
    expect(second.status).toBe('rejected');
    expect(await store.get(good.request.id)).toEqual(good.request);
    expect(await store.get(bad.request.id)).toBeUndefined();
    expect(await store.listEvents(bad.request.id)).toEqual([]);
    await store.close();
  });

  it('keeps requests and chains across a reopen of the same file', async () => {
    const path = fresh();
    const first = new SqliteRequestStore({ path });
    const t = submitted();
    await first.commit(t);
    await first.close();
    const second = new SqliteRequestStore({ path });
    expect(await second.get(t.request.id)).toEqual(t.request);
    expect(await second.listEvents(t.request.id)).toEqual(t.events);
    await second.close();
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
    await store.close();
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
    await reopened.close();
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
    await store.close();
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
    await reopened.close();
  });

  it('refuses to open a database written by a newer schema', () => {
    const path = fresh();
    const raw = new Database(path);
    raw.pragma('user_version = 99');
    raw.close();
    expect(() => new SqliteRequestStore({ path })).toThrow(/schema version 99.*upgrade the gateway/);
  });

  describe('its writer thread', () => {
    /** A gate the writer thread waits at before each batch, closed until `open()`. */
    const gate = () => {
      const slot = new Int32Array(new SharedArrayBuffer(4));
      return {
        slot,
        open: () => {
          Atomics.store(slot, 0, 1);
          Atomics.notify(slot, 0);
        },
      };
    };
    /** Settles to 'resolved' or the error, and records when it did. */
    const watch = (promise: Promise<void>) => {
      const seen: { settled: boolean; error?: unknown } = { settled: false };
      const done = promise.then(
        () => {
          seen.settled = true;
        },
        (error: unknown) => {
          seen.settled = true;
          seen.error = error;
        },
      );
      return { seen, done };
    };
    /** Lets timers fire `n` times (the event loop turning), however long that takes. */
    const turns = (n: number) =>
      new Promise<void>((resolve) => {
        let ticks = 0;
        const timer = setInterval(() => {
          if (++ticks >= n) {
            clearInterval(timer);
            resolve();
          }
        }, 2);
      });

    it('writes a file from a worker thread and none for :memory:, which writes on this thread', async () => {
      const file = new SqliteRequestStore({ path: fresh() });
      expect(file.writerThread).toBeUndefined();
      await file.commit(submitted());
      expect(file.writerThread?.threadId).toBeGreaterThan(0);
      await file.close();
      const memory = new SqliteRequestStore({ path: ':memory:' });
      await memory.commit(submitted());
      expect(memory.writerThread).toBeUndefined();
      await memory.close();
    });

    it('keeps answering reads on this thread while a commit is held inside the writer', async () => {
      const path = fresh();
      const held = gate();
      const store = new SqliteRequestStore({ path, writerGate: held.slot });
      const earlier = submitted();
      const commit = watch(store.commit(earlier));
      await turns(20);
      // The writer thread is stuck before its transaction; this thread goes on: timers fire, reads
      // answer (and do not see the commit yet).
      expect(commit.seen.settled).toBe(false);
      expect(await store.get(earlier.request.id)).toBeUndefined();
      expect(await store.countPending('agent:demo', 10)).toBe(0);
      held.open();
      await commit.done;
      expect(commit.seen.error).toBeUndefined();
      // Read-your-writes: once commit() resolved, this thread's connection sees it.
      expect(await store.get(earlier.request.id)).toEqual(earlier.request);
      await store.close();
    });

    it('makes the commits that arrive while a batch is in flight the next batch, and writes both', async () => {
      const held = gate();
      const store = new SqliteRequestStore({ path: fresh(), writerGate: held.slot });
      const first = submitted();
      const waiting = [submitted(), submitted(), submitted()];
      const inFlight = watch(store.commit(first));
      await turns(5);
      const next = waiting.map((t) => watch(store.commit(t)));
      await turns(5);
      expect([inFlight, ...next].map((c) => c.seen.settled)).toEqual([false, false, false, false]);
      held.open();
      await Promise.all([inFlight.done, ...next.map((c) => c.done)]);
      expect([inFlight, ...next].map((c) => c.seen.error)).toEqual([
        undefined,
        undefined,
        undefined,
        undefined,
      ]);
      for (const t of [first, ...waiting]) expect(await store.get(t.request.id)).toEqual(t.request);
      await store.close();
    });

    it('fails the batch of a writer thread that dies with a retryable error, and writes the next on a new thread', async () => {
      const path = fresh();
      const held = gate();
      const store = new SqliteRequestStore({ path, writerGate: held.slot });
      const lost = submitted();
      const commit = watch(store.commit(lost));
      await turns(5);
      const thread = store.writerThread;
      expect(thread).toBeDefined();
      await thread?.terminate();
      await commit.done;
      expect(commit.seen.error).toBeInstanceOf(StoreUnavailableError);
      expect((commit.seen.error as StoreUnavailableError).retryable).toBe(true);
      expect((commit.seen.error as Error).message).toMatch(/writer stopped/);
      held.open();
      const after = submitted();
      await store.commit(after);
      expect(store.writerThread).toBeDefined();
      expect(store.writerThread).not.toBe(thread);
      expect(await store.get(after.request.id)).toEqual(after.request);
      expect(await store.get(lost.request.id)).toBeUndefined();
      await store.close();
    });

    it('drains the commits in flight and queued on close, refuses new ones, and stops the thread', async () => {
      const path = fresh();
      const held = gate();
      const store = new SqliteRequestStore({ path, writerGate: held.slot });
      const first = submitted();
      const second = submitted();
      const a = watch(store.commit(first));
      await turns(5);
      const b = watch(store.commit(second));
      const thread = store.writerThread;
      const exited = new Promise<number>((resolve) => thread?.once('exit', resolve));
      const closed = watch(store.close());
      await expect(store.commit(submitted())).rejects.toThrow(/closed/);
      await turns(5);
      expect([a.seen.settled, b.seen.settled, closed.seen.settled]).toEqual([false, false, false]);
      held.open();
      await closed.done;
      expect([a.seen.settled, b.seen.settled]).toEqual([true, true]);
      expect([a.seen.error, b.seen.error, closed.seen.error]).toEqual([undefined, undefined, undefined]);
      await exited;
      const reopened = new SqliteRequestStore({ path });
      expect(await reopened.get(first.request.id)).toEqual(first.request);
      expect(await reopened.get(second.request.id)).toEqual(second.request);
      await reopened.close();
    });
  });
});
