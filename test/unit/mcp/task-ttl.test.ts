import { describe, expect, it } from 'vitest';
import { TASK_TTL_MS, taskTtl } from '../../../functions/mcp/proxy.ts';

describe("a task's time to live", () => {
  it('is a day when the client asks for none, or for no number', () => {
    expect(taskTtl(undefined)).toBe(TASK_TTL_MS.default);
    expect(taskTtl(Number.NaN)).toBe(TASK_TTL_MS.default);
    expect(taskTtl(Number.POSITIVE_INFINITY)).toBe(TASK_TTL_MS.default);
  });

  it("is the client's within the bounds, and the nearest bound outside them", () => {
    expect(taskTtl(60_000)).toBe(60_000);
    expect(taskTtl(1_500.4)).toBe(1_500);
    // Past what a timer can hold (2^31 - 1 ms), a timer would fire at once: the bound applies.
    expect(taskTtl(3e9)).toBe(TASK_TTL_MS.max);
    expect(taskTtl(0)).toBe(TASK_TTL_MS.min);
    expect(taskTtl(-5)).toBe(TASK_TTL_MS.min);
    expect(TASK_TTL_MS.max).toBeLessThan(2 ** 31 - 1);
  });
});
