import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './support.ts';

export interface PolicyCase {
  readonly name: string;
  readonly input: Record<string, unknown>;
  /** The value of data.approvals.decision: what both engines must return. */
  readonly expected: Record<string, unknown> & { readonly outcome: string };
}

export const POLICY_CASES_FILE = join(ROOT, 'test/fixtures/policy-cases.json');

/** The shared decision table (test/fixtures/policy-cases.json), run by the unit and integration suites. */
export function policyCases(): PolicyCase[] {
  const table = JSON.parse(readFileSync(POLICY_CASES_FILE, 'utf8')) as { cases: PolicyCase[] };
  return table.cases;
}
