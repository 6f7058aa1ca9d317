/**
 * Generates policies/capabilities.json: the builtins of the pinned `opa` that a policy compiled to
 * wasm can actually run under @open-policy-agent/opa-wasm. Used by `opa check --capabilities` and
 * `opa build --capabilities`, so a policy calling anything else fails at build time instead of
 * throwing `not implemented: built-in function …` in the gateway.
 *
 * How the list is found, from the tools themselves rather than from a list copied out of OPA's source:
 * 1. `opa capabilities --current` gives every builtin of this opa.
 * 2. A probe module calls each of them with `input.*` arguments (type `any`, so the type checker
 *    accepts every signature); builtins the v1 compiler rejects (deprecated ones) are dropped.
 * 3. `opa build -t wasm` compiles the probe. Builtins the wasm compiler implements natively are
 *    compiled in; all others appear in the module's exported `builtins()` map, which the host must
 *    serve through `opa_builtinN` imports.
 * 4. Of those host-served builtins, keep the ones the JS SDK implements (its `src/builtins`).
 *
 * Usage: tsx scripts/policy-caps.ts [--opa <path>] [--out <file>] [--stdout]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface BuiltinDecl {
  readonly args?: readonly unknown[];
  readonly result?: unknown;
  readonly variadic?: unknown;
}

interface Builtin {
  readonly name: string;
  readonly decl: BuiltinDecl;
  readonly [key: string]: unknown;
}

interface Capabilities {
  readonly builtins: readonly Builtin[];
  readonly [key: string]: unknown;
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// The planner emits these itself (`:=`, `=`, `in`, print, template strings); they are never calls
// to a host function, and user code cannot name most of them, so they are kept without probing.
function isIntrinsic(name: string): boolean {
  return name === 'assign' || name === 'eq' || name.startsWith('internal.');
}

function probeModule(builtins: readonly Builtin[]): { source: string; lineToBuiltin: Map<number, string> } {
  const lines = ['package probe', ''];
  const lineToBuiltin = new Map<number, string>();
  const rules: string[] = [];
  builtins.forEach((builtin, index) => {
    const args = (builtin.decl.args ?? []).map((_, k) => `input.a${k}`);
    if (builtin.decl.variadic !== undefined) args.push('input.v');
    const call = `${builtin.name}(${args.join(', ')})`;
    const rule = `p${index}`;
    rules.push(rule);
    lines.push(`${rule} if {`);
    lineToBuiltin.set(lines.length + 1, builtin.name);
    lines.push(builtin.decl.result === undefined ? `\t${call}` : `\t_ := ${call}`);
    lines.push('}', '');
  });
  lines.push(`all_probes := [${rules.join(', ')}]`, '');
  return { source: lines.join('\n'), lineToBuiltin };
}

function run(opa: string, args: readonly string[]): { ok: boolean; output: string } {
  try {
    const stdout = execFileSync(opa, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { ok: true, output: stdout };
  } catch (error: unknown) {
    const failure = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${failure.stdout ?? ''}${failure.stderr ?? ''}` };
  }
}

/** Names the compiled probe expects the host to implement (its exported `builtins()` JSON map). */
async function hostBuiltins(wasm: Uint8Array): Promise<Set<string>> {
  const memory = new WebAssembly.Memory({ initial: 5 });
  const fail = (): never => {
    throw new Error('the probe module must not call into the host while listing its builtins');
  };
  const { instance } = await WebAssembly.instantiate(wasm, {
    env: {
      memory,
      opa_abort: fail,
      opa_println: fail,
      opa_builtin0: fail,
      opa_builtin1: fail,
      opa_builtin2: fail,
      opa_builtin3: fail,
      opa_builtin4: fail,
    },
  });
  const exports = instance.exports as {
    builtins: () => number;
    opa_json_dump: (address: number) => number;
  };
  const address = exports.opa_json_dump(exports.builtins());
  const bytes = new Uint8Array(memory.buffer);
  let end = address;
  while (bytes[end] !== 0) end++;
  const map = JSON.parse(new TextDecoder().decode(bytes.subarray(address, end))) as Record<string, number>;
  return new Set(Object.keys(map));
}

function sdkBuiltins(): Set<string> {
  const require = createRequire(join(root, 'package.json'));
  const entry = require.resolve('@open-policy-agent/opa-wasm');
  const implemented = require(join(dirname(entry), 'builtins', 'index.js')) as Record<string, unknown>;
  return new Set(Object.keys(implemented));
}

// Descriptions and categories are documentation; dropping them keeps the committed file reviewable.
function strip(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(strip);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'description' || key === 'categories') continue;
      out[key] = strip(inner);
    }
    return out;
  }
  return value;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const option = (name: string, fallback: string): string => {
    const index = argv.indexOf(name);
    const value = index >= 0 ? argv[index + 1] : undefined;
    return value ?? fallback;
  };
  const opa = option('--opa', join(root, '.tools/bin/opa'));
  const out = option('--out', join(root, 'policies/capabilities.json'));

  const current = JSON.parse(run(opa, ['capabilities', '--current']).output) as Capabilities;
  const work = mkdtempSync(join(tmpdir(), 'policy-caps-'));
  try {
    let candidates = current.builtins.filter((b) => !isIntrinsic(b.name));
    const rejected: string[] = [];
    const probePath = join(work, 'probe.rego');

    // Drop what the v1 compiler refuses (deprecated builtins), then make sure the rest compiles.
    for (let attempt = 0; attempt < 3; attempt++) {
      const { source, lineToBuiltin } = probeModule(candidates);
      writeFileSync(probePath, source);
      const check = run(opa, ['check', '--max-errors', '-1', probePath]);
      if (check.ok) break;
      const refused = new Set<string>();
      for (const match of check.output.matchAll(/probe\.rego:(\d+):/g)) {
        const name = lineToBuiltin.get(Number(match[1]));
        if (name !== undefined) refused.add(name);
      }
      if (refused.size === 0) throw new Error(`opa check failed on the probe module:\n${check.output}`);
      rejected.push(...refused);
      candidates = candidates.filter((b) => !refused.has(b.name));
    }

    const build = run(opa, [
      'build',
      '-t',
      'wasm',
      '-e',
      'probe/all_probes',
      '-o',
      join(work, 'probe.tar.gz'),
      probePath,
    ]);
    if (!build.ok) throw new Error(`opa build -t wasm failed on the probe module:\n${build.output}`);
    // GNU tar notes on stderr that it strips the leading '/' of each member; errors still throw.
    execFileSync('tar', ['-xzf', join(work, 'probe.tar.gz'), '-C', work, '/policy.wasm'], { stdio: 'pipe' });
    const host = await hostBuiltins(readFileSync(join(work, 'policy.wasm')));
    const sdk = sdkBuiltins();

    const keep = new Set<string>();
    const dropped: string[] = [];
    for (const builtin of current.builtins) {
      const name = builtin.name;
      if (
        isIntrinsic(name) ||
        (candidates.some((c) => c.name === name) && (!host.has(name) || sdk.has(name)))
      ) {
        keep.add(name);
      } else {
        dropped.push(name);
      }
    }

    const restricted = {
      ...current,
      builtins: current.builtins.filter((b) => keep.has(b.name)).map(strip),
    };
    const text = `${JSON.stringify(restricted, null, 2)}\n`;
    if (argv.includes('--stdout')) {
      process.stdout.write(text);
    } else {
      writeFileSync(out, text);
    }
    process.stderr.write(
      `[policy-caps] ${keep.size} builtins kept (${[...host].filter((n) => sdk.has(n)).length} served by the JS SDK), ` +
        `${dropped.length} dropped (${rejected.length} refused by the v1 compiler)\n`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
