import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalPrincipal,
  formatPrincipal,
  isCanonicalPrincipal,
  parsePrincipal,
  principalProblem,
} from '../../../functions/core/principals.ts';

const lowerAlnum = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789');
const word = fc.string({ unit: lowerAlnum, minLength: 1, maxLength: 12 });

/** Canonical user ids shaped like e-mail addresses: `user:<local>@<domain>.<tld>`. */
const canonicalUser = fc
  .tuple(word, fc.option(word, { nil: undefined }), word, word)
  .map(([local, dotted, domain, tld]) => `user:${local}${dotted ? `.${dotted}` : ''}@${domain}.${tld}`);
const canonicalAgent = fc.tuple(word, word).map(([a, b]) => `agent:${a}-${b}`);
const canonicalId = fc.oneof(canonicalUser, canonicalAgent);

/** Random upper-casing of some letters of a string. */
function recase(text: string, mask: readonly boolean[]): string {
  return [...text].map((ch, i) => (mask[i % mask.length] ? ch.toUpperCase() : ch)).join('');
}

/** Every aliasing the issue names, as a generator of variants of a canonical id. */
const variant = (id: string) =>
  fc
    .record({
      mask: fc.array(fc.boolean(), { minLength: 1, maxLength: 16 }),
      dots: fc.nat({ max: 3 }),
      alias: fc.constantFrom('', 'human', 'person', 'USER', 'Human'),
      space: fc.constantFrom('', ' ', '\t', '\n'),
    })
    .map(({ mask, dots, alias, space }) => {
      const colon = id.indexOf(':');
      const type = id.startsWith('user:') && alias !== '' ? alias : recase(id.slice(0, colon), mask);
      return `${space}${type}:${recase(id.slice(colon + 1), mask)}${'.'.repeat(dots)}${space}`;
    });

/** Characters that look like ASCII letters or hide: Cyrillic, Greek, full-width, zero-width, bidi. */
const lookAlike = fc.constantFrom(
  '\u0430', // Cyrillic a
  '\u043e', // Cyrillic o
  '\u0435', // Cyrillic e
  '\u03bf', // Greek omicron
  '\uff42', // full-width b
  '\u200b', // zero-width space
  '\u200d', // zero-width joiner
  '\u202e', // right-to-left override
  '\u2066', // left-to-right isolate
  '\u00a0', // no-break space
  'o\u0308', // o + combining diaeresis (NFC: ö)
  '\u0131', // dotless i
);

describe('principal ids', () => {
  it.each([
    ['user:Bob@example.gov', 'user:bob@example.gov'],
    ['user:bob@EXAMPLE.GOV', 'user:bob@example.gov'],
    ['user:bob@example.gov.', 'user:bob@example.gov'],
    ['human:bob@example.gov', 'user:bob@example.gov'],
    ['USER:bob@example.gov', 'user:bob@example.gov'],
    ['  user:bob@example.gov ', 'user:bob@example.gov'],
    ['agent:Demo-Exporter', 'agent:demo-exporter'],
    ['iam:arn:aws:iam::123456789012:role/Deployer', 'iam:arn:aws:iam::123456789012:role/deployer'],
  ])('resolves %j to %s and refuses it at an edge, naming the canonical form', (raw, canonical) => {
    const result = canonicalPrincipal(raw);
    expect(result).toMatchObject({ ok: true, principal: { id: canonical } });
    expect(principalProblem(raw)).toBe(
      `${JSON.stringify(raw)} is not in canonical form; write "${canonical}"`,
    );
    expect(() => parsePrincipal(raw, 'context.on_behalf_of')).toThrow(
      expect.objectContaining({
        code: 'invalid_request',
        details: { field: 'context.on_behalf_of', got: raw, canonical },
      }),
    );
  });

  it.each([
    ['user:b\u043eb@example.gov', /U\+043E at position 6/],
    ['user:bob@example.gov\u200b', /U\+200B/],
    ['user:\u202eecila@example.gov', /U\+202E/],
    ['bob@example.gov', /not a principal id/],
    ['group:data-owners', /unknown type "group"; the types are user, agent, iam/],
    ['user:', /not a valid user principal/],
    ['user:bob smith@example.gov', /U\+0020/],
    ['agent:-leading-dash', /not a valid agent principal/],
    ['iam:arn:aws:iam::12345:role/short-account', /not a valid iam principal/],
    ['iam:arn:aws:sts::123456789012:assumed-role/x/y', /not a valid iam principal/],
    ['iam:arn:aws:iam::123456789012:role/ops/deployer', /not a valid iam principal/],
  ])('refuses %j outright', (raw, message) => {
    const result = canonicalPrincipal(raw);
    expect(result.ok).toBe(false);
    expect(principalProblem(raw)).toMatch(message);
  });

  it('accepts canonical ids unchanged and builds them from trusted parts', () => {
    expect(isCanonicalPrincipal('user:alice@example.gov')).toBe(true);
    expect(parsePrincipal('agent:demo-exporter')).toEqual({
      type: 'agent',
      name: 'demo-exporter',
      id: 'agent:demo-exporter',
    });
    expect(formatPrincipal('user', 'Alice@Example.gov')).toBe('user:alice@example.gov');
    expect(() => formatPrincipal('user', 'al\u0456ce@example.gov')).toThrow(/U\+0456/);
  });

  it('maps every case, trailing-dot, type-alias and white-space variant to the same canonical id', () => {
    fc.assert(
      fc.property(
        canonicalId.chain((id) => fc.tuple(fc.constant(id), variant(id))),
        ([id, alias]) => {
          const result = canonicalPrincipal(alias);
          expect(result).toMatchObject({ ok: true, principal: { id } });
          // Refused at an edge unless it was written canonically already.
          expect(isCanonicalPrincipal(alias)).toBe(alias === id);
        },
      ),
    );
  });

  it('refuses every id holding a look-alike or invisible character, wherever it is', () => {
    fc.assert(
      fc.property(canonicalId, lookAlike, fc.nat(), (id, odd, at) => {
        const i = 1 + (at % (id.length - 1));
        const forged = `${id.slice(0, i)}${odd}${id.slice(i)}`;
        expect(canonicalPrincipal(forged).ok).toBe(false);
        expect(canonicalPrincipal(forged.normalize('NFD')).ok).toBe(false);
      }),
    );
  });

  it('folds a character whose canonical (NFC) equivalent is ASCII, and still refuses it at an edge', () => {
    // U+212A KELVIN SIGN is canonically equivalent to K: it is the same text, not a look-alike.
    expect(canonicalPrincipal('user:\u212aim@example.gov')).toMatchObject({
      ok: true,
      principal: { id: 'user:kim@example.gov' },
    });
    expect(principalProblem('user:\u212aim@example.gov')).toMatch(/write "user:kim@example.gov"/);
  });

  it('is idempotent: the canonical form of a canonical id is itself', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (raw) => {
        const once = canonicalPrincipal(raw);
        if (!once.ok) return;
        expect(canonicalPrincipal(once.principal.id)).toEqual(once);
      }),
    );
  });
});
