/** `ala whoami`: who the gateway takes you to be, and why you may or may not vote on a request. */
import type { Command } from 'commander';
import { EXIT } from '../errors.ts';
import { formatWhoami } from '../format.ts';
import { type Runtime, run } from '../runtime.ts';

export function registerWhoamiCommand(program: Command, runtime: Runtime): void {
  program
    .command('whoami')
    .summary('show who the gateway takes you to be')
    .description(
      'Show your principal id as the gateway sees it, its type, how you authenticated, the groups of the\n' +
        'policy data you are in and whether you are an auditor. With --request, also whether you may vote\n' +
        'on that request now, and if not, why (not in its approving groups, its requester or the person it\n' +
        'acts for, excluded, voted already, no longer pending). Exits 0 when shown.',
    )
    .option('--request <id>', 'action request id (ar_…): may I vote on it?')
    .action(
      run(runtime, async (options: { request?: string }) => {
        const view = await runtime
          .client()
          .whoami(options.request !== undefined ? { requestId: options.request } : {});
        runtime.emit(view, () => formatWhoami(view));
        return EXIT.ok;
      }),
    );
}
