/** What the CLI touches of its process, injectable so tests run it in-process with captured output. */

export interface OutputStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Relative file arguments are resolved against it. */
  readonly cwd: string;
  /** Reads all of standard input (`-` as a file argument). */
  readonly readStdin: () => Promise<string>;
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * How a wait is shown on stderr: `auto` draws a self-rewriting line on a terminal and prints a
 * plain line per change elsewhere (pipes, CI logs); `terminal` draws on a terminal only (`--json`,
 * whose stderr carries JSON errors); `off` shows nothing.
 */
export type ProgressMode = 'auto' | 'terminal' | 'off';

/** What the CLI is waiting for, on stderr, so stdout stays machine-readable. */
export class Progress {
  readonly #stream: OutputStream;
  readonly #style: 'spinner' | 'lines' | 'off';
  #text = '';
  #printed: string | undefined;
  #frame = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #started = Date.now();

  constructor(stream: OutputStream, mode: ProgressMode) {
    this.#stream = stream;
    this.#style =
      mode === 'off' ? 'off' : stream.isTTY === true ? 'spinner' : mode === 'auto' ? 'lines' : 'off';
  }

  start(text: string): void {
    this.#text = text;
    if (this.#style === 'lines') this.#printLine();
    if (this.#style !== 'spinner' || this.#timer) return;
    this.#render();
    this.#timer = setInterval(() => this.#render(), 100);
    this.#timer.unref?.();
  }

  update(text: string): void {
    this.#text = text;
    if (this.#style === 'lines') this.#printLine();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#style === 'spinner') this.#stream.write('\r\x1b[2K');
  }

  /** A plain line, only when the text changed: a CI log gets one line per change, not per poll. */
  #printLine(): void {
    if (this.#text === this.#printed) return;
    this.#printed = this.#text;
    this.#stream.write(`${this.#text}\n`);
  }

  #render(): void {
    this.#frame = (this.#frame + 1) % FRAMES.length;
    const seconds = Math.floor((Date.now() - this.#started) / 1000);
    const line = `${FRAMES[this.#frame]} ${this.#text} (${seconds}s)`;
    const width = this.#stream.columns || 100;
    this.#stream.write(`\r\x1b[2K${line.slice(0, Math.max(10, width - 1))}`);
  }
}
