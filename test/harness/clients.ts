// AWS SDK clients pointed at the emulators, with dummy credentials: never a real AWS endpoint,
// profile or instance metadata service. Pass `{ endpoint }` to target an emulator of your own
// (startDynamoDbLocal()); any other field overrides the client's defaults.
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient, type DynamoDBStreamsClientConfig } from '@aws-sdk/client-dynamodb-streams';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { SFNClient, type SFNClientConfig } from '@aws-sdk/client-sfn';
import { STSClient, type STSClientConfig } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient, type TranslateConfig } from '@aws-sdk/lib-dynamodb';
import { dynamodbEndpoint, harnessContext, motoEndpoint } from './context.ts';
import { TEST_CREDENTIALS } from './env.ts';

interface CommonConfig {
  endpoint?: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  requestHandler: { connectionTimeout: number; requestTimeout: number };
}

/** Defaults; the shared emulator's endpoint unless the caller gives one. */
function common(config: { endpoint?: unknown }, sharedEndpoint: () => string): CommonConfig {
  return {
    ...(config.endpoint === undefined ? { endpoint: sharedEndpoint() } : {}),
    region: harnessContext().region,
    credentials: { ...TEST_CREDENTIALS },
    requestHandler: { connectionTimeout: 2000, requestTimeout: 30_000 },
  };
}

export function dynamoClient(config: DynamoDBClientConfig = {}): DynamoDBClient {
  return new DynamoDBClient({ ...common(config, dynamodbEndpoint), ...config });
}

/** lib-dynamodb document client (plain JS values) over dynamoClient(config). */
export function documentClient(
  config: DynamoDBClientConfig = {},
  translate: TranslateConfig = { marshallOptions: { removeUndefinedValues: true } },
): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(dynamoClient(config), translate);
}

/** DynamoDB Streams API of DynamoDB Local (same endpoint as the tables). */
export function streamsClient(config: DynamoDBStreamsClientConfig = {}): DynamoDBStreamsClient {
  return new DynamoDBStreamsClient({
    ...common(config, dynamodbEndpoint),
    ...config,
  });
}

/** S3 on moto, path-style (bucket names never become host names). */
export function s3Client(config: S3ClientConfig = {}): S3Client {
  return new S3Client({
    ...common(config, motoEndpoint),
    forcePathStyle: true,
    ...config,
  });
}

/** Step Functions on moto (state machines execute: global setup enables it). */
export function sfnClient(config: SFNClientConfig = {}): SFNClient {
  return new SFNClient({ ...common(config, motoEndpoint), ...config });
}

export function stsClient(config: STSClientConfig = {}): STSClient {
  return new STSClient({ ...common(config, motoEndpoint), ...config });
}
