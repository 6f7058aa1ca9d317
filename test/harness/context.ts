// What global setup hands to tests: vitest provide/inject, mirrored in environment variables.
import { inject } from 'vitest';
import { ENV, TEST_REGION } from './env.ts';

export interface HarnessContext {
  /** Shared DynamoDB Local endpoint, or undefined when not started (ALA_TEST_EMULATORS). */
  dynamodbEndpoint: string | undefined;
  /** Shared moto server endpoint (Step Functions, S3, STS, SQS…), or undefined when not started. */
  motoEndpoint: string | undefined;
  region: string;
  runId: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    alaHarness: HarnessContext;
  }
}

function fromInject(): HarnessContext | undefined {
  try {
    return inject('alaHarness');
  } catch {
    return undefined; // not inside a vitest worker (scripts, child processes)
  }
}

/** The endpoints of the shared emulators: from vitest's inject(), else from the environment. */
export function harnessContext(): HarnessContext {
  const injected = fromInject();
  if (injected !== undefined) return injected;
  return {
    dynamodbEndpoint: process.env[ENV.dynamodbEndpoint],
    motoEndpoint: process.env[ENV.motoEndpoint],
    region: process.env[ENV.region] ?? TEST_REGION,
    runId: process.env[ENV.runId] ?? 'unknown',
  };
}

function missing(what: string, variable: string): Error {
  return new Error(
    `${what} endpoint not available: run this test in the vitest "integration" project (its global setup starts the emulators; check ${ENV.emulators}) or set ${variable}`,
  );
}

export function dynamodbEndpoint(): string {
  const endpoint = harnessContext().dynamodbEndpoint;
  if (endpoint === undefined) throw missing('DynamoDB Local', ENV.dynamodbEndpoint);
  return endpoint;
}

export function motoEndpoint(): string {
  const endpoint = harnessContext().motoEndpoint;
  if (endpoint === undefined) throw missing('moto server', ENV.motoEndpoint);
  return endpoint;
}
