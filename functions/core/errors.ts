/**
 * Errors of the core. Each carries a stable `code` (the wire error code) and a `kind` that the edge
 * (HTTP, Slack, Teams) maps to its own answer in one place. Messages say what was wrong and how to
 * fix it; they never contain credentials.
 */

export type ErrorKind =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'unprocessable'
  | 'unavailable'
  | 'not_configured'
  | 'rate_limited';

export abstract class GatewayError extends Error {
  override name = 'GatewayError';
  abstract readonly code: string;
  abstract readonly kind: ErrorKind;
  readonly details?: Record<string, unknown>;

  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    if (options?.details) this.details = options.details;
  }

  /** Whether the caller may retry the same call unchanged. */
  get retryable(): boolean {
    return this.kind === 'unavailable' || this.kind === 'rate_limited';
  }
}

/**
 * A limit of the caller's was reached (calls per minute, submissions per minute, open pending
 * requests). `retryAfterSeconds` is when trying again can succeed (the HTTP edge's `Retry-After`).
 */
export class RateLimitedError extends GatewayError {
  override name = 'RateLimitedError';
  readonly code: 'rate_limited' | 'too_many_pending';
  readonly kind = 'rate_limited';
  readonly retryAfterSeconds: number;
  constructor(
    code: 'rate_limited' | 'too_many_pending',
    message: string,
    retryAfterSeconds: number,
    details: Record<string, unknown>,
  ) {
    super(message, { details: { ...details, retry_after_seconds: retryAfterSeconds } });
    this.code = code;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export class ValidationError extends GatewayError {
  override name = 'ValidationError';
  readonly code = 'invalid_request';
  readonly kind = 'invalid';
}

export class NotFoundError extends GatewayError {
  override name = 'NotFoundError';
  readonly code = 'not_found';
  readonly kind = 'not_found';
  constructor(requestId: string) {
    super(`action request ${requestId} does not exist, or you may not see it`);
  }
}

export class ForbiddenError extends GatewayError {
  override name = 'ForbiddenError';
  readonly code = 'forbidden';
  readonly kind = 'forbidden';
}

export class SelfApprovalError extends GatewayError {
  override name = 'SelfApprovalError';
  readonly code = 'self_approval';
  readonly kind = 'forbidden';
}

/** The requester named an `on_behalf_of` that policy data does not declare for it. */
export class UndeclaredDelegationError extends GatewayError {
  override name = 'UndeclaredDelegationError';
  readonly code = 'undeclared_delegation';
  readonly kind = 'forbidden';
}

/** The policy, re-evaluated with an approver's narrowed terms, denies them: the vote is not recorded. */
export class NarrowingDeniedError extends GatewayError {
  override name = 'NarrowingDeniedError';
  readonly code = 'narrowing_denied';
  readonly kind = 'forbidden';
}

export class NotEligibleError extends GatewayError {
  override name = 'NotEligibleError';
  readonly code = 'not_eligible';
  readonly kind = 'forbidden';
}

/**
 * The policy asked for step-up (`approval.step_up`): only a vote from someone who signed in within
 * the last few minutes on the review page counts; any other channel is refused (fail closed).
 */
export class StepUpRequiredError extends GatewayError {
  override name = 'StepUpRequiredError';
  readonly code = 'step_up_required';
  readonly kind = 'forbidden';
}

export class TerminalStateError extends GatewayError {
  override name = 'TerminalStateError';
  readonly code = 'request_not_pending';
  readonly kind = 'conflict';
}

export class StaleActionHashError extends GatewayError {
  override name = 'StaleActionHashError';
  readonly code = 'stale_action_hash';
  readonly kind = 'conflict';
}

export class NotApprovedError extends GatewayError {
  override name = 'NotApprovedError';
  readonly code = 'not_approved';
  readonly kind = 'conflict';
}

export class GrantAlreadyRedeemedError extends GatewayError {
  override name = 'GrantAlreadyRedeemedError';
  readonly code = 'grant_already_redeemed';
  readonly kind = 'conflict';
}

export class GrantNotRedeemedError extends GatewayError {
  override name = 'GrantNotRedeemedError';
  readonly code = 'grant_not_redeemed';
  readonly kind = 'conflict';
}

export class OutcomeAlreadyReportedError extends GatewayError {
  override name = 'OutcomeAlreadyReportedError';
  readonly code = 'outcome_already_reported';
  readonly kind = 'conflict';
}

/**
 * A request's stored record disagrees with its audit chain (edited, or an event altered): nothing
 * is decided on it until an operator has looked. The disagreement is logged and shows in the
 * request's audit verification.
 */
export class AuditMismatchError extends GatewayError {
  override name = 'AuditMismatchError';
  readonly code = 'audit_mismatch';
  readonly kind = 'conflict';
}

/** The approver voted already, the other way: a vote stands as cast and is never changed. */
export class VoteAlreadyCastError extends GatewayError {
  override name = 'VoteAlreadyCastError';
  readonly code = 'vote_already_cast';
  readonly kind = 'conflict';
}

export class IdempotencyConflictError extends GatewayError {
  override name = 'IdempotencyConflictError';
  readonly code = 'idempotency_conflict';
  readonly kind = 'conflict';
}

/** A timer fired before its deadline (clock skew or a misconfigured workflow); nothing changed. */
export class NotDueError extends GatewayError {
  override name = 'NotDueError';
  readonly code = 'not_due';
  readonly kind = 'conflict';
}

/** Too many writers raced on one request; nothing was written by this call. */
export class ContentionError extends GatewayError {
  override name = 'ContentionError';
  readonly code = 'contention';
  readonly kind = 'unavailable';
}

/** STS failed or throttled (an outage); nothing was committed, the redemption may be repeated. */
export class CredentialsUnavailableError extends GatewayError {
  override name = 'CredentialsUnavailableError';
  readonly code = 'credentials_unavailable';
  readonly kind = 'unavailable';
}

/**
 * The gateway has no credential broker, so `aws_sts` grants cannot be issued. A configuration gap,
 * not an outage: repeating the call cannot succeed until an operator configures one.
 */
export class CredentialsNotConfiguredError extends GatewayError {
  override name = 'CredentialsNotConfiguredError';
  readonly code = 'credentials_not_configured';
  readonly kind = 'not_configured';
}

/** Why a grant cannot become a session policy; the codes are stable. */
export type GrantRefusalCode =
  | 'grant_incomplete'
  | 'grant_wildcard_not_stated'
  | 'grant_foreign_service'
  | 'grant_policy_too_large'
  | 'grant_role_not_allowed';

/**
 * The approved grant cannot be issued as stated (it comes from the policy, not the caller): nothing
 * is issued, the refusal is audited, and only a policy (or deployment) change can fix it.
 */
export class GrantRefusedError extends GatewayError {
  override name = 'GrantRefusedError';
  readonly code: GrantRefusalCode;
  readonly kind = 'unprocessable';
  constructor(
    code: GrantRefusalCode,
    message: string,
    options?: { details?: Record<string, unknown>; cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
  }
}

/** Store-level: the expected version did not match (another writer won). Retried by the service. */
export class StaleStateError extends GatewayError {
  override name = 'StaleStateError';
  readonly code = 'stale_state';
  readonly kind = 'conflict';
}

/**
 * Store-level: the commit would give the requester more pending requests than its `pendingCap`.
 * Nothing was written. The service answers it as RateLimitedError (too_many_pending).
 */
export class PendingCapReachedError extends GatewayError {
  override name = 'PendingCapReachedError';
  readonly code = 'too_many_pending';
  readonly kind = 'rate_limited';
}

/** Store-level: the idempotency key is already taken. The service resolves it. */
export class IdempotencyKeyTakenError extends GatewayError {
  override name = 'IdempotencyKeyTakenError';
  readonly code = 'idempotency_key_taken';
  readonly kind = 'conflict';
}

/** A dependency (database, emulator, network) failed; nothing was written. Retry later. */
export class StoreUnavailableError extends GatewayError {
  override name = 'StoreUnavailableError';
  readonly code = 'store_unavailable';
  readonly kind = 'unavailable';
}
