/**
 * IAM caller → principal: the one place an AWS identity becomes a principal id.
 *
 * API Gateway (AWS_IAM authorization) hands over the verified caller ARN. The mapping:
 * - an IAM Identity Center session, `assumed-role/AWSReservedSSO_<permission set>_<hash>/<user>`
 *   in any partition (the role lives under the `aws-reserved/sso.amazonaws.com/` path, which an
 *   assumed-role ARN does not show), is the person `user:<user>`: Identity Center sets the session
 *   name to the user name and the user cannot choose it. Two people with one permission set are
 *   two principals; one person with two permission sets is one. Only sessions in the API's own
 *   account, or in accounts listed as Identity Center accounts, count: an administrator of any
 *   other trusted account could create a role named `AWSReservedSSO_…` and pick any session name;
 * - a session of a role that policy data declares for an agent (`agents[…].aws_roles`) is that
 *   `agent:` principal, whatever the session is called;
 * - any other role, and IAM users, stay `iam:` principals named by the role or user ARN. They are
 *   never taken to be a person, and the session name of an undeclared role never becomes an
 *   identity (anyone allowed to assume the role chooses it). A role is named without its path, as
 *   an assumed-role ARN names it, so that one role has one id however it calls;
 * - callers from accounts other than the API's own are accepted only from listed accounts (the
 *   API Gateway resource policy lists the same ones); the root user and malformed ARNs are refused.
 */
import type { Directory } from '../core/model.ts';
import { canonicalPrincipal } from '../core/principals.ts';

/** Identity Center's roles are named `AWSReservedSSO_<permission set name>_<16 hex>`. */
const IDENTITY_CENTER_ROLE = /^AWSReservedSSO_[\w+=,.@-]+_[0-9a-f]{16}$/;

const ASSUMED_ROLE =
  /^arn:(aws(?:-[a-z]+)*):sts::(\d{12}):assumed-role\/([\w+=,.@-]{1,64})\/([\w+=,.@-]{2,64})$/;
const IAM_ENTITY =
  /^arn:(aws(?:-[a-z]+)*):iam::(\d{12}):(user|role)\/((?:[\w+=,.@-]+\/)*)([\w+=,.@-]{1,128})$/;

export interface IamMappingConfig {
  /** Accounts besides the API's own whose callers are accepted. */
  readonly trustedAccounts?: readonly string[];
  /**
   * Role ARNs declared for agents (policy data `agents[…].aws_roles`): role → agent id. Matched by
   * partition, account and role name (the assumed-role ARN carries no path; names are unique per
   * account, whatever their case).
   */
  readonly agentRoles?: Readonly<Record<string, string>>;
  /** Map Identity Center sessions to people. @default true */
  readonly identityCenter?: boolean;
  /**
   * Accounts besides the API's own whose Identity Center sessions are people (each must also be
   * trusted). Elsewhere an `AWSReservedSSO_…` role is an ordinary `iam:` role.
   * @default - the API's own account only
   */
  readonly identityCenterAccounts?: readonly string[];
}

export type IamMapping =
  | { readonly ok: true; readonly principal: string; readonly kind: 'person' | 'agent' | 'iam' }
  | { readonly ok: false; readonly reason: string };

function roleKey(partition: string, account: string, name: string): string {
  return `${partition}:${account}:${name}`.toLowerCase();
}

/** `role ARN → agent` as a lookup keyed by partition, account and lower-cased role name. */
export function agentRoleIndex(agentRoles: Readonly<Record<string, string>>): Map<string, string> {
  const index = new Map<string, string>();
  for (const [arn, agent] of Object.entries(agentRoles)) {
    const match = IAM_ENTITY.exec(arn);
    if (match?.[3] !== 'role') {
      throw new Error(
        `${arn} (declared for ${agent}) is not an IAM role ARN arn:<partition>:iam::<account>:role/<name>`,
      );
    }
    index.set(roleKey(match[1] ?? '', match[2] ?? '', match[5] ?? ''), agent);
  }
  return index;
}

/** Builds the mapper once (per cold start); the returned function is pure. */
export function iamPrincipalMapper(
  config: IamMappingConfig = {},
): (arn: string, apiAccount: string) => IamMapping {
  const agents = agentRoleIndex(config.agentRoles ?? {});
  const trusted = new Set(config.trustedAccounts ?? []);
  for (const account of trusted) {
    if (!/^\d{12}$/.test(account))
      throw new Error(`trusted account "${account}" is not a 12-digit AWS account id`);
  }
  const identityCenter = config.identityCenter ?? true;
  const identityCenterAccounts = new Set(config.identityCenterAccounts ?? []);
  for (const account of identityCenterAccounts) {
    if (!trusted.has(account)) {
      throw new Error(
        `Identity Center account "${account}" is not a trusted account; list it in trustedAccountIds too`,
      );
    }
  }

  return (arn, apiAccount) => {
    const assumed = ASSUMED_ROLE.exec(arn);
    const entity = assumed ? undefined : IAM_ENTITY.exec(arn);
    if (!assumed && !entity) {
      if (/^arn:aws[a-z-]*:iam::\d{12}:root$/.test(arn)) {
        return { ok: false, reason: 'the account root user may not call the gateway; use a role' };
      }
      return { ok: false, reason: `${JSON.stringify(arn)} is not an IAM user, role or assumed-role ARN` };
    }
    const [, partition = '', account = ''] = (assumed ?? entity) as RegExpExecArray;
    if (account !== apiAccount && !trusted.has(account)) {
      return {
        ok: false,
        reason: `account ${account} is not trusted by this gateway; list it in trustedAccountIds to accept its callers`,
      };
    }
    if (assumed) {
      const role = assumed[3] ?? '';
      const session = assumed[4] ?? '';
      const agent = agents.get(roleKey(partition, account, role));
      if (agent !== undefined) return { ok: true, principal: agent, kind: 'agent' };
      const peopleHere = account === apiAccount || identityCenterAccounts.has(account);
      if (identityCenter && peopleHere && IDENTITY_CENTER_ROLE.test(role)) {
        const person = canonicalPrincipal(`user:${session}`);
        if (!person.ok) return { ok: false, reason: `Identity Center user name: ${person.problem}` };
        // Only case folds: `alice.` must not become `alice`, another person's id.
        if (person.principal.name !== session.toLowerCase()) {
          return {
            ok: false,
            reason: `Identity Center user name ${JSON.stringify(session)} is not a canonical user name (a trailing dot?)`,
          };
        }
        return { ok: true, principal: person.principal.id, kind: 'person' };
      }
      return iam(`arn:${partition}:iam::${account}:role/${role}`);
    }
    const [, , , type = '', path = '', name = ''] = entity as RegExpExecArray;
    if (type === 'role') {
      const agent = agents.get(roleKey(partition, account, name));
      if (agent !== undefined) return { ok: true, principal: agent, kind: 'agent' };
    }
    // Users keep their path (their ARN always carries it); roles are named without it (above).
    return iam(`arn:${partition}:iam::${account}:${type}/${type === 'user' ? path : ''}${name}`);
  };
}

function iam(arn: string): IamMapping {
  const result = canonicalPrincipal(`iam:${arn}`);
  return result.ok
    ? { ok: true, principal: result.principal.id, kind: 'iam' }
    : { ok: false, reason: result.problem };
}

/** The agent roles policy data declares: `agents[agent].aws_roles` inverted to role → agent. */
export function agentRolesOf(directory: Directory): Record<string, string> {
  const roles: Record<string, string> = {};
  for (const [agent, declaration] of Object.entries(directory.agents ?? {})) {
    for (const role of declaration.aws_roles ?? []) roles[role] = agent;
  }
  return roles;
}

/** Parses a comma-separated list of account ids from the stack (may be empty); `name` for errors. */
export function parseAccountList(value: string | undefined, name = 'TRUSTED_ACCOUNT_IDS'): string[] {
  const accounts = (value ?? '')
    .split(',')
    .map((account) => account.trim())
    .filter((account) => account !== '');
  for (const account of accounts) {
    if (!/^\d{12}$/.test(account)) {
      throw new Error(`${name} holds "${account}", which is not a 12-digit AWS account id`);
    }
  }
  return accounts;
}
