import { describe, expect, it, vi } from 'vitest';
import { REQUEST_ID_PATTERN, ulidIds } from '../../../functions/adapters/system/system.ts';

describe('Function: ulidIds', () => {
  it('makes unique ids of the documented shape, ordered by time', async () => {
    const ids = ulidIds();
    const first = Array.from({ length: 10_000 }, () => ids.requestId());
    expect(new Set(first).size).toBe(first.length);
    expect([...first].sort()).toEqual(first);
    for (const id of first) expect(id).toMatch(REQUEST_ID_PATTERN);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const later = ids.requestId();
    expect(later.slice(0, 13) > (first[0] ?? '').slice(0, 13)).toBe(true);
  });

  it('encodes the current time in the first ten characters', () => {
    const before = Date.now();
    const id = ulidIds().requestId();
    const decoded = [...id.slice(3, 13)].reduce(
      (n, c) => n * 32 + '0123456789ABCDEFGHJKMNPQRSTVWXYZ'.indexOf(c),
      0,
    );
    expect(decoded).toBeGreaterThanOrEqual(before);
    expect(decoded).toBeLessThanOrEqual(Date.now());
  });
});

describe('Function: ulidIds, random parts', () => {
  it('gives every millisecond fresh random bytes, across refills of its pool', () => {
    // Prepare: every id in a millisecond of its own, so none counts up from the one before.
    let now = 1_800_000_000_000;
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => now++);
    try {
      const ids = ulidIds();

      // Act: more ids than one pool holds.
      const randomParts = Array.from({ length: 1_000 }, () => ids.requestId().slice(13));

      // Assert
      expect(new Set(randomParts).size).toBe(randomParts.length);
    } finally {
      clock.mockRestore();
    }
  });
});
