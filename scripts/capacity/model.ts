/**
 * The capacity and cost model (docs/capacity.md): per component, the load each rate line puts on
 * it, the quota it meets in each Region, and what a request costs. Per-request counts come from the
 * code: commits from the lifecycle functions, DynamoDB items and partitions from the store's key
 * functions, transitions and invocations from the deployed state machine's definition, the
 * long-poll cap and the workflow reservation from the stack's sizing rule. Rates, shares, durations
 * and read units are the mix's assumptions (capacity/mix.json).
 */

import { checkSizing } from '../../cdk/approvals-stack.ts';
import {
  GROUP_CREATED_INDEX,
  GROUP_DEADLINE_INDEX,
  type KeyOptions,
  partitionWritesForCommit,
  planCommit,
  STATUS_SHARD_INDEX,
  VIEWER_INDEX,
} from '../../functions/adapters/dynamodb/keys.ts';
import { type FlowKind, flowShapes, isApprovalFlow, templateFlow } from './flows.ts';
import { type Inputs, type Mix, type QuotaId, quotaOf, REGIONS, type Region } from './inputs.ts';
import { hottestKeyRate, type SimulationResult, targetOf } from './simulate.ts';
import { type AslDefinition, type ExecutionPath, walk } from './state-machine.ts';

/** Attributes of a request item besides its JSON body (version, status, index keys), in bytes. */
const REQUEST_ITEM_OVERHEAD_BYTES = 200;
/** Counter, pointer, idempotency and task-token items: well under 1 KB each. */
const SMALL_ITEM_UNITS = 1;
/** The archiver's stream mapping: at most this many records per batch (cdk/constructs/audit-archive.ts). */
const ARCHIVER_BATCH_RECORDS = 1000;
/** Objects the archiver writes per batch: one events object and one checkpoint. */
const ARCHIVER_PUTS_PER_BATCH = 2;

export const INDEXES = [STATUS_SHARD_INDEX, GROUP_CREATED_INDEX, GROUP_DEADLINE_INDEX, VIEWER_INDEX] as const;

/** What one request of a flow costs the platform, in expected counts. */
export interface FlowFacts {
  readonly kind: FlowKind;
  readonly minApprovals: number;
  readonly weight: number;
  readonly commits: number;
  readonly auditEvents: number;
  readonly largestTransactionItems: number;
  readonly apiCalls: number;
  /** Seconds an api function is held by the requester's long-polls while the request waits. */
  readonly heldSeconds: number;
  /** DynamoDB write units by target (`requests`, `audit`, `requests/<index>`), transactions at 2×. */
  readonly writeUnits: Readonly<Record<string, number>>;
  readonly readUnits: number;
  readonly executions: number;
  readonly transitions: number;
  readonly workflowInvocations: number;
  readonly sendTaskSuccess: number;
  readonly assumeRole: number;
}

const SFN_PATHS: Record<FlowKind, ExecutionPath | undefined> = {
  auto_allowed: undefined,
  auto_allowed_redeemed: undefined,
  denied: undefined,
  approved_redeemed: {},
  approved_unredeemed: {},
  rejected: {},
  cancelled: {},
  expired: { outcomes: { Notify: 'States.Timeout' }, choices: { EscalateIfConfigured: false } },
  expired_escalated: {
    outcomes: { Notify: 'States.Timeout', Escalate: 'States.Timeout' },
    choices: { EscalateIfConfigured: true },
  },
};

export interface Sizing {
  readonly apiMaxWaitSeconds: number;
  readonly workflowReserved: number;
}

/** The stack's own defaults for the long-poll cap and the workflow reservation (cdk/approvals-stack.ts). */
export function stackSizing(mix: Mix): Sizing {
  const sizing = checkSizing({ apiThrottleRateLimit: mix.deployment.apiThrottleRateLimit });
  return { apiMaxWaitSeconds: sizing.apiMaxWait, workflowReserved: sizing.workflowReserved };
}

export function flowFacts(mix: Mix, definition: AslDefinition, sizing: Sizing): FlowFacts[] {
  const keyOptions: KeyOptions = {
    shards: mix.deployment.groupShards,
    statusShards: mix.deployment.statusShards,
  };
  return flowShapes(mix).map(({ shape, weight }) => {
    const commits = templateFlow(shape);
    const writeUnits: Record<string, number> = { requests: 0, audit: 0 };
    for (const index of INDEXES) writeUnits[`requests/${index}`] = 0;
    let largest = 0;
    for (const commit of commits) {
      const items = planCommit(commit.before, commit.after, keyOptions);
      // An idempotency item is one more item in the same transaction (mix.idempotencyKeyShare).
      largest = Math.max(largest, items.length + (commit.before ? 0 : 1));
      let event = 0;
      for (const item of items) {
        if (item.kind === 'request') {
          writeUnits.requests =
            (writeUnits.requests ?? 0) +
            2 * Math.ceil((commit.requestBytes + REQUEST_ITEM_OVERHEAD_BYTES) / 1024);
        } else if (item.kind === 'event') {
          writeUnits.audit =
            (writeUnits.audit ?? 0) + 2 * Math.ceil((commit.eventBytes[event++] ?? 1024) / 1024);
        } else {
          writeUnits.requests = (writeUnits.requests ?? 0) + 2 * SMALL_ITEM_UNITS;
        }
      }
      for (const write of partitionWritesForCommit(commit.before, commit.after, keyOptions)) {
        if (write.index) writeUnits[targetOf(write)] = (writeUnits[targetOf(write)] ?? 0) + SMALL_ITEM_UNITS;
      }
    }
    const approval = isApprovalFlow(shape.kind);
    const decisionSeconds = shape.kind.startsWith('expired')
      ? mix.approval.timeoutSeconds
      : mix.approval.decisionSeconds;
    const polls = approval
      ? mix.approval.longPollShare * Math.ceil(decisionSeconds / sizing.apiMaxWaitSeconds)
      : 0;
    const votes = commits.filter((c) => c.step === 'approve' || c.step === 'reject').length;
    const redeems = commits.filter((c) => c.step === 'redeem').length;
    const outcomes = commits.filter((c) => c.step === 'outcome').length;
    const cancels = commits.filter((c) => c.step === 'cancel').length;
    const listings = approval ? mix.approval.listingsPerFlow : 0;
    const apiCalls = 1 + polls + votes + listings + redeems + outcomes + cancels;
    const sfnPath = SFN_PATHS[shape.kind];
    const path = sfnPath ? walk(definition, sfnPath) : undefined;
    const invocations = path?.lambdaInvocations ?? 0;
    // Every api call counts against the caller's calls-per-minute item, a submission also against
    // its submissions item: one UpdateItem each (functions/core/limits.ts).
    writeUnits.requests = (writeUnits.requests ?? 0) + (apiCalls + 1) * SMALL_ITEM_UNITS;
    writeUnits.requests += mix.idempotencyKeyShare * 2 * SMALL_ITEM_UNITS;
    // Task tokens: one put per waiting stage, one more when Finalize settles it.
    if (path) {
      writeUnits.requests +=
        (path.waitingTasks + (path.states.includes('Finalize') ? 1 : 0)) * SMALL_ITEM_UNITS;
    }
    const r = mix.readUnits;
    const readUnits =
      r.submit +
      polls * r.poll +
      votes * r.vote +
      listings * r.listing +
      redeems * r.redeem +
      outcomes * r.outcome +
      cancels * r.cancel +
      invocations * r.workflowTask;
    return {
      kind: shape.kind,
      minApprovals: shape.minApprovals,
      weight,
      commits: commits.length,
      auditEvents: commits.reduce((sum, c) => sum + c.events, 0),
      largestTransactionItems: largest,
      apiCalls,
      heldSeconds: approval ? mix.approval.longPollShare * decisionSeconds : 0,
      writeUnits,
      readUnits,
      executions: path ? 1 : 0,
      transitions: path?.transitions ?? 0,
      workflowInvocations: invocations,
      sendTaskSuccess: ['approved_redeemed', 'approved_unredeemed', 'rejected', 'cancelled'].includes(
        shape.kind,
      )
        ? 1
        : 0,
      assumeRole: redeems * mix.stsShareOfRedemptions,
    };
  });
}

/** Σ weight × value over the flows: the per-submission average. */
function perRequest(facts: readonly FlowFacts[], value: (f: FlowFacts) => number): number {
  return facts.reduce((sum, f) => sum + f.weight * value(f), 0);
}

export interface Component {
  readonly id: string;
  readonly label: string;
  readonly unit: string;
  /** Load per submitted request per second (load at rate R is R × this). */
  readonly loadPerRate: number;
  readonly limit: Readonly<Record<Region, number>>;
  readonly raisable: string;
}

export interface Model {
  readonly facts: readonly FlowFacts[];
  readonly sizing: Sizing;
  readonly components: readonly Component[];
  readonly simulation: SimulationResult;
}

/** WCU one write to `target` takes: base-table items are written in transactions (2×), index entries are small. */
export function writeUnitsPerWrite(target: string): number {
  return target.includes('/') ? SMALL_ITEM_UNITS : 2 * SMALL_ITEM_UNITS;
}

export function buildModel(inputs: Inputs, definition: AslDefinition, simulation: SimulationResult): Model {
  const { mix, quotas } = inputs;
  const sizing = stackSizing(mix);
  const facts = flowFacts(mix, definition, sizing);
  const q = (id: QuotaId) =>
    Object.fromEntries(REGIONS.map((region) => [region, quotaOf(quotas, region, id).value])) as Record<
      Region,
      number
    >;
  const both = (value: number) => ({ 'us-east-1': value, 'us-gov-west-1': value });
  const raisable = (id: QuotaId) => quotaOf(quotas, 'us-east-1', id).raisable;
  const rt = mix.runtime;
  const apiCalls = perRequest(facts, (f) => f.apiCalls);
  const auditEvents = perRequest(facts, (f) => f.auditEvents);
  const auditUnits = perRequest(facts, (f) => f.writeUnits.audit ?? 0);
  // Keys shared by many requests grow with the rate; a key of one request does not (its few writes
  // come within that request's life) and is checked by the simulation's own assertion.
  const hottest = simulation.tallies
    .filter((t) => !t.perRequestKey)
    .map((t) => hottestKeyRate(t, simulation.requests, 1) * writeUnitsPerWrite(t.target))
    .reduce((a, b) => Math.max(a, b), 0);
  const components: Component[] = [
    {
      id: 'api-stage',
      label: 'API Gateway stage throttle (stack prop apiThrottleRateLimit)',
      unit: 'req/s',
      loadPerRate: apiCalls,
      limit: both(mix.deployment.apiThrottleRateLimit),
      raisable: 'yes: a stack prop, within the sizing rule',
    },
    {
      id: 'api-account',
      label: 'API Gateway account throttle',
      unit: 'req/s',
      loadPerRate: apiCalls,
      limit: q('apigwAccountRps'),
      raisable: raisable('apigwAccountRps'),
    },
    {
      id: 'lambda-api',
      label: 'Lambda concurrency: api function (long-polls held)',
      unit: 'concurrent',
      loadPerRate: apiCalls * rt.apiCallSeconds + perRequest(facts, (f) => f.heldSeconds),
      limit: Object.fromEntries(
        REGIONS.map((region) => [
          region,
          quotaOf(quotas, region, 'lambdaConcurrency').value - sizing.workflowReserved,
        ]),
      ) as Record<Region, number>,
      raisable: `${raisable('lambdaConcurrency')} (account quota minus the workflow reservation)`,
    },
    {
      id: 'lambda-workflow',
      label: 'Lambda concurrency: workflow function (reserved)',
      unit: 'concurrent',
      loadPerRate: perRequest(facts, (f) => f.workflowInvocations) * rt.workflowTaskSeconds,
      limit: both(sizing.workflowReserved),
      raisable: 'yes: stack prop workflowReservedConcurrency',
    },
    {
      id: 'sfn-start',
      label: 'Step Functions StartExecution (refill)',
      unit: 'calls/s',
      loadPerRate: perRequest(facts, (f) => f.executions),
      limit: q('sfnStartExecutionRefill'),
      raisable: raisable('sfnStartExecutionRefill'),
    },
    {
      id: 'sfn-transitions',
      label: 'Step Functions state transitions (refill)',
      unit: 'transitions/s',
      loadPerRate: perRequest(facts, (f) => f.transitions),
      limit: q('sfnStateTransitionRefill'),
      raisable: raisable('sfnStateTransitionRefill'),
    },
    {
      id: 'sfn-open',
      label: 'Step Functions open executions',
      unit: 'executions',
      loadPerRate: perRequest(
        facts,
        (f) =>
          f.executions *
          (f.kind.startsWith('expired') ? mix.approval.timeoutSeconds : mix.approval.decisionSeconds),
      ),
      limit: q('sfnOpenExecutions'),
      raisable: raisable('sfnOpenExecutions'),
    },
    {
      id: 'ddb-requests-writes',
      label: 'DynamoDB requests table writes',
      unit: 'WRU/s',
      loadPerRate: perRequest(facts, (f) => f.writeUnits.requests ?? 0),
      limit: q('dynamodbTableWrites'),
      raisable: raisable('dynamodbTableWrites'),
    },
    ...INDEXES.map((index) => ({
      id: `ddb-index-${index}`,
      label: `DynamoDB index ${index} writes`,
      unit: 'WRU/s',
      loadPerRate: perRequest(facts, (f) => f.writeUnits[`requests/${index}`] ?? 0),
      limit: q('dynamodbTableWrites'),
      raisable: raisable('dynamodbTableWrites'),
    })),
    {
      id: 'ddb-requests-reads',
      label: 'DynamoDB requests table reads',
      unit: 'RRU/s',
      loadPerRate: perRequest(facts, (f) => f.readUnits),
      limit: q('dynamodbTableReads'),
      raisable: raisable('dynamodbTableReads'),
    },
    {
      id: 'ddb-audit-writes',
      label: 'DynamoDB audit table writes',
      unit: 'WRU/s',
      loadPerRate: auditUnits,
      limit: q('dynamodbTableWrites'),
      raisable: raisable('dynamodbTableWrites'),
    },
    {
      id: 'ddb-hottest-partition',
      label: 'DynamoDB hottest partition key (simulation)',
      unit: 'WCU/s',
      loadPerRate: hottest,
      limit: q('dynamodbPartitionWrites'),
      raisable: raisable('dynamodbPartitionWrites'),
    },
    {
      id: 'sts',
      label: 'STS AssumeRole (aws_sts grants)',
      unit: 'calls/s',
      loadPerRate: perRequest(facts, (f) => f.assumeRole),
      limit: q('stsAssumeRoleRps'),
      raisable: raisable('stsAssumeRoleRps'),
    },
    {
      id: 'kms',
      label: 'KMS (data key: tables, logs)',
      unit: 'calls/s',
      loadPerRate: 0,
      limit: q('kmsSymmetricRps'),
      raisable: raisable('kmsSymmetricRps'),
    },
    {
      id: 's3-archive',
      label: 'S3 archive PUTs (events/ prefix)',
      unit: 'PUT/s',
      loadPerRate: (auditEvents / ARCHIVER_BATCH_RECORDS) * ARCHIVER_PUTS_PER_BATCH,
      limit: q('s3PutPerPrefix'),
      raisable: raisable('s3PutPerPrefix'),
    },
  ];
  return { facts, sizing, components, simulation };
}

/** The rate at which `component` reaches its limit in `region` (Infinity when it has no load). */
export function limitReachedAt(component: Component, region: Region): number {
  return component.loadPerRate > 0
    ? component.limit[region] / component.loadPerRate
    : Number.POSITIVE_INFINITY;
}

/** Components at or over their limit at `rate`, the first to be reached first. */
export function limitsHit(model: Model, region: Region, rate: number): Component[] {
  return model.components
    .filter((c) => c.loadPerRate * rate >= c.limit[region])
    .sort((a, b) => limitReachedAt(a, region) - limitReachedAt(b, region));
}

export type CostLine = Readonly<Record<string, number>>;

/** Dollars per 1,000 requests of the flows `which` selects, per price component. */
export function costPerThousand(
  inputs: Inputs,
  model: Model,
  region: Region,
  which: (kind: FlowKind) => boolean,
): CostLine {
  const p = Object.fromEntries(
    Object.entries(inputs.prices.regions[region]).map(([id, price]) => [id, price.value]),
  ) as Record<string, number>;
  const rt = inputs.mix.runtime;
  const logs = inputs.mix.logBytes;
  const selected = model.facts.filter((f) => which(f.kind));
  const total = selected.reduce((sum, f) => sum + f.weight, 0);
  const avg = (value: (f: FlowFacts) => number) =>
    total === 0 ? 0 : selected.reduce((sum, f) => sum + f.weight * value(f), 0) / total;
  const gb = (mb: number) => mb / 1024;
  const archiverBatches = (f: FlowFacts) => f.auditEvents / ARCHIVER_BATCH_RECORDS;
  const price = (id: string) => p[id] ?? 0;
  const line = {
    'API Gateway': avg((f) => f.apiCalls) * (price('apigwPerMillionRequests') / 1e6),
    'Lambda requests':
      avg((f) => f.apiCalls + f.workflowInvocations + archiverBatches(f)) *
      (price('lambdaPerMillionRequests') / 1e6),
    'Lambda GB-s':
      avg(
        (f) =>
          (f.apiCalls * rt.apiCallSeconds + f.heldSeconds) * gb(rt.apiMemoryMb) +
          f.workflowInvocations * rt.workflowTaskSeconds * gb(rt.workflowMemoryMb) +
          archiverBatches(f) * rt.archiverBatchSeconds * gb(rt.archiverMemoryMb),
      ) * price('lambdaPerGbSecond'),
    'DynamoDB writes':
      avg((f) => Object.values(f.writeUnits).reduce((a, b) => a + b, 0)) *
      (price('dynamodbPerMillionWriteUnits') / 1e6),
    'DynamoDB reads': avg((f) => f.readUnits) * (price('dynamodbPerMillionReadUnits') / 1e6),
    'Step Functions': avg((f) => f.transitions) * (price('sfnPerThousandTransitions') / 1e3),
    KMS: 0,
    'S3 archive':
      avg((f) => archiverBatches(f) * ARCHIVER_PUTS_PER_BATCH) * (price('s3PerThousandPuts') / 1e3),
    'CloudWatch Logs':
      avg(
        (f) =>
          (f.apiCalls * logs.perApiCall +
            f.workflowInvocations * logs.perWorkflowTask +
            f.transitions * logs.perStateTransition) /
          1024 ** 3,
      ) * price('logsPerGbIngested'),
  };
  return Object.fromEntries(Object.entries(line).map(([k, v]) => [k, v * 1000]));
}

export const isAutoAllowed = (kind: FlowKind) => kind === 'auto_allowed' || kind === 'auto_allowed_redeemed';
