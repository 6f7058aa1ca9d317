/**
 * Framework-native approvals: the gateway answers the approval hooks of agent frameworks (OpenAI
 * Agents SDK `needsApproval` and interruptions, Vercel AI SDK tool approval, LangGraph
 * `interrupt()`), so a run pauses while humans decide instead of blocking inside a tool.
 *
 * Typed structurally: this package imports no framework (it has no dependencies); each helper
 * accepts anything shaped like what the framework hands out (docs/decisions/0008).
 */
import { type ApprovedAction, withApproval } from './approval.ts';
import type { ApprovalsClient } from './client.ts';
import { ActionNotApprovedError } from './errors.ts';
import type { ActionRequestInput, ActionRequestView } from './types.ts';

export interface ToolApprovalsOptions {
  /**
   * Unique to this agent run or conversation: with the framework's tool call id it makes the
   * idempotency key, so a resumed or retried call finds its request instead of asking twice.
   */
  readonly sessionId: string;
  /**
   * How long `decide` waits for the humans before answering with the request still pending.
   * @default 900000 (15 minutes)
   */
  readonly timeoutMs?: number;
}

/** What `run` does when the gateway did not approve: the model reads `error.message` (the agent_message). */
export type NotApprovedHandler<T> = (error: ActionNotApprovedError) => T;

/**
 * One gateway request per framework tool call, keyed by the call id: `needsApproval` submits it,
 * `decide` waits for its decision (to resume the paused run), `run` executes the tool body only
 * for an approved request, once, with its one-shot grant, and reports the outcome.
 */
export class ToolApprovals {
  readonly #client: ApprovalsClient;
  readonly #sessionId: string;
  readonly #timeoutMs: number;
  readonly #requests = new Map<string, string>();

  constructor(client: ApprovalsClient, options: ToolApprovalsOptions) {
    if (!options.sessionId) throw new TypeError('ToolApprovals needs a sessionId unique to the run');
    this.#client = client;
    this.#sessionId = options.sessionId;
    this.#timeoutMs = options.timeoutMs ?? 15 * 60_000;
  }

  /** The gateway's idempotency key of a tool call. */
  key(callId: string): string {
    return `${this.#sessionId}:${callId}`;
  }

  /**
   * Submits the call's request; true when the policy wants humans to decide (the run should pause
   * and resume with `decide`). Stays true once they decided: frameworks ask again when resuming
   * (the AI SDK treats a call that no longer needs approval as not approved).
   */
  async needsApproval(
    input: ActionRequestInput,
    callId: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<boolean> {
    const view = await this.submit(input, callId, options);
    return view.decision.outcome === 'require_approval';
  }

  /** Submits the call's request (the same call again finds the same request) and answers it. */
  async submit(
    input: ActionRequestInput,
    callId: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<ActionRequestView> {
    const view = await this.#client.request(input, {
      idempotencyKey: this.key(callId),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    this.#requests.set(callId, view.id);
    return view;
  }

  /**
   * Waits for the decision on the call's request. Pass `input` when this process did not submit
   * it (a run resumed elsewhere): the idempotency key finds the same request.
   */
  async decide(
    callId: string,
    input?: ActionRequestInput,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<ActionRequestView> {
    let id = this.#requests.get(callId);
    if (id === undefined) {
      if (!input) {
        throw new Error(
          `no gateway request is known for tool call ${callId} in this process; pass its ActionRequestInput to find it`,
        );
      }
      id = (await this.submit(input, callId, options.signal ? { signal: options.signal } : {})).id;
    }
    return this.#client.waitForDecision(id, {
      timeoutMs: options.timeoutMs ?? this.#timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /**
   * Runs `fn` only if the call's request is approved: redeems the grant (once), runs, reports the
   * outcome. Not approved: `onNotApproved(error)` if given, else `ActionNotApprovedError` is thrown.
   */
  async run<T, U = never>(
    input: ActionRequestInput,
    callId: string,
    fn: (approved: ApprovedAction) => T | Promise<T>,
    options: { onNotApproved?: NotApprovedHandler<U>; signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<T | U> {
    try {
      return await withApproval(this.#client, input, fn, {
        idempotencyKey: this.key(callId),
        timeoutMs: options.timeoutMs ?? this.#timeoutMs,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      if (error instanceof ActionNotApprovedError && options.onNotApproved)
        return options.onNotApproved(error);
      throw error;
    } finally {
      this.#requests.delete(callId);
    }
  }
}

// --- OpenAI Agents SDK -------------------------------------------------------------------------

/** Shaped like `RunToolApprovalItem` of `@openai/agents`. */
export interface AgentsApprovalItem {
  readonly rawItem: { readonly callId?: string | null | undefined } | object;
}

/** Shaped like a run result of `@openai/agents`: its interruptions and its `RunState`. */
export interface AgentsRunResultLike<I extends AgentsApprovalItem> {
  readonly interruptions?: readonly I[] | undefined;
  readonly state: {
    approve(item: I): void;
    reject(item: I, options?: { message?: string }): void;
  };
}

/**
 * Resolves a paused run's interruptions with the gateway's decisions: approves the approved
 * calls, rejects the others with the gateway's `agent_message` as the text the model reads.
 * Interruptions of calls the gateway was not asked about are left alone and returned.
 */
export async function resolveAgentsInterruptions<I extends AgentsApprovalItem>(
  approvals: ToolApprovals,
  result: AgentsRunResultLike<I>,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<I[]> {
  const untouched: I[] = [];
  for (const item of result.interruptions ?? []) {
    const callId = 'callId' in item.rawItem ? item.rawItem.callId : undefined;
    if (!callId) {
      untouched.push(item);
      continue;
    }
    let view: ActionRequestView;
    try {
      view = await approvals.decide(callId, undefined, options);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('no gateway request is known')) {
        untouched.push(item);
        continue;
      }
      throw error;
    }
    if (view.status === 'approved') result.state.approve(item);
    else if (view.status === 'pending') untouched.push(item);
    else result.state.reject(item, { message: view.agent_message });
  }
  return untouched;
}

// --- Vercel AI SDK -----------------------------------------------------------------------------

/** Shaped like a `tool-approval-request` content part of the AI SDK. */
export interface AiSdkApprovalRequest {
  readonly type: 'tool-approval-request';
  readonly approvalId: string;
  readonly toolCall: { readonly toolCallId: string };
}

/** The AI SDK's `tool-approval-response` part, answered by the gateway. */
export interface AiSdkApprovalResponse {
  type: 'tool-approval-response';
  approvalId: string;
  approved: boolean;
  reason?: string;
}

/**
 * The `tool` message answering a generation's approval requests with the gateway's decisions
 * (waiting for them), to append to the messages of the next `generateText`/`streamText` call.
 * A denial's reason is the gateway's `agent_message`. Undefined when nothing asked for approval.
 */
export async function aiSdkApprovalResponses(
  approvals: ToolApprovals,
  content: readonly { readonly type: string }[],
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<{ role: 'tool'; content: AiSdkApprovalResponse[] } | undefined> {
  const requests = content.filter(
    (part): part is AiSdkApprovalRequest => part.type === 'tool-approval-request',
  );
  if (requests.length === 0) return undefined;
  const responses: AiSdkApprovalResponse[] = [];
  for (const part of requests) {
    const view = await approvals.decide(part.toolCall.toolCallId, undefined, options);
    responses.push({
      type: 'tool-approval-response',
      approvalId: part.approvalId,
      approved: view.status === 'approved',
      ...(view.status === 'approved' ? {} : { reason: view.agent_message }),
    });
  }
  return { role: 'tool', content: responses };
}

// --- LangGraph JS ------------------------------------------------------------------------------

/** The value a LangGraph node passes to `interrupt()` while the gateway's approvers decide. */
export interface GatewayInterrupt {
  readonly kind: 'gateway_approval';
  readonly request_id: string;
  readonly call_id: string;
  readonly action: string;
  readonly agent_message: string;
}

/**
 * For a LangGraph node: submits the call's request and answers the value to call `interrupt()`
 * with when the policy wants humans to decide, or undefined when it decided alone (no pause). The
 * node calls `interrupt()` again when resumed (it then returns the resume value at once), so this
 * answers the same after the humans decided.
 */
export async function gatewayInterrupt(
  approvals: ToolApprovals,
  input: ActionRequestInput,
  callId: string,
): Promise<GatewayInterrupt | undefined> {
  const view = await approvals.submit(input, callId);
  if (view.decision.outcome !== 'require_approval') return undefined;
  return {
    kind: 'gateway_approval',
    request_id: view.id,
    call_id: callId,
    action: view.action.name,
    agent_message: view.agent_message,
  };
}

/** Whether a LangGraph interrupt value is one of `gatewayInterrupt`'s. */
export function isGatewayInterrupt(value: unknown): value is GatewayInterrupt {
  return (
    typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'gateway_approval'
  );
}
