import { describe, expect, it } from 'vitest';
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
