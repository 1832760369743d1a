/**
 * The CLI's exit codes, and which one a failure gets: scripts branch on them, so each kind of
 * failure has its own (README "From the shell").
 */
import { CommanderError } from "commander";
import { ApiError } from "../errors.ts";

export const EXIT = {
  /** The command did what it was asked; a job it followed succeeded. */
  ok: 0,
  /** A job it followed failed or was cancelled (or `validate` found the workflow invalid). */
  failed: 1,
  /** The command line is wrong: unknown option, missing URL or key, unreadable workflow, a 4xx the request itself caused. */
  usage: 2,
  /** 401 or 403: the key or the user is refused. */
  auth: 3,
  /** 429: over a rate or concurrency limit (after the client's own retries). */
  rateLimited: 4,
  /** 5xx or no answer at all. */
  unavailable: 5,
  /** Ctrl-C twice: the CLI stopped following, the job goes on. */
  interrupted: 130,
} as const;

/** A mistake in the command line or its files, found before (or without) asking the API. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The service could not be reached, or a job's event stream kept failing. */
export class UnavailableError extends Error {
  override name = "UnavailableError";
}

/** The user stopped following a job without cancelling it. */
export class DetachedError extends Error {
  override name = "DetachedError";
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof DetachedError) return EXIT.interrupted;
  if (err instanceof UnavailableError) return EXIT.unavailable;
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  if (err instanceof ApiError) {
    if (err.status === 401 || err.status === 403) return EXIT.auth;
    if (err.status === 429) return EXIT.rateLimited;
    if (err.status >= 500) return EXIT.unavailable;
    return EXIT.usage;
  }
  if (isFileError(err)) return EXIT.usage;
  if (isNetworkError(err)) return EXIT.unavailable;
  return EXIT.failed;
}

/** What to print on stderr for a failure: the problem's detail and its pointers for an ApiError. */
export function describeError(err: unknown): string[] {
  // Said already, when it happened (interrupt.ts).
  if (err instanceof DetachedError) return [];
  if (err instanceof ApiError) {
    const p = err.problem;
    const lines = [`error: ${p.detail || p.title || `HTTP ${p.status}`} (${err.status}${err.code && err.code !== "about:blank" ? ` ${err.code}` : ""})`];
    for (const e of p.errors ?? []) lines.push(`  ${e.pointer}: ${e.detail}`);
    return lines;
  }
  if (isFileError(err)) return [`error: ${err.code === "ENOENT" ? `no such file: ${err.path}` : err.message}`];
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : "";
    return [`error: ${err.message}${cause}`];
  }
  return [`error: ${String(err)}`];
}

interface FileError extends Error {
  code: string;
  path: string;
}

function isFileError(err: unknown): err is FileError {
  return err instanceof Error && typeof (err as Partial<FileError>).path === "string" && typeof (err as Partial<FileError>).code === "string";
}

/** fetch's "fetch failed" (refused, reset, DNS, TLS) or a socket error: the service is out of reach. */
export function isNetworkError(err: unknown): boolean {
  if (err instanceof TypeError && err.message === "fetch failed") return true;
  const code = err instanceof Error ? ((err as { code?: unknown }).code ?? (err.cause as { code?: unknown } | undefined)?.code) : undefined;
  return typeof code === "string" && /^(ECONN|ENOTFOUND|EAI_|ETIMEDOUT|EPIPE|UND_ERR)/.test(code);
}
