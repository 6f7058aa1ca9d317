/**
 * Bounds checked before an input reaches the wasm module. The module's JSON parser and evaluator
 * recurse on nesting with a fixed shadow stack and allocate from a bounded memory: a deeply nested
 * or huge input must be refused here, in JavaScript, where refusing costs nothing, rather than
 * exhaust or corrupt the instance.
 */

import { jsonFlaw } from '../core/json-hygiene.ts';

export interface InputLimits {
  /** Deepest nesting of objects and arrays, the input object itself being level 1. */
  readonly maxDepth: number;
  /** Most values (objects, arrays, scalars) in the whole input. */
  readonly maxValues: number;
  /** Longest canonical JSON of the input, in UTF-8 bytes. */
  readonly maxBytes: number;
}

/**
 * @default maxDepth 32 — a PolicyInput is four levels deep; agents' args and context add a few.
 * @default maxValues 10,000 — far above any real request, far below what a tight loop notices.
 * @default maxBytes 1 MiB — the HTTP body is capped at 64 KiB; direct callers get more room.
 */
export const DEFAULT_INPUT_LIMITS: InputLimits = {
  maxDepth: 32,
  maxValues: 10_000,
  maxBytes: 1024 * 1024,
};

/**
 * Why `input` cannot be evaluated, or undefined when it can: the gateway's JSON hygiene rule
 * (core/json-hygiene.ts) with these limits, worded for the policy decision's reason. The walk is
 * bounded by `maxValues` and `maxDepth` whatever it is given (cycles included).
 */
export function inputProblem(input: unknown, limits: InputLimits): string | undefined {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return 'the policy input must be a JSON object';
  }
  const flaw = jsonFlaw(input, limits);
  if (!flaw) return undefined;
  switch (flaw.kind) {
    case 'too_many_values':
      return `the input holds more than ${limits.maxValues} values`;
    case 'too_deep':
      return `the input is nested deeper than ${limits.maxDepth} levels`;
    case 'not_finite':
      return 'the input holds a number JSON cannot represent (NaN or Infinity)';
    case 'lone_surrogate':
    case 'lone_surrogate_key':
      // Canonical JSON escapes a lone surrogate and OPA's wasm JSON parser aborts on the escape.
      return 'the input holds a string that is not well-formed Unicode (a lone surrogate)';
    case 'proto_key':
      return 'the input holds a "__proto__" key, which object copies drop silently';
    case 'not_json':
      return `the input holds a ${flaw.type}, which JSON cannot represent`;
  }
}
