/**
 * One template for commercial AWS and GovCloud: partition-agnostic ARNs, REGIONAL endpoint, FIPS
 * endpoints in GovCloud, and both templates clean under cfn-lint for their region.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApprovalsGatewayStack } from '../../../cdk/approvals-stack.ts';
import { TOOLS_DIR } from '../../harness/env.ts';
import {
  type CfnTemplate,
  COMMERCIAL_REGION,
  GOVCLOUD_REGION,
  property,
  readViolations,
  resourcesOfType,
  SYNTH_TIMEOUT_MS,
  type Synthesized,
  synthGateway,
} from './synth.ts';

const run = promisify(execFile);
const CFN_LINT = join(TOOLS_DIR, 'bin', 'cfn-lint');
/**
 * W3005 ("dependency already enforced by GetAtt"): CDK adds an explicit DependsOn from each
 * function and the state machine to its role; redundant with the GetAtt, harmless.
 */
const IGNORED_CFN_LINT_CHECKS = ['W3005'];

interface CfnLintFinding {
  readonly Rule: { readonly Id: string };
  readonly Message: string;
  readonly Location?: { readonly Path?: readonly (string | number)[] };
}

async function cfnLint(templatePath: string, region: string): Promise<CfnLintFinding[]> {
  if (!existsSync(CFN_LINT)) {
    throw new Error(
      `cfn-lint not found at ${CFN_LINT}: run \`bash scripts/tools.sh\` (it installs the pinned cfn-lint)`,
    );
  }
  try {
    await run(CFN_LINT, [
      '--format',
      'json',
      '--regions',
      region,
      '--ignore-checks',
      ...IGNORED_CFN_LINT_CHECKS,
      '--',
      templatePath,
    ]);
    return [];
  } catch (error) {
    const stdout = (error as { stdout?: string }).stdout;
    if (!stdout) throw error;
    return JSON.parse(stdout) as CfnLintFinding[];
  }
}

function templatePath(synth: Synthesized): string {
  return join(synth.outdir, synth.stack.templateFile);
}

function functionEnvironments(synth: Synthesized): Record<string, string | undefined>[] {
  return resourcesOfType(synth.json, 'AWS::Lambda::Function').map(
    ([, fn]) => property<{ Variables: Record<string, string | undefined> }>(fn, 'Environment').Variables,
  );
}

describe('Partitions: aws and aws-us-gov', () => {
  let commercial: Synthesized;
  let govcloud: Synthesized;

  beforeAll(() => {
    commercial = synthGateway({ region: COMMERCIAL_REGION });
    govcloud = synthGateway({ region: GOVCLOUD_REGION });
  }, SYNTH_TIMEOUT_MS);

  it('synthesizes GovCloud with no unacknowledged cdk-nag finding', () => {
    expect(readViolations(govcloud.outdir)).toEqual([]);
  });

  it('writes no literal commercial ARN into either template: every ARN uses AWS::Partition', () => {
    for (const synth of [commercial, govcloud]) {
      const text = readFileSync(templatePath(synth), 'utf8');
      expect(text).not.toMatch(/arn:aws:/);
      expect(text).not.toMatch(/arn:aws-us-gov:/);
      expect(text).toContain('"Ref": "AWS::Partition"');
    }
  });

  it('uses a REGIONAL API endpoint in GovCloud, where edge-optimized APIs do not exist', () => {
    govcloud.template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
  });

  it('switches every GovCloud function to FIPS endpoints, and no commercial one', () => {
    const gov = functionEnvironments(govcloud);
    expect(gov).toHaveLength(3);
    for (const vars of gov) expect(vars.AWS_USE_FIPS_ENDPOINT).toBe('true');
    for (const vars of functionEnvironments(commercial)) expect(vars.AWS_USE_FIPS_ENDPOINT).toBeUndefined();
  });

  it('scopes the KMS and CloudWatch Logs statements to the GovCloud region', () => {
    const text = readFileSync(templatePath(govcloud), 'utf8');
    expect(text).toContain('dynamodb.us-gov-west-1.');
    expect(text).toContain('logs.us-gov-west-1.amazonaws.com');
    expect(text).not.toContain('us-east-1');
  });

  it('lets an explicit fipsEndpoints prop win over the region default', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new ApprovalsGatewayStack(app, 'Fips', {
      env: { region: COMMERCIAL_REGION },
      fipsEndpoints: true,
    });
    const json = Template.fromStack(stack).toJSON() as CfnTemplate;
    const envs = resourcesOfType(json, 'AWS::Lambda::Function').map(
      ([, fn]) => property<{ Variables: Record<string, string> }>(fn, 'Environment').Variables,
    );
    expect(envs).toHaveLength(3);
    for (const vars of envs) expect(vars.AWS_USE_FIPS_ENDPOINT).toBe('true');
  });

  it('passes cfn-lint for us-east-1', async () => {
    expect(await cfnLint(templatePath(commercial), COMMERCIAL_REGION)).toEqual([]);
  });

  it('passes cfn-lint for us-gov-west-1 (resource types and properties as GovCloud supports them)', async () => {
    expect(await cfnLint(templatePath(govcloud), GOVCLOUD_REGION)).toEqual([]);
  });
});
