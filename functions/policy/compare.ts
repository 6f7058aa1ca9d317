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

export type Change =
  | { readonly kind: 'outcome'; readonly from: PolicyOutcome; readonly to: PolicyOutcome }
  | { readonly kind: 'quorum'; readonly from: number; readonly to: number }
  | { readonly kind: 'groups'; readonly from: readonly string[]; readonly to: readonly string[] };

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

/** What differs from `before` to `after`; empty when a requester would see no difference. */
export function diffVerdicts(before: Verdict, after: Verdict): Change[] {
  if (before.outcome !== after.outcome) return [{ kind: 'outcome', from: before.outcome, to: after.outcome }];
  if (before.outcome !== 'require_approval') return [];
  const changes: Change[] = [];
  if (before.minApprovals !== after.minApprovals) {
    changes.push({ kind: 'quorum', from: before.minApprovals ?? 0, to: after.minApprovals ?? 0 });
  }
  const a = before.groups ?? [];
  const b = after.groups ?? [];
  if (a.join('\n') !== b.join('\n')) changes.push({ kind: 'groups', from: a, to: b });
  return changes;
}

/** `allow→require_approval`, `quorum 1→2`, `groups data-owners→data-owners+security`. */
export function describeChange(change: Change): string {
  switch (change.kind) {
    case 'outcome':
      return `${change.from}→${change.to}`;
    case 'quorum':
      return `quorum ${change.from}→${change.to}`;
    case 'groups':
      return `groups ${change.from.join('+') || '(none)'}→${change.to.join('+') || '(none)'}`;
  }
}

/** {@link diffVerdicts}, described. */
export function changesBetween(before: Verdict, after: Verdict): string[] {
  return diffVerdicts(before, after).map(describeChange);
}
