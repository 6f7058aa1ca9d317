// The test harness API. Tests import from here: `import { dynamoClient, uniqueName } from '../../harness/index.ts'`.
export {
  documentClient,
  dynamoClient,
  s3Client,
  sfnClient,
  streamsClient,
  stsClient,
} from './clients.ts';
export { dynamodbEndpoint, type HarnessContext, harnessContext, motoEndpoint } from './context.ts';
export {
  configureMoto,
  connectExisting,
  DEFAULT_DYNAMODB_JAVA_OPTS,
  type DynamoDbLocalOptions,
  type EmulatorHandle,
  type EmulatorKind,
  EmulatorStartError,
  MOTO_CONFIG,
  type MotoServerOptions,
  startDynamoDbLocal,
  startMotoServer,
} from './emulators.ts';
export { ENV, MOTO_ACCOUNT_ID, offlineAwsEnv, TEST_CREDENTIALS, TEST_REGION } from './env.ts';
export { isValidBucketName, uniqueName } from './names.ts';
export { HarnessPrerequisiteError } from './prereqs.ts';
export type { StopOptions } from './process.ts';
export { type WaitOptions, waitFor } from './wait.ts';
