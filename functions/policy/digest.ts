import { hashCanonical, sha256 } from '../core/canonical.ts';

export interface PolicyDigests {
  /** `sha256:<hex>` of the wasm module's bytes. */
  readonly wasm: string;
  /** `sha256:<hex>` of the RFC 8785 canonical JSON of the data document. */
  readonly data: string;
  /** `sha256:<hex>` of `<wasm digest> "\n" <data digest>`: the bundle digest every decision records. */
  readonly policy: string;
}

/**
 * The policy bundle digest (docs/design.md#42-policy-contract). Hashing the two digests joined by a newline, rather than
 * the raw bytes back to back, keeps the boundary between module and data unambiguous and lets an
 * auditor recompute it with sha256sum and any RFC 8785 canonicalizer (docs/policies.md shows how).
 * The data is canonicalized, so reformatting data.json does not change the digest.
 */
export function policyDigests(wasm: Uint8Array, data: unknown): PolicyDigests {
  const wasmDigest = sha256(wasm);
  const dataDigest = hashCanonical(data);
  return { wasm: wasmDigest, data: dataDigest, policy: sha256(`${wasmDigest}\n${dataDigest}`) };
}
