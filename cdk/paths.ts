import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (cdk/..): handlers, the lock file and the policy bundle are found from here. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The compiled default policy bundle (npm run policy:build). */
export const DEFAULT_POLICY_BUNDLE_DIR = resolve(REPO_ROOT, 'policies', 'build');

/** Public half of the committed demo signing key (the default bundle is signed with it). */
export const DEMO_POLICY_VERIFICATION_KEY = resolve(
  REPO_ROOT,
  'policies',
  'keys',
  'demo-verification-key.pem',
);
