/**
 * The policy engine: a Rego bundle compiled to WebAssembly (docs/design.md#42-policy-contract), evaluated in-process.
 *
 * - Load once per process: the module is compiled once (cached by digest) and instantiated with a
 *   bounded memory; the data document is validated and parsed into the instance once.
 * - Evaluate per request, synchronously, on the hot path: the canonical JSON that the input hash
 *   needs anyway is written straight into wasm memory, the module's one-shot `opa_eval` runs, and
 *   the result is validated with a strict schema.
 * - Fail closed: an input beyond the limits, an evaluation error, an undefined result or a result
 *   outside the schema is a `deny` with a stable reason code, never an exception.
 * - An evaluation error may leave the wasm heap in any state, so the instance is discarded and a
 *   fresh one takes its place before the next request.
 */

import type { LoadedPolicy } from '@open-policy-agent/opa-wasm';
import * as opaWasm from '@open-policy-agent/opa-wasm';
import { canonicalize, sha256 } from '../core/canonical.ts';
import { quorumReachable, requestingSide } from '../core/eligibility.ts';
import type { Directory, PolicyDecision, PolicyInput } from '../core/model.ts';
import type { PolicyEvaluator } from '../core/ports/policy.port.ts';
import { canonicalPrincipal } from '../core/principals.ts';
import { isRawDecision } from './decision-check.ts';
import { policyDigests } from './digest.ts';
import { PolicyLoadError } from './errors.ts';
import { DEFAULT_INPUT_LIMITS, type InputLimits, inputProblem } from './input-guard.ts';
import {
  describeIssues,
  directorySchema,
  nonCanonicalPrincipals,
  type RawApproval,
  type RawDecision,
  rawDecisionSchema,
} from './schema.ts';

/** Stable reason codes of decisions the engine makes itself, not the policy. */
export const ENGINE_REASON_CODES = {
  /** The policy failed: evaluation error, undefined result, result outside the schema. */
  policyError: 'policy_error',
  /** The input is beyond the engine's limits or not representable as JSON. */
  inputRejected: 'input_rejected',
  /** Too few eligible approvers remain after the exclusions (docs/design.md#43-review-invariants) to reach min_approvals. */
  quorumUnreachable: 'approval_quorum_unreachable',
} as const;

/**
 * Recorded as the input hash when an input cannot be canonicalized (too deep to walk safely, or
 * not JSON): the sha256 of the empty string. No real input has that hash, since the smallest
 * canonical input is `{}`.
 */
export const UNHASHABLE_INPUT_HASH = sha256('');

export const DEFAULT_ENTRYPOINT = 'approvals/decision';

/** Structurally compatible with the gateway's JSON logger and with Powertools' Logger. */
export interface PolicyLogger {
  error(message: string, attributes?: Record<string, unknown>): void;
  warn?(message: string, attributes?: Record<string, unknown>): void;
}

/** One JSON line on stderr per event: what a Lambda or a terminal collects without setup. */
export const consoleLogger: PolicyLogger = {
  error(message, attributes) {
    console.error(JSON.stringify({ level: 'ERROR', time: new Date().toISOString(), message, ...attributes }));
  },
  warn(message, attributes) {
    console.error(JSON.stringify({ level: 'WARN', time: new Date().toISOString(), message, ...attributes }));
  },
};

export interface PolicyMemoryOptions {
  /** @default 8 — 512 KiB: the default pack's data and a typical input fit without growing. */
  readonly initialPages?: number;
  /** @default 256 — 16 MiB: room for a 1 MiB input several times over, and a hard stop beyond. */
  readonly maximumPages?: number;
}

export interface LoadPolicyEvaluatorOptions {
  /** The compiled module (`policy.wasm` of an `opa build -t wasm` bundle). */
  readonly wasm: Uint8Array;
  /** The data document (`data.json` of the same bundle); must satisfy the Directory shape. */
  readonly data: unknown;
  /** @default consoleLogger */
  readonly logger?: PolicyLogger;
  /** @default 'approvals/decision' */
  readonly entrypoint?: string;
  readonly memory?: PolicyMemoryOptions;
  /** @default DEFAULT_INPUT_LIMITS */
  readonly limits?: Partial<InputLimits>;
}

const WASM_PAGE_BYTES = 64 * 1024;
/** Distinct exclusion entries remembered before the memo starts over. */
const CANONICAL_ID_CACHE_SIZE = 1024;

// index.mjs of @open-policy-agent/opa-wasm re-exports only `loadPolicy` by name; the synchronous
// loader, needed to replace an instance inside a synchronous evaluate, is on the CommonJS default.
const sdk = (opaWasm as unknown as { default: { loadPolicySync: typeof opaWasm.loadPolicySync } }).default;

/** The one-shot evaluation export of OPA's wasm ABI ≥ 1.2. */
type OpaEval = (
  reserved: number,
  entrypoint: number,
  dataAddress: number,
  inputAddress: number,
  inputLength: number,
  heapAddress: number,
  valueFormat: number,
) => number;

/** An instantiated module with its data loaded, and cached views of its memory. */
interface Instance {
  readonly policy: LoadedPolicy;
  readonly memory: WebAssembly.Memory;
  readonly opaEval: OpaEval;
  readonly entrypointId: number;
  readonly dataAddress: number;
  /** Where the input is written: just above the data, where the SDK writes it too. */
  readonly inputAddress: number;
  buffer: ArrayBuffer;
  bytes: Uint8Array;
  inputView: Uint8Array;
}

const moduleCache = new Map<string, Promise<WebAssembly.Module>>();

/**
 * Loads a policy bundle: validates the data against the Directory shape, compiles the module (once
 * per process per module digest), instantiates it and checks the entrypoint answers. Throws
 * {@link PolicyLoadError} when anything is wrong: a gateway must not start on a broken bundle.
 */
export async function loadPolicyEvaluator(options: LoadPolicyEvaluatorOptions): Promise<WasmPolicyEvaluator> {
  const digests = policyDigests(options.wasm, options.data);
  let compiled = moduleCache.get(digests.wasm);
  if (compiled === undefined) {
    compiled = WebAssembly.compile(options.wasm);
    moduleCache.set(digests.wasm, compiled);
    // A module that fails to compile is not cached, so a corrected file can be loaded later.
    compiled.catch(() => moduleCache.delete(digests.wasm));
  }
  let module: WebAssembly.Module;
  try {
    module = await compiled;
  } catch (error) {
    throw new PolicyLoadError(
      `The policy module is not valid WebAssembly (${describe(error)}). Rebuild it with 'npm run policy:build'.`,
      { cause: error },
    );
  }
  return new WasmPolicyEvaluator(module, options, digests);
}

export class WasmPolicyEvaluator implements PolicyEvaluator {
  readonly digest: string;
  readonly wasmDigest: string;
  readonly dataDigest: string;
  readonly directory: Directory;
  readonly entrypoint: string;

  readonly #module: WebAssembly.Module;
  readonly #dataJson: string;
  readonly #logger: PolicyLogger;
  readonly #limits: InputLimits;
  readonly #memory: Required<PolicyMemoryOptions>;
  readonly #groups: ReadonlySet<string>;
  readonly #encoder = new TextEncoder();
  readonly #decoder = new TextDecoder('utf-8', { fatal: true });
  #instance: Instance | undefined;
  #generation = 0;
  /** Exclusion entry → its canonical id, or null when it has none (see #canonicalId). */
  readonly #canonicalIds = new Map<string, string | null>();

  /** Use {@link loadPolicyEvaluator}; this constructor expects a compiled module. */
  constructor(
    module: WebAssembly.Module,
    options: LoadPolicyEvaluatorOptions,
    digests: { wasm: string; data: string; policy: string },
  ) {
    this.#module = module;
    this.#logger = options.logger ?? consoleLogger;
    this.#limits = { ...DEFAULT_INPUT_LIMITS, ...options.limits };
    this.#memory = { initialPages: 8, maximumPages: 256, ...options.memory };
    this.entrypoint = options.entrypoint ?? DEFAULT_ENTRYPOINT;
    this.digest = digests.policy;
    this.wasmDigest = digests.wasm;
    this.dataDigest = digests.data;
    validateLimits(this.#limits, this.#memory);

    const directory = directorySchema.safeParse(options.data);
    if (!directory.success) {
      throw new PolicyLoadError(
        `The policy data does not have the Directory shape that docs/policies.md describes (groups, identities, agents): ` +
          `${describeIssues(directory.error)}. Fix policies/data/*.json and run 'npm run policy:build'.`,
      );
    }
    // A non-canonical id anywhere in the data would silently never match the person it names.
    const nonCanonical = nonCanonicalPrincipals(options.data);
    if (nonCanonical.length > 0) {
      throw new PolicyLoadError(
        `The policy data names principals in a non-canonical form: ${nonCanonical.join('; ')}. ` +
          `Fix policies/data/*.json and run 'npm run policy:build'.`,
      );
    }
    this.directory = deepFreeze({
      groups: directory.data.groups,
      identities: directory.data.identities,
      ...(directory.data.agents ? { agents: directory.data.agents } : {}),
      ...(directory.data.inventory ? { inventory: directory.data.inventory } : {}),
      ...(directory.data.notifications ? { notifications: directory.data.notifications } : {}),
    });
    this.#groups = new Set(Object.keys(directory.data.groups));
    this.#dataJson = JSON.stringify(options.data);

    this.#instance = this.#instantiate();
    // An input no rule matches must still get an answer: an error here means the bundle calls a
    // builtin this host lacks or is otherwise broken, and it would fail on real requests too.
    try {
      this.#run(this.#instance, '{}');
    } catch (error) {
      throw new PolicyLoadError(
        `The policy fails on an empty input (${describe(error)}); check it with 'npm run policy:build'.`,
        { cause: error },
      );
    }
  }

  /** Bytes of wasm memory the current instance holds (bounded by maximumPages × 64 KiB). */
  get memoryBytes(): number {
    return this.#instance?.memory.buffer.byteLength ?? 0;
  }

  /** How many instances have been created: 1 after load, +1 after each evaluation error. */
  get generation(): number {
    return this.#generation;
  }

  evaluate(input: PolicyInput): PolicyDecision {
    return this.evaluateUnknown(input);
  }

  /**
   * {@link evaluate} for a value of unknown shape (a file, a fuzzer, a test): whatever it is given,
   * it returns a decision and never throws.
   */
  evaluateUnknown(input: unknown): PolicyDecision {
    try {
      return this.#evaluate(input);
    } catch (error) {
      // Last line of defence (a throwing getter or proxy in the input, say): still a decision.
      return this.#policyError('unexpected error', UNHASHABLE_INPUT_HASH, { error: describe(error) });
    }
  }

  #evaluate(input: unknown): PolicyDecision {
    const problem = inputProblem(input, this.#limits);
    if (problem !== undefined) return this.#rejectInput(problem, UNHASHABLE_INPUT_HASH);

    let canonical: string;
    try {
      canonical = canonicalize(input);
    } catch (error) {
      return this.#rejectInput(
        `the input is not representable as JSON (${describe(error)})`,
        UNHASHABLE_INPUT_HASH,
      );
    }
    const inputHash = sha256(canonical);
    // UTF-8 needs at most 3 bytes per UTF-16 unit; count exactly only when that bound is too high.
    if (
      canonical.length > this.#limits.maxBytes ||
      (canonical.length * 3 > this.#limits.maxBytes && Buffer.byteLength(canonical) > this.#limits.maxBytes)
    ) {
      return this.#rejectInput(`the input is larger than ${this.#limits.maxBytes} bytes of JSON`, inputHash);
    }

    let instance = this.#instance;
    if (instance === undefined) {
      try {
        instance = this.#replaceInstance();
      } catch (error) {
        return this.#policyError('unavailable', inputHash, { error: describe(error) });
      }
    }

    let resultSet: unknown;
    try {
      resultSet = this.#run(instance, canonical);
    } catch (error) {
      this.#discard(instance, error, inputHash);
      return this.#policyError('evaluation failed', inputHash, { error: describe(error) });
    }
    return this.#interpret(resultSet, input, inputHash);
  }

  #interpret(resultSet: unknown, input: unknown, inputHash: string): PolicyDecision {
    if (!Array.isArray(resultSet)) {
      return this.#policyError('result is not a result set', inputHash, {});
    }
    if (resultSet.length === 0) {
      return this.#policyError('decision is undefined', inputHash, {});
    }
    const first: unknown = resultSet[0];
    const value =
      typeof first === 'object' && first !== null ? (first as { result?: unknown }).result : undefined;
    if (resultSet.length > 1) {
      return this.#policyError('decision has several values', inputHash, {});
    }
    // The plain check accepts exactly what the zod schema accepts (decision-check.ts); zod, the
    // reference, words the issues of a refused decision.
    if (!isRawDecision(value)) {
      const parsed = rawDecisionSchema.safeParse(value);
      return this.#policyError('decision violates the output schema', inputHash, {
        issues: parsed.success ? 'refused by the decision check' : describeIssues(parsed.error),
      });
    }
    const unknownGroups = this.#unknownGroups(value);
    if (unknownGroups.length > 0) {
      // Nobody could ever approve: the request would wait for its timeout and expire.
      return this.#policyError('decision names approval groups missing from the data', inputHash, {
        groups: unknownGroups,
      });
    }
    const decision = this.#withCanonicalExclusions(value);
    if (decision === undefined) {
      return this.#policyError('decision excludes an id that is not a principal', inputHash, {});
    }
    if (decision.outcome === 'require_approval' && !this.#quorumReachable(decision.approval, input)) {
      this.#log('warn', 'approval quorum unreachable; denying', {
        policyDigest: this.digest,
        inputHash,
        groups: decision.approval.groups,
      });
      return {
        outcome: 'deny',
        reasons: [
          {
            code: ENGINE_REASON_CODES.quorumUnreachable,
            message:
              'Too few eligible approvers remain after excluding the requester and the people the policy excludes; ' +
              'nobody could complete this approval.',
          },
        ],
        policyDigest: this.digest,
        inputHash,
      };
    }
    return toDecision(decision, this.digest, inputHash);
  }

  /**
   * The policy's exclusions in canonical form, so that `user:Bob@x` in a pack still excludes the
   * `user:bob@x` who signs in. Undefined when an entry has no canonical form: the policy meant to
   * exclude someone and the gateway cannot tell whom, so the decision fails closed.
   */
  #withCanonicalExclusions(raw: RawDecision): RawDecision | undefined {
    if (raw.outcome !== 'require_approval' || raw.approval.exclude === undefined) return raw;
    const exclude: string[] = [];
    for (const entry of raw.approval.exclude) {
      const id = this.#canonicalId(entry);
      if (id === undefined) return undefined;
      exclude.push(id);
    }
    return { ...raw, approval: { ...raw.approval, exclude: [...new Set(exclude)].sort() } };
  }

  /**
   * canonicalPrincipal is pure, and a pack names the same few people in every decision: its
   * answers are kept, up to a bound, so the hot path does not redo the Unicode normalisation.
   */
  #canonicalId(entry: string): string | undefined {
    const known = this.#canonicalIds.get(entry);
    if (known !== undefined) return known === null ? undefined : known;
    const result = canonicalPrincipal(entry);
    if (this.#canonicalIds.size >= CANONICAL_ID_CACHE_SIZE) this.#canonicalIds.clear();
    this.#canonicalIds.set(entry, result.ok ? result.principal.id : null);
    return result.ok ? result.principal.id : undefined;
  }

  /**
   * Whether the people eligible under the core's rules (functions/core/eligibility.ts: the
   * requesting side and `exclude` removed from the groups) can reach min_approvals. Checked here
   * rather than in Rego so that it holds for every policy pack.
   */
  #quorumReachable(approval: RawApproval, input: unknown): boolean {
    const request = input as { subject?: { id?: unknown }; context?: { on_behalf_of?: unknown } };
    const requester = typeof request.subject?.id === 'string' ? request.subject.id : '';
    const onBehalfOf =
      typeof request.context?.on_behalf_of === 'string' ? request.context.on_behalf_of : undefined;
    return quorumReachable(approval, requestingSide(requester, onBehalfOf, this.directory), this.directory);
  }

  #unknownGroups(decision: RawDecision): string[] {
    if (decision.outcome !== 'require_approval') return [];
    const missing: string[] = [];
    for (const group of decision.approval.groups) if (!this.#groups.has(group)) missing.push(group);
    for (const group of decision.approval.escalation_groups ?? [])
      if (!this.#groups.has(group)) missing.push(group);
    return missing;
  }

  /** Writes the input into wasm memory, runs `opa_eval`, parses the result set. May throw. */
  #run(instance: Instance, inputJson: string): unknown {
    this.#refreshViews(instance);
    // Grow only when the UTF-8 worst case does not fit; Memory.grow throws past maximumPages.
    if (inputJson.length * 3 > instance.inputView.length) {
      const needed = Buffer.byteLength(inputJson) + 1;
      if (needed > instance.inputView.length) {
        instance.memory.grow(Math.ceil((needed - instance.inputView.length) / WASM_PAGE_BYTES));
        this.#refreshViews(instance);
      }
    }
    const { written } = this.#encoder.encodeInto(inputJson, instance.inputView);
    const resultAddress = instance.opaEval(
      0,
      instance.entrypointId,
      instance.dataAddress,
      instance.inputAddress,
      written,
      instance.inputAddress + written,
      0,
    );
    // The module may have grown its memory while evaluating, detaching the old views.
    this.#refreshViews(instance);
    const end = instance.bytes.indexOf(0, resultAddress);
    if (end < 0) throw new Error('the result JSON is not NUL-terminated');
    return JSON.parse(this.#decoder.decode(instance.bytes.subarray(resultAddress, end)));
  }

  #refreshViews(instance: Instance): void {
    if (instance.buffer === instance.memory.buffer) return;
    instance.buffer = instance.memory.buffer;
    instance.bytes = new Uint8Array(instance.buffer);
    instance.inputView = new Uint8Array(instance.buffer, instance.inputAddress);
  }

  #instantiate(): Instance {
    let policy: LoadedPolicy;
    try {
      policy = sdk.loadPolicySync(this.#module, {
        initial: this.#memory.initialPages,
        maximum: this.#memory.maximumPages,
      });
    } catch (error) {
      throw new PolicyLoadError(`The policy module cannot be instantiated (${describe(error)}).`, {
        cause: error,
      });
    }
    const entrypoints = policy.entrypoints as Record<string, number>;
    const entrypointId = entrypoints[this.entrypoint];
    if (!Object.hasOwn(entrypoints, this.entrypoint) || typeof entrypointId !== 'number') {
      throw new PolicyLoadError(
        `The policy module has no entrypoint '${this.entrypoint}' (it has: ${Object.keys(entrypoints).join(', ') || 'none'}). ` +
          `Build it with 'opa build -t wasm -e ${this.entrypoint}'.`,
      );
    }
    const wasm = 'exports' in policy.wasmInstance ? policy.wasmInstance : policy.wasmInstance.instance;
    const opaEval = wasm.exports.opa_eval;
    if (typeof opaEval !== 'function' || typeof policy.minorVersion !== 'number' || policy.minorVersion < 2) {
      throw new PolicyLoadError(
        'The policy module uses a wasm ABI older than 1.2 (no opa_eval export); rebuild it with opa ≥ 0.37.',
      );
    }
    try {
      policy.setData(new TextEncoder().encode(this.#dataJson).buffer as ArrayBuffer);
    } catch (error) {
      throw new PolicyLoadError(`The policy data cannot be loaded into the module (${describe(error)}).`, {
        cause: error,
      });
    }
    this.#generation++;
    const buffer = policy.mem.buffer;
    const inputAddress = policy.dataHeapPtr as number;
    return {
      policy,
      memory: policy.mem,
      opaEval: opaEval as OpaEval,
      entrypointId,
      dataAddress: policy.dataAddr,
      inputAddress,
      buffer,
      bytes: new Uint8Array(buffer),
      inputView: new Uint8Array(buffer, inputAddress),
    };
  }

  #replaceInstance(): Instance {
    this.#instance = undefined;
    const instance = this.#instantiate();
    this.#instance = instance;
    return instance;
  }

  /** Logging must never turn a decision into an exception, whatever logger was passed in. */
  #log(level: 'error' | 'warn', message: string, attributes: Record<string, unknown>): void {
    try {
      if (level === 'error') this.#logger.error(message, attributes);
      else this.#logger.warn?.(message, attributes);
    } catch {
      // Nothing better to do: the decision itself still carries the reason.
    }
  }

  /** A failed evaluation may have left the heap half-written: never run that instance again. */
  #discard(instance: Instance, error: unknown, inputHash: string): void {
    if (this.#instance === instance) this.#instance = undefined;
    this.#log('error', 'policy evaluation failed; replacing the wasm instance', {
      policyDigest: this.digest,
      inputHash,
      error: describe(error),
    });
    try {
      this.#replaceInstance();
    } catch (replaceError) {
      // Left undefined: the next evaluation retries, and denies until an instance exists.
      this.#log('error', 'policy instance could not be replaced; denying until it can', {
        policyDigest: this.digest,
        error: describe(replaceError),
      });
    }
  }

  #policyError(category: string, inputHash: string, details: Record<string, unknown>): PolicyDecision {
    this.#log('error', `policy ${category}; denying`, { policyDigest: this.digest, inputHash, ...details });
    return {
      outcome: 'deny',
      reasons: [
        {
          code: ENGINE_REASON_CODES.policyError,
          message: `The policy could not decide (${category}); the request is denied because the gateway fails closed.`,
        },
      ],
      policyDigest: this.digest,
      inputHash,
    };
  }

  #rejectInput(problem: string, inputHash: string): PolicyDecision {
    this.#log('warn', 'policy input rejected; denying', { policyDigest: this.digest, inputHash, problem });
    return {
      outcome: 'deny',
      reasons: [
        { code: ENGINE_REASON_CODES.inputRejected, message: `The request was not evaluated: ${problem}.` },
      ],
      policyDigest: this.digest,
      inputHash,
    };
  }
}

function toDecision(raw: RawDecision, policyDigest: string, inputHash: string): PolicyDecision {
  const grant = raw.outcome === 'deny' ? undefined : raw.grant;
  return {
    outcome: raw.outcome,
    reasons: raw.reasons,
    ...(raw.outcome === 'require_approval' ? { approval: raw.approval } : {}),
    ...(grant !== undefined ? { grant } : {}),
    ...(raw.notify !== undefined ? { notify: raw.notify } : {}),
    ...(raw.outcome !== 'deny' && raw.post_review !== undefined ? { post_review: raw.post_review } : {}),
    policyDigest,
    inputHash,
  };
}

function validateLimits(limits: InputLimits, memory: Required<PolicyMemoryOptions>): void {
  const positive = (value: number) => Number.isInteger(value) && value > 0;
  if (!positive(limits.maxDepth) || !positive(limits.maxValues) || !positive(limits.maxBytes)) {
    throw new PolicyLoadError(
      `Input limits must be positive integers; got maxDepth=${limits.maxDepth}, maxValues=${limits.maxValues}, maxBytes=${limits.maxBytes}.`,
    );
  }
  if (
    !positive(memory.initialPages) ||
    !positive(memory.maximumPages) ||
    memory.maximumPages < memory.initialPages ||
    memory.maximumPages > 65536
  ) {
    throw new PolicyLoadError(
      `Memory pages must satisfy 0 < initialPages <= maximumPages <= 65536; got ${memory.initialPages} and ${memory.maximumPages}.`,
    );
  }
  // Room for the largest accepted input, written once into memory, with the module's own use beside.
  if (limits.maxBytes * 2 > memory.maximumPages * WASM_PAGE_BYTES) {
    throw new PolicyLoadError(
      `maxBytes (${limits.maxBytes}) needs at least twice its size in wasm memory; raise maximumPages above ` +
        `${Math.ceil((limits.maxBytes * 2) / WASM_PAGE_BYTES)} or lower maxBytes.`,
    );
  }
}

/** Error text for logs and decisions. opa-wasm throws strings and plain objects, not only Errors. */
function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  if (typeof error === 'string') return error;
  if (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { message?: unknown }).message === 'string'
  ) {
    return (error as { message: string }).message;
  }
  return String(error);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
