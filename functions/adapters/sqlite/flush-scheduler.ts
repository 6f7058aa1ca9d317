/**
 * Runs a flush once for any number of asks: at the end of this event-loop turn (`setImmediate`),
 * or after a delay when the last flush met a lock. The group commit of the request store and the
 * rate counter's batched increments both write what a turn gathered through one of these.
 */
export class FlushScheduler {
  readonly #flush: () => void;
  #scheduled = false;

  constructor(flush: () => void) {
    this.#flush = flush;
  }

  /** Asks for a flush; a flush already asked for (at whatever delay) answers this ask too. */
  schedule(delayMs = 0): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    const run = () => {
      this.#scheduled = false;
      this.#flush();
    };
    if (delayMs > 0) setTimeout(run, delayMs);
    else setImmediate(run);
  }
}
