/**
 * Property: the hashes built from parts canonicalised once (canonicalObject, the submission's
 * action hash and audit events, events whose drafts carry their data's canonical text) are
 * byte-for-byte those of the plain path — RFC 8785 canonical JSON of the whole value, then SHA-256 —
 * on generated requests, so an auditor recomputing them with any JCS implementation agrees.
 */
import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { verifyChain } from '../../../functions/core/audit.ts';
import { canonicalMember, canonicalObject } from '../../../functions/core/canonical.ts';
import * as lifecycle from '../../../functions/core/lifecycle.ts';
import type { ActionRequestInput, AuditEvent } from '../../../functions/core/model.ts';
import { decision, directory } from '../../support/fixtures.ts';

// The reference: the library's canonical JSON of the whole value and Node's SHA-256, nothing shared.
const jcs = canonicalizeModule as unknown as (value: unknown) => string;
const plainHash = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

/** JSON values as an agent may send them: odd keys (non-ASCII, astral, empty), numbers of every kind. */
const key = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.string({ unit: 'grapheme', maxLength: 4 }),
  fc.constantFrom('', 'a', 'A', 'é', '\u{1f600}', '\u00e9', 'e\u0301', '10', '1', 'b', '\ud800x'),
);
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ unit: 'grapheme', maxLength: 12 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 5 }),
  ),
})).value;

const input: fc.Arbitrary<ActionRequestInput> = fc.record({
  action: fc.record({ name: fc.string({ minLength: 1, maxLength: 20 }), args: fc.dictionary(key, json) }),
  resource: fc.record(
    {
      type: fc.string({ minLength: 1 }),
      id: fc.string({ minLength: 1 }),
      properties: fc.dictionary(key, json),
    },
    { requiredKeys: ['type', 'id'] },
  ),
  context: fc.record({ justification: fc.string({ unit: 'grapheme' }), extra: json }, { requiredKeys: [] }),
}) as fc.Arbitrary<ActionRequestInput>;

const principal = fc.constantFrom('agent:a', 'agent:ünïcode', 'user:bob@example.gov', 'service:x:y');

describe('Property: canonical parts', () => {
  it('joins members canonicalised apart into exactly the canonical JSON of the whole object', () => {
    fc.assert(
      fc.property(fc.dictionary(key, fc.option(json, { nil: undefined })), (object) => {
        const members = Object.fromEntries(
          Object.entries(object).map(([name, value]) => [name, canonicalMember(value)]),
        );
        expect(canonicalObject(members)).toBe(jcs(object));
      }),
      { numRuns: 500 },
    );
  });

  it('gives a submission the action hash and audit hashes of plain canonicalisation and SHA-256', () => {
    fc.assert(
      fc.property(
        input,
        principal,
        fc.constantFrom('allow', 'deny', 'require_approval') as fc.Arbitrary<
          'allow' | 'deny' | 'require_approval'
        >,
        (asked, who, outcome) => {
          const subject = lifecycle.subjectOf(who);
          const { request, events } = lifecycle.submit({
            id: 'ar_01JH0000000000000000000000',
            subject,
            input: asked,
            decision: decision(outcome === 'require_approval' ? {} : { outcome, approval: undefined }),
            now: new Date('2026-11-29T23:00:00.000Z'),
            directory,
          });
          const actionHash = plainHash(jcs({ subject, action: asked.action, resource: asked.resource }));
          expect(request.actionHash).toBe(actionHash);
          expect(lifecycle.actionHash(subject, asked)).toBe(actionHash);
          let prev = 'sha256:0000000000000000000000000000000000000000000000000000000000000000';
          for (const event of events) {
            const { hash, ...unhashed } = event as AuditEvent;
            expect(hash).toBe(plainHash(`${prev}\n${jcs(unhashed)}`));
            prev = hash;
          }
          expect(verifyChain(events).ok).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
