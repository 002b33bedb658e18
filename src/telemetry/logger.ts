/**
 * Structured JSON logs, one object per line on stdout: what log collectors in a cluster parse
 * without configuration. Fields are flat; errors are reduced to their message (and stack at debug).
 */
export const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type Level = (typeof LEVELS)[number];

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: Fields): Logger;
  isEnabled(level: Level): boolean;
}

export type Sink = (line: string) => void;

function serialise(value: unknown, withStack: boolean): unknown {
  if (value instanceof Error) return withStack ? { message: value.message, stack: value.stack } : value.message;
  return value;
}

export function createLogger(options: { level?: Level; sink?: Sink; base?: Fields } = {}): Logger {
  const min = LEVELS.indexOf(options.level ?? 'info');
  const sink = options.sink ?? ((line: string) => process.stdout.write(line + '\n'));
  const base = options.base ?? {};
  const withStack = min === 0;
  const write = (level: Level, msg: string, fields?: Fields) => {
    if (LEVELS.indexOf(level) < min) return;
    const record: Fields = { time: new Date().toISOString(), level, msg, ...base };
    if (fields) for (const [k, v] of Object.entries(fields)) record[k] = serialise(v, withStack);
    let line: string;
    try {
      line = JSON.stringify(record);
    } catch {
      // A circular or BigInt field must never take the process down through its logger.
      line = JSON.stringify({ time: record.time, level, msg, logError: 'unserialisable fields' });
    }
    sink(line);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger({ level: LEVELS[min], sink, base: { ...base, ...fields } }),
    isEnabled: (level) => LEVELS.indexOf(level) >= min,
  };
}

/** For tests and library use: drops everything. */
export const silentLogger: Logger = createLogger({ sink: () => {} });
