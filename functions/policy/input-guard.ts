/**
 * Bounds checked before an input reaches the wasm module. The module's JSON parser and evaluator
 * recurse on nesting with a fixed shadow stack and allocate from a bounded memory: a deeply nested
 * or huge input must be refused here, in JavaScript, where refusing costs nothing, rather than
 * exhaust or corrupt the instance.
 */

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
 * Why `input` cannot be evaluated, or undefined when it can. Walks at most `maxValues` values and
 * `maxDepth` levels, so the walk itself is bounded whatever it is given (cycles included).
 * `undefined` members are allowed: JSON (and the canonical form) drops them.
 */
export function inputProblem(input: unknown, limits: InputLimits): string | undefined {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return 'the policy input must be a JSON object';
  }
  const state = { values: 0 };
  return visit(input, 1, limits, state);
}

/** ES2024 `String.prototype.isWellFormed` (Node ≥ 20), absent from the ES2023 typings. */
function wellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}

// A lone surrogate has no UTF-8 form: canonical JSON escapes it and OPA's wasm JSON parser aborts
// on the escape, so it is refused here with a clear reason.
const NOT_UNICODE = 'the input holds a string that is not well-formed Unicode (a lone surrogate)';

function visit(
  value: unknown,
  depth: number,
  limits: InputLimits,
  state: { values: number },
): string | undefined {
  state.values++;
  if (state.values > limits.maxValues) return `the input holds more than ${limits.maxValues} values`;
  switch (typeof value) {
    case 'string':
      return wellFormed(value) ? undefined : NOT_UNICODE;
    case 'boolean':
    case 'undefined':
      return undefined;
    case 'number':
      return Number.isFinite(value)
        ? undefined
        : 'the input holds a number JSON cannot represent (NaN or Infinity)';
    case 'object': {
      if (value === null) return undefined;
      if (depth > limits.maxDepth) return `the input is nested deeper than ${limits.maxDepth} levels`;
      if (Array.isArray(value)) {
        for (const item of value) {
          const problem = visit(item, depth + 1, limits, state);
          if (problem !== undefined) return problem;
        }
        return undefined;
      }
      for (const key in value) {
        if (!Object.hasOwn(value, key)) continue;
        if (!wellFormed(key)) return NOT_UNICODE;
        const problem = visit((value as Record<string, unknown>)[key], depth + 1, limits, state);
        if (problem !== undefined) return problem;
      }
      return undefined;
    }
    default:
      return `the input holds a ${typeof value}, which JSON cannot represent`;
  }
}
