/**
 * A synthetic day of traffic run through the store's key functions
 * (functions/adapters/dynamodb/keys.ts): many agents and approver groups of skewed (Zipf) sizes,
 * each request taking the commits of its flow. The result is, per table and index, the largest
 * share of writes any one partition key takes. Seeded, so every run gives the same answer.
 */
import {
  type KeyOptions,
  type PartitionWrite,
  partitionWritesForCommit,
} from '../../functions/adapters/dynamodb/keys.ts';
import { type Commit, flowShapes, type Identity, rebind, templateFlow } from './flows.ts';
import type { Mix } from './inputs.ts';

/** mulberry32: a small, fast, seeded generator (uniform in [0, 1)). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws ranks 0..n-1 with P(k) ∝ 1/(k+1)^skew: a few large members, a long tail of small ones. */
export function zipfSampler(n: number, skew: number, random: () => number): () => number {
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let k = 0; k < n; k++) {
    total += 1 / (k + 1) ** skew;
    cumulative[k] = total;
  }
  return () => {
    const target = random() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cumulative[mid] ?? 0) < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

function pick<T>(
  weights: readonly { readonly weight: number; readonly value: T }[],
  random: () => number,
): T {
  let r = random();
  for (const w of weights) {
    if (r < w.weight) return w.value;
    r -= w.weight;
  }
  const last = weights.at(-1);
  if (!last) throw new Error('nothing to pick from');
  return last.value;
}

export interface PartitionTally {
  /** `requests`, `audit`, or `requests/<index>`. */
  readonly target: string;
  readonly writes: number;
  readonly hottestKey: string;
  readonly hottestWrites: number;
  /** Whether the hottest key belongs to one request (its id in the key): its writes come within that request's life. */
  readonly perRequestKey: boolean;
}

export interface SimulationResult {
  readonly requests: number;
  readonly commits: number;
  readonly largestCommitItems: number;
  readonly tallies: readonly PartitionTally[];
}

export function targetOf(write: PartitionWrite): string {
  return write.index ? `${write.table}/${write.index}` : write.table;
}

/**
 * Runs `mix.simulation.requests` synthetic requests (or `requests`) through partitionWritesForCommit.
 * Keys that hold one request's id are counted per request (their largest count in any one
 * request); every other key is counted over the whole day.
 */
export function simulateDay(mix: Mix, requests = mix.simulation.requests): SimulationResult {
  const sim = mix.simulation;
  const random = seededRandom(sim.seed);
  const agent = zipfSampler(sim.agents, sim.agentSkew, random);
  const group = zipfSampler(sim.groups, sim.groupSkew, random);
  const shapes = flowShapes(mix).map(({ shape, weight }) => ({ weight, value: shape }));
  const groupCounts = [
    { weight: sim.groupsPerRequest['1'], value: 1 },
    { weight: sim.groupsPerRequest['2'], value: 2 },
  ];
  const options: KeyOptions = {
    shards: mix.deployment.groupShards,
    statusShards: mix.deployment.statusShards,
  };
  const templates = new Map<string, Commit[]>();
  const shared = new Map<string, Map<string, number>>();
  const perRequestMax = new Map<string, { key: string; writes: number }>();
  const totals = new Map<string, number>();
  let commits = 0;
  let largestCommitItems = 0;

  for (let n = 0; n < requests; n++) {
    const shape = pick(shapes, random);
    const templateKey = `${shape.kind}/${shape.minApprovals}/${shape.channels}`;
    let template = templates.get(templateKey);
    if (!template) {
      template = templateFlow(shape);
      templates.set(templateKey, template);
    }
    const groups = new Set<string>();
    const wanted = pick(groupCounts, random);
    while (groups.size < wanted) groups.add(`group-${group()}`);
    const who: Identity = {
      id: `ar_sim${n.toString(36).padStart(10, '0')}${Math.floor(random() * 1e9).toString(36)}`,
      requester: `agent:agent-${agent()}`,
      groups: [...groups],
      escalationGroups: [`group-${group()}`],
      createdAt: new Date(Date.UTC(2026, 0, 5) + Math.floor((n / requests) * 86_400_000)).toISOString(),
    };
    const local = new Map<string, Map<string, number>>();
    const idempotency =
      random() < mix.idempotencyKeyShare ? { requester: who.requester, key: `k-${n}` } : undefined;
    for (const commit of template) {
      const before = commit.before ? rebind(commit.before, who) : undefined;
      const after = rebind(commit.after, who);
      const writes = partitionWritesForCommit(before, after, {
        ...options,
        ...(before === undefined && idempotency ? { idempotency } : {}),
      });
      commits += 1;
      largestCommitItems = Math.max(largestCommitItems, writes.filter((w) => !w.index).length);
      for (const write of writes) {
        const target = targetOf(write);
        totals.set(target, (totals.get(target) ?? 0) + 1);
        const bucket = write.partitionKey.includes(who.id) ? local : shared;
        let keys = bucket.get(target);
        if (!keys) {
          keys = new Map();
          bucket.set(target, keys);
        }
        keys.set(write.partitionKey, (keys.get(write.partitionKey) ?? 0) + 1);
      }
    }
    for (const [target, keys] of local) {
      for (const [key, writes] of keys) {
        const best = perRequestMax.get(target);
        if (!best || writes > best.writes) perRequestMax.set(target, { key, writes });
      }
    }
  }

  const tallies: PartitionTally[] = [...totals.keys()].sort().map((target) => {
    let hottestKey = '';
    let hottestWrites = 0;
    for (const [key, writes] of shared.get(target) ?? []) {
      if (writes > hottestWrites) {
        hottestKey = key;
        hottestWrites = writes;
      }
    }
    const own = perRequestMax.get(target);
    const perRequestKey = hottestWrites === 0 && own !== undefined;
    return {
      target,
      writes: totals.get(target) ?? 0,
      hottestKey: perRequestKey ? (own?.key ?? '') : hottestKey,
      hottestWrites: perRequestKey ? (own?.writes ?? 0) : hottestWrites,
      perRequestKey,
    };
  });
  return { requests, commits, largestCommitItems, tallies };
}

/**
 * The hottest key's write rate at `rate` requests per second. A key shared by many requests takes
 * its share of the day's writes, scaled to `rate`; a key of one request takes all of that request's
 * writes to it within one second (the worst case: a flow's commits are seconds to hours apart).
 */
export function hottestKeyRate(tally: PartitionTally, requests: number, rate: number): number {
  return tally.perRequestKey ? tally.hottestWrites : (tally.hottestWrites / requests) * rate;
}
