import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_POLICY_VERIFICATION_KEY, REPO_ROOT } from '../../../cdk/paths.ts';
import type { TableNames } from '../../../functions/adapters/dynamodb/tables.ts';
import { dynamodbEndpoint, motoEndpoint, TEST_REGION } from '../../harness/index.ts';

/** What the stack sets on the functions, pointed at the emulators; apply before importing a handler. */
export function applyStackEnvironment(tables: TableNames, stateMachineArn: string): void {
  Object.assign(process.env, {
    REQUESTS_TABLE_NAME: tables.requests,
    AUDIT_TABLE_NAME: tables.audit,
    STATE_MACHINE_ARN: stateMachineArn,
    POLICY_DIR: join(REPO_ROOT, 'policies', 'build'),
    // The stack's default: the demo key the committed bundle is signed with.
    POLICY_VERIFICATION_KEY: readFileSync(DEMO_POLICY_VERIFICATION_KEY, 'utf8'),
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    AWS_REGION: TEST_REGION,
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'test',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
    AWS_ENDPOINT_URL_DYNAMODB: dynamodbEndpoint(),
    AWS_ENDPOINT_URL_SFN: motoEndpoint(),
  });
}
