/**
 * The approvers' channels on AWS (Slack, Teams, webhook), built once per cold start from the
 * function's environment and secrets. A channel that is not configured is simply absent.
 */
import type { ApprovalNotifier } from '../core/ports/notifier.port.ts';
import type { Logger } from '../observability/logger.ts';
import { chatNotifiersFromEnv } from './chat.ts';
import { teamsFromEnv } from './teams.ts';

export async function notifiersFromEnv(logger: Logger): Promise<ApprovalNotifier[]> {
  const notifiers: ApprovalNotifier[] = [...(await chatNotifiersFromEnv(logger))];
  const teams = await teamsFromEnv(logger);
  if (teams) notifiers.push(teams.notifier);
  return notifiers;
}
