/**
 * Errors of the policy engine. Evaluation never throws (it fails closed with a deny); these are
 * raised while loading a bundle, where refusing to start is the safe answer, and by the helpers
 * that read a policy input from a file.
 */

/** The wasm module or its data document cannot be used. A gateway must not start on it. */
export class PolicyLoadError extends Error {
  override name = 'PolicyLoadError';
  readonly code = 'policy.load_failed';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
  }
}

/** A policy input file (for `policy:eval`) is missing or is not a JSON object. */
export class PolicyInputError extends Error {
  override name = 'PolicyInputError';
  readonly code = 'policy.input_invalid';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
  }
}
