import { beforeAll, describe, expect, it } from 'vitest';
import { indexShardsEnvironment, limitsEnvironment } from '../../../cdk/approvals-stack.ts';
import {
  COMMERCIAL_REGION,
  type FunctionId,
  functionResource,
  property,
  SYNTH_TIMEOUT_MS,
  type Synthesized,
  synthGateway,
} from './synth.ts';

function variables(synth: Synthesized, id: FunctionId): Record<string, unknown> {
  return property<{ Variables: Record<string, unknown> }>(functionResource(synth, id).resource, 'Environment')
    .Variables;
}

describe('Class: ApprovalsGatewayStack, limits and index shards', () => {
  let synth: Synthesized;

  beforeAll(() => {
    synth = synthGateway({
      region: COMMERCIAL_REGION,
      stackProps: {
        limits: { callsPerMinute: 600, maxPending: 25 },
        indexShards: { shards: 8, statusShards: 64 },
      },
    });
  }, SYNTH_TIMEOUT_MS);

  it('gives the api function its limits as GATEWAY_LIMITS, and no other function', () => {
    expect(JSON.parse(String(variables(synth, 'ApiFunction').GATEWAY_LIMITS))).toEqual({
      callsPerMinute: 600,
      maxPending: 25,
    });
    for (const id of ['WorkflowFunction', 'SweeperFunction'] as const) {
      expect(variables(synth, id)).not.toHaveProperty('GATEWAY_LIMITS');
    }
  });

  it('gives every function that reads the requests table the same INDEX_SHARDS', () => {
    for (const id of ['ApiFunction', 'WorkflowFunction', 'SweeperFunction'] as const) {
      expect(JSON.parse(String(variables(synth, id).INDEX_SHARDS))).toEqual({ shards: 8, statusShards: 64 });
    }
  });

  it('refuses limits and shard counts that are not whole numbers in range, naming the prop', () => {
    expect(limitsEnvironment(undefined)).toBeUndefined();
    expect(limitsEnvironment({})).toBeUndefined();
    expect(limitsEnvironment({ submissionsPerMinute: 30 })).toBe('{"submissionsPerMinute":30}');
    expect(() => limitsEnvironment({ maxPending: 0 })).toThrow(
      /limits.maxPending must be a whole number from 1 to 1000000, got 0/,
    );
    expect(() => limitsEnvironment({ callsPerMinute: 1.5 })).toThrow(/limits.callsPerMinute/);
    expect(() => limitsEnvironment({ maxPendin: 5 } as never)).toThrow(/maxPendin, which is not a limit/);
    expect(indexShardsEnvironment({ shards: 2 })).toBe('{"shards":2}');
    expect(() => indexShardsEnvironment({ statusShards: 257 })).toThrow(
      /indexShards.statusShards must be a whole number from 1 to 256, got 257/,
    );
    expect(() => indexShardsEnvironment({ shards: -1 })).toThrow(/indexShards.shards/);
  });
});
