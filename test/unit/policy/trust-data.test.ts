/** Principals, agents and delegations in policy data: checked at load, used by the quorum check. */
import { describe, expect, it } from 'vitest';
import { PolicyLoadError } from '../../../functions/policy/errors.ts';
import { loadPolicyEvaluator } from '../../../functions/policy/evaluator.ts';
import { bundleData, bundleWasm, exportRequest, loadMisbehaving } from './support.ts';

function load(data: Record<string, unknown>) {
  return loadPolicyEvaluator({ wasm: bundleWasm(), data });
}

describe('policy data at load', () => {
  it.each([
    [
      'a group member',
      { groups: { 'data-owners': ['user:Bob@example.gov'] } },
      /groups\.data-owners\[0\].*write "user:bob@example.gov"/,
    ],
    [
      'a chat binding',
      { identities: { slack: { U0BOB: 'user:bob@example.gov.' } } },
      /identities\.slack\.U0BOB.*write "user:bob@example.gov"/,
    ],
    [
      'an agent owner',
      { agents: { 'agent:x': { owners: ['human:bob@example.gov'] } } },
      /agents\.agent:x\.owners\[0\].*write "user:bob@example.gov"/,
    ],
    ['an agent key', { agents: { 'agent:X': { owners: ['user:bob@example.gov'] } } }, /write "agent:x"/],
    [
      'a team lead in pack configuration',
      { teams: { t: { lead: 'user:judy@EXAMPLE.gov', members: [] } } },
      /data\.teams\.t\.lead.*write "user:judy@example.gov"/,
    ],
    [
      'a look-alike in a break-glass list',
      {
        break_glass: {
          principals: ['user:оscar@example.gov'],
          notify: ['security'],
          min_justification_length: 20,
        },
      },
      /data\.break_glass\.principals\[0\].*U\+043E/,
    ],
  ])(
    'refuses to start when %s is not canonical, naming the canonical form',
    async (_what, patch, message) => {
      const loading = load({ ...bundleData(), ...patch });
      await expect(loading).rejects.toBeInstanceOf(PolicyLoadError);
      await expect(loading).rejects.toThrow(message);
    },
  );

  it('refuses an agent without owners and a delegation to something other than a user', async () => {
    await expect(load({ ...bundleData(), agents: { 'agent:x': { owners: [] } } })).rejects.toThrow(
      /at least one owner/,
    );
    await expect(
      load({
        ...bundleData(),
        agents: { 'agent:x': { owners: ['user:a@example.gov'], acts_for: ['agent:y'] } },
      }),
    ).rejects.toThrow(/must be a user: principal/);
  });

  it('refuses one IAM role declared for two agents', async () => {
    const role = 'arn:aws:iam::123456789012:role/agents/runner';
    const loading = load({
      ...bundleData(),
      agents: {
        'agent:a': { owners: ['user:a@example.gov'], aws_roles: [role] },
        'agent:b': { owners: ['user:b@example.gov'], aws_roles: ['arn:aws:iam::123456789012:role/Runner'] },
      },
    });
    await expect(loading).rejects.toThrow(/declared for both agent:a and agent:b/);
  });

  it('leaves IAM action names alone: iam:PassRole is not a principal', async () => {
    const evaluator = await load({ ...bundleData(), extra: { actions: ['iam:PassRole'] } });
    expect(evaluator.directory.agents?.['agent:demo-exporter']?.owners).toEqual(['user:alice@example.gov']);
  });

  it('loads the default pack with its agents, their owners and delegations', async () => {
    const evaluator = await load(bundleData());
    expect(evaluator.directory.agents?.['agent:demo-exporter']).toMatchObject({
      owners: ['user:alice@example.gov'],
      acts_for: [{ principal: 'user:alice@example.gov' }],
    });
  });
});

describe('quorum check with owners', () => {
  it("removes the requesting agent's owners from the quorum even when the policy forgot them", async () => {
    // data-owners are bob and carol; one approval is needed; the agent is owned by both.
    const data = {
      ...bundleData(),
      agents: { 'agent:shared': { owners: ['user:bob@example.gov', 'user:carol@example.gov'] } },
    };
    const evaluator = await loadMisbehaving('well_formed', { data });
    const request = exportRequest({ subject: { id: 'agent:shared', type: 'agent' }, context: {} });
    expect(evaluator.evaluate(request).reasons.map((r) => r.code)).toEqual(['approval_quorum_unreachable']);
    const other = exportRequest({ subject: { id: 'agent:unowned', type: 'agent' }, context: {} });
    expect(evaluator.evaluate(other).outcome).toBe('require_approval');
  });
});
