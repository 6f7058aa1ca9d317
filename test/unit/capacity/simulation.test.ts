/**
 * The "must show" of the key design: a day of traffic through the store's key functions keeps
 * every partition key under DynamoDB's per-partition write limit at the model's top rate line.
 * This runs a 20,000-request sample of the seeded day; `npm run bench -- capacity` runs the full
 * million with the same code.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadInputs, quotaOf } from '../../../scripts/capacity/inputs.ts';
import { writeUnitsPerWrite } from '../../../scripts/capacity/model.ts';
import { hottestKeyRate, type SimulationResult, simulateDay } from '../../../scripts/capacity/simulate.ts';

const inputs = loadInputs(resolve(import.meta.dirname, '..', '..', '..', 'capacity'));
const SAMPLE = 20_000;
const top = Math.max(...inputs.mix.rates);
const limit = quotaOf(inputs.quotas, 'us-east-1', 'dynamodbPartitionWrites').value;

function peakUnits(result: SimulationResult): Record<string, number> {
  return Object.fromEntries(
    result.tallies.map((t) => [
      t.target,
      hottestKeyRate(t, result.requests, top) * writeUnitsPerWrite(t.target),
    ]),
  );
}

describe('a synthetic day through partitionWritesForCommit', () => {
  const result = simulateDay(inputs.mix, SAMPLE);

  it('writes every table and index of the key design', () => {
    expect(result.tallies.map((t) => t.target)).toEqual([
      'audit',
      'requests',
      'requests/by-status-shard',
      'requests/pending-by-group',
      'requests/pending-by-group-deadline',
      'requests/visible-by',
    ]);
    expect(result.commits).toBeGreaterThan(SAMPLE);
  });

  it(`keeps the hottest key of every table and index under ${limit} WCU/s at the top rate line`, {
    timeout: 60_000,
  }, () => {
    for (const [target, units] of Object.entries(peakUnits(result))) {
      expect(units, `${target} at ${top} requests/s`).toBeLessThan(limit);
    }
  });

  it('gives the same answer for the same seed', { timeout: 60_000 }, () => {
    expect(simulateDay(inputs.mix, 2_000)).toEqual(simulateDay(inputs.mix, 2_000));
  });

  it('would find the hot key the single status partition had', { timeout: 120_000 }, () => {
    // One shard per status and per group is the old by-status layout: every auto-allowed request
    // on one index key. The same check must then fail, or it proves nothing.
    const unsharded = structuredClone(inputs.mix);
    unsharded.deployment.statusShards = 1;
    unsharded.deployment.groupShards = 1;
    const units = peakUnits(simulateDay(unsharded, SAMPLE));
    expect(units['requests/by-status-shard']).toBeGreaterThan(limit);
  });
});
