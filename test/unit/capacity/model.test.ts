import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_GROUP_SHARDS, DEFAULT_STATUS_SHARDS } from '../../../functions/adapters/dynamodb/keys.ts';
import { FLOW_KINDS, flowShapes, templateFlow } from '../../../scripts/capacity/flows.ts';
import {
  CapacityInputError,
  type Inputs,
  loadInputs,
  mixSchema,
  parseInput,
} from '../../../scripts/capacity/inputs.ts';
import {
  type Component,
  costPerThousand,
  type FlowFacts,
  flowFacts,
  limitReachedAt,
  limitsHit,
  type Model,
  stackSizing,
} from '../../../scripts/capacity/model.ts';
import { formatDollars, formatNumber } from '../../../scripts/capacity/render.ts';
import { seededRandom, zipfSampler } from '../../../scripts/capacity/simulate.ts';
import { approvalDefinition, walk } from '../../../scripts/capacity/state-machine.ts';

const inputs = loadInputs(resolve(import.meta.dirname, '..', '..', '..', 'capacity'));
const definition = approvalDefinition();

describe('the approval state machine as the model reads it', () => {
  it('counts two transitions and two invocations when a decision resumes Notify', () => {
    const path = walk(definition, {});
    expect(path.states).toEqual(['Notify', 'Finalize']);
    expect([path.transitions, path.lambdaInvocations, path.waitingTasks]).toEqual([2, 2, 1]);
  });

  it('counts the expiry path through the Choice, the Wait and Expire', () => {
    const path = walk(definition, {
      outcomes: { Notify: 'States.Timeout' },
      choices: { EscalateIfConfigured: false },
    });
    expect(path.states).toEqual(['Notify', 'EscalateIfConfigured', 'WaitForDeadline', 'Expire', 'Finalize']);
    expect(path.lambdaInvocations).toBe(3);
  });

  it('counts the escalation that also times out', () => {
    const path = walk(definition, {
      outcomes: { Notify: 'States.Timeout', Escalate: 'States.Timeout' },
      choices: { EscalateIfConfigured: true },
    });
    expect(path.transitions).toBe(6);
    expect(path.waitingTasks).toBe(2);
  });

  it('refuses a path through a task without a Catch for the error', () => {
    expect(() => walk(definition, { outcomes: { Finalize: 'States.Timeout' } })).not.toThrow();
    expect(() =>
      walk(
        { StartAt: 'A', States: { A: { Type: 'Task', End: true } } },
        { outcomes: { A: 'States.Timeout' } },
      ),
    ).toThrow(/no Catch for States.Timeout/);
  });
});

describe('flows from the lifecycle', () => {
  it('ends every flow kind in the status its name says', () => {
    for (const kind of FLOW_KINDS) {
      expect(() => templateFlow({ kind, minApprovals: 2, channels: 1 })).not.toThrow();
    }
  });

  it('splits the mix into shapes whose weights add up to 1', () => {
    const total = flowShapes(inputs.mix).reduce((sum, s) => sum + s.weight, 0);
    expect(total).toBeCloseTo(1, 12);
  });

  it('charges an auto-allowed request one transaction of the request item, its viewer pointer and three events, and no execution', () => {
    const facts = flowFacts(inputs.mix, definition, stackSizing(inputs.mix));
    const auto = facts.find((f) => f.kind === 'auto_allowed');
    const commit = templateFlow({ kind: 'auto_allowed', minApprovals: 1, channels: 1 })[0];
    expect(auto && commit).toBeTruthy();
    if (!auto || !commit) return;
    const requestUnits = 2 * Math.ceil((commit.requestBytes + 200) / 1024);
    const eventUnits = commit.eventBytes.reduce((sum, bytes) => sum + 2 * Math.ceil(bytes / 1024), 0);
    // + its requester's viewer pointer (a small item in the transaction, 2) + calls and submissions
    // rate counters (1 each) + the expected idempotency item.
    expect(auto.writeUnits.requests).toBeCloseTo(
      requestUnits + 2 + 2 + inputs.mix.idempotencyKeyShare * 2,
      9,
    );
    expect(auto.writeUnits.audit).toBe(eventUnits);
    expect([auto.executions, auto.transitions, auto.workflowInvocations]).toEqual([0, 0, 0]);
  });
});

function component(partial: Partial<Component> & Pick<Component, 'id' | 'loadPerRate'>): Component {
  return {
    label: partial.id,
    unit: 'x/s',
    limit: { 'us-east-1': 100, 'us-gov-west-1': 50 },
    raisable: 'yes',
    ...partial,
  };
}

describe('model arithmetic', () => {
  const model: Model = {
    facts: [],
    sizing: { apiMaxWaitSeconds: 10, workflowReserved: 20 },
    simulation: { requests: 1, commits: 1, largestCommitItems: 1, tallies: [] },
    components: [
      component({ id: 'slow', loadPerRate: 0.5 }),
      component({ id: 'fast', loadPerRate: 2 }),
      component({ id: 'idle', loadPerRate: 0 }),
    ],
  };

  it('reaches a limit at limit ÷ load per request', () => {
    const [slow, fast, idle] = model.components;
    if (!slow || !fast || !idle) throw new Error('fixture');
    expect(limitReachedAt(slow, 'us-east-1')).toBe(200);
    expect(limitReachedAt(fast, 'us-gov-west-1')).toBe(25);
    expect(limitReachedAt(idle, 'us-east-1')).toBe(Number.POSITIVE_INFINITY);
  });

  it('lists the limits hit at a rate, the first reached first', () => {
    expect(limitsHit(model, 'us-east-1', 49).map((c) => c.id)).toEqual([]);
    expect(limitsHit(model, 'us-east-1', 50).map((c) => c.id)).toEqual(['fast']);
    expect(limitsHit(model, 'us-gov-west-1', 100).map((c) => c.id)).toEqual(['fast', 'slow']);
  });

  it('prices 1,000 flows from the per-flow counts and the published prices', () => {
    const flow: FlowFacts = {
      kind: 'approved_redeemed',
      minApprovals: 1,
      weight: 1,
      commits: 4,
      auditEvents: 2000,
      largestTransactionItems: 6,
      apiCalls: 10,
      heldSeconds: 100,
      writeUnits: { requests: 30, audit: 10, 'requests/pending-by-group': 4 },
      readUnits: 20,
      executions: 1,
      transitions: 2,
      workflowInvocations: 2,
      sendTaskSuccess: 1,
      assumeRole: 1,
    };
    const one: Inputs = structuredClone(inputs);
    const p = one.prices.regions['us-east-1'];
    const set: Record<string, number> = {
      apigwPerMillionRequests: 3.5,
      dynamodbPerMillionWriteUnits: 1,
      sfnPerThousandTransitions: 0.025,
      s3PerThousandPuts: 0.005,
    };
    for (const [id, price] of Object.entries(p)) price.value = set[id] ?? 0;
    const line = costPerThousand(one, { ...model, facts: [flow] }, 'us-east-1', () => true);
    expect(line['API Gateway']).toBeCloseTo(((10 * 3.5) / 1e6) * 1000, 12);
    expect(line['DynamoDB writes']).toBeCloseTo(((44 * 1) / 1e6) * 1000, 12);
    expect(line['Step Functions']).toBeCloseTo(((2 * 0.025) / 1e3) * 1000, 12);
    // 2,000 events = 2 archiver batches of 1,000, two objects each.
    expect(line['S3 archive']).toBeCloseTo(((4 * 0.005) / 1e3) * 1000, 12);
    expect(line['Lambda GB-s']).toBe(0);
  });

  it('formats numbers and dollars the same on every machine', () => {
    expect([0, 7, 0.5, 2.345, 12.34, 1234.5, 40000].map(formatNumber)).toEqual([
      '0',
      '7',
      '0.50',
      '2.35',
      '12.3',
      '1,235',
      '40,000',
    ]);
    expect(formatNumber(Number.POSITIVE_INFINITY)).toBe('never');
    expect([formatDollars(0.01234), formatDollars(4.456)]).toEqual(['$0.0123', '$4.46']);
  });
});

describe('the committed mix', () => {
  it("models the default deployment: the key functions' default shard counts", () => {
    expect(inputs.mix.deployment.groupShards).toBe(DEFAULT_GROUP_SHARDS);
    expect(inputs.mix.deployment.statusShards).toBe(DEFAULT_STATUS_SHARDS);
  });

  it('keeps every commit within a DynamoDB transaction', () => {
    const facts = flowFacts(inputs.mix, definition, stackSizing(inputs.mix));
    const limit = inputs.quotas.regions['us-east-1'].dynamodbTransactionItems?.value ?? 0;
    expect(Math.max(...facts.map((f) => f.largestTransactionItems))).toBeLessThanOrEqual(limit);
  });
});

describe('simulation primitives', () => {
  it('draws the same numbers for the same seed', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    expect(Array.from({ length: 5 }, a)).toEqual(Array.from({ length: 5 }, b));
  });

  it('draws Zipf ranks with the largest first', () => {
    const draw = zipfSampler(100, 1, seededRandom(1));
    const counts = new Array(100).fill(0);
    for (let i = 0; i < 50_000; i++) counts[draw()] += 1;
    const harmonic = Array.from({ length: 100 }, (_, k) => 1 / (k + 1)).reduce((a, b) => a + b, 0);
    expect(counts[0] / 50_000).toBeCloseTo(1 / harmonic, 1);
    expect(counts[0]).toBeGreaterThan(counts[9] * 5);
  });
});

describe('inputs', () => {
  it('refuses a mix whose shares do not add up to 1, naming the field', () => {
    const mix = structuredClone(inputs.mix) as { shares: { denied: number } };
    mix.shares.denied = 0.5;
    expect(() => parseInput(mixSchema, JSON.stringify(mix), 'mix.json')).toThrow(
      /mix\.json[\s\S]*shares \(auto_allowed \+ approval \+ denied\) must add up to 1/,
    );
  });

  it('refuses a file that is not JSON, saying so', () => {
    expect(() => parseInput(mixSchema, '{', 'mix.json')).toThrow(CapacityInputError);
    expect(() => parseInput(mixSchema, '{', 'mix.json')).toThrow(/mix\.json is not JSON/);
  });
});
