/**
 * `npm run policy:eval -- <input.json|-> [--wasm <path>] [--data <path>] [--json]`
 *
 * Evaluates one policy input against a compiled bundle (default: the committed
 * policies/build/policy.wasm and data.json) with the same evaluator the gateway uses, and prints
 * the decision: outcome, reasons, approval, grant, policy digest and input hash. A missing `now`
 * is filled with the current time. Exit codes: 0 decided (whatever the outcome), 2 the input or
 * the arguments are wrong, 1 the bundle cannot be loaded.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PolicyInputError, PolicyLoadError } from '../functions/policy/errors.ts';
import { formatDecision, parsePolicyInput } from '../functions/policy/explain.ts';
import { loadPolicyEvaluatorFromFiles } from '../functions/policy/files.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// `npm run` starts scripts in the package root; paths on the command line are the caller's.
const callerDirectory = process.env.INIT_CWD ?? process.cwd();
const USAGE =
  'usage: npm run policy:eval -- <input.json | -> [--wasm <policy.wasm>] [--data <data.json>] [--json]\n' +
  '  input: {"subject": {"id": "agent:…", "type": "agent"}, "action": {"name": "…", "args": {}},\n' +
  '          "resource": {"type": "…", "id": "…", "properties": {}}, "context": {}, "now"?: "<RFC 3339>"}\n';

function usageError(message: string): never {
  process.stderr.write(`error: ${message}\n${USAGE}`);
  process.exit(2);
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (error) {
    usageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const [inputPath, ...extra] = positionals;
  if (inputPath === undefined) usageError('missing the input file (give a path, or - for stdin)');
  if (extra.length > 0) usageError(`one input file at a time; got also ${extra.join(', ')}`);

  const source = inputPath === '-' ? 'stdin' : inputPath;
  let text: string;
  try {
    text = readFileSync(inputPath === '-' ? 0 : resolve(callerDirectory, inputPath), 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    usageError(
      code === 'ENOENT'
        ? `input file ${inputPath} does not exist; check the path (relative to ${callerDirectory})`
        : `cannot read ${source}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }

  let input: Record<string, unknown>;
  let nowFilled: boolean;
  try {
    ({ input, nowFilled } = parsePolicyInput(text, { source, now: new Date() }));
  } catch (error) {
    if (error instanceof PolicyInputError) usageError(error.message);
    throw error;
  }

  const paths = {
    wasm:
      values.wasm === undefined
        ? join(root, 'policies/build/policy.wasm')
        : resolve(callerDirectory, values.wasm),
    data:
      values.data === undefined
        ? join(root, 'policies/build/data.json')
        : resolve(callerDirectory, values.data),
  };
  let evaluator: Awaited<ReturnType<typeof loadPolicyEvaluatorFromFiles>>;
  try {
    evaluator = await loadPolicyEvaluatorFromFiles(paths);
  } catch (error) {
    if (error instanceof PolicyLoadError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }

  const decision = evaluator.evaluateUnknown(input);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(decision, null, 2)}\n`);
  } else {
    if (nowFilled)
      process.stdout.write(`now:      ${String(input.now)} (not in the input; current time used)\n`);
    process.stdout.write(formatDecision(decision));
  }
}

function parse() {
  return parseArgs({
    allowPositionals: true,
    options: {
      wasm: { type: 'string' },
      data: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

await main();
