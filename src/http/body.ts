/**
 * Request body guards that run before any route: a size cap (413) and, for JSON routes, the
 * content type (415). Both answer before the body is parsed, so nothing half-reads a bad request.
 */
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.ts";
import { jsonTextTooDeep, MAX_JSON_DEPTH } from "../protocol/node-policy.ts";
import { ProblemError } from "./problem.ts";

/** Routes whose bodies are files, not JSON: they check type and size themselves. */
const BINARY_ROUTE = /^\/v1\/(uploads$|hosts\/[^/]+\/jobs\/[^/]+\/(outputs\/|preview$)|(admin\/)?models\/[^/]+\/parts\/)/;

export function isBinaryRoute(path: string): boolean {
  return BINARY_ROUTE.test(path);
}

export const limitBody = createMiddleware<AppEnv>(async function limitBody(c, next) {
  if (isBinaryRoute(c.req.path)) return next();
  const max = c.var.config.MAX_REQUEST_BODY_BYTES;
  const declared = c.req.header("Content-Length");
  if (declared !== undefined && !/^\d+$/.test(declared)) {
    throw new ProblemError("payload-too-large", "Content-Length is not a number.");
  }
  return bodyLimit({
    maxSize: max,
    onError: () => {
      throw new ProblemError("payload-too-large", `The request body is larger than ${max} bytes.`, { extensions: { max_bytes: max } });
    },
  })(c, next);
});

const JSON_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;

function hasBody(req: Request): boolean {
  const length = req.headers.get("Content-Length");
  if (length !== null) return length !== "0";
  return req.headers.has("Transfer-Encoding") || req.body !== null;
}

/**
 * Bodies sent to JSON routes must say they are JSON. An empty body is "no body" whatever its
 * Content-Type says (many clients send `application/json` on every POST), so routes whose body is
 * optional accept it and required bodies get a clear "missing field" error rather than "bad JSON".
 */
export const requireJsonBody = createMiddleware<AppEnv>(async function requireJsonBody(c, next) {
  const method = c.req.method;
  if (isBinaryRoute(c.req.path)) return next();
  if (!hasBody(c.req.raw) && c.req.header("Content-Type") !== undefined) {
    const headers = new Headers(c.req.raw.headers);
    headers.delete("Content-Type");
    c.req.raw = new Request(c.req.raw, { headers });
  } else if ((method === "POST" || method === "PUT" || method === "PATCH") && hasBody(c.req.raw)) {
    const type = c.req.header("Content-Type") ?? "";
    if (!JSON_TYPE.test(type)) {
      throw new ProblemError(
        "unsupported-media-type",
        type === ""
          ? "The body has no Content-Type; send it as `application/json`."
          : `Content-Type ${type.slice(0, 100)} is not supported here; send \`application/json\`.`,
      );
    }
  }
  await next();
});

/**
 * A JSON body nested deeper than MAX_JSON_DEPTH is refused before it is parsed: no workflow needs
 * it, and values nested thousands deep overflow recursive code later (serialisation for D1,
 * `structuredClone` on the host) — which must never turn a bad request into a 5xx or a retry.
 */
export const rejectDeepJson = createMiddleware<AppEnv>(async function rejectDeepJson(c, next) {
  if (isBinaryRoute(c.req.path) || !hasBody(c.req.raw) || !JSON_TYPE.test(c.req.header("Content-Type") ?? "")) return next();
  // Cached by Hono: the route's validator parses this same text.
  const text = await c.req.text();
  if (jsonTextTooDeep(text, MAX_JSON_DEPTH)) {
    throw new ProblemError("json-too-deep", `The body nests arrays or objects deeper than ${MAX_JSON_DEPTH} levels; no request needs that.`, {
      extensions: { max_depth: MAX_JSON_DEPTH },
    });
  }
  await next();
});
