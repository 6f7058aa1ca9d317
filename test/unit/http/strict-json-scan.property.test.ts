/**
 * Property: the one-pass check (`textIsExact`) clears a JSON text exactly when the syntax-tree walk
 * (`exactProblem`) finds no duplicate key and no unsafe number in it — so the fast path refuses and
 * accepts what the tree alone did — on generated texts full of repeated and escaped keys, keys
 * holding `:` and quotes, and numbers that do and do not survive as 64-bit floats.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonFlaw } from '../../../functions/core/json-hygiene.ts';
import { exactProblem, parseStrictJson, textIsExact } from '../../../functions/http/strict-json.ts';

// Few keys, so objects repeat them often; some spell the same key differently ("a" and "\u0061").
const keyText = fc.constantFrom(
  '"a"',
  '"b"',
  '"\\u0061"',
  '"a:b"',
  '":"',
  '"\\""',
  '"\\\\"',
  '"é"',
  '"\\u00e9"',
  '""',
  '"__proto__"',
  '"\\ud800"',
);
const numberText = fc.oneof(
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.constantFrom(
    '9007199254740993',
    '-9007199254740992',
    '9007199254740991',
    '1e16',
    '1e-400',
    '-1e400',
    '0.10000000000000000001',
    '0.1',
    '-0',
    '1E+2',
    '123456789012345678901234567890',
    '2.5e-3',
  ),
);
const stringText = fc.oneof(
  fc.string({ maxLength: 8 }).map((text) => JSON.stringify(text)),
  fc.constantFrom(
    '"1e400"',
    '"a\\":1,"',
    '"\\\\"',
    '"x:y"',
    '"9007199254740993"',
    '"\\ud800"',
    '"\\udfff\\ud800"',
  ),
);
const valueText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    numberText,
    stringText,
    fc.constantFrom('true', 'false', 'null'),
    fc.array(tie('value'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
    fc
      .array(fc.tuple(keyText, tie('value')), { maxLength: 4 })
      .map((members) => `{${members.map(([key, value]) => `${key}:${value}`).join(' , ')}}`),
  ),
})).value;

describe('Property: strict JSON one-pass check', () => {
  it('clears a text exactly when its syntax tree has no duplicate key and no unsafe number', () => {
    fc.assert(
      fc.property(valueText, (text) => {
        const value: unknown = JSON.parse(text, (_key, parsed: unknown) =>
          typeof parsed === 'number' && !Number.isFinite(parsed) ? 0 : parsed,
        );
        expect(textIsExact(text, value)).toBe(exactProblem(text) === undefined);
      }),
      { numRuns: 2000 },
    );
  });

  it('gives every body the answer the syntax tree alone gave', () => {
    fc.assert(
      fc.property(valueText, (text) => {
        // Bodies without a flaw of the walk's (which answers first, before any tree).
        const revived: unknown = JSON.parse(text, (_key, parsed: unknown) =>
          typeof parsed === 'number' && !Number.isFinite(parsed) ? 0 : parsed,
        );
        fc.pre(jsonFlaw(revived, { maxDepth: 64, maxValues: 100_000 }) === undefined);
        const result = parseStrictJson(text, { maxDepth: 64 });
        const treeProblem = exactProblem(text);
        if (treeProblem) expect(result).toEqual(treeProblem);
        else if (result.ok) expect(result.text).toBe(text);
        else expect(result.problem.code).not.toMatch(/^(duplicate_key|unsafe_number)$/);
      }),
      { numRuns: 1000 },
    );
  });

  it('answers every text, flawed or not, as the reviver-first reading did', () => {
    // The reading before plain JSON.parse was tried first: a reviver swapping overflowed numbers
    // for 0, the flaw walk, then the syntax tree.
    const limits = { maxDepth: 3, maxValues: 12 };
    const reference = (text: string) => {
      const value: unknown = JSON.parse(text, (_key, parsed: unknown) =>
        typeof parsed === 'number' && !Number.isFinite(parsed) ? 0 : parsed,
      );
      const flaw = jsonFlaw(value, limits);
      if (flaw) return { code: flaw.kind, path: flaw.path };
      const problem = exactProblem(text);
      return problem?.ok === false ? { code: problem.problem.code, path: problem.problem.path } : 'ok';
    };
    fc.assert(
      fc.property(valueText, (text) => {
        const result = parseStrictJson(text, limits);
        const expected = reference(text);
        if (expected === 'ok') expect(result.ok).toBe(true);
        else {
          expect(result.ok).toBe(false);
          if (!result.ok) expect(result.problem.code).toBe(expected.code);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
