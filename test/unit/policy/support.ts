import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PolicyInput } from '../../../functions/core/model.ts';
import {
  type LoadPolicyEvaluatorOptions,
  loadPolicyEvaluator,
  type PolicyLogger,
  type WasmPolicyEvaluator,
} from '../../../functions/policy/evaluator.ts';
import { PROD_CUI_EXPORT } from '../../fixtures/requests.ts';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
export const BUNDLE = {
  wasm: join(ROOT, 'policies/build/policy.wasm'),
  data: join(ROOT, 'policies/build/data.json'),
};
export const MISBEHAVING_WASM = join(ROOT, 'test/unit/policy/fixtures/misbehaving.wasm');

export function bundleWasm(): Uint8Array {
  return new Uint8Array(readFileSync(BUNDLE.wasm));
}

export function bundleData(): Record<string, unknown> {
  return JSON.parse(readFileSync(BUNDLE.data, 'utf8')) as Record<string, unknown>;
}

export interface LogEntry {
  readonly level: 'error' | 'warn';
  readonly message: string;
  readonly attributes: Record<string, unknown>;
}

/** A logger that keeps what it is told, for assertions. */
export function recordingLogger(): PolicyLogger & { readonly entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return {
    entries,
    error(message, attributes = {}) {
      entries.push({ level: 'error', message, attributes });
    },
    warn(message, attributes = {}) {
      entries.push({ level: 'warn', message, attributes });
    },
  };
}

export function loadDefaultPack(
  options: Partial<LoadPolicyEvaluatorOptions> = {},
): Promise<WasmPolicyEvaluator> {
  return loadPolicyEvaluator({ wasm: bundleWasm(), data: bundleData(), ...options });
}

/** The fixture module with one broken decision per entrypoint, on the default pack's data. */
export function loadMisbehaving(
  entrypoint: string,
  options: Partial<LoadPolicyEvaluatorOptions> = {},
): Promise<WasmPolicyEvaluator> {
  return loadPolicyEvaluator({
    wasm: new Uint8Array(readFileSync(MISBEHAVING_WASM)),
    data: bundleData(),
    entrypoint: `misbehaving/${entrypoint}`,
    ...options,
  });
}

/** The design's example request (docs/design.md#41-http-api) as the gateway hands it to the policy. */
export function exportRequest(overrides: Partial<PolicyInput> = {}): PolicyInput {
  return {
    subject: { id: 'agent:demo-exporter', type: 'agent' },
    action: PROD_CUI_EXPORT.action,
    resource: PROD_CUI_EXPORT.resource,
    context: { ...PROD_CUI_EXPORT.context, on_behalf_of: 'user:alice@example.gov' },
    now: '2026-05-01T12:00:00Z',
    ...overrides,
  };
}

/** The same JSON value with every object's keys in reverse order (a different text, same meaning). */
export function reverseKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(reverseKeys) as T;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).reverse();
    return Object.fromEntries(entries.map(([key, inner]) => [key, reverseKeys(inner)])) as T;
  }
  return value;
}
