/**
 * The one definition of what the gateway accepts as JSON data beyond what JSON.parse checks: no
 * numbers that overflowed to ±Infinity (or NaN), no lone surrogates in text or keys (not I-JSON,
 * so no RFC 8785 verifier could re-hash them, and OPA's wasm JSON parser aborts on them), no
 * `__proto__` key (object copies drop it silently, so approvers would see less than was sent), no
 * values JSON cannot hold, and bounded nesting and size. The HTTP edge (schemas.ts) and the policy
 * evaluator's input guard both walk with this; each words the flaw for its own callers.
 */

export type JsonFlawKind =
  | 'not_finite'
  | 'lone_surrogate'
  | 'lone_surrogate_key'
  | 'proto_key'
  | 'too_deep'
  | 'too_many_values'
  | 'not_json';

export interface JsonFlaw {
  readonly kind: JsonFlawKind;
  /** Keys and indexes from the root to the flawed value (for a key flaw: to its object). */
  readonly path: readonly (string | number)[];
  /** For `not_json`: the JavaScript type found. */
  readonly type?: string;
}

export interface JsonLimits {
  /** Deepest nesting of objects and arrays, the root being level 1. */
  readonly maxDepth: number;
  /** Most values (containers and scalars) in all. @default no limit */
  readonly maxValues?: number;
}

/** ES2024 `String.prototype.isWellFormed` (Node ≥ 20), absent from the ES2023 typings. */
function wellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}

/**
 * The first flaw of `value`, or undefined. Walks at most `maxValues` values and `maxDepth` levels,
 * so the walk itself is bounded whatever it is given (cycles included). Only own enumerable keys
 * count, as for JSON; `undefined` members are allowed (JSON and the canonical form drop them).
 */
export function jsonFlaw(value: unknown, limits: JsonLimits): JsonFlaw | undefined {
  const state = { values: 0, max: limits.maxValues ?? Number.POSITIVE_INFINITY };
  return visit(value, 1, [], limits.maxDepth, state);
}

function visit(
  value: unknown,
  depth: number,
  path: (string | number)[],
  maxDepth: number,
  state: { values: number; max: number },
): JsonFlaw | undefined {
  // One path array for the whole walk (push/pop), copied only when a flaw is found; no closure per
  // value, since code built with keepNames (tsx runs the sources so) pays a defineProperty for every closure.
  state.values++;
  if (state.values > state.max) return flawAt(path, 'too_many_values');
  switch (typeof value) {
    case 'string':
      return wellFormed(value) ? undefined : flawAt(path, 'lone_surrogate');
    case 'boolean':
    case 'undefined':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : flawAt(path, 'not_finite');
    case 'object': {
      if (value === null) return undefined;
      if (depth > maxDepth) return flawAt(path, 'too_deep');
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          path.push(i);
          const found = visit(value[i], depth + 1, path, maxDepth, state);
          path.pop();
          if (found) return found;
        }
        return undefined;
      }
      for (const key of Object.keys(value)) {
        if (key === '__proto__') return flawAt(path, 'proto_key');
        if (!wellFormed(key)) return flawAt(path, 'lone_surrogate_key');
        path.push(key);
        const found = visit((value as Record<string, unknown>)[key], depth + 1, path, maxDepth, state);
        path.pop();
        if (found) return found;
      }
      return undefined;
    }
    default:
      return flawAt(path, 'not_json', typeof value);
  }
}

/** A flaw at a copy of the walk's current path. */
function flawAt(path: readonly (string | number)[], kind: JsonFlawKind, type?: string): JsonFlaw {
  return { kind, path: [...path], ...(type ? { type } : {}) };
}
