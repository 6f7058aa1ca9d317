import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseVerificationKey } from '../../../functions/policy/signature.ts';
import { loadTrustedPolicy, PolicyTrustError } from '../../../functions/policy/trusted.ts';
import { BUILD, ROOT, signedBundleCopy, testKeys } from '../../support/signed-bundle.ts';

const DEMO_KEY = join(ROOT, 'policies/keys/demo-verification-key.pem');

function keyOf(path: string) {
  return parseVerificationKey(readFileSync(path, 'utf8'), path);
}

async function refusal(loading: Promise<unknown>): Promise<PolicyTrustError> {
  const error = await loading.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PolicyTrustError);
  return error as PolicyTrustError;
}

describe('Signed policy bundles', () => {
  it('loads the committed bundle, signed by opa sign with the demo key, as verified', async () => {
    const trusted = await loadTrustedPolicy(
      { wasm: join(BUILD, 'policy.wasm'), data: join(BUILD, 'data.json') },
      { key: keyOf(DEMO_KEY), demo: false },
    );
    expect(trusted.signature).toBe('verified');
    expect(trusted.warning).toBeUndefined();
  });

  it('loads a bundle signed with the configured key, and its digest is the one every decision names', async () => {
    const keys = testKeys();
    const bundle = signedBundleCopy(keys);
    const trusted = await loadTrustedPolicy(bundle, { key: keyOf(keys.publicKeyPath), demo: false });
    expect(trusted.signature).toBe('verified');
    const decision = trusted.evaluator.evaluateUnknown({});
    expect(decision.policyDigest).toBe(trusted.evaluator.digest);
  });

  it('accepts data.json reformatted after signing: the signature covers values, not whitespace', async () => {
    const keys = testKeys();
    const bundle = signedBundleCopy(keys);
    writeFileSync(bundle.data, JSON.stringify(JSON.parse(readFileSync(bundle.data, 'utf8')), null, 4));
    const trusted = await loadTrustedPolicy(bundle, { key: keyOf(keys.publicKeyPath), demo: false });
    expect(trusted.signature).toBe('verified');
  });

  it('refuses a tampered wasm module, naming the file and both hashes', async () => {
    const keys = testKeys();
    const bundle = signedBundleCopy(keys);
    const wasm = readFileSync(bundle.wasm);
    wasm[wasm.length - 1] = (wasm[wasm.length - 1] ?? 0) ^ 0xff;
    writeFileSync(bundle.wasm, wasm);
    const error = await refusal(loadTrustedPolicy(bundle, { key: keyOf(keys.publicKeyPath), demo: false }));
    expect(error.reason).toBe('file_mismatch');
    expect(error.message).toMatch(
      /policy\.wasm does not match its signature: signed SHA-256 [0-9a-f]{64}, the file has [0-9a-f]{64}/,
    );
  });

  it('refuses tampered data: one changed value in data.json', async () => {
    const keys = testKeys();
    const bundle = signedBundleCopy(keys);
    const data = JSON.parse(readFileSync(bundle.data, 'utf8')) as { groups: Record<string, string[]> };
    const [group] = Object.keys(data.groups);
    data.groups[group as string]?.push('user:mallory@example.gov');
    writeFileSync(bundle.data, JSON.stringify(data));
    const error = await refusal(loadTrustedPolicy(bundle, { key: keyOf(keys.publicKeyPath), demo: false }));
    expect(error.reason).toBe('file_mismatch');
    expect(error.message).toMatch(/data\.json does not match its signature/);
  });

  it('refuses a bundle signed with another key, naming the key it tried', async () => {
    const signer = testKeys();
    const configured = testKeys();
    const bundle = signedBundleCopy(signer);
    const error = await refusal(
      loadTrustedPolicy(bundle, { key: keyOf(configured.publicKeyPath), demo: false }),
    );
    expect(error.reason).toBe('bad_signature');
    expect(error.message).toContain(configured.publicKeyPath);
    expect(error.message).toMatch(/signed with another key/);
  });

  it('refuses a bundle without .signatures.json, saying where it looked and how to sign', async () => {
    const keys = testKeys();
    const bundle = signedBundleCopy(keys);
    rmSync(join(bundle.dir, '.signatures.json'));
    const error = await refusal(loadTrustedPolicy(bundle, { key: keyOf(keys.publicKeyPath), demo: false }));
    expect(error.reason).toBe('unsigned');
    expect(error.message).toContain(join(bundle.dir, '.signatures.json'));
    expect(error.message).toMatch(/--signing-key/);
  });

  it('refuses a bundle whose digest is not the pinned one, giving both digests', async () => {
    const keys = testKeys();
    const bundle = signedBundleCopy(keys);
    const pinned = `sha256:${'a'.repeat(64)}`;
    const error = await refusal(
      loadTrustedPolicy(bundle, { key: keyOf(keys.publicKeyPath), digest: pinned, demo: false }),
    );
    expect(error.reason).toBe('digest_mismatch');
    expect(error.message).toContain(pinned);
    expect(error.message).toMatch(/bundle's digest is sha256:[0-9a-f]{64}/);
  });

  it('loads a bundle whose digest is the pinned one', async () => {
    const keys = testKeys();
    const bundle = signedBundleCopy(keys);
    const first = await loadTrustedPolicy(bundle, { key: keyOf(keys.publicKeyPath), demo: false });
    const pinned = await loadTrustedPolicy(bundle, {
      key: keyOf(keys.publicKeyPath),
      digest: first.evaluator.digest,
      demo: false,
    });
    expect(pinned.evaluator.digest).toBe(first.evaluator.digest);
  });

  it('refuses to load without a verification key outside demo mode, saying which setting is missing', async () => {
    const keys = testKeys();
    const bundle = signedBundleCopy(keys);
    const error = await refusal(loadTrustedPolicy(bundle, { demo: false }));
    expect(error.reason).toBe('no_key');
    expect(error.message).toMatch(/policy\.verificationKey.*policyVerificationKey/s);
  });

  it('in demo mode goes on with a tampered bundle but says why it is not verified', async () => {
    const keys = testKeys();
    const bundle = signedBundleCopy(keys, (data) => {
      data.demo_marker = true;
    });
    const data = JSON.parse(readFileSync(bundle.data, 'utf8')) as Record<string, unknown>;
    data.demo_marker = false;
    writeFileSync(bundle.data, JSON.stringify(data));
    const trusted = await loadTrustedPolicy(bundle, { key: keyOf(keys.publicKeyPath), demo: true });
    expect(trusted.signature).toBe('unverified');
    expect(trusted.warning).toMatch(/data\.json does not match its signature.*would refuse to start/s);
  });

  it('still enforces a pinned digest in demo mode', async () => {
    const keys = testKeys();
    const bundle = signedBundleCopy(keys);
    const error = await refusal(
      loadTrustedPolicy(bundle, {
        key: keyOf(keys.publicKeyPath),
        digest: `sha256:${'b'.repeat(64)}`,
        demo: true,
      }),
    );
    expect(error.reason).toBe('digest_mismatch');
  });

  it('refuses a signature that lists a file the bundle does not have', async () => {
    const keys = testKeys();
    const bundle = signedBundleCopy(keys);
    rmSync(join(bundle.dir, '.manifest'));
    const error = await refusal(loadTrustedPolicy(bundle, { key: keyOf(keys.publicKeyPath), demo: false }));
    expect(error.reason).toBe('file_missing');
    expect(error.message).toMatch(/lists \.manifest/);
  });
});
