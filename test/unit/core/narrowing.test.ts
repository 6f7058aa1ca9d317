/**
 * Approving narrower (core/narrowing.ts): the subset rules, the narrowed terms' own hash, the quorum
 * per term set and the narrowed grant, as examples and as properties.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recordProblems, verifyChain } from '../../../functions/core/audit.ts';
import {
  NarrowingDeniedError,
  ValidationError,
  VoteAlreadyCastError,
} from '../../../functions/core/errors.ts';
import * as lifecycle from '../../../functions/core/lifecycle.ts';
import type { ActionRequest, AuditEvent, GrantSpec, NarrowTo } from '../../../functions/core/model.ts';
import {
  isWithin,
  narrowedGrant,
  narrowTerms,
  quorumTerms,
  termsHash,
  termsOf,
  wildcardMatches,
} from '../../../functions/core/narrowing.ts';
import { buildSessionPolicy } from '../../../functions/core/session-policy.ts';
import { decision, directory, exportInput, owners } from '../../support/fixtures.ts';

const ACTIONS = ['s3:GetObject', 's3:ListBucket', 's3:PutObject'];
const PATTERN = 'arn:aws:s3:::exports/*';
const BUCKET = 'arn:aws:s3:::exports';
const LITERAL = 'arn:aws:s3:::reports/q2.csv';
const GRANT: GrantSpec = {
  type: 'aws_sts',
  role: 'arn:aws:iam::123456789012:role/exporter',
  actions: ACTIONS,
  resources: [PATTERN, BUCKET, LITERAL],
  window_seconds: 900,
  wildcards: [PATTERN],
};
const T0 = Date.parse('2026-11-22T10:00:00.000Z');
const ALLOW: lifecycle.Reevaluation = {
  outcome: 'require_approval',
  reasons: [],
  policy_digest: 'sha256:p',
  input_hash: 'sha256:i',
};

function pending(minApprovals = 2, id = 'ar_01NARROWNARROWNARROWNARRO'): ActionRequest {
  return lifecycle.submit({
    id,
    subject: lifecycle.subjectOf('agent:demo-exporter'),
    input: exportInput,
    decision: decision({
      grant: GRANT,
      approval: { groups: ['data-owners'], min_approvals: minApprovals, timeout_seconds: 3600 },
    }),
    now: new Date(T0),
    directory,
  }).request;
}

/** One vote through the lifecycle; narrowed votes carry the terms and a non-deny re-evaluation. */
function vote(
  request: ActionRequest,
  approver: string,
  narrowTo?: NarrowTo,
  reevaluation: lifecycle.Reevaluation = ALLOW,
): { request: ActionRequest; events: readonly AuditEvent[]; kind: string } {
  const terms = narrowTo ? narrowTerms(request, narrowTo) : undefined;
  const result = lifecycle.review(
    request,
    {
      approver,
      decision: 'approve',
      actionHash: request.actionHash,
      channel: 'api',
      now: new Date(T0 + 1000),
      ...(terms ? { narrowing: { terms, reevaluation } } : {}),
    },
    directory,
  );
  if (result.kind === 'duplicate') return { request: result.request, events: [], kind: 'duplicate' };
  return { request: result.transition.request, events: result.transition.events, kind: result.kind };
}

describe('narrowTerms', () => {
  const request = pending();

  it('accepts fewer actions, fewer resources and a shorter window, and hashes them', () => {
    const terms = narrowTerms(request, {
      actions: ['s3:GetObject'],
      resources: [LITERAL],
      window_seconds: 60,
    });
    expect(terms).toMatchObject({ actions: ['s3:GetObject'], resources: [LITERAL], window_seconds: 60 });
    expect(terms?.terms_hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(terms?.terms_hash).not.toBe(request.actionHash);
  });

  it('accepts a literal resource that a stated wildcard of the grant covers', () => {
    const terms = narrowTerms(request, { resources: ['arn:aws:s3:::exports/2026/q2.csv'] });
    expect(terms?.resources).toEqual(['arn:aws:s3:::exports/2026/q2.csv']);
  });

  it('keeps omitted terms as asked, and answers undefined when nothing is narrower', () => {
    expect(narrowTerms(request, {})).toBeUndefined();
    expect(narrowTerms(request, { actions: [...ACTIONS].reverse(), window_seconds: 900 })).toBeUndefined();
    expect(narrowTerms(request, { window_seconds: 899 })).toMatchObject({
      actions: [...ACTIONS].sort(),
      resources: [BUCKET, PATTERN, LITERAL].sort(),
      window_seconds: 899,
    });
  });

  it.each([
    [
      'an extra action',
      { actions: ['s3:GetObject', 's3:DeleteObject'] },
      'action "s3:DeleteObject" was not asked for',
    ],
    [
      'an extra resource',
      { resources: ['arn:aws:s3:::secrets/key'] },
      'resource "arn:aws:s3:::secrets/key" was not asked for',
    ],
    ['a longer window', { window_seconds: 901 }, 'window_seconds 901 is not within what was asked'],
    [
      'a wildcard replacing a literal',
      { resources: ['arn:aws:s3:::reports/*'] },
      'was not asked for (a wildcard',
    ],
    ['a wider wildcard than asked', { resources: ['arn:aws:s3:::export*'] }, 'was not asked for (a wildcard'],
    [
      'a narrower-looking wildcard inside a stated one',
      { resources: ['arn:aws:s3:::exports/q2/*'] },
      'a wildcard',
    ],
    ['an action with a wildcard', { actions: ['s3:*'] }, 'action "s3:*" was not asked for'],
    ['a policy variable', { resources: ['arn:aws:s3:::exports/\u0024{aws:username}'] }, 'was not asked for'],
    ['no actions', { actions: [] }, 'narrow_to.actions is empty'],
    ['no resources', { resources: [] }, 'narrow_to.resources is empty'],
    ['a zero window', { window_seconds: 0 }, 'window_seconds 0'],
    ['a fractional window', { window_seconds: 1.5 }, 'window_seconds 1.5'],
  ])('refuses %s, naming the term', (_, narrowTo: NarrowTo, message) => {
    expect(() => narrowTerms(request, narrowTo)).toThrow(ValidationError);
    expect(() => narrowTerms(request, narrowTo)).toThrow(message);
  });

  it('refuses to narrow a request whose grant names no scope', () => {
    const none = { ...request, grant: { type: 'none' as const } };
    expect(() => narrowTerms(none, { window_seconds: 10 })).toThrow(/has no scope to narrow/);
  });
});

describe('termsHash', () => {
  const terms = { actions: ['s3:GetObject'], resources: [LITERAL], window_seconds: 60 };

  it('is the same for the same terms in any order, and differs for other terms, requests or action hashes', () => {
    const hash = termsHash('ar_1', 'sha256:a', terms);
    expect(termsHash('ar_1', 'sha256:a', { ...terms, actions: ['s3:GetObject', 's3:GetObject'] })).toBe(hash);
    expect(termsHash('ar_2', 'sha256:a', terms)).not.toBe(hash);
    expect(termsHash('ar_1', 'sha256:b', terms)).not.toBe(hash);
    expect(termsHash('ar_1', 'sha256:a', { ...terms, window_seconds: 61 })).not.toBe(hash);
    expect(termsHash('ar_1', 'sha256:a', { ...terms, resources: [BUCKET] })).not.toBe(hash);
  });
});

describe('wildcardMatches', () => {
  it('matches * as any run and ? as one character, everything else literally', () => {
    expect(wildcardMatches('arn:aws:s3:::a/*', 'arn:aws:s3:::a/b/c')).toBe(true);
    expect(wildcardMatches('arn:aws:s3:::a/?', 'arn:aws:s3:::a/bc')).toBe(false);
    expect(wildcardMatches('arn:aws:s3:::a.b/*', 'arn:aws:s3:::aXb/c')).toBe(false);
    expect(wildcardMatches('arn:aws:s3:::a(b)/*', 'arn:aws:s3:::a(b)/c')).toBe(true);
    expect(wildcardMatches('a*b?c*', 'aXXbYcZZ')).toBe(true);
    expect(wildcardMatches('a*b?c', 'aXXbYcZ')).toBe(false);
    expect(wildcardMatches('*', '')).toBe(true);
    expect(wildcardMatches('?', '')).toBe(false);
  });

  it('agrees with a regular expression built from the pattern, on any pattern and value', () => {
    const text = fc.stringMatching(/^[ab*?/]{0,10}$/);
    fc.assert(
      fc.property(text, fc.stringMatching(/^[ab/]{0,12}$/), (pattern, value) => {
        const source = [...pattern].map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch)).join('');
        expect(wildcardMatches(pattern, value)).toBe(new RegExp(`^${source}$`, 's').test(value));
      }),
      { numRuns: 2000 },
    );
  });

  it('answers a pattern of many stars against a long value that does not match', () => {
    expect(wildcardMatches(`${'a*'.repeat(30)}b`, 'a'.repeat(2000))).toBe(false);
  });
});

describe('Function: review, with narrowed votes', () => {
  const bob = owners[0] as string;
  const carol = owners[1] as string;
  const dave = owners[2] as string;
  const onlyRead = { actions: ['s3:GetObject'], resources: [LITERAL] };
  const onlyList = { actions: ['s3:ListBucket'], resources: [BUCKET] };

  it('records the terms with the vote and the re-evaluation in review.recorded', () => {
    const { request, events } = vote(pending(), bob, onlyRead);
    expect(request.approval?.votes[0]?.terms).toMatchObject(onlyRead);
    expect(events[0]).toMatchObject({
      type: 'review.recorded',
      data: { terms: { ...onlyRead, window_seconds: 900 }, reevaluation: ALLOW },
    });
    expect(events[0]?.data.terms_hash).toBe(request.approval?.votes[0]?.terms?.terms_hash);
  });

  it('does not count a vote on other terms toward a narrowing', () => {
    let request = vote(pending(), bob, onlyRead).request;
    request = vote(request, carol, onlyList).request;
    expect(request.status).toBe('pending');
    request = vote(request, dave, onlyRead).request;
    expect(request.status).toBe('approved');
    expect(request.narrowed?.terms).toMatchObject(onlyRead);
  });

  it('does not count a narrowed vote toward the request as asked', () => {
    let request = vote(pending(), bob, onlyRead).request;
    request = vote(request, carol, { window_seconds: 600 }).request;
    expect(request.status).toBe('pending');
  });

  it('counts a vote on the request as asked toward a narrowing, and grants only the narrowing', () => {
    let request = vote(pending(), bob).request;
    const decided = vote(request, carol, onlyRead);
    request = decided.request;
    expect(request.status).toBe('approved');
    expect(request.grant).toEqual({
      type: 'aws_sts',
      role: GRANT.role,
      actions: ['s3:GetObject'],
      resources: [LITERAL],
      window_seconds: 900,
    });
    expect(request.narrowed?.asked).toEqual(GRANT);
    expect(decided.events.at(-1)).toMatchObject({
      type: 'request.approved',
      data: { approvers: [bob, carol], terms: { ...onlyRead, window_seconds: 900 } },
    });
  });

  it('approves as asked when the as-asked votes reach quorum first', () => {
    let request = vote(pending(3), bob, onlyRead).request;
    request = vote(request, carol).request;
    expect(request.status).toBe('pending');
    request = vote(pending(2), carol).request;
    request = vote(request, dave).request;
    expect(request.status).toBe('approved');
    expect(request.narrowed).toBeUndefined();
    expect(request.grant).toEqual(GRANT);
  });

  it('approves the narrowing voted first when an as-asked vote completes two at once', () => {
    let request = vote(pending(2), bob, onlyList).request;
    request = vote(request, carol, onlyRead).request;
    request = vote(request, dave).request;
    expect(request.status).toBe('approved');
    expect(request.narrowed?.terms).toMatchObject(onlyList);
  });

  it('treats the same narrowed vote again as a retry, and a vote on other terms as a changed vote', () => {
    const request = vote(pending(), bob, onlyRead).request;
    expect(vote(request, bob, onlyRead).kind).toBe('duplicate');
    expect(() => vote(request, bob, onlyList)).toThrow(VoteAlreadyCastError);
    expect(() => vote(request, bob)).toThrow(VoteAlreadyCastError);
  });

  it('refuses the vote when the policy denies the narrowed terms, recording nothing', () => {
    const deny = {
      ...ALLOW,
      outcome: 'deny' as const,
      reasons: [{ code: 'x', message: 'Not that window.' }],
    };
    expect(() => vote(pending(), bob, onlyRead, deny)).toThrow(NarrowingDeniedError);
    expect(() => vote(pending(), bob, onlyRead, deny)).toThrow(/Not that window/);
  });

  it('refuses terms that do not match the request they are cast on', () => {
    const other = pending(2, 'ar_01OTHEROTHEROTHEROTHEROTH');
    const terms = narrowTerms(other, onlyRead);
    if (!terms) throw new Error('expected terms');
    expect(() =>
      lifecycle.review(
        pending(),
        {
          approver: bob,
          decision: 'approve',
          actionHash: other.actionHash,
          channel: 'api',
          now: new Date(T0 + 1000),
          narrowing: { terms, reevaluation: ALLOW },
        },
        directory,
      ),
    ).toThrow(ValidationError);
  });

  it('keeps the record in agreement with the chain, and notices a record whose grant was widened', () => {
    const first = lifecycle.submit({
      id: 'ar_01NARROWNARROWNARROWNARRO',
      subject: lifecycle.subjectOf('agent:demo-exporter'),
      input: exportInput,
      decision: decision({
        grant: GRANT,
        approval: { groups: ['data-owners'], min_approvals: 1, timeout_seconds: 3600 },
      }),
      now: new Date(T0),
      directory,
    });
    const decided = vote(first.request, bob, onlyRead);
    const events = [...first.events, ...decided.events];
    expect(verifyChain(events).ok).toBe(true);
    expect(recordProblems(decided.request, events)).toEqual([]);
    const widened = { ...decided.request, grant: GRANT };
    expect(
      recordProblems(widened, events)
        .map((p) => p.message)
        .join(),
    ).toMatch(/grant/);
  });
});

// --- properties --------------------------------------------------------------------------------

const asked = termsOf(GRANT);
if (!asked) throw new Error('the fixture grant has terms');
// Mostly terms that were asked for, sometimes one that was not: both sides of every rule get runs.
const candidateAction = fc.oneof(
  { arbitrary: fc.constantFrom(...ACTIONS), weight: 6 },
  { arbitrary: fc.constantFrom('s3:DeleteObject', 's3:*', 's3:getobject', 'iam:PassRole'), weight: 1 },
);
const candidateResource = fc.oneof(
  { arbitrary: fc.constantFrom(PATTERN, BUCKET, LITERAL), weight: 4 },
  {
    arbitrary: fc.constantFrom('arn:aws:s3:::*', 'arn:aws:s3:::reports/*', 'arn:aws:s3:::exports/?'),
    weight: 1,
  },
  {
    arbitrary: fc.stringMatching(/^[a-z0-9/.*?]{0,12}$/).map((tail) => `arn:aws:s3:::exports/${tail}`),
    weight: 2,
  },
  { arbitrary: fc.stringMatching(/^[a-z0-9/.*?]{0,12}$/).map((tail) => `arn:aws:s3:::${tail}`), weight: 1 },
);
const narrowToArb: fc.Arbitrary<NarrowTo> = fc.record(
  {
    actions: fc.array(candidateAction, { maxLength: 4 }),
    resources: fc.array(candidateResource, { maxLength: 3 }),
    window_seconds: fc.oneof(
      fc.integer({ min: 880, max: 920 }),
      fc.integer({ min: -5, max: 2000 }),
      fc.double({ min: 0, max: 1000, noNaN: true }),
    ),
  },
  { requiredKeys: [] },
);

describe('Property: narrowing', () => {
  const request = pending();

  it('accepts only term sets within what was asked (any other is a ValidationError)', () => {
    fc.assert(
      fc.property(narrowToArb, (narrowTo) => {
        let terms: ReturnType<typeof narrowTerms>;
        try {
          terms = narrowTerms(request, narrowTo);
        } catch (error) {
          expect(error).toBeInstanceOf(ValidationError);
          return;
        }
        if (!terms) return;
        expect(isWithin(terms, asked, GRANT.wildcards ?? [])).toBe(true);
        for (const action of terms.actions) expect(ACTIONS).toContain(action);
        for (const resource of terms.resources) {
          const covered =
            asked.resources.includes(resource) ||
            (!/[*?]/.test(resource) && wildcardMatches(PATTERN, resource));
          expect(covered).toBe(true);
        }
        expect(terms.window_seconds).toBeLessThanOrEqual(900);
      }),
      { numRuns: 2000 },
    );
  });

  it('issues a session policy that never exceeds the narrowed terms', () => {
    fc.assert(
      fc.property(narrowToArb, (narrowTo) => {
        let terms: ReturnType<typeof narrowTerms>;
        try {
          terms = narrowTerms(request, narrowTo);
        } catch {
          return;
        }
        if (!terms) return;
        const policy = buildSessionPolicy(narrowedGrant(GRANT, terms), new Date(T0));
        const [statement] = policy.document.Statement;
        for (const action of statement.Action) expect(terms.actions).toContain(action);
        for (const resource of statement.Resource) expect(terms.resources).toContain(resource);
        expect(policy.usableUntil.getTime()).toBeLessThanOrEqual(T0 + terms.window_seconds * 1000);
      }),
      { numRuns: 1000 },
    );
  });

  it('approves a term set only with a quorum of votes on it or on the request as asked', () => {
    const choices: (NarrowTo | undefined)[] = [
      undefined,
      { actions: ['s3:GetObject'] },
      { actions: ['s3:GetObject'], resources: [LITERAL] },
      { window_seconds: 60 },
      { resources: ['arn:aws:s3:::exports/a.csv'] },
    ];
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.integer({ min: 0, max: choices.length - 1 }), { minLength: 1, maxLength: 8 }),
        (minApprovals, picks) => {
          let request = pending(minApprovals);
          picks.forEach((pick, i) => {
            if (request.status !== 'pending') return;
            request = vote(request, owners[i] as string, choices[pick]).request;
          });
          const votes = request.approval?.votes ?? [];
          const asAsked = votes.filter((v) => !v.terms).length;
          if (request.status === 'approved') {
            const terms = request.narrowed?.terms;
            const toward = terms ? votes.filter((v) => v.terms?.terms_hash === terms.terms_hash).length : 0;
            expect(asAsked + toward).toBeGreaterThanOrEqual(minApprovals);
            if (terms) {
              expect(asAsked).toBeLessThan(minApprovals);
              expect(request.grant?.actions).toEqual(terms.actions);
              expect(request.grant?.resources).toEqual(terms.resources);
              expect(request.grant?.window_seconds).toBe(terms.window_seconds);
            } else {
              expect(request.grant).toEqual(GRANT);
            }
          } else {
            expect(quorumTerms(votes, minApprovals)).toBeUndefined();
            for (const v of votes) {
              const same = v.terms
                ? votes.filter((w) => w.terms?.terms_hash === v.terms?.terms_hash).length
                : 0;
              expect(asAsked + same).toBeLessThan(minApprovals);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
