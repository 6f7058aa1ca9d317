import { canonicalize, canonicalMember, canonicalObject, sha256 } from './canonical.ts';
import {
  type ActionRequest,
  AUDIT_EVENT_TYPES,
  type AuditEvent,
  type AuditEventType,
  GENESIS_HASH,
} from './model.ts';

/** An event before it is placed in a chain. */
export interface AuditDraft {
  readonly type: AuditEventType;
  readonly actor: string;
  readonly data: Record<string, unknown>;
  /**
   * `canonicalize(data)`, when the caller has built it from parts it canonicalised already (the
   * submission's action and resource, hashed into the action hash): the event's hash is then
   * computed without serialising them again. It must be exactly `canonicalize(data)`.
   */
  readonly canonicalData?: string;
}

/**
 * `hash = "sha256:" + hex(sha256(prev_hash + "\n" + JCS(event without hash)))` (docs/design.md#44-audit-events), so
 * an auditor can recompute it with any RFC 8785 implementation.
 */
export function hashEvent(event: Omit<AuditEvent, 'hash'>, canonicalData?: string): string {
  const { request_id, seq, type, time, actor, data, prev_hash } = event;
  const canonical = canonicalObject({
    request_id: canonicalMember(request_id),
    seq: canonicalMember(seq),
    type: canonicalMember(type),
    time: canonicalMember(time),
    actor: canonicalMember(actor),
    data: canonicalData ?? canonicalMember(data),
    prev_hash: canonicalMember(prev_hash),
  });
  return sha256(`${prev_hash}\n${canonical}`);
}

/** Places drafts after the chain head `{seq, hash}`; returns the events and the new head. */
export function appendEvents(
  requestId: string,
  head: { seq: number; hash: string },
  time: string,
  drafts: readonly AuditDraft[],
): { events: AuditEvent[]; head: { seq: number; hash: string } } {
  const events: AuditEvent[] = [];
  let { seq, hash } = head;
  for (const draft of drafts) {
    seq += 1;
    // One object, its hash filled in once computed (hashEvent reads only the other members); not
    // `{ ...unhashed, hash }`, since a member after a leading spread is slow in V8.
    const event: { -readonly [K in keyof AuditEvent]: AuditEvent[K] } = {
      request_id: requestId,
      seq,
      type: draft.type,
      time,
      actor: draft.actor,
      data: draft.data,
      prev_hash: hash,
      hash: '',
    };
    hash = hashEvent(event, draft.canonicalData);
    event.hash = hash;
    events.push(event);
  }
  return { events, head: { seq, hash } };
}

export interface ChainProblem {
  readonly seq: number;
  readonly code:
    | 'seq_gap'
    | 'prev_hash_mismatch'
    | 'hash_mismatch'
    | 'request_mismatch'
    | 'unknown_type'
    | 'malformed'
    | 'unhashed_fields'
    | 'head_mismatch'
    | 'record_mismatch';
  readonly message: string;
}

export type ChainVerdict =
  | { readonly ok: true; readonly count: number; readonly head: string }
  | { readonly ok: false; readonly problems: readonly ChainProblem[] };

const knownTypes: ReadonlySet<string> = new Set(AUDIT_EVENT_TYPES);

/**
 * Proves one request's chain complete and untampered: seq runs 1..n without gaps, each prev_hash is
 * the hash before it, each hash recomputes. With `expectedHead` (the head the request record keeps,
 * or the archive's last entry) it also detects events cut off the end.
 */
export function verifyChain(
  events: readonly unknown[],
  options: {
    requestId?: string;
    /** The chain must end exactly here. */
    expectedHead?: { seq: number; hash: string };
    /** The chain must pass through this head; later events may follow (read after a newer write). */
    knownHead?: { seq: number; hash: string };
  } = {},
): ChainVerdict {
  const problems: ChainProblem[] = [];
  let prev = GENESIS_HASH;
  let requestId = options.requestId;
  events.forEach((raw, index) => {
    const expectedSeq = index + 1;
    if (!isEventShape(raw)) {
      problems.push({
        seq: expectedSeq,
        code: 'malformed',
        message: `event #${expectedSeq} is not an audit event`,
      });
      return;
    }
    const event = raw;
    // Fields outside the hash could say anything; an event carrying one is not the event hashed.
    const extra = Object.keys(event).filter((key) => !HASHED_FIELDS.has(key));
    if (extra.length > 0) {
      problems.push({
        seq: event.seq,
        code: 'unhashed_fields',
        message: `event ${event.seq} carries fields its hash does not cover (${extra.slice(0, 5).join(', ')})`,
      });
    }
    requestId ??= event.request_id;
    if (event.request_id !== requestId) {
      problems.push({
        seq: event.seq,
        code: 'request_mismatch',
        message: `event ${event.seq} belongs to ${event.request_id}, not ${requestId}`,
      });
    }
    if (event.seq !== expectedSeq) {
      problems.push({
        seq: event.seq,
        code: 'seq_gap',
        message: `expected seq ${expectedSeq}, found ${event.seq} (an event was removed, inserted or reordered)`,
      });
    }
    if (!knownTypes.has(event.type)) {
      problems.push({ seq: event.seq, code: 'unknown_type', message: `unknown event type ${event.type}` });
    }
    if (event.prev_hash !== prev) {
      problems.push({
        seq: event.seq,
        code: 'prev_hash_mismatch',
        message: `event ${event.seq} does not link to the event before it`,
      });
    }
    const { hash, ...unhashed } = event;
    let recomputed: string;
    try {
      recomputed = hashEvent(unhashed);
    } catch {
      recomputed = '';
    }
    if (recomputed !== hash) {
      problems.push({
        seq: event.seq,
        code: 'hash_mismatch',
        message: `event ${event.seq} was modified after it was written`,
      });
    }
    prev = hash;
  });
  const head = options.expectedHead;
  if (head && (head.seq !== events.length || head.hash !== prev)) {
    problems.push({
      seq: events.length,
      code: 'head_mismatch',
      message: `chain ends at seq ${events.length}, but the request's head is seq ${head.seq} (events were cut off or added)`,
    });
  }
  const known = options.knownHead;
  if (known) {
    const at = events[known.seq - 1] as { hash?: unknown } | undefined;
    if (events.length < known.seq || at?.hash !== known.hash) {
      problems.push({
        seq: known.seq,
        code: 'head_mismatch',
        message: `the chain does not contain the request's head at seq ${known.seq} (events were removed or rewritten)`,
      });
    }
  }
  if (events.length === 0 && !head) {
    problems.push({ seq: 0, code: 'malformed', message: 'the chain is empty' });
  }
  return problems.length === 0 ? { ok: true, count: events.length, head: prev } : { ok: false, problems };
}

/** The fields of an event its hash covers (plus the hash itself): all an event may have. */
const HASHED_FIELDS: ReadonlySet<string> = new Set([
  'request_id',
  'seq',
  'type',
  'time',
  'actor',
  'data',
  'prev_hash',
  'hash',
]);

/** The event as hashed: only the fields its hash covers, whatever else a store handed back. */
export function asHashed(event: AuditEvent): AuditEvent {
  const { request_id, seq, type, time, actor, data, prev_hash, hash } = event;
  return { request_id, seq, type, time, actor, data, prev_hash, hash };
}

const TERMINAL_EVENTS: Readonly<Record<string, ActionRequest['status']>> = {
  'request.approved': 'approved',
  'request.rejected': 'rejected',
  'request.denied': 'denied',
  'request.expired': 'expired',
  'request.cancelled': 'cancelled',
};

/**
 * Where a request's stored record disagrees with its audit chain: the chain up to the record's
 * head must verify and end exactly there, and what the chain says happened — who asked for what,
 * the status, the votes, escalation, redemption, the outcome — must be what the record says.
 * `events` may run past the record's head (read after a newer commit); those are not compared.
 * Empty when they agree.
 */
export function recordProblems(request: ActionRequest, events: readonly AuditEvent[]): ChainProblem[] {
  const chain = events.slice(0, request.auditSeq);
  const verdict = verifyChain(chain, {
    requestId: request.id,
    expectedHead: { seq: request.auditSeq, hash: request.auditHead },
  });
  const problems: ChainProblem[] = verdict.ok ? [] : [...verdict.problems];
  const differ = (what: string, record: unknown, chainSays: unknown) =>
    problems.push({
      seq: request.auditSeq,
      code: 'record_mismatch',
      message: `the request record's ${what} is ${JSON.stringify(record)} but its audit chain says ${JSON.stringify(chainSays)}`,
    });

  const submitted = chain.find((e) => e.type === 'request.submitted');
  if (!submitted) {
    differ('submission', 'present', 'none');
  } else {
    if (submitted.actor !== request.subject.id) differ('requester', request.subject.id, submitted.actor);
    const asked = { action: request.action, resource: request.resource, context: request.context };
    const { action, resource, context } = submitted.data;
    if (canonicalize(asked) !== canonicalize({ action, resource, context })) {
      differ('action, resource or context', 'changed', 'as submitted');
    }
    if (submitted.data.action_hash !== request.actionHash) {
      differ('action_hash', request.actionHash, submitted.data.action_hash);
    }
  }

  let status: ActionRequest['status'] | undefined;
  for (const event of chain) {
    const terminal = TERMINAL_EVENTS[event.type];
    if (terminal) status = terminal;
    else if (event.type === 'approval.requested' && status === undefined) status = 'pending';
  }
  if (status !== request.status) differ('status', request.status, status ?? 'none');

  const votesOf = (list: readonly string[]) => [...list].sort().join(',');
  // A narrowed vote is its approver, its decision and the hash of the terms it approved.
  const recorded = votesOf(
    (request.approval?.votes ?? []).map(
      (v) => `${v.approver}:${v.decision}${v.terms ? `:${v.terms.terms_hash}` : ''}`,
    ),
  );
  const chained = votesOf(
    chain
      .filter((e) => e.type === 'review.recorded')
      .map(
        (e) =>
          `${e.actor}:${String(e.data.decision)}${e.data.terms_hash === undefined ? '' : `:${String(e.data.terms_hash)}`}`,
      ),
  );
  if (recorded !== chained) differ('votes', recorded, chained);

  // Step-up cannot be dropped from a record to let a chat vote through.
  const stepUp = chain.some((e) => e.type === 'approval.requested' && e.data.step_up === true);
  if ((request.approval?.stepUp ?? false) !== stepUp) {
    differ('step-up', request.approval?.stepUp ?? false, stepUp);
  }
  // An approval of narrowed terms: the record's grant must carry exactly them, and nothing else.
  const approvedTerms = chain.find((e) => e.type === 'request.approved')?.data.terms;
  const narrowed = request.narrowed?.terms;
  const recordTerms = narrowed
    ? canonicalize({
        actions: narrowed.actions,
        resources: narrowed.resources,
        window_seconds: narrowed.window_seconds,
      })
    : 'none';
  const chainTerms = approvedTerms === undefined ? 'none' : canonicalize(approvedTerms);
  if (recordTerms !== chainTerms) differ('approved terms', recordTerms, chainTerms);
  if (narrowed) {
    const grant = request.grant;
    const granted = canonicalize({
      actions: grant?.actions ?? [],
      resources: grant?.resources ?? [],
      window_seconds: grant?.window_seconds ?? 0,
    });
    if (granted !== recordTerms) differ('grant', granted, recordTerms);
  }

  const escalated = chain.some((e) => e.type === 'request.escalated');
  if ((request.approval?.escalated ?? false) !== escalated) {
    differ('escalation', request.approval?.escalated ?? false, escalated);
  }
  const redeemed = chain.some((e) => e.type === 'grant.redeemed');
  if ((request.grantRedeemedAt !== undefined) !== redeemed) {
    differ('grant redemption', request.grantRedeemedAt ?? 'none', redeemed ? 'redeemed' : 'none');
  }
  const outcome = chain.find((e) => e.type === 'action.outcome')?.data.status;
  if ((request.outcome?.status ?? 'none') !== (outcome ?? 'none')) {
    differ('outcome', request.outcome?.status ?? 'none', outcome ?? 'none');
  }
  return problems;
}

function isEventShape(value: unknown): value is AuditEvent {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.request_id === 'string' &&
    typeof v.seq === 'number' &&
    typeof v.type === 'string' &&
    typeof v.time === 'string' &&
    typeof v.actor === 'string' &&
    typeof v.data === 'object' &&
    v.data !== null &&
    typeof v.prev_hash === 'string' &&
    typeof v.hash === 'string'
  );
}
