/** The contract every RateCounter adapter passes (SQLite, DynamoDB): exact, atomic, per key and window. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RateCounter } from '../../functions/core/ports/counter.port.ts';

export interface CounterUnderTest {
  readonly counter: RateCounter;
  close(): Promise<void>;
}

export function describeRateCounterContract(name: string, make: () => Promise<CounterUnderTest>): void {
  describe(`RateCounter contract: ${name}`, () => {
    let sut: CounterUnderTest;
    // Keys of their own per run: a reused emulator keeps its items.
    const run = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const key = (k: string) => `${k}:${run}`;
    beforeAll(async () => {
      sut = await make();
    });
    afterAll(async () => {
      await sut?.close();
    });

    it('counts from 1, one per increment of a key in a window', async () => {
      const counts = [];
      for (let i = 0; i < 5; i++)
        counts.push(await sut.counter.increment(key('calls:agent:a'), 1_800_000_000, 1_800_000_120));
      expect(counts).toEqual([1, 2, 3, 4, 5]);
    });

    it('keeps keys and windows apart', async () => {
      await sut.counter.increment(key('calls:agent:b'), 1_800_000_000, 1_800_000_120);
      await sut.counter.increment(key('calls:agent:b'), 1_800_000_000, 1_800_000_120);
      expect(await sut.counter.increment(key('calls:agent:c'), 1_800_000_000, 1_800_000_120)).toBe(1);
      expect(await sut.counter.increment(key('calls:agent:b'), 1_800_000_060, 1_800_000_180)).toBe(1);
      expect(await sut.counter.increment(key('calls:agent:b'), 1_800_000_000, 1_800_000_120)).toBe(3);
    });

    it('loses no increment when many arrive at once', async () => {
      const counts = await Promise.all(
        Array.from({ length: 40 }, () =>
          sut.counter.increment(key('calls:agent:d'), 1_800_000_000, 1_800_000_120),
        ),
      );
      expect([...counts].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    });

    it('treats keys that differ in any character as different', async () => {
      await sut.counter.increment(key('calls:user:x@example.gov'), 1_800_000_000, 1_800_000_120);
      expect(await sut.counter.increment(key('calls:user:X@example.gov'), 1_800_000_000, 1_800_000_120)).toBe(
        1,
      );
    });
  });
}
