import { describe, expect, it } from 'vitest';
import { DEFAULT_INPUT_LIMITS, inputProblem } from '../../../functions/policy/input-guard.ts';

const limits = { maxDepth: 3, maxValues: 10, maxBytes: 1024 };

describe('Function: inputProblem', () => {
  it('accepts a plain JSON object within the limits', () => {
    expect(inputProblem({ a: { b: [1, 'x', true, null] } }, limits)).toBeUndefined();
  });

  it('counts the input object as level 1 and refuses a container one level too deep', () => {
    expect(inputProblem({ a: { b: { c: 'leaf' } } }, limits)).toBeUndefined();
    expect(inputProblem({ a: { b: { c: {} } } }, limits)).toBe('the input is nested deeper than 3 levels');
    expect(inputProblem({ a: [[[]]] }, limits)).toBe('the input is nested deeper than 3 levels');
  });

  it('stops walking after maxValues values', () => {
    expect(inputProblem({ list: Array.from({ length: 8 }, (_, i) => i) }, limits)).toBeUndefined();
    expect(inputProblem({ list: Array.from({ length: 9 }, (_, i) => i) }, limits)).toBe(
      'the input holds more than 10 values',
    );
  });

  it('ignores inherited properties, as JSON does', () => {
    const input = Object.create({ inherited: () => 'x' }) as Record<string, unknown>;
    input.own = 'value';
    expect(inputProblem(input, limits)).toBeUndefined();
  });

  it('has defaults that admit a real request and refuse a hostile one', () => {
    expect(DEFAULT_INPUT_LIMITS).toEqual({ maxDepth: 32, maxValues: 10_000, maxBytes: 1_048_576 });
  });
});
