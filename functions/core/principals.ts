/**
 * The one canonical form of a principal id, `<type>:<name>`. Two ids name the same principal
 * exactly when their canonical forms are equal, so the core compares ids with `===` and nothing
 * else; every edge (authentication, request bodies, policy data, chat bindings) either produces a
 * canonical id or refuses the input, naming the canonical form when there is one.
 *
 * Types (a closed set):
 * - `user`  — a person. The name is an e-mail address or directory user name (IAM Identity Center
 *   user names are ASCII `[\w+=,.@-]`). Case-insensitive: e-mail domains are, and directories
 *   (Identity Center, Entra ID, Slack, Teams) treat user names case-insensitively, so `Bob@X` and
 *   `bob@x` must be one person.
 * - `agent` — an AI agent or automation, named by a slug. Case-insensitive for the same reason.
 * - `iam`   — an AWS IAM role or user that is not taken to be a person:
 *   `iam:arn:<partition>:iam::<account>:(role|user)/<path/name>`. Case-insensitive: IAM refuses two
 *   roles (or users) whose names differ only by case, so lower-casing never merges two of them.
 *
 * Normalisation, in order: trim surrounding white space; Unicode NFC; refuse any character outside
 * printable ASCII; lower-case the type and the name; map the type aliases `human` and `person` to
 * `user`; drop trailing dots (a fully qualified domain `example.gov.` is `example.gov`); check the
 * name against its type's character set.
 *
 * Why refuse non-ASCII rather than fold it: a confusable check (UTS #39 skeletons) needs Unicode
 * data tables the core does not carry and still leaves mixed-script edge cases, while the sources
 * of identities this gateway trusts — IAM and Identity Center user names, Slack and Teams ids,
 * e-mail addresses of the agencies it serves — are ASCII. Refusing outright removes every
 * look-alike (Cyrillic `а`, full-width `ｂ`, zero-width joiners, bidi controls) at once.
 */
import { ValidationError } from './errors.ts';

export const PRINCIPAL_TYPES = ['user', 'agent', 'iam'] as const;
export type PrincipalType = (typeof PRINCIPAL_TYPES)[number];

/** Type prefixes people write that mean one of the types above. */
const TYPE_ALIASES: Readonly<Record<string, PrincipalType>> = { human: 'user', person: 'user' };

const MAX_NAME_LENGTH = 256;

/** What each type's canonical name looks like (after lower-casing). */
const NAME_RULES: Readonly<Record<PrincipalType, { pattern: RegExp; describe: string }>> = {
  user: {
    pattern: /^[a-z0-9_+=,%'-](?:[a-z0-9._+=,%'@-]*[a-z0-9_+=,%'@-])?$/,
    describe: "a user name or e-mail address of letters, digits and . _ + = , % ' @ -",
  },
  agent: {
    pattern: /^[a-z0-9](?:[a-z0-9._-]*[a-z0-9_-])?$/,
    describe: 'a slug of letters, digits and . _ - starting with a letter or digit',
  },
  iam: {
    // A role without its path (an assumed-role ARN never shows it, so a path would name nobody);
    // a user with its path (a user's ARN always carries it).
    pattern:
      /^arn:aws(?:-[a-z]+)*:iam::\d{12}:(?:role\/[a-z0-9_+=,.@-]+|user\/(?:[a-z0-9_+=,.@-]+\/)*[a-z0-9_+=,.@-]+)$/,
    describe:
      'an IAM role ARN without its path, arn:<partition>:iam::<account>:role/<name>, or an IAM user ARN',
  },
};

export interface Principal {
  readonly type: PrincipalType;
  readonly name: string;
  /** `<type>:<name>`, canonical. */
  readonly id: string;
}

export type Canonicalisation =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly problem: string };

/** The canonical form of `raw`, or why it has none. Never throws. */
export function canonicalPrincipal(raw: unknown): Canonicalisation {
  if (typeof raw !== 'string') return { ok: false, problem: 'a principal id must be a string' };
  const text = raw.trim().normalize('NFC');
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x21 || code > 0x7e) {
      const point = text.codePointAt(i) ?? code;
      return {
        ok: false,
        problem:
          `${JSON.stringify(raw)} holds U+${point.toString(16).toUpperCase().padStart(4, '0')} at position ${i}; ` +
          'principal ids are printable ASCII only, so a look-alike letter can never name someone else',
      };
    }
  }
  const colon = text.indexOf(':');
  if (colon <= 0) {
    return {
      ok: false,
      problem: `${JSON.stringify(raw)} is not a principal id (<type>:<name>); write e.g. user:alice@example.gov or agent:exporter`,
    };
  }
  const typeText = text.slice(0, colon).toLowerCase();
  const type = (PRINCIPAL_TYPES as readonly string[]).includes(typeText)
    ? (typeText as PrincipalType)
    : TYPE_ALIASES[typeText];
  if (type === undefined) {
    return {
      ok: false,
      problem: `${JSON.stringify(raw)} has the unknown type "${typeText}"; the types are ${PRINCIPAL_TYPES.join(', ')}`,
    };
  }
  const name = text
    .slice(colon + 1)
    .toLowerCase()
    .replace(/\.+$/, '');
  const rule = NAME_RULES[type];
  if (name.length === 0 || name.length > MAX_NAME_LENGTH || !rule.pattern.test(name)) {
    return {
      ok: false,
      problem: `${JSON.stringify(raw)} is not a valid ${type} principal: the name must be ${rule.describe} (at most ${MAX_NAME_LENGTH} characters)`,
    };
  }
  return { ok: true, principal: { type, name, id: `${type}:${name}` } };
}

/**
 * Why `raw` is not a canonical principal id, naming the canonical form when one exists; undefined
 * when it is canonical. The message is meant for the person who wrote the id.
 */
export function principalProblem(raw: unknown): string | undefined {
  const result = canonicalPrincipal(raw);
  if (!result.ok) return result.problem;
  if (result.principal.id !== raw) {
    return `${JSON.stringify(raw)} is not in canonical form; write ${JSON.stringify(result.principal.id)}`;
  }
  return undefined;
}

export function isCanonicalPrincipal(raw: unknown): raw is string {
  return principalProblem(raw) === undefined;
}

/** Parses a canonical id; anything else is a ValidationError that names the canonical form. */
export function parsePrincipal(raw: string, field = 'principal'): Principal {
  const result = canonicalPrincipal(raw);
  if (!result.ok) throw new ValidationError(result.problem, { details: { field, got: raw } });
  if (result.principal.id !== raw) {
    throw new ValidationError(
      `${JSON.stringify(raw)} is not in canonical form; write ${JSON.stringify(result.principal.id)}`,
      { details: { field, got: raw, canonical: result.principal.id } },
    );
  }
  return result.principal;
}

/** Builds a canonical id from a type and a name that came from a trusted source (IAM, config). */
export function formatPrincipal(type: PrincipalType, name: string): string {
  const result = canonicalPrincipal(`${type}:${name}`);
  if (!result.ok) throw new ValidationError(result.problem, { details: { field: 'principal' } });
  return result.principal.id;
}

/** The type of a canonical id (`user`, `agent`, `iam`); undefined for anything else. */
export function principalType(id: string): PrincipalType | undefined {
  const result = canonicalPrincipal(id);
  return result.ok && result.principal.id === id ? result.principal.type : undefined;
}

/** Whether an id is canonical and names a person: only `user:` principals do. */
export function isPerson(id: string): boolean {
  return principalType(id) === 'user';
}
