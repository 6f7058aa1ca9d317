/**
 * Interoperability with the opa CLI: bundles signed by `opa sign` (the pinned opa) verify in the
 * gateway, for RSA and EC keys, with data that exercises OPA's JSON hashing (escaped `<`, `>`, `&`,
 * non-ASCII text, nested arrays), and a change after signing is still caught.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseVerificationKey } from '../../../functions/policy/signature.ts';
import { loadTrustedPolicy, PolicyTrustError } from '../../../functions/policy/trusted.ts';
import { BUILD, ROOT } from '../../support/signed-bundle.ts';

const OPA = join(ROOT, '.tools/bin/opa');

function opaSignedBundle(keyType: 'rsa' | 'ec'): { dir: string; publicKey: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ala-opa-sign-'));
  const bundle = join(dir, 'bundle');
  execFileSync('mkdir', ['-p', bundle]);
  const privateKey = join(dir, 'signing-key.pem');
  const publicKey = join(dir, 'verification-key.pem');
  const algorithm =
    keyType === 'rsa'
      ? ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']
      : ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  execFileSync('openssl', ['genpkey', ...algorithm, '-out', privateKey], { stdio: 'ignore' });
  execFileSync('openssl', ['pkey', '-in', privateKey, '-pubout', '-out', publicKey], { stdio: 'ignore' });
  copyFileSync(join(BUILD, 'policy.wasm'), join(bundle, 'policy.wasm'));
  copyFileSync(join(BUILD, '.manifest'), join(bundle, '.manifest'));
  const data = JSON.parse(readFileSync(join(BUILD, 'data.json'), 'utf8')) as Record<string, unknown>;
  // Values whose encoding differs between encoders: HTML-escaped by Go, non-ASCII kept as UTF-8.
  data.encoding_probe = {
    html: '<a href="x">&</a>',
    text: 'Zoë — 東京 ✓',
    nested: [[1, 2.5, -3], { b: true, a: null }],
  };
  writeFileSync(join(bundle, 'data.json'), JSON.stringify(data, null, 2));
  execFileSync(
    OPA,
    [
      'sign',
      '--signing-key',
      privateKey,
      '--signing-alg',
      keyType === 'rsa' ? 'RS256' : 'ES256',
      '--bundle',
      '.',
      '-o',
      '.',
    ],
    { cwd: bundle },
  );
  return { dir: bundle, publicKey };
}

describe('Bundles signed by opa sign', () => {
  for (const keyType of ['rsa', 'ec'] as const) {
    it(`verify with the ${keyType.toUpperCase()} public key, data hashed as OPA hashes it`, async () => {
      const signed = opaSignedBundle(keyType);
      const key = parseVerificationKey(readFileSync(signed.publicKey, 'utf8'), signed.publicKey);
      expect(key.algorithm).toBe(keyType === 'rsa' ? 'RS256' : 'ES256');
      const trusted = await loadTrustedPolicy(
        { wasm: join(signed.dir, 'policy.wasm'), data: join(signed.dir, 'data.json') },
        { key, demo: false },
      );
      expect(trusted.signature).toBe('verified');
    });
  }

  it('are refused when one character of the data changes after signing', async () => {
    const signed = opaSignedBundle('ec');
    const path = join(signed.dir, 'data.json');
    writeFileSync(path, readFileSync(path, 'utf8').replace('東京', '京都'));
    const key = parseVerificationKey(readFileSync(signed.publicKey, 'utf8'), signed.publicKey);
    const loading = loadTrustedPolicy(
      { wasm: join(signed.dir, 'policy.wasm'), data: path },
      { key, demo: false },
    );
    await expect(loading).rejects.toBeInstanceOf(PolicyTrustError);
    await expect(loading).rejects.toThrow(/data\.json does not match its signature/);
  });
});
