/**
 * The `Idempotency-Key` request header (IETF httpapi idempotency-key draft): an sf-string such as
 * `"8e03978e-40d5-43e8-bc93-6894a57f9324"`. Bare tokens are accepted too, since many clients do
 * not quote. The fingerprint binds the key to the end-user and the exact request body.
 */
import { ProblemError } from "../http/problem.ts";
import { canonicalJson } from "../lib/canonical-json.ts";
import { sha256Hex } from "../lib/crypto.ts";

const VALUE = /^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,255}$/;

/** Undefined when absent; throws a 400 problem when present but malformed. */
export function parseIdempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const trimmed = header.trim();
  const inner = trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"') ? trimmed.slice(1, -1) : trimmed;
  if (!VALUE.test(inner) || inner.trim() === "") {
    throw new ProblemError("invalid-idempotency-key", 'Idempotency-Key must be 1-255 printable ASCII characters, e.g. "8e03978e-40d5-43e8-bc93-6894a57f9324".');
  }
  return inner;
}

export function requestFingerprint(userId: string, body: unknown): Promise<string> {
  return sha256Hex(canonicalJson([userId, body]));
}
