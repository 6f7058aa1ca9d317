import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { ActionRequest } from '../../../functions/core/model.ts';
import { ChangeHub, type SharedReads, waitForStatusChange } from '../../../functions/http/waiter.ts';

const pending = { id: 'ar_X', status: 'pending' } as ActionRequest;

/** A hub that counts live subscriptions per request, so a test can see the waiter unsubscribe. */
class CountingHub extends ChangeHub {
  readonly #live = new Map<string, number>();

  listening(requestId: string): number {
    return this.#live.get(requestId) ?? 0;
  }

  override subscribe(requestId: string, listener: (reads: SharedReads) => void): () => void {
    const unsubscribe = super.subscribe(requestId, listener);
    this.#live.set(requestId, this.listening(requestId) + 1);
    let done = false;
    return () => {
      if (!done) this.#live.set(requestId, this.listening(requestId) - 1);
      done = true;
      unsubscribe();
    };
  }
}

describe('Function: waitForStatusChange', () => {
  it('polls with backoff without piling up abort listeners, and leaves none behind', async () => {
    const controller = new AbortController();
    let loads = 0;
    const seen: number[] = [];
    const result = await waitForStatusChange(
      pending,
      async () => {
        loads++;
        seen.push(getEventListeners(controller.signal, 'abort').length);
        return pending;
      },
      { timeoutMs: 1_200, signal: controller.signal },
    );
    expect(result.status).toBe('pending');
    expect(loads).toBeGreaterThanOrEqual(2);
    expect(Math.max(...seen)).toBeLessThanOrEqual(1);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('answers as soon as the hub reports a change, and unsubscribes', async () => {
    const hub = new CountingHub();
    let current: ActionRequest = pending;
    const started = Date.now();
    const waiting = waitForStatusChange(pending, async () => current, { timeoutMs: 10_000, hub });
    expect(hub.listening('ar_X')).toBe(1);
    setTimeout(() => {
      current = { ...pending, status: 'approved' };
      hub.publish({ request: current, expectedVersion: 1, events: [] });
    }, 50);
    expect((await waiting).status).toBe('approved');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(hub.listening('ar_X')).toBe(0);
  });

  it('waiters woken by one commit with the same share key read once; other keys and later wakes read again', async () => {
    const hub = new ChangeHub();
    let current: ActionRequest = pending;
    const loads = new Map<string, number>();
    const waiter = (key: string) =>
      waitForStatusChange(
        pending,
        async () => {
          loads.set(key, (loads.get(key) ?? 0) + 1);
          return current;
        },
        { timeoutMs: 10_000, hub, shareKey: key },
      );
    const agent = [waiter('agent:a'), waiter('agent:a'), waiter('agent:a')];
    const other = waiter('agent:b');
    // A wake for no change: each key reads once, and everyone goes back to waiting.
    hub.wake('ar_X');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(loads.get('agent:a')).toBe(1);
    expect(loads.get('agent:b')).toBe(1);
    // The decision's wake: a fresh read per key (not the earlier one, which saw pending).
    current = { ...pending, status: 'approved' };
    hub.publish({ request: current, expectedVersion: 1, events: [] });
    const answers = await Promise.all([...agent, other]);
    expect(answers.map((a) => a.status)).toEqual(['approved', 'approved', 'approved', 'approved']);
    expect(loads.get('agent:a')).toBe(2);
    expect(loads.get('agent:b')).toBe(2);
  });

  it('a wake that lands while the waiter is reading makes it read again at once, not at the backstop poll', async () => {
    const hub = new ChangeHub();
    let current: ActionRequest = pending;
    let loads = 0;
    const started = Date.now();
    const waiting = waitForStatusChange(
      pending,
      async () => {
        loads++;
        const seen = current;
        if (loads === 1) {
          // The commit lands after this read saw pending, before the waiter goes back to sleep.
          current = { ...pending, status: 'approved' };
          hub.wake('ar_X');
        }
        return seen;
      },
      { timeoutMs: 20_000, hub },
    );
    hub.wake('ar_X');
    expect((await waiting).status).toBe('approved');
    expect(loads).toBe(2);
    // The backstop poll is 5 s; the second read came from the remembered wake.
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('stops waiting when the client goes away, and unsubscribes', async () => {
    const controller = new AbortController();
    const hub = new CountingHub();
    const started = Date.now();
    const waiting = waitForStatusChange(pending, async () => pending, {
      timeoutMs: 10_000,
      hub,
      signal: controller.signal,
    });
    expect(hub.listening('ar_X')).toBe(1);
    setTimeout(() => controller.abort(), 50);
    expect((await waiting).status).toBe('pending');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(hub.listening('ar_X')).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});
