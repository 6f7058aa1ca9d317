import { readFileSync } from 'node:fs';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks } from 'cdk-nag';
import { ApprovalsGatewayStack, type ApprovalsGatewayStackProps } from './approvals-stack.ts';
import { teamsBotFromContext } from './constructs/teams-bot.ts';

export interface GatewayAppOptions {
  /**
   * Region to deploy to; decides the partition (us-gov-* → aws-us-gov) and FIPS endpoints.
   * @default - context `region`, else CDK_DEFAULT_REGION, else us-east-1
   */
  readonly region?: string;
  /** @default - context `account`, else CDK_DEFAULT_ACCOUNT, else environment-agnostic */
  readonly account?: string;
  /** @default - context `stackName`, else 'AlaGateway' */
  readonly stackName?: string;
  /** Cloud assembly directory. @default - the CLI's, else a temporary directory */
  readonly outdir?: string;
  /** Extra context, e.g. `{'aws:cdk:bundling-stacks': []}` to skip bundling in tests. */
  readonly context?: Record<string, unknown>;
  readonly stackProps?: Omit<ApprovalsGatewayStackProps, 'env'>;
}

/** Context every synth gets; cdk.json sets the same for the CLI. */
export const APP_CONTEXT = {
  '@aws-cdk/core:target-partitions': ['aws', 'aws-us-gov'],
} as const;

function contextString(app: App, key: string): string | undefined {
  const value: unknown = app.node.tryGetContext(key);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(
      `context policyVerificationKey names ${path}, which cannot be read (${(error as NodeJS.ErrnoException).code}); give the path of the PEM public key`,
    );
  }
}

function contextNumber(app: App, key: string): number | undefined {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined) return undefined;
  const number = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(number))
    throw new Error(`context ${key} must be a number, got ${JSON.stringify(value)}`);
  return number;
}

function contextBoolean(app: App, key: string): boolean | undefined {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined) return undefined;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new Error(`context ${key} must be true or false, got ${JSON.stringify(value)}`);
}

/**
 * The CDK app: one gateway stack, checked by cdk-nag (AWS Solutions and NIST 800-53 rev 5) on
 * every synth. Findings fail the synth unless acknowledged with a reason where they arise.
 */
export function buildGatewayApp(options: GatewayAppOptions = {}): { app: App; stack: ApprovalsGatewayStack } {
  const app = new App({
    ...(options.outdir ? { outdir: options.outdir } : {}),
    context: { ...APP_CONTEXT, ...options.context },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new NIST80053R5Checks(app));
  const region =
    options.region ?? contextString(app, 'region') ?? process.env.CDK_DEFAULT_REGION ?? 'us-east-1';
  const account = options.account ?? contextString(app, 'account') ?? process.env.CDK_DEFAULT_ACCOUNT;
  const stackName = options.stackName ?? contextString(app, 'stackName') ?? 'AlaGateway';
  const retention = contextNumber(app, 'auditRetentionDays');
  const fips = contextBoolean(app, 'fips');
  const webAclArn = contextString(app, 'webAclArn');
  const breakGlass = contextString(app, 'auditBreakGlassRoleArn');
  const keyFile = contextString(app, 'policyVerificationKey');
  const policyDigest = contextString(app, 'policyDigest');
  const teams = teamsBotFromContext(app);
  const slackChannel = contextString(app, 'slackChannel');
  const slackSecretArn = contextString(app, 'slackSecretArn');
  const slackTeamId = contextString(app, 'slackTeamId');
  const webhookUrl = contextString(app, 'webhookUrl');
  const webhookSecretArn = contextString(app, 'webhookSecretArn');
  const stack = new ApprovalsGatewayStack(app, stackName, {
    env: { region, ...(account ? { account } : {}) },
    description: 'Action-Level Approvals gateway: policy-checked, human-approved agent actions with audit',
    ...(retention !== undefined ? { auditRetentionDays: retention } : {}),
    ...(fips !== undefined ? { fipsEndpoints: fips } : {}),
    ...(webAclArn ? { webAclArn } : {}),
    ...(breakGlass ? { auditBreakGlassRoleArn: breakGlass } : {}),
    ...(keyFile ? { policyVerificationKey: readKeyFile(keyFile) } : {}),
    ...(policyDigest ? { policyDigest } : {}),
    ...(teams ? { teams } : {}),
    ...(slackChannel
      ? {
          slack: {
            channel: slackChannel,
            ...(slackSecretArn ? { secretArn: slackSecretArn } : {}),
            ...(slackTeamId ? { teamId: slackTeamId } : {}),
          },
        }
      : {}),
    ...(webhookUrl
      ? { webhook: { url: webhookUrl, ...(webhookSecretArn ? { secretArn: webhookSecretArn } : {}) } }
      : {}),
    ...options.stackProps,
  });
  return { app, stack };
}
