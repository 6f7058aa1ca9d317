import { describe, expect, it } from 'vitest';
import type { PolicyOutcome } from '../../../functions/core/model.ts';
import type { Change } from '../../../functions/policy/compare.ts';
import { changesBetween, diffVerdicts } from '../../../functions/policy/compare.ts';
import { parseFailOn, parseSince } from '../../../functions/policy/replay.ts';

const outcome = (from: PolicyOutcome, to: PolicyOutcome): Change => ({
  kind: 'outcome',
  from,
  to,
});
const quorum = (from: number, to: number): Change => ({ kind: 'quorum', from, to });

describe('Replay change rules', () => {
  it('reports an outcome change alone, and quorum and group changes only between two approvals', () => {
    expect(
      changesBetween({ outcome: 'allow' }, { outcome: 'require_approval', minApprovals: 1, groups: ['a'] }),
    ).toEqual(['allow→require_approval']);
    expect(
      changesBetween(
        { outcome: 'require_approval', minApprovals: 1, groups: ['a'] },
        { outcome: 'require_approval', minApprovals: 2, groups: ['a', 'b'] },
      ),
    ).toEqual(['quorum 1→2', 'groups a→a+b']);
    expect(diffVerdicts({ outcome: 'deny' }, { outcome: 'deny' })).toEqual([]);
  });

  it('matches FROM->TO rules with wildcards on either side', () => {
    expect(parseFailOn('allow->*')(outcome('allow', 'deny'))).toBe(true);
    expect(parseFailOn('allow->*')(outcome('require_approval', 'deny'))).toBe(false);
    expect(parseFailOn('*->deny')(outcome('require_approval', 'deny'))).toBe(true);
    expect(parseFailOn('*->deny')(outcome('deny', 'allow'))).toBe(false);
    expect(parseFailOn('require_approval→allow')(outcome('require_approval', 'allow'))).toBe(true);
    expect(parseFailOn('allow->*')(quorum(1, 2))).toBe(false);
  });

  it('matches quorum rules by direction', () => {
    expect(parseFailOn('quorum-up')(quorum(1, 2))).toBe(true);
    expect(parseFailOn('quorum-up')(quorum(2, 1))).toBe(false);
    expect(parseFailOn('quorum-down')(quorum(2, 1))).toBe(true);
    expect(parseFailOn('quorum')(quorum(2, 1))).toBe(true);
    expect(parseFailOn('any')(quorum(2, 1))).toBe(true);
  });

  it('refuses a rule it cannot read, listing the forms', () => {
    expect(() => parseFailOn('allow->maybe')).toThrow(
      /FROM->TO .* quorum, quorum-up, quorum-down, groups or any/,
    );
    expect(() => parseFailOn('stricter')).toThrow(/"stricter" is not a rule/);
  });

  it('reads --since durations in days, hours and minutes, and nothing else', () => {
    expect(parseSince('7d')).toBe(7 * 86_400_000);
    expect(parseSince('12h')).toBe(12 * 3_600_000);
    expect(parseSince('30m')).toBe(30 * 60_000);
    expect(parseSince('7 days')).toBeUndefined();
    expect(parseSince('-1d')).toBeUndefined();
  });
});
