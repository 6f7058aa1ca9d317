/** The request lifecycle: submit, watch, review, redeem, report, cancel. */
import { Argument, type Command, Option } from 'commander';
import type { ActionRequestView, ApprovalsClient } from '../../../client/index.ts';
import { CliError, EXIT } from '../errors.ts';
import { formatCredentialsEnv, formatGrant, formatRequest, formatRequestLine, safe } from '../format.ts';
import { buildRequest, collect, parseCount, parseSeconds, type RequestFlags } from '../input.ts';
import { type Runtime, run } from '../runtime.ts';

function waitOption(): Option {
  return new Option(
    '--wait <seconds>',
    'wait up to this many seconds for a human decision (any length)',
  ).argParser((value: string) => parseSeconds(value, '--wait'));
}

/** Waits for a decision, with a progress line on a terminal. */
async function waitWithProgress(
  runtime: Runtime,
  client: ApprovalsClient,
  view: ActionRequestView,
  seconds: number,
): Promise<ActionRequestView> {
  if (view.status !== 'pending' || seconds <= 0) return view;
  const progress = runtime.progress();
  const describe = (v: ActionRequestView) =>
    `waiting for a decision on ${v.id}${v.approval ? ` (${v.approval.received} of ${v.approval.required} approvals)` : ''}`;
  progress.start(describe(view));
  try {
    return await client.waitForDecision(view.id, {
      timeoutMs: seconds * 1000,
      onUpdate: (v) => progress.update(describe(v)),
    });
  } finally {
    progress.stop();
  }
}

export function registerRequestCommands(program: Command, runtime: Runtime): void {
  program
    .command('request')
    .summary('submit an action request')
    .description(
      'Submit an action request from a JSON file (- for stdin) and/or flags; flags override the file.\n' +
        'Exit code 0 when approved or accepted as pending, 1 when denied (or rejected/expired with --wait),\n' +
        '3 when still pending after --wait. Gate a script on approval only with --wait.',
    )
    .argument('[file]', 'JSON body {action, resource, context}, or - for standard input')
    .option('--action <name>', 'action name, e.g. data.export')
    .option('--resource-type <type>', 'resource type, e.g. aws:s3:bucket')
    .option('--resource-id <id>', 'resource id, e.g. an ARN')
    .option('--arg <key=value>', 'action argument; key:=<json> for non-strings (repeatable)', collect)
    .option('--prop <key=value>', 'resource property; key:=<json> for non-strings (repeatable)', collect)
    .option('--justification <text>', 'why the action is needed')
    .option('--on-behalf-of <principal>', 'the human the request is made for, e.g. user:alice@agency.gov')
    .option('--ticket <id>', 'change or ticket reference')
    .option('--idempotency-key <key>', 'repeat-safe key; the same key returns the same request')
    .addOption(waitOption())
    .action(
      run(
        runtime,
        async (
          file: string | undefined,
          options: RequestFlags & { idempotencyKey?: string; wait?: number },
        ) => {
          const input = await buildRequest(file, options, runtime.io);
          const client = runtime.client();
          const wait = options.wait ?? 0;
          const submitted = await client.request(input, {
            ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
          });
          const view = await waitWithProgress(runtime, client, submitted, wait);
          runtime.emit(view, () => formatRequest(view, { message: true }));
          if (view.status === 'approved') return EXIT.ok;
          if (view.status === 'pending') {
            if (options.wait === undefined) {
              runtime.note(`waiting for approval; follow it with: ala status ${view.id} --wait 600`);
              return EXIT.ok;
            }
            runtime.note(`still pending after ${wait}s; nothing was executed`);
            return EXIT.pending;
          }
          return EXIT.failed;
        },
      ),
    );

  program
    .command('status')
    .summary("show a request's status")
    .description(
      "Show a request's status; with --wait, wait for it to leave pending first. Exits 0 when shown.",
    )
    .argument('<id>', 'action request id (ar_…)')
    .addOption(waitOption())
    .action(
      run(runtime, async (id: string, options: { wait?: number }) => {
        const client = runtime.client();
        const view = await waitWithProgress(runtime, client, await client.get(id), options.wait ?? 0);
        runtime.emit(view, () => formatRequest(view, { message: true }));
        return EXIT.ok;
      }),
    );

  program
    .command('pending')
    .summary('list the requests you may review')
    .option('--limit <n>', 'at most this many (1-500)', (value: string) =>
      parseCount(value, '--limit', 1, 500),
    )
    .action(
      run(runtime, async (options: { limit?: number }) => {
        const items = await runtime
          .client()
          .pending(options.limit !== undefined ? { limit: options.limit } : {});
        runtime.emit({ items, count: items.length }, () =>
          items.length === 0
            ? 'Nothing is waiting for your review.'
            : items.map(formatRequestLine).join('\n'),
        );
        return EXIT.ok;
      }),
    );

  const review = (decision: 'approve' | 'reject') =>
    run(runtime, async (id: string, options: { comment?: string; actionHash?: string }) => {
      const client = runtime.client();
      const view = await client.get(id);
      if (view.status !== 'pending') {
        throw new CliError(
          `${safe(id)} is ${view.status}; only pending requests can be reviewed`,
          EXIT.failed,
        );
      }
      if (options.actionHash !== undefined && options.actionHash !== view.action_hash) {
        throw new CliError(
          `${safe(id)} has action hash ${view.action_hash}, not the ${safe(options.actionHash)} you reviewed; review it again`,
        );
      }
      if (!runtime.json) {
        runtime.print(`You are ${decision === 'approve' ? 'approving' : 'rejecting'}:`);
        runtime.print(formatRequest(view));
        runtime.print('');
      }
      const decided = await client.decide(id, {
        decision,
        actionHash: options.actionHash ?? view.action_hash,
        ...(options.comment !== undefined ? { comment: options.comment } : {}),
      });
      runtime.emit(decided, () => {
        const progress = decided.approval
          ? ` (${decided.approval.received} of ${decided.approval.required} approvals)`
          : '';
        return `${decision === 'approve' ? 'Approved' : 'Rejected'}: ${decided.id} is now ${decided.status}${progress}.`;
      });
      return EXIT.ok;
    });

  program
    .command('approve')
    .summary('approve a pending request')
    .description(
      'Fetch the request, show exactly what is being approved, and vote for it with its action hash.\n' +
        'With --action-hash, the vote is refused if the request is not the one you reviewed.',
    )
    .argument('<id>', 'action request id (ar_…)')
    .option('--comment <text>', 'note for the audit trail')
    .option('--action-hash <hash>', 'the action hash you reviewed (sha256:…)')
    .action(review('approve'));

  program
    .command('reject')
    .summary('reject a pending request (a comment is required)')
    .description('Reject a pending request; any rejection ends it. The comment is shown to the agent.')
    .argument('<id>', 'action request id (ar_…)')
    .requiredOption('--comment <text>', 'why; the agent and the audit trail see it')
    .option('--action-hash <hash>', 'the action hash you reviewed (sha256:…)')
    .action(review('reject'));

  program
    .command('cancel')
    .summary('cancel your pending request')
    .argument('<id>', 'action request id (ar_…)')
    .option('--reason <text>', 'why, for the audit trail')
    .action(
      run(runtime, async (id: string, options: { reason?: string }) => {
        const view = await runtime.client().cancel(id, options.reason);
        runtime.emit(view, () => `Cancelled ${view.id}.`);
        return EXIT.ok;
      }),
    );

  program
    .command('redeem')
    .summary("redeem an approved request's one-shot grant")
    .description(
      'Redeem the grant of an approved request. It works once: the credentials are shown now and never\n' +
        'again, and are not stored anywhere. With --env, print only shell export lines:\n' +
        '  eval "$(ala redeem ar_… --env)"',
    )
    .argument('<id>', 'action request id (ar_…)')
    .option('--env', 'print AWS_* export lines for eval, nothing else')
    .action(
      run(runtime, async (id: string, options: { env?: boolean }) => {
        const grant = await runtime.client().redeem(id);
        if (options.env && !runtime.json) {
          if (!grant.credentials)
            runtime.io.stderr.write(`grant of ${id} is ${grant.grant.type}: no credentials\n`);
          else runtime.print(formatCredentialsEnv(grant));
          return EXIT.ok;
        }
        runtime.emit(grant, () => formatGrant(grant));
        if (grant.credentials)
          runtime.note('These credentials are shown once and stored nowhere; keep them secret.');
        return EXIT.ok;
      }),
    );

  program
    .command('outcome')
    .summary('report how an approved action went')
    .argument('<id>', 'action request id (ar_…)')
    .addArgument(new Argument('<status>', 'how it went').choices(['succeeded', 'failed']))
    .option('--detail <text>', 'what happened, for the audit trail')
    .action(
      run(runtime, async (id: string, status: 'succeeded' | 'failed', options: { detail?: string }) => {
        const view = await runtime.client().reportOutcome(id, status, options.detail);
        runtime.emit(view, () => `Recorded outcome ${status} for ${view.id}.`);
        return EXIT.ok;
      }),
    );
}
