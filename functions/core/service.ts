/**
 * The application service: runs the pure lifecycle against the ports. Every mutation is
 * read → decide → conditional commit; when another writer wins (StaleStateError) it re-reads and
 * decides again, so the store's conditional write is the single source of truth.
 */
import { canReadAudit, canView, isAuditor } from './access.ts';
import { inventoryAttributes, withVouchedFrom } from './attributes.ts';
import { type ChainProblem, type ChainVerdict, recordProblems, verifyChain } from './audit.ts';
import { hashCanonical } from './canonical.ts';
import { delegationProblem, viewerKeysOf } from './eligibility.ts';
import {
  AuditMismatchError,
  ContentionError,
  CredentialsNotConfiguredError,
  type GatewayError,
  GrantRefusedError,
  IdempotencyConflictError,
  IdempotencyKeyTakenError,
  NotFoundError,
  PendingCapReachedError,
  RateLimitedError,
  StaleStateError,
  UndeclaredDelegationError,
  ValidationError,
} from './errors.ts';
import { IDEMPOTENCY_KEY_PATTERN, IDEMPOTENCY_KEY_RULE } from './identifiers.ts';
import * as lifecycle from './lifecycle.ts';
import type { RateLimits } from './limits.ts';
import type {
  ActionRequest,
  ActionRequestInput,
  AuditEvent,
  NarrowTo,
  PolicyDecision,
  PolicyInput,
  Status,
  VoteDecision,
} from './model.ts';
import { narrowTerms, termsOf } from './narrowing.ts';
import { cursorAfter, MAX_PAGE_LIMIT, pageLimit, pendingCursorAfter } from './paging.ts';
import type { ResourceAttributes } from './ports/attributes.port.ts';
import type { Clock } from './ports/clock.port.ts';
import type { CredentialBroker, IssuedCredentials } from './ports/credentials.port.ts';
import type { IdSource } from './ports/id.port.ts';
import type { PolicyEvaluator } from './ports/policy.port.ts';
import type { IdempotencyRecord, Page, PendingOrder, RequestStore, Transition } from './ports/store.port.ts';
import type { ApprovalWorkflow } from './ports/workflow.port.ts';
import { parsePrincipal } from './principals.ts';
import { buildSessionPolicy, type SessionPolicy } from './session-policy.ts';

export interface ServiceDependencies {
  readonly store: RequestStore;
  readonly policy: PolicyEvaluator;
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly credentials?: CredentialBroker;
  /**
   * Where vouched resource attributes come from. @default the inventory of the policy's data
   * (`inventoryAttributes`); the AWS root may add the resource's tags behind it (`inventoryThenTags`).
   */
  readonly attributes?: ResourceAttributes;
  /** Started for every pending request, told when it leaves `pending`. */
  readonly workflow?: ApprovalWorkflow;
  /**
   * Told when the workflow could not be started or told: the request is committed regardless, and
   * the workflow's own recovery (local restart scan, AWS sweeper) catches up.
   */
  readonly onWorkflowError?: (error: unknown, request: ActionRequest) => void;
  /** Told after every commit (long-poll wake-ups). Must not throw. */
  readonly onCommit?: (transition: Transition) => void;
  /** How many times a mutation re-reads after losing a race before giving up (503). @default 30 */
  readonly maxAttempts?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Requests a listing call examines at most (a bound on the reads of one call). @default 2000 */
  readonly listScanBudget?: number;
  /** Calls and submissions per minute, open pending requests per requester. @default no limits */
  readonly limits?: RateLimits;
  /**
   * Told when a request's record disagrees with its audit chain (the decision was refused; the
   * request is left out of listings). For the operator's log. Must not throw.
   */
  readonly onAuditMismatch?: (request: ActionRequest, problems: readonly ChainProblem[]) => void;
}

export interface VoteInput {
  readonly decision: VoteDecision;
  readonly comment?: string;
  readonly actionHash: string;
  readonly channel: string;
  /** Only the review page sets it: the voter signed in within the step-up window. */
  readonly steppedUp?: boolean;
  /**
   * Approve less than was asked (core/narrowing.ts): the policy is evaluated again with these terms
   * (`input.narrowing`) and a deny refuses the vote. Terms equal to the request's are a plain approval.
   */
  readonly narrowTo?: NarrowTo;
}

export interface Redemption {
  readonly request: ActionRequest;
  /** Present for `aws_sts` grants; `none` grants redeem without credentials. */
  readonly credentials?: IssuedCredentials;
}

export interface ListOptions {
  /** At most this many requests (1..MAX_PAGE_LIMIT). @default DEFAULT_PAGE_LIMIT */
  readonly limit?: number;
  /** From a previous page: continue right after its last request. */
  readonly cursor?: string;
  /** Pending listings: keep the requests the caller has voted on already. @default false */
  readonly includeVoted?: boolean;
  /** Pending listings: newest first, or soonest deadline first. @default 'newest' */
  readonly order?: PendingOrder;
}

export interface RequestPage {
  readonly items: readonly ActionRequest[];
  /** Present when more requests may follow; pass it back to continue. */
  readonly cursor?: string;
}

/** Requests read per store call while listing. */
const SCAN_PAGE = 200;

/** The gateway itself (timers, notifications): it sees every request. */
const SYSTEM: unique symbol = Symbol('system');

type Step<T> =
  | { readonly commit: Transition; readonly result: T; readonly error?: GatewayError }
  | { readonly commit?: undefined; readonly result: T };

export class ApprovalService {
  readonly #deps: ServiceDependencies;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #attributes: ResourceAttributes;

  constructor(deps: ServiceDependencies) {
    this.#deps = deps;
    this.#attributes = deps.attributes ?? inventoryAttributes(() => deps.policy.directory);
    this.#sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  get directory() {
    return this.#deps.policy.directory;
  }

  /** The service's clock: what deadlines are compared with. */
  now(): Date {
    return this.#deps.clock.now();
  }

  /** The digest of the policy bundle (module and data) decisions and the directory come from. */
  get policyDigest(): string {
    return this.#deps.policy.digest;
  }

  /** Evaluates and records a new request, or returns the original for a repeated idempotency key. */
  async submit(
    principal: string,
    input: ActionRequestInput,
    options: { idempotencyKey?: string } = {},
  ): Promise<{ request: ActionRequest; created: boolean }> {
    const { store, policy, clock, ids } = this.#deps;
    const key = options.idempotencyKey;
    if (key !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(key)) {
      throw new ValidationError(IDEMPOTENCY_KEY_RULE, {
        details: { field: 'Idempotency-Key' },
      });
    }
    // Only a keyed submission is compared with an earlier one, by the hash of its body.
    const bodyHash = key === undefined ? '' : hashCanonical(input);
    if (key !== undefined) {
      const existing = await store.getIdempotency(principal, key);
      if (existing) return { request: await this.#replay(existing, bodyHash), created: false };
    }
    // A replay above is free; a new submission counts.
    await this.#deps.limits?.admitSubmission(principal);
    parsePrincipal(principal, 'subject');
    const onBehalfOf = input.context.on_behalf_of;
    if (onBehalfOf !== undefined) parsePrincipal(onBehalfOf, 'context.on_behalf_of');
    const subject = lifecycle.subjectOf(principal);
    const now = clock.now();
    if (onBehalfOf !== undefined) {
      const problem = delegationProblem(principal, onBehalfOf, this.directory, now);
      if (problem) await this.#refuse(subject, input, now, problem, onBehalfOf);
    }
    const policyInput = await withVouchedFrom(
      { subject, ...input, now: now.toISOString() },
      this.#attributes,
    );
    const id = ids.requestId();
    const decision = policy.evaluate(policyInput, { requestId: id });
    if (decision.outcome === 'require_approval') await this.#checkPendingCap(principal);
    const submitted = lifecycle.submit({
      id,
      subject,
      input,
      decision,
      now,
      directory: this.directory,
      ...(policyInput.vouched ? { vouched: policyInput.vouched.resource } : {}),
    });
    const idempotency: IdempotencyRecord | undefined =
      key === undefined
        ? undefined
        : { requester: principal, key, requestId: id, bodyHash, createdAt: now.toISOString() };
    const maxPending =
      submitted.request.status === 'pending' ? this.#deps.limits?.limitsFor(principal).maxPending : undefined;
    const transition: Transition = {
      ...submitted,
      ...(idempotency ? { idempotency } : {}),
      // Exact: the store counts inside the commit, so parallel submissions never pass the cap.
      ...(maxPending === undefined ? {} : { pendingCap: maxPending }),
    };
    try {
      await store.commit(transition);
    } catch (error) {
      if (error instanceof PendingCapReachedError && maxPending !== undefined) {
        throw tooManyPending(principal, maxPending, error);
      }
      if (
        (error instanceof IdempotencyKeyTakenError || error instanceof StaleStateError) &&
        key !== undefined
      ) {
        const existing = await store.getIdempotency(principal, key);
        if (existing) return { request: await this.#replay(existing, bodyHash), created: false };
      }
      if (error instanceof StaleStateError && (await this.#landed(transition))) {
        this.#deps.onCommit?.(transition);
        if (transition.request.status === 'pending') await this.#tellWorkflow('start', transition.request);
        return { request: transition.request, created: true };
      }
      if (error instanceof StaleStateError) {
        throw new ContentionError(
          'the submission collided with a concurrent one; retry with the same Idempotency-Key',
          {
            cause: error,
          },
        );
      }
      throw error;
    }
    this.#deps.onCommit?.(transition);
    if (transition.request.status === 'pending') await this.#tellWorkflow('start', transition.request);
    return { request: transition.request, created: true };
  }

  /** Calls per minute: RateLimitedError (429) past the principal's limit. */
  async admitCall(principal: string): Promise<void> {
    await this.#deps.limits?.admitCall(principal);
  }

  /**
   * RateLimitedError when `principal` is already known over its submissions per minute (a check
   * in memory, before its body is read); a new submission is counted in `submit` as before.
   */
  refuseKnownOverSubmissions(principal: string): void {
    this.#deps.limits?.refuseKnownOverSubmissions(principal);
  }

  /** Refuses a submission that would give `principal` more open pending requests than its cap. */
  async #checkPendingCap(principal: string): Promise<void> {
    const limits = this.#deps.limits;
    if (!limits) return;
    const max = limits.limitsFor(principal).maxPending;
    const open = await this.#deps.store.countPending(principal, max);
    if (open < max) return;
    throw tooManyPending(principal, max);
  }

  /**
   * Records a refused submission (denied, never pending: nobody is asked, no grant exists) and
   * throws the refusal. No idempotency record is kept: a corrected retry must not replay a refusal.
   */
  async #refuse(
    subject: ReturnType<typeof lifecycle.subjectOf>,
    input: ActionRequestInput,
    now: Date,
    problem: string,
    onBehalfOf: string,
  ): Promise<never> {
    const id = this.#deps.ids.requestId();
    const reasons = [{ code: 'undeclared_delegation', message: problem }];
    const transition = lifecycle.refuse({
      id,
      subject,
      input,
      reasons,
      policyDigest: this.#deps.policy.digest,
      now,
    });
    await this.#deps.store.commit(transition);
    this.#deps.onCommit?.(transition);
    throw new UndeclaredDelegationError(problem, {
      details: { field: 'context.on_behalf_of', got: onBehalfOf, request_id: id },
    });
  }

  async #replay(record: IdempotencyRecord, bodyHash: string): Promise<ActionRequest> {
    if (record.bodyHash !== bodyHash) {
      throw new IdempotencyConflictError(
        `Idempotency-Key "${record.key}" was used for a different request (${record.requestId}); use a new key for a new request`,
        { details: { request_id: record.requestId } },
      );
    }
    const request = await this.#deps.store.get(record.requestId);
    if (!request || request.subject.id !== record.requester) throw new NotFoundError(record.requestId);
    return request;
  }

  /** Dry run of the policy: nothing is recorded. */
  async evaluate(input: PolicyInput): Promise<PolicyDecision> {
    return this.#deps.policy.evaluate(await withVouchedFrom(input, this.#attributes));
  }

  /** A request as `principal` may see it; NotFound for anyone not entitled to know it exists. */
  async get(requestId: string, principal: string): Promise<ActionRequest> {
    const request = await this.#deps.store.get(requestId);
    if (!request || !canView(request, principal, this.directory)) throw new NotFoundError(requestId);
    return request;
  }

  /**
   * A page of the pending requests `principal` may vote on now, newest first (or, with
   * `order: 'deadline'`, soonest deadline first). By default only those still awaiting its vote: a
   * request it has voted on already is left out (`includeVoted` keeps it). Read from the store's
   * index by approving group, for the caller's groups only: a caller in no group reads nothing.
   */
  pendingFor(principal: string, options: ListOptions = {}): Promise<RequestPage> {
    const directory = this.directory;
    const groups = Object.entries(directory.groups)
      .filter(([, members]) => members.includes(principal))
      .map(([group]) => group);
    if (groups.length === 0) return Promise.resolve({ items: [] });
    const order = options.order ?? 'newest';
    return this.#page(
      (limit, cursor) =>
        this.#deps.store.listPendingForGroups(groups, { limit, order, ...(cursor ? { cursor } : {}) }),
      (request) => pendingCursorAfter(request, order),
      options,
      (request) => {
        if (lifecycle.ineligibility(request, principal, directory)) return false;
        return (
          options.includeVoted === true || !request.approval?.votes.some((v) => v.approver === principal)
        );
      },
    );
  }

  /**
   * A page of the requests in a status that `principal` may see, newest first; for `pending`, those
   * it may vote on (pendingFor). Other statuses: an auditor (who sees every request) reads the
   * status index; anyone else the index by viewer key, for its own keys only (`viewerKeysOf`), so
   * its work is bounded by its page and keys whatever else is stored (docs/decisions/0016).
   */
  list(status: Status, principal: string, options: ListOptions = {}): Promise<RequestPage> {
    if (status === 'pending') return this.pendingFor(principal, options);
    const directory = this.directory;
    const store = this.#deps.store;
    const read = isAuditor(directory, principal)
      ? (limit: number, cursor: string | undefined) =>
          store.listByStatus(status, { limit, newestFirst: true, ...(cursor ? { cursor } : {}) })
      : (limit: number, cursor: string | undefined) =>
          store.listVisible(viewerKeysOf(principal, directory), status, {
            limit,
            ...(cursor ? { cursor } : {}),
          });
    // canView agrees with the index by construction (the contract tests check it); it stays as the
    // rule that decides, so an index entry never shows a request the caller may not see.
    return this.#page(read, cursorAfter, options, (request) => canView(request, principal, directory));
  }

  /**
   * Reads store pages until `limit` requests are kept or `listScanBudget` requests were examined, so one
   * call costs a bounded number of reads however few of the read requests the caller may see.
   * The cursor continues right after the last request examined; a page can therefore be short (even
   * empty) and still have a cursor: the listing ends only when the cursor is absent.
   */
  async #page(
    read: (limit: number, cursor: string | undefined) => Promise<Page<ActionRequest>>,
    cursorOf: (request: ActionRequest) => string,
    options: ListOptions,
    keep: (request: ActionRequest) => boolean,
  ): Promise<RequestPage> {
    const limit = pageLimit(options.limit, MAX_PAGE_LIMIT);
    const items: ActionRequest[] = [];
    let cursor = options.cursor;
    const budget = this.#deps.listScanBudget ?? 2000;
    let examined = 0;
    while (examined < budget) {
      const page = await read(Math.min(SCAN_PAGE, budget - examined, limit), cursor);
      for (const request of page.items) {
        examined++;
        if (!keep(request)) continue;
        // What approvers decide from must be what the audit chain records; a disagreeing request
        // is left out (and reported), never shown as if it were sound.
        if (!(await this.#agreesWithAudit(request))) continue;
        items.push(request);
        if (items.length >= limit) return { items, cursor: cursorOf(request) };
      }
      if (!page.cursor) return { items };
      cursor = page.cursor;
      // A store page can be empty and still continue (entries the index still held for requests
      // decided meanwhile); it counts against the budget too, so a call always ends.
      if (page.items.length === 0) examined++;
    }
    return cursor ? { items, cursor } : { items };
  }

  async review(
    requestId: string,
    approver: string,
    vote: VoteInput,
  ): Promise<{ request: ActionRequest; duplicate: boolean }> {
    // Someone who may not see the request learns nothing of it, and leaves nothing in its trail.
    return this.#mutate<{ request: ActionRequest; duplicate: boolean }>(
      requestId,
      approver,
      async (request, now) => {
        const { narrowTo, ...plain } = vote;
        const narrowing = narrowTo ? await this.#narrowing(request, approver, vote, now) : undefined;
        const outcome = lifecycle.review(
          request,
          { approver, ...plain, now, ...(narrowing ? { narrowing } : {}) },
          this.directory,
        );
        switch (outcome.kind) {
          case 'recorded':
            return {
              commit: outcome.transition,
              result: { request: outcome.transition.request, duplicate: false },
            };
          case 'duplicate':
            return { result: { request: outcome.request, duplicate: true } };
          case 'late':
            return {
              commit: outcome.transition,
              result: { request: outcome.transition.request, duplicate: false },
              error: outcome.error,
            };
        }
      },
    );
  }

  /**
   * The narrowed terms of a vote and the policy's re-evaluation of them, or undefined when the
   * terms are the request's own or the vote will not be counted anyway (the lifecycle then refuses
   * it or records it as late, as for any vote). Nothing is evaluated for someone who may not vote.
   */
  async #narrowing(
    request: ActionRequest,
    approver: string,
    vote: VoteInput,
    now: Date,
  ): Promise<lifecycle.ReviewCommand['narrowing']> {
    const refusal = lifecycle.ineligibility(request, approver, this.directory);
    if (refusal) throw refusal;
    // A late vote or a stale action hash is answered as any vote is (409), before its terms are read.
    const approval = request.approval;
    if (request.status !== 'pending' || !approval || now.getTime() >= Date.parse(approval.expiresAt)) {
      return undefined;
    }
    if (vote.actionHash !== request.actionHash || !vote.narrowTo) return undefined;
    if (vote.decision !== 'approve') {
      throw new ValidationError(
        'narrow_to applies to approvals only; a rejection rejects the request as asked',
        {
          details: { field: 'narrow_to' },
        },
      );
    }
    const terms = narrowTerms(request, vote.narrowTo);
    const asked = termsOf(request.grant);
    if (!terms || !asked) return undefined;
    const input = await withVouchedFrom(
      {
        subject: request.subject,
        action: request.action,
        resource: request.resource,
        context: request.context,
        now: now.toISOString(),
        narrowing: {
          request_id: request.id,
          approver,
          actions: terms.actions,
          resources: terms.resources,
          window_seconds: terms.window_seconds,
          terms_hash: terms.terms_hash,
          asked,
        },
      },
      this.#attributes,
    );
    const decision = this.#deps.policy.evaluate(input, { requestId: request.id });
    return {
      terms,
      reevaluation: {
        outcome: decision.outcome,
        reasons: decision.reasons.map((r) => ({ code: r.code, message: r.message })),
        policy_digest: decision.policyDigest,
        input_hash: decision.inputHash,
      },
    };
  }

  async cancel(requestId: string, actor: string, reason?: string): Promise<ActionRequest> {
    return this.#mutate(requestId, actor, (request, now) => {
      const commit = lifecycle.cancel(request, actor, now, reason);
      return { commit, result: commit.request };
    });
  }

  /** Escalates when due; returns the request unchanged if it was decided or escalated already. */
  async escalate(requestId: string): Promise<ActionRequest> {
    return this.#mutate(requestId, SYSTEM, (request, now) => {
      const commit = lifecycle.escalate(request, now);
      return commit ? { commit, result: commit.request } : { result: request };
    });
  }

  /**
   * An eligible approver escalates now (chat Escalate button). Returns the request and whether this
   * call escalated it (false when it was escalated already: a repeated click changes nothing).
   */
  async escalateNow(
    requestId: string,
    approver: string,
    channel: string,
  ): Promise<{ request: ActionRequest; escalated: boolean }> {
    return this.#mutate<{ request: ActionRequest; escalated: boolean }>(
      requestId,
      approver,
      (request, now) => {
        const commit = lifecycle.escalateByApprover(request, { approver, channel, now }, this.directory);
        return commit
          ? { commit, result: { request: commit.request, escalated: true } }
          : { result: { request, escalated: false } };
      },
    );
  }

  /** Expires when due; returns the request unchanged if a decision won the race. */
  async expire(requestId: string, options: { why?: string } = {}): Promise<ActionRequest> {
    return this.#mutate(requestId, SYSTEM, (request, now) => {
      const commit = lifecycle.expire(request, now, options.why);
      return commit ? { commit, result: commit.request } : { result: request };
    });
  }

  async recordNotification(
    requestId: string,
    notification: {
      channel: string;
      recipients: readonly string[];
      reference?: string;
      escalation?: boolean;
    },
  ): Promise<ActionRequest> {
    return this.#mutate(requestId, SYSTEM, (request, now) => {
      const commit = lifecycle.recordNotification(request, notification, now);
      return { commit, result: commit.request };
    });
  }

  /**
   * One-shot redemption. Credentials are issued before the conditional commit: if two calls race,
   * both may reach STS but only the winner's commit succeeds and only it returns what it got; the
   * loser's credentials are dropped unseen. If STS fails, nothing is committed and the call can be retried.
   */
  async redeem(requestId: string, actor: string): Promise<Redemption> {
    const redemptionId = this.#deps.ids.requestId();
    let credentials: IssuedCredentials | undefined;
    let policyHash: string | undefined;
    const request = await this.#mutate(requestId, actor, async (current, now) => {
      if (current.grant?.type !== 'aws_sts') {
        const commit = lifecycle.redeem(current, actor, now, redemptionId);
        return { commit, result: commit.request };
      }
      lifecycle.requireRedeemable(current, actor);
      if (!credentials) {
        const broker = this.#deps.credentials;
        if (!broker) {
          throw new CredentialsNotConfiguredError(
            'this gateway has no credential broker, so aws_sts grants cannot be issued (nothing was used up; retrying will not help). ' +
              'Configure one: in local mode add "credentials": {"sts": {"accountId", "allowedRoles", optional "partition", "region", "endpoint"}} to the gateway config and give the gateway AWS credentials (standard SDK chain); ' +
              'on AWS deploy the stack with the allowedGrantRoles prop; see docs/credentials.md',
          );
        }
        let policy: SessionPolicy;
        try {
          policy = buildSessionPolicy(current.grant, now);
          credentials = await broker.issue(current, policy, now);
        } catch (error) {
          if (!(error instanceof GrantRefusedError)) throw error;
          // Audited, then refused: the request stays approved and unredeemed.
          const commit = lifecycle.refuseGrant(current, actor, now, error);
          return { commit, result: commit.request, error };
        }
        policyHash = policy.hash;
      }
      const commit = lifecycle.redeem(current, actor, now, redemptionId, {
        sessionName: credentials.sessionName,
        expiration: credentials.expiration,
        usableUntil: credentials.usableUntil,
        policyHash: policyHash as string,
      });
      return { commit, result: commit.request };
    });
    return credentials ? { request, credentials } : { request };
  }

  async reportOutcome(
    requestId: string,
    actor: string,
    outcome: { status: 'succeeded' | 'failed'; detail?: string },
  ): Promise<ActionRequest> {
    return this.#mutate(requestId, actor, (request, now) => {
      const commit = lifecycle.reportOutcome(request, actor, outcome, now);
      return { commit, result: commit.request };
    });
  }

  /** The request's audit chain and its verification, for the requester and auditors. */
  async audit(
    requestId: string,
    principal: string,
  ): Promise<{ request: ActionRequest; events: readonly AuditEvent[]; verification: ChainVerdict }> {
    const request = await this.#deps.store.get(requestId);
    if (!request || !canReadAudit(request, principal, this.directory)) throw new NotFoundError(requestId);
    const events = await this.#deps.store.listEvents(requestId);
    // Events are read after the request, so a transition committed in between may add events
    // beyond the head we read: the chain must pass through that head, not end at it.
    const chain = verifyChain(events, {
      requestId,
      knownHead: { seq: request.auditSeq, hash: request.auditHead },
    });
    // And the record must say what the chain says (a record edited to re-arm a grant shows here).
    const mismatches = recordProblems(request, events).filter((p) => p.code === 'record_mismatch');
    const problems = [...(chain.ok ? [] : chain.problems), ...mismatches];
    const verification: ChainVerdict = problems.length === 0 ? chain : { ok: false, problems };
    if (mismatches.length > 0) this.#deps.onAuditMismatch?.(request, mismatches);
    return { request, events, verification };
  }

  /** Whether the request's record says what its audit chain says; reported to the operator if not. */
  async #agreesWithAudit(request: ActionRequest): Promise<boolean> {
    const problems = recordProblems(request, await this.#deps.store.listEvents(request.id));
    if (problems.length === 0) return true;
    this.#deps.onAuditMismatch?.(request, problems);
    return false;
  }

  /**
   * Whether a commit reported as lost actually landed: a store (or its SDK) may resend a commit
   * whose answer was lost, and the resend then fails its own condition. The stored head equal to
   * this transition's head means our write is the one that is there.
   */
  async #landed(transition: Transition): Promise<boolean> {
    const stored = await this.#deps.store.get(transition.request.id);
    return (
      stored?.version === transition.request.version && stored.auditHead === transition.request.auditHead
    );
  }

  async #tellWorkflow(what: 'start' | 'decided', request: ActionRequest): Promise<void> {
    const workflow = this.#deps.workflow;
    if (!workflow) return;
    try {
      await (what === 'start' ? workflow.start(request) : workflow.decided(request));
    } catch (error) {
      this.#deps.onWorkflowError?.(error, request);
    }
  }

  /**
   * Read → decide → conditional commit, with one read per attempt: the read that decides is also
   * the one that checks the caller may see the request (`visibleTo`; SYSTEM for the gateway's own
   * timers). A lost race reads again and decides again.
   */
  async #mutate<T>(
    requestId: string,
    visibleTo: string | typeof SYSTEM,
    decide: (request: ActionRequest, now: Date) => Step<T> | Promise<Step<T>>,
  ): Promise<T> {
    const { store, clock } = this.#deps;
    const attempts = this.#deps.maxAttempts ?? 30;
    for (let attempt = 1; ; attempt++) {
      const request = await store.get(requestId);
      if (!request || (visibleTo !== SYSTEM && !canView(request, visibleTo, this.directory))) {
        throw new NotFoundError(requestId);
      }
      if (!(await this.#agreesWithAudit(request))) {
        throw new AuditMismatchError(
          `request ${requestId}'s record disagrees with its audit trail, so nothing is decided on it; an operator must investigate (GET /v1/action-requests/${requestId}/audit shows where)`,
        );
      }
      const step = await decide(request, clock.now());
      if (!step.commit) return step.result;
      try {
        // The record read is what the commit replaces: the store keeps its indexes from the change.
        await store.commit({ ...step.commit, previous: request });
      } catch (error) {
        if (!(error instanceof StaleStateError)) throw error;
        // A lost answer to a write that landed is a success; anything else is a lost race.
        if (!(await this.#landed(step.commit))) {
          if (attempt >= attempts) {
            throw new ContentionError(`request ${requestId} is changing too fast; retry in a moment`, {
              cause: error,
            });
          }
          // Jittered backoff keeps many racing voters from colliding in lockstep.
          await this.#sleep(Math.random() * Math.min(50, 2 * attempt));
          continue;
        }
      }
      this.#deps.onCommit?.(step.commit);
      if (request.status === 'pending' && step.commit.request.status !== 'pending') {
        await this.#tellWorkflow('decided', step.commit.request);
      }
      if ('error' in step && step.error) throw step.error;
      return step.result;
    }
  }
}

function tooManyPending(principal: string, max: number, cause?: unknown): RateLimitedError {
  const error = new RateLimitedError(
    'too_many_pending',
    `${principal} has ${max} requests awaiting approval, its limit; wait for decisions, cancel some (POST /v1/action-requests/{id}/cancel), or ask the operator for a higher limit (policy data limits.principals)`,
    60,
    { limit: max, what: 'pending requests' },
  );
  if (cause !== undefined) Object.defineProperty(error, 'cause', { value: cause });
  return error;
}
