/** Resource tags on AWS: off by default; when on, the api function alone may call tag:GetResources. */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  apiEnvironment,
  COMMERCIAL_REGION,
  resourcesOfType,
  SYNTH_TIMEOUT_MS,
  type Synthesized,
  synthGateway,
} from './synth.ts';

interface PolicyResource {
  readonly Roles?: unknown[];
  readonly PolicyDocument: { Statement: { Sid?: string; Action: string | string[]; Resource: unknown }[] };
}

/** Managed policies whose statements grant `tag:GetResources`, with the roles they attach to. */
function tagReaders(synth: Synthesized): PolicyResource[] {
  return resourcesOfType(synth.json, 'AWS::IAM::ManagedPolicy')
    .map(([, resource]) => resource.Properties as unknown as PolicyResource)
    .filter((policy) =>
      policy.PolicyDocument.Statement.some((s) => [s.Action].flat().includes('tag:GetResources')),
    );
}

describe('resource tags in the stack', () => {
  let off: Synthesized;
  let on: Synthesized;

  beforeAll(() => {
    // Both synthesize with cdk-nag on: an unacknowledged finding fails synthGateway.
    off = synthGateway({ region: COMMERCIAL_REGION });
    on = synthGateway({
      region: COMMERCIAL_REGION,
      stackProps: {
        resourceTags: { tagAttributes: { Environment: 'environment', DataClass: 'data_classification' } },
      },
    });
  }, SYNTH_TIMEOUT_MS * 2);

  it('grants tag:GetResources to nobody and tells the function tags are off by default', () => {
    expect(tagReaders(off)).toEqual([]);
    expect(apiEnvironment(off).RESOURCE_TAGS_ENABLED).toBe('false');
    expect(apiEnvironment(off).RESOURCE_TAG_ATTRIBUTES).toBeUndefined();
  });

  it('grants tag:GetResources, and nothing else, to the api function role alone when enabled', () => {
    const readers = tagReaders(on);
    expect(readers).toHaveLength(1);
    const [reader] = readers;
    expect(reader?.PolicyDocument.Statement).toEqual([
      { Sid: 'ReadResourceTags', Effect: 'Allow', Action: 'tag:GetResources', Resource: '*' },
    ]);
    const apiRole = on.stack.getLogicalId(on.stack.apiFunction.role.node.defaultChild as never);
    expect(reader?.Roles).toEqual([{ Ref: apiRole }]);
    expect(apiEnvironment(on)).toMatchObject({
      RESOURCE_TAGS_ENABLED: 'true',
      RESOURCE_TAG_ATTRIBUTES: 'Environment=environment,DataClass=data_classification',
    });
  });

  it(
    'refuses a tag mapping the function could not read back',
    () => {
      expect(() =>
        synthGateway({
          region: COMMERCIAL_REGION,
          stackProps: { resourceTags: { tagAttributes: { 'a,b': 'environment' } } },
        }),
      ).toThrow(/tag key with "," or "="/);
      expect(() =>
        synthGateway({
          region: COMMERCIAL_REGION,
          stackProps: { resourceTags: { tagAttributes: { env: 'Env' } } },
        }),
      ).toThrow(/attribute lower-case letters/);
    },
    SYNTH_TIMEOUT_MS,
  );
});
