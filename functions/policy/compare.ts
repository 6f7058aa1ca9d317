/**
 * What two decisions for the same input differ in, as a security team reads a policy change:
 * the outcome (allow → require_approval, new denials) and, when both ask for approval, the terms
 * (quorum 1 → 2, other approver groups). Reasons and messages are not compared: rewording a rule
 * changes nothing a requester would notice. Used by shadow mode and by `ala policy replay`.
 */
import type { PolicyOutcome } from '../core/model.ts';

/** The parts of a decision that a change is judged by. */
export interface Verdict {
  readonly outcome: PolicyOutcome;
  readonly minApprovals?: number;
  readonly groups?: readonly string[];
}

export interface DecisionLike {
  readonly outcome: PolicyOutcome;
  readonly approval?: { readonly min_approvals: number; readonly groups: readonly string[] };
}

export function verdictOf(decision: DecisionLike): Verdict {
  if (decision.outcome !== 'require_approval' || decision.approval === undefined) {
    return { outcome: decision.outcome };
  }
  return {
    outcome: decision.outcome,
    minApprovals: decision.approval.min_approvals,
    groups: [...decision.approval.groups].sort(),
  };
}

/** Each difference as `outcome allow→deny`, `quorum 1→2` or `groups a→a+b`; empty when none. */
export function changesBetween(before: Verdict, after: Verdict): string[] {
  if (before.outcome !== after.outcome) return [`outcome ${before.outcome}→${after.outcome}`];
  if (before.outcome !== 'require_approval') return [];
  const changes: string[] = [];
  if (before.minApprovals !== after.minApprovals) {
    changes.push(`quorum ${before.minApprovals ?? '?'}→${after.minApprovals ?? '?'}`);
  }
  const a = (before.groups ?? []).join('+');
  const b = (after.groups ?? []).join('+');
  if (a !== b) changes.push(`groups ${a || '(none)'}→${b || '(none)'}`);
  return changes;
}
