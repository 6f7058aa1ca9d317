import type { Directory, PolicyDecision, PolicyInput } from '../model.ts';

/**
 * Evaluates the policy bundle. Implementations never throw for a bad input or a broken policy:
 * any doubt is returned as a `deny` decision with reason `policy_error` (fail closed).
 */
export interface PolicyEvaluator {
  /** `context.requestId` names the request being decided (absent for a dry run), for the decision log. */
  evaluate(input: PolicyInput, context?: DecisionContext): PolicyDecision;
  /** `sha256:<hex>` of the wasm module and the data document together. */
  readonly digest: string;
  /** Group membership and chat identity bindings from the bundle's data. */
  readonly directory: Directory;
}

export interface DecisionContext {
  readonly requestId?: string;
}
