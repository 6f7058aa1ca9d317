/**
 * The approval state machine's definition, read from the CDK construct that deploys it, and the
 * states an execution enters on each path: the capacity model counts state transitions and
 * workflow-function invocations from here, not from hand-typed constants.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { ApprovalStateMachine } from '../../cdk/constructs/approval-state-machine.ts';

interface AslCatch {
  readonly ErrorEquals: readonly string[];
  readonly Next: string;
}
interface AslChoice {
  readonly Variable?: string;
  readonly BooleanEquals?: boolean;
  readonly Next: string;
}
export interface AslState {
  readonly Type: string;
  readonly Next?: string;
  readonly End?: boolean;
  readonly Resource?: string;
  readonly Catch?: readonly AslCatch[];
  readonly Choices?: readonly AslChoice[];
  readonly Default?: string;
}
export interface AslDefinition {
  readonly StartAt: string;
  readonly States: Readonly<Record<string, AslState>>;
}

/**
 * The definition as CloudFormation receives it. References to other resources (the function ARN,
 * the partition) are replaced by a placeholder: only the states and their edges matter here.
 */
export function approvalDefinition(): AslDefinition {
  const stack = new Stack(new App(), 'CapacityModel', {
    env: { account: '123456789012', region: 'us-east-1' },
  });
  const fn = lambda.Function.fromFunctionArn(
    stack,
    'Workflow',
    'arn:aws:lambda:us-east-1:123456789012:function:workflow',
  );
  const machine = new ApprovalStateMachine(stack, 'Approvals', {
    workflowFunction: fn,
    logKey: new kms.Key(stack, 'Key'),
    logRetention: logs.RetentionDays.ONE_YEAR,
  });
  const resource = machine.stateMachine.node.defaultChild as sfn.CfnStateMachine;
  const rendered = stack.resolve(resource.definitionString) as unknown;
  return JSON.parse(flatten(rendered)) as AslDefinition;
}

function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map((part) => (typeof part === 'string' ? part : 'REF')).join(join[0]);
  throw new Error(`unexpected state machine definition: ${JSON.stringify(value).slice(0, 200)}`);
}

/**
 * How one execution goes: what each Task ends with (`success`, or an error name such as
 * `States.Timeout`) and which way each Choice goes (`true`/`false` of its boolean test). A state
 * not named ends in success; a Choice not named takes its default.
 */
export interface ExecutionPath {
  readonly outcomes?: Readonly<Record<string, string>>;
  readonly choices?: Readonly<Record<string, boolean>>;
}

export interface PathCount {
  /** States entered, each one billed state transition (Step Functions pricing: one per step executed). */
  readonly transitions: number;
  /** Task states that invoke a Lambda function: workflow-function invocations. */
  readonly lambdaInvocations: number;
  /** Tasks that wait for a task token (each stores one token item, and a decision resumes it). */
  readonly waitingTasks: number;
  readonly states: readonly string[];
}

/** Walks `path` through `definition` from StartAt to an end state. Retries are not counted. */
export function walk(definition: AslDefinition, path: ExecutionPath): PathCount {
  const states: string[] = [];
  let invocations = 0;
  let waiting = 0;
  let name: string | undefined = definition.StartAt;
  while (name !== undefined) {
    const state: AslState | undefined = definition.States[name];
    if (!state) throw new Error(`the state machine has no state "${name}"`);
    if (states.length > 100) throw new Error(`path ${JSON.stringify(path)} loops at "${name}"`);
    states.push(name);
    if (state.Type === 'Task' && state.Resource?.includes('lambda:invoke')) invocations += 1;
    if (state.Type === 'Task' && state.Resource?.endsWith('.waitForTaskToken')) waiting += 1;
    name = next(name, state, path);
  }
  return { transitions: states.length, lambdaInvocations: invocations, waitingTasks: waiting, states };
}

function next(name: string, state: AslState, path: ExecutionPath): string | undefined {
  switch (state.Type) {
    case 'Choice': {
      const wanted = path.choices?.[name];
      const match = state.Choices?.find((c) => wanted !== undefined && c.BooleanEquals === wanted);
      return match?.Next ?? state.Default;
    }
    case 'Task': {
      const outcome = path.outcomes?.[name] ?? 'success';
      if (outcome === 'success') return state.End ? undefined : state.Next;
      const handler = state.Catch?.find(
        (c) => c.ErrorEquals.includes(outcome) || c.ErrorEquals.includes('States.ALL'),
      );
      if (!handler) throw new Error(`task "${name}" has no Catch for ${outcome}`);
      return handler.Next;
    }
    case 'Succeed':
    case 'Fail':
      return undefined;
    default:
      return state.End ? undefined : state.Next;
  }
}
