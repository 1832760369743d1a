/**
 * The one error the client throws for an HTTP answer it cannot use: it carries the API's problem
 * document (RFC 9457: `type`, `title`, `status`, `detail`, and the extensions such as `errors`,
 * `limit` or `retry_after`), so callers switch on `problem.type` or show `detail`.
 */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  request_id?: string;
  errors?: { pointer: string; detail: string }[];
  [extension: string]: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(problem.detail || problem.title || `HTTP ${problem.status}`);
    this.name = "ApiError";
    this.status = problem.status;
    this.problem = problem;
  }

  /** The problem type's slug: `https://…/problems/not-found` → `not-found`. */
  get code(): string {
    return this.problem.type.slice(this.problem.type.lastIndexOf("/") + 1);
  }
}

/** The problem document of a failed answer (a synthetic one when the body is not problem+json). */
export async function problemOf(res: Response): Promise<Problem> {
  const text = await res.text().catch(() => "");
  try {
    const body = JSON.parse(text) as Partial<Problem>;
    if (typeof body === "object" && body !== null && typeof body.status === "number") {
      return { type: "about:blank", title: res.statusText, detail: "", ...body, status: body.status } as Problem;
    }
  } catch {
    // not JSON
  }
  return { type: "about:blank", title: res.statusText || `HTTP ${res.status}`, status: res.status, detail: text.slice(0, 500) || `HTTP ${res.status}` };
}

/** A problem document openapi-fetch already parsed (or whatever the body was), with the answer's status. */
export function asProblem(body: unknown, res: Response): Problem {
  if (typeof body === "object" && body !== null && typeof (body as Problem).status === "number") {
    return Object.assign({ type: "about:blank", title: res.statusText, detail: "" }, body) as Problem;
  }
  const text = typeof body === "string" ? body : "";
  return { type: "about:blank", title: res.statusText || `HTTP ${res.status}`, status: res.status, detail: text.slice(0, 500) || `HTTP ${res.status}` };
}
