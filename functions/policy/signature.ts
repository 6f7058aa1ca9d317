/**
 * Verification of OPA bundle signatures (`.signatures.json`, as `opa build --signing-key` and
 * `opa sign` write it): one compact JWS whose payload lists every file of the bundle with its hash.
 * The JWS is checked with `jose` against a configured public key; the file hashes are recomputed
 * here the way OPA computes them (raw bytes for a module, a canonical encoding for JSON files).
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { compactVerify, errors as joseErrors } from 'jose';
import { PolicyLoadError } from './errors.ts';

/** The file name OPA gives each part of a wasm bundle, as listed in the signature. */
export const SIGNED_NAMES = { wasm: 'policy.wasm', data: 'data.json', manifest: '.manifest' } as const;

/** Asymmetric algorithms only: the gateway holds a public key and can never sign a bundle itself. */
export const SIGNATURE_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;
export type SignatureAlgorithm = (typeof SIGNATURE_ALGORITHMS)[number];

const HASHES: Record<string, string> = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };

export interface VerificationKey {
  readonly key: KeyObject;
  readonly algorithm: SignatureAlgorithm;
  /** Where the key came from, for messages (a file path, or "the demo key"). */
  readonly source: string;
}

/**
 * Parses a PEM public key. The algorithm defaults to the one the key's type implies (RSA → RS256,
 * P-256 → ES256, P-384 → ES384, P-521 → ES512, Ed25519 → EdDSA), which is what `opa sign` uses
 * when given `--signing-alg` for that key.
 */
export function parseVerificationKey(pem: string, source: string, algorithm?: string): VerificationKey {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new PolicyLoadError(
      `The policy verification key ${source} is not a PEM public key (${(error as Error).message}); ` +
        "give the public half of the bundle signing key, e.g. 'openssl pkey -in signing-key.pem -pubout'.",
      { cause: error },
    );
  }
  const implied = impliedAlgorithm(key);
  const chosen = algorithm ?? implied;
  if (chosen === undefined || !(SIGNATURE_ALGORITHMS as readonly string[]).includes(chosen)) {
    throw new PolicyLoadError(
      `The policy verification key ${source} is a ${key.asymmetricKeyType} key; ` +
        `set the signing algorithm to one of ${SIGNATURE_ALGORITHMS.join(', ')} (got ${chosen ?? 'none'}).`,
    );
  }
  return { key, algorithm: chosen as SignatureAlgorithm, source };
}

function impliedAlgorithm(key: KeyObject): SignatureAlgorithm | undefined {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return 'RS256';
    case 'rsa-pss':
      return 'PS256';
    case 'ed25519':
      return 'EdDSA';
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === 'prime256v1') return 'ES256';
      if (curve === 'secp384r1') return 'ES384';
      if (curve === 'secp521r1') return 'ES512';
      return undefined;
    }
    default:
      return undefined;
  }
}

/** The bundle as read from disk: what the gateway will load, plus what else the bundle holds. */
export interface BundleContent {
  readonly wasm: Uint8Array;
  /** The parsed data document: the very value the evaluator will load. */
  readonly data: unknown;
  /** `.manifest` parsed, when the bundle has one. */
  readonly manifest?: unknown;
  /** The text of `.signatures.json`, undefined when there is none. */
  readonly signatures?: string;
  /** Where the signatures were looked for, for messages. */
  readonly signaturesPath: string;
}

export interface SignedFile {
  readonly name: string;
  readonly hash: string;
  readonly algorithm: string;
}

export interface VerifiedSignature {
  readonly files: readonly SignedFile[];
  readonly keyid?: string;
  readonly algorithm: SignatureAlgorithm;
}

/** Why a bundle was refused: one stable code per kind, and the message that says what to do. */
export class BundleSignatureError extends PolicyLoadError {
  override name = 'BundleSignatureError';
  readonly reason:
    | 'unsigned'
    | 'malformed'
    | 'bad_signature'
    | 'file_mismatch'
    | 'file_unsigned'
    | 'file_missing';
  constructor(reason: BundleSignatureError['reason'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

/**
 * Verifies the bundle's signature and that every file it lists is the file that will be loaded.
 * Like OPA, it refuses a file the signature does not list and a listed file the bundle lacks.
 */
export async function verifyBundleSignature(
  bundle: BundleContent,
  key: VerificationKey,
): Promise<VerifiedSignature> {
  if (bundle.signatures === undefined) {
    throw new BundleSignatureError(
      'unsigned',
      `The policy bundle is not signed: ${bundle.signaturesPath} does not exist. Sign it with the key whose ` +
        `public half is ${key.source} ('npm run policy:build -- --signing-key <key.pem>', or 'opa sign'); see docs/policies.md.`,
    );
  }
  let jws: string;
  try {
    const parsed = JSON.parse(bundle.signatures) as { signatures?: unknown };
    if (!Array.isArray(parsed.signatures) || parsed.signatures.length !== 1) {
      throw new Error(
        `"signatures" must be an array of exactly one JWS, got ${describeCount(parsed.signatures)}`,
      );
    }
    if (typeof parsed.signatures[0] !== 'string') throw new Error('the signature is not a string');
    jws = parsed.signatures[0];
  } catch (error) {
    throw new BundleSignatureError(
      'malformed',
      `${bundle.signaturesPath} is not an OPA bundle signature file (${(error as Error).message}); sign the bundle again.`,
      { cause: error },
    );
  }
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(jws, key.key, { algorithms: [key.algorithm] }));
  } catch (error) {
    const why =
      error instanceof joseErrors.JOSEAlgNotAllowed
        ? `it was signed with another algorithm than ${key.algorithm}`
        : error instanceof joseErrors.JWSSignatureVerificationFailed
          ? 'it was signed with another key, or the signature file was altered'
          : (error as Error).message;
    throw new BundleSignatureError(
      'bad_signature',
      `The policy bundle signature in ${bundle.signaturesPath} does not verify with the verification key ` +
        `${key.source} (${key.algorithm}): ${why}. Sign the bundle with the matching private key, or configure the right public key.`,
      { cause: error },
    );
  }
  const claims = parseClaims(payload, bundle.signaturesPath);

  const present = new Map<string, Uint8Array>([
    [SIGNED_NAMES.wasm, bundle.wasm],
    [SIGNED_NAMES.data, jsonHashInput(bundle.data)],
  ]);
  if (bundle.manifest !== undefined) present.set(SIGNED_NAMES.manifest, jsonHashInput(bundle.manifest));
  const listed = new Map<string, SignedFile>();
  for (const file of claims.files) listed.set(normalizeName(file.name), file);

  for (const [name, bytes] of present) {
    const file = listed.get(name);
    if (file === undefined) {
      throw new BundleSignatureError(
        'file_unsigned',
        `The policy bundle file ${name} is not listed in its signature (${bundle.signaturesPath}); the bundle was ` +
          'changed after signing. Rebuild and sign it again.',
      );
    }
    const hashName = HASHES[file.algorithm];
    if (hashName === undefined) {
      throw new BundleSignatureError(
        'malformed',
        `The signature lists ${name} with hash algorithm ${file.algorithm}; this gateway accepts ${Object.keys(HASHES).join(', ')}.`,
      );
    }
    const actual = createHash(hashName).update(bytes).digest('hex');
    if (actual !== file.hash.toLowerCase()) {
      throw new BundleSignatureError(
        'file_mismatch',
        `The policy bundle file ${name} does not match its signature: signed ${file.algorithm} ${file.hash}, ` +
          `the file has ${actual}. It was changed after signing; rebuild and sign the bundle again.`,
      );
    }
  }
  for (const name of listed.keys()) {
    if (!present.has(name)) {
      throw new BundleSignatureError(
        'file_missing',
        `The signature lists ${name}, which the policy bundle does not have beside ${bundle.signaturesPath}; ` +
          'copy the whole signed bundle (policy.wasm, data.json, .manifest, .signatures.json).',
      );
    }
  }
  return {
    files: claims.files,
    ...(claims.keyid !== undefined ? { keyid: claims.keyid } : {}),
    algorithm: key.algorithm,
  };
}

function parseClaims(payload: Uint8Array, source: string): { files: SignedFile[]; keyid?: string } {
  try {
    const claims = JSON.parse(new TextDecoder().decode(payload)) as { files?: unknown; keyid?: unknown };
    if (!Array.isArray(claims.files)) throw new Error('the payload has no "files" list');
    const files = claims.files.map((entry: unknown) => {
      const f = entry as Partial<SignedFile>;
      if (typeof f.name !== 'string' || typeof f.hash !== 'string' || typeof f.algorithm !== 'string') {
        throw new Error('every file needs a name, a hash and an algorithm');
      }
      return { name: f.name, hash: f.hash, algorithm: f.algorithm };
    });
    return { files, ...(typeof claims.keyid === 'string' ? { keyid: claims.keyid } : {}) };
  } catch (error) {
    throw new BundleSignatureError(
      'malformed',
      `The signature in ${source} verifies but its payload is not an OPA file list (${(error as Error).message}).`,
      { cause: error },
    );
  }
}

/** `/policy.wasm` and `./policy.wasm` name the same file as `policy.wasm`. */
function normalizeName(name: string): string {
  return name.replace(/^\.\//, '').replace(/^\/+/, '');
}

function describeCount(value: unknown): string {
  return Array.isArray(value) ? `${value.length} entries` : typeof value;
}

/**
 * The bytes OPA hashes for a JSON file: the value re-encoded with object keys sorted and no
 * whitespace, strings as Go's encoder writes them without HTML escaping (U+2028 and U+2029 as \u
 * escapes; `<`, `>`, `&` and non-ASCII text as they are). So reformatting data.json does not break
 * its signature, while any change of value does. Checked against `opa sign` in
 * test/integration/policy/signing.test.ts.
 */
export function jsonHashInput(value: unknown): Uint8Array {
  return new TextEncoder().encode(goJson(value));
}

function goJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'number') return JSON.stringify(value);
  if (typeof value === 'string') {
    return JSON.stringify(value).replace(
      /[\u2028\u2029]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
  }
  if (Array.isArray(value)) return `[${value.map(goJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.keys(value as Record<string, unknown>)
      .sort()
      .map((k) => `${goJson(k)}:${goJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  throw new TypeError(`a ${typeof value} has no JSON form`);
}
