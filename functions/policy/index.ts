/**
 * The policy engine: loads a Rego bundle compiled to wasm and evaluates it per request, failing
 * closed (docs/policies.md).
 */
export { type PolicyDigests, policyDigests } from './digest.ts';
export { PolicyInputError, PolicyLoadError } from './errors.ts';
export {
  consoleLogger,
  DEFAULT_ENTRYPOINT,
  ENGINE_REASON_CODES,
  type LoadPolicyEvaluatorOptions,
  loadPolicyEvaluator,
  type PolicyLogger,
  type PolicyMemoryOptions,
  UNHASHABLE_INPUT_HASH,
  WasmPolicyEvaluator,
} from './evaluator.ts';
export { formatDecision, type ParsedPolicyInput, parsePolicyInput } from './explain.ts';
export { loadPolicyEvaluatorFromFiles, type PolicyBundlePaths } from './files.ts';
export { DEFAULT_INPUT_LIMITS, type InputLimits, inputProblem } from './input-guard.ts';
