import { randomFillSync } from 'node:crypto';
import type { Clock } from '../../core/ports/clock.port.ts';
import type { IdSource } from '../../core/ports/id.port.ts';

export const systemClock: Clock = { now: () => new Date() };

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * `ar_` + a ULID (48-bit millisecond time, 80 random bits, Crockford base32): unique, ordered by
 * creation (monotonic within a millisecond), URL-safe. Written here because the `ulid` package draws one random byte per character from
 * WebCrypto, which showed up on the submission hot path; this draws the random bytes of 128 ids at
 * once (as Node's randomUUID does) and gives each id 10 of them, each used once.
 */
export function ulidIds(): IdSource {
  let lastTime = -1;
  let lastRandom: Buffer = Buffer.alloc(10);
  const pool = Buffer.alloc(10 * 128);
  let used = pool.length;
  const fresh = (): Buffer => {
    if (used === pool.length) {
      randomFillSync(pool);
      used = 0;
    }
    used += 10;
    // A copy: the pool is refilled while the last id's bytes are still counted up from.
    return Buffer.from(pool.subarray(used - 10, used));
  };
  return {
    requestId: () => {
      const now = Date.now();
      if (now === lastTime) {
        // Monotonic within one millisecond: the random part counts up, so ids sort in creation order.
        lastRandom = Buffer.from(lastRandom);
        for (let i = 9; i >= 0; i--) {
          lastRandom[i] = ((lastRandom[i] ?? 0) + 1) & 0xff;
          if (lastRandom[i] !== 0) break;
        }
      } else {
        lastTime = now;
        lastRandom = fresh();
      }
      let time = now;
      let timePart = '';
      for (let i = 0; i < 10; i++) {
        timePart = CROCKFORD[time % 32] + timePart;
        time = Math.floor(time / 32);
      }
      let randomPart = '';
      // 80 bits → 16 base32 characters, 5 bits at a time.
      let buffer = 0;
      let bits = 0;
      for (const byte of lastRandom) {
        buffer = (buffer << 8) | byte;
        bits += 8;
        while (bits >= 5) {
          bits -= 5;
          randomPart += CROCKFORD[(buffer >> bits) & 31];
        }
        buffer &= (1 << bits) - 1;
      }
      return `ar_${timePart}${randomPart}`;
    },
  };
}

export { REQUEST_ID_PATTERN } from '../../core/identifiers.ts';
