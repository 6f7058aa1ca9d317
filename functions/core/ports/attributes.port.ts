import type { Resource, VouchedResource } from '../model.ts';

/**
 * A source of attributes the gateway vouches for about a resource (policy-data inventory, the
 * resource's tags on AWS). Never throws: a source that cannot answer — unreachable, throttled,
 * timed out — answers `{ known: false, source: 'none' }`, so the policy takes the strictest path.
 */
export interface ResourceAttributes {
  vouchedFor(resource: Pick<Resource, 'id'>): Promise<VouchedResource>;
}
