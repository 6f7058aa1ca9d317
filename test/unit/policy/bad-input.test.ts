import { beforeAll, describe, expect, it } from 'vitest';
import { hashCanonical } from '../../../functions/core/canonical.ts';
import type { PolicyDecision } from '../../../functions/core/model.ts';
import { UNHASHABLE_INPUT_HASH, type WasmPolicyEvaluator } from '../../../functions/policy/evaluator.ts';
import { exportRequest, loadDefaultPack, loadMisbehaving, recordingLogger } from './support.ts';

const MAX_PAGES = 256;

function codes(decision: PolicyDecision): string[] {
  return decision.reasons.map((r) => r.code);
}

/** `{ a: { a: … { a: leaf } } }`, `levels` objects deep, built without recursion. */
function nested(levels: number, leaf: unknown = 'bottom'): Record<string, unknown> {
  let value: unknown = leaf;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value as Record<string, unknown>;
}

describe('Class: WasmPolicyEvaluator, given bad input', () => {
  let evaluator: WasmPolicyEvaluator;
  const logger = recordingLogger();

  beforeAll(async () => {
    evaluator = await loadDefaultPack({ logger, memory: { maximumPages: MAX_PAGES } });
  });

  describe('missing fields and wrong types', () => {
    it('denies an empty object with the hygiene reasons instead of throwing', () => {
      const decision = evaluator.evaluateUnknown({});
      expect(decision.outcome).toBe('deny');
      expect(codes(decision)).toEqual(['invalid_action_name', 'invalid_resource', 'invalid_subject']);
      expect(decision.inputHash).toBe(hashCanonical({}));
    });

    it('denies a request without an action', () => {
      const { action: _dropped, ...rest } = exportRequest();
      expect(codes(evaluator.evaluateUnknown(rest))).toEqual(['invalid_action_name']);
    });

    it.each([
      ['subject as a number', { subject: 7 }, 'invalid_subject'],
      ['subject id as an object', { subject: { id: { name: 'bob' }, type: 'user' } }, 'invalid_subject'],
      ['action as a string', { action: 'data.export' }, 'invalid_action_name'],
      ['action name as an array', { action: { name: ['data.export'], args: {} } }, 'invalid_action_name'],
      ['resource as an array', { resource: ['arn:aws-us-gov:s3:::x'] }, 'invalid_resource'],
      [
        'resource id as a number',
        { resource: { type: 'aws:s3:bucket', id: 42, properties: {} } },
        'invalid_resource',
      ],
      ['on_behalf_of as a number', { context: { on_behalf_of: 12 } }, 'invalid_on_behalf_of'],
    ])('denies %s', (_label, override, code) => {
      const decision = evaluator.evaluateUnknown({ ...exportRequest(), ...override });
      expect(decision.outcome).toBe('deny');
      expect(codes(decision)).toContain(code);
    });

    it('treats a missing context and args as empty, and a missing environment as production', () => {
      const decision = evaluator.evaluateUnknown({
        subject: { id: 'agent:demo-ops', type: 'agent' },
        action: { name: 'infra.stack.update' },
        resource: {
          type: 'aws:cloudformation:stack',
          id: 'arn:aws-us-gov:cloudformation:us-gov-west-1:1:stack/s/1',
        },
      });
      expect(decision.outcome).toBe('require_approval');
      expect(codes(decision)).toEqual(['prod_infra_change']);
    });

    it.each([
      ['null', null],
      ['an array', [exportRequest()]],
      ['a string', 'data.export'],
      ['a number', 42],
      ['undefined', undefined],
    ])('rejects %s as input without evaluating it', (_label, input) => {
      const decision = evaluator.evaluateUnknown(input);
      expect(decision.outcome).toBe('deny');
      expect(codes(decision)).toEqual(['input_rejected']);
      expect(decision.reasons[0]?.message).toContain('must be a JSON object');
    });

    it('ignores members that are undefined, as JSON does', () => {
      const plain = exportRequest();
      const withUndefined = { ...plain, context: { ...plain.context, callback_url: undefined } };
      const decision = evaluator.evaluateUnknown(withUndefined);
      expect(decision.outcome).toBe('require_approval');
      expect(decision.inputHash).toBe(hashCanonical(plain));
    });

    it.each([
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
      ['a bigint', 10n],
      ['a function', () => 'x'],
      ['a symbol', Symbol('x')],
    ])('rejects an input holding %s', (_label, value) => {
      const input = exportRequest({ action: { name: 'data.export', args: { dataset: value } } });
      const decision = evaluator.evaluateUnknown(input);
      expect(codes(decision)).toEqual(['input_rejected']);
      expect(decision.inputHash).toBe(UNHASHABLE_INPUT_HASH);
    });

    it('denies an input whose getter throws, instead of throwing', () => {
      const context = Object.defineProperty({}, 'justification', {
        enumerable: true,
        get() {
          throw new Error('boom');
        },
      });
      const decision = evaluator.evaluateUnknown(exportRequest({ context }));
      expect(decision.outcome).toBe('deny');
      expect(codes(decision)).toEqual(['policy_error']);
      expect(decision.reasons[0]?.message).toContain('unexpected error');
    });

    it('rejects a cyclic input instead of walking it forever', () => {
      const args: Record<string, unknown> = {};
      args.self = args;
      const decision = evaluator.evaluateUnknown(exportRequest({ action: { name: 'data.export', args } }));
      expect(codes(decision)).toEqual(['input_rejected']);
    });
  });

  describe('size', () => {
    it('evaluates a request carrying a 1 MB justification within the bounded memory', () => {
      const justification = 'x'.repeat(1_000_000);
      const decision = evaluator.evaluateUnknown(exportRequest({ context: { justification } }));
      expect(decision.outcome).toBe('require_approval');
      expect(evaluator.memoryBytes).toBeLessThanOrEqual(MAX_PAGES * 65536);
    });

    it('denies a 1 MB resource id as an invalid resource', () => {
      const id = `arn:aws-us-gov:s3:::${'a'.repeat(1_000_000)}`;
      const decision = evaluator.evaluateUnknown(
        exportRequest({ resource: { type: 'aws:s3:bucket', id, properties: {} } }),
      );
      expect(codes(decision)).toEqual(['invalid_resource']);
    });

    it('rejects an input over 1 MiB of JSON, still recording its hash', () => {
      const input = exportRequest({ context: { justification: 'x'.repeat(2_000_000) } });
      const decision = evaluator.evaluateUnknown(input);
      expect(codes(decision)).toEqual(['input_rejected']);
      expect(decision.reasons[0]?.message).toContain('larger than 1048576 bytes');
      expect(decision.inputHash).toBe(hashCanonical(input));
    });

    it('counts UTF-8 bytes, not characters, against the size limit', () => {
      // 400,000 euro signs: 400,000 UTF-16 units but 1,200,000 bytes of UTF-8.
      const decision = evaluator.evaluateUnknown(
        exportRequest({ context: { justification: '€'.repeat(400_000) } }),
      );
      expect(codes(decision)).toEqual(['input_rejected']);
    });

    it('rejects an input holding more than 10,000 values', () => {
      const args = { items: Array.from({ length: 20_000 }, (_, i) => i) };
      const decision = evaluator.evaluateUnknown(exportRequest({ action: { name: 'data.export', args } }));
      expect(codes(decision)).toEqual(['input_rejected']);
      expect(decision.reasons[0]?.message).toContain('more than 10000 values');
    });
  });

  describe('nesting', () => {
    it('rejects 10,000 levels of nesting without recursing into them', () => {
      const decision = evaluator.evaluateUnknown(
        exportRequest({ action: { name: 'data.export', args: nested(10_000) } }),
      );
      expect(codes(decision)).toEqual(['input_rejected']);
      expect(decision.reasons[0]?.message).toContain('nested deeper than 32 levels');
      expect(decision.inputHash).toBe(UNHASHABLE_INPUT_HASH);
    });

    it('rejects 1,000,000 levels as cheaply', () => {
      const started = performance.now();
      const decision = evaluator.evaluateUnknown({ deep: nested(1_000_000) });
      expect(codes(decision)).toEqual(['input_rejected']);
      expect(performance.now() - started).toBeLessThan(1000);
    });

    it('evaluates nesting up to the limit and rejects one level more', () => {
      // The input is level 1 and action level 2, so args of 30 nested objects reach level 32.
      const atLimit = evaluator.evaluateUnknown(
        exportRequest({ action: { name: 'data.export', args: nested(30) } }),
      );
      const overLimit = evaluator.evaluateUnknown(
        exportRequest({ action: { name: 'data.export', args: nested(31) } }),
      );
      expect(codes(atLimit)).toEqual(['export_dataset_invalid', 'export_destination_missing']);
      expect(codes(overLimit)).toEqual(['input_rejected']);
    });
  });

  describe('unicode tricks', () => {
    it.each([
      [
        'a Cyrillic homoglyph in the action name',
        { action: { name: 'dаta.export', args: {} } },
        'invalid_action_name',
      ],
      [
        'a homoglyph making a secret read look generic',
        { action: { name: 'sеcrets.read', args: {} } },
        'invalid_action_name',
      ],
      [
        'a zero-width space in the action name',
        { action: { name: 'data.\u200bexport', args: {} } },
        'invalid_action_name',
      ],
      [
        'a NUL in the action name',
        { action: { name: 'data.export\u0000', args: {} } },
        'invalid_action_name',
      ],
      [
        'a right-to-left override in the resource id',
        {
          resource: {
            type: 'aws:s3:bucket',
            id: 'arn:aws-us-gov:s3:::fin-\u202edorp-ledger',
            properties: {},
          },
        },
        'invalid_resource',
      ],
      [
        'a NUL in the resource id',
        { resource: { type: 'aws:s3:bucket', id: 'arn:aws-us-gov:s3:::fin\u0000-ledger', properties: {} } },
        'invalid_resource',
      ],
      [
        'a homoglyph in on_behalf_of',
        { context: { on_behalf_of: 'user:аlice@example.gov' } },
        'invalid_on_behalf_of',
      ],
      [
        'a bidi isolate in on_behalf_of',
        { context: { on_behalf_of: 'user:alice@example.gov\u2066' } },
        'invalid_on_behalf_of',
      ],
    ])('denies %s', (_label, override, code) => {
      const decision = evaluator.evaluateUnknown({ ...exportRequest(), ...override });
      expect(decision.outcome).toBe('deny');
      expect(codes(decision)).toEqual([code]);
    });

    it.each([
      ['a value', { action: { name: 'data.export\ud800', args: {} } }],
      ['a key', { action: { name: 'data.export', args: { '\udc00': 1 } } }],
    ])('rejects a lone surrogate in %s before the module sees it', (_label, override) => {
      const decision = evaluator.evaluateUnknown({ ...exportRequest(), ...override });
      expect(codes(decision)).toEqual(['input_rejected']);
      expect(decision.reasons[0]?.message).toContain('not well-formed Unicode');
    });

    it('hands NUL, bidi controls and astral characters to the module byte for byte', async () => {
      const echo = await loadMisbehaving('echo');
      const input = { text: 'a\u0000b\u202ec\u{1f600}d\u00e9' };
      const decision = echo.evaluateUnknown(input);
      expect(JSON.parse(decision.reasons[0]?.message ?? 'null')).toEqual(input);
    });
  });

  it('kept the wasm memory within its maximum across all of the above', () => {
    expect(evaluator.memoryBytes).toBeGreaterThan(0);
    expect(evaluator.memoryBytes).toBeLessThanOrEqual(MAX_PAGES * 65536);
    // The one error is the throwing getter above; nothing else reached the wasm module and failed.
    expect(logger.entries.filter((e) => e.level === 'error').map((e) => e.message)).toEqual([
      'policy unexpected error; denying',
    ]);
  });
});
