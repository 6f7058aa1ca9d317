/**
 * Signed copies of the default bundle for tests: a key pair made per call, the bundle's files
 * copied into a scratch folder (data optionally edited) and a `.signatures.json` written in the
 * format `opa sign` writes (one compact JWS over the list of file hashes). Interoperability with
 * `opa sign` itself is tested against the opa CLI (test/integration/policy/signing.test.ts). The JWS
 * is made with node:crypto, not with the library the gateway verifies with.
 */
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { jsonHashInput } from '../../functions/policy/signature.ts';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const BUILD = join(ROOT, 'policies/build');

export interface TestKeys {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** Where the public key was written (PEM). */
  readonly publicKeyPath: string;
}

export function testKeys(dir = mkdtempSync(join(tmpdir(), 'ala-keys-'))): TestKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicKeyPath = join(dir, 'verification-key.pem');
  writeFileSync(publicKeyPath, publicKey.export({ type: 'spki', format: 'pem' }));
  return { privateKey, publicKey, publicKeyPath };
}

/** Writes `.signatures.json` for policy.wasm, data.json and .manifest in `dir`, signed ES256. */
export function signBundleDir(dir: string, privateKey: KeyObject): void {
  const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
  const json = (name: string) => jsonHashInput(JSON.parse(readFileSync(join(dir, name), 'utf8')));
  const files = [
    { name: '.manifest', hash: sha(json('.manifest')), algorithm: 'SHA-256' },
    { name: 'data.json', hash: sha(json('data.json')), algorithm: 'SHA-256' },
    { name: 'policy.wasm', hash: sha(readFileSync(join(dir, 'policy.wasm'))), algorithm: 'SHA-256' },
  ];
  const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64url');
  const signingInput = `${b64(JSON.stringify({ alg: 'ES256', typ: 'JWT' }))}.${b64(JSON.stringify({ files }))}`;
  const signature = sign('sha256', Buffer.from(signingInput), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  const jws = `${signingInput}.${b64(signature)}`;
  writeFileSync(join(dir, '.signatures.json'), JSON.stringify({ signatures: [jws] }, null, 1));
}

/**
 * A signed copy of the default bundle in a new folder; `editData` changes the data before signing
 * (so the copy decides differently and is still validly signed).
 */
export function signedBundleCopy(
  keys: TestKeys,
  editData?: (data: Record<string, unknown>) => void,
  dir = mkdtempSync(join(tmpdir(), 'ala-bundle-')),
): { dir: string; wasm: string; data: string } {
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(BUILD, 'policy.wasm'), join(dir, 'policy.wasm'));
  copyFileSync(join(BUILD, '.manifest'), join(dir, '.manifest'));
  const data = JSON.parse(readFileSync(join(BUILD, 'data.json'), 'utf8')) as Record<string, unknown>;
  editData?.(data);
  writeFileSync(join(dir, 'data.json'), JSON.stringify(data));
  signBundleDir(dir, keys.privateKey);
  return { dir, wasm: join(dir, 'policy.wasm'), data: join(dir, 'data.json') };
}
