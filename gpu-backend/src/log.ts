/**
 * JSON-lines logger: one object per line with `level`, `event` and flat fields, to stdout (or a
 * sink tests pass in). Callers log ids and reasons only; secrets, signatures and request bodies
 * never reach it, so nothing here needs to scrub them.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export function createLogger(
  level: LogLevel,
  sink: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  base: Record<string, unknown> = {},
): Logger {
  const write = (at: LogLevel, event: string, fields?: Record<string, unknown>) => {
    if (RANK[at] < RANK[level]) return;
    sink(JSON.stringify({ t: new Date().toISOString(), level: at, event, ...base, ...fields }, errorReplacer));
  };
  return {
    debug: (e, f) => write("debug", e, f),
    info: (e, f) => write("info", e, f),
    warn: (e, f) => write("warn", e, f),
    error: (e, f) => write("error", e, f),
    child: (fields) => createLogger(level, sink, { ...base, ...fields }),
  };
}

/** Errors become `{name, message}` (stack only for non-operational errors is left to callers). */
function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

export const silentLogger: Logger = createLogger("error", () => {});
