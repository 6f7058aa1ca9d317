/**
 * Shared counters for rate limits: one count per key and fixed window, kept by a store every
 * gateway instance shares (SQLite locally, DynamoDB on AWS), so a limit holds across Lambda
 * instances. Increments are atomic; a counter may be dropped once its window is over.
 */
export interface RateCounter {
  /**
   * Adds one to the count of `key` in the window that starts at `windowStart` (epoch seconds) and
   * returns the count after it. The counter may be removed after `expiresAt` (epoch seconds).
   */
  increment(key: string, windowStart: number, expiresAt: number): Promise<number>;
}
