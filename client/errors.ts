/** Errors of the client SDK. Every one says what failed and what to do; none carries a token. */
import type { ActionRequestView, ErrorBody } from './types.ts';

/** Error codes the gateway answers with today; others may appear, so the type stays open. */
export type ApiErrorCode =
  | 'invalid_request'
  | 'invalid_json'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'unauthenticated'
  | 'forbidden'
  | 'self_approval'
  | 'not_eligible'
  | 'not_found'
  | 'request_not_pending'
  | 'stale_action_hash'
  | 'vote_already_cast'
  | 'narrowing_denied'
  | 'not_approved'
  | 'grant_already_redeemed'
  | 'grant_not_redeemed'
  | 'grant_incomplete'
  | 'grant_wildcard_not_stated'
  | 'grant_foreign_service'
  | 'grant_policy_too_large'
  | 'grant_role_not_allowed'
  | 'outcome_already_reported'
  | 'idempotency_conflict'
  | 'rate_limited'
  | 'contention'
  | 'credentials_unavailable'
  | 'credentials_not_configured'
  | 'store_unavailable'
  | 'internal_error'
  | (string & {});

/** Base class: `instanceof ApprovalsError` catches everything this SDK throws on its own. */
export class ApprovalsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The gateway answered with an error status. `code` is the stable discriminant. */
export class ApprovalsApiError extends ApprovalsError {
  readonly status: number;
  readonly code: ApiErrorCode;
  readonly details: Record<string, unknown> | undefined;
  /** The gateway's `x-request-id`: quote it when asking an operator to look at the logs. */
  readonly requestId: string | undefined;
  /** How long the gateway asked to wait before a retry (`Retry-After`), when it said. */
  readonly retryAfterMs: number | undefined;

  constructor(init: {
    status: number;
    code: string;
    message: string;
    details?: Record<string, unknown> | undefined;
    requestId?: string | undefined;
    retryAfterMs?: number | undefined;
  }) {
    super(init.message);
    this.status = init.status;
    this.code = init.code;
    this.details = init.details;
    this.requestId = init.requestId;
    this.retryAfterMs = init.retryAfterMs;
  }

  /**
   * 429 and 503: nothing was written, the same call may be repeated later. Never 501
   * (`credentials_not_configured`): a configuration gap does not heal by repeating.
   */
  get retryable(): boolean {
    return this.status === 429 || this.status === 503;
  }

  /** Field-level problems of a 400 `invalid_request`, as `path: message` pairs. */
  get issues(): { path: string; message: string }[] {
    const issues = this.details?.issues;
    if (!Array.isArray(issues)) return [];
    return issues.flatMap((issue: unknown) => {
      if (typeof issue !== 'object' || issue === null) return [];
      const { path, message } = issue as Record<string, unknown>;
      return typeof path === 'string' && typeof message === 'string' ? [{ path, message }] : [];
    });
  }

  static fromBody(
    status: number,
    body: unknown,
    meta: { requestId?: string | undefined; retryAfterMs?: number | undefined; statusText?: string },
  ): ApprovalsApiError {
    const parsed = asErrorBody(body);
    return new ApprovalsApiError({
      status,
      code: parsed?.error ?? `http_${status}`,
      message:
        parsed?.message ??
        `the gateway answered ${status}${meta.statusText ? ` ${meta.statusText}` : ''} without an error body`,
      details: parsed?.details,
      requestId: meta.requestId,
      retryAfterMs: meta.retryAfterMs,
    });
  }
}

function asErrorBody(body: unknown): ErrorBody | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { error, message, details } = body as Record<string, unknown>;
  if (typeof error !== 'string' || typeof message !== 'string') return undefined;
  const detailRecord =
    typeof details === 'object' && details !== null && !Array.isArray(details)
      ? (details as Record<string, unknown>)
      : undefined;
  return { error, message, ...(detailRecord ? { details: detailRecord } : {}) };
}

export type NetworkErrorCode = 'connection_refused' | 'timeout' | 'network_error' | 'invalid_response';

/** The gateway could not be reached, did not answer in time, or answered something that is not JSON. */
export class ApprovalsNetworkError extends ApprovalsError {
  readonly code: NetworkErrorCode;
  /** The URL called, without credentials. */
  readonly url: string;

  constructor(code: NetworkErrorCode, url: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.url = url;
  }
}

export type NotApprovedStatus = Exclude<ActionRequestView['status'], 'approved'>;

/**
 * The action may not run: denied by policy, rejected by a human, expired, cancelled, or still
 * pending when the wait ran out (`status === 'pending'`). The message is the gateway's
 * `agent_message`, written for an LLM: hand it back as the tool result.
 */
export class ActionNotApprovedError extends ApprovalsError {
  readonly status: NotApprovedStatus;
  readonly request: ActionRequestView;

  constructor(request: ActionRequestView & { status: NotApprovedStatus }) {
    super(request.agent_message);
    this.status = request.status;
    this.request = request;
  }

  get requestId(): string {
    return this.request.id;
  }

  /** Whether a human may still decide: the wait ran out while the request was pending. */
  get stillPending(): boolean {
    return this.status === 'pending';
  }
}
