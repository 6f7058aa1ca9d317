import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isRawDecision } from '../../../functions/policy/decision-check.ts';
import { rawDecisionSchema } from '../../../functions/policy/schema.ts';
import { policyCases } from './cases.ts';

// Values on both sides of every bound in schema.ts, so a bound that differs shows up.
const anyText = fc.constantFrom(
  '',
  'a',
  'Not_A_Code',
  '1code',
  'a'.repeat(64),
  'a'.repeat(65),
  'x'.repeat(256),
  'x'.repeat(257),
  'x'.repeat(1000),
  'x'.repeat(1001),
  'x'.repeat(2048),
  'x'.repeat(2049),
  'none',
  'aws_sts',
);
const anyNumber = fc.constantFrom(0, 1, 20, 21, 300, 900, 3600, 3601, 604_800, 604_801, 1.5, -1, 2 ** 53);
const anyValue = fc.oneof(
  anyText,
  anyNumber,
  fc.boolean(),
  fc.constant(null),
  fc.array(anyText, { maxLength: 3 }),
  fc.constant({}),
);

/** Mostly a valid value for a field (bounds included), now and then anything at all. */
const field = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 40, arbitrary: valid }, { weight: 1, arbitrary: anyValue });

const name = fc.constantFrom('security', 'a', 'x'.repeat(256));
const names = (min: number, max = 3) => fc.array(name, { minLength: min, maxLength: max });

/** null mostly, `value` one time in thirty. */
const rarely = <T>(value: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 29, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: value });

/** The fields of `model`, `optional` ones sometimes left out; now and then a required one missing or a key too many. */
function object(model: Record<string, fc.Arbitrary<unknown>>, optional: readonly string[] = []) {
  const keys = Object.keys(model);
  return fc
    .tuple(
      fc.record(model, { requiredKeys: keys.filter((key) => !optional.includes(key)) }),
      rarely(fc.constantFrom(...keys)),
      rarely(anyValue),
    )
    .map(([value, dropped, extra]) => {
      const result: Record<string, unknown> = { ...value };
      if (dropped !== null) delete result[dropped];
      if (extra !== null) result.unexpected = extra;
      return result;
    });
}

const reason = object({
  code: field(fc.constantFrom('snake_code', 'a', 'a'.repeat(64))),
  message: field(fc.constantFrom('m', 'x'.repeat(1000))),
});
const reasons = field(
  fc.oneof(
    { weight: 20, arbitrary: fc.array(reason, { minLength: 1, maxLength: 2 }) },
    { weight: 1, arbitrary: fc.array(reason, { minLength: 32, maxLength: 33 }) },
    { weight: 1, arbitrary: fc.constant([]) },
  ),
);
const approvalFields = {
  groups: field(names(1)),
  min_approvals: field(fc.constantFrom(1, 2, 20)),
  timeout_seconds: field(fc.constantFrom(1, 900, 1800, 604_800)),
  exclude: field(names(0)),
  channels: field(names(0)),
  step_up: field(fc.boolean()),
};
const approvalOptional = ['exclude', 'channels', 'step_up'];
const approval = fc.oneof(
  object(approvalFields, approvalOptional),
  // Escalation: both fields, before the timeout or (rarely) not.
  object(
    {
      ...approvalFields,
      escalate_after_seconds: field(fc.constantFrom(1, 300, 300, 300, 900, 1800)),
      escalation_groups: field(names(1)),
    },
    approvalOptional,
  ),
);
const strings = (min: number, max: number, length: number) =>
  fc.array(fc.constantFrom('a', 'x'.repeat(length)), { minLength: min, maxLength: max });
const grant = fc.oneof(
  object({ type: field(fc.constant('none')) }),
  object(
    {
      type: field(fc.constant('aws_sts')),
      role: field(name),
      actions: field(strings(1, 2, 256)),
      resources: field(strings(1, 2, 2048)),
      window_seconds: field(fc.constantFrom(1, 300, 3600)),
      wildcards: field(fc.oneof(strings(0, 2, 2048), strings(64, 65, 1))),
    },
    ['wildcards'],
  ),
);
const outcome = (valid: string) =>
  field(fc.constantFrom(valid, valid, valid, valid, 'allow', 'deny', 'maybe'));
const notify = field(names(1, 2));
const postReview = field(fc.boolean());
const decision = fc.oneof(
  object({ outcome: outcome('allow'), reasons, grant: field(grant), notify, post_review: postReview }, [
    'grant',
    'notify',
    'post_review',
  ]),
  object(
    {
      outcome: outcome('require_approval'),
      reasons,
      approval: field(approval),
      grant: field(grant),
      notify,
      post_review: postReview,
    },
    ['grant', 'notify', 'post_review'],
  ),
  object({ outcome: outcome('deny'), reasons, notify }, ['notify']),
);

describe('Function: isRawDecision', () => {
  it('accepts every decision of the shared decision table, as the schema does', () => {
    for (const { name, expected } of policyCases()) {
      expect(rawDecisionSchema.safeParse(expected).success, name).toBe(true);
      expect(isRawDecision(expected), name).toBe(true);
    }
  });

  it('gives the answer the zod schema gives, on generated decisions valid and broken', () => {
    // Prepare: count both answers, so the property cannot pass by only ever seeing one kind.
    let accepted = 0;
    let refused = 0;

    // Act / Assess
    fc.assert(
      fc.property(decision, (value) => {
        const expected = rawDecisionSchema.safeParse(value).success;
        if (expected) accepted++;
        else refused++;
        expect(isRawDecision(value)).toBe(expected);
      }),
      { numRuns: 20_000 },
    );
    expect(accepted).toBeGreaterThan(200);
    expect(refused).toBeGreaterThan(200);
  }, 120_000);

  it('refuses escalation without a deadline before the timeout, as the schema refinement does', () => {
    const base = {
      outcome: 'require_approval',
      reasons: [{ code: 'x', message: 'm' }],
      approval: { groups: ['security'], min_approvals: 1, timeout_seconds: 900 },
    };
    const cases = [
      { escalate_after_seconds: 300 },
      { escalation_groups: ['leads'] },
      { escalate_after_seconds: 900, escalation_groups: ['leads'] },
      { escalate_after_seconds: 300, escalation_groups: ['leads'] },
    ];
    const answers = cases.map((extra) => {
      const value = { ...base, approval: { ...base.approval, ...extra } };
      expect(isRawDecision(value)).toBe(rawDecisionSchema.safeParse(value).success);
      return isRawDecision(value);
    });
    expect(answers).toEqual([false, false, false, true]);
  });
});
