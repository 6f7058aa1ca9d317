import { describe, expect, it } from 'vitest';
import { MemoryRateCounter } from '../../../functions/adapters/local/memory-rate-counter.ts';
import { describeRateCounterContract } from '../../contract/rate-counter.contract.ts';

describeRateCounterContract('memory (one process)', async () => {
  const counter = new MemoryRateCounter();
  return { counter, close: async () => counter.close() };
});

describe('Class: MemoryRateCounter', () => {
  it('drops the counts of windows that have ended, and only those', async () => {
    // Prepare: one count in a window that ends (expiresAt 120), then many in the next window.
    const counter = new MemoryRateCounter();
    await counter.increment('calls:agent:old', 0, 120);
    await counter.increment('calls:agent:kept', 60, 180);

    // Act: enough increments in a later window for a prune to run.
    for (let i = 0; i < 1_000; i++) await counter.increment('calls:agent:now', 180, 300);

    // Assert: the ended window is gone; the one that may still be read and the current one stay.
    expect(counter.size).toBe(2);
    expect(await counter.increment('calls:agent:kept', 60, 180)).toBe(2);
    expect(await counter.increment('calls:agent:old', 0, 120)).toBe(1);
  });
});
