/**
 * Emulation of the Lambda service for the approval state machine on moto (docs/decisions/0002).
 *
 * moto executes the synthesized definition but cannot run Lambda code without Docker: its Lambda
 * invoke just echoes the payload. This driver stands in for Lambda. It polls the running
 * executions' histories for new `TaskScheduled` events of `lambda:invoke[.waitForTaskToken]`, takes
 * the payload Step Functions resolved (task token included), and invokes our handler in-process —
 * the same handler code Lambda runs — then answers as Lambda would:
 *
 * - `invoke.waitForTaskToken` (Notify, Escalate): Lambda runs the function and the task keeps
 *   waiting for the callback. A function error fails the task; the driver reports it with
 *   SendTaskFailure on the task token from the payload.
 * - plain `invoke` (Expire, Finalize): Lambda answers synchronously. moto cannot wait for us, so
 *   `prepareDefinitionForDriver` turns these tasks into `.waitForTaskToken` tasks whose payload
 *   wraps the original (`{event, lambda_driver: {task_token}}`); the driver answers with
 *   SendTaskSuccess `{Payload: <handler result>, StatusCode: 200}` — the shape of a Lambda invoke
 *   result — or SendTaskFailure with the error's name, as Lambda reports `errorType`.
 *
 * Faults can be injected per stage: a Lambda service error (the function never runs) or a function
 * error (the handler is not called; the task fails with that error name).
 */
import {
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import type { Context } from 'aws-lambda';
import type { AslState, StateMachineDefinition } from '../../slow/cdk/synth.ts';

export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

export interface Invocation {
  readonly executionArn: string;
  readonly stage: string;
  readonly requestId: string;
  readonly mode: 'callback' | 'sync';
  readonly at: number;
  /** What the handler returned, or the error name it (or an injected fault) failed with. */
  readonly outcome: { readonly result: unknown } | { readonly error: string };
}

const PLAIN_INVOKE = /^arn:aws[a-z-]*:states:::lambda:invoke$/;
const CALLBACK_INVOKE = /^arn:aws[a-z-]*:states:::lambda:invoke\.waitForTaskToken$/;
const DRIVER_KEY = 'lambda_driver';

/**
 * The synthesized definition with each plain `lambda:invoke` task made to wait for the driver's
 * answer (see the module comment). Nothing else changes: states, paths, Retry, Catch, timeouts.
 */
export function prepareDefinitionForDriver(definition: StateMachineDefinition): StateMachineDefinition {
  const states: Record<string, AslState> = {};
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type !== 'Task' || !state.Resource || !PLAIN_INVOKE.test(state.Resource)) {
      states[name] = state;
      continue;
    }
    const parameters = state.Parameters ?? {};
    const { Payload: payload, 'Payload.$': payloadPath, ...rest } = parameters;
    const event = payloadPath !== undefined ? { 'event.$': payloadPath } : { event: payload ?? {} };
    states[name] = {
      ...state,
      Resource: `${state.Resource}.waitForTaskToken`,
      Parameters: { ...rest, Payload: { ...event, [DRIVER_KEY]: { 'task_token.$': '$$.Task.Token' } } },
    };
  }
  return { ...definition, States: states };
}

interface Fault {
  readonly error: string;
  remaining: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class LambdaDriver {
  readonly invocations: Invocation[] = [];
  readonly #sfn: SFNClient;
  readonly #stateMachineArn: string;
  readonly #handler: LambdaHandler;
  readonly #functionArn: string;
  readonly #handled = new Set<string>();
  readonly #faults = new Map<string, Fault>();
  readonly #held = new Map<string, { release: Promise<void> }>();
  readonly #errors: unknown[] = [];
  #running = false;
  #loop: Promise<void> | undefined;

  constructor(options: {
    sfn: SFNClient;
    stateMachineArn: string;
    functionArn: string;
    handler: LambdaHandler;
  }) {
    this.#sfn = options.sfn;
    this.#stateMachineArn = options.stateMachineArn;
    this.#functionArn = options.functionArn;
    this.#handler = options.handler;
  }

  start(intervalMs = 50): void {
    this.#running = true;
    this.#loop = (async () => {
      while (this.#running) {
        try {
          await this.#poll();
        } catch (error) {
          this.#errors.push(error);
        }
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    })();
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    if (this.#errors.length > 0) {
      throw new AggregateError(this.#errors, `the Lambda driver failed ${this.#errors.length} time(s)`);
    }
  }

  /** The next `times` invocations of `stage` fail with `error` instead of running the handler. */
  inject(stage: string, error: string, times = 1): void {
    this.#faults.set(stage, { error, remaining: times });
  }

  /** Invocations of `stage` for `requestId` wait until `release` resolves (to stage a race). */
  hold(stage: string, requestId: string, release: Promise<void>): void {
    this.#held.set(`${stage}:${requestId}`, { release });
  }

  invocationsOf(requestId: string): Invocation[] {
    return this.invocations.filter((i) => i.requestId === requestId);
  }

  async #poll(): Promise<void> {
    const running: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.#sfn.send(
        new ListExecutionsCommand({
          stateMachineArn: this.#stateMachineArn,
          statusFilter: 'RUNNING',
          ...(nextToken ? { nextToken } : {}),
        }),
      );
      for (const execution of page.executions ?? [])
        if (execution.executionArn) running.push(execution.executionArn);
      nextToken = page.nextToken;
    } while (nextToken);
    await Promise.all(running.map((arn) => this.#scan(arn)));
  }

  async #scan(executionArn: string): Promise<void> {
    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.#sfn.send(
        new GetExecutionHistoryCommand({
          executionArn,
          maxResults: 1000,
          ...(nextToken ? { nextToken } : {}),
        }),
      );
      events.push(...(page.events ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    for (const event of events) {
      if (event.type !== 'TaskScheduled') continue;
      const details = event.taskScheduledEventDetails;
      if (details?.resourceType !== 'lambda') continue;
      const key = `${executionArn}#${event.id}`;
      if (this.#handled.has(key)) continue;
      this.#handled.add(key);
      // Each invocation runs on its own, as concurrent Lambda invocations would.
      void this.#invoke(executionArn, details.resource ?? '', details.parameters ?? '{}').catch(
        (error: unknown) => this.#errors.push(error),
      );
    }
  }

  async #invoke(executionArn: string, resource: string, rawParameters: string): Promise<void> {
    const parameters: unknown = JSON.parse(rawParameters);
    if (!isRecord(parameters))
      throw new Error(`TaskScheduled parameters are not an object: ${rawParameters}`);
    let payload: unknown = parameters.Payload;
    if (typeof payload === 'string') payload = JSON.parse(payload);
    if (!isRecord(payload)) throw new Error(`lambda task payload is not an object: ${rawParameters}`);
    if (!CALLBACK_INVOKE.test(`arn:aws:states:::lambda:${resource}`)) {
      throw new Error(
        `unexpected lambda resource ${resource}: the driver needs every task waiting for a token`,
      );
    }
    const driver = payload[DRIVER_KEY];
    const sync = isRecord(driver);
    const event = sync ? payload.event : payload;
    const token = sync ? driver.task_token : isRecord(event) ? event.task_token : undefined;
    if (typeof token !== 'string') throw new Error(`no task token in the lambda payload: ${rawParameters}`);
    const stage = isRecord(event) && typeof event.stage === 'string' ? event.stage : '(none)';
    const requestId = isRecord(event) && typeof event.request_id === 'string' ? event.request_id : '(none)';
    const record = (outcome: Invocation['outcome']) =>
      this.invocations.push({
        executionArn,
        stage,
        requestId,
        mode: sync ? 'sync' : 'callback',
        at: Date.now(),
        outcome,
      });

    const held = this.#held.get(`${stage}:${requestId}`);
    if (held) await held.release;

    const fault = this.#faults.get(stage);
    if (fault && fault.remaining > 0) {
      fault.remaining -= 1;
      record({ error: fault.error });
      await this.#fail(token, fault.error, `injected by the test's Lambda driver`);
      return;
    }
    let result: unknown;
    try {
      result = await this.#handler(event, this.#context());
    } catch (error) {
      const name = error instanceof Error ? error.name : 'Error';
      const message = error instanceof Error ? error.message : String(error);
      record({ error: name });
      await this.#fail(token, name, JSON.stringify({ errorType: name, errorMessage: message }));
      return;
    }
    record({ result });
    if (sync) {
      await this.#answer(
        new SendTaskSuccessCommand({
          taskToken: token,
          output: JSON.stringify({ ExecutedVersion: '$LATEST', Payload: result ?? null, StatusCode: 200 }),
        }),
      );
    }
  }

  async #fail(taskToken: string, error: string, cause: string): Promise<void> {
    await this.#answer(new SendTaskFailureCommand({ taskToken, error, cause }));
  }

  /** A task that timed out meanwhile no longer takes answers; Lambda's result would be dropped too. */
  async #answer(command: SendTaskSuccessCommand | SendTaskFailureCommand): Promise<void> {
    try {
      await this.#sfn.send(command as SendTaskSuccessCommand);
    } catch (error) {
      if (error instanceof Error && ['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'].includes(error.name))
        return;
      throw error;
    }
  }

  /** What Lambda passes as the context: the function's identity and its remaining time (30 s). */
  #context(): Context {
    const deadline = Date.now() + 30_000;
    const functionName = this.#functionArn.split(':').at(-1) ?? 'workflow';
    const legacy = (): never => {
      throw new Error('context.done/fail/succeed are not used by this project');
    };
    return {
      callbackWaitsForEmptyEventLoop: true,
      functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: this.#functionArn,
      memoryLimitInMB: '512',
      awsRequestId: crypto.randomUUID(),
      logGroupName: `/aws/lambda/${functionName}`,
      logStreamName: 'lambda-driver',
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: legacy,
      fail: legacy,
      succeed: legacy,
    };
  }
}
