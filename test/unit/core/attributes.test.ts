import { describe, expect, it } from 'vitest';
import { inventoryPattern, vouchedResource, withVouched } from '../../../functions/core/attributes.ts';
import type { Directory, PolicyInput } from '../../../functions/core/model.ts';

const directory: Directory = {
  groups: {},
  identities: {},
  inventory: [
    { match: 'arn:*:s3:::fin-ledger-prod', attributes: { environment: 'prod', data_classification: 'CUI' } },
    { match: 'arn:*:s3:::*-prod', attributes: { environment: 'prod' } },
    { match: 'arn:*:s3:::dev-?', attributes: { environment: 'dev' } },
    { match: 'arn:*:s3:::*-staging', attributes: { environment: 'staging' } },
  ],
};

describe('vouched resource attributes', () => {
  it.each([
    [
      'arn:aws-us-gov:s3:::fin-ledger-prod',
      'arn:*:s3:::fin-ledger-prod',
      { environment: 'prod', data_classification: 'CUI' },
    ],
    ['arn:aws:s3:::payments-prod', 'arn:*:s3:::*-prod', { environment: 'prod' }],
    ['arn:aws:s3:::dev-a', 'arn:*:s3:::dev-?', { environment: 'dev' }],
  ])('vouches for %s from the first inventory entry that matches', (id, match, attributes) => {
    expect(vouchedResource({ id }, directory)).toEqual({
      known: true,
      source: 'inventory',
      match,
      attributes,
    });
  });

  it.each([
    'arn:aws:s3:::payments-prod-copy',
    'arn:aws:s3:::dev-ab',
    'arn:aws:s3:::fin-ledger-prod\n',
    'arn:aws:s3:::payments.prod',
    // Made up under a production bucket so that `*-staging` would match if `*` crossed `/`.
    'arn:aws:s3:::fin-ledger-prod/x-staging',
    'arn:aws:s3:::a:b-staging',
  ])('does not know %j', (id) => {
    expect(vouchedResource({ id }, directory)).toEqual({ known: false, source: 'none', attributes: {} });
  });

  it('reads only * and ? as wildcards; every other character is literal', () => {
    expect(inventoryPattern('a.b+(c)[d]^$').test('a.b+(c)[d]^$')).toBe(true);
    expect(inventoryPattern('a.b').test('axb')).toBe(false);
  });

  it('replaces whatever vouched attributes a caller passed in with its own', () => {
    const forged = {
      subject: { id: 'agent:demo-ops', type: 'agent' },
      action: { name: 'infra.stack.update', args: {} },
      resource: {
        type: 'aws:s3:bucket',
        id: 'arn:aws:s3:::payments-prod',
        properties: { environment: 'sandbox' },
      },
      context: {},
      now: '2026-11-29T00:00:00.000Z',
      vouched: { resource: { known: true, source: 'inventory', attributes: { environment: 'sandbox' } } },
    } as PolicyInput;
    expect(withVouched(forged, directory).vouched?.resource.attributes).toEqual({ environment: 'prod' });
    expect(withVouched(forged, directory).resource.properties).toEqual({ environment: 'sandbox' });
    // The caller's members, in their order, and vouched where the caller had it.
    expect(Object.keys(withVouched(forged, directory))).toEqual(Object.keys(forged));
  });

  it('keeps an own __proto__ member a member (never a prototype), as an object literal would', () => {
    const input = JSON.parse(
      '{"subject":{"id":"agent:demo-ops","type":"agent"},"__proto__":{"polluted":true},' +
        '"action":{"name":"x","args":{}},"resource":{"type":"t","id":"arn:aws:s3:::payments-prod"},' +
        '"context":{},"now":"2026-11-29T00:00:00.000Z"}',
    ) as PolicyInput;

    const vouched = withVouched(input, directory) as PolicyInput & { polluted?: unknown };

    expect(Object.getPrototypeOf(vouched)).toBe(Object.prototype);
    expect(vouched.polluted).toBeUndefined();
    expect(Object.keys(vouched)).toEqual([
      'subject',
      '__proto__',
      'action',
      'resource',
      'context',
      'now',
      'vouched',
    ]);
  });
});
