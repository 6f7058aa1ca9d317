import { describe, expect, it } from 'vitest';
import { jsonFlaw } from '../../../functions/core/json-hygiene.ts';
import { jsonProblem } from '../../../functions/http/schemas.ts';
import { DEFAULT_INPUT_LIMITS, inputProblem } from '../../../functions/policy/input-guard.ts';

const limits = { maxDepth: 4 };

describe('Function: jsonFlaw', () => {
  it('accepts plain JSON, large and tiny finite numbers included', () => {
    expect(jsonFlaw({ a: [1, 'x', true, null, { b: 1e308, c: 5e-324 }] }, limits)).toBeUndefined();
  });

  it('names the flaw and the path to it', () => {
    expect(jsonFlaw({ a: [0, Number.POSITIVE_INFINITY] }, limits)).toEqual({
      kind: 'not_finite',
      path: ['a', 1],
    });
    expect(jsonFlaw({ a: { b: '\ud800' } }, limits)).toEqual({ kind: 'lone_surrogate', path: ['a', 'b'] });
    expect(jsonFlaw({ a: { '\udc00': 1 } }, limits)).toEqual({ kind: 'lone_surrogate_key', path: ['a'] });
    expect(jsonFlaw(JSON.parse('{"a":{"__proto__":{"x":1}}}'), limits)).toEqual({
      kind: 'proto_key',
      path: ['a'],
    });
    expect(jsonFlaw({ a: { b: { c: { d: {} } } } }, limits)).toEqual({
      kind: 'too_deep',
      path: ['a', 'b', 'c', 'd'],
    });
    expect(jsonFlaw({ a: [1, 2, 3] }, { maxDepth: 4, maxValues: 4 })).toEqual({
      kind: 'too_many_values',
      path: ['a', 2],
    });
    expect(jsonFlaw({ f: () => 1 }, limits)).toEqual({ kind: 'not_json', path: ['f'], type: 'function' });
  });

  it('is the rule of both the HTTP body and the policy input', () => {
    const body = JSON.parse('{"action":{"args":{"__proto__":{"evil":1}}}}');
    expect(jsonProblem(body)).toEqual({
      path: '(body).action.args',
      message: 'the key "__proto__" is not allowed',
    });
    expect(inputProblem(body, DEFAULT_INPUT_LIMITS)).toMatch(/"__proto__" key/);
    const overflow = { action: { args: { n: Number.NEGATIVE_INFINITY } } };
    expect(jsonProblem(overflow)).toEqual({
      path: '(body).action.args.n',
      message: 'numbers must be finite',
    });
    expect(inputProblem(overflow, DEFAULT_INPUT_LIMITS)).toMatch(/NaN or Infinity/);
  });
});
