/**
 * Refuses a signed callback seen before. A platform's signature covers a timestamp, so a captured
 * request replays only within the accepted window; the guard remembers each signature until the
 * window has passed. Shared by every instance that serves the callback (one Lambda instance does
 * not see another's memory), so the AWS adapter is a conditional write, not a cache.
 */
export interface ReplayGuard {
  /**
   * Records `key` until `until`; true when this is the first time it is seen, false for a replay.
   * Throws when it cannot tell (store unavailable): the caller then refuses, failing closed.
   */
  firstSeen(key: string, until: Date): Promise<boolean>;
}
