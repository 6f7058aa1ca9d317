/**
 * The same app in AWS GovCloud (US): partition-agnostic ARNs, a REGIONAL endpoint, FIPS endpoints
 * for every function, nag-clean, and cfn-lint-clean against us-gov-west-1's resource specs.
 */
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApprovalsGatewayStack } from '../../../cdk/approvals-stack.ts';
import {
  type CfnTemplate,
  COMMERCIAL_REGION,
  cfnLint,
  GOVCLOUD_REGION,
  property,
  readViolations,
  resourcesOfType,
  SYNTH_TIMEOUT_MS,
  type Synthesized,
  synthGateway,
  templatePath,
} from './synth.ts';

function functionEnvironments(json: CfnTemplate): Record<string, string | undefined>[] {
  return resourcesOfType(json, 'AWS::Lambda::Function').map(
    ([, fn]) => property<{ Variables: Record<string, string | undefined> }>(fn, 'Environment').Variables,
  );
}

describe('GovCloud (us-gov-west-1)', () => {
  let govcloud: Synthesized;

  beforeAll(() => {
    govcloud = synthGateway({ region: GOVCLOUD_REGION });
  }, SYNTH_TIMEOUT_MS);

  it('synthesizes with no unacknowledged cdk-nag finding', () => {
    expect(readViolations(govcloud.outdir)).toEqual([]);
  });

  it('writes no literal partition into any ARN: every ARN uses AWS::Partition', () => {
    const text = readFileSync(templatePath(govcloud), 'utf8');
    expect(text).not.toMatch(/arn:aws:/);
    expect(text).not.toMatch(/arn:aws-us-gov:/);
    expect(text).toContain('"Ref": "AWS::Partition"');
  });

  it('uses a REGIONAL API endpoint: GovCloud has no edge-optimized APIs', () => {
    govcloud.template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
  });

  it('switches every function to FIPS endpoints (us-gov-west-1 serves Step Functions on FIPS only)', () => {
    const envs = functionEnvironments(govcloud.json);
    expect(envs).toHaveLength(4); // api, workflow, sweeper, audit archiver
    for (const vars of envs) expect(vars.AWS_USE_FIPS_ENDPOINT).toBe('true');
  });

  it('scopes the KMS and CloudWatch Logs statements to the GovCloud region', () => {
    const text = readFileSync(templatePath(govcloud), 'utf8');
    expect(text).toContain('dynamodb.us-gov-west-1.');
    expect(text).toContain('logs.us-gov-west-1.amazonaws.com');
    expect(text).not.toContain('us-east-1');
  });

  it('passes cfn-lint for us-gov-west-1 (resource types and properties as GovCloud supports them)', async () => {
    expect(await cfnLint(govcloud, GOVCLOUD_REGION)).toEqual([]);
  });

  it('lets an explicit fipsEndpoints prop win over the region default', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new ApprovalsGatewayStack(app, 'Fips', {
      env: { region: COMMERCIAL_REGION },
      fipsEndpoints: true,
    });
    const envs = functionEnvironments(Template.fromStack(stack).toJSON() as CfnTemplate);
    expect(envs).toHaveLength(4); // api, workflow, sweeper, audit archiver
    for (const vars of envs) expect(vars.AWS_USE_FIPS_ENDPOINT).toBe('true');
  });
});
