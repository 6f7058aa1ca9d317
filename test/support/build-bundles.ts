/**
 * Vitest global setup: builds the gateway and CLI bundles (dist/) from the current sources, so
 * tests that run `bin/ala.js` or `npm start` never run a stale build. Once per vitest run.
 */
import { buildBundles } from '../../scripts/build.ts';

export default async function setup(): Promise<void> {
  if (process.env.ALA_TEST_BUNDLES_BUILT === '1') return;
  await buildBundles();
  process.env.ALA_TEST_BUNDLES_BUILT = '1';
}
