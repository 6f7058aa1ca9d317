import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';

/**
 * A DynamoDB client whose hung requests fail (and so surface as a retryable 503) instead of holding
 * a Lambda or a long-poll until its own timeout. Partition, region and FIPS come from the
 * environment (AWS_REGION, AWS_USE_FIPS_ENDPOINT) unless given.
 */
export function createDynamoDbClient(config: DynamoDBClientConfig = {}): DynamoDBClient {
  return new DynamoDBClient({
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 5_000, throwOnRequestTimeout: true },
    ...config,
  });
}
