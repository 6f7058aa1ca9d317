import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  externalModules,
  LAMBDA_BUNDLING,
  lambdaEsbuildOptions,
  RUNTIME_SDK_PACKAGES,
  runtimeSdkShim,
  sdkAliases,
} from '../../../cdk/constructs/lambda-bundling.ts';
import { REPO_ROOT } from '../../../cdk/paths.ts';

/** Every `@aws-sdk/…` package imported (statically or with `import()`) by a file under functions/. */
function sdkPackagesImportedByFunctions(): string[] {
  const found = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) {
        const text = readFileSync(path, 'utf8');
        for (const match of text.matchAll(/(?:from |import\()'(@aws-sdk\/[^'/]+)/g)) {
          if (match[1]) found.add(match[1]);
        }
      }
    }
  };
  walk(join(REPO_ROOT, 'functions'));
  return [...found].sort();
}

describe('Lambda bundling settings', () => {
  it('has a require() shim for exactly the AWS SDK packages the functions import', () => {
    expect([...RUNTIME_SDK_PACKAGES].sort()).toEqual(sdkPackagesImportedByFunctions());
  });

  it('makes each shim require its own package, by a name esbuild leaves to the runtime', () => {
    for (const name of RUNTIME_SDK_PACKAGES) {
      const text = readFileSync(join(REPO_ROOT, runtimeSdkShim(name)), 'utf8');
      expect(text, name).toContain(`const name = '${name}';`);
      expect(text, name).toContain('module.exports = require(name);');
    }
    const shims = readdirSync(join(REPO_ROOT, 'cdk', 'runtime-sdk')).map((file) =>
      relative(REPO_ROOT, join(REPO_ROOT, 'cdk', 'runtime-sdk', file)),
    );
    expect(shims.sort()).toEqual(RUNTIME_SDK_PACKAGES.map((name) => runtimeSdkShim(name).slice(2)).sort());
  });

  it('aliases and leaves out the SDK only when the runtime provides it', () => {
    expect(externalModules(false)).toEqual(['@aws-sdk/*']);
    expect(Object.keys(sdkAliases(false)).sort()).toEqual([...RUNTIME_SDK_PACKAGES].sort());
    expect(externalModules(true)).toEqual([]);
    expect(sdkAliases(true)).toEqual({});
  });

  it('gives esbuild the settings the stack gives NodejsFunction, without keepNames', () => {
    const options = lambdaEsbuildOptions('entry.ts', 'out/index.mjs', false);
    expect(options).toMatchObject({
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: LAMBDA_BUNDLING.target,
      mainFields: [...LAMBDA_BUNDLING.mainFields],
      minify: true,
      keepNames: false,
      sourcemap: false,
      external: ['@aws-sdk/*'],
      banner: { js: LAMBDA_BUNDLING.banner },
      absWorkingDir: REPO_ROOT,
    });
  });
});
