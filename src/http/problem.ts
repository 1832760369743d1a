/**
 * Problem Details responses (RFC 9457). Code anywhere throws `ProblemError`; the app's error
 * handler turns it into `application/problem+json` with the request id, so every error has the
 * same shape and no handler builds one by hand.
 */
import { PROBLEM_BASE, type ProblemSlug, problemCatalog } from "./problem-catalog.ts";

export type ProblemExtensions = Record<string, unknown>;

export class ProblemError extends Error {
  readonly slug: ProblemSlug;
  readonly detail: string;
  readonly extensions: ProblemExtensions;
  readonly headers: Record<string, string>;

  constructor(slug: ProblemSlug, detail: string, options: { extensions?: ProblemExtensions; headers?: Record<string, string> } = {}) {
    super(`${slug}: ${detail}`);
    this.name = "ProblemError";
    this.slug = slug;
    this.detail = detail;
    this.extensions = options.extensions ?? {};
    this.headers = options.headers ?? {};
  }

  get status(): number {
    return problemCatalog[this.slug].status;
  }
}

export function problemBody(slug: ProblemSlug, detail: string, requestId: string | undefined, extensions: ProblemExtensions = {}) {
  const kind = problemCatalog[slug];
  // Extensions can never override the standard members.
  return {
    ...extensions,
    type: `${PROBLEM_BASE}${slug}`,
    title: kind.title,
    status: kind.status,
    detail,
    ...(requestId ? { request_id: requestId } : {}),
  };
}

export function problemResponse(error: ProblemError, requestId: string | undefined): Response {
  const headers = new Headers(error.headers);
  headers.set("Content-Type", "application/problem+json");
  if (requestId) headers.set("X-Request-ID", requestId);
  return new Response(JSON.stringify(problemBody(error.slug, error.detail, requestId, error.extensions)), {
    status: error.status,
    headers,
  });
}
