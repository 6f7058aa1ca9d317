/**
 * The agent's side of the gateway: submit, wait, redeem, report. Uses the global `fetch` (or the one
 * given), so it runs in Node ≥ 20, Deno, Bun, edge runtimes and browsers, and loads no server code.
 */
import { ApprovalsApiError, ApprovalsNetworkError, type NetworkErrorCode } from './errors.ts';
import { backoffDelay, parseRetryAfter, type RetryOptions, retryOptions, sleep } from './retry.ts';
import {
  type ActionRequestInput,
  type ActionRequestList,
  type ActionRequestView,
  type AuditView,
  type DecisionView,
  type EvaluationView,
  type GrantView,
  MAX_WAIT_SECONDS,
  type NarrowTo,
  type OutcomeStatus,
  type RequestStatus,
  type VoteDecision,
  type WhoamiView,
} from './types.ts';

type Awaitable<T> = T | Promise<T>;
type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

export interface ApprovalsClientOptions {
  /** Where the gateway is, with any stage prefix: `http://127.0.0.1:8787`, `https://…/prod`. */
  readonly baseUrl: string | URL;
  /**
   * Bearer token (local mode), or a function that returns the current one.
   * @default - no Authorization header (use `fetch` to sign requests with SigV4 on AWS)
   */
  readonly token?: string | (() => Awaitable<string>);
  /** Extra headers on every call, or a function that returns them. */
  readonly headers?: Record<string, string> | (() => Awaitable<Record<string, string>>);
  /**
   * The fetch to use, e.g. one that signs requests with AWS SigV4.
   * @default globalThis.fetch
   */
  readonly fetch?: FetchFunction;
  /**
   * Retries on 429 and 503 (always) and on network errors (only for calls that are safe to repeat).
   * `false` turns them off.
   * @default - 3 retries, 200 ms base, 5 s cap, Retry-After honoured up to 30 s
   */
  readonly retry?: Partial<RetryOptions> | false;
  /**
   * Time limit of one attempt, on top of any long-poll wait.
   * @default 30000
   */
  readonly timeoutMs?: number;
  /** Sent as `User-Agent` where the runtime allows it. */
  readonly userAgent?: string;
  /** Told before each retry's wait: why the call waits, and for how long (e.g. to show a person). */
  readonly onRetry?: (notice: RetryNotice) => void;
}

/** A retry about to wait. */
export interface RetryNotice {
  readonly method: 'GET' | 'POST';
  /** The API path, e.g. `/v1/action-requests`. */
  readonly path: string;
  /** Which retry this is (1 for the first) of at most `retries`. */
  readonly retry: number;
  readonly retries: number;
  /** How long the call waits before the retry: backoff, or the gateway's `Retry-After`. */
  readonly delayMs: number;
  /** What the previous attempt got. */
  readonly error: ApprovalsApiError | ApprovalsNetworkError;
}

export interface CallOptions {
  /** Aborts the call, including its retries and backoff sleeps. */
  readonly signal?: AbortSignal;
}

export interface SubmitOptions extends CallOptions {
  /**
   * Makes the submission safe to repeat: the gateway answers a repeated key with the original
   * request. Use a stable id of the attempt (e.g. the tool call id).
   * @default - a random UUID, generated once per call and reused by its retries
   */
  readonly idempotencyKey?: string;
  /** Hold the answer up to N seconds (≤ 25) for a human decision (`Prefer: wait=N`). */
  readonly waitSeconds?: number;
}

export interface PendingOptions extends CallOptions {
  /** Most requests to return. @default 100 */
  readonly limit?: number;
  /** Continue from a cursor an earlier `pendingPage` returned. */
  readonly cursor?: string;
  /** Also list the requests the caller has voted on already. @default false */
  readonly includeVoted?: boolean;
  /** Most gateway calls to make before returning what was found with a cursor. @default 10 */
  readonly maxCalls?: number;
}

export interface GetOptions extends CallOptions {
  /** Long-poll up to N seconds (≤ 25) for a status change (`?wait=N`). */
  readonly waitSeconds?: number;
}

export interface WaitForDecisionOptions extends CallOptions {
  /** Overall time limit; when it passes, the request is returned as it is (still `pending`). */
  readonly timeoutMs: number;
  /** Called with every state read while waiting, e.g. to show approvals as they arrive. */
  readonly onUpdate?: (request: ActionRequestView) => void;
}

export interface DecisionInput {
  readonly decision: VoteDecision;
  /** Required to reject. */
  readonly comment?: string;
  /** The `action_hash` of the request as the approver reviewed it; a mismatch answers 409. */
  readonly actionHash: string;
  /**
   * Approve less than was asked: some of the grant's actions, some of its resources, a shorter
   * window (each omitted term stays as asked). A term not asked for answers 400; a policy deny 403.
   */
  readonly narrowTo?: NarrowTo;
}

interface CallSpec {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly query?: Record<string, string | number | undefined>;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /** Whether repeating the call after a lost answer changes nothing (GET, dry runs, keyed submissions). */
  readonly idempotent: boolean;
  readonly waitSeconds?: number;
  readonly signal?: AbortSignal | undefined;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * The gateway's Idempotency-Key rule (functions/core/identifiers.ts), checked here too so a bad key
 * fails before any call. A copy, because the SDK loads no server code; a unit test keeps them equal.
 */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

export class ApprovalsClient {
  readonly baseUrl: string;
  readonly #token: ApprovalsClientOptions['token'];
  readonly #headers: ApprovalsClientOptions['headers'];
  readonly #fetch: FetchFunction;
  readonly #retry: RetryOptions;
  readonly #timeoutMs: number;
  readonly #userAgent: string | undefined;
  readonly #onRetry: ((notice: RetryNotice) => void) | undefined;

  constructor(options: ApprovalsClientOptions) {
    this.baseUrl = normalizeBaseUrl(options.baseUrl);
    if (typeof options.token === 'string' && !/^[\x21-\x7e]{1,512}$/.test(options.token)) {
      throw new TypeError(
        'token must be 1 to 512 visible ASCII characters (no spaces or line breaks); check ALA_TOKEN or the token option',
      );
    }
    this.#token = options.token;
    this.#headers = options.headers;
    if (!options.fetch && typeof globalThis.fetch !== 'function') {
      throw new TypeError('no fetch available: run on Node ≥ 20 or pass the fetch option');
    }
    // Resolved per call, so a fetch installed (or stubbed) after construction is used.
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#retry = retryOptions(options.retry);
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isFinite(this.#timeoutMs) || this.#timeoutMs <= 0) {
      throw new RangeError(`timeoutMs must be a positive number of milliseconds (got ${options.timeoutMs})`);
    }
    this.#userAgent = options.userAgent;
    this.#onRetry = options.onRetry;
  }

  /**
   * Submits an action request. Always sends an `Idempotency-Key` (generated when not given), so a
   * retry after a lost answer returns the same request instead of creating a second one.
   * Answers with the request as decided so far: `pending`, `approved` (by policy) or `denied`.
   */
  async request(input: ActionRequestInput, options: SubmitOptions = {}): Promise<ActionRequestView> {
    const idempotencyKey = options.idempotencyKey ?? globalThis.crypto.randomUUID();
    if (!IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey)) {
      throw new TypeError(
        `idempotencyKey must be 1 to 255 visible ASCII characters (got ${JSON.stringify(idempotencyKey.slice(0, 40))})`,
      );
    }
    const wait = checkWait(options.waitSeconds);
    return this.#call<ActionRequestView>({
      method: 'POST',
      path: '/v1/action-requests',
      body: input,
      headers: {
        'idempotency-key': idempotencyKey,
        ...(wait > 0 ? { prefer: `wait=${wait}` } : {}),
      },
      idempotent: true,
      waitSeconds: wait,
      signal: options.signal,
    });
  }

  /** The request's current state; with `waitSeconds`, answers as soon as its status changes. */
  async get(id: string, options: GetOptions = {}): Promise<ActionRequestView> {
    const wait = checkWait(options.waitSeconds);
    return this.#call<ActionRequestView>({
      method: 'GET',
      path: requestPath(id),
      query: wait > 0 ? { wait } : {},
      idempotent: true,
      waitSeconds: wait,
      signal: options.signal,
    });
  }

  /**
   * Long-polls (≤ 25 s per call) until the request is no longer pending or `timeoutMs` has passed.
   * Resolves with the request either way: check `status`; `pending` means the time ran out.
   */
  async waitForDecision(id: string, options: WaitForDecisionOptions): Promise<ActionRequestView> {
    const { timeoutMs, signal, onUpdate } = options;
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
      throw new RangeError(`timeoutMs must be a number of milliseconds ≥ 0 (got ${timeoutMs})`);
    }
    const deadline = Date.now() + timeoutMs;
    let view = await this.get(id, signal ? { signal } : {});
    onUpdate?.(view);
    while (view.status === 'pending') {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      // The last long-poll is cut at the deadline, so the wait ends on time rather than on a whole second.
      const timer = AbortSignal.timeout(remaining);
      try {
        view = await this.get(id, {
          waitSeconds: Math.min(MAX_WAIT_SECONDS, Math.ceil(remaining / 1000)),
          signal: signal ? AbortSignal.any([signal, timer]) : timer,
        });
      } catch (error) {
        if (timer.aborted && !signal?.aborted) break;
        throw error;
      }
      onUpdate?.(view);
    }
    return view;
  }

  /**
   * Submits, then waits up to `timeoutMs` for the decision. `onUpdate` sees the submitted request
   * at once (so the user can be told who must approve), then every state read while waiting. A
   * repeated call with the same `idempotencyKey` finds the same request, so a wait can be resumed.
   */
  async requestAndWait(
    input: ActionRequestInput,
    options: Omit<SubmitOptions, 'waitSeconds'> & {
      readonly timeoutMs: number;
      readonly onUpdate?: (request: ActionRequestView) => void;
    },
  ): Promise<ActionRequestView> {
    const deadline = Date.now() + options.timeoutMs;
    const submitted = await this.request(input, {
      ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    options.onUpdate?.(submitted);
    if (submitted.status !== 'pending') return submitted;
    return this.waitForDecision(submitted.id, {
      timeoutMs: Math.max(0, deadline - Date.now()),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onUpdate ? { onUpdate: options.onUpdate } : {}),
    });
  }

  /**
   * Redeems the grant of an approved request: exactly once (a second call answers 409
   * `grant_already_redeemed`). Credentials, when the grant has any, are in the answer and nowhere
   * else; keep them in memory only. Not retried after a lost answer, which would spend the grant.
   */
  async redeem(id: string, options: CallOptions = {}): Promise<GrantView> {
    return this.#call<GrantView>({
      method: 'POST',
      path: `${requestPath(id)}/grant`,
      idempotent: false,
      signal: options.signal,
    });
  }

  /** Reports how the approved action went, closing the audit trail. */
  async reportOutcome(
    id: string,
    status: OutcomeStatus,
    detail?: string,
    options: CallOptions = {},
  ): Promise<ActionRequestView> {
    return this.#call<ActionRequestView>({
      method: 'POST',
      path: `${requestPath(id)}/outcome`,
      body: { status, ...(detail !== undefined ? { detail: truncate(detail, 2000) } : {}) },
      idempotent: false,
      signal: options.signal,
    });
  }

  /**
   * Approves or rejects (approvers). The answer's `vote.recorded` is false when the same vote had
   * been cast before (nothing new was recorded); voting the other way (or on other terms) after
   * voting throws a 409 `vote_already_cast`. With `narrowTo` the approval covers only those terms.
   */
  async decide(id: string, decision: DecisionInput, options: CallOptions = {}): Promise<DecisionView> {
    return this.#call<DecisionView>({
      method: 'POST',
      path: `${requestPath(id)}/decisions`,
      body: {
        decision: decision.decision,
        ...(decision.comment !== undefined ? { comment: decision.comment } : {}),
        action_hash: decision.actionHash,
        ...(decision.narrowTo !== undefined ? { narrow_to: decision.narrowTo } : {}),
      },
      idempotent: false,
      signal: options.signal,
    });
  }

  /** Cancels a pending request (its requester only). */
  async cancel(id: string, reason?: string, options: CallOptions = {}): Promise<ActionRequestView> {
    return this.#call<ActionRequestView>({
      method: 'POST',
      path: `${requestPath(id)}/cancel`,
      body: reason !== undefined ? { reason } : {},
      idempotent: false,
      signal: options.signal,
    });
  }

  /**
   * The pending requests awaiting the caller's vote, up to `limit` (default 100); the gateway leaves
   * out requests the caller has voted on already. See `pendingPage` to continue past `limit`.
   */
  async pending(options: PendingOptions = {}): Promise<ActionRequestView[]> {
    return (await this.pendingPage(options)).items;
  }

  /**
   * Up to `limit` pending requests, following the gateway's cursors: a gateway page may hold fewer
   * items than asked, even none, and still go on (it bounds how much one call examines). Stops after
   * `maxCalls` calls (default 10); `cursor` is then where to continue, absent when nothing follows.
   */
  async pendingPage(
    options: PendingOptions = {},
  ): Promise<{ items: ActionRequestView[]; cursor: string | undefined }> {
    const limit = options.limit ?? 100;
    const items: ActionRequestView[] = [];
    let cursor = options.cursor;
    for (let calls = 0; calls < (options.maxCalls ?? 10); calls++) {
      const page = await this.list({
        status: 'pending',
        limit: limit - items.length,
        ...(cursor !== undefined ? { cursor } : {}),
        ...(options.includeVoted ? { includeVoted: true } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      items.push(...page.items);
      cursor = page.cursor;
      if (cursor === undefined || items.length >= limit) break;
    }
    return { items, cursor };
  }

  /**
   * One page of the requests in one status that the caller may see, oldest first. Pass the answer's
   * `cursor` back to continue; the listing ends when it is absent. For `pending`, `includeVoted`
   * also lists the requests the caller has voted on already.
   */
  async list(
    options: CallOptions & {
      readonly status?: RequestStatus;
      readonly limit?: number;
      readonly cursor?: string;
      readonly includeVoted?: boolean;
    } = {},
  ): Promise<ActionRequestList> {
    return this.#call<ActionRequestList>({
      method: 'GET',
      path: '/v1/action-requests',
      query: {
        status: options.status ?? 'pending',
        limit: options.limit,
        cursor: options.cursor,
        include_voted: options.includeVoted === undefined ? undefined : String(options.includeVoted),
      },
      idempotent: true,
      signal: options.signal,
    });
  }

  /** The request's hash-chained audit events, with the gateway's own verification. */
  async audit(id: string, options: CallOptions = {}): Promise<AuditView> {
    return this.#call<AuditView>({
      method: 'GET',
      path: `${requestPath(id)}/audit`,
      idempotent: true,
      signal: options.signal,
    });
  }

  /**
   * Who the gateway takes you to be: principal id, type, the policy data's groups you are in, how
   * you authenticated. With `requestId`, also whether you may vote on that request, and why not.
   */
  async whoami(options: CallOptions & { readonly requestId?: string } = {}): Promise<WhoamiView> {
    return this.#call<WhoamiView>({
      method: 'GET',
      path: '/v1/whoami',
      query: { request_id: options.requestId },
      idempotent: true,
      signal: options.signal,
    });
  }

  /** Dry run of the policy for the caller as requester; records nothing. */
  async evaluate(input: ActionRequestInput, options: CallOptions = {}): Promise<EvaluationView> {
    return this.#call<EvaluationView>({
      method: 'POST',
      path: '/v1/evaluate',
      body: input,
      idempotent: true,
      signal: options.signal,
    });
  }

  async #call<T>(spec: CallSpec): Promise<T> {
    const url = this.#url(spec.path, spec.query);
    const { signal } = spec;
    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      let outcome: Attempt;
      try {
        outcome = await this.#attempt(url, spec);
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (!(error instanceof ApprovalsNetworkError)) throw error;
        // Refused connections never reached the gateway, so any call may be repeated.
        const repeatable = spec.idempotent || error.code === 'connection_refused';
        if (repeatable && error.code !== 'invalid_response' && attempt < this.#retry.retries) {
          await this.#pause(spec, attempt, backoffDelay(attempt, this.#retry), error);
          continue;
        }
        throw error;
      }
      if (outcome.ok) return outcome.body as T;
      const error = outcome.error;
      if (!error.retryable || attempt >= this.#retry.retries) throw error;
      const after = error.retryAfterMs;
      if (after !== undefined && after > this.#retry.maxRetryAfterMs) throw error;
      await this.#pause(spec, attempt, Math.max(after ?? 0, backoffDelay(attempt, this.#retry)), error);
    }
  }

  async #pause(
    spec: CallSpec,
    attempt: number,
    delayMs: number,
    error: ApprovalsApiError | ApprovalsNetworkError,
  ): Promise<void> {
    this.#onRetry?.({
      method: spec.method,
      path: spec.path,
      retry: attempt + 1,
      retries: this.#retry.retries,
      delayMs,
      error,
    });
    await sleep(delayMs, spec.signal);
  }

  async #attempt(url: string, spec: CallSpec): Promise<Attempt> {
    const headers = await this.#requestHeaders(spec);
    const timeout = AbortSignal.timeout(this.#timeoutMs + (spec.waitSeconds ?? 0) * 1000);
    const signal = spec.signal ? AbortSignal.any([spec.signal, timeout]) : timeout;
    const init: RequestInit = {
      method: spec.method,
      headers,
      signal,
      ...(spec.body !== undefined ? { body: JSON.stringify(spec.body) } : {}),
    };
    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(url, init);
      text = await response.text();
    } catch (error) {
      if (spec.signal?.aborted) throw spec.signal.reason;
      throw networkError(error, url, spec.method, timeout.aborted);
    }
    const requestId = response.headers.get('x-request-id') ?? undefined;
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch (error) {
      if (response.ok) {
        throw new ApprovalsNetworkError(
          'invalid_response',
          url,
          `${spec.method} ${url} answered ${response.status} with a body that is not JSON; is ${this.baseUrl} the gateway?`,
          { cause: error },
        );
      }
    }
    if (response.ok) {
      if (body === undefined) {
        throw new ApprovalsNetworkError(
          'invalid_response',
          url,
          `${spec.method} ${url} answered ${response.status} without a body`,
        );
      }
      return { ok: true, body };
    }
    return {
      ok: false,
      error: ApprovalsApiError.fromBody(response.status, body, {
        requestId,
        retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
        statusText: response.statusText,
      }),
    };
  }

  async #requestHeaders(spec: CallSpec): Promise<Record<string, string>> {
    const extra = typeof this.#headers === 'function' ? await this.#headers() : (this.#headers ?? {});
    const headers: Record<string, string> = { accept: 'application/json', ...lowerCaseKeys(extra) };
    if (this.#userAgent) headers['user-agent'] = this.#userAgent;
    const token = typeof this.#token === 'function' ? await this.#token() : this.#token;
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (spec.body !== undefined) headers['content-type'] = 'application/json';
    return { ...headers, ...spec.headers };
  }

  #url(path: string, query: CallSpec['query']): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) params.set(key, String(value));
    }
    const search = params.toString();
    return `${this.baseUrl}${path}${search ? `?${search}` : ''}`;
  }
}

type Attempt = { ok: true; body: unknown } | { ok: false; error: ApprovalsApiError };

function normalizeBaseUrl(value: string | URL): string {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new TypeError(
      `baseUrl must be an absolute http(s) URL like http://127.0.0.1:8787 (got ${JSON.stringify(String(value))})`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(
      `baseUrl must be an absolute http(s) URL like http://127.0.0.1:8787 (got ${JSON.stringify(String(value))})`,
    );
  }
  if (url.username || url.password) {
    throw new TypeError('baseUrl must not contain credentials; pass the token option instead');
  }
  if (url.search || url.hash) {
    throw new TypeError(`baseUrl must not have a query or fragment (got ${url.search}${url.hash})`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function requestPath(id: string): string {
  if (typeof id !== 'string' || id.length === 0) {
    throw new TypeError('a request id is required, like ar_01JD3Z6Q0M8Y3W8T5V9K2N4P6R');
  }
  return `/v1/action-requests/${encodeURIComponent(id)}`;
}

function checkWait(seconds: number | undefined): number {
  if (seconds === undefined) return 0;
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_WAIT_SECONDS) {
    throw new RangeError(
      `waitSeconds must be a whole number from 0 to ${MAX_WAIT_SECONDS} (got ${seconds}); use waitForDecision to wait longer`,
    );
  }
  return seconds;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

function networkError(error: unknown, url: string, method: string, timedOut: boolean): ApprovalsNetworkError {
  if (timedOut) {
    return new ApprovalsNetworkError('timeout', url, `${method} ${url} did not answer in time`, {
      cause: error,
    });
  }
  const code: NetworkErrorCode = causeCodes(error).includes('ECONNREFUSED')
    ? 'connection_refused'
    : 'network_error';
  const reason = code === 'connection_refused' ? 'connection refused' : describeCause(error);
  return new ApprovalsNetworkError(code, url, `cannot reach the gateway at ${url} (${reason})`, {
    cause: error,
  });
}

/** System error codes anywhere in a fetch failure's cause chain (undici nests them, sometimes in an AggregateError). */
function causeCodes(error: unknown, depth = 0): string[] {
  if (depth > 5 || typeof error !== 'object' || error === null) return [];
  const record = error as { code?: unknown; cause?: unknown; errors?: unknown };
  const own = typeof record.code === 'string' ? [record.code] : [];
  const nested = Array.isArray(record.errors) ? record.errors.flatMap((e) => causeCodes(e, depth + 1)) : [];
  return [...own, ...nested, ...causeCodes(record.cause, depth + 1)];
}

function describeCause(error: unknown): string {
  const codes = causeCodes(error);
  if (codes.length > 0) return codes.join(', ');
  return error instanceof Error ? error.message : String(error);
}
