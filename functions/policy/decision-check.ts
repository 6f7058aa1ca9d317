/**
 * The output schema of a policy decision (`rawDecisionSchema` in schema.ts) as one plain function,
 * for the evaluation hot path: zod's parse of a decision took about as long as the policy's own
 * hygiene rules. It accepts exactly what the zod schema accepts (a property test holds the two to
 * the same answer on generated decisions, valid and broken); zod stays the reference and still
 * words the issues when this check refuses a decision.
 *
 * Bounds are those of schema.ts; a change there must be made here too, and the test fails until it is.
 */
import type { RawDecision } from './schema.ts';

const REASON_CODE = /^[a-z][a-z0-9_]{0,63}$/;
const MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;
const MAX_APPROVALS = 20;
const MAX_GRANT_WINDOW_SECONDS = 3600;

type Fields = Readonly<Record<string, unknown>>;

function isFields(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** No key outside `allowed` (zod's strictObject). */
function onlyKeys(value: Fields, allowed: ReadonlySet<string>): boolean {
  for (const key in value) if (!allowed.has(key)) return false;
  return true;
}

function isString(value: unknown, min: number, max: number): boolean {
  return typeof value === 'string' && value.length >= min && value.length <= max;
}

/** zod 4's `.int()` admits safe integers only. */
function isInt(value: unknown, min: number, max: number): value is number {
  return Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;
}

function isStringArray(value: unknown, minItems: number, maxItems: number, maxLength: number): boolean {
  if (!Array.isArray(value) || value.length < minItems || value.length > maxItems) return false;
  for (const item of value) if (!isString(item, 1, maxLength)) return false;
  return true;
}

const isNames = (value: unknown, minItems: number) => isStringArray(value, minItems, Infinity, 256);

const REASON_KEYS = new Set(['code', 'message']);

function isReasons(value: unknown): boolean {
  if (!Array.isArray(value) || value.length < 1 || value.length > 32) return false;
  for (const reason of value) {
    if (!isFields(reason) || !onlyKeys(reason, REASON_KEYS)) return false;
    if (typeof reason.code !== 'string' || !REASON_CODE.test(reason.code)) return false;
    if (!isString(reason.message, 1, 1000)) return false;
  }
  return true;
}

const APPROVAL_KEYS = new Set([
  'groups',
  'min_approvals',
  'timeout_seconds',
  'escalate_after_seconds',
  'escalation_groups',
  'exclude',
  'channels',
  'step_up',
]);

function isApproval(value: unknown): boolean {
  if (!isFields(value) || !onlyKeys(value, APPROVAL_KEYS)) return false;
  if (!isNames(value.groups, 1)) return false;
  if (!isInt(value.min_approvals, 1, MAX_APPROVALS)) return false;
  if (!isInt(value.timeout_seconds, 1, MAX_TIMEOUT_SECONDS)) return false;
  const after = value.escalate_after_seconds;
  if (after !== undefined && !isInt(after, 1, Number.MAX_SAFE_INTEGER)) return false;
  if (value.escalation_groups !== undefined && !isNames(value.escalation_groups, 1)) return false;
  if (value.exclude !== undefined && !isNames(value.exclude, 0)) return false;
  if (value.channels !== undefined && !isNames(value.channels, 0)) return false;
  if (value.step_up !== undefined && typeof value.step_up !== 'boolean') return false;
  // The schema's refinement: escalation needs both fields, and must come before the timeout.
  if ((after === undefined) !== (value.escalation_groups === undefined)) return false;
  return after === undefined || (after as number) < (value.timeout_seconds as number);
}

const NONE_GRANT_KEYS = new Set(['type']);
const STS_GRANT_KEYS = new Set(['type', 'role', 'actions', 'resources', 'window_seconds', 'wildcards']);

function isGrant(value: unknown): boolean {
  if (!isFields(value)) return false;
  if (value.type === 'none') return onlyKeys(value, NONE_GRANT_KEYS);
  if (value.type !== 'aws_sts' || !onlyKeys(value, STS_GRANT_KEYS)) return false;
  return (
    isString(value.role, 1, 256) &&
    isStringArray(value.actions, 1, Infinity, 256) &&
    isStringArray(value.resources, 1, Infinity, 2048) &&
    isInt(value.window_seconds, 1, MAX_GRANT_WINDOW_SECONDS) &&
    (value.wildcards === undefined || isStringArray(value.wildcards, 0, 64, 2048))
  );
}

const ALLOW_KEYS = new Set(['outcome', 'reasons', 'grant', 'notify', 'post_review']);
const APPROVAL_DECISION_KEYS = new Set(['outcome', 'reasons', 'approval', 'grant', 'notify', 'post_review']);
const DENY_KEYS = new Set(['outcome', 'reasons', 'notify']);

/** Whether `value` satisfies `rawDecisionSchema`; when it does, it is that decision as it stands. */
export function isRawDecision(value: unknown): value is RawDecision {
  if (!isFields(value)) return false;
  const outcome = value.outcome;
  const keys =
    outcome === 'allow'
      ? ALLOW_KEYS
      : outcome === 'require_approval'
        ? APPROVAL_DECISION_KEYS
        : outcome === 'deny'
          ? DENY_KEYS
          : undefined;
  if (keys === undefined || !onlyKeys(value, keys) || !isReasons(value.reasons)) return false;
  if (value.notify !== undefined && !isNames(value.notify, 1)) return false;
  if (outcome === 'deny') return true;
  if (outcome === 'require_approval' && !isApproval(value.approval)) return false;
  if (value.grant !== undefined && !isGrant(value.grant)) return false;
  return value.post_review === undefined || typeof value.post_review === 'boolean';
}
