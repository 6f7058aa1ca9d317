/** `ala audit show|verify|export`: read a request's hash chain, prove chains and archives intact and complete without trusting the gateway, export the local log. */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import { type ChainVerdict, verifyChain } from '../../core/audit.ts';
import { type ArchiveReport, ArchiveVerifier, type HeadExpectation } from '../../core/audit-archive.ts';
import { CliError, EXIT, type ExitCode, UsageError } from '../errors.ts';
import { formatAudit, safe } from '../format.ts';
import { groupByRequest, parseCount, parseEventLines, readText } from '../input.ts';
import { type Runtime, run } from '../runtime.ts';

interface ChainReport {
  readonly request_id: string;
  readonly verdict: ChainVerdict;
}

function describeVerdict({ request_id, verdict }: ChainReport): string {
  if (verdict.ok) return `✓ ${safe(request_id)}: ${verdict.count} events, chain intact, head ${verdict.head}`;
  return [
    `✗ ${safe(request_id)}: chain broken`,
    ...verdict.problems.map((p) => `    seq ${p.seq}  ${p.code}  ${safe(p.message)}`),
  ].join('\n');
}

export function registerAuditCommands(program: Command, runtime: Runtime): void {
  const audit = program
    .command('audit')
    .summary("read and verify requests' audit trails")
    .description(
      "Read a request's hash-chained audit events, or verify chains locally: each event's hash is\n" +
        'recomputed as "sha256:" + hex(sha256(prev_hash + "\\n" + JCS(event without hash))), so a\n' +
        'tampered, missing or reordered event is found without trusting the gateway.',
    );

  audit
    .command('show')
    .summary("print a request's audit events")
    .argument('<id>', 'action request id (ar_…)')
    .option('--jsonl', 'print the events as JSON Lines, e.g. to keep and `audit verify --file` later')
    .action(
      run(runtime, async (id: string, options: { jsonl?: boolean }) => {
        const view = await runtime.client().audit(id);
        if (options.jsonl) {
          for (const event of view.events) runtime.print(JSON.stringify(event));
          return EXIT.ok;
        }
        runtime.emit(view, () => formatAudit(view));
        return EXIT.ok;
      }),
    );

  audit
    .command('verify')
    .summary('verify audit chains: of a request on the gateway, of an exported file, or of a whole archive')
    .description(
      'Verify the hash chain of one request fetched from the gateway (against the head its request\n' +
        'record keeps), or, with --file, of every request in a JSON Lines export, or, with --archive,\n' +
        'of every request in an audit archive (s3://bucket/prefix, or a local folder from `audit export`\n' +
        'or a copy of the bucket): each chain is rebuilt and checked against the checkpoints, so a\n' +
        'modified, deleted, reordered or forged event, a deleted tail and a deleted object are found.\n' +
        '--expect-head/--expect-seq hold a request to a head kept elsewhere (a ticket, an earlier run).\n' +
        'Exit code 0 when everything verifies, 1 on any problem.',
    )
    .argument('[id]', 'action request id (ar_…): fetch and verify it, or only it within --archive')
    .option('--file <path>', 'JSON Lines file of audit events to verify offline (- for stdin)')
    .option('--archive <location>', 'audit archive to verify: s3://bucket[/prefix] or a local folder')
    .option('--expect-head <hash>', 'the chain must end with this hash (sha256:…); needs an id')
    .option('--expect-seq <n>', 'the chain must end at this seq; needs an id')
    .action(
      run(runtime, async (id: string | undefined, options: VerifyOptions) => {
        const sources = [options.file, options.archive].filter((s) => s !== undefined).length;
        if (sources > 1) throw new UsageError('give --file or --archive, not both');
        const expectation = parseExpectation(options);
        if (expectation && id === undefined) {
          throw new UsageError('--expect-head and --expect-seq apply to one request: give its id too');
        }
        if (options.archive !== undefined) return verifyArchive(runtime, options.archive, id, expectation);
        if ((id === undefined) === (options.file === undefined)) {
          throw new UsageError('give a request id, --file <events.jsonl> or --archive <location>');
        }
        const reports: ChainReport[] = [];
        if (options.file !== undefined) {
          if (expectation)
            throw new UsageError(
              '--expect-head/--expect-seq work with a request id or --archive, not --file',
            );
          const text = await readText(options.file, runtime.io);
          const events = parseEventLines(text, options.file);
          if (events.length === 0) throw new UsageError(`${options.file} holds no audit events`);
          for (const [requestId, chain] of groupByRequest(events)) {
            reports.push({ request_id: requestId, verdict: verifyChain(chain) });
          }
        } else if (id !== undefined) {
          const view = await runtime.client().audit(id);
          // Verified here, from the raw events: the gateway's own verdict is not evidence. Events
          // are read after the record, so the chain must pass through the recorded head; an
          // expectation from elsewhere must be where it ends.
          const recorded = view.recorded_head;
          let verdict = verifyChain(view.events, {
            requestId: id,
            ...(recorded ? { knownHead: recorded } : {}),
          });
          if (expectation) verdict = checkExpectation(verdict, view.events, expectation);
          reports.push({ request_id: id, verdict });
          if (!recorded) {
            runtime.note(
              'note: this gateway does not report the recorded head; a deleted tail cannot be detected online',
            );
          }
          if (view.verification.ok !== verdict.ok) {
            runtime.note(
              `note: the gateway reported the chain as ${view.verification.ok ? 'intact' : 'broken'}; the local check above is authoritative`,
            );
          }
        }
        const ok = reports.every((r) => r.verdict.ok);
        runtime.emit({ ok, chains: reports.map((r) => ({ request_id: r.request_id, ...r.verdict })) }, () =>
          [
            ...reports.map(describeVerdict),
            ...(reports.length > 1
              ? [`${reports.filter((r) => r.verdict.ok).length} of ${reports.length} chains intact`]
              : []),
          ].join('\n'),
        );
        return ok ? EXIT.ok : EXIT.failed;
      }),
    );

  audit
    .command('export')
    .summary("export the local gateway's audit log to the archive layout (for audit verify --archive)")
    .description(
      "Write every audit event of the local gateway's SQLite database as CloudEvents JSON Lines objects\n" +
        'with checkpoints, in the same layout the AWS archiver writes to its Object Lock bucket, into a\n' +
        'new (or empty) folder. Each chain is checkpointed with the head its request record keeps.',
    )
    .requiredOption('--out <folder>', 'folder to write events/ and checkpoints/ into (must be new or empty)')
    .option('--db <file>', "the gateway's SQLite database", '.ala/gateway.db')
    .action(
      run(runtime, async (options: { out: string; db: string }) => {
        const out = resolve(runtime.io.cwd, options.out);
        const db = resolve(runtime.io.cwd, options.db);
        if (existsSync(out) && readdirSync(out).length > 0) {
          throw new UsageError(
            `${out} is not empty: export into a new or empty folder, so nothing is mixed or overwritten`,
          );
        }
        if (!existsSync(db))
          throw new UsageError(
            `no database at ${db}: pass --db <file> (the gateway keeps <dataDir>/gateway.db)`,
          );
        const { exportSqliteAudit } = await import('../../adapters/sqlite/audit-export.ts');
        let objects = 0;
        let checkpoints = 0;
        let events = 0;
        try {
          for (const object of exportSqliteAudit(db)) {
            const file = join(out, ...object.key.split('/'));
            await mkdir(dirname(file), { recursive: true });
            await writeFile(file, object.text, { flag: 'wx' });
            if (object.kind === 'events') {
              objects += 1;
              events += object.text.split('\n').length - 1;
            } else checkpoints += 1;
          }
        } catch (error) {
          if (error instanceof Error && /gateway/.test(error.message)) throw new UsageError(error.message);
          throw error;
        }
        runtime.emit(
          { out, objects, checkpoints, events },
          () =>
            `exported ${events} events in ${objects} objects with ${checkpoints} checkpoints to ${out}\nverify with: ala audit verify --archive ${out}`,
        );
        return EXIT.ok;
      }),
    );
}

interface VerifyOptions {
  readonly file?: string;
  readonly archive?: string;
  readonly expectHead?: string;
  readonly expectSeq?: string;
}

function parseExpectation(options: VerifyOptions): HeadExpectation | undefined {
  if (options.expectHead === undefined && options.expectSeq === undefined) return undefined;
  if (options.expectHead !== undefined && !/^sha256:[0-9a-f]{64}$/.test(options.expectHead)) {
    throw new UsageError(
      `--expect-head expects sha256: and 64 lowercase hex digits (got ${JSON.stringify(options.expectHead)})`,
    );
  }
  return {
    ...(options.expectHead !== undefined ? { hash: options.expectHead } : {}),
    ...(options.expectSeq !== undefined
      ? { seq: parseCount(options.expectSeq, '--expect-seq', 1, 9_999_999) }
      : {}),
  };
}

/** Adds a head_mismatch when the chain does not end where the auditor expects. */
function checkExpectation(
  verdict: ChainVerdict,
  events: readonly { seq: number; hash: string }[],
  expected: HeadExpectation,
): ChainVerdict {
  const last = events[events.length - 1];
  const problems = verdict.ok ? [] : [...verdict.problems];
  const lastSeq = last?.seq ?? 0;
  if (expected.seq !== undefined && expected.seq !== lastSeq) {
    problems.push({
      seq: Math.min(lastSeq, expected.seq) + 1,
      code: 'head_mismatch',
      message: `expected the chain to end at seq ${expected.seq}, but it ends at seq ${lastSeq}`,
    });
  }
  if (expected.hash !== undefined && expected.hash !== last?.hash) {
    problems.push({
      seq: lastSeq,
      code: 'head_mismatch',
      message: `expected the head ${expected.hash}, but the chain ends with ${last?.hash ?? '(no event)'}`,
    });
  }
  return problems.length === 0 ? verdict : { ok: false, problems };
}

/** Reads an archive (S3 or a folder) into the verifier, with progress, and reports per request. */
async function verifyArchive(
  runtime: Runtime,
  location: string,
  only: string | undefined,
  expectation: HeadExpectation | undefined,
): Promise<ExitCode> {
  const verifier = new ArchiveVerifier();
  const progress = runtime.progress();
  let read = 0;
  const add = (kind: 'events' | 'checkpoint', object: { key: string; text: string }): void => {
    if (kind === 'checkpoint') verifier.addCheckpoint(object.key, object.text);
    else verifier.addObject(object.key, object.text);
    read += 1;
    if (read % 200 === 0) progress.update(`read ${read} objects of ${location}…`);
  };
  progress.start(`reading ${location}…`);
  try {
    if (location.startsWith('s3://')) {
      const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(location);
      if (!match?.[1])
        throw new UsageError(`${location} is not an S3 location: write s3://bucket or s3://bucket/prefix`);
      const prefix = match[2] ? (match[2].endsWith('/') ? match[2] : `${match[2]}/`) : '';
      const { createS3Client, readS3Archive } = await import('../../adapters/aws/s3-audit-archive.ts');
      const endpoint = runtime.io.env.AWS_ENDPOINT_URL_S3 ?? runtime.io.env.AWS_ENDPOINT_URL;
      // A custom endpoint (an emulator, a gateway) rarely serves virtual-hosted bucket names.
      const client = createS3Client(endpoint ? { forcePathStyle: true } : {});
      try {
        await readS3Archive(client, match[1], prefix, add);
      } finally {
        client.destroy();
      }
    } else {
      const root = resolve(runtime.io.cwd, location);
      if (!existsSync(root)) throw new UsageError(`no archive folder at ${root}`);
      for (const folder of ['events', 'checkpoints'] as const) {
        const base = join(root, folder);
        if (!existsSync(base)) continue;
        for (const entry of await readdir(base, { recursive: true, withFileTypes: true })) {
          if (!entry.isFile()) continue;
          const file = join(entry.parentPath, entry.name);
          const key = relative(root, file).split(sep).join('/');
          add(folder === 'events' ? 'events' : 'checkpoint', { key, text: await readFile(file, 'utf8') });
        }
      }
    }
    progress.update(`verifying ${read} objects…`);
    const report = verifier.report({
      ...(only !== undefined ? { only: new Set([only]) } : {}),
      ...(only !== undefined && expectation ? { expect: new Map([[only, expectation]]) } : {}),
    });
    progress.stop();
    if (read === 0)
      throw new UsageError(
        `${location} holds no archive objects (events/ and checkpoints/ are empty or missing)`,
      );
    if (only !== undefined && report.requests.length === 0) {
      throw new CliError(`${only} is not in the archive at ${location}`);
    }
    runtime.emit(report, () => describeArchive(report));
    return report.ok ? EXIT.ok : EXIT.failed;
  } finally {
    progress.stop();
  }
}

function describeArchive(report: ArchiveReport): string {
  const lines: string[] = [];
  for (const r of report.requests) {
    if (r.status === 'complete') {
      lines.push(`✓ ${safe(r.request_id)}: complete, ${r.count} events, head seq ${r.head?.seq ?? 0}`);
      continue;
    }
    const label = r.status === 'missing_events' ? 'missing events' : 'broken';
    lines.push(`✗ ${safe(r.request_id)}: ${label} at seq ${r.first_bad_seq ?? '?'}`);
    for (const p of r.problems) lines.push(`    seq ${p.seq ?? '-'}  ${p.code}  ${safe(p.message)}`);
  }
  for (const p of report.problems) lines.push(`✗ ${safe(p.key ?? 'archive')}: ${p.code}  ${safe(p.message)}`);
  const complete = report.requests.filter((r) => r.status === 'complete').length;
  lines.push(
    `${complete} of ${report.requests.length} requests complete; ${report.events} events in ${report.objects} objects, ${report.checkpoints} checkpoints` +
      (report.duplicates > 0
        ? `, ${report.duplicates} identical copies of events (redelivered, harmless)`
        : '') +
      (report.problems.length > 0 ? `; ${report.problems.length} archive problems` : ''),
    `digest of the verified heads: ${report.digest}`,
  );
  return lines.join('\n');
}
