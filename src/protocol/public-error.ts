/**
 * A job failure as a tenant may see it: no host internals. ComfyUI's errors carry Python
 * tracebacks (install paths, module layout), absolute file paths and sometimes host names or
 * addresses; none of that is the tenant's business, and some of it helps an attacker. Kept: the
 * code, the exception type, the message with every path reduced to its file name, the node id and
 * class, and ComfyUI's validation errors (their strings cleaned the same way). Dropped: tracebacks
 * and the node's current inputs/outputs. The result is bounded in size.
 *
 * gpu-backend applies it before reporting (and logs the full error with the job id); the edge
 * applies it again to whatever a host reports, because hosts are the least trusted tier.
 */
import type { JobFailure } from "./messages.ts";

/** Serialized size of `details` kept; beyond it only a summary remains. */
export const MAX_PUBLIC_DETAILS_CHARS = 16 * 1024;
const MAX_STRING = 2_000;
const MAX_DEPTH = 8;
const MAX_KEYS = 100;
const DROPPED_KEYS = new Set(["traceback", "current_inputs", "current_outputs", "stack", "stack_trace"]);

export interface CleanOptions {
  /** Names of the machine (its hostname, its public name) to hide wherever they appear. */
  hostNames?: readonly string[];
}

// An absolute POSIX path (not the `//host/path` of a URL), or a Windows drive path.
const POSIX_PATH = /(?<![\w:/.~-])\/(?:[^\s/'"`<>|:;,()[\]{}]+\/)*([^\s/'"`<>|:;,()[\]{}]*)/g;
const WINDOWS_PATH = /\b[A-Za-z]:\\(?:[^\s\\'"`<>|:;,()[\]{}]+\\)*([^\s\\'"`<>|:;,()[\]{}]*)/g;
const IPV4 = /\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b/g;
const IPV6 = /\[(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}\]|(?<![\w:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![\w:])/gi;

/** One string with paths reduced to file names and host names and addresses hidden. */
export function cleanText(text: string, opts: CleanOptions = {}): string {
  let out = text.length > MAX_STRING * 4 ? text.slice(0, MAX_STRING * 4) : text;
  out = out.replace(WINDOWS_PATH, (_m, file: string) => file || "[path]");
  out = out.replace(POSIX_PATH, (_m, file: string) => file || "[path]");
  // An IPv6 address has "::" or seven colons (so "12:30:45" stays a time).
  out = out.replace(IPV4, "[address]").replace(IPV6, (m) => (m.includes("::") || (m.match(/:/g)?.length ?? 0) >= 7 ? "[address]" : m));
  for (const name of opts.hostNames ?? []) {
    if (name.length >= 3) out = out.split(name).join("[host]");
  }
  return out.length > MAX_STRING ? `${out.slice(0, MAX_STRING)}…` : out;
}

function cleanValue(value: unknown, opts: CleanOptions, depth: number): unknown {
  if (typeof value === "string") return cleanText(value, opts);
  if (typeof value !== "object" || value === null) return value;
  if (depth >= MAX_DEPTH) return "[nested too deep]";
  if (Array.isArray(value)) return value.slice(0, MAX_KEYS).map((v) => cleanValue(v, opts, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value).slice(0, MAX_KEYS)) {
    if (DROPPED_KEYS.has(key)) continue;
    out[cleanText(key, opts).slice(0, 200)] = cleanValue(v, opts, depth + 1);
  }
  return out;
}

export function publicFailure(failure: JobFailure, opts: CleanOptions = {}): JobFailure {
  const message = cleanText(failure.message, opts).slice(0, 4_000);
  if (failure.details === undefined) return { code: failure.code, message };
  let details = cleanValue(failure.details, opts, 0);
  let text: string;
  try {
    text = JSON.stringify(details) ?? "null";
  } catch {
    text = "";
    details = undefined;
  }
  if (text.length > MAX_PUBLIC_DETAILS_CHARS) details = { truncated: true, original_chars: text.length };
  return details === undefined ? { code: failure.code, message } : { code: failure.code, message, details };
}
