import { readFile } from 'node:fs/promises';
import { PolicyLoadError } from './errors.ts';
import {
  type LoadPolicyEvaluatorOptions,
  loadPolicyEvaluator,
  type WasmPolicyEvaluator,
} from './evaluator.ts';

export interface PolicyBundlePaths {
  /** `policy.wasm` of the bundle, e.g. policies/build/policy.wasm. */
  readonly wasm: string;
  /** `data.json` of the same bundle, e.g. policies/build/data.json. */
  readonly data: string;
}

/**
 * {@link loadPolicyEvaluator} for a bundle on disk. Throws {@link PolicyLoadError} naming the file
 * and what to do when a file is missing, unreadable or not JSON.
 */
export async function loadPolicyEvaluatorFromFiles(
  paths: PolicyBundlePaths,
  options: Omit<LoadPolicyEvaluatorOptions, 'wasm' | 'data'> = {},
): Promise<WasmPolicyEvaluator> {
  const [wasm, dataText] = await Promise.all([read(paths.wasm, null), read(paths.data, 'utf8')]);
  let data: unknown;
  try {
    data = JSON.parse(dataText);
  } catch (error) {
    throw new PolicyLoadError(
      `The policy data ${paths.data} is not valid JSON (${error instanceof Error ? error.message : String(error)}); ` +
        `rebuild it with 'npm run policy:build' or fix the path.`,
      { cause: error },
    );
  }
  return loadPolicyEvaluator({ ...options, wasm, data });
}

async function read(path: string, encoding: null): Promise<Uint8Array>;
async function read(path: string, encoding: 'utf8'): Promise<string>;
async function read(path: string, encoding: 'utf8' | null): Promise<Uint8Array | string> {
  try {
    return encoding === null ? new Uint8Array(await readFile(path)) : await readFile(path, encoding);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const hint =
      code === 'ENOENT'
        ? "it does not exist; run 'npm run policy:build' or point the configuration at an existing bundle"
        : `it cannot be read (${error instanceof Error ? error.message : String(error)})`;
    throw new PolicyLoadError(`Cannot load the policy bundle file ${path}: ${hint}.`, { cause: error });
  }
}
