/**
 * The fuzzer's view of the OpenAPI document the Worker serves (`GET /openapi.json`): one entry per
 * operation with its parameters, body media types and documented responses, every `$ref` resolved.
 * Pure JS (no node: imports), so the same model drives the workerd test and the Node bench.
 */

/** The subset of JSON Schema (OpenAPI 3.1) the generator reads. */
export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  default?: unknown;
  example?: unknown;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, RawOperation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

interface RawOperation {
  parameters?: { name: string; in: string; required?: boolean; schema?: JsonSchema }[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: JsonSchema }> };
  responses?: Record<string, { content?: Record<string, unknown> }>;
  security?: Record<string, string[]>[];
}

export interface Param {
  name: string;
  required: boolean;
  schema: JsonSchema;
}

/** Who may call an operation, from its `security` requirement. */
export type Audience = "public" | "user" | "admin";

export interface Operation {
  /** `METHOD /path/{template}`, the key reports and tallies use. */
  key: string;
  method: string;
  path: string;
  pathParams: Param[];
  query: Param[];
  headers: Param[];
  body: { required: boolean; media: Record<string, JsonSchema> } | undefined;
  /** Documented status → the media types documented for it. */
  responses: Map<number, string[]>;
  audience: Audience;
}

/** Follows `$ref`s to `#/components/schemas/…` (recursively, through nested schemas too). */
export function resolveSchema(doc: OpenApiDocument, schema: JsonSchema | undefined, seen: Set<string> = new Set()): JsonSchema {
  if (!schema) return {};
  if (schema.$ref) {
    const name = schema.$ref.replace("#/components/schemas/", "");
    // A cycle would recurse forever; the document has none, but stop rather than hang.
    if (seen.has(name)) return {};
    return resolveSchema(doc, doc.components?.schemas?.[name], new Set([...seen, name]));
  }
  const out: JsonSchema = { ...schema };
  if (schema.items) out.items = resolveSchema(doc, schema.items, seen);
  if (schema.properties) {
    out.properties = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, resolveSchema(doc, v, seen)]));
  }
  if (typeof schema.additionalProperties === "object") out.additionalProperties = resolveSchema(doc, schema.additionalProperties, seen);
  for (const k of ["anyOf", "oneOf", "allOf"] as const) {
    const list = schema[k];
    if (list) out[k] = list.map((s) => resolveSchema(doc, s, seen));
  }
  return out;
}

function audienceOf(security: Record<string, string[]>[] | undefined): Audience {
  const names = (security ?? []).flatMap((s) => Object.keys(s));
  if (names.includes("adminToken")) return "admin";
  if (names.includes("apiKey") || names.includes("jwt")) return "user";
  return "public";
}

export function operationsOf(doc: OpenApiDocument): Operation[] {
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const params = (op.parameters ?? []).map((p) => ({
        in: p.in,
        param: { name: p.name, required: p.required ?? false, schema: resolveSchema(doc, p.schema) },
      }));
      const media = Object.entries(op.requestBody?.content ?? {}).map(([type, m]) => [type, resolveSchema(doc, m.schema)] as const);
      ops.push({
        key: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        pathParams: params.filter((p) => p.in === "path").map((p) => p.param),
        query: params.filter((p) => p.in === "query").map((p) => p.param),
        headers: params.filter((p) => p.in === "header").map((p) => p.param),
        body: op.requestBody ? { required: op.requestBody.required ?? false, media: Object.fromEntries(media) } : undefined,
        responses: new Map(Object.entries(op.responses ?? {}).map(([status, r]) => [Number(status), Object.keys(r.content ?? {})])),
        audience: audienceOf(op.security),
      });
    }
  }
  return ops;
}

/** The operation a method and concrete path (no query) name, by the document's templates. */
export function matchOperation(ops: readonly Operation[], method: string, path: string): Operation | undefined {
  return ops.find((op) => op.method === method && templateRegExp(op.path).test(path));
}

const templates = new Map<string, RegExp>();
function templateRegExp(template: string): RegExp {
  let re = templates.get(template);
  if (!re) {
    const body = template
      .split(/\{[^}]+\}/)
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
      .join("[^/]+");
    re = new RegExp(`^${body}$`);
    templates.set(template, re);
  }
  return re;
}
