/** `ala policy eval`: a dry run of the policy, on the gateway or offline on a compiled bundle; test, explain and replay in policy-authoring.ts. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { ActionRequestInput, EvaluationView } from '../../../client/index.ts';
import type { PolicyDecision } from '../../core/model.ts';
import { packageRoot } from '../../local/package-root.ts';
import { CliError, EXIT, UsageError } from '../errors.ts';
import { formatEvaluation } from '../format.ts';
import { readJson } from '../input.ts';
import { type Runtime, run } from '../runtime.ts';
import { offlinePolicyInput, registerPolicyAuthoringCommands } from './policy-authoring.ts';

const REPO_ROOT = packageRoot();
const DEFAULT_WASM = resolve(REPO_ROOT, 'policies/build/policy.wasm');
const DEFAULT_DATA = resolve(REPO_ROOT, 'policies/build/data.json');

interface EvalOptions {
  readonly offline?: boolean;
  readonly wasm?: string;
  readonly data?: string;
  readonly as?: string;
  readonly now?: string;
}

export function registerPolicyCommands(program: Command, runtime: Runtime): void {
  const policy = program.command('policy').summary('work with the approval policy');

  policy
    .command('eval')
    .summary('dry-run the policy on a request: on the gateway, or offline on a bundle')
    .description(
      'Show what the policy decides for a request; nothing is recorded. Exits 0 whatever the decision.\n' +
        'On the gateway (POST /v1/evaluate) the subject is you (your token), and "subject"/"now" in the\n' +
        'file are ignored. With --offline, the compiled bundle is evaluated here, without a gateway: the\n' +
        'subject comes from --as or the file\'s "subject", the time from --now, the file\'s "now" or the clock.',
    )
    .argument(
      '<input>',
      'JSON file {action, resource, context} or a policy input {subject, …, now}; - for stdin',
    )
    .option('--offline', 'evaluate the compiled bundle locally instead of asking the gateway')
    .option('--wasm <path>', 'offline: policy module (default policies/build/policy.wasm)')
    .option('--data <path>', 'offline: data document (default policies/build/data.json)')
    .option('--as <principal>', 'offline: the requester, e.g. agent:demo-exporter')
    .option('--now <time>', 'offline: evaluation time, RFC 3339 (default: now)')
    .action(
      run(runtime, async (file: string, options: EvalOptions) => {
        const raw = await readJson(file, runtime.io);
        if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
          throw new UsageError(`${file} must hold a JSON object with action, resource and context`);
        }
        const view = options.offline
          ? await evaluateOffline(raw as Record<string, unknown>, options, runtime)
          : await evaluateOnGateway(raw as Record<string, unknown>, runtime);
        runtime.emit(view, () => formatEvaluation(view));
        return EXIT.ok;
      }),
    );
  registerPolicyAuthoringCommands(policy, runtime);
}

async function evaluateOnGateway(raw: Record<string, unknown>, runtime: Runtime): Promise<EvaluationView> {
  const { subject, now, ...input } = raw;
  if (subject !== undefined || now !== undefined) {
    runtime.note('note: "subject" and "now" come from your token and the gateway clock; ignored');
  }
  return runtime.client().evaluate(input as ActionRequestInput);
}

async function evaluateOffline(
  raw: Record<string, unknown>,
  options: EvalOptions,
  runtime: Runtime,
): Promise<EvaluationView> {
  // Loaded on demand: the other commands never pay for zod schemas or the wasm runtime.
  const [{ loadPolicyEvaluator }, lifecycle, { PolicyLoadError }] = await Promise.all([
    import('../../policy/evaluator.ts'),
    import('../../core/lifecycle.ts'),
    import('../../policy/errors.ts'),
  ]);
  const policyInput = await offlinePolicyInput(raw, options, 'offline evaluation');

  const wasmPath = options.wasm ? resolve(runtime.io.cwd, options.wasm) : DEFAULT_WASM;
  const dataPath = options.data ? resolve(runtime.io.cwd, options.data) : DEFAULT_DATA;
  const [wasm, dataText] = await Promise.all([readBundleFile(wasmPath), readBundleFile(dataPath)]);
  let data: unknown;
  try {
    data = JSON.parse(dataText.toString('utf8'));
  } catch (error) {
    throw new UsageError(`${dataPath} is not valid JSON: ${(error as Error).message}`);
  }
  let decision: PolicyDecision;
  try {
    const evaluator = await loadPolicyEvaluator({
      wasm,
      data,
      logger: {
        error: (message, attributes) =>
          runtime.io.stderr.write(`policy: ${message} ${JSON.stringify(attributes ?? {})}\n`),
      },
    });
    decision = evaluator.evaluate(policyInput);
  } catch (error) {
    if (error instanceof PolicyLoadError) throw new CliError(error.message);
    throw error;
  }
  return {
    outcome: decision.outcome,
    reasons: decision.reasons.map((r) => ({ ...r })),
    ...(decision.approval
      ? { approval: structuredClone(decision.approval) as EvaluationView['approval'] }
      : {}),
    ...(decision.grant ? { grant: structuredClone(decision.grant) as EvaluationView['grant'] } : {}),
    policy_digest: decision.policyDigest,
    input_hash: decision.inputHash,
    action_hash: lifecycle.actionHash(policyInput.subject, policyInput),
  };
}

async function readBundleFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      `cannot read ${path} (${code === 'ENOENT' ? 'no such file' : code}); build the bundle with npm run policy:build or pass --wasm/--data`,
    );
  }
}
