/**
 * The oracle: what every response to every fuzzed request must satisfy.
 *
 * - No status ≥ 500, unless the operation documents that status with a body that is not a problem
 *   (`GET /health`'s 503 is a health report: the service says it cannot run jobs, not that it broke).
 * - Every other non-2xx answer is `application/problem+json` whose `type` is in the catalogue
 *   (src/http/problem-catalog.ts), whose catalogued status is the response's, whose `status`
 *   member agrees and whose `detail` says something.
 * - When the request named an operation (its method, and a path that routes to it), the status is
 *   one the OpenAPI document lists for it: clients are generated from that document.
 */
import { PROBLEM_BASE, type ProblemSlug, problemCatalog } from "../../../src/http/problem-catalog.ts";
import type { Operation } from "./openapi-model.ts";
import type { FuzzCase } from "./requests.ts";
import type { WireResponse } from "./wire.ts";

export type ViolationKind = "5xx" | "not-problem" | "unknown-type" | "status-mismatch" | "undocumented";

export interface Violation {
  kind: ViolationKind;
  message: string;
}

/** The problem type's slug, or undefined when the answer is not a problem. */
export function problemSlug(res: WireResponse): string | undefined {
  if (!(res.headers["content-type"] ?? "").startsWith("application/problem+json")) return undefined;
  try {
    const type = (JSON.parse(res.text) as { type?: unknown }).type;
    return typeof type === "string" && type.startsWith(PROBLEM_BASE) ? type.slice(PROBLEM_BASE.length) : undefined;
  } catch {
    return undefined;
  }
}

function problemViolation(c: FuzzCase, res: WireResponse): Violation | undefined {
  const contentType = res.headers["content-type"] ?? "";
  if (!contentType.startsWith("application/problem+json")) {
    return { kind: "not-problem", message: `${res.status} with Content-Type ${JSON.stringify(contentType)}, not application/problem+json` };
  }
  // A HEAD answer has the GET answer's headers and no body.
  if (c.method === "HEAD") return undefined;
  let body: { type?: unknown; status?: unknown; detail?: unknown };
  try {
    body = JSON.parse(res.text) as typeof body;
  } catch {
    return { kind: "not-problem", message: `${res.status} problem+json whose body is not JSON` };
  }
  const type = typeof body.type === "string" ? body.type : "";
  const slug = type.startsWith(PROBLEM_BASE) ? type.slice(PROBLEM_BASE.length) : "";
  const kind = Object.hasOwn(problemCatalog, slug) ? problemCatalog[slug as ProblemSlug] : undefined;
  if (!kind) return { kind: "unknown-type", message: `${res.status} with undocumented problem type ${JSON.stringify(body.type)}` };
  if (kind.status !== res.status || body.status !== res.status) {
    return { kind: "status-mismatch", message: `${slug} is documented as ${kind.status}; answered ${res.status} with status member ${String(body.status)}` };
  }
  if (typeof body.detail !== "string" || body.detail === "") return { kind: "not-problem", message: `${slug} without a detail` };
  return undefined;
}

export function checkResponse(c: FuzzCase, res: WireResponse, op: Operation | undefined): Violation | undefined {
  const contentType = res.headers["content-type"] ?? "";
  const routed = c.kind === "operation" && c.routed && op !== undefined;
  const media = routed ? op.responses.get(res.status) : undefined;
  const documentedReport = media?.some((m) => m !== "application/problem+json" && contentType.startsWith(m)) ?? false;
  if (res.status >= 500 && !documentedReport) {
    return { kind: "5xx", message: `${res.status} ${problemSlug(res) ?? contentType}: ${res.text.slice(0, 300)}` };
  }
  if (res.status >= 400 && !documentedReport) {
    const v = problemViolation(c, res);
    if (v) return v;
  }
  if (routed && !op.responses.has(res.status)) {
    const documented = [...op.responses.keys()].join(", ");
    return { kind: "undocumented", message: `${op.key} answered ${res.status} ${problemSlug(res) ?? ""}; the document lists ${documented}` };
  }
  return undefined;
}
