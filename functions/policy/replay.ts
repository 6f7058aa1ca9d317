/**
 * Replay: how a candidate bundle would have decided past requests. The policy input of each
 * recorded request is rebuilt exactly as the gateway built it (subject, action, resource, context,
 * the submission time as `now`, what the gateway vouched for), checked against the recorded input
 * hash, evaluated, and compared with the recorded verdict. Pure: the caller reads the records.
 */
import { hashCanonical } from '../core/canonical.ts';
import { subjectOf } from '../core/lifecycle.ts';
import type { ActionRequest, AuditEvent, PolicyDecision, PolicyInput, PolicyOutcome } from '../core/model.ts';
import { type Change, describeChange, diffVerdicts, type Verdict, verdictOf } from './compare.ts';

/** A past request as replay needs it. */
export interface RecordedRequest {
  readonly id: string;
  readonly createdAt: string;
  readonly input: PolicyInput;
  readonly recorded: Verdict;
  readonly inputHash: string;
}

/**
 * From a stored request. Undefined for a request the gateway refused before any policy saw it
 * (an undeclared `on_behalf_of`): no bundle decides those, so no change could show.
 */
export function recordFromRequest(request: ActionRequest): RecordedRequest | undefined {
  if (request.decision.reasons.some((r) => r.code === 'undeclared_delegation')) return undefined;
  return {
    id: request.id,
    createdAt: request.createdAt,
    input: {
      subject: request.subject,
      action: request.action,
      resource: request.resource,
      context: request.context,
      now: request.createdAt,
      ...(request.vouched !== undefined ? { vouched: { resource: request.vouched } } : {}),
    },
    recorded:
      request.decision.outcome === 'require_approval' && request.approval !== undefined
        ? {
            outcome: 'require_approval',
            minApprovals: request.approval.minApprovals,
            groups: [...request.approval.groups].sort(),
          }
        : { outcome: request.decision.outcome },
    inputHash: request.decision.inputHash,
  };
}

/**
 * From an audit export (`ala audit show --jsonl`, or the archive): one record per request whose
 * chain holds its submission and the policy's verdict.
 */
export function recordsFromEvents(events: readonly AuditEvent[]): RecordedRequest[] {
  const byRequest = new Map<string, AuditEvent[]>();
  for (const event of events) {
    const list = byRequest.get(event.request_id) ?? [];
    list.push(event);
    byRequest.set(event.request_id, list);
  }
  const records: RecordedRequest[] = [];
  for (const [id, chain] of byRequest) {
    const submitted = chain.find((e) => e.type === 'request.submitted');
    const evaluated = chain.find((e) => e.type === 'policy.evaluated');
    if (submitted === undefined || evaluated === undefined) continue;
    const requested = chain.find((e) => e.type === 'approval.requested');
    const d = submitted.data as Pick<PolicyInput, 'action' | 'resource' | 'context'>;
    const v = evaluated.data as { outcome: PolicyOutcome; input_hash: string; vouched?: unknown };
    const approval = requested?.data as { min_approvals?: number; groups?: string[] } | undefined;
    records.push({
      id,
      createdAt: submitted.time,
      input: {
        subject: subjectOf(submitted.actor),
        action: d.action,
        resource: d.resource,
        context: d.context,
        now: submitted.time,
        ...(v.vouched !== undefined ? { vouched: { resource: v.vouched as never } } : {}),
      },
      recorded:
        v.outcome === 'require_approval' && approval !== undefined
          ? {
              outcome: 'require_approval',
              minApprovals: approval.min_approvals ?? 0,
              groups: [...(approval.groups ?? [])].sort(),
            }
          : { outcome: v.outcome },
      inputHash: v.input_hash,
    });
  }
  return records.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}

export interface ReplayExample {
  readonly id: string;
  readonly createdAt: string;
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
}

export interface ReplayGroup {
  /** `allow→require_approval`, `quorum 1→2`, … */
  readonly change: string;
  readonly count: number;
  /** Every request with this change, oldest first. */
  readonly ids: readonly string[];
  readonly examples: readonly ReplayExample[];
}

export interface ReplayReport {
  readonly candidateDigest: string;
  /** Requests evaluated. */
  readonly evaluated: number;
  readonly unchanged: number;
  /** Requests with at least one change. */
  readonly changed: number;
  /** Requests whose rebuilt input does not hash to the recorded input hash (replayed all the same). */
  readonly inputMismatches: readonly string[];
  readonly groups: readonly ReplayGroup[];
}

export interface ChangedRequest {
  readonly record: RecordedRequest;
  readonly changes: readonly Change[];
}

/** Evaluates every record with the candidate and groups the changes. */
export function replay(
  records: readonly RecordedRequest[],
  candidate: { readonly digest: string; evaluate(input: PolicyInput): PolicyDecision },
  options: { examples?: number } = {},
): ReplayReport & { readonly changes: readonly ChangedRequest[] } {
  const maxExamples = options.examples ?? 3;
  const groups = new Map<string, { ids: string[]; examples: ReplayExample[] }>();
  const changed: ChangedRequest[] = [];
  const mismatches: string[] = [];
  for (const record of records) {
    if (hashCanonical(record.input) !== record.inputHash) mismatches.push(record.id);
    const decision = candidate.evaluate(record.input);
    const changes = diffVerdicts(record.recorded, verdictOf(decision));
    if (changes.length === 0) continue;
    changed.push({ record, changes });
    for (const change of changes) {
      const key = describeChange(change);
      const group = groups.get(key) ?? { ids: [], examples: [] };
      group.ids.push(record.id);
      if (group.examples.length < maxExamples) {
        group.examples.push({
          id: record.id,
          createdAt: record.createdAt,
          principal: record.input.subject.id,
          action: record.input.action.name,
          resource: record.input.resource.id,
        });
      }
      groups.set(key, group);
    }
  }
  return {
    candidateDigest: candidate.digest,
    evaluated: records.length,
    unchanged: records.length - changed.length,
    changed: changed.length,
    inputMismatches: mismatches,
    groups: [...groups.entries()]
      .map(([change, g]) => ({ change, count: g.ids.length, ids: g.ids, examples: g.examples }))
      .sort((a, b) => b.count - a.count || a.change.localeCompare(b.change)),
    changes: changed,
  };
}

/** A `--fail-on` rule: which changes make replay exit non-zero. */
export type FailOnRule = (change: Change) => boolean;

const OUTCOMES = ['allow', 'require_approval', 'deny'] as const;

/**
 * Parses a `--fail-on` rule: `FROM->TO` with FROM and TO one of allow, require_approval, deny or *
 * (`allow->*`: anything that used to be allowed now is not; `*->deny`: new denials); `quorum`,
 * `quorum-up`, `quorum-down`; `groups`; or `any`. Throws a message that lists the forms.
 */
export function parseFailOn(rule: string): FailOnRule {
  const text = rule.trim();
  const forms =
    'FROM->TO (allow, require_approval, deny or * on each side), quorum, quorum-up, quorum-down, groups or any';
  if (text === 'any') return () => true;
  if (text === 'quorum') return (c) => c.kind === 'quorum';
  if (text === 'quorum-up') return (c) => c.kind === 'quorum' && c.to > c.from;
  if (text === 'quorum-down') return (c) => c.kind === 'quorum' && c.to < c.from;
  if (text === 'groups') return (c) => c.kind === 'groups';
  const match = /^([a-z_*]+)\s*(?:->|→)\s*([a-z_*]+)$/.exec(text);
  const side = (value: string | undefined) =>
    value === '*' || (OUTCOMES as readonly string[]).includes(value ?? '') ? value : undefined;
  const from = side(match?.[1]);
  const to = side(match?.[2]);
  if (from === undefined || to === undefined) {
    throw new Error(`--fail-on "${rule}" is not a rule; use ${forms}`);
  }
  return (c) => c.kind === 'outcome' && (from === '*' || c.from === from) && (to === '*' || c.to === to);
}

/** `7d`, `12h`, `30m` → milliseconds; undefined when the text is not a duration. */
export function parseSince(text: string): number | undefined {
  const match = /^(\d+)\s*([dhm])$/.exec(text.trim());
  if (!match) return undefined;
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[match[2] as 'd' | 'h' | 'm'];
  return Number(match[1]) * unit;
}
