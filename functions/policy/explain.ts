/**
 * The pure part of `npm run policy:eval` (and of a future `ala policy eval`): turn the text of an
 * input file into a policy input, and a decision into text a person reads in a terminal.
 */
import type { PolicyDecision } from '../core/model.ts';
import { PolicyInputError } from './errors.ts';

export interface ParsedPolicyInput {
  readonly input: Record<string, unknown>;
  /** True when the file had no `now` and the current time was filled in. */
  readonly nowFilled: boolean;
}

/**
 * Parses an input file. `source` names the file in error messages. A missing `now` is set to
 * `now` (RFC 3339), since policies never read a clock of their own.
 */
export function parsePolicyInput(text: string, options: { source: string; now: Date }): ParsedPolicyInput {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new PolicyInputError(
      `${options.source} is not valid JSON (${error instanceof Error ? error.message : String(error)}). ` +
        'Fix the file: it must hold one JSON object such as {"subject": …, "action": …, "resource": …, "context": …}.',
      { cause: error },
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    throw new PolicyInputError(
      `${options.source} must hold a JSON object with subject, action, resource and context; it holds ${got}.`,
    );
  }
  const input = value as Record<string, unknown>;
  if (input.now !== undefined) return { input, nowFilled: false };
  return { input: { ...input, now: options.now.toISOString() }, nowFilled: true };
}

/** A decision as indented text: outcome, reasons, approval, grant, notification, digests. */
export function formatDecision(decision: PolicyDecision): string {
  const lines: string[] = [`outcome:  ${decision.outcome}`, 'reasons:'];
  for (const reason of decision.reasons) lines.push(`  - ${safe(reason.code)}: ${safe(reason.message)}`);
  const approval = decision.approval;
  if (approval !== undefined) {
    lines.push(
      `approval: ${approval.min_approvals} of ${list(approval.groups)}, within ${approval.timeout_seconds} s`,
    );
    if (approval.escalate_after_seconds !== undefined) {
      lines.push(
        `  escalates to ${list(approval.escalation_groups ?? [])} after ${approval.escalate_after_seconds} s`,
      );
    }
    if (approval.exclude !== undefined && approval.exclude.length > 0)
      lines.push(`  excluded: ${list(approval.exclude)}`);
    if (approval.channels !== undefined) lines.push(`  channels: ${list(approval.channels)}`);
  }
  const grant = decision.grant;
  if (grant !== undefined) {
    if (grant.type === 'none') {
      lines.push('grant:    none (no AWS credentials are issued)');
    } else {
      lines.push(
        `grant:    ${grant.type} role ${safe(grant.role ?? '?')} for ${grant.window_seconds ?? '?'} s`,
      );
      lines.push(`  actions:   ${list(grant.actions ?? [])}`);
      lines.push(`  resources: ${list(grant.resources ?? [])}`);
    }
  }
  if (decision.notify !== undefined) lines.push(`notify:   ${list(decision.notify)}`);
  if (decision.post_review === true) lines.push('post-review: required');
  lines.push(`policy digest: ${decision.policyDigest}`, `input hash:    ${decision.inputHash}`);
  return `${lines.join('\n')}\n`;
}

function list(values: readonly string[]): string {
  return values.length === 0 ? '(none)' : values.map(safe).join(', ');
}

/**
 * Strings in a decision can echo the input; control, zero-width and bidi characters are shown as
 * escapes so they cannot rewrite the terminal or disguise what is printed.
 */
function safe(value: string): string {
  return value.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
    /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
