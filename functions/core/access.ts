import type { ActionRequest, Directory } from './model.ts';

/** The policy-data group whose members may read every request and its audit trail. */
export const AUDITORS_GROUP = 'auditors';

function memberOfAny(directory: Directory, principal: string, groups: readonly string[]): boolean {
  return groups.some((group) => directory.groups[group]?.includes(principal) ?? false);
}

export function isAuditor(directory: Directory, principal: string): boolean {
  return memberOfAny(directory, principal, [AUDITORS_GROUP]);
}

/**
 * Who may see a request: its requester, the person it acts for, members of its approving or
 * escalation groups, and auditors. Everyone else is told it does not exist.
 */
export function canView(request: ActionRequest, principal: string, directory: Directory): boolean {
  if (principal === request.subject.id || principal === request.context.on_behalf_of) return true;
  if (isAuditor(directory, principal)) return true;
  const approval = request.approval;
  return approval
    ? memberOfAny(directory, principal, [...approval.groups, ...approval.escalationGroups])
    : false;
}

/** Who may read the audit chain: the requester and auditors. */
export function canReadAudit(request: ActionRequest, principal: string, directory: Directory): boolean {
  return principal === request.subject.id || isAuditor(directory, principal);
}
