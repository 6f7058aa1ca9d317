/**
 * How every Lambda of the gateway is bundled, in one place: GatewayFunction hands these settings to
 * NodejsFunction (which runs the esbuild CLI with them), and bench/lambda.bench.ts builds the api
 * bundle from the same settings through esbuild's API, so the bench measures what the stack deploys.
 */
import type { BuildOptions } from 'esbuild';

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
    banner: { js: LAMBDA_BUNDLING.banner },
    logLevel: 'warning',
  };
}
