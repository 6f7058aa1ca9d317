/**
 * The core's eligibility rules, over every aliasing of an identity: an alias is either refused at
 * the edge (no canonical form, or not written canonically) or resolves to the same principal, which
 * the rules then treat exactly as that principal.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  approvers,
  canView,
  delegationProblem,
  eligibleApprovers,
  ineligibility,
  requestingSide,
} from '../../../functions/core/eligibility.ts';
import { SelfApprovalError } from '../../../functions/core/errors.ts';
import * as lifecycle from '../../../functions/core/lifecycle.ts';
import type { Directory } from '../../../functions/core/model.ts';
import { canonicalPrincipal } from '../../../functions/core/principals.ts';
import { decision, exportInput } from '../../support/fixtures.ts';

const AGENT = 'agent:demo-exporter';
const ALICE = 'user:alice@example.gov'; // the agent's owner, a data owner herself
const BOB = 'user:bob@example.gov'; // the human the agent acts for, a data owner too
const CAROL = 'user:carol@example.gov';
const DAN = 'user:dan@example.gov';
const T0 = new Date('2026-11-22T10:00:00.000Z');

const directory: Directory = {
  groups: { 'data-owners': [ALICE, BOB, CAROL, DAN] },
  identities: {},
  agents: {
    [AGENT]: {
      owners: [ALICE],
      acts_for: [
        { principal: BOB },
        { principal: CAROL, not_before: '2026-11-01T00:00:00Z', not_after: '2026-11-15T00:00:00Z' },
      ],
    },
  },
};

function pending(context: Record<string, unknown>, dir: Directory = directory) {
  return lifecycle.submit({
    id: 'ar_01TESTTESTTESTTESTTESTTEST',
    subject: lifecycle.subjectOf(AGENT),
    input: { ...exportInput, context },
    decision: decision(),
    now: T0,
    directory: dir,
  }).request;
}

/** Case, trailing dots, type aliases, white space and look-alike letters applied to an id. */
const alias = (id: string) =>
  fc
    .record({
      upper: fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
      dots: fc.nat({ max: 2 }),
      type: fc.constantFrom('user', 'User', 'human', 'PERSON'),
      space: fc.constantFrom('', ' '),
      forge: fc.option(fc.constantFrom('\u0430', '\u043e', '\u200b', '\uff41', '\u202e'), { nil: undefined }),
      at: fc.nat(),
    })
    .map(({ upper, dots, type, space, forge, at }) => {
      let name = [...id.slice(id.indexOf(':') + 1)]
        .map((ch, i) => (upper[i % upper.length] ? ch.toUpperCase() : ch))
        .join('');
      if (forge) {
        const i = at % name.length;
        name = `${name.slice(0, i)}${forge}${name.slice(i + 1)}`;
      }
      return `${space}${type}:${name}${'.'.repeat(dots)}${space}`;
    });

/** What an edge does with an id someone presents: the canonical id, or nothing (refused). */
function atTheEdge(raw: string): string | undefined {
  const result = canonicalPrincipal(raw);
  return result.ok ? result.principal.id : undefined;
}

describe('eligibility', () => {
  it('refuses the requester, the human it acts for and its owner, and names why', () => {
    const request = pending({ on_behalf_of: BOB });
    expect(ineligibility(request, AGENT, directory)).toBeInstanceOf(SelfApprovalError);
    expect(ineligibility(request, BOB, directory)?.message).toMatch(/acts for/);
    expect(ineligibility(request, ALICE, directory)?.message).toBe(
      `${ALICE} owns ${AGENT}, which made this request, and cannot approve it`,
    );
    expect(ineligibility(request, CAROL, directory)).toBeUndefined();
  });

  it('refuses the owner even when the agent leaves on_behalf_of out', () => {
    const request = pending({});
    expect(ineligibility(request, ALICE, directory)).toBeInstanceOf(SelfApprovalError);
    expect(request.approval?.exclude).toEqual([AGENT, ALICE].sort());
  });

  it('keeps the owner at submission excluded after the data stops naming them', () => {
    const request = pending({});
    const later: Directory = { ...directory, agents: { [AGENT]: { owners: [DAN] } } };
    expect(ineligibility(request, ALICE, later)?.message).toMatch(/excluded/);
    expect(ineligibility(request, DAN, later)).toBeInstanceOf(SelfApprovalError);
  });

  it('lets owners see their agent’s requests without letting them vote', () => {
    const request = pending({});
    expect(canView(request, ALICE, directory)).toBe(true);
    expect(canView(request, 'user:mallory@example.gov', directory)).toBe(false);
  });

  it('counts the eligible people for the quorum without the requesting side', () => {
    const side = requestingSide(AGENT, BOB, directory);
    expect([...side].sort()).toEqual([AGENT, ALICE, BOB].sort());
    const eligible = eligibleApprovers({ groups: ['data-owners'], min_approvals: 2 }, side, directory);
    expect([...eligible].sort()).toEqual([CAROL, DAN]);
  });

  it('counts one approval per principal, whichever channel it came by', () => {
    const vote = (approver: string, channel: string) =>
      ({ approver, decision: 'approve', channel, time: T0.toISOString() }) as const;
    expect(approvers([vote(CAROL, 'api'), vote(CAROL, 'cli'), vote(DAN, 'slack')])).toEqual([CAROL, DAN]);
  });

  describe('declared delegation', () => {
    it('accepts a declared human and says what to declare for anyone else', () => {
      expect(delegationProblem(AGENT, BOB, directory, T0)).toBeUndefined();
      expect(delegationProblem(AGENT, DAN, directory, T0)).toBe(
        `${AGENT} is not declared to act for ${DAN}; declare it in the policy data: ` +
          `agents["${AGENT}"].acts_for must list "${DAN}" (policies/data/agents.json), then rebuild the bundle`,
      );
      expect(delegationProblem('agent:undeclared', BOB, directory, T0)).toMatch(
        /agent:undeclared is not declared to act for/,
      );
    });

    it('refuses on_behalf_of from anyone but an agent', () => {
      expect(delegationProblem(CAROL, BOB, directory, T0)).toMatch(
        /only agents act on behalf of someone; user:carol@example.gov is not an agent/,
      );
      expect(delegationProblem('iam:arn:aws:iam::123456789012:role/ci', BOB, directory, T0)).toMatch(
        /is not an agent/,
      );
    });

    it('honours the validity period of a delegation', () => {
      expect(delegationProblem(AGENT, CAROL, directory, new Date('2026-11-10T00:00:00Z'))).toBeUndefined();
      expect(delegationProblem(AGENT, CAROL, directory, T0)).toMatch(
        /only from 2026-11-01T00:00:00Z to 2026-11-15T00:00:00Z, not at 2026-11-22T10:00:00.000Z/,
      );
    });
  });

  describe('over every aliasing', () => {
    it('never lets an alias of the human the agent acts for vote', () => {
      const request = pending({ on_behalf_of: BOB });
      fc.assert(
        fc.property(alias(BOB), (raw) => {
          const id = atTheEdge(raw);
          if (id === undefined) return; // refused at the edge: never reaches the core
          expect(id).toBe(BOB);
          expect(ineligibility(request, id, directory)).toBeInstanceOf(SelfApprovalError);
        }),
      );
    });

    it('never lets an alias of the owner vote, with or without on_behalf_of', () => {
      fc.assert(
        fc.property(alias(ALICE), fc.boolean(), (raw, withDelegation) => {
          const request = pending(withDelegation ? { on_behalf_of: BOB } : {});
          const id = atTheEdge(raw);
          if (id === undefined) return;
          expect(id).toBe(ALICE);
          expect(ineligibility(request, id, directory)).toBeInstanceOf(SelfApprovalError);
          expect(
            eligibleApprovers(
              { groups: ['data-owners'], min_approvals: 1 },
              requestingSide(AGENT, undefined, directory),
              directory,
            ).has(id),
          ).toBe(false);
        }),
      );
    });

    it('excludes an alias the policy wrote, once canonicalised, exactly as the canonical id', () => {
      fc.assert(
        fc.property(alias(CAROL), (raw) => {
          const id = atTheEdge(raw);
          if (id === undefined) return;
          const request = lifecycle.submit({
            id: 'ar_01TESTTESTTESTTESTTESTTEST',
            subject: lifecycle.subjectOf(AGENT),
            input: { ...exportInput, context: {} },
            decision: decision({
              approval: { groups: ['data-owners'], min_approvals: 1, timeout_seconds: 60, exclude: [id] },
            }),
            now: T0,
            directory,
          }).request;
          expect(ineligibility(request, CAROL, directory)?.message).toMatch(/excluded/);
        }),
      );
    });
  });
});
