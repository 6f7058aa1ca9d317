import { hash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';

// The package is CommonJS whose typings claim an ES default export; at run time (Node ESM, esbuild)
// the default import is the function itself.
const canonicalizeJson = canonicalizeModule as unknown as (value: unknown) => string | undefined;

/**
 * RFC 8785 (JCS) canonical JSON. Throws on values JSON cannot represent (undefined at the top,
 * functions, non-finite numbers are rejected by the library), so callers never hash a lossy form.
 */
export function canonicalize(value: unknown): string {
  const text = canonicalizeJson(value);
  if (text === undefined) throw new TypeError('value has no JSON representation');
  return text;
}

/**
 * The canonical JSON of an object whose members' canonical JSON is at hand already: exactly what
 * `canonicalize` gives for the object itself (keys in UTF-16 code-unit order, a member whose text
 * is undefined left out as an undefined value is), without serialising those members again. One
 * request's parts (its action, resource, subject) are canonicalised once and joined here into the
 * action hash and the audit events that carry them.
 */
export function canonicalObject(members: Readonly<Record<string, string | undefined>>): string {
  let text = '';
  for (const key of Object.keys(members).sort()) {
    const member = members[key];
    if (member === undefined) continue;
    text += `${text === '' ? '' : ','}${JSON.stringify(key)}:${member}`;
  }
  return `{${text}}`;
}

/** `canonicalize` of a member value, undefined for undefined (left out of its object). */
export function canonicalMember(value: unknown): string | undefined {
  return value === undefined ? undefined : canonicalize(value);
}

/**
 * `sha256:<hex>` of a UTF-8 string or bytes. One-shot `crypto.hash` (Node ≥ 20.12): no Hash object
 * per call, about half the cost of createHash().update().digest() for the small texts hashed here.
 */
export function sha256(data: string | Uint8Array): string {
  return `sha256:${hash('sha256', data, 'hex')}`;
}

/** `sha256:<hex>` of the canonical JSON of a value. */
export function hashCanonical(value: unknown): string {
  return sha256(canonicalize(value));
}
