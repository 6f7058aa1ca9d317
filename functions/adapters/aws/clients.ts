import { SFNClient, type SFNClientConfig } from '@aws-sdk/client-sfn';

/**
 * A Step Functions client whose hung calls fail instead of holding a Lambda until its timeout.
 * Region and FIPS come from the environment (AWS_REGION, AWS_USE_FIPS_ENDPOINT) unless given:
 * us-gov-west-1 serves Step Functions on FIPS endpoints only.
 */
export function createSfnClient(config: SFNClientConfig = {}): SFNClient {
  return new SFNClient({
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 5_000, throwOnRequestTimeout: true },
    ...config,
  });
}
