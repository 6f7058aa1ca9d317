/** Chat cards link to the review page when it is configured; step-up requests are voted on there only. */
import { describe, expect, it } from 'vitest';
import { renderCard } from '../../../functions/adapters/chat/slack/render.ts';
import { renderTeamsCard } from '../../../functions/adapters/chat/teams/card.ts';
import { approvalCard, reviewUrl } from '../../../functions/core/approval-card.ts';
import * as lifecycle from '../../../functions/core/lifecycle.ts';
import { decision, directory, exportInput } from '../../support/fixtures.ts';
import { blockProblems } from '../../support/slack-stand-in.ts';

function pending(stepUp = false) {
  const base = decision();
  const approval = base.approval as NonNullable<typeof base.approval>;
  return lifecycle.submit({
    id: 'ar_01JD3Z6Q0M8Y3W8T5V9K2N4P6R',
    subject: lifecycle.subjectOf('agent:demo-exporter'),
    input: exportInput,
    decision: decision({ approval: { ...approval, ...(stepUp ? { step_up: true } : {}) } }),
    now: new Date('2026-11-22T10:00:00Z'),
    directory,
  }).request;
}

const BASE = 'https://approvals.example.gov/';
const URL_OF = 'https://approvals.example.gov/review/requests/ar_01JD3Z6Q0M8Y3W8T5V9K2N4P6R';

describe('Function: approvalCard, review page link', () => {
  it('links to the request on the review page only when a base URL is configured', () => {
    expect(reviewUrl(BASE, 'ar_01JD3Z6Q0M8Y3W8T5V9K2N4P6R')).toBe(URL_OF);
    expect(approvalCard(pending(), { reviewBaseUrl: BASE }).reviewUrl).toBe(URL_OF);
    expect(approvalCard(pending()).reviewUrl).toBeUndefined();
  });

  it('offers no Approve/Reject buttons on a step-up request', () => {
    const card = approvalCard(pending(true), { reviewBaseUrl: BASE });
    expect(card.stepUp).toBe(true);
    expect(card.actions).toEqual(['escalate']);
  });

  it('renders an "Open in review page" link button in Slack and Teams', () => {
    const card = approvalCard(pending(), { reviewBaseUrl: BASE });
    const slack = renderCard(card);
    expect(blockProblems(slack.blocks, 'message')).toEqual([]);
    expect(JSON.stringify(slack.blocks)).toContain(`"url":"${URL_OF}"`);
    const teams = JSON.stringify(renderTeamsCard(card));
    expect(teams).toContain(`{"type":"Action.OpenUrl","title":"Open in review page","url":"${URL_OF}"}`);
  });
});
