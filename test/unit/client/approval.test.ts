import { afterEach, describe, expect, it } from 'vitest';
import {
  ActionNotApprovedError,
  type ActionRequestView,
  ApprovalsApiError,
  ApprovalsClient,
  type ApprovedAction,
  needsApproval,
  withApproval,
} from '../../../client/index.ts';
import { TOKENS } from '../../support/app.ts';
import { decision, exportInput } from '../../support/fixtures.ts';
import { type PolicyAnswer, startGateway } from './server.ts';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

async function gateway(answer?: PolicyAnswer) {
  const started = await startGateway(answer ? { answer } : {});
  closers.push(started.close);
  const as = (who: keyof typeof TOKENS) =>
    new ApprovalsClient({ baseUrl: started.url, token: TOKENS[who], retry: { baseDelayMs: 5 } });
  /** Both data owners approve, as soon as the request is pending. */
  const approveBoth = async (request: ActionRequestView) => {
    for (const who of ['bob', 'carol'] as const) {
      await as(who).decide(request.id, { decision: 'approve', actionHash: request.action_hash });
    }
  };
  return { ...started, as, approveBoth };
}

describe('Function: withApproval', () => {
  it('runs the action only after both approvals, passes the grant, and reports it succeeded', async () => {
    // Prepare
    const { as, approveBoth } = await gateway();
    const agent = as('agent');
    const calls: ApprovedAction[] = [];
    let approvals: Promise<void> | undefined;

    // Act
    const result = await withApproval(
      agent,
      exportInput,
      (approved) => {
        calls.push(approved);
        return 'exported';
      },
      {
        onPending: (request) => {
          expect(calls).toHaveLength(0);
          approvals = approveBoth(request);
        },
      },
    );
    await approvals;

    // Assess
    expect(result).toBe('exported');
    expect(calls).toHaveLength(1);
    const [approved] = calls;
    expect(approved?.request.status).toBe('approved');
    expect(approved?.grant).toMatchObject({ request_id: approved?.request.id, grant: { type: 'none' } });
    expect(approved?.credentials).toBeUndefined();
    const closed = await agent.get(approved?.request.id ?? '');
    expect(closed.outcome).toMatchObject({ status: 'succeeded' });
    expect(closed.grant?.redeemed_at).toBeDefined();
  });

  it('reports the outcome failed, with the error as detail, and rethrows', async () => {
    const { as, approveBoth } = await gateway();
    const agent = as('agent');
    let requestId = '';

    const run = withApproval(
      agent,
      () => exportInput,
      () => {
        throw new Error('destination bucket is full');
      },
      {
        onPending: (request) => {
          requestId = request.id;
          void approveBoth(request);
        },
      },
    );

    await expect(run).rejects.toThrow('destination bucket is full');
    const closed = await agent.get(requestId);
    expect(closed.outcome).toMatchObject({ status: 'failed', detail: 'destination bucket is full' });
  });

  it("throws the gateway's agent_message, without running the action, when the policy denies", async () => {
    const { as } = await gateway(
      decision({
        outcome: 'deny',
        approval: undefined,
        reasons: [{ code: 'cui_offsite', message: 'CUI may not leave the enclave.' }],
      }),
    );
    let ran = false;

    const error = await withApproval(as('agent'), exportInput, () => {
      ran = true;
    }).catch((e: unknown) => e);

    expect(ran).toBe(false);
    expect(error).toBeInstanceOf(ActionNotApprovedError);
    const notApproved = error as ActionNotApprovedError;
    expect(notApproved.status).toBe('denied');
    expect(notApproved.message).toBe(notApproved.request.agent_message);
    expect(notApproved.message).toContain('CUI may not leave the enclave.');
    expect(notApproved.message).toContain('Nothing has been executed.');
  });

  it("throws the reviewer's comment to the agent when a human rejects", async () => {
    const { as } = await gateway();
    let ran = false;

    const error = await withApproval(
      as('agent'),
      exportInput,
      () => {
        ran = true;
      },
      {
        onPending: (request) =>
          void as('carol').decide(request.id, {
            decision: 'reject',
            comment: 'Export the redacted set instead.',
            actionHash: request.action_hash,
          }),
      },
    ).catch((e: unknown) => e);

    expect(ran).toBe(false);
    expect(error).toMatchObject({ status: 'rejected' });
    expect((error as Error).message).toContain('Export the redacted set instead.');
  });

  it('gives up with status pending when no one decides in time, and the request stays open', async () => {
    const { as } = await gateway();

    const error = await withApproval(as('agent'), exportInput, () => 'never', { timeoutMs: 1_000 }).catch(
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(ActionNotApprovedError);
    const pending = error as ActionNotApprovedError;
    expect(pending.stillPending).toBe(true);
    expect(pending.message).toMatch(/waiting for human approval/);
    expect((await as('agent').get(pending.requestId)).status).toBe('pending');
  });

  it('never runs the action twice for a replayed idempotency key', async () => {
    const { as } = await gateway(decision({ outcome: 'allow', approval: undefined }));
    const agent = as('agent');
    let runs = 0;
    const action = () => {
      runs += 1;
    };

    await withApproval(agent, exportInput, action, { idempotencyKey: 'session-1:call-7' });
    const replay = await withApproval(agent, exportInput, action, {
      idempotencyKey: 'session-1:call-7',
    }).catch((e: unknown) => e);

    expect(runs).toBe(1);
    expect(replay).toBeInstanceOf(ApprovalsApiError);
    expect(replay).toMatchObject({ status: 409, code: 'grant_already_redeemed' });
  });
});

describe('Function: needsApproval', () => {
  it('answers true while humans must decide, and withApproval resumes the same request by key', async () => {
    const { as, approveBoth } = await gateway();
    const agent = as('agent');
    const key = 'run-42:call_abc';

    const required = await needsApproval(agent, exportInput, { idempotencyKey: key });
    const request = await agent.request(exportInput, { idempotencyKey: key });
    await approveBoth(request);
    const ranFor = await withApproval(agent, exportInput, ({ request: approved }) => approved.id, {
      idempotencyKey: key,
    });

    expect(required).toBe(true);
    expect(ranFor).toBe(request.id);
    expect(await as('bob').list({ status: 'approved' })).toMatchObject({ count: 1 });
  });

  it('answers false when the policy allows the action outright', async () => {
    const { as } = await gateway(decision({ outcome: 'allow', approval: undefined }));

    expect(await needsApproval(as('agent'), exportInput, { idempotencyKey: 'k-1' })).toBe(false);
  });
});
