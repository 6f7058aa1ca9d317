/** What API Gateway hands the api Lambda: a REST API (v1) proxy event after AWS_IAM authorization. */
import type { LambdaContext, LambdaEvent } from 'hono/aws-lambda';
import { MOTO_ACCOUNT_ID, TEST_REGION } from '../../harness/index.ts';

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
