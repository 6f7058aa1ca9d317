/**
 * The contract every ResourceAttributes adapter passes (the policy data's inventory, resource tags
 * on the Tagging API): a resource the source states attributes for is known with exactly those
 * attributes and the adapter's `source`; anything else is unknown with no attributes; the agent's
 * claims never reach the answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResourceAttributes } from '../../functions/core/ports/attributes.port.ts';

export interface AttributesUnderTest {
  readonly source: ResourceAttributes;
  /** What the adapter reports as `source` for a resource it knows. */
  readonly sourceName: 'inventory' | 'tags';
  /** A new resource ARN no test has used, which the source can be told about. */
  newArn(): Promise<string>;
  /** Makes the source state `attributes` (environment, data_classification, owner) for `arn`. */
  declare(arn: string, attributes: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

export function describeAttributesContract(name: string, create: () => Promise<AttributesUnderTest>): void {
  describe(`ResourceAttributes contract: ${name}`, () => {
    let under: AttributesUnderTest;

    beforeAll(async () => {
      under = await create();
    });

    afterAll(async () => {
      await under?.close();
    });

    it('vouches for exactly the attributes the source states, naming the source', async () => {
      const arn = await under.newArn();
      await under.declare(arn, { environment: 'prod', data_classification: 'CUI', owner: 'team:finance' });
      const vouched = await under.source.vouchedFor({ id: arn });
      expect(vouched.known).toBe(true);
      expect(vouched.source).toBe(under.sourceName);
      expect(vouched.attributes).toEqual({
        environment: 'prod',
        data_classification: 'CUI',
        owner: 'team:finance',
      });
    });

    it('keeps two resources apart', async () => {
      const prod = await under.newArn();
      const dev = await under.newArn();
      await under.declare(prod, { environment: 'prod' });
      await under.declare(dev, { environment: 'dev' });
      expect((await under.source.vouchedFor({ id: prod })).attributes).toEqual({ environment: 'prod' });
      expect((await under.source.vouchedFor({ id: dev })).attributes).toEqual({ environment: 'dev' });
    });

    it('answers unknown, with no attributes, for a resource the source says nothing about', async () => {
      const arn = await under.newArn();
      expect(await under.source.vouchedFor({ id: arn })).toEqual({
        known: false,
        source: 'none',
        attributes: {},
      });
    });

    it('answers unknown for an id that is not an ARN', async () => {
      for (const id of [
        'payments-prod',
        '',
        'arn:',
        's3://fin-ledger-prod/x',
        'arn:aws:s3:::bucket with space',
      ]) {
        const vouched = await under.source.vouchedFor({ id });
        expect(vouched, id).toEqual({ known: false, source: 'none', attributes: {} });
      }
    });

    it("never lets the agent's claimed properties into the answer", async () => {
      const arn = await under.newArn();
      await under.declare(arn, { environment: 'prod' });
      const claimed = { id: arn, type: 'aws:s3:bucket', properties: { environment: 'sandbox', owner: 'me' } };
      const vouched = await under.source.vouchedFor(claimed);
      expect(vouched.attributes).toEqual({ environment: 'prod' });
      const unknown = await under.newArn();
      const unclaimed = await under.source.vouchedFor({ ...claimed, id: unknown });
      expect(unclaimed).toEqual({ known: false, source: 'none', attributes: {} });
    });
  });
}
