/**
 * The api Lambda as API Gateway drives it: a REST API (v1) proxy event after AWS_IAM authorization,
 * and the stack's handlers loaded for a test.
 */
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { Context } from 'aws-lambda';
import type { LambdaContext, LambdaEvent } from 'hono/aws-lambda';
import { MOTO_ACCOUNT_ID, TEST_REGION } from '../../harness/index.ts';
import { LambdaDriver } from './lambda-driver.ts';
import type { MotoStateMachine } from './moto-state-machine.ts';

export type ApiHandler = (
  event: LambdaEvent,
  context: LambdaContext,
) => Promise<{ statusCode: number; body: string; headers?: Record<string, string | string[]> }>;

/** A proxy event for `method path`, signed by `userArn` (none: an unsigned call). */
export function apiEvent(
  method: string,
  path: string,
  options: { body?: unknown; userArn?: string | null } = {},
): LambdaEvent {
  const body = options.body === undefined ? null : JSON.stringify(options.body);
  const headers: Record<string, string> = {
    host: 'api.example',
    ...(body ? { 'content-type': 'application/json' } : {}),
  };
  return {
    version: '1.0',
    resource: '/{proxy+}',
    path,
    httpMethod: method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: undefined,
    body,
    isBase64Encoded: false,
    requestContext: {
      accountId: MOTO_ACCOUNT_ID,
      apiId: 'testapi',
      authorizer: {},
      domainName: 'api.example',
      domainPrefix: 'api',
      extendedRequestId: 'ext',
      httpMethod: method,
      identity: {
        sourceIp: '127.0.0.1',
        userAgent: 'vitest',
        ...(options.userArn ? { userArn: options.userArn, caller: 'AROAEXAMPLE:session-1' } : {}),
      },
      path: `/prod${path}`,
      protocol: 'HTTP/1.1',
      requestId: crypto.randomUUID(),
      requestTime: new Date().toUTCString(),
      requestTimeEpoch: Date.now(),
      resourcePath: '/{proxy+}',
      stage: 'prod',
    },
  } as LambdaEvent;
}

export const lambdaContext = {
  functionName: 'ala-api',
  awsRequestId: 'req-1',
  invokedFunctionArn: `arn:aws:lambda:${TEST_REGION}:${MOTO_ACCOUNT_ID}:function:ala-api`,
  getRemainingTimeInMillis: () => 29_000,
} as unknown as LambdaContext;

/**
 * The stack's api and workflow handlers, imported once the stack environment is set (they read it at
 * module load), with a driver that runs the workflow function for the state machine on moto.
 */
export async function startStackHandlers(options: {
  readonly sfn: SFNClient;
  readonly machine: MotoStateMachine;
}): Promise<{ api: ApiHandler; driver: LambdaDriver }> {
  const apiModule = await import('../../../functions/handlers/api.ts');
  const workflowModule = await import('../../../functions/handlers/workflow.ts');
  const driver = new LambdaDriver({
    sfn: options.sfn,
    stateMachineArn: options.machine.stateMachineArn,
    functionArn: options.machine.functionArn,
    handler: (event, context: Context) => workflowModule.handler(event, context),
  });
  driver.start();
  return { api: (event, context) => apiModule.handler(event, context), driver };
}
