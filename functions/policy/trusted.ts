/**
 * Loading a bundle the gateway may trust: its signature verified against the configured public
 * key, its digest compared with the pinned one, then compiled. Outside demo mode any doubt refuses
 * the bundle; in demo mode a signature problem is a warning, so that edited demo data still runs.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PolicyLoadError } from './errors.ts';
import {
  type LoadPolicyEvaluatorOptions,
  loadPolicyEvaluator,
  type WasmPolicyEvaluator,
} from './evaluator.ts';
import {
  type BundleContent,
  BundleSignatureError,
  SIGNED_NAMES,
  type VerificationKey,
  verifyBundleSignature,
} from './signature.ts';

export interface TrustedBundlePaths {
  readonly wasm: string;
  readonly data: string;
  /** @default `.signatures.json` beside the wasm module */
  readonly signatures?: string;
}

export interface BundleTrust {
  /** The public key bundles must be signed for; required outside demo mode. */
  readonly key?: VerificationKey;
  /** `sha256:<hex>`: the policy digest the bundle must have (docs/policies.md#digests). */
  readonly digest?: string;
  /** Demo mode: a missing or failing signature is reported as a warning instead of refusing. */
  readonly demo: boolean;
}

export interface TrustedPolicy {
  readonly evaluator: WasmPolicyEvaluator;
  /** `verified`: the signature checked out; `unverified`: demo mode went on without (see warning). */
  readonly signature: 'verified' | 'unverified';
  readonly keyid?: string;
  /** Why the bundle is unverified (demo mode only). */
  readonly warning?: string;
}

/** Same as BundleSignatureError's reasons, plus the configuration and digest refusals. */
export class PolicyTrustError extends PolicyLoadError {
  override name = 'PolicyTrustError';
  readonly reason: BundleSignatureError['reason'] | 'no_key' | 'digest_mismatch';
  constructor(reason: PolicyTrustError['reason'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

export async function loadTrustedPolicy(
  paths: TrustedBundlePaths,
  trust: BundleTrust,
  options: Omit<LoadPolicyEvaluatorOptions, 'wasm' | 'data'> = {},
): Promise<TrustedPolicy> {
  const content = await readBundle(paths);
  let signature: TrustedPolicy['signature'] = 'unverified';
  let keyid: string | undefined;
  let warning: string | undefined;
  if (trust.key === undefined) {
    if (!trust.demo) {
      throw new PolicyTrustError(
        'no_key',
        'No policy verification key is configured, and outside demo mode the gateway loads only signed bundles. ' +
          'Set the public half of your bundle signing key (local: "policy.verificationKey" in the config file; ' +
          'AWS: the stack prop policyVerificationKey); see docs/policies.md#signing.',
      );
    }
    warning = 'no verification key is configured; the bundle signature is not checked (demo mode only)';
  } else {
    try {
      const verified = await verifyBundleSignature(content, trust.key);
      signature = 'verified';
      keyid = verified.keyid;
    } catch (error) {
      if (!(error instanceof BundleSignatureError)) throw error;
      if (!trust.demo) throw new PolicyTrustError(error.reason, error.message, { cause: error });
      warning = `${error.message} Demo mode goes on; a gateway with configured principals would refuse to start.`;
    }
  }
  const evaluator = await loadPolicyEvaluator({ ...options, wasm: content.wasm, data: content.data });
  if (trust.digest !== undefined && evaluator.digest !== trust.digest) {
    throw new PolicyTrustError(
      'digest_mismatch',
      `The policy bundle's digest is ${evaluator.digest}, but the configuration pins ${trust.digest}. ` +
        'Deploy the bundle whose digest is pinned, or pin the new digest (local: "policy.digest"; AWS: the stack prop policyDigest).',
    );
  }
  return {
    evaluator,
    signature,
    ...(keyid !== undefined ? { keyid } : {}),
    ...(warning !== undefined ? { warning } : {}),
  };
}

/** Reads the module, the data (parsed), and — when present — `.manifest` and `.signatures.json`. */
export async function readBundle(paths: TrustedBundlePaths): Promise<BundleContent> {
  const signaturesPath = paths.signatures ?? join(dirname(paths.wasm), '.signatures.json');
  const manifestPath = join(dirname(signaturesPath), SIGNED_NAMES.manifest);
  const [wasm, dataText, signatures, manifestText] = await Promise.all([
    readRequired(paths.wasm),
    readRequired(paths.data).then((bytes) => Buffer.from(bytes).toString('utf8')),
    readOptional(signaturesPath),
    readOptional(manifestPath),
  ]);
  return {
    wasm,
    data: parseJson(dataText, paths.data),
    ...(manifestText !== undefined ? { manifest: parseJson(manifestText, manifestPath) } : {}),
    ...(signatures !== undefined ? { signatures } : {}),
    signaturesPath,
  };
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new PolicyLoadError(
      `The policy bundle file ${path} is not valid JSON (${(error as Error).message}); rebuild the bundle.`,
      { cause: error },
    );
  }
}

async function readRequired(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const hint =
      code === 'ENOENT'
        ? "it does not exist; run 'npm run policy:build' or point the configuration at an existing bundle"
        : `it cannot be read (${(error as Error).message})`;
    throw new PolicyLoadError(`Cannot load the policy bundle file ${path}: ${hint}.`, { cause: error });
  }
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
    throw new PolicyLoadError(`Cannot read ${path} (${(error as Error).message}).`, { cause: error });
  }
}
