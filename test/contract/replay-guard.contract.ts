/**
 * The contract every ReplayGuard adapter passes (SQLite, DynamoDB): a key is first seen
 * once within its window, however many callers race with it, and again once the window has passed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplayGuard } from '../../functions/core/ports/replay.port.ts';

export interface ReplayGuardUnderTest {
  readonly guard: ReplayGuard;
  /** A second view of the same records (another process, another instance), when the adapter shares them. */
  readonly peer?: ReplayGuard;
  /** Moves the guard's clock, when the adapter takes one; otherwise the window test uses real time. */
  readonly advance?: (ms: number) => void;
  close(): Promise<void>;
}

export function describeReplayGuardContract(
  name: string,
  make: () => Promise<ReplayGuardUnderTest>,
  /** What the adapter offers: a peer view of its records, a clock of its own. */
  offers: { readonly peer: boolean; readonly clock: boolean },
): void {
  describe(`ReplayGuard contract: ${name}`, () => {
    let sut: ReplayGuardUnderTest;
    // Keys of their own per run: a reused emulator keeps its items.
    const run = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const key = (k: string) => `slack:v0=${k}:${run}`;
    beforeAll(async () => {
      sut = await make();
    });
    afterAll(async () => {
      await sut?.close();
    });

    it('sees a key first once, and refuses it again within its window', async () => {
      const until = new Date(Date.now() + 300_000);
      expect(await sut.guard.firstSeen(key('once'), until)).toBe(true);
      expect(await sut.guard.firstSeen(key('once'), until)).toBe(false);
      expect(await sut.guard.firstSeen(key('other'), until)).toBe(true);
    });

    it('lets exactly one of twenty racing deliveries of one key through', async () => {
      const until = new Date(Date.now() + 300_000);
      const guards = sut.peer ? [sut.guard, sut.peer] : [sut.guard];
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => guards[i % guards.length]?.firstSeen(key('race'), until)),
      );
      expect(answers.filter(Boolean)).toHaveLength(1);
    });

    it.runIf(offers.peer)('refuses on the peer a key the other has seen', async () => {
      const until = new Date(Date.now() + 300_000);
      expect(await sut.guard.firstSeen(key('shared'), until)).toBe(true);
      expect(await sut.peer?.firstSeen(key('shared'), until)).toBe(false);
    });

    it.runIf(offers.clock)('sees a key again once its window has passed', async () => {
      const until = new Date(Date.now() + 1_000);
      expect(await sut.guard.firstSeen(key('window'), until)).toBe(true);
      sut.advance?.(1_001);
      expect(await sut.guard.firstSeen(key('window'), new Date(Date.now() + 1_000))).toBe(true);
    });
  });
}
