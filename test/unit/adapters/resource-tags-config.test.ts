/** How resource tags are configured on AWS: the tag mapping and the switch, read from the environment. */
import { afterEach, describe, expect, it } from 'vitest';
import { isTaggableArn, parseTagAttributes } from '../../../functions/adapters/aws/resource-tags.ts';
import type { Directory } from '../../../functions/core/model.ts';
import { resourceAttributesFromEnv } from '../../../functions/handlers/composition.ts';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const policy = {
  directory: {
    groups: {},
    identities: {},
    inventory: [{ match: 'arn:aws:s3:::ledger', attributes: { environment: 'prod' } }],
  } satisfies Directory,
};

describe('the tag mapping', () => {
  it.each([
    [
      'environment,data_classification,owner',
      { environment: 'environment', data_classification: 'data_classification', owner: 'owner' },
    ],
    [
      'Environment=environment, DataClass=data_classification',
      { Environment: 'environment', DataClass: 'data_classification' },
    ],
    ['aws:cloudformation:stack-name=stack', { 'aws:cloudformation:stack-name': 'stack' }],
  ])('reads %j', (text, mapping) => {
    expect(parseTagAttributes(text)).toEqual(mapping);
  });

  it.each([
    ['', /maps no tag key/],
    [' , ', /maps no tag key/],
    ['Env=Environment', /"Env=Environment" is not tagKey=attribute/],
    ['=environment', /is not tagKey=attribute/],
    ['Env=environment,Stage=environment', /two tag keys to attribute "environment"/],
    ['env,env', /names tag key "env" twice/],
  ])('refuses %j, saying what is wrong', (text, message) => {
    expect(() => parseTagAttributes(text)).toThrow(message);
  });
});

describe('which ids are looked up', () => {
  it.each([
    ['arn:aws:s3:::fin-ledger-prod', true],
    ['arn:aws-us-gov:cloudformation:us-gov-west-1:123456789012:stack/payments-prod/1', true],
    ['arn:aws-iso-b:rds:us-isob-east-1:123456789012:db:orders', true],
    ['fin-ledger-prod', false],
    ['arn:aws:s3:::a b', false],
    ['arn:aws:s3:::', false],
    ['arn:other:s3:::bucket', false],
    ['arn:aws:ec2:us-east-1:12345:instance/i-1', false],
  ])('%s → %s', (id, expected) => {
    expect(isTaggableArn(id)).toBe(expected);
  });
});

describe('RESOURCE_TAGS_ENABLED', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('leaves the inventory alone in charge when unset or false', async () => {
    delete process.env.RESOURCE_TAGS_ENABLED;
    expect(await resourceAttributesFromEnv(policy, silent)).toBeUndefined();
    process.env.RESOURCE_TAGS_ENABLED = 'false';
    expect(await resourceAttributesFromEnv(policy, silent)).toBeUndefined();
  });

  it('puts the inventory first when true: a resource it knows is answered from the inventory', async () => {
    process.env.RESOURCE_TAGS_ENABLED = 'true';
    process.env.AWS_REGION = 'us-east-1';
    const source = await resourceAttributesFromEnv(policy, silent);
    expect(await source?.vouchedFor({ id: 'arn:aws:s3:::ledger' })).toEqual({
      known: true,
      source: 'inventory',
      match: 'arn:aws:s3:::ledger',
      attributes: { environment: 'prod' },
    });
  });

  it('refuses any other value, and a bad mapping, naming the variable', async () => {
    process.env.RESOURCE_TAGS_ENABLED = 'yes';
    await expect(resourceAttributesFromEnv(policy, silent)).rejects.toThrow(
      /RESOURCE_TAGS_ENABLED is "yes"; set it to true or false/,
    );
    process.env.RESOURCE_TAGS_ENABLED = 'true';
    process.env.RESOURCE_TAG_ATTRIBUTES = 'Env=Environment';
    await expect(resourceAttributesFromEnv(policy, silent)).rejects.toThrow(/is not tagKey=attribute/);
  });
});
