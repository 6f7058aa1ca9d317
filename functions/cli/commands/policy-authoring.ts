/**
 * The security team's authoring loop on the command line: `ala policy test` (opa test with the
 * project's layout and coverage threshold, on any policy repository), `ala policy explain` (the
 * decision for one input and the rules behind its reasons) and `ala policy replay` (how a
 * candidate bundle would have decided recorded requests, with `--fail-on` for CI).
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import type { PolicyDecision, PolicyInput } from '../../core/model.ts';
import { packageRoot } from '../../local/package-root.ts';
import { CliError, EXIT, UsageError } from '../errors.ts';
import { collect, parseEventLines, readJson, readText } from '../input.ts';
import { type Runtime, run } from '../runtime.ts';

export const DEFAULT_COVERAGE_THRESHOLD = 90;

export function registerPolicyAuthoringCommands(policy: Command, runtime: Runtime): void {
  policy
    .command('test')
    .summary('run the Rego tests of a policy repository, with the coverage threshold')
    .description(
      'Runs `opa test` on a policy repository laid out like policies/ of this project: Rego files\n' +
        '(tests in *_test.rego) anywhere under the folder, JSON data under <folder>/data mounted at the\n' +
        'top of `data`, and <folder>/build ignored. Fails when a test fails or when coverage of the\n' +
        'policy lines (tests excluded) is below the threshold. opa comes from --opa, ALA_OPA, the\n' +
        "project's pinned copy, or PATH.",
    )
    .argument('[folder]', 'the policy repository', 'policies')
    .option('--threshold <percent>', 'minimum coverage of policy lines', String(DEFAULT_COVERAGE_THRESHOLD))
    .option('--opa <path>', 'the opa binary')
    .action(
      run(runtime, async (folder: string, options: { threshold: string; opa?: string }) => {
        const threshold = Number(options.threshold);
        if (!Number.isFinite(threshold) || threshold < 0 || threshold > 100) {
          throw new UsageError(`--threshold must be a percentage from 0 to 100 (got ${options.threshold})`);
        }
        const layout = policyLayout(resolve(runtime.io.cwd, folder));
        const opa = findOpa(options.opa, runtime);
        const args = [...layout.dataRoots, ...layout.rego];
        const tests = await exec(opa, ['test', ...args], runtime.io.cwd);
        runtime.io.stderr.write(tests.stdout + tests.stderr);
        if (tests.code !== 0) {
          runtime.print(`policy tests failed in ${layout.root}`);
          return EXIT.failed;
        }
        const coverage = await exec(opa, ['test', '--coverage', '--format', 'json', ...args], runtime.io.cwd);
        const report = coverageOf(coverage.stdout, layout.root);
        const ok = report.percent >= threshold;
        const result = { ...report, threshold, passed: ok };
        runtime.emit(result, () =>
          [
            `tests passed; coverage ${report.percent.toFixed(2)}% of ${report.lines} policy lines (threshold ${threshold}%)`,
            ...(report.gaps.length > 0 ? [`not covered: ${report.gaps.join(', ')}`] : []),
            ...(ok ? [] : [`coverage is below ${threshold}%: add tests for the lines above`]),
          ].join('\n'),
        );
        return ok ? EXIT.ok : EXIT.failed;
      }),
    );

  policy
    .command('explain')
    .summary('the decision for one input, its reasons and the rules that produced them')
    .description(
      'Evaluates the compiled bundle offline for one input (as `policy eval --offline`), then finds\n' +
        'for each reason code the Rego rule that emits it (file:line and the rule title) in the policy\n' +
        'sources. With --opa-explain, opa evaluates the same input from the sources and prints its\n' +
        'own explanation (notes, fails or full) below.',
    )
    .argument(
      '<input>',
      'JSON file {action, resource, context} or a policy input {subject, …, now}; - for stdin',
    )
    .option('--bundle <folder>', 'folder with policy.wasm and data.json (default policies/build)')
    .option('--sources <folder>', 'the Rego sources the bundle was built from', 'policies')
    .option('--as <principal>', 'the requester, e.g. agent:demo-exporter (default: the file\'s "subject")')
    .option('--now <time>', 'evaluation time, RFC 3339 (default: the file\'s "now" or the clock)')
    .option('--opa-explain <mode>', "also print opa's explanation: notes, fails or full")
    .option('--opa <path>', 'the opa binary (for --opa-explain)')
    .action(
      run(
        runtime,
        async (
          file: string,
          options: {
            bundle?: string;
            sources: string;
            as?: string;
            now?: string;
            opaExplain?: string;
            opa?: string;
          },
        ) => {
          if (options.opaExplain !== undefined && !['notes', 'fails', 'full'].includes(options.opaExplain)) {
            throw new UsageError(`--opa-explain must be notes, fails or full (got ${options.opaExplain})`);
          }
          const raw = await readJson(file, runtime.io);
          if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
            throw new UsageError(`${file} must hold a JSON object with action, resource and context`);
          }
          const evaluator = await loadBundle(bundleDir(options.bundle, runtime), undefined);
          let input = await offlinePolicyInput(raw as Record<string, unknown>, options);
          if (input.vouched === undefined) {
            // What the gateway vouches for from the bundle's inventory, as it does on submission.
            const { inventoryAttributes, withVouchedFrom } = await import('../../core/attributes.ts');
            input = await withVouchedFrom(
              input,
              inventoryAttributes(() => evaluator.directory),
            );
          }
          const decision = evaluator.evaluate(input);
          const sources = resolve(runtime.io.cwd, options.sources);
          const rules = existsSync(sources) ? ruleIndex(sources) : new Map<string, RuleLocation[]>();
          const reasons = decision.reasons.map((r) => ({ ...r, rules: rules.get(r.code) ?? [] }));
          let opaExplanation: string | undefined;
          if (options.opaExplain !== undefined) {
            const layout = policyLayout(sources);
            const opa = findOpa(options.opa, runtime);
            const out = await exec(
              opa,
              [
                'eval',
                '--format',
                'pretty',
                '--explain',
                options.opaExplain,
                '--stdin-input',
                ...layout.dataRoots.flatMap((d) => ['-d', d]),
                ...layout.rego.filter((f) => !f.endsWith('_test.rego')).flatMap((f) => ['-d', f]),
                'data.approvals.decision',
              ],
              runtime.io.cwd,
              JSON.stringify(input),
            );
            opaExplanation = out.stdout + out.stderr;
          }
          const result = {
            outcome: decision.outcome,
            reasons,
            ...(decision.approval ? { approval: decision.approval } : {}),
            policy_digest: decision.policyDigest,
            input_hash: decision.inputHash,
            ...(opaExplanation !== undefined ? { opa_explanation: opaExplanation } : {}),
          };
          runtime.emit(result, () =>
            formatExplanation(decision, reasons, sources, runtime.io.cwd, opaExplanation),
          );
          return EXIT.ok;
        },
      ),
    );

  policy
    .command('replay')
    .summary('how a candidate bundle would have decided recorded requests')
    .description(
      'Rebuilds the policy input of each recorded request (from the local store, or from an audit\n' +
        'export: `ala audit show <id> --jsonl`, or the archive), evaluates the candidate bundle on it and\n' +
        'lists what would change: allow→require_approval, quorum 1→2, new denials, with counts and\n' +
        'examples. Exits 1 when a change matches a --fail-on rule, so it can gate a policy pull request.\n' +
        '--fail-on rules: FROM->TO (allow, require_approval, deny or *), quorum, quorum-up, quorum-down,\n' +
        'groups, any. Repeat --fail-on for several.',
    )
    .requiredOption(
      '--bundle <folder>',
      'the candidate bundle: policy.wasm and data.json (and .signatures.json)',
    )
    .option('--store <file>', 'local gateway database (default .ala/gateway.db)')
    .option('--audit <file>', 'audit events as JSON Lines instead of a store; - for stdin')
    .option('--since <duration>', 'only requests submitted within, e.g. 7d, 12h, 30m')
    .option('--fail-on <rule>', 'exit 1 when a change matches (repeatable)', collect, [])
    .option('--examples <n>', 'examples per change', '3')
    .option('--verification-key <pem>', 'verify the candidate bundle signature with this public key first')
    .action(
      run(
        runtime,
        async (options: {
          bundle: string;
          store?: string;
          audit?: string;
          since?: string;
          failOn: string[];
          examples: string;
          verificationKey?: string;
        }) => {
          const { parseFailOn, parseSince, recordFromRequest, recordsFromEvents, replay } = await import(
            '../../policy/replay.ts'
          );
          const { describeChange } = await import('../../policy/compare.ts');
          const rules = options.failOn.map((rule) => {
            try {
              return { rule, matches: parseFailOn(rule) };
            } catch (error) {
              throw new UsageError((error as Error).message);
            }
          });
          const examples = Number(options.examples);
          if (!Number.isInteger(examples) || examples < 0 || examples > 100) {
            throw new UsageError(`--examples must be a whole number from 0 to 100 (got ${options.examples})`);
          }
          let sinceMs: number | undefined;
          if (options.since !== undefined) {
            sinceMs = parseSince(options.since);
            if (sinceMs === undefined)
              throw new UsageError(
                `--since must be a duration such as 7d, 12h or 30m (got ${options.since})`,
              );
          }
          if (options.store !== undefined && options.audit !== undefined) {
            throw new UsageError('give --store or --audit, not both');
          }
          const candidate = await loadBundle(
            resolve(runtime.io.cwd, options.bundle),
            options.verificationKey ? resolve(runtime.io.cwd, options.verificationKey) : undefined,
          );
          if (!options.verificationKey)
            runtime.note('note: the candidate signature is not checked (no --verification-key)');

          let records: ReturnType<typeof recordsFromEvents>;
          let source: string;
          if (options.audit !== undefined) {
            source = options.audit;
            const text = await readText(options.audit, runtime.io);
            records = recordsFromEvents(parseEventLines(text, options.audit) as never);
          } else {
            const path = resolve(runtime.io.cwd, options.store ?? '.ala/gateway.db');
            source = path;
            records = (await readStore(path)).map(recordFromRequest).filter((r) => r !== undefined);
          }
          if (sinceMs !== undefined) {
            const cutoff = new Date(Date.now() - sinceMs).toISOString();
            records = records.filter((r) => r.createdAt >= cutoff);
          }
          const report = replay(records, candidate, { examples });
          const failures = rules
            .map(({ rule, matches }) => ({
              rule,
              ids: report.changes.filter((c) => c.changes.some(matches)).map((c) => c.record.id),
            }))
            .filter((f) => f.ids.length > 0);
          const { changes, ...summary } = report;
          const result = {
            source,
            ...summary,
            requests: changes.map((c) => ({ id: c.record.id, changes: c.changes.map(describeChange) })),
            fail_on: failures,
          };
          runtime.emit(result, () => formatReplay(summary, failures, source));
          return failures.length > 0 ? EXIT.failed : EXIT.ok;
        },
      ),
    );
}

// ---------------------------------------------------------------------------------------------

interface Layout {
  readonly root: string;
  readonly rego: string[];
  readonly dataRoots: string[];
}

/** Rego files under the folder (build/ and dot folders skipped), and its data/ folder if any. */
function policyLayout(root: string): Layout {
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new UsageError(`${root} is not a folder of Rego policies`);
  }
  const rego: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (dir === root && (entry.name === 'build' || entry.name === 'data')) continue;
        walk(path);
      } else if (entry.name.endsWith('.rego')) {
        rego.push(path);
      }
    }
  };
  walk(root);
  if (rego.length === 0) throw new UsageError(`${root} holds no .rego files`);
  const data = join(root, 'data');
  return { root, rego, dataRoots: existsSync(data) ? [data] : [] };
}

function findOpa(explicit: string | undefined, runtime: Runtime): string {
  if (explicit !== undefined) return resolve(runtime.io.cwd, explicit);
  const fromEnv = runtime.io.env.ALA_OPA;
  if (fromEnv) return fromEnv;
  const pinned = join(packageRoot(), '.tools/bin/opa');
  return existsSync(pinned) ? pinned : 'opa';
}

function exec(
  file: string,
  args: string[],
  cwd: string,
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = execFile(file, args, { cwd, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = (error as { code?: unknown } | null)?.code;
      if (code === 'ENOENT') {
        fail(
          new CliError(
            `cannot run ${file}: not found. Install opa (the project pins it: bash scripts/tools.sh opa), ` +
              'or pass --opa <path> or set ALA_OPA',
            EXIT.usage,
          ),
        );
        return;
      }
      done({ code: typeof code === 'number' ? code : error ? 1 : 0, stdout, stderr });
    });
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

interface CoverageReport {
  readonly percent: number;
  readonly lines: number;
  readonly gaps: string[];
}

function coverageOf(json: string, root: string): CoverageReport {
  let report: {
    files?: Record<
      string,
      {
        covered_lines?: number;
        not_covered_lines?: number;
        not_covered?: { start: { row: number }; end: { row: number } }[];
      }
    >;
  };
  try {
    report = JSON.parse(json) as typeof report;
  } catch {
    throw new CliError('opa test --coverage printed no JSON report; run it by hand to see why');
  }
  let covered = 0;
  let uncovered = 0;
  const gaps: string[] = [];
  for (const [name, f] of Object.entries(report.files ?? {})) {
    if (name.endsWith('_test.rego')) continue;
    covered += f.covered_lines ?? 0;
    uncovered += f.not_covered_lines ?? 0;
    for (const r of f.not_covered ?? [])
      gaps.push(`${relative(root, resolve(name))}:${r.start.row}-${r.end.row}`);
  }
  const lines = covered + uncovered;
  return { percent: lines === 0 ? 0 : (100 * covered) / lines, lines, gaps };
}

interface RuleLocation {
  readonly file: string;
  readonly line: number;
  /** The `# title:` of the METADATA block above the rule, when there is one. */
  readonly title?: string;
}

/**
 * Where each reason code is written in the sources: a code is a string literal in a rule head or
 * body (`violations["cui_external_destination"]`, `lib.require_approval("prod_cui_export", …)`).
 */
function ruleIndex(root: string): Map<string, RuleLocation[]> {
  const index = new Map<string, RuleLocation[]>();
  for (const file of policyLayout(root).rego) {
    if (file.endsWith('_test.rego')) continue;
    const lines = readFileSync(file, 'utf8').split('\n');
    let title: string | undefined;
    lines.forEach((text, i) => {
      const heading = /^#\s*title:\s*(.+)$/.exec(text);
      if (heading) title = heading[1]?.trim();
      for (const match of text.matchAll(/"([a-z][a-z0-9_]*)"/g)) {
        const code = match[1] as string;
        const list = index.get(code) ?? [];
        list.push({ file, line: i + 1, ...(title !== undefined ? { title } : {}) });
        index.set(code, list);
      }
    });
  }
  return index;
}

function formatExplanation(
  decision: PolicyDecision,
  reasons: readonly { code: string; message: string; rules: readonly RuleLocation[] }[],
  sources: string,
  cwd: string,
  opaExplanation: string | undefined,
): string {
  const lines = [`outcome: ${decision.outcome}`];
  if (decision.approval) {
    lines.push(`approval: ${decision.approval.min_approvals} of ${decision.approval.groups.join(', ')}`);
  }
  lines.push('reasons:');
  for (const reason of reasons) {
    lines.push(`  - ${reason.code}: ${reason.message}`);
    if (reason.rules.length === 0) {
      lines.push(
        `      (no rule in ${relative(cwd, sources) || '.'} names this code; the gateway engine may have set it)`,
      );
    }
    for (const rule of reason.rules) {
      lines.push(
        `      from ${relative(cwd, rule.file)}:${rule.line}${rule.title ? ` (${rule.title})` : ''}`,
      );
    }
  }
  lines.push(`policy digest: ${decision.policyDigest}`, `input hash:    ${decision.inputHash}`);
  if (opaExplanation !== undefined) lines.push('', 'opa explanation:', opaExplanation.trimEnd());
  return lines.join('\n');
}

function formatReplay(
  summary: {
    candidateDigest: string;
    evaluated: number;
    unchanged: number;
    changed: number;
    inputMismatches: readonly string[];
    groups: readonly {
      change: string;
      count: number;
      examples: readonly { id: string; principal: string; action: string; resource: string }[];
    }[];
  },
  failures: readonly { rule: string; ids: readonly string[] }[],
  source: string,
): string {
  const lines = [
    `replayed ${summary.evaluated} request(s) from ${source} on candidate ${summary.candidateDigest}`,
    `  unchanged: ${summary.unchanged}`,
    `  changed:   ${summary.changed}`,
  ];
  for (const group of summary.groups) {
    lines.push(`  ${group.change.padEnd(36)} ${String(group.count).padStart(5)}`);
    for (const e of group.examples) lines.push(`      e.g. ${e.id} ${e.principal} ${e.action} ${e.resource}`);
  }
  if (summary.inputMismatches.length > 0) {
    lines.push(
      `  note: ${summary.inputMismatches.length} request(s) could not be rebuilt exactly (input hash differs), e.g. ${summary.inputMismatches[0]}`,
    );
  }
  for (const f of failures) lines.push(`fail-on ${f.rule}: ${f.ids.length} request(s) match`);
  return lines.join('\n');
}

function bundleDir(option: string | undefined, runtime: Runtime): string {
  return option ? resolve(runtime.io.cwd, option) : join(packageRoot(), 'policies/build');
}

/** Loads a bundle folder; with a key, verifies its signature first. Errors become CLI errors. */
async function loadBundle(dir: string, verificationKey: string | undefined) {
  const [{ loadTrustedPolicy }, { parseVerificationKey }, { PolicyLoadError }] = await Promise.all([
    import('../../policy/trusted.ts'),
    import('../../policy/signature.ts'),
    import('../../policy/errors.ts'),
  ]);
  try {
    const key =
      verificationKey === undefined
        ? undefined
        : parseVerificationKey(await readFileOrUsage(verificationKey), verificationKey);
    const trusted = await loadTrustedPolicy(
      { wasm: join(dir, 'policy.wasm'), data: join(dir, 'data.json') },
      // No key given: the signature is not checked (said on stderr); a key given: it must verify.
      { ...(key ? { key } : {}), demo: key === undefined },
      { logger: { error: () => undefined, warn: () => undefined } },
    );
    return trusted.evaluator;
  } catch (error) {
    if (error instanceof PolicyLoadError) throw new CliError(error.message);
    throw error;
  }
}

async function readFileOrUsage(path: string): Promise<string> {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

async function readStore(path: string) {
  if (!existsSync(path)) {
    throw new UsageError(
      `${path} does not exist; point --store at a gateway's gateway.db (in its data folder), or use --audit <events.jsonl>`,
    );
  }
  const [{ SqliteRequestStore }, { STATUSES }] = await Promise.all([
    import('../../adapters/sqlite/sqlite-store.ts'),
    import('../../core/model.ts'),
  ]);
  const store = new SqliteRequestStore({ path });
  try {
    const all = [];
    for (const status of STATUSES) {
      let cursor: string | undefined;
      do {
        const page = await store.listByStatus(status, { limit: 500, ...(cursor ? { cursor } : {}) });
        all.push(...page.items);
        cursor = page.cursor;
      } while (cursor);
    }
    return all;
  } finally {
    await store.close();
  }
}

/**
 * The policy input the gateway would evaluate for a file (`policy eval --offline`, `policy explain`):
 * the requester from `--as` or the file's `subject`, the time from `--now` or the file's `now`, the
 * body checked with the gateway's own schema (so its hash is the one the gateway would compute).
 */
export async function offlinePolicyInput(
  raw: Record<string, unknown>,
  options: { as?: string; now?: string },
  command = 'explain',
): Promise<PolicyInput> {
  const [{ ActionRequestBody }, lifecycle] = await Promise.all([
    import('../../http/schemas.ts'),
    import('../../core/lifecycle.ts'),
  ]);
  const { subject: fileSubject, now: fileNow, vouched, ...body } = raw;
  const principal =
    options.as ??
    (typeof fileSubject === 'object' && fileSubject !== null
      ? (fileSubject as { id?: unknown }).id
      : undefined);
  if (typeof principal !== 'string' || principal === '') {
    throw new UsageError(
      `${command} needs the requester: --as agent:<name>, or "subject": {"id": …} in the file`,
    );
  }
  const now = options.now ?? (typeof fileNow === 'string' ? fileNow : new Date().toISOString());
  if (Number.isNaN(Date.parse(now)))
    throw new UsageError(`--now must be an RFC 3339 time (got ${JSON.stringify(now)})`);
  const parsed = ActionRequestBody.safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((i) => `\n  ${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('');
    throw new UsageError(`the input is not a valid action request:${issues}`);
  }
  const input = parsed.data as Pick<PolicyInput, 'action' | 'resource' | 'context'>;
  return {
    subject: lifecycle.subjectOf(principal),
    ...input,
    now,
    ...(vouched !== undefined ? { vouched: vouched as PolicyInput['vouched'] & object } : {}),
  };
}
