/**
 * Lambda bundles are minified without esbuild's keepNames (it costs a defineProperty for every
 * closure and ~45 KB), so a class's own name does not survive bundling: every error class states
 * its name, which is what the logs show.
 */
import { describe, expect, it } from 'vitest';
import * as coreErrors from '../../../functions/core/errors.ts';
import * as policyErrors from '../../../functions/policy/errors.ts';

describe('Error names', () => {
  const classes = Object.entries({ ...coreErrors, ...policyErrors }).filter(
    ([, value]) => typeof value === 'function' && value.prototype instanceof Error,
  ) as [string, new (...args: unknown[]) => Error][];

  it('finds the error classes', () => {
    expect(classes.length).toBeGreaterThan(20);
  });

  it.each(classes.filter(([name]) => name !== 'GatewayError'))('%s names itself', (name, ErrorClass) => {
    const error = new ErrorClass('what went wrong');
    expect(error.name).toBe(name);
  });
});
