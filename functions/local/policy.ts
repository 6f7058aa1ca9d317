/**
 * The local gateway's policy: the configured bundle verified and loaded (plus a shadow candidate),
 * a decision log, and reloads without a restart (SIGHUP, or a file watch): the new bundle is
 * verified and compiled first, then swapped in; a bad one is refused and the old one keeps serving.
 */
import { readFileSync, watch as watchFolder } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Logger } from '../observability/logger.ts';
import { type DecisionLogEntry, GatewayPolicy, type PolicySet } from '../policy/gateway-policy.ts';
import { parseVerificationKey, type VerificationKey } from '../policy/signature.ts';
import { type BundleTrust, loadTrustedPolicy, type TrustedBundlePaths } from '../policy/trusted.ts';
import { ConfigError, type LocalConfig, REPO_ROOT } from './config.ts';
import { DecisionLogFile } from './decision-log.ts';

/** The public half of the committed demo signing key: trusted in demo mode only. */
export const DEMO_VERIFICATION_KEY = resolve(REPO_ROOT, 'policies/keys/demo-verification-key.pem');

export interface LocalPolicy {
  readonly policy: GatewayPolicy;
  /** `verified`, or why demo mode went on without a verified signature. */
  readonly signature: string;
  /**
   * Verifies, loads and swaps in the configured bundles again; never throws. With `digest`, the
   * bundle read must have that digest or it is refused (every worker decides with one bundle).
   */
  reload(trigger: string, options?: { readonly digest?: string }): Promise<ReloadResult>;
  /** Starts watching the bundle files (config `policy.watch`); `reloaded` hears each outcome. */
  watch(reloaded?: (result: ReloadResult) => void): void;
  close(): Promise<void>;
}

export type ReloadResult =
  | { readonly ok: true; readonly previous: string; readonly current: string; readonly changed: boolean }
  | { readonly ok: false; readonly current: string; readonly error: string };

export async function loadLocalPolicy(
  config: LocalConfig,
  demo: boolean,
  logger: Logger,
  /** Load only a bundle with this digest at start (a worker joining others that decide with it). */
  startDigest?: string,
): Promise<LocalPolicy> {
  const trust = localTrust(config, demo);
  const paths = bundlePaths(config.policy);
  const shadowPaths = config.policy.shadow;

  const loadSet = async (pin?: string): Promise<{ set: PolicySet; signature: string }> => {
    const active = await loadTrustedPolicy(paths, pin ? { ...trust, digest: pin } : trust, { logger });
    if (active.warning !== undefined) logger.warn('policy bundle not verified', { problem: active.warning });
    let shadow: PolicySet['shadow'];
    if (shadowPaths !== undefined) {
      // A candidate is held to the same trust as the active bundle, except the digest pin.
      const candidate = await loadTrustedPolicy(shadowPaths, { ...trust, digest: undefined }, { logger });
      if (candidate.warning !== undefined) {
        logger.warn('shadow policy bundle not verified', { problem: candidate.warning });
      }
      shadow = candidate.evaluator;
    }
    return {
      set: { active: active.evaluator, ...(shadow ? { shadow } : {}) },
      signature: active.signature === 'verified' ? 'verified' : 'not verified (demo mode)',
    };
  };

  const first = await loadSet(startDigest);
  const log = decisionLog(config, logger);
  const policy = new GatewayPolicy(first.set, {
    ...(log ? { decisionLog: log.write } : {}),
    labels: { app: 'action-level-approvals', mode: 'local' },
    onDivergence: (d) =>
      logger.warn('policy shadow divergence', {
        event: 'policy.shadow_divergence',
        requestId: d.requestId,
        principal: d.principal,
        action: d.action,
        activeDigest: d.activeDigest,
        shadowDigest: d.shadowDigest,
        changes: d.changes,
        divergences: policy.divergences,
      }),
  });

  // Reloads run one at a time: a watch firing during a SIGHUP reload waits for it.
  let queue: Promise<unknown> = Promise.resolve();
  const reload = (trigger: string, options: { readonly digest?: string } = {}): Promise<ReloadResult> => {
    const run = async (): Promise<ReloadResult> => {
      const previous = policy.digest;
      try {
        const next = await loadSet(options.digest);
        policy.swap(next.set);
        const changed = previous !== policy.digest;
        logger.info(changed ? 'policy reloaded' : 'policy reloaded; digest unchanged', {
          event: 'policy.reloaded',
          trigger,
          previousDigest: previous,
          digest: policy.digest,
          ...(policy.shadowDigest ? { shadowDigest: policy.shadowDigest } : {}),
          signature: next.signature,
        });
        return { ok: true, previous, current: policy.digest, changed };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        logger.error('policy reload refused; the previous bundle keeps serving', {
          event: 'policy.reload_refused',
          trigger,
          digest: previous,
          error: message,
        });
        return { ok: false, current: previous, error: message };
      }
    };
    const result = queue.then(run, run);
    queue = result;
    return result;
  };

  const watchers: ReturnType<typeof watchFolder>[] = [];
  let timer: NodeJS.Timeout | undefined;
  return {
    policy,
    signature: first.signature,
    reload,
    watch: (reloaded) => {
      // Folders, not files: a deploy that renames a new file into place replaces the inode a file
      // watch would be bound to, and every later change would go unseen.
      const files = [
        paths.wasm,
        paths.data,
        paths.signatures ?? join(dirname(paths.wasm), '.signatures.json'),
        ...(shadowPaths ? [shadowPaths.wasm, shadowPaths.data] : []),
      ];
      const byFolder = new Map<string, Set<string>>();
      for (const file of files) {
        const names = byFolder.get(dirname(file)) ?? new Set<string>();
        names.add(basename(file));
        byFolder.set(dirname(file), names);
      }
      for (const [folder, names] of byFolder) {
        try {
          watchers.push(
            watchFolder(folder, (_event, name) => {
              if (name !== null && !names.has(name)) return;
              // A rebuild writes several files; wait until the writes settle, then reload once.
              clearTimeout(timer);
              timer = setTimeout(() => void reload('file change').then(reloaded), 300);
            }),
          );
        } catch (error) {
          logger.warn('cannot watch the policy bundle folder; reload with SIGHUP instead', {
            folder,
            error: (error as Error).message,
          });
        }
      }
    },
    close: async () => {
      clearTimeout(timer);
      for (const w of watchers) w.close();
      await queue.catch(() => undefined);
      await log?.close();
    },
  };
}

function bundlePaths(policy: LocalConfig['policy']): TrustedBundlePaths {
  return {
    wasm: policy.wasm,
    data: policy.data,
    ...(policy.signatures !== undefined ? { signatures: policy.signatures } : {}),
  };
}

/**
 * Which key bundles must be signed for. Demo mode trusts the committed demo key; with configured
 * principals the operator's own key is required, and the demo key is refused.
 */
export function localTrust(config: LocalConfig, demo: boolean): BundleTrust {
  const configured = config.policy.verificationKey;
  const digest = config.policy.digest;
  if (configured === undefined) {
    if (!demo) {
      throw new ConfigError(
        'policy.verificationKey is not set: with configured principals the gateway loads only bundles signed ' +
          'with your own key. Set "policy": {"verificationKey": "<public-key.pem>"} in the config file and build ' +
          "with 'npm run policy:build -- --signing-key <private-key.pem>' (docs/policies.md#signing).",
      );
    }
    return {
      key: readKey(DEMO_VERIFICATION_KEY, 'the demo key (policies/keys)'),
      demo,
      ...(digest ? { digest } : {}),
    };
  }
  const key = readKey(configured, configured, config.policy.signingAlgorithm);
  if (!demo && key.key.equals(readKey(DEMO_VERIFICATION_KEY, 'demo').key)) {
    throw new ConfigError(
      `policy.verificationKey (${configured}) is the public demo key, whose private half is published with the ` +
        'gateway; with configured principals use a key pair of your own (docs/policies.md#signing).',
    );
  }
  return { key, demo, ...(digest ? { digest } : {}) };
}

function readKey(path: string, source: string, algorithm?: string): VerificationKey {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `policy.verificationKey ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); ` +
        'give the path of the PEM public key bundles are signed for',
    );
  }
  return parseVerificationKey(pem, source, algorithm);
}

function decisionLog(
  config: LocalConfig,
  logger: Logger,
): { write: (entry: DecisionLogEntry) => void; close: () => Promise<void> } | undefined {
  const target = config.policy.decisionLog;
  if (target === false) return undefined;
  if (target === '-') {
    return { write: (entry) => process.stdout.write(`${JSON.stringify(entry)}\n`), close: async () => {} };
  }
  const file = new DecisionLogFile(target ?? join(config.dataDir, 'decisions.jsonl'), logger);
  return {
    write: (entry) => file.append(JSON.stringify(entry)),
    close: async () => file.close(),
  };
}
