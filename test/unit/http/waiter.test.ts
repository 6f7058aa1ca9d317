import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { ActionRequest } from '../../../functions/core/model.ts';
import { ChangeHub, waitForStatusChange } from '../../../functions/http/waiter.ts';

const pending = { id: 'ar_X', status: 'pending' } as ActionRequest;

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
    const hub = new ChangeHub();
    let current: ActionRequest = pending;
    const started = Date.now();
    const waiting = waitForStatusChange(pending, async () => current, { timeoutMs: 10_000, hub });
    setTimeout(() => {
      current = { ...pending, status: 'approved' };
      hub.publish({ request: current, expectedVersion: 1, events: [] });
    }, 50);
    expect((await waiting).status).toBe('approved');
    expect(Date.now() - started).toBeLessThan(2_000);
    let called = false;
    hub.subscribe('other', () => {
      called = true;
    });
    hub.publish({ request: current, expectedVersion: 2, events: [] });
    expect(called).toBe(false);
  });

  it('stops waiting when the client goes away', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const waiting = waitForStatusChange(pending, async () => pending, {
      timeoutMs: 10_000,
      hub: new ChangeHub(),
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 50);
    await waiting;
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
