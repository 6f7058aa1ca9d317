/** `ala audit show|verify`: read a request's hash chain, and prove it intact without trusting the gateway. */
import type { Command } from 'commander';
import { type ChainVerdict, verifyChain } from '../../core/audit.ts';
import { EXIT, UsageError } from '../errors.ts';
import { formatAudit, safe } from '../format.ts';
import { groupByRequest, parseEventLines, readText } from '../input.ts';
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
    .summary('verify audit chains: of a request on the gateway, or of an exported file (offline)')
    .description(
      'Verify the hash chain of one request fetched from the gateway, or, with --file, of every request\n' +
        'in a JSON Lines export (events, or CloudEvents envelopes around them), with no gateway at all.\n' +
        'Exit code 0 when every chain is intact, 1 when any is broken.',
    )
    .argument('[id]', 'action request id (ar_…) to fetch and verify')
    .option('--file <path>', 'JSON Lines file of audit events to verify offline (- for stdin)')
    .action(
      run(runtime, async (id: string | undefined, options: { file?: string }) => {
        if ((id === undefined) === (options.file === undefined)) {
          throw new UsageError('give either a request id or --file <events.jsonl>, not both');
        }
        const reports: ChainReport[] = [];
        if (options.file !== undefined) {
          const text = await readText(options.file, runtime.io);
          const events = parseEventLines(text, options.file);
          if (events.length === 0) throw new UsageError(`${options.file} holds no audit events`);
          for (const [requestId, chain] of groupByRequest(events)) {
            reports.push({ request_id: requestId, verdict: verifyChain(chain) });
          }
        } else if (id !== undefined) {
          const view = await runtime.client().audit(id);
          // Verified here, from the raw events: the gateway's own verdict is not evidence.
          const verdict = verifyChain(view.events, { requestId: id });
          reports.push({ request_id: id, verdict });
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
}
