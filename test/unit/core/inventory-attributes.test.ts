/** The inventory adapter of the attributes port, and the precedence of inventory over tags. */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { inventoryAttributes, inventoryThenTags } from '../../../functions/core/attributes.ts';
import type { Directory, InventoryEntry, VouchedResource } from '../../../functions/core/model.ts';
import type { ResourceAttributes } from '../../../functions/core/ports/attributes.port.ts';
import { describeAttributesContract } from '../../contract/attributes.contract.ts';

function mutableDirectory(): { directory: () => Directory; entries: InventoryEntry[] } {
  const entries: InventoryEntry[] = [];
  return { entries, directory: () => ({ groups: {}, identities: {}, inventory: entries }) };
}

describeAttributesContract('policy-data inventory', async () => {
  const { directory, entries } = mutableDirectory();
  return {
    source: inventoryAttributes(directory),
    sourceName: 'inventory',
    newArn: async () => `arn:aws-us-gov:s3:::contract-${randomUUID()}`,
    declare: async (arn, attributes) => {
      entries.push({ match: arn, attributes });
    },
    close: async () => {},
  };
});

/** A stand-in second source that records what it was asked. */
function recordingTags(answer: VouchedResource): ResourceAttributes & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    vouchedFor: async (resource) => {
      asked.push(resource.id);
      return answer;
    },
  };
}

describe('inventory, then tags', () => {
  const tagged: VouchedResource = { known: true, source: 'tags', attributes: { environment: 'dev' } };

  it('keeps an inventory entry whole and never asks the tags about a resource the inventory knows', async () => {
    const { directory, entries } = mutableDirectory();
    // The entry deliberately leaves `environment` unset: production for the pack. A tag must not fill it.
    entries.push({ match: 'arn:aws:s3:::ledger-*', attributes: { owner: 'team:finance' } });
    const tags = recordingTags(tagged);
    const vouched = await inventoryThenTags(inventoryAttributes(directory), tags).vouchedFor({
      id: 'arn:aws:s3:::ledger-2026',
    });
    expect(vouched).toEqual({
      known: true,
      source: 'inventory',
      match: 'arn:aws:s3:::ledger-*',
      attributes: { owner: 'team:finance' },
    });
    expect(tags.asked).toEqual([]);
  });

  it('asks the tags about a resource the inventory does not know, and answers what they say', async () => {
    const { directory } = mutableDirectory();
    const tags = recordingTags(tagged);
    const vouched = await inventoryThenTags(inventoryAttributes(directory), tags).vouchedFor({
      id: 'arn:aws:s3:::scratch',
    });
    expect(vouched).toEqual(tagged);
    expect(tags.asked).toEqual(['arn:aws:s3:::scratch']);
  });

  it('reads the inventory of the current policy data on every call (a reloaded bundle applies at once)', async () => {
    const { directory, entries } = mutableDirectory();
    const source = inventoryAttributes(directory);
    expect((await source.vouchedFor({ id: 'arn:aws:s3:::late' })).known).toBe(false);
    entries.push({ match: 'arn:aws:s3:::late', attributes: { environment: 'prod' } });
    expect((await source.vouchedFor({ id: 'arn:aws:s3:::late' })).known).toBe(true);
  });
});
