import { monotonicFactory } from 'ulid';
import type { Clock } from '../../core/ports/clock.port.ts';
import type { IdSource } from '../../core/ports/id.port.ts';

export const systemClock: Clock = { now: () => new Date() };

/** `ar_` + a ULID: unique, time-ordered, URL-safe. */
export function ulidIds(): IdSource {
  const next = monotonicFactory();
  return { requestId: () => `ar_${next()}` };
}

export const REQUEST_ID_PATTERN = /^ar_[0-9A-HJKMNP-TV-Z]{26}$/;
