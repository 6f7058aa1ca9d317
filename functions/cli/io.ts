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
 * One self-rewriting status line on stderr while the CLI waits. Only on a terminal: in pipes, CI
 * logs and tests it prints nothing, so stderr stays readable.
 */
export class Progress {
  readonly #stream: OutputStream;
  readonly #enabled: boolean;
  #text = '';
  #frame = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #started = Date.now();

  constructor(stream: OutputStream, enabled: boolean) {
    this.#stream = stream;
    this.#enabled = enabled && stream.isTTY === true;
  }

  start(text: string): void {
    this.#text = text;
    if (!this.#enabled || this.#timer) return;
    this.#render();
    this.#timer = setInterval(() => this.#render(), 100);
    this.#timer.unref?.();
  }

  update(text: string): void {
    this.#text = text;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#enabled) this.#stream.write('\r\x1b[2K');
  }

  #render(): void {
    this.#frame = (this.#frame + 1) % FRAMES.length;
    const seconds = Math.floor((Date.now() - this.#started) / 1000);
    const line = `${FRAMES[this.#frame]} ${this.#text} (${seconds}s)`;
    const width = this.#stream.columns || 100;
    this.#stream.write(`\r\x1b[2K${line.slice(0, Math.max(10, width - 1))}`);
  }
}
