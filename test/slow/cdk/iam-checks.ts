/**
 * Least privilege, read from the synthesized policies: what each role may do, on what. Run by
 * gateway-stack.test.ts on its synthesized template (one synth per file keeps the suite fast).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type CfnTemplate, property, resourcesOfType, type Synthesized } from './synth.ts';

interface Statement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

interface PolicyOf {
  readonly policy: string;
  readonly roles: string[];
  readonly statements: Statement[];
}

const list = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);
const resources = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);

function managedPolicies(json: CfnTemplate): PolicyOf[] {
  return resourcesOfType(json, 'AWS::IAM::ManagedPolicy').map(([policy, resource]) => ({
    policy,
    roles: ((resource.Properties?.Roles ?? []) as { Ref: string }[]).map((r) => r.Ref),
    statements: property<{ Statement: Statement[] }>(resource, 'PolicyDocument').Statement,
  }));
}

function policyOfRole(json: CfnTemplate, rolePrefix: string): PolicyOf {
  const found = managedPolicies(json).filter((p) => p.roles.some((r) => r.startsWith(rolePrefix)));
  if (found.length !== 1)
    throw new Error(`expected one managed policy on ${rolePrefix}*, found ${found.length}`);
  return found[0] as PolicyOf;
}

/** Does `resource` (a CloudFormation value) refer to the resource with this logical id prefix? */
function refersTo(resource: unknown, logicalIdPrefix: string): boolean {
  return JSON.stringify(resource).includes(`"${logicalIdPrefix}`);
}

function actionsOn(policy: PolicyOf, logicalIdPrefix: string): string[] {
  return policy.statements
    .filter((s) => s.Effect === 'Allow' && resources(s.Resource).some((r) => refersTo(r, logicalIdPrefix)))
    .flatMap((s) => list(s.Action));
}

export function describeIamChecks(synthesized: () => Synthesized): void {
  describe('IAM of the gateway stack', () => {
    let synth: Synthesized;

    beforeAll(() => {
      synth = synthesized();
    });

    it('uses no inline policies: every permission is in one customer-managed policy per role', () => {
      expect(resourcesOfType(synth.json, 'AWS::IAM::Policy')).toEqual([]);
      for (const [, role] of resourcesOfType(synth.json, 'AWS::IAM::Role')) {
        expect(role.Properties?.Policies).toBeUndefined();
      }
      for (const prefix of [
        'ApiFunctionRole',
        'WorkflowFunctionRole',
        'SweeperFunctionRole',
        'ApprovalsRole',
      ]) {
        expect(() => policyOfRole(synth.json, prefix)).not.toThrow();
      }
    });

    it('never lets a function update or delete an audit event, nor scan or batch-write any table', () => {
      for (const prefix of ['ApiFunctionRole', 'WorkflowFunctionRole', 'SweeperFunctionRole']) {
        const policy = policyOfRole(synth.json, prefix);
        const onAudit = actionsOn(policy, 'TablesAudit');
        expect(onAudit.sort()).toEqual([
          'dynamodb:ConditionCheckItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:Query',
        ]);
        // The one UpdateItem: the api's rate counters, on `rate#…` items of the requests table only.
        const counters = policy.statements.filter((s) => s.Sid === 'RateCounters');
        if (prefix === 'ApiFunctionRole') {
          expect(counters).toHaveLength(1);
          expect(list(counters[0]?.Action ?? [])).toEqual(['dynamodb:UpdateItem']);
          expect(JSON.stringify(counters[0]?.Resource)).toContain('TablesRequests');
          expect(JSON.stringify(counters[0]?.Resource)).not.toContain('TablesAudit');
          expect(counters[0]?.Condition).toEqual({
            'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['rate#*'] },
          });
        } else {
          expect(counters).toEqual([]);
        }
        // A commit's index upkeep: UpdateItem on `pending#…` counters, DeleteItem on `grp#…` and
        // `view#…` pointers.
        const upkeep = policy.statements.filter(
          (s) => s.Sid === 'PendingCounters' || s.Sid === 'PendingPointers',
        );
        expect(upkeep.map((s) => [s.Sid, list(s.Action), s.Condition])).toEqual([
          [
            'PendingCounters',
            ['dynamodb:UpdateItem'],
            { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['pending#*'] } },
          ],
          [
            'PendingPointers',
            ['dynamodb:DeleteItem'],
            { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['grp#*', 'view#*'] } },
          ],
        ]);
        for (const statement of upkeep)
          expect(JSON.stringify(statement.Resource)).not.toContain('TablesAudit');
        const everyAction = policy.statements
          .filter(
            (s) => s.Sid !== 'RateCounters' && s.Sid !== 'PendingCounters' && s.Sid !== 'PendingPointers',
          )
          .flatMap((s) => list(s.Action));
        for (const forbidden of [
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:BatchWriteItem',
          'dynamodb:Scan',
          'dynamodb:PartiQLUpdate',
          'dynamodb:PartiQLDelete',
        ]) {
          expect(everyAction, `${prefix} must not hold ${forbidden}`).not.toContain(forbidden);
        }
        expect(
          everyAction.filter((a) => a.includes('*')),
          `${prefix} action wildcards`,
        ).toEqual([]);
      }
    });

    it('grants the requests table and only its four keys-only indexes', () => {
      const policy = policyOfRole(synth.json, 'ApiFunctionRole');
      const statement = policy.statements.find((s) => s.Sid === 'RequestsTable');
      expect(statement).toBeDefined();
      const rendered = JSON.stringify(statement?.Resource);
      expect(rendered).toContain('/index/by-status-shard');
      expect(rendered).toContain('/index/pending-by-group');
      expect(rendered).toContain('/index/pending-by-group-deadline');
      expect(rendered).toContain('/index/visible-by');
      expect(rendered).not.toContain('/index/by-requester');
      expect(rendered).not.toContain('/index/*');
    });

    it('uses the table key only through DynamoDB', () => {
      const policy = policyOfRole(synth.json, 'WorkflowFunctionRole');
      const kms = policy.statements.filter((s) => list(s.Action).some((a) => a.startsWith('kms:')));
      expect(kms).toHaveLength(1);
      expect(kms[0]?.Condition).toEqual({
        StringEquals: {
          'kms:ViaService': { 'Fn::Join': ['', ['dynamodb.us-east-1.', { Ref: 'AWS::URLSuffix' }]] },
        },
      });
    });

    it('lets the api and the sweeper start executions, and every function only resume tasks of this state machine', () => {
      const [smLogicalId] = resourcesOfType(synth.json, 'AWS::StepFunctions::StateMachine')[0] ?? [];
      for (const [prefix, canStart] of [
        ['ApiFunctionRole', true],
        ['SweeperFunctionRole', true],
        ['WorkflowFunctionRole', false],
      ] as const) {
        const states = policyOfRole(synth.json, prefix).statements.filter((s) =>
          list(s.Action).some((a) => a.startsWith('states:')),
        );
        const actions = states.flatMap((s) => list(s.Action)).sort();
        expect(actions, prefix).toEqual(
          canStart ? ['states:SendTaskSuccess', 'states:StartExecution'] : ['states:SendTaskSuccess'],
        );
        for (const statement of states) expect(statement.Resource).toEqual({ Ref: smLogicalId });
      }
    });

    it('lets the state machine invoke only the workflow function', () => {
      const policy = policyOfRole(synth.json, 'ApprovalsRole');
      const invoke = policy.statements.filter((s) => list(s.Action).includes('lambda:InvokeFunction'));
      expect(invoke).toHaveLength(1);
      expect(invoke[0]?.Resource).toEqual({
        'Fn::GetAtt': [expect.stringMatching(/^WorkflowFunction[0-9A-F]{8}$/), 'Arn'],
      });
    });

    it('uses Resource "*" only for X-Ray and CloudWatch Logs delivery actions, which have no resource types', () => {
      for (const policy of managedPolicies(synth.json)) {
        for (const statement of policy.statements) {
          if (!resources(statement.Resource).includes('*')) continue;
          for (const action of list(statement.Action)) {
            expect(action, `${policy.policy} ${statement.Sid}`).toMatch(
              /^(xray:(PutTraceSegments|PutTelemetryRecords|GetSamplingRules|GetSamplingTargets)|logs:(Create|Get|Update|Delete|List)LogDeliver(y|ies)|logs:(PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups))$/,
            );
          }
        }
      }
    });

    it('lets each function write only its own log group', () => {
      for (const name of ['ApiFunction', 'WorkflowFunction', 'SweeperFunction']) {
        const policy = policyOfRole(synth.json, `${name}Role`);
        const logs = policy.statements.find((s) => s.Sid === 'WriteOwnLogs');
        expect(logs?.Resource).toEqual({
          'Fn::GetAtt': [expect.stringMatching(new RegExp(`^${name}Logs`)), 'Arn'],
        });
      }
    });

    it('trusts only the right service, and Step Functions only on behalf of this account', () => {
      const trust = (prefix: string) => {
        const role = resourcesOfType(synth.json, 'AWS::IAM::Role').find(([id]) => id.startsWith(prefix));
        if (!role) throw new Error(`no role ${prefix}*`);
        return property<{ Statement: Statement[] }>(role[1], 'AssumeRolePolicyDocument').Statement;
      };
      expect(trust('ApprovalsRole')).toEqual([
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'states.amazonaws.com' },
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        },
      ]);
      expect(trust('ApiFunctionRole')).toEqual([
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
      ]);
    });
  });
}
