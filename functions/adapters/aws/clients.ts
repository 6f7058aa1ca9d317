import type { SFNClient, SFNClientConfig } from '@aws-sdk/client-sfn';

/** What the gateway asks of a Step Functions client: `send` (an SFNClient is one). */
export type SfnSender = Pick<SFNClient, 'send'>;

/**
 * A Step Functions client whose hung calls fail instead of holding a Lambda until its timeout.
 * Region and FIPS come from the environment (AWS_REGION, AWS_USE_FIPS_ENDPOINT) unless given:
 * us-gov-west-1 serves Step Functions on FIPS endpoints only.
 *
 * The SDK package is loaded on the first `send`, not at import: the api function's auto-allowed
 * path never calls Step Functions, and loading the package is a measurable part of a cold start
 * (docs/decisions/0015-performance.md). A bundler leaves a dynamic import of it dynamic.
 */
export function createSfnClient(config: SFNClientConfig = {}): SfnSender {
  let client: Promise<SFNClient> | undefined;
  const made = () => {
    client ??= import('@aws-sdk/client-sfn').then(
      ({ SFNClient }) =>
        new SFNClient({
          maxAttempts: 3,
          requestHandler: { connectionTimeout: 1_000, requestTimeout: 5_000, throwOnRequestTimeout: true },
          ...config,
        }),
    );
    // A failed load is not kept: the next call tries again.
    client.catch(() => {
      client = undefined;
    });
    return client;
  };
  const send = async (command: Parameters<SFNClient['send']>[0]) => (await made()).send(command);
  // One implementation behind the SDK's overloads of `send`: each returns what the client returns.
  return { send: send as SFNClient['send'] };
}

/** The Step Functions commands, loaded with the package on first use (see createSfnClient). */
export function sfnCommands(): Promise<typeof import('@aws-sdk/client-sfn')> {
  return import('@aws-sdk/client-sfn');
}
