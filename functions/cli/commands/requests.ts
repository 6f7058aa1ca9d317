/** The request lifecycle: submit, watch, review, redeem, report, cancel. */
import { Argument, type Command, Option } from 'commander';
import type { ActionRequestView, ApprovalsClient } from '../../../client/index.ts';
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT } from '../../core/paging.ts';
import { CliError, EXIT } from '../errors.ts';
import {
  clock,
  describeWait,
  formatCredentialsEnv,
  formatGrant,
  formatRequest,
  formatRequestLine,
  safe,
} from '../format.ts';
import { buildRequest, collect, parseCount, parseSeconds, type RequestFlags } from '../input.ts';
import { type Runtime, run } from '../runtime.ts';

interface ReviewFlags {
  readonly comment?: string;
  readonly actionHash?: string;
  readonly onlyAction?: string[];
  readonly onlyResource?: string[];
  readonly window?: number;
}

/** The `narrow_to` of an approval from --only-action, --only-resource and --window; none without them. */
function narrowToOf(
  options: ReviewFlags,
): { actions?: string[]; resources?: string[]; window_seconds?: number } | undefined {
  const narrowTo = {
    ...(options.onlyAction ? { actions: options.onlyAction } : {}),
    ...(options.onlyResource ? { resources: options.onlyResource } : {}),
    ...(options.window !== undefined ? { window_seconds: options.window } : {}),
  };
  return Object.keys(narrowTo).length > 0 ? narrowTo : undefined;
}

function waitOption(): Option {
  return new Option(
    '--wait <seconds>',
    'wait up to this many seconds for a human decision (any length)',
  ).argParser((value: string) => parseSeconds(value, '--wait'));
}

/**
 * Waits for a decision and says on stderr what it waits for (approvals, groups, deadlines): a
 * self-rewriting line on a terminal, a plain line per change in a pipe; stdout is left alone.
 */
async function waitWithProgress(
  runtime: Runtime,
  client: ApprovalsClient,
  view: ActionRequestView,
  seconds: number,
): Promise<ActionRequestView> {
  if (view.status !== 'pending' || seconds <= 0) return view;
  const waitEnds = new Date(Date.now() + seconds * 1000);
  const progress = runtime.progress();
  progress.start(describeWait(view, waitEnds));
  try {
    return await client.waitForDecision(view.id, {
      timeoutMs: seconds * 1000,
      onUpdate: (v) => {
        if (v.status === 'pending') progress.update(describeWait(v, waitEnds));
      },
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
        'Exit code 0 when approved or accepted as pending, 1 when denied (or rejected, expired or\n' +
        'cancelled with --wait), 3 when still pending after --wait. Gate a script on approval only with --wait.\n' +
        'With --wait, a pending request is printed at once (its id first), then again when the wait ends;\n' +
        'with --json, as JSON Lines: one line as submitted, one as it ended. What the wait waits for\n' +
        '(approvals, groups, deadline) goes to stderr.',
    )
    .argument('[file]', 'JSON body {action, resource, context}, or - for standard input')
    .option('--action <name>', 'action name, e.g. data.export')
    .option('--resource-type <type>', 'resource type, e.g. aws:s3:bucket')
    .option('--resource-id <id>', 'resource id, e.g. an ARN')
    .option('--arg <key=value>', 'action argument; key:=<json> for non-strings (repeatable)', collect)
    .option('--prop <key=value>', 'resource property; key:=<json> for non-strings (repeatable)', collect)
    .option('--justification <text>', 'why the action is needed')
    .option('--on-behalf-of <principal>', 'the human the request is made for, e.g. user:alice@example.gov')
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
          const waits = options.wait !== undefined;
          if (waits && submitted.status === 'pending' && wait > 0) {
            // The id at once, so a script reading a pipe can log, follow or cancel it during the wait.
            runtime.print(runtime.json ? JSON.stringify(submitted) : formatRequestLine(submitted));
          }
          const view = await waitWithProgress(runtime, client, submitted, wait);
          if (waits && runtime.json) runtime.print(JSON.stringify(view));
          else runtime.emit(view, () => formatRequest(view, { message: true }));
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
      "Show a request's status; with --wait, wait for it to leave pending first (what it waits for goes\n" +
        'to stderr). Exits 0 when shown, whatever the status.',
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
    .description(
      'List the pending requests you may vote on, oldest first. Requests you already voted on are left\n' +
        'out (your vote stands and cannot be changed); --all lists them too, marked.',
    )
    .option(
      '--limit <n>',
      `list at most this many (1-${MAX_PAGE_LIMIT}, default ${DEFAULT_PAGE_LIMIT})`,
      (value: string) => parseCount(value, '--limit', 1, MAX_PAGE_LIMIT),
    )
    .option('--cursor <cursor>', 'continue a listing where an earlier one stopped (it prints the cursor)')
    .option('--all', 'include requests you already voted on')
    .action(
      run(runtime, async (options: { limit?: number; cursor?: string; all?: boolean }) => {
        const client = runtime.client();
        const limit = options.limit ?? DEFAULT_PAGE_LIMIT;
        // The gateway leaves out requests the caller voted on unless asked (include_voted); only
        // --all needs the caller's principal, to mark them.
        const [page, me] = await Promise.all([
          client.pendingPage({
            limit,
            ...(options.cursor !== undefined ? { cursor: options.cursor } : {}),
            includeVoted: options.all === true,
          }),
          options.all ? client.whoami() : undefined,
        ]);
        const { items, cursor } = page;
        const myVote = (view: ActionRequestView) =>
          me ? view.approval?.votes.find((vote) => vote.approver === me.principal) : undefined;
        runtime.emit({ items, count: items.length, ...(cursor ? { cursor } : {}) }, () =>
          items.length === 0
            ? 'Nothing is waiting for your review.'
            : items
                .map((view) => {
                  const vote = myVote(view);
                  return formatRequestLine(view, vote ? `you voted ${vote.decision}` : undefined);
                })
                .join('\n'),
        );
        if (cursor) {
          runtime.note(`(more may follow: ala pending${options.all ? ' --all' : ''} --cursor ${cursor})`);
        } else if (items.length === 0 && !options.all) {
          runtime.note('(requests you already voted on are not listed; ala pending --all lists them)');
        }
        return EXIT.ok;
      }),
    );

  const review = (decision: 'approve' | 'reject') =>
    run(runtime, async (id: string, options: ReviewFlags) => {
      const narrowTo = narrowToOf(options);
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
        if (narrowTo) {
          const asked = view.grant;
          runtime.print(
            `Only: ${(narrowTo.actions ?? asked?.actions ?? []).map(safe).join(', ')} on ${(narrowTo.resources ?? asked?.resources ?? []).map(safe).join(', ')}, for ${narrowTo.window_seconds ?? asked?.window_seconds ?? '?'} s`,
          );
        }
        runtime.print('');
      }
      const decided = await client.decide(id, {
        decision,
        actionHash: options.actionHash ?? view.action_hash,
        ...(options.comment !== undefined ? { comment: options.comment } : {}),
        ...(narrowTo ? { narrowTo } : {}),
      });
      const progress = decided.approval
        ? ` (${decided.approval.received} of ${decided.approval.required} approvals)`
        : '';
      const vote = decided.vote;
      if (vote && !vote.recorded) {
        // The gateway answers a repeated vote with the one on record and records nothing new.
        runtime.emit(
          decided,
          () =>
            `Nothing new was recorded: you had already voted to ${vote.decision} ${decided.id} at ${clock(vote.time)} via ${safe(vote.channel)}, and that vote stands. It is ${decided.status}${progress}.`,
        );
        return EXIT.unchanged;
      }
      const narrowed = vote?.terms ? ` narrower (terms ${vote.terms.terms_hash})` : '';
      const granted = decided.narrowed
        ? ` The grant carries only ${decided.narrowed.terms.actions.map(safe).join(', ')} on ${decided.narrowed.terms.resources.map(safe).join(', ')}, for ${decided.narrowed.terms.window_seconds} s.`
        : '';
      runtime.emit(
        decided,
        () =>
          `${decision === 'approve' ? `Approved${narrowed}` : 'Rejected'}: ${decided.id} is now ${decided.status}${progress}.${granted}`,
      );
      return EXIT.ok;
    });

  program
    .command('approve')
    .summary('approve a pending request')
    .description(
      'Fetch the request, show exactly what is being approved, and vote for it with its action hash.\n' +
        'With --action-hash, the vote is refused if the request is not the one you reviewed.\n' +
        'With --only-action, --only-resource or --window, approve less than was asked: the policy\n' +
        're-evaluates the narrowed terms, and the vote counts only toward them; the grant then\n' +
        'carries only them. A term that was not asked for is refused (400).\n' +
        'Exit code 0 when your vote was recorded; 2 when a narrowed term was not asked for (400);\n' +
        '4 when you had approved already (nothing new was\n' +
        'recorded; your vote stands); 1 when refused, e.g. you rejected it already (409 vote_already_cast).',
    )
    .argument('<id>', 'action request id (ar_…)')
    .option('--comment <text>', 'note for the audit trail')
    .option('--action-hash <hash>', 'the action hash you reviewed (sha256:…)')
    .option('--only-action <action>', "approve only this of the grant's actions (repeatable)", collect)
    .option(
      '--only-resource <arn>',
      "approve only this of the grant's resources, or a resource one of its wildcards covers (repeatable)",
      collect,
    )
    .addOption(
      new Option('--window <seconds>', 'approve a shorter window than asked').argParser((value: string) =>
        parseCount(value, '--window', 1, 9_999_999),
      ),
    )
    .action(review('approve'));

  program
    .command('reject')
    .summary('reject a pending request (a comment is required)')
    .description(
      'Reject a pending request; any rejection ends it. The comment is shown to the agent.\n' +
        'Exit code 0 when your vote was recorded; 4 when you had rejected already (nothing new was\n' +
        'recorded); 1 when refused, e.g. you approved it already (409 vote_already_cast).',
    )
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
