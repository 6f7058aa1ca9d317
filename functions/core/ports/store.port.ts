import type { ActionRequest, AuditEvent, Status } from '../model.ts';

/** A state change and the audit events that record it, committed atomically or not at all. */
export interface Transition {
  /** The request as it must be stored after the change (its `version` is `expectedVersion + 1`). */
  readonly request: ActionRequest;
  /** The version the stored request must have now; 0 means "must not exist yet". */
  readonly expectedVersion: number;
  /** Appended to the request's chain; each (request_id, seq) must not exist yet. */
  readonly events: readonly AuditEvent[];
  /** Written with the creation of a request; the key must not be taken yet. */
  readonly idempotency?: IdempotencyRecord;
  /**
   * The stored request this transition replaces, as it was read (version `expectedVersion`). Stores
   * keep their pending indexes and counters from the difference; one that is not given it reads it.
   */
  readonly previous?: ActionRequest;
  /**
   * When the transition makes a request pending: the most pending requests its requester may have
   * with it included. Checked inside the commit (`PendingCapReachedError`), so parallel submissions
   * never exceed it.
   */
  readonly pendingCap?: number;
}

export interface IdempotencyRecord {
  readonly requester: string;
  readonly key: string;
  readonly requestId: string;
  /** `sha256:<hex>` of the canonical submitted body, to tell a retry from a different request. */
  readonly bodyHash: string;
  readonly createdAt: string;
}

export interface ListByStatusOptions {
  readonly limit?: number;
  readonly cursor?: string;
  /** Newest first (approvers' views), instead of oldest first (timers, recovery). @default false */
  readonly newestFirst?: boolean;
}

/** How a pending-for-groups listing is ordered. */
export type PendingOrder = 'newest' | 'deadline';

export interface ListPendingOptions {
  readonly limit?: number;
  /** Made by `cursorAfter(last item, order)` (core/paging.ts) in the same order. */
  readonly cursor?: string;
  /**
   * `newest`: creation time descending (a new request is never behind old ones); `deadline`: the
   * approval's `expiresAt` ascending (soonest to expire first). Ties by id. @default 'newest'
   */
  readonly order?: PendingOrder;
}

export interface ListVisibleOptions {
  readonly limit?: number;
  /** Made by `cursorAfter(last item)` (core/paging.ts), newest first. */
  readonly cursor?: string;
}

export interface Page<T> {
  readonly items: readonly T[];
  /**
   * Opaque to callers; pass back to get the next page. Absent on the last page. Stores issue
   * `cursorAfter(last item)` (core/paging.ts) and continue after any cursor made that way.
   */
  readonly cursor?: string;
}

/**
 * Persistence of requests, their audit chains and idempotency keys. Adapters must:
 * - commit a transition atomically (all or nothing) with the version condition, the index of
 *   pending requests by approving group, the index of decided requests by viewer key and the
 *   requester's pending count in the same commit;
 * - throw `StaleStateError` when the version does not match (another writer won),
 *   `IdempotencyKeyTakenError` when the key exists, `PendingCapReachedError` when `pendingCap`
 *   would be exceeded, `StoreUnavailableError` when the backend fails;
 * - never update or delete an audit event.
 */
export interface RequestStore {
  commit(transition: Transition): Promise<void>;
  get(requestId: string): Promise<ActionRequest | undefined>;
  getIdempotency(requester: string, key: string): Promise<IdempotencyRecord | undefined>;
  /** The request's audit chain, ordered by seq. */
  listEvents(requestId: string): Promise<readonly AuditEvent[]>;
  /**
   * Requests in a status, oldest first (creation time, then id) or, with `newestFirst`, newest
   * first; at most `limit` (clamped by pageLimit). A cursor continues in the order it was made in;
   * one not made by cursorAfter is refused with ValidationError.
   */
  listByStatus(status: Status, options?: ListByStatusOptions): Promise<Page<ActionRequest>>;
  /**
   * Pending requests whose active approving groups (`activeGroups`: the groups, plus the escalation
   * groups once escalated) include any of `groups`, each once, in `order`. The work is bounded by
   * the page and the number of groups, not by how many requests are stored; a page may be shorter
   * than `limit` and still carry a cursor.
   */
  listPendingForGroups(groups: readonly string[], options?: ListPendingOptions): Promise<Page<ActionRequest>>;
  /**
   * Requests in `status` (not `pending`: that listing is by eligibility, listPendingForGroups) that
   * carry any of `viewerKeys` (core/eligibility.ts `viewerKeys`), each once, newest first. Kept in
   * the same commit as the request; the work is bounded by the page and the number of keys, not by
   * how many requests are stored. A page may be shorter than `limit` and still carry a cursor.
   */
  listVisible(
    viewerKeys: readonly string[],
    status: Status,
    options?: ListVisibleOptions,
  ): Promise<Page<ActionRequest>>;
  /**
   * How many pending requests `requester` has, counting at most `atMost` (a bound on the work: the
   * caller only needs to know whether a cap is reached). The exact check is `pendingCap` on commit.
   */
  countPending(requester: string, atMost: number): Promise<number>;
}
