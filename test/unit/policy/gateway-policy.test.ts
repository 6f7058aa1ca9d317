/**
 * The gateway's policy: shadow mode beside the active bundle, the decision log, and the swap a
 * reload uses. Real bundles (the committed one, and a signed candidate that differs on data
 * exports only), a real SQLite store and the core service.
 */
import { describe, expect, it } from 'vitest';
import { SqliteRequestStore } from '../../../functions/adapters/sqlite/sqlite-store.ts';
import { ulidIds } from '../../../functions/adapters/system/system.ts';
import type { ActionRequestInput, ShadowVerdict } from '../../../functions/core/model.ts';
import { ApprovalService } from '../../../functions/core/service.ts';
import { loadPolicyEvaluatorFromFiles } from '../../../functions/policy/files.ts';
import {
  type DecisionLogEntry,
  type Divergence,
  GatewayPolicy,
} from '../../../functions/policy/gateway-policy.ts';
import { ManualClock } from '../../support/fixtures.ts';
import { signedBundleCopy, testKeys } from '../../support/signed-bundle.ts';
import { loadDefaultPack } from './support.ts';

const exportIn = (environment: 'dev' | 'prod', n: number): ActionRequestInput => ({
  action: {
    name: 'data.export',
    args: { dataset: `set_${n}`, destination: 's3://agency-internal-archive/x/' },
  },
  resource: {
    type: 'aws:s3:bucket',
    id: environment === 'prod' ? `arn:aws:s3:::shadow-${n}-prod` : `arn:aws:s3:::dev-shadow-${n}`,
    properties: {},
  },
  context: { justification: `shadow ${n}` },
});
const readIn = (n: number): ActionRequestInput => ({
  action: { name: 'logs.tail', args: { group: `/app/${n}` } },
  resource: {
    type: 'aws:logs:log-group',
    id: `arn:aws:logs:us-east-1:123456789012:log-group:/app/${n}`,
    properties: {},
  },
  context: {},
});
const secretIn = (n: number): ActionRequestInput => ({
  action: { name: 'secrets.read', args: {} },
  resource: {
    type: 'aws:secretsmanager:secret',
    id: `arn:aws:secretsmanager:us-east-1:123456789012:secret:s${n}`,
    properties: {},
  },
  context: { justification: `secret ${n}` },
});

/** A candidate that changes one action family: every data export needs one approval more. */
async function exportTighteningCandidate() {
  const bundle = signedBundleCopy(testKeys(), (data) => {
    const profiles = data.approval_profiles as Record<string, { min_approvals: number }>;
    for (const name of ['data_export_nonprod', 'data_export_prod']) {
      (profiles[name] as { min_approvals: number }).min_approvals += 1;
    }
    (data.groups as Record<string, string[]>)['data-owners']?.push('user:zoe@example.gov');
  });
  return loadPolicyEvaluatorFromFiles(bundle);
}

async function submitAll(policy: GatewayPolicy | Awaited<ReturnType<typeof loadDefaultPack>>) {
  const store = new SqliteRequestStore({ path: ':memory:' });
  const service = new ApprovalService({ store, policy, clock: new ManualClock(), ids: ulidIds() });
  const inputs: ActionRequestInput[] = [];
  for (let n = 0; n < 10; n++) inputs.push(readIn(n), exportIn('dev', n), exportIn('prod', n), secretIn(n));
  const results = [];
  for (const input of inputs) {
    const { request } = await service.submit('agent:demo-exporter', input);
    const evaluated = (await store.listEvents(request.id)).find((e) => e.type === 'policy.evaluated');
    results.push({ request, shadow: evaluated?.data.shadow as ShadowVerdict | undefined });
  }
  store.close();
  return results;
}

describe('Class: GatewayPolicy', () => {
  it('in shadow mode records divergences for the changed action family only and never changes an outcome', async () => {
    const active = await loadDefaultPack();
    const candidate = await exportTighteningCandidate();
    const divergences: Divergence[] = [];
    const shadowed = await submitAll(
      new GatewayPolicy({ active, shadow: candidate }, { onDivergence: (d) => divergences.push(d) }),
    );
    const plain = await submitAll(await loadDefaultPack());

    // Same outcomes, approvals and digests as without a shadow.
    expect(
      shadowed.map((r) => [
        r.request.status,
        r.request.approval?.minApprovals,
        r.request.decision.policyDigest,
      ]),
    ).toEqual(
      plain.map((r) => [r.request.status, r.request.approval?.minApprovals, r.request.decision.policyDigest]),
    );
    // Every policy.evaluated event carries the shadow verdict; only data exports diverged.
    for (const { request, shadow } of shadowed) {
      expect(shadow?.policy_digest).toBe(candidate.digest);
      expect(shadow?.diverged, `${request.action.name} ${request.resource.id}`).toBe(
        request.action.name === 'data.export',
      );
    }
    const exports = shadowed.filter((r) => r.request.action.name === 'data.export');
    expect(exports).toHaveLength(20);
    expect(new Set(exports.map((r) => r.shadow?.changes.join()))).toEqual(
      new Set(['quorum 1→2', 'quorum 2→3']),
    );
    expect(divergences.map((d) => d.requestId).sort()).toEqual(exports.map((r) => r.request.id).sort());
    expect(
      divergences.every((d) => d.activeDigest === active.digest && d.shadowDigest === candidate.digest),
    ).toBe(true);
  });

  it('writes one OPA-shaped decision log line per evaluation, naming the request, the digest and the input hash', async () => {
    const entries: DecisionLogEntry[] = [];
    const results = await submitAll(
      new GatewayPolicy({ active: await loadDefaultPack() }, { decisionLog: (e) => entries.push(e) }),
    );
    expect(entries).toHaveLength(results.length);
    for (const [i, { request }] of results.entries()) {
      const entry = entries[i] as DecisionLogEntry;
      expect(entry.decision_id).toBe(request.id);
      expect(entry.custom).toMatchObject({
        request_id: request.id,
        principal: 'agent:demo-exporter',
        action: request.action.name,
        outcome: request.decision.outcome,
        policy_digest: request.decision.policyDigest,
        input_hash: request.decision.inputHash,
      });
      expect(entry.bundles.approvals.revision).toBe(request.decision.policyDigest);
      expect(entry.path).toBe('approvals/decision');
      expect(entry.erased).toEqual(['/input']);
      expect(entry.result.outcome).toBe(request.decision.outcome);
      expect(entry.metrics.timer_rego_query_eval_ns).toBeGreaterThan(0);
      expect(JSON.stringify(entry)).not.toContain(request.context.justification ?? '\u0000');
      // The documented order, and no member for what is absent (no shadow bundle here).
      expect(Object.keys(entry.custom)).toEqual([
        'request_id',
        'principal',
        'action',
        'outcome',
        'policy_digest',
        'input_hash',
        'duration_ms',
      ]);
    }
  });

  it('logs a dry run without a request id, and a shadow verdict last', async () => {
    const entries: DecisionLogEntry[] = [];
    const policy = new GatewayPolicy(
      { active: await loadDefaultPack(), shadow: await exportTighteningCandidate() },
      { decisionLog: (e) => entries.push(e) },
    );
    policy.evaluate({
      subject: { id: 'agent:demo-exporter', type: 'agent' },
      ...exportIn('dev', 1),
      now: '2026-11-22T10:00:00Z',
    });
    const custom = entries[0]?.custom;
    expect(custom && Object.keys(custom)).toEqual([
      'principal',
      'action',
      'outcome',
      'policy_digest',
      'input_hash',
      'duration_ms',
      'shadow',
    ]);
    expect(custom?.shadow?.diverged).toBe(true);
  });

  it('swaps bundles between two evaluations: each decision names the digest it was made with', async () => {
    const active = await loadDefaultPack();
    const candidate = await exportTighteningCandidate();
    const policy = new GatewayPolicy({ active });
    const input = {
      subject: { id: 'agent:demo-exporter', type: 'agent' },
      ...exportIn('dev', 1),
      now: '2026-11-22T10:00:00Z',
      vouched: {
        resource: { known: true, source: 'inventory' as const, attributes: { environment: 'dev' } },
      },
    };
    const before = policy.evaluate(input);
    const { previous } = policy.swap({ active: candidate });
    const after = policy.evaluate(input);
    expect(previous.active.digest).toBe(active.digest);
    expect(before.policyDigest).toBe(active.digest);
    expect(after.policyDigest).toBe(candidate.digest);
    expect(policy.digest).toBe(candidate.digest);
    expect([before.approval?.min_approvals, after.approval?.min_approvals]).toEqual([1, 2]);
  });

  it('keeps deciding when the decision log sink throws', async () => {
    const active = await loadDefaultPack();
    const policy = new GatewayPolicy(
      { active },
      {
        decisionLog: () => {
          throw new Error('disk full');
        },
      },
    );
    const input = {
      subject: { id: 'agent:demo-exporter', type: 'agent' },
      ...exportIn('dev', 2),
      now: '2026-11-22T10:00:00Z',
    };
    const decision = policy.evaluate(input);
    const direct = active.evaluate(input);
    expect(decision.outcome).toBe('require_approval');
    expect(decision).toEqual(direct);
  });
});
