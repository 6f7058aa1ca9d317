/**
 * The decision log file (JSON Lines, owner-only): the lines of one turn of the event loop are
 * appended with one write at the end of that turn, synchronously.
 *
 * A write of a few hundred bytes to a local file is a copy into the page cache: cheaper than
 * handing it to libuv's threadpool as a stream does (a job and a wake-up of the loop per turn, so
 * per call at moderate load), and a line is in the file once its turn is over, not when the pool
 * gets to it. Nothing is fsynced (a crash of the machine may lose the last lines; a crash of the
 * gateway loses at most the turn it crashed in); close() writes what is left.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Logger } from '../observability/logger.ts';

export class DecisionLogFile {
  readonly #file: string;
  readonly #logger: Logger;
  #fd: number | undefined;
  #lines: string[] = [];
  #scheduled = false;
  #failing = false;
  #closed = false;

  constructor(file: string, logger: Logger) {
    this.#file = file;
    this.#logger = logger;
  }

  /** Queues one line (a newline is added) for the write at the end of this turn. */
  append(line: string): void {
    if (this.#closed) return;
    this.#lines.push(line);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Writes the queued lines now (one write); a failure is logged, never thrown. */
  flush(): void {
    this.#scheduled = false;
    if (this.#lines.length === 0) return;
    const chunk = Buffer.from(`${this.#lines.join('\n')}\n`);
    this.#lines = [];
    try {
      this.#fd ??= openSync(this.#file, 'a', 0o600);
      for (let written = 0; written < chunk.length; )
        written += writeSync(this.#fd, chunk, written, chunk.length - written);
      this.#failing = false;
    } catch (error) {
      // Once per run of failures (a full disk would otherwise log once per turn).
      if (!this.#failing) {
        this.#failing = true;
        this.#logger.error('cannot write the decision log; decisions go on unlogged', {
          file: this.#file,
          error: (error as Error).message,
        });
      }
    }
  }

  /** Writes what is queued and closes the file; later lines are dropped. */
  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}
