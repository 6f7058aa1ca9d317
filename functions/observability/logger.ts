/**
 * Logs. On Lambda, Powertools Logger (structured JSON, handlers/composition.ts) satisfies this
 * shape; locally `localLogger` writes JSON lines, or one readable line per event on a terminal.
 * Callers pass ids and outcomes, never tokens or credentials.
 */
export interface Logger {
  debug(message: string, attributes?: Record<string, unknown>): void;
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
}

export type Level = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'pretty';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  /** Lines below this level are dropped. @default 'info' */
  readonly level?: Level;
  readonly service?: string;
  readonly write?: (line: string) => void;
}

function logger(
  options: LoggerOptions,
  format: (level: Level, message: string, attributes: Record<string, unknown>) => string,
): Logger {
  const min = ORDER[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  const log = (level: Level) => (message: string, attributes?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    write(`${format(level, message, attributes ?? {})}\n`);
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

/** One JSON object per line, shaped like Powertools' (level, timestamp, service, message, …). */
export function jsonLogger(options: LoggerOptions = {}): Logger {
  return logger(options, (level, message, attributes) =>
    JSON.stringify(
      {
        level: level.toUpperCase(),
        timestamp: new Date().toISOString(),
        service: options.service ?? 'ala-gateway',
        message,
        ...attributes,
      },
      errorReplacer,
    ),
  );
}

/**
 * One readable line per event, for a terminal: `12:04:05.123 INFO  request submitted
 * requestId=ar_… action=data.export`. An error's stack follows on indented lines.
 */
export function prettyLogger(options: LoggerOptions = {}): Logger {
  return logger(options, (level, message, attributes) => {
    const time = new Date().toISOString().slice(11, 23);
    let stack = '';
    const fields = Object.entries(attributes)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => {
        if (value instanceof Error) {
          stack = value.stack ? `\n    ${value.stack.split('\n').join('\n    ')}` : '';
          return `${key}=${JSON.stringify(`${value.name}: ${value.message}`)}`;
        }
        return `${key}=${typeof value === 'string' && /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value, errorReplacer)}`;
      });
    return `${time} ${level.toUpperCase().padEnd(5)} ${message}${fields.length ? `  ${fields.join(' ')}` : ''}${stack}`;
  });
}

/**
 * The format of a local gateway's logs: `LOG_FORMAT` (`json` or `pretty`) when set, else pretty
 * on a terminal and JSON otherwise (pipes, files, log collectors). Lambda always logs JSON.
 */
export function logFormat(env: Readonly<Record<string, string | undefined>>, isTty: boolean): LogFormat {
  const asked = env.LOG_FORMAT?.trim().toLowerCase();
  if (asked === 'json' || asked === 'pretty') return asked;
  if (asked) {
    throw new Error(
      `LOG_FORMAT must be "json" or "pretty" (got ${JSON.stringify(env.LOG_FORMAT)}); unset it to choose by terminal`,
    );
  }
  return isTty ? 'pretty' : 'json';
}

export function localLogger(options: LoggerOptions & { readonly format: LogFormat }): Logger {
  return options.format === 'pretty' ? prettyLogger(options) : jsonLogger(options);
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
