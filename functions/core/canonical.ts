import { createHash } from 'node:crypto';
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

/** `sha256:<hex>` of a UTF-8 string or bytes. */
export function sha256(data: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** `sha256:<hex>` of the canonical JSON of a value. */
export function hashCanonical(value: unknown): string {
  return sha256(canonicalize(value));
}
