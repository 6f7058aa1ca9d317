/**
 * The one paging rule: how many items a page may hold, and the cursor that continues a listing.
 * A cursor is the position (creation time, id) of the last item a page showed (CURSOR_PATTERN);
 * both stores order by that pair and continue right after it, so the service can stop a page at
 * any item (not only at a store page's end) and still hand out a cursor that loses nothing.
 */
import { ValidationError } from './errors.ts';
import type { ActionRequest } from './model.ts';

/** Items per page of the API when the caller does not say. */
export const DEFAULT_PAGE_LIMIT = 100;
/** Most items per page of the API. */
export const MAX_PAGE_LIMIT = 500;
/** Most items a store returns per call, whatever it is asked (a bound on one read). */
export const MAX_STORE_PAGE = 1000;

export interface Position {
  readonly createdAt: string;
  readonly id: string;
}

/** A page size within 1..max (default when absent). */
export function pageLimit(limit: number | undefined, max = MAX_STORE_PAGE): number {
  return Math.max(1, Math.min(Math.trunc(limit ?? DEFAULT_PAGE_LIMIT), max));
}

/**
 * What a cursor looks like: `<creation time in epoch ms>.<request id>`. Every string of this shape
 * is a position a store can continue from (any 1–15 digits are a valid instant), so the API's
 * schema states exactly which cursors it accepts.
 */
export const CURSOR_PATTERN = /^[0-9]{1,15}\.ar_[0-9A-HJKMNP-TV-Z]{26}$/;

/** The cursor that continues a listing right after `request`. */
export function cursorAfter(request: Pick<ActionRequest, 'createdAt' | 'id'>): string {
  return `${Date.parse(request.createdAt)}.${request.id}`;
}

/** The position a cursor stands for; ValidationError (400) for anything this gateway did not issue. */
export function readCursor(cursor: string): Position {
  if (CURSOR_PATTERN.test(cursor)) {
    const [millis, id] = cursor.split('.') as [string, string];
    return { createdAt: new Date(Number(millis)).toISOString(), id };
  }
  throw new ValidationError('the cursor is not one this gateway issued; start again without it', {
    details: { field: 'cursor' },
  });
}

/** The instant a pending listing in `order` sorts a request by: its creation or its deadline. */
export function pendingPosition(
  request: Pick<ActionRequest, 'createdAt' | 'id' | 'approval'>,
  order: 'newest' | 'deadline',
): Position {
  return {
    createdAt: order === 'deadline' ? (request.approval?.expiresAt ?? request.createdAt) : request.createdAt,
    id: request.id,
  };
}

/** The cursor that continues a pending listing in `order` right after `request`. */
export function pendingCursorAfter(
  request: Pick<ActionRequest, 'createdAt' | 'id' | 'approval'>,
  order: 'newest' | 'deadline',
): string {
  return cursorAfter(pendingPosition(request, order));
}

/** One index entry: the instant it sorts by (RFC 3339, as stored) and the request id. */
export interface Keyed {
  readonly at: string;
  readonly id: string;
}

/** One run read from one index partition, in the listing's order; `truncated` if more follow in it. */
export interface SortedRun {
  readonly keys: readonly Keyed[];
  readonly truncated: boolean;
}

function compareKeyed(a: Keyed, b: Keyed): number {
  if (a.at !== b.at) return a.at < b.at ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Merges runs read from several partitions (shards, groups) into one page: each id once, in order,
 * never past the last key of a truncated run (beyond it that run may hold keys not read yet), at
 * most `limit`. `more` says whether anything may follow the page's last key.
 */
export function mergeRuns(
  runs: readonly SortedRun[],
  direction: 'asc' | 'desc',
  limit: number,
): { readonly keys: readonly Keyed[]; readonly more: boolean } {
  const sign = direction === 'asc' ? 1 : -1;
  const order = (a: Keyed, b: Keyed) => sign * compareKeyed(a, b);
  let bound: Keyed | undefined;
  for (const run of runs) {
    const last = run.keys.at(-1);
    if (run.truncated && last && (!bound || order(last, bound) < 0)) bound = last;
  }
  const seen = new Set<string>();
  const merged: Keyed[] = [];
  for (const key of runs.flatMap((run) => run.keys).sort(order)) {
    if (bound && order(key, bound) > 0) break;
    if (seen.has(key.id)) continue;
    seen.add(key.id);
    merged.push(key);
  }
  const truncatedAny = runs.some((run) => run.truncated);
  return merged.length > limit
    ? { keys: merged.slice(0, limit), more: true }
    : { keys: merged, more: truncatedAny };
}
