/**
 * Who may see a request, vote on it, and how votes count: the one place these rules live. The
 * lifecycle (votes), the service (visibility, listings) and the policy engine (quorum sanity check)
 * all ask here, so a rule changed once holds everywhere.
 *
 * Every id compared here is canonical (functions/core/principals.ts), so `===` means "the same
 * principal". The rules:
 * - the requesting side — the requester, the human it declared it acts for, and the owners of the
 *   requesting agent — never approves, whatever the policy says;
 * - the policy's `exclude` list removes more people;
 * - only members of the approval groups (and, once escalated, the escalation groups) vote;
 * - one principal is one vote, whichever channel it arrives by;
 * - a quorum that the eligible people cannot reach is not opened at all.
 */
import { NotEligibleError, SelfApprovalError } from './errors.ts';
import type { ActionRequest, AgentDeclaration, ApprovalState, Directory, Vote } from './model.ts';

/** The policy-data group whose members may read every request and its audit trail. */
export const AUDITORS_GROUP = 'auditors';

function memberOfAny(directory: Directory, principal: string, groups: readonly string[]): boolean {
  return groups.some((group) => directory.groups[group]?.includes(principal) ?? false);
}

export function isAuditor(directory: Directory, principal: string): boolean {
  return memberOfAny(directory, principal, [AUDITORS_GROUP]);
}

export function agentDeclaration(directory: Directory, agent: string): AgentDeclaration | undefined {
  const agents = directory.agents;
  return agents && Object.hasOwn(agents, agent) ? agents[agent] : undefined;
}

/** The declared owners of `principal` when it is an agent; none otherwise. */
export function ownersOf(directory: Directory, principal: string): readonly string[] {
  return agentDeclaration(directory, principal)?.owners ?? [];
}

/**
 * The requester, the human it acts for and the requesting agent's owners: the people on whose side
 * the request is, who therefore never approve it.
 */
export function requestingSide(
  requester: string,
  onBehalfOf: string | undefined,
  directory: Directory,
): ReadonlySet<string> {
  const side = new Set<string>([requester, ...ownersOf(directory, requester)]);
  if (onBehalfOf !== undefined) side.add(onBehalfOf);
  return side;
}

/**
 * Why `requester` may not name `onBehalfOf` at `now`, or undefined when policy data declares it.
 * The message says what to declare.
 */
export function delegationProblem(
  requester: string,
  onBehalfOf: string,
  directory: Directory,
  now: Date,
): string | undefined {
  if (!requester.startsWith('agent:')) {
    return `only agents act on behalf of someone; ${requester} is not an agent and cannot name ${onBehalfOf} in context.on_behalf_of, so leave it out`;
  }
  const declared = agentDeclaration(directory, requester)?.acts_for ?? [];
  const entries = declared.filter((delegation) => delegation.principal === onBehalfOf);
  const how =
    `declare it in the policy data: agents["${requester}"].acts_for must list "${onBehalfOf}" ` +
    `(policies/data/agents.json), then rebuild the bundle`;
  if (entries.length === 0) {
    return `${requester} is not declared to act for ${onBehalfOf}; ${how}`;
  }
  const time = now.getTime();
  const current = entries.some(
    (d) =>
      (d.not_before === undefined || Date.parse(d.not_before) <= time) &&
      (d.not_after === undefined || time < Date.parse(d.not_after)),
  );
  if (!current) {
    const periods = entries.map((d) => `${d.not_before ?? '…'} to ${d.not_after ?? '…'}`).join(', ');
    return `${requester} may act for ${onBehalfOf} only from ${periods}, not at ${now.toISOString()}; renew the delegation in agents["${requester}"].acts_for`;
  }
  return undefined;
}

/** Groups whose members may vote now: the policy's groups, plus the escalation groups once escalated. */
export function activeGroups(approval: ApprovalState): readonly string[] {
  return approval.escalated ? [...approval.groups, ...approval.escalationGroups] : approval.groups;
}

/**
 * The groups a request is listed under for approvers: its active groups while it is pending, none
 * once decided. Stores index pending requests by these.
 */
export function listedGroups(request: ActionRequest): readonly string[] {
  if (request.status !== 'pending' || !request.approval) return [];
  return [...new Set(activeGroups(request.approval))];
}

/** Why `principal` may not vote on `request`, or undefined if it may. Used for listings too. */
export function ineligibility(
  request: ActionRequest,
  principal: string,
  directory: Directory,
): SelfApprovalError | NotEligibleError | undefined {
  if (principal === request.subject.id) {
    return new SelfApprovalError('the requester cannot approve its own request');
  }
  if (principal === request.context.on_behalf_of) {
    return new SelfApprovalError(`${principal} is the person this request acts for and cannot approve it`);
  }
  // Owners as declared now: a change of ownership after submission still takes effect. The owners
  // at submission are in approval.exclude as well, so removing an owner from the data does not
  // make them eligible for requests made while they owned the agent.
  if (ownersOf(directory, request.subject.id).includes(principal)) {
    return new SelfApprovalError(
      `${principal} owns ${request.subject.id}, which made this request, and cannot approve it`,
    );
  }
  const approval = request.approval;
  if (!approval) return new NotEligibleError('this request needs no human approval');
  if (approval.exclude.includes(principal)) {
    return new NotEligibleError(`${principal} is excluded from approving this request by policy`);
  }
  const groups = activeGroups(approval);
  if (!memberOfAny(directory, principal, groups)) {
    return new NotEligibleError(`${principal} is not a member of any approving group (${groups.join(', ')})`);
  }
  return undefined;
}

/**
 * Who may see a request: its requester, the person it acts for, the requesting agent's owners,
 * members of its approving or escalation groups, and auditors. Everyone else is told it does not
 * exist.
 */
export function canView(request: ActionRequest, principal: string, directory: Directory): boolean {
  if (principal === request.subject.id || principal === request.context.on_behalf_of) return true;
  if (ownersOf(directory, request.subject.id).includes(principal)) return true;
  if (isAuditor(directory, principal)) return true;
  const approval = request.approval;
  return approval
    ? memberOfAny(directory, principal, [...approval.groups, ...approval.escalationGroups])
    : false;
}

/**
 * The keys a request is listed under for its viewers (`canView` less auditors, who list the status
 * index): `p:<requester>`, `p:<person acted for>`, and `g:<group>` for each approving and escalation
 * group. They depend only on what a request is created with, so they never change afterwards.
 */
export function viewerKeys(request: ActionRequest): readonly string[] {
  const keys = new Set<string>([`p:${request.subject.id}`]);
  if (request.context.on_behalf_of !== undefined) keys.add(`p:${request.context.on_behalf_of}`);
  const approval = request.approval;
  if (approval)
    for (const group of [...approval.groups, ...approval.escalationGroups]) keys.add(`g:${group}`);
  return [...keys];
}

/**
 * The viewer keys `principal` reads under, from the directory as it is now: itself, each agent it
 * owns (an owner sees what its agents asked), and each group it is a member of. A request is
 * visible to a non-auditor exactly when its `viewerKeys` and these share a key (the contract tests
 * check this against `canView`).
 */
export function viewerKeysOf(principal: string, directory: Directory): readonly string[] {
  const keys = new Set<string>([`p:${principal}`]);
  for (const [agent, declaration] of Object.entries(directory.agents ?? {})) {
    if (declaration.owners.includes(principal)) keys.add(`p:${agent}`);
  }
  for (const [group, members] of Object.entries(directory.groups)) {
    if (members.includes(principal)) keys.add(`g:${group}`);
  }
  return [...keys];
}

/**
 * Who may read the audit chain: the requester, auditors, and the people who may vote on the request
 * now (an approver decides from the whole trail, on the review page or through the API).
 */
export function canReadAudit(request: ActionRequest, principal: string, directory: Directory): boolean {
  return (
    principal === request.subject.id ||
    isAuditor(directory, principal) ||
    ineligibility(request, principal, directory) === undefined
  );
}

/** Approval terms as the policy states them (the evaluator's view, before a request exists). */
export interface ApprovalTerms {
  readonly groups: readonly string[];
  readonly escalation_groups?: readonly string[];
  readonly exclude?: readonly string[];
  readonly min_approvals: number;
}

/** Everyone who could ever vote on these terms: group and escalation members, less the excluded. */
export function eligibleApprovers(
  terms: ApprovalTerms,
  side: ReadonlySet<string>,
  directory: Directory,
): ReadonlySet<string> {
  const excluded = new Set([...side, ...(terms.exclude ?? [])]);
  const eligible = new Set<string>();
  for (const group of [...terms.groups, ...(terms.escalation_groups ?? [])]) {
    for (const member of directory.groups[group] ?? []) if (!excluded.has(member)) eligible.add(member);
  }
  return eligible;
}

/** Whether the eligible people can reach min_approvals at all. */
export function quorumReachable(
  terms: ApprovalTerms,
  side: ReadonlySet<string>,
  directory: Directory,
): boolean {
  return eligibleApprovers(terms, side, directory).size >= terms.min_approvals;
}

/** The distinct principals who approved: one principal is one vote, whatever the channel. */
export function approvers(votes: readonly Vote[]): readonly string[] {
  return [...new Set(votes.filter((vote) => vote.decision === 'approve').map((vote) => vote.approver))];
}

/** Chat systems whose users policy data binds to principals (`identities.<system>`). */
export type ChatSystem = 'slack' | 'teams';

/** Identity systems whose users policy data binds to principals: chat, and the review page's sign-in. */
export type IdentitySystem = ChatSystem | 'oidc';

/**
 * The principal a chat user is bound to in policy data (`identities.slack` keyed by Slack user id,
 * `identities.teams` by Entra object id, `identities.oidc` by OpenID Connect `sub` or `email:<address>`),
 * or undefined. Never by display name, and by e-mail only where the deployer chose a provider that
 * verifies it (`email_verified`): names are set by the user or the workspace, not by policy authors.
 */
export function boundPrincipal(
  directory: Directory,
  system: IdentitySystem,
  userId: string,
): string | undefined {
  const bindings = directory.identities[system];
  return bindings && Object.hasOwn(bindings, userId) ? bindings[userId] : undefined;
}
