/**
 * Helpers for agent frameworks: run a tool's body only once the gateway has approved exactly that
 * action, and give the model the gateway's own words when it has not.
 */
import type { ApprovalsClient } from './client.ts';
import { ActionNotApprovedError, type NotApprovedStatus } from './errors.ts';
import type { ActionRequestInput, ActionRequestView, GrantCredentials, GrantView } from './types.ts';

/** What the guarded function receives: the approved request and its one-shot grant. */
export interface ApprovedAction {
  readonly request: ActionRequestView;
  readonly grant: GrantView;
  /** Scoped credentials for `aws_sts` grants; absent for `none`. Keep them in memory only. */
  readonly credentials?: GrantCredentials;
}

export interface WithApprovalOptions {
  /**
   * Identifies this attempt, so a retried or resumed tool call finds its request instead of asking
   * again. Use the framework's tool call id, prefixed with something unique to the run.
   * @default - a random UUID (every call is a new request)
   */
  readonly idempotencyKey?: string;
  /**
   * How long to wait for a human decision before giving up with `ActionNotApprovedError`
   * (status `pending`; the request stays open and humans may still decide).
   * @default 900000 (15 minutes)
   */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Called once when the request needs a human, e.g. to tell the user who must approve. */
  readonly onPending?: (request: ActionRequestView) => void;
  /**
   * Turns an error thrown by the guarded function into the outcome `detail` recorded in the audit
   * trail. Keep secrets out of it.
   * @default - the error's message
   */
  readonly describeFailure?: (error: unknown) => string;
  /**
   * Called when the outcome could not be reported. The action has run by then, so this never
   * turns its result into a failure.
   * @default - ignored
   */
  readonly onOutcomeReportFailed?: (error: unknown) => void;
}

const DEFAULT_TIMEOUT_MS = 15 * 60_000;

/**
 * Submits the action, waits for the decision, and runs `fn` only when it is approved, passing the
 * redeemed grant. Reports `succeeded` when `fn` resolves and `failed` when it throws (and rethrows).
 * Anything but approval throws `ActionNotApprovedError`, whose message is the gateway's
 * `agent_message`: return it to the model as the tool result.
 */
export async function withApproval<T>(
  client: ApprovalsClient,
  describe: ActionRequestInput | (() => ActionRequestInput | Promise<ActionRequestInput>),
  fn: (approved: ApprovedAction) => T | Promise<T>,
  options: WithApprovalOptions = {},
): Promise<T> {
  const input = typeof describe === 'function' ? await describe() : describe;
  const signal = options.signal;
  let announced = false;
  const request = await client.requestAndWait(input, {
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
    ...(signal ? { signal } : {}),
    onUpdate: (view) => {
      if (view.status === 'pending' && !announced) {
        announced = true;
        options.onPending?.(view);
      }
    },
  });
  assertApproved(request);

  const grant = await client.redeem(request.id, signal ? { signal } : {});
  let result: T;
  try {
    result = await fn({ request, grant, ...(grant.credentials ? { credentials: grant.credentials } : {}) });
  } catch (error) {
    const detail =
      options.describeFailure?.(error) ?? (error instanceof Error ? error.message : String(error));
    await report(client, request.id, 'failed', detail, options);
    throw error;
  }
  await report(client, request.id, 'succeeded', undefined, options);
  return result;
}

/**
 * For frameworks that pause a run while a tool call awaits approval (OpenAI Agents SDK
 * `needsApproval`): submits the action and answers `true` while humans still have to decide.
 * The same `idempotencyKey` must be given to `withApproval` in the tool's `execute`, which then
 * finds this request rather than creating another.
 */
export async function needsApproval(
  client: ApprovalsClient,
  input: ActionRequestInput,
  options: { readonly idempotencyKey: string; readonly signal?: AbortSignal },
): Promise<boolean> {
  const request = await client.request(input, options);
  return request.status === 'pending';
}

/** Throws `ActionNotApprovedError` (message: the `agent_message`) unless the request is approved. */
export function assertApproved(
  request: ActionRequestView,
): asserts request is ActionRequestView & { status: 'approved' } {
  if (request.status !== 'approved') {
    throw new ActionNotApprovedError(request as ActionRequestView & { status: NotApprovedStatus });
  }
}

async function report(
  client: ApprovalsClient,
  id: string,
  status: 'succeeded' | 'failed',
  detail: string | undefined,
  options: WithApprovalOptions,
): Promise<void> {
  try {
    await client.reportOutcome(id, status, detail);
  } catch (error) {
    options.onOutcomeReportFailed?.(error);
  }
}
