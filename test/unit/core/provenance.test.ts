/** The default pack through the service: the policy decides on what the gateway vouches for. */
import { beforeAll, describe, expect, it } from 'vitest';
import { SqliteRequestStore } from '../../../functions/adapters/sqlite/sqlite-store.ts';
import { ulidIds } from '../../../functions/adapters/system/system.ts';
import { ApprovalService } from '../../../functions/core/service.ts';
import type { WasmPolicyEvaluator } from '../../../functions/policy/evaluator.ts';
import { ManualClock } from '../../support/fixtures.ts';
import { loadDefaultPack } from '../policy/support.ts';

const STACK = 'arn:aws-us-gov:cloudformation:us-gov-west-1:123456789012:stack/payments-prod/1';

describe('attributes with provenance, through the service', () => {
  let policy: WasmPolicyEvaluator;
  beforeAll(async () => {
    policy = await loadDefaultPack();
  });

  const service = () =>
    new ApprovalService({
      store: new SqliteRequestStore({ path: ':memory:' }),
      policy,
      clock: new ManualClock(),
      ids: ulidIds(),
    });

  const stackUpdate = (properties: Record<string, unknown>, id = STACK) => ({
    action: { name: 'infra.stack.update', args: {} },
    resource: { type: 'aws:cloudformation:stack', id, properties },
    context: { justification: 'Scheduled change, CHG-5120' },
  });

  it('does not auto-allow a production stack the agent claims is a sandbox', async () => {
    const { request } = await service().submit('agent:demo-ops', stackUpdate({ environment: 'sandbox' }));
    expect(request.status).toBe('pending');
    expect(request.decision.reasons.map((r) => r.code)).toEqual(['prod_infra_change']);
    expect(request.grant?.type).toBe('aws_sts');
  });

  it('allows a change on a stack the inventory vouches is a sandbox, and a claim of prod tightens it', async () => {
    const sandbox = 'arn:aws-us-gov:cloudformation:us-gov-west-1:123456789012:stack/sandbox-payments/1';
    const allowed = await service().submit('agent:demo-ops', stackUpdate({}, sandbox));
    expect(allowed.request.status).toBe('approved');
    const tightened = await service().submit('agent:demo-ops', stackUpdate({ environment: 'prod' }, sandbox));
    expect(tightened.request.status).toBe('pending');
  });

  it('treats a stack the inventory does not know as production, whatever is claimed', async () => {
    const unknown = 'arn:aws-us-gov:cloudformation:us-gov-west-1:123456789012:stack/payments/1';
    const { request } = await service().submit(
      'agent:demo-ops',
      stackUpdate({ environment: 'dev' }, unknown),
    );
    expect(request.decision.reasons.map((r) => r.code)).toEqual(['prod_infra_change']);
  });

  it('shows the same decision on a dry run, which the caller cannot feed vouched attributes', async () => {
    const decision = await service().evaluate({
      subject: { id: 'agent:demo-ops', type: 'agent' },
      ...stackUpdate({ environment: 'sandbox' }),
      now: '2026-11-29T00:00:00.000Z',
      vouched: { resource: { known: true, source: 'inventory', attributes: { environment: 'sandbox' } } },
    });
    expect(decision.outcome).toBe('require_approval');
  });
});
