/**
 * Structured JSON logs. Powertools Logger satisfies this shape on Lambda; locally a JSON-lines
 * writer does. Callers pass ids and outcomes, never tokens or credentials.
 */
export interface Logger {
  debug(message: string, attributes?: Record<string, unknown>): void;
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
}

type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function jsonLogger(
  options: { level?: Level; service?: string; write?: (line: string) => void } = {},
): Logger {
  const min = ORDER[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  const log = (level: Level) => (message: string, attributes?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    const entry = {
      level: level.toUpperCase(),
      timestamp: new Date().toISOString(),
      service: options.service ?? 'ala-gateway',
      message,
      ...attributes,
    };
    write(`${JSON.stringify(entry, errorReplacer)}\n`);
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
