/**
 * Structured log lines (one JSON object per line; Workers Logs indexes the fields).
 * Callers pass names and ids, never secrets or request bodies.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

export function createLogger(minLevel: LogLevel = "info", base: Record<string, unknown> = {}): Logger {
  const write = (level: LogLevel, event: string, fields?: Record<string, unknown>) => {
    if (rank[level] < rank[minLevel]) return;
    const line = JSON.stringify({ level, event, ...base, ...fields });
    if (level === "error") console.error(line);
    else if (level === "warn") console.warn(line);
    else console.log(line);
  };
  return {
    debug: (e, f) => write("debug", e, f),
    info: (e, f) => write("info", e, f),
    warn: (e, f) => write("warn", e, f),
    error: (e, f) => write("error", e, f),
  };
}

/** The error's name and message, for logs; stacks stay out of responses but are useful here. */
/** An error as one line of text (for messages and results, where a log's fields do not fit). */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function describeError(err: unknown): Record<string, unknown> {
  if (err instanceof Error) return { error_name: err.name, error_message: err.message, stack: err.stack };
  return { error_message: String(err) };
}
