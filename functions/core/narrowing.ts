/**
 * Approving narrower (docs/decisions/0014-narrowed-approvals.md): an approver may approve a subset of
 * what a request's grant asks — fewer actions, fewer resources, a shorter window — and never more.
 *
 * The subset rules, each checked here and nowhere else:
 * - every narrowed action is one of the grant's actions, letter for letter;
 * - every narrowed resource is one of the grant's resources letter for letter, or a literal (no `*`,
 *   `?` or `${`) that one of the grant's stated wildcard resources matches (`*` any run, `?` one
 *   character, as IAM matches ARNs) — so a pattern can be narrowed to a resource it covers, and a
 *   wildcard can never replace a literal;
 * - the window is a whole number of seconds from 1 to the grant's window;
 * - at least one action and one resource remain (approving nothing is a rejection).
 * Omitted terms stay as asked. Terms equal to the grant's are no narrowing at all.
 *
 * The narrowed terms have their own hash, binding the request, the original action hash and the
 * terms, so a vote on them can never be confused with a vote on the request as asked or on other terms.
 */
import { hashCanonical } from './canonical.ts';
import { ValidationError } from './errors.ts';
import type { ActionRequest, GrantSpec, NarrowedTerms, NarrowTo, Terms, Vote } from './model.ts';

export type { NarrowedTerms, NarrowTo, Terms } from './model.ts';

const WILDCARD = /[*?]/;
const HASH_KIND = 'ala.narrowed-terms.v1';

/** The scope of a grant that can be narrowed, or undefined when it states none. */
export function termsOf(grant: GrantSpec | undefined): Terms | undefined {
  if (grant?.type !== 'aws_sts') return undefined;
  const { actions, resources, window_seconds: window } = grant;
  if (!actions?.length || !resources?.length || !window) return undefined;
  return { actions: sortedUnique(actions), resources: sortedUnique(resources), window_seconds: window };
}

/** The hash of narrowed terms of a request: distinct from its action hash and from other terms'. */
export function termsHash(requestId: string, actionHash: string, terms: Terms): string {
  return hashCanonical({
    kind: HASH_KIND,
    request_id: requestId,
    action_hash: actionHash,
    actions: sortedUnique(terms.actions),
    resources: sortedUnique(terms.resources),
    window_seconds: terms.window_seconds,
  });
}

/**
 * Whether IAM-style `pattern` (`*` any run, `?` one character) matches all of literal `value`. A
 * greedy matcher that backs up only to the last `*`: time is bounded by the product of the lengths,
 * whatever the pattern (a regular expression built from it could backtrack exponentially).
 */
export function wildcardMatches(pattern: string, value: string): boolean {
  const p = [...pattern];
  const v = [...value];
  let i = 0;
  let j = 0;
  let star = -1;
  let resume = 0;
  while (j < v.length) {
    if (i < p.length && (p[i] === '?' || (p[i] !== '*' && p[i] === v[j]))) {
      i++;
      j++;
    } else if (i < p.length && p[i] === '*') {
      star = i++;
      resume = j;
    } else if (star >= 0) {
      i = star + 1;
      j = ++resume;
    } else {
      return false;
    }
  }
  while (i < p.length && p[i] === '*') i++;
  return i === p.length;
}

/** Whether `resource` is one of `asked`, or a literal that one of its stated wildcards covers. */
export function resourceCovered(
  resource: string,
  asked: readonly string[],
  stated: readonly string[],
): boolean {
  if (asked.includes(resource)) return true;
  if (WILDCARD.test(resource) || resource.includes('${')) return false;
  return asked.some(
    (pattern) => WILDCARD.test(pattern) && stated.includes(pattern) && wildcardMatches(pattern, resource),
  );
}

/** Whether `narrow` is within `wide` under the rules above (every term of it). */
export function isWithin(narrow: Terms, wide: Terms, stated: readonly string[]): boolean {
  return (
    narrow.actions.length > 0 &&
    narrow.resources.length > 0 &&
    narrow.actions.every((a) => wide.actions.includes(a)) &&
    narrow.resources.every((r) => resourceCovered(r, wide.resources, stated)) &&
    Number.isInteger(narrow.window_seconds) &&
    narrow.window_seconds >= 1 &&
    narrow.window_seconds <= wide.window_seconds
  );
}

/**
 * Validates `narrowTo` against the request's grant. Returns the narrowed terms with their hash, or
 * undefined when they are the grant's own (no narrowing). Throws ValidationError naming the
 * offending term, e.g. `resource "arn:…" was not asked for`.
 */
export function narrowTerms(request: ActionRequest, narrowTo: NarrowTo): NarrowedTerms | undefined {
  const asked = termsOf(request.grant);
  if (!asked) {
    throw new ValidationError(
      `request ${request.id} has no scope to narrow: its grant (${request.grant?.type ?? 'none'}) names no actions, resources and window; approve or reject it as asked`,
      { details: { field: 'narrow_to' } },
    );
  }
  const stated = request.grant?.wildcards ?? [];
  const actions = narrowTo.actions === undefined ? asked.actions : listOf('actions', narrowTo.actions);
  for (const action of actions) {
    if (!asked.actions.includes(action)) {
      throw new ValidationError(
        `action ${JSON.stringify(action)} was not asked for; narrow to some of ${JSON.stringify(asked.actions)}`,
        { details: { field: 'narrow_to.actions', got: action, asked: asked.actions } },
      );
    }
  }
  const resources =
    narrowTo.resources === undefined ? asked.resources : listOf('resources', narrowTo.resources);
  for (const resource of resources) {
    if (!resourceCovered(resource, asked.resources, stated)) {
      const why = WILDCARD.test(resource)
        ? ' (a wildcard may only stand where the request asked for that same wildcard)'
        : '';
      throw new ValidationError(
        `resource ${JSON.stringify(resource)} was not asked for${why}; narrow to some of ${JSON.stringify(asked.resources)}, or to a resource one of its stated wildcards covers`,
        { details: { field: 'narrow_to.resources', got: resource, asked: asked.resources } },
      );
    }
  }
  const window = narrowTo.window_seconds ?? asked.window_seconds;
  if (!Number.isInteger(window) || window < 1 || window > asked.window_seconds) {
    throw new ValidationError(
      `window_seconds ${JSON.stringify(window)} is not within what was asked; give a whole number of seconds from 1 to ${asked.window_seconds}`,
      { details: { field: 'narrow_to.window_seconds', got: window, asked: asked.window_seconds } },
    );
  }
  const terms: Terms = { actions, resources, window_seconds: window };
  if (sameTerms(terms, asked)) return undefined;
  return { ...terms, terms_hash: termsHash(request.id, request.actionHash, terms) };
}

/** The grant an approval of `terms` issues: the request's grant cut down to them, never more. */
export function narrowedGrant(grant: GrantSpec, terms: Terms): GrantSpec {
  const kept = new Set([...terms.actions, ...terms.resources]);
  const wildcards = (grant.wildcards ?? []).filter((w) => kept.has(w));
  return {
    type: grant.type,
    ...(grant.role ? { role: grant.role } : {}),
    actions: [...terms.actions],
    resources: [...terms.resources],
    window_seconds: terms.window_seconds,
    ...(wildcards.length > 0 ? { wildcards } : {}),
  };
}

export function sameTerms(a: Terms, b: Terms): boolean {
  return (
    a.window_seconds === b.window_seconds &&
    sameList(sortedUnique(a.actions), sortedUnique(b.actions)) &&
    sameList(sortedUnique(a.resources), sortedUnique(b.resources))
  );
}

/**
 * The quorum rule for narrowed votes. Each approve vote approves one term set: the request as asked
 * (no `terms`) or its narrowed terms. A vote counts toward the term set it names, and a vote for
 * the request as asked also counts toward every narrowing of it (whoever approved everything
 * approved each part); a narrowed vote never counts toward the request as asked nor toward other
 * narrowed terms. One principal is one vote.
 *
 * Returns the term set that has reached `minApprovals`, or undefined. The terms as asked win when
 * they have a quorum; otherwise the narrowed term set with the most approvers, the one voted
 * first on a tie (which only happens when an as-asked vote completes several at once).
 */
export function quorumTerms(
  votes: readonly Vote[],
  minApprovals: number,
):
  | { readonly kind: 'as_asked'; readonly approvers: readonly string[] }
  | { readonly kind: 'narrowed'; readonly terms: NarrowedTerms; readonly approvers: readonly string[] }
  | undefined {
  const approvals = votes.filter((vote) => vote.decision === 'approve');
  const asAsked = [...new Set(approvals.filter((vote) => !vote.terms).map((vote) => vote.approver))];
  if (asAsked.length >= minApprovals) return { kind: 'as_asked', approvers: asAsked };
  let best: { terms: NarrowedTerms; approvers: readonly string[] } | undefined;
  const seen = new Set<string>();
  for (const vote of approvals) {
    const terms = vote.terms;
    if (!terms || seen.has(terms.terms_hash)) continue;
    seen.add(terms.terms_hash);
    const approvers = approversOf(approvals, terms.terms_hash);
    if (approvers.length >= minApprovals && (!best || approvers.length > best.approvers.length)) {
      best = { terms, approvers };
    }
  }
  return best ? { kind: 'narrowed', ...best } : undefined;
}

/** The distinct approvers whose votes count toward the narrowed terms `hash` (see quorumTerms). */
export function approversOf(votes: readonly Vote[], hash: string): readonly string[] {
  return [
    ...new Set(
      votes
        .filter((vote) => vote.decision === 'approve' && (!vote.terms || vote.terms.terms_hash === hash))
        .map((vote) => vote.approver),
    ),
  ];
}

/** One line for people and agents: `s3:GetObject on arn:…, for 600 s`. */
export function describeTerms(terms: Terms): string {
  return `${terms.actions.join(', ')} on ${terms.resources.join(', ')}, for ${terms.window_seconds} s`;
}

function listOf(what: 'actions' | 'resources', values: readonly string[]): readonly string[] {
  if (values.length === 0) {
    throw new ValidationError(
      `narrow_to.${what} is empty; keep at least one of the ${what} asked for (to approve none, reject the request)`,
      { details: { field: `narrow_to.${what}` } },
    );
  }
  return sortedUnique(values);
}

function sortedUnique(values: readonly string[]): readonly string[] {
  return [...new Set(values)].sort();
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}
