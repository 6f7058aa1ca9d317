import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { canonicalize, hashCanonical } from '../../../functions/core/canonical.ts';
import { policyDigests } from '../../../functions/policy/digest.ts';
import { PolicyLoadError } from '../../../functions/policy/errors.ts';
import { consoleLogger, loadPolicyEvaluator } from '../../../functions/policy/evaluator.ts';
import {
  BUNDLE,
  bundleData,
  bundleWasm,
  exportRequest,
  loadDefaultPack,
  loadMisbehaving,
  recordingLogger,
  reverseKeys,
} from './support.ts';

const sha256Hex = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

describe('Class: WasmPolicyEvaluator', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  describe('committed bundle', () => {
    it('loads policies/build and reports the digest of exactly those bytes', async () => {
      // Prepare: recompute the digest from the files, the way docs/policies.md tells an auditor to.
      const wasm = readFileSync(BUNDLE.wasm);
      const data = JSON.parse(readFileSync(BUNDLE.data, 'utf8')) as unknown;
      const wasmDigest = `sha256:${sha256Hex(wasm)}`;
      const dataDigest = `sha256:${sha256Hex(canonicalize(data))}`;
      const expected = `sha256:${sha256Hex(`${wasmDigest}\n${dataDigest}`)}`;

      // Act
      const evaluator = await loadDefaultPack();

      // Assess
      expect(evaluator.wasmDigest).toBe(wasmDigest);
      expect(evaluator.dataDigest).toBe(dataDigest);
      expect(evaluator.digest).toBe(expected);
      expect(evaluator.evaluate(exportRequest()).policyDigest).toBe(expected);
      expect(policyDigests(new Uint8Array(wasm), data).policy).toBe(expected);
    });

    it('keeps the data digest when data.json is only reformatted', () => {
      const data = bundleData();
      const reordered = reverseKeys(data);
      expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(data));
      expect(policyDigests(bundleWasm(), reordered).data).toBe(policyDigests(bundleWasm(), data).data);
    });

    it('changes the digest when one byte of the module changes', () => {
      const wasm = bundleWasm();
      const altered = wasm.slice();
      altered[altered.length - 1] = (altered[altered.length - 1] ?? 0) ^ 1;
      expect(policyDigests(altered, bundleData()).policy).not.toBe(policyDigests(wasm, bundleData()).policy);
    });

    it('exposes the groups and chat identities of the data as the directory', async () => {
      const evaluator = await loadDefaultPack();
      const data = bundleData() as { groups: unknown; identities: unknown };
      expect(evaluator.directory.groups).toEqual(data.groups);
      expect(evaluator.directory.identities).toEqual(data.identities);
      expect(evaluator.directory.groups['data-owners']).toContain('user:bob@example.gov');
      expect(Object.isFrozen(evaluator.directory.groups)).toBe(true);
    });
  });

  describe('evaluate', () => {
    it('returns the policy decision with the policy digest and the canonical input hash', async () => {
      const evaluator = await loadDefaultPack();
      const input = exportRequest();

      const decision = evaluator.evaluate(input);

      expect(decision.outcome).toBe('require_approval');
      expect(decision.reasons).toEqual([
        { code: 'prod_cui_export', message: 'Production CUI export needs two data-owner approvals.' },
      ]);
      expect(decision.approval).toMatchObject({
        groups: ['data-owners'],
        min_approvals: 2,
        escalation_groups: ['data-owner-leads'],
        exclude: ['agent:demo-exporter', 'user:alice@example.gov'],
      });
      expect(decision.grant).toEqual({
        type: 'aws_sts',
        role: 'approved-data-export',
        actions: ['s3:GetObject'],
        resources: ['arn:aws-us-gov:s3:::fin-ledger-prod/ledger_2026q2/*'],
        window_seconds: 300,
        wildcards: ['arn:aws-us-gov:s3:::fin-ledger-prod/ledger_2026q2/*'],
      });
      expect(decision.inputHash).toBe(hashCanonical(input));
    });

    it('gives the same input hash whatever the key order of the input', async () => {
      const evaluator = await loadDefaultPack();
      const input = exportRequest();
      const shuffled = reverseKeys(input);
      expect(JSON.stringify(shuffled)).not.toBe(JSON.stringify(input));
      expect(evaluator.evaluate(shuffled).inputHash).toBe(evaluator.evaluate(input).inputHash);
    });

    it('answers many evaluations in a row from one instance without growing its memory', async () => {
      const evaluator = await loadDefaultPack();
      const before = evaluator.memoryBytes;
      for (let i = 0; i < 2000; i++)
        evaluator.evaluate(exportRequest({ now: `2026-05-01T12:00:${String(i % 60).padStart(2, '0')}Z` }));
      expect(evaluator.memoryBytes).toBe(before);
      expect(evaluator.generation).toBe(1);
    });

    it('passes notify and post_review of a break-glass allow through', async () => {
      const evaluator = await loadDefaultPack();
      const decision = evaluator.evaluate(
        exportRequest({
          subject: { id: 'user:oscar@example.gov', type: 'user' },
          action: { name: 'secrets.read', args: {} },
          resource: {
            type: 'aws:secretsmanager:secret',
            id: 'arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:db-AbCdEf',
            properties: { environment: 'prod' },
          },
          context: { break_glass: true, justification: 'INC-7731: database down, rotating credentials now' },
        }),
      );
      expect(decision).toMatchObject({ outcome: 'allow', notify: ['security'], post_review: true });
    });
  });

  describe('fail closed', () => {
    const brokenDecisions = [
      ['undefined_decision', 'decision is undefined'],
      ['unknown_outcome', 'output schema'],
      ['missing_reasons', 'output schema'],
      ['reasons_not_a_list', 'output schema'],
      ['zero_approvals', 'output schema'],
      ['negative_timeout', 'output schema'],
      ['fractional_approvals', 'output schema'],
      ['approval_without_spec', 'output schema'],
      ['approval_on_allow', 'output schema'],
      ['unknown_field', 'output schema'],
      ['grant_none_with_role', 'output schema'],
      ['grant_without_resources', 'output schema'],
      ['escalation_after_timeout', 'output schema'],
      ['unknown_group', 'approval groups missing from the data'],
      // wasm reports a complete rule's conflicting values as no value at all.
      ['conflict', 'decision is undefined'],
    ] as const;

    it.each(brokenDecisions)(
      'denies with policy_error when the policy returns %s',
      async (entrypoint, category) => {
        // Prepare
        const logger = recordingLogger();
        const evaluator = await loadMisbehaving(entrypoint, { logger });

        // Act
        const decision = evaluator.evaluate(exportRequest());

        // Assess
        expect(decision.outcome).toBe('deny');
        expect(decision.reasons).toHaveLength(1);
        expect(decision.reasons[0]?.code).toBe('policy_error');
        expect(decision.reasons[0]?.message).toContain(category);
        expect(decision.approval).toBeUndefined();
        expect(decision.grant).toBeUndefined();
        expect(decision.policyDigest).toBe(evaluator.digest);
        expect(decision.inputHash).toBe(hashCanonical(exportRequest()));
        expect(logger.entries.some((e) => e.level === 'error' && e.message.includes(category))).toBe(true);
      },
    );

    it('trusts the well-formed decision of the same fixture module', async () => {
      const evaluator = await loadMisbehaving('well_formed');
      expect(evaluator.evaluate(exportRequest()).outcome).toBe('require_approval');
    });

    it('denies an approval nobody could give once the requester and exclusions are removed', async () => {
      const logger = recordingLogger();
      const evaluator = await loadMisbehaving('unreachable_quorum', { logger });

      const decision = evaluator.evaluate(exportRequest());

      expect(decision.outcome).toBe('deny');
      expect(decision.reasons.map((r) => r.code)).toEqual(['approval_quorum_unreachable']);
      expect(logger.entries.map((e) => e.level)).toEqual(['warn']);
    });

    it('counts escalation groups towards the quorum', async () => {
      const evaluator = await loadMisbehaving('reachable_through_escalation');
      expect(evaluator.evaluate(exportRequest()).outcome).toBe('require_approval');
    });

    it('removes the requester and on_behalf_of from the quorum even when the policy forgot them', async () => {
      const evaluator = await loadMisbehaving('well_formed');
      // data-owners are bob and carol; one approval is needed.
      const bobForCarol = exportRequest({
        subject: { id: 'user:bob@example.gov', type: 'user' },
        context: { on_behalf_of: 'user:carol@example.gov' },
      });
      expect(evaluator.evaluate(bobForCarol).reasons.map((r) => r.code)).toEqual([
        'approval_quorum_unreachable',
      ]);
    });

    it('replaces the wasm instance after an evaluation error and answers the next request', async () => {
      // Prepare: an allocation far beyond the memory maximum makes the module abort mid-evaluation.
      const logger = recordingLogger();
      const evaluator = await loadMisbehaving('exhaust_memory', { logger, memory: { maximumPages: 32 } });
      expect(evaluator.generation).toBe(1);

      // Act
      const failed = evaluator.evaluateUnknown({ n: 50_000_000 });
      const next = evaluator.evaluateUnknown({ n: 3 });

      // Assess
      expect(failed.reasons.map((r) => r.code)).toEqual(['policy_error']);
      expect(failed.reasons[0]?.message).toContain('evaluation failed');
      expect(evaluator.generation).toBe(2);
      expect(evaluator.memoryBytes).toBeLessThanOrEqual(32 * 65536);
      expect(next.reasons).toEqual([{ code: 'fixture', message: 'counted 3' }]);
      expect(logger.entries.some((e) => e.message.includes('replacing the wasm instance'))).toBe(true);
    });

    it('never lets the wasm memory grow past maximumPages', async () => {
      const evaluator = await loadMisbehaving('exhaust_memory', {
        logger: recordingLogger(),
        memory: { maximumPages: 64 },
      });
      for (const n of [10, 1_000_000, 20_000_000, 100]) evaluator.evaluateUnknown({ n });
      expect(evaluator.memoryBytes).toBeLessThanOrEqual(64 * 65536);
    });
  });

  describe('logging', () => {
    it('writes one JSON line to stderr per failure by default', async () => {
      const lines: string[] = [];
      vi.spyOn(console, 'error').mockImplementation((line: unknown) => {
        lines.push(String(line));
      });
      const evaluator = await loadMisbehaving('unknown_outcome', { logger: consoleLogger });

      const decision = evaluator.evaluate(exportRequest());

      expect(lines).toHaveLength(1);
      const entry = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
      expect(entry).toMatchObject({
        level: 'ERROR',
        policyDigest: evaluator.digest,
        inputHash: decision.inputHash,
      });
      expect(String(entry.message)).toContain('output schema');
      expect(String(entry.issues)).toContain('outcome');
    });
  });

  it('still answers when the logger itself throws', async () => {
    const throwing = {
      error() {
        throw new Error('log sink down');
      },
      warn() {
        throw new Error('log sink down');
      },
    };
    const evaluator = await loadMisbehaving('unknown_outcome', { logger: throwing });
    expect(evaluator.evaluate(exportRequest()).reasons[0]?.code).toBe('policy_error');
  });

  describe('loading', () => {
    it('refuses data without the Directory shape and names the offending path', async () => {
      const data = bundleData();
      const broken = {
        ...data,
        groups: { ...(data.groups as object), security: ['user:dave@example.gov', 42] },
      };

      const loading = loadPolicyEvaluator({ wasm: bundleWasm(), data: broken });

      await expect(loading).rejects.toBeInstanceOf(PolicyLoadError);
      await expect(loading).rejects.toThrow(/groups\.security\[1\]/);
    });

    it('refuses data without identities', async () => {
      const { identities: _ignored, ...withoutIdentities } = bundleData();
      await expect(loadPolicyEvaluator({ wasm: bundleWasm(), data: withoutIdentities })).rejects.toThrow(
        /Directory shape.*identities/,
      );
    });

    it('refuses group members that are not principal ids', async () => {
      const data = bundleData();
      const broken = { ...data, groups: { 'data-owners': ['bob'] } };
      await expect(loadPolicyEvaluator({ wasm: bundleWasm(), data: broken })).rejects.toThrow(/principal id/);
    });

    it('refuses bytes that are not WebAssembly', async () => {
      const loading = loadPolicyEvaluator({ wasm: new TextEncoder().encode('not wasm'), data: bundleData() });
      await expect(loading).rejects.toThrow(/not valid WebAssembly.*policy:build/);
    });

    it('refuses a module without the requested entrypoint and lists the ones it has', async () => {
      const loading = loadDefaultPack({ entrypoint: 'approvals/allow' });
      await expect(loading).rejects.toThrow(
        /no entrypoint 'approvals\/allow' \(it has: approvals\/decision\)/,
      );
    });

    it('refuses memory limits that cannot hold the largest accepted input', async () => {
      await expect(loadDefaultPack({ memory: { maximumPages: 16 } })).rejects.toThrow(/raise maximumPages/);
      await expect(loadDefaultPack({ memory: { initialPages: 20, maximumPages: 10 } })).rejects.toThrow(
        /initialPages <= maximumPages/,
      );
      await expect(loadDefaultPack({ limits: { maxDepth: 0 } })).rejects.toThrow(/positive integers/);
    });

    it('compiles a module once per process however many evaluators use it', async () => {
      // Prepare: a module no other test loaded (a custom section changes the digest, not the code).
      const name = new TextEncoder().encode(`test-${Math.random()}`);
      const section = Uint8Array.from([0, name.length + 1, name.length, ...name]);
      const wasm = Uint8Array.from([...bundleWasm(), ...section]);
      const compile = vi.spyOn(WebAssembly, 'compile');

      // Act
      const first = await loadPolicyEvaluator({ wasm, data: bundleData() });
      const second = await loadPolicyEvaluator({ wasm, data: bundleData() });

      // Assess
      expect(compile).toHaveBeenCalledTimes(1);
      expect(second.digest).toBe(first.digest);
      expect(second.evaluate(exportRequest()).outcome).toBe('require_approval');
    });
  });
});
