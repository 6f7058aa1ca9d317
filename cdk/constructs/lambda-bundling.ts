/**
 * How every Lambda of the gateway is bundled, in one place: GatewayFunction hands these settings to
 * NodejsFunction (which runs the esbuild CLI with them), and bench/lambda.bench.ts builds the api
 * bundle from the same settings through esbuild's API, so the bench measures what the stack deploys.
 */
import type { BuildOptions } from 'esbuild';
import { REPO_ROOT } from '../paths.ts';

/** The settings NodejsFunction's `bundling` takes, besides the format (ESM) and the command hooks. */
export const LAMBDA_BUNDLING = {
  target: 'node22',
  mainFields: ['module', 'main'],
  minify: true,
  // No keepNames: it wraps every function and class (a defineProperty per closure created at
  // run time, ~45 KB); error classes state their names instead (test/unit/core/error-names.test.ts).
  keepNames: false,
  sourceMap: false,
  // CommonJS dependencies inside an ES module bundle still call require().
  banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  metafile: false,
} as const;

/**
 * The packages left out of a bundle: the AWS SDK v3 when the runtime provides it (NodejsFunction's
 * own default for Node 18+, stated here so the bench cannot drift from it), nothing when bundled.
 */
export function externalModules(bundleAwsSdk: boolean): string[] {
  return bundleAwsSdk ? [] : ['@aws-sdk/*'];
}

/**
 * The AWS SDK packages the functions import. Left to the runtime, each is loaded through
 * `require()` (a one-line CommonJS shim in cdk/runtime-sdk/, swapped in by an esbuild alias)
 * instead of an ES `import`: the SDK's packages are CommonJS, and Node imports a CommonJS package
 * into an ES module only after parsing each file once more to detect its format and lexing it for
 * its export names — about a third of the cost of loading the DynamoDB client on a cold start
 * (docs/decisions/0015-performance.md). `require()` resolves them as a CommonJS handler always
 * has: through NODE_PATH, which holds the runtime's node_modules. Source and tests are unchanged;
 * only bundles see the shims. test/unit/cdk/lambda-bundling.test.ts keeps this list equal to the
 * packages imported under functions/.
 */
export const RUNTIME_SDK_PACKAGES = [
  '@aws-sdk/client-dynamodb',
  '@aws-sdk/client-resource-groups-tagging-api',
  '@aws-sdk/client-s3',
  '@aws-sdk/client-secrets-manager',
  '@aws-sdk/client-sfn',
  '@aws-sdk/client-sts',
  '@aws-sdk/lib-dynamodb',
  '@aws-sdk/util-dynamodb',
] as const;

/** The shim of a runtime SDK package, relative to the repository root (where esbuild runs). */
export function runtimeSdkShim(name: string): string {
  return `./cdk/runtime-sdk/${name.replace('@aws-sdk/', '')}.cjs`;
}

/** esbuild aliases: each runtime SDK package to its require() shim; none when the SDK is bundled. */
export function sdkAliases(bundleAwsSdk: boolean): Record<string, string> {
  return bundleAwsSdk
    ? {}
    : Object.fromEntries(RUNTIME_SDK_PACKAGES.map((name) => [name, runtimeSdkShim(name)]));
}

/** The esbuild API options equal to the CLI arguments NodejsFunction derives from the settings above. */
export function lambdaEsbuildOptions(entry: string, outfile: string, bundleAwsSdk: boolean): BuildOptions {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: LAMBDA_BUNDLING.target,
    mainFields: [...LAMBDA_BUNDLING.mainFields],
    minify: LAMBDA_BUNDLING.minify,
    keepNames: LAMBDA_BUNDLING.keepNames,
    sourcemap: LAMBDA_BUNDLING.sourceMap,
    external: externalModules(bundleAwsSdk),
    alias: sdkAliases(bundleAwsSdk),
    // Aliases are paths from the repository root, as NodejsFunction's local bundling runs there.
    absWorkingDir: REPO_ROOT,
    banner: { js: LAMBDA_BUNDLING.banner },
    logLevel: 'warning',
  };
}
