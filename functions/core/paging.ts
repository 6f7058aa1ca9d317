/**
 * The one paging rule: how many items a page may hold, and the cursor that continues a listing.
 * A cursor is the position (creation time, id) of the last item a page showed, opaque to callers;
 * both stores order by that pair and continue right after it, so the service can stop a page at
 * any item (not only at a store page's end) and still hand out a cursor that loses nothing.
 */
import { ValidationError } from './errors.ts';
import { REQUEST_ID_PATTERN } from './identifiers.ts';
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

/** The cursor that continues a listing right after `request`. */
export function cursorAfter(request: Pick<ActionRequest, 'createdAt' | 'id'>): string {
  return base64url(JSON.stringify([request.createdAt, request.id]));
}

/** The position a cursor stands for; ValidationError (400) for anything this gateway did not issue. */
export function readCursor(cursor: string): Position {
  try {
    const parsed: unknown = JSON.parse(fromBase64url(cursor));
    // Only a position this gateway could have written: an ISO instant as the stores keep it and a
    // request id. Anything else would reach a store as a key it refuses (DynamoDB: empty strings).
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      typeof parsed[0] === 'string' &&
      typeof parsed[1] === 'string' &&
      isIsoInstant(parsed[0]) &&
      REQUEST_ID_PATTERN.test(parsed[1])
    ) {
      return { createdAt: parsed[0], id: parsed[1] };
    }
  } catch {
    // fall through to the error below
  }
  throw new ValidationError('the cursor is not one this gateway issued; start again without it', {
    details: { field: 'cursor' },
  });
}

function isIsoInstant(text: string): boolean {
  const time = Date.parse(text);
  return Number.isFinite(time) && new Date(time).toISOString() === text;
}

// Web-standard btoa/atob (no Buffer in the core); the text is UTF-8 first, so any string survives.
function base64url(text: string): string {
  const binary = String.fromCharCode(...new TextEncoder().encode(text));
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

function fromBase64url(text: string): string {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error('not base64url');
  const binary = atob(text.replaceAll('-', '+').replaceAll('_', '/'));
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
}
