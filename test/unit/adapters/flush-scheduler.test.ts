import { describe, expect, it } from 'vitest';
import { FlushScheduler } from '../../../functions/adapters/sqlite/flush-scheduler.ts';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('FlushScheduler', () => {
  it('flushes once at the end of the turn however often it is asked, and again when asked after', async () => {
    let flushes = 0;
    const scheduler = new FlushScheduler(() => flushes++);
    for (let i = 0; i < 100; i++) scheduler.schedule();
    expect(flushes).toBe(0);
    await turn();
    expect(flushes).toBe(1);
    scheduler.schedule();
    scheduler.schedule(10);
    await turn();
    expect(flushes).toBe(2);
  });

  it('waits the delay of a retry, and an ask meanwhile rides on it', async () => {
    let flushes = 0;
    const scheduler = new FlushScheduler(() => flushes++);
    scheduler.schedule(30);
    scheduler.schedule();
    await turn();
    expect(flushes).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(flushes).toBe(1);
  });

  it('lets the flush ask for the next one (a batch that met a lock)', async () => {
    const at: number[] = [];
    let third: () => void = () => {};
    const done = new Promise<void>((resolve) => {
      third = resolve;
    });
    const scheduler = new FlushScheduler(() => {
      at.push(at.length);
      if (at.length < 3) scheduler.schedule(1);
      else third();
    });
    scheduler.schedule();
    await done;
    expect(at).toEqual([0, 1, 2]);
  }, 30_000);
});
