/** CLI exit codes and the one place where errors become messages and exit codes. */
import { ApprovalsApiError, ApprovalsNetworkError } from '../../client/index.ts';
import { safe } from './format.ts';

export const EXIT = {
  /** Done; for `request --wait`, approved. */
  ok: 0,
  /** The gateway refused or the operation failed: denied, rejected, expired, 401/403/404/409, unreachable, broken chain. */
  failed: 1,
  /** Usage or input error: unknown option, missing argument, unreadable or invalid file, 400/413/415. */
  usage: 2,
  /** `request --wait N`: still pending when the wait ran out. */
  pending: 3,
  /** `approve`/`reject`: you had cast the same vote before; nothing new was recorded. */
  unchanged: 4,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the CLI explains itself; `exitCode` says which kind. */
export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode = EXIT.failed) {
    super(message);
    this.exitCode = exitCode;
  }
}

export class UsageError extends CliError {
  override name = 'UsageError';
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

export interface ErrorReport {
  readonly exitCode: ExitCode;
  /** For humans, on stderr. */
  readonly message: string;
  /** For `--json`, on stderr. */
  readonly json: Record<string, unknown>;
}

/** Explains an error in terms of what to do next. Never includes a token. */
export function describeError(error: unknown, context: { url: string; tokenGiven: boolean }): ErrorReport {
  if (error instanceof CliError) {
    return {
      exitCode: error.exitCode,
      message: error.message,
      json: { error: 'cli_error', message: error.message },
    };
  }
  if (error instanceof ApprovalsNetworkError) {
    const hint =
      error.code === 'connection_refused'
        ? `is the gateway running? start it with npm start (or ala serve), or point --url / ALA_URL at it`
        : error.code === 'timeout'
          ? 'the gateway did not answer in time; check it is healthy (GET /healthz) and retry'
          : `check --url / ALA_URL (now ${context.url})`;
    const message = `${error.message}: ${hint}`;
    return { exitCode: EXIT.failed, message, json: { error: error.code, message } };
  }
  if (error instanceof ApprovalsApiError) {
    const json = {
      error: error.code,
      status: error.status,
      message: error.message,
      ...(error.details ? { details: error.details } : {}),
      ...(error.requestId ? { request_id: error.requestId } : {}),
    };
    const exitCode = [400, 413, 415].includes(error.status) ? EXIT.usage : EXIT.failed;
    return { exitCode, message: explainApiError(error, context), json };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    exitCode: EXIT.failed,
    message: `unexpected error: ${message}`,
    json: { error: 'internal', message },
  };
}

function explainApiError(error: ApprovalsApiError, context: { tokenGiven: boolean }): string {
  const base = `${safe(error.message)} (${error.status} ${error.code})`;
  switch (error.status) {
    case 401:
      return context.tokenGiven
        ? `the gateway did not accept your token (401): check ALA_TOKEN or --token`
        : `no token given (401): set ALA_TOKEN or pass --token`;
    case 400: {
      const issues = error.issues.map((i) => `\n  ${safe(i.path)}: ${safe(i.message)}`).join('');
      return `the gateway refused the input: ${base}${issues}`;
    }
    case 403:
      return `not allowed: ${base}`;
    case 404:
      return `not found: ${base}`;
    case 409:
      return `conflict: ${base}`;
    case 429:
      return `rate limited: ${base}; retry later`;
    case 422:
      return `the grant cannot be issued as the policy states it: ${base}; the refusal is audited; a policy change is needed`;
    case 501:
      return `not configured: ${base}; retrying will not help until an operator configures the gateway`;
    case 503:
      return `unavailable: ${base}; nothing was written, so the same command can be retried${error.requestId ? ` [x-request-id ${error.requestId}]` : ''}`;
    default:
      return `${base}${error.requestId ? ` [x-request-id ${error.requestId}]` : ''}`;
  }
}
