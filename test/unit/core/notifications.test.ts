/**
 * The notification dispatcher and the channel-neutral card, over a real SQLite store with a
 * recording notifier (a double of our own port, not of a chat service).
 */
import { describe, expect, it } from 'vitest';
import { SqliteRequestStore } from '../../../functions/adapters/sqlite/sqlite-store.ts';
import { ulidIds } from '../../../functions/adapters/system/system.ts';
import { type ApprovalCard, approvalCard, shortHash } from '../../../functions/core/approval-card.ts';
import { boundPrincipal } from '../../../functions/core/eligibility.ts';
import type { Directory } from '../../../functions/core/model.ts';
import { ApprovalNotifications } from '../../../functions/core/notifications.ts';
import type {
  ApprovalNotifier,
  NotificationReceipt,
  NotificationTarget,
} from '../../../functions/core/ports/notifier.port.ts';
import type { Transition } from '../../../functions/core/ports/store.port.ts';
import { ApprovalService } from '../../../functions/core/service.ts';
import { decision, directory, exportInput, fixedPolicy, ManualClock } from '../../support/fixtures.ts';

class RecordingNotifier implements ApprovalNotifier {
  readonly posted: { card: ApprovalCard; target: NotificationTarget }[] = [];
  readonly updated: { card: ApprovalCard; reference: string }[] = [];
  failing = false;
  constructor(readonly channel: string) {}
  async notify(card: ApprovalCard, target: NotificationTarget): Promise<NotificationReceipt | undefined> {
    if (this.failing) throw new Error(`${this.channel} is down`);
    this.posted.push({ card, target });
    return {
      recipients: target.destinations.length > 0 ? target.destinations : ['#default'],
      reference: `${this.channel}-${this.posted.length}`,
    };
  }
  async update(card: ApprovalCard, reference: string): Promise<void> {
    if (this.failing) throw new Error(`${this.channel} is down`);
    this.updated.push({ card, reference });
  }
}

const AGENT = 'agent:demo-exporter';
const BOB = 'user:bob@example.gov';
const CAROL = 'user:carol@example.gov';
const LEAD = 'user:lead@example.gov';

function setup(options: { channels?: string[]; routes?: Directory['notifications'] } = {}) {
  const data: Directory = { ...directory, ...(options.routes ? { notifications: options.routes } : {}) };
  const store = new SqliteRequestStore({ path: ':memory:' });
  const clock = new ManualClock();
  const commits: Transition[] = [];
  const base = decision();
  const policy = {
    ...fixedPolicy(
      decision({
        approval: {
          ...(base.approval as NonNullable<typeof base.approval>),
          channels: options.channels ?? [],
        },
      }),
    ),
    directory: data,
  };
  const service = new ApprovalService({
    store,
    policy,
    clock,
    ids: ulidIds(),
    onCommit: (t) => commits.push(t),
  });
  const slack = new RecordingNotifier('slack');
  const teams = new RecordingNotifier('teams');
  const errors: { error: unknown; channel: string }[] = [];
  const notifications = new ApprovalNotifications({
    store,
    sink: service,
    notifiers: [slack, teams],
    directory: () => data,
    onError: (error, where) => errors.push({ error, channel: where.channel }),
  });
  const submit = async () => (await service.submit(AGENT, exportInput)).request;
  return { store, clock, service, slack, teams, errors, notifications, submit, commits };
}

describe('Function: approvalCard', () => {
  it('shows what was asked, by whom, for whom, and offers approve, reject and escalate while pending', async () => {
    const { submit } = setup();
    const request = await submit();
    const card = approvalCard(request);
    expect(card).toMatchObject({
      requestId: request.id,
      status: 'pending',
      requester: AGENT,
      onBehalfOf: 'user:alice@example.gov',
      action: exportInput.action,
      resource: {
        type: 'aws:s3:bucket',
        id: exportInput.resource.id,
        claimed: exportInput.resource.properties,
      },
      justification: exportInput.context.justification,
      approvalsRequired: 2,
      approvalsReceived: 0,
      groups: ['data-owners'],
      escalationGroups: ['data-owner-leads'],
      escalated: false,
      actions: ['approve', 'reject', 'escalate'],
    });
    expect(card.shortHash).toBe(request.actionHash.slice('sha256:'.length, 'sha256:'.length + 12));
    expect(card.vouched).toEqual({ known: false, source: 'none', attributes: {} });
  });

  it('keeps what the gateway vouched for with the request and in the policy verdict it recorded', async () => {
    const { submit, store } = setup();
    const request = await submit();
    expect(request.vouched).toEqual({ known: false, source: 'none', attributes: {} });
    const evaluated = (await store.listEvents(request.id)).find((e) => e.type === 'policy.evaluated');
    expect(evaluated?.data.vouched).toEqual(request.vouched);
  });

  it('offers no buttons once decided, and lists each vote with its comment', async () => {
    const { service, submit } = setup();
    const request = await submit();
    await service.review(request.id, BOB, {
      decision: 'approve',
      comment: 'ok',
      actionHash: request.actionHash,
      channel: 'api',
    });
    const { request: decided } = await service.review(request.id, CAROL, {
      decision: 'approve',
      actionHash: request.actionHash,
      channel: 'slack',
    });
    const card = approvalCard(decided);
    expect(card.status).toBe('approved');
    expect(card.actions).toEqual([]);
    expect(card.approvalsReceived).toBe(2);
    expect(card.votes.map((v) => [v.approver, v.decision, v.comment, v.channel])).toEqual([
      [BOB, 'approve', 'ok', 'api'],
      [CAROL, 'approve', undefined, 'slack'],
    ]);
    expect(card.decidedAt).toBe(decided.updatedAt);
  });

  it('shortens a hash to its first twelve hex digits', () => {
    expect(shortHash(`sha256:${'0123456789abcdef'.repeat(4)}`)).toBe('0123456789ab');
  });
});

describe('Class: ApprovalNotifications', () => {
  it('posts one card per channel and records each in the audit chain', async () => {
    const { notifications, slack, teams, submit, store } = setup();
    const request = await submit();
    expect(await notifications.notify(request.id, 'notify')).toBe(2);
    expect(slack.posted).toHaveLength(1);
    expect(teams.posted).toHaveLength(1);
    const sent = (await store.listEvents(request.id)).filter((e) => e.type === 'notification.sent');
    expect(sent.map((e) => [e.data.channel, e.data.reference])).toEqual([
      ['slack', 'slack-1'],
      ['teams', 'teams-1'],
    ]);
  });

  it('never posts a second card for the same stage (a retried Notify, a restart)', async () => {
    const { notifications, slack, submit } = setup();
    const request = await submit();
    await notifications.notify(request.id, 'notify');
    expect(await notifications.notify(request.id, 'notify')).toBe(0);
    expect(slack.posted).toHaveLength(1);
  });

  it('uses only the channels the policy names', async () => {
    const { notifications, slack, teams, submit } = setup({ channels: ['teams', 'api'] });
    const request = await submit();
    await notifications.notify(request.id, 'notify');
    expect(slack.posted).toHaveLength(0);
    expect(teams.posted).toHaveLength(1);
  });

  it('routes each stage to the destinations policy data names for its groups', async () => {
    const { notifications, slack, service, clock, submit } = setup({
      routes: { slack: { 'data-owners': 'C0OWNERS', 'data-owner-leads': 'C0LEADS' } },
    });
    const request = await submit();
    await notifications.notify(request.id, 'notify');
    clock.advance(1200);
    await service.escalate(request.id);
    await notifications.notify(request.id, 'escalate');
    expect(slack.posted.map((p) => [p.target.stage, p.target.groups, p.target.destinations])).toEqual([
      ['notify', ['data-owners'], ['C0OWNERS']],
      ['escalate', ['data-owner-leads'], ['C0LEADS']],
    ]);
  });

  it('keeps telling the other channels when one fails, and reports the failure', async () => {
    const { notifications, slack, teams, errors, submit, store } = setup();
    slack.failing = true;
    const request = await submit();
    expect(await notifications.notify(request.id, 'notify')).toBe(1);
    expect(teams.posted).toHaveLength(1);
    expect(errors.map((e) => e.channel)).toEqual(['slack']);
    // The failed channel is tried again next time; the one that worked is not.
    slack.failing = false;
    expect(await notifications.notify(request.id, 'notify')).toBe(1);
    expect(teams.posted).toHaveLength(1);
    const sent = (await store.listEvents(request.id)).filter((e) => e.type === 'notification.sent');
    expect(sent).toHaveLength(2);
  });

  it('announces nothing for a request that is no longer pending', async () => {
    const { notifications, slack, service, submit } = setup();
    const request = await submit();
    await service.cancel(request.id, AGENT, 'not needed');
    expect(await notifications.notify(request.id, 'notify')).toBe(0);
    expect(slack.posted).toHaveLength(0);
  });

  it('updates every posted card after a vote, and shows the outcome without buttons', async () => {
    const { notifications, slack, teams, service, submit } = setup();
    const request = await submit();
    await notifications.notify(request.id, 'notify');
    await service.review(request.id, BOB, {
      decision: 'approve',
      actionHash: request.actionHash,
      channel: 'slack',
    });
    expect(await notifications.refresh(request.id)).toBe(2);
    expect(slack.updated.at(-1)?.card.approvalsReceived).toBe(1);
    await service.review(request.id, CAROL, {
      decision: 'approve',
      actionHash: request.actionHash,
      channel: 'teams',
    });
    await notifications.refresh(request.id);
    expect(slack.updated.at(-1)).toMatchObject({
      reference: 'slack-1',
      card: { status: 'approved', actions: [] },
    });
    expect(teams.updated.at(-1)).toMatchObject({
      reference: 'teams-1',
      card: { status: 'approved', actions: [] },
    });
  });

  it('brings a card up to date at once when a vote landed while it was being posted', async () => {
    const { store, service, submit } = setup();
    const request = await submit();
    const racing = new RecordingNotifier('slack');
    const notify = racing.notify.bind(racing);
    racing.notify = async (card, target) => {
      await service.review(request.id, BOB, {
        decision: 'approve',
        actionHash: request.actionHash,
        channel: 'api',
      });
      return notify(card, target);
    };
    const notifications = new ApprovalNotifications({
      store,
      sink: service,
      notifiers: [racing],
      directory: () => directory,
      onError: (error) => {
        throw error;
      },
    });
    await notifications.notify(request.id, 'notify');
    expect(racing.posted[0]?.card.approvalsReceived).toBe(0);
    expect(racing.updated).toHaveLength(1);
    expect(racing.updated[0]?.card.approvalsReceived).toBe(1);
  });

  it('after a commit: announces a new request, refreshes on votes, and announces an escalation', async () => {
    const { notifications, slack, service, submit, commits } = setup();
    const request = await submit();
    for (const t of commits.splice(0)) await notifications.afterCommit(t, { announce: true });
    expect(slack.posted.map((p) => p.target.stage)).toEqual(['notify']);

    await service.escalateNow(request.id, BOB, 'slack');
    for (const t of commits.splice(0)) await notifications.afterCommit(t, { announce: true });
    expect(slack.posted.map((p) => p.target.stage)).toEqual(['notify', 'escalate']);
    expect(slack.updated.at(-1)?.card).toMatchObject({ escalated: true, actions: ['approve', 'reject'] });

    // Without `announce` (the AWS api function: its workflow announces), only refreshes happen.
    const before = slack.posted.length;
    const second = await submit();
    for (const t of commits.splice(0)) await notifications.afterCommit(t, { announce: false });
    expect(slack.posted).toHaveLength(before);
    expect(second.status).toBe('pending');
  });
});

describe('Method: ApprovalService.escalateNow', () => {
  it('lets an eligible approver hand the request to the escalation groups, audited as theirs', async () => {
    const { service, submit, store } = setup();
    const request = await submit();
    const { request: escalated, escalated: changed } = await service.escalateNow(request.id, BOB, 'slack');
    expect(changed).toBe(true);
    expect(escalated.approval?.escalated).toBe(true);
    const event = (await store.listEvents(request.id)).at(-1);
    expect(event).toMatchObject({
      type: 'request.escalated',
      actor: BOB,
      data: { by: 'approver', channel: 'slack', escalation_groups: ['data-owner-leads'] },
    });
    // Now the escalation group may vote.
    await expect(
      service.review(request.id, LEAD, {
        decision: 'approve',
        actionHash: request.actionHash,
        channel: 'slack',
      }),
    ).resolves.toMatchObject({ duplicate: false });
  });

  it('records one escalation however many times it is clicked', async () => {
    const { service, submit, store } = setup();
    const request = await submit();
    await service.escalateNow(request.id, BOB, 'slack');
    const again = await service.escalateNow(request.id, CAROL, 'slack');
    expect(again.escalated).toBe(false);
    const escalations = (await store.listEvents(request.id)).filter((e) => e.type === 'request.escalated');
    expect(escalations).toHaveLength(1);
  });

  it('refuses the requester, the human it acts for, and anyone outside the approving groups', async () => {
    const { service, submit } = setup();
    const request = await submit();
    await expect(service.escalateNow(request.id, AGENT, 'slack')).rejects.toMatchObject({
      code: 'self_approval',
    });
    await expect(service.escalateNow(request.id, 'user:alice@example.gov', 'slack')).rejects.toMatchObject({
      code: 'self_approval',
    });
    await expect(service.escalateNow(request.id, LEAD, 'slack')).rejects.toMatchObject({
      code: 'not_eligible',
    });
  });

  it('refuses once the request is decided or past its deadline', async () => {
    const { service, submit, clock } = setup();
    const decidedOne = await submit();
    await service.cancel(decidedOne.id, AGENT, 'changed my mind');
    await expect(service.escalateNow(decidedOne.id, BOB, 'slack')).rejects.toMatchObject({
      code: 'request_not_pending',
    });
    const late = await submit();
    clock.advance(3600);
    await expect(service.escalateNow(late.id, BOB, 'slack')).rejects.toMatchObject({
      code: 'request_not_pending',
    });
  });

  it('refuses where the policy names no escalation groups', async () => {
    const store = new SqliteRequestStore({ path: ':memory:' });
    const base = decision();
    const service = new ApprovalService({
      store,
      policy: fixedPolicy(
        decision({
          approval: {
            ...(base.approval as NonNullable<typeof base.approval>),
            escalation_groups: [],
            escalate_after_seconds: undefined,
          },
        }),
      ),
      clock: new ManualClock(),
      ids: ulidIds(),
    });
    const { request } = await service.submit(AGENT, exportInput);
    await expect(service.escalateNow(request.id, BOB, 'slack')).rejects.toMatchObject({
      code: 'invalid_request',
    });
  });
});

describe('Function: boundPrincipal', () => {
  it('maps a chat user only through the bindings in policy data', () => {
    expect(boundPrincipal(directory, 'slack', 'U0BOB')).toBe(BOB);
    expect(boundPrincipal(directory, 'slack', 'U0NOBODY')).toBeUndefined();
    expect(boundPrincipal(directory, 'teams', 'U0BOB')).toBeUndefined();
    expect(boundPrincipal(directory, 'slack', 'constructor')).toBeUndefined();
    expect(boundPrincipal(directory, 'slack', '__proto__')).toBeUndefined();
  });
});
