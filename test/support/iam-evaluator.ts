/**
 * A minimal IAM evaluator for the grammar the session-policy builder emits: Allow statements with
 * `Action`/`Resource` (string or list, `*` and `?` wildcards) and an optional
 * `DateLessThan aws:CurrentTime` condition. Anything else in a document is an error, so a builder
 * change that emits more than this understands fails the tests instead of passing unexamined.
 * (No maintained, permissively licensed simulator evaluates session policies.)
 */

export interface Call {
  readonly action: string;
  readonly resource: string;
  readonly time: Date;
}

/** Implicit deny unless a statement allows the call (no Deny statements in this grammar). */
export function evaluate(document: unknown, call: Call): 'allow' | 'deny' {
  const policy = document as { Version?: unknown; Statement?: unknown };
  if (policy.Version !== '2012-10-17' || !Array.isArray(policy.Statement)) {
    throw new Error('not a policy document this evaluator understands');
  }
  return policy.Statement.some((statement) => allows(statement, call)) ? 'allow' : 'deny';
}

function allows(statement: Record<string, unknown>, call: Call): boolean {
  const known = new Set(['Sid', 'Effect', 'Action', 'Resource', 'Condition']);
  for (const key of Object.keys(statement)) {
    if (!known.has(key)) throw new Error(`statement key ${key} is outside this evaluator's grammar`);
  }
  if (statement.Effect !== 'Allow') throw new Error(`Effect ${String(statement.Effect)} is not understood`);
  // IAM: action names are case-insensitive, resources (ARNs) case-sensitive.
  const actionOk = list(statement.Action).some((p) => wildcard(p, call.action, true));
  const resourceOk = list(statement.Resource).some((p) => wildcard(p, call.resource, false));
  return actionOk && resourceOk && conditionHolds(statement.Condition, call.time);
}

function conditionHolds(condition: unknown, time: Date): boolean {
  if (condition === undefined) return true;
  const operators = condition as Record<string, Record<string, unknown>>;
  for (const [operator, keys] of Object.entries(operators)) {
    if (operator !== 'DateLessThan') throw new Error(`condition operator ${operator} is not understood`);
    for (const [key, value] of Object.entries(keys)) {
      if (key !== 'aws:CurrentTime') throw new Error(`condition key ${key} is not understood`);
      const limit = Date.parse(String(value));
      if (Number.isNaN(limit)) throw new Error(`DateLessThan value ${String(value)} is not a date`);
      if (!(time.getTime() < limit)) return false;
    }
  }
  return true;
}

function list(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
  throw new Error('Action/Resource must be a string or a list of strings');
}

/** IAM wildcard match: `*` any run of characters, `?` exactly one; everything else literal. */
export function wildcard(pattern: string, value: string, ignoreCase: boolean): boolean {
  const source = [...pattern]
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, ignoreCase ? 'is' : 's').test(value);
}
