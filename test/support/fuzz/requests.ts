/**
 * The request generator: fast-check arbitraries of whole requests, from the OpenAPI operations
 * (openapi-model.ts) through their schemas (schema-arbitrary.ts) and the hostile layer
 * (hostile.ts), plus wrong methods and stray paths.
 *
 * A generated case holds placeholders (`@@job@@`, `@@key@@`, …), not ids or secrets: `materialize`
 * fills them from the current fixtures when the case is sent. So generation is a pure function of
 * the seed (a failure replays and shrinks), fixtures can be re-created mid-run, and a printed case
 * never shows a secret.
 */
import fc from "fast-check";
import { toBase64Url } from "../../../src/protocol/encoding.ts";
import { HTML, PYTHON_JPEG, SMALL_PNG, SVG } from "../ssrf-images.ts";
import { type Fixtures, JWT_ISSUER } from "./fixtures.ts";
import {
  brokenJsonText,
  headerSafe,
  hostileHeaderValue,
  hostileSegment,
  hostileString,
  invalidUtf8,
  jsonContentType,
  mutated,
  nastyString,
  percentEncode,
  rawUrlPiece,
} from "./hostile.ts";
import type { JsonSchema, Operation } from "./openapi-model.ts";
import { schemaArbitrary } from "./schema-arbitrary.ts";
import type { WireRequest } from "./wire.ts";

export interface FuzzCase {
  /** What generated it: an operation key (`GET /v1/jobs/{id}`), or `wrong-method`/`stray-path` with the path. */
  kind: "operation" | "wrong-method" | "stray-path";
  op: string;
  method: string;
  /** Path and query, percent-encoded, with placeholders. */
  target: string;
  headers: [string, string][];
  body?: string | Uint8Array;
  /**
   * The method and path are the operation's own (every path parameter a non-empty value that
   * cannot change the route), so the response status must be one the operation documents.
   */
  routed: boolean;
}

/** Placeholder → its value in the fixtures (undefined: that fixture is gone; an unknown id is used). */
const TOKENS = {
  admin: (f) => f.adminToken,
  key: (f) => f.key,
  otherKey: (f) => f.otherKey,
  revokedKey: (f) => f.revokedKey,
  user: (f) => f.user,
  otherUser: (f) => f.otherUser,
  job: (f) => f.queuedJobId,
  cancelledJob: (f) => f.cancelledJobId,
  otherJob: (f) => f.otherJobId,
  succeededJob: (f) => f.succeededJobId,
  disposableJob: (f) => f.disposable.jobId,
  outputName: (f) => f.outputName,
  tenant: (f) => f.tenantId,
  otherTenant: (f) => f.otherTenantId,
  disposableTenant: (f) => f.disposable.tenantId,
  secret: (f) => f.secretIds[0],
  disposableSecret: (f) => f.disposable.tenantSecretId,
  disposableUser: (f) => f.disposable.tenantUser,
  revokedKeyId: (f) => f.revokedKeyId,
  disposableKeyId: (f) => f.disposable.tenantKeyId,
  disposableHost: (f) => f.disposable.hostId,
  defaultPool: (f) => f.defaultPool,
  disposablePool: (f) => f.disposablePool,
  adminModel: (f) => f.adminModelId,
  disposableAdminModel: (f) => f.disposable.adminModelId,
  tenantModel: (f) => f.tenantModelId,
  disposableTenantModel: (f) => f.disposable.tenantModelId,
  upload: (f) => f.uploadId,
  jwt: (f) => f.jwts.valid,
  jwtExpired: (f) => f.jwts.expired,
  jwtWrongAudience: (f) => f.jwts.wrongAudience,
  jwtBadSub: (f) => f.jwts.badSub,
  jwtNoSub: (f) => f.jwts.noSub,
  jwtNotYet: (f) => f.jwts.notYet,
} satisfies Record<string, (f: Fixtures) => string | undefined>;
type Token = keyof typeof TOKENS;
const tok = (t: Token) => `@@${t}@@`;

function fill(text: string, f: Fixtures): string {
  return text.replace(/@@([A-Za-z]+)@@/g, (m, name: string) => (Object.hasOwn(TOKENS, name) ? (TOKENS[name as Token](f) ?? `fx_gone_${name}`) : m));
}

/** The concrete request: placeholders filled from the fixtures as they are now. */
export function materialize(c: FuzzCase, f: Fixtures): WireRequest {
  return {
    method: c.method,
    target: fill(c.target, f),
    headers: c.headers.map(([n, v]) => [n, fill(v, f)]),
    ...(c.body === undefined ? {} : { body: typeof c.body === "string" ? fill(c.body, f) : c.body }),
  };
}

/** The case as a person reads it in a failure report (placeholders shown, so no secrets; bodies cut). */
export function describeCase(c: FuzzCase): string {
  const body =
    c.body === undefined
      ? ""
      : typeof c.body === "string"
        ? `\n  body (${c.body.length} chars): ${JSON.stringify(c.body.slice(0, 300))}`
        : `\n  body (${c.body.length} bytes): ${Array.from(c.body.subarray(0, 48), (b) => b.toString(16).padStart(2, "0")).join(" ")}`;
  const headers = c.headers.map(([n, v]) => `\n  ${n}: ${v.length > 200 ? `${v.slice(0, 200)}… (${v.length} chars)` : v}`).join("");
  const target = c.target.length > 300 ? `${c.target.slice(0, 300)}… (${c.target.length} chars)` : c.target;
  return `[${c.kind} ${c.op.length > 100 ? `${c.op.slice(0, 100)}…` : c.op}] ${c.method} ${target}${headers}${body}`;
}

function withPrinter(c: FuzzCase): FuzzCase {
  // fast-check prints counterexamples with this (the default would dump 300 kB strings).
  Object.defineProperty(c, fc.toStringMethod, { value: () => describeCase(c), enumerable: false });
  return c;
}

// ---------------------------------------------------------------------------------------------
// Path parameters: existing resources most of the time, schema values and hostile strings too.

const destroys = (op: Operation) => op.method === "DELETE" || op.method === "PATCH";

/**
 * Which fixtures a path parameter may name. Destructive operations get only disposable ones (and
 * resources whose loss costs nothing), so the stable tenant keeps its key, jobs and user data.
 */
function tokensFor(op: Operation, name: string): Token[] {
  const p = op.path;
  if (p.startsWith("/v1/jobs/{id}")) {
    if (name === "name") return ["outputName"];
    // Deleting the succeeded job's outputs would leave no output to download: only a cancel tries it (409).
    if (op.method === "DELETE" && p.endsWith("/outputs")) return ["disposableJob", "cancelledJob", "otherJob"];
    return destroys(op) ? ["disposableJob", "cancelledJob", "otherJob", "succeededJob"] : ["job", "cancelledJob", "otherJob", "succeededJob", "disposableJob"];
  }
  if (p.startsWith("/v1/admin/tenants/{id}")) {
    if (name === "secret_id") return ["disposableSecret", "secret"];
    if (name === "user_id") return ["disposableUser", "user"];
    return destroys(op) ? ["disposableTenant"] : ["tenant", "otherTenant", "disposableTenant"];
  }
  if (p.startsWith("/v1/admin/keys/{id}")) return ["disposableKeyId", "revokedKeyId"];
  // Every host operation changes the host (drain, resume, rotate, remove): the disposable one only.
  if (p.startsWith("/v1/admin/hosts/{id}")) return ["disposableHost"];
  if (p.startsWith("/v1/admin/pools/{name}")) return destroys(op) ? ["disposablePool"] : ["defaultPool", "disposablePool"];
  if (p.startsWith("/v1/admin/models/{id}")) return destroys(op) ? ["disposableAdminModel"] : ["adminModel", "disposableAdminModel", "tenantModel"];
  if (p.startsWith("/v1/models/{id}")) return destroys(op) ? ["disposableTenantModel"] : ["tenantModel", "disposableTenantModel", "adminModel"];
  return [];
}

interface Piece {
  text: string;
  routed: boolean;
}

const routedSegment = (s: string): Piece => ({ text: percentEncode(s), routed: s !== "" && s !== "." && s !== ".." });

function pathParamArb(op: Operation, name: string, schema: JsonSchema): fc.Arbitrary<Piece> {
  const tokens = tokensFor(op, name);
  const options: fc.WeightedArbitrary<Piece>[] = [
    { weight: 2, arbitrary: schemaArbitrary(schema).map((v) => routedSegment(typeof v === "string" ? v : JSON.stringify(v))) },
    { weight: 2, arbitrary: hostileSegment.map(routedSegment) },
    { weight: 1, arbitrary: rawUrlPiece.map((text) => ({ text, routed: false })) },
  ];
  if (tokens.length > 0) options.push({ weight: 8, arbitrary: fc.constantFrom(...tokens).map((t) => ({ text: tok(t), routed: true })) });
  return fc.oneof(...options);
}

function pathArb(op: Operation): fc.Arbitrary<Piece> {
  const parts = op.path.split(/(\{[^}]+\})/);
  return fc
    .tuple(
      ...parts.map((part): fc.Arbitrary<Piece> => {
        const m = /^\{(.+)\}$/.exec(part);
        if (!m) return fc.constant({ text: part, routed: true });
        const param = op.pathParams.find((p) => p.name === m[1]);
        return pathParamArb(op, m[1] as string, param?.schema ?? { type: "string" });
      }),
    )
    .map((pieces) => ({ text: pieces.map((p) => p.text).join(""), routed: pieces.every((p) => p.routed) }));
}

// ---------------------------------------------------------------------------------------------
// Query strings: documented parameters (valid, hostile, raw), unknown and repeated ones.

const utf8b64 = (s: string) => toBase64Url(new TextEncoder().encode(s));

/** Cursor-shaped values: base64url of `<created_at>.<id>` with every part stretched or wrong. */
const cursorArb: fc.Arbitrary<string> = fc
  .tuple(
    fc.oneof(fc.nat(), fc.constantFrom(0, 999_999_999_999_999, 1e15, -1, 1.5)),
    fc.constantFrom("job", "ten", "mdl", "upl", "key", "x", ""),
    fc.oneof(fc.stringMatching(/^[a-z2-7]{0,30}$/), hostileSegment),
  )
  .map(([n, prefix, rest]) => utf8b64(`${n}.${prefix}_${rest}`));

function queryValueArb(name: string, schema: JsonSchema): fc.Arbitrary<string> {
  if (name === "cursor") return fc.oneof(cursorArb, hostileSegment.map(utf8b64), hostileSegment.map(percentEncode), rawUrlPiece);
  return fc.oneof(
    { weight: 5, arbitrary: schemaArbitrary(schema).map((v) => percentEncode(typeof v === "string" ? v : JSON.stringify(v))) },
    { weight: 2, arbitrary: hostileSegment.map(percentEncode) },
    { weight: 1, arbitrary: rawUrlPiece },
  );
}

function queryArb(op: Operation): fc.Arbitrary<string> {
  const documented = op.query.map((p) =>
    fc.option(
      queryValueArb(p.name, p.schema).map((v) => `${p.name}=${v}`),
      { freq: 2, nil: undefined },
    ),
  );
  const extra = fc.option(
    fc.oneof(
      fc.constantFrom("sort=asc", "limit=1&limit=2", "=", "&&", "a", "a=1&a=2", "%zz=1", "x=%E0%A4%A", "__proto__=1", "signature=", "expires=0"),
      fc.tuple(fc.string({ maxLength: 10 }).map(percentEncode), hostileSegment.map(percentEncode)).map(([k, v]) => `${k}=${v}`),
    ),
    { freq: 6, nil: undefined },
  );
  return fc.tuple(fc.tuple(...documented), extra).map(([pairs, more]) => {
    const all = [...pairs.filter((p): p is string => p !== undefined), ...(more !== undefined ? [more] : [])];
    return all.length === 0 ? "" : `?${all.join("&")}`;
  });
}

// ---------------------------------------------------------------------------------------------
// Credentials: the right ones most of the time, and every wrong kind.

const USER_AUTH: fc.WeightedArbitrary<[string, string][]>[] = [
  {
    weight: 12,
    arbitrary: fc.constant<[string, string][]>([
      ["Authorization", `Bearer ${tok("key")}`],
      ["X-User-ID", tok("user")],
    ]),
  },
  {
    weight: 2,
    arbitrary: fc.constant<[string, string][]>([
      ["Authorization", `Bearer ${tok("otherKey")}`],
      ["X-User-ID", tok("otherUser")],
    ]),
  },
  {
    weight: 1,
    arbitrary: fc.constant<[string, string][]>([
      ["Authorization", `Bearer ${tok("key")}`],
      ["X-User-ID", "someone-else"],
    ]),
  },
  { weight: 1, arbitrary: fc.constant<[string, string][]>([["Authorization", `Bearer ${tok("key")}`]]) },
  {
    weight: 2,
    arbitrary: fc.oneof(fc.constantFrom("", " ", "-x", "a".repeat(129), "a b", "ä", "a/b", "a\tb"), hostileHeaderValue).map((id): [string, string][] => [
      ["Authorization", `Bearer ${tok("key")}`],
      ["X-User-ID", headerSafe(id)],
    ]),
  },
  {
    weight: 1,
    arbitrary: fc.constant<[string, string][]>([
      ["Authorization", `Bearer ${tok("revokedKey")}`],
      ["X-User-ID", tok("user")],
    ]),
  },
];

/** JWTs of the fixtures' JWT tenant: the valid one (with or without a matching X-User-ID) and each kind of wrong. */
const JWT_AUTH: fc.Arbitrary<[string, string][]> = fc
  .tuple(
    fc.constantFrom<Token>("jwt", "jwt", "jwtExpired", "jwtWrongAudience", "jwtBadSub", "jwtNoSub", "jwtNotYet"),
    fc.constantFrom<string | undefined>(undefined, undefined, "jwt-user", "someone-else", ""),
  )
  .map(([t, user]) => [["Authorization", `Bearer ${tok(t)}`], ...(user !== undefined ? [["X-User-ID", user] as [string, string]] : [])]);

/** Claims a token's header or payload may hold, bounded (a 300 kB token would never reach the Worker). */
const claimValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileSegment,
  fc.constantFrom<unknown>(null, true, 0, -1, 1.5, 1e308, 2 ** 53 + 1, [], {}, ["x"], { a: 1 }),
  fc.nat(),
);

/** JWT-shaped tokens with hostile headers and claims under the JWT tenant's issuer, and a signature that is not one. */
const HOSTILE_JWT: fc.Arbitrary<[string, string][]> = fc
  .record({
    header: fc.record(
      {
        alg: fc.oneof(fc.constantFrom("ES256", "none", "HS256", "RS256", "EdDSA", ""), claimValue),
        kid: claimValue,
        typ: claimValue,
        crit: claimValue,
        jku: claimValue,
      },
      { requiredKeys: [] },
    ),
    payload: fc.record(
      {
        iss: fc.oneof(fc.constant(JWT_ISSUER), claimValue),
        sub: fc.oneof(fc.constant("jwt-user"), claimValue),
        aud: claimValue,
        exp: claimValue,
        nbf: claimValue,
        iat: claimValue,
      },
      { requiredKeys: [] },
    ),
    signature: fc.oneof(fc.uint8Array({ maxLength: 80 }).map(toBase64Url), fc.constantFrom("", "=", "!!", "a.b")),
    raw: fc.constantFrom(false, false, true),
  })
  .map(({ header, payload, signature, raw }): [string, string][] => {
    // `raw`: parts that are not base64url of JSON at all.
    const part = (v: unknown) => (raw ? headerSafe(JSON.stringify(v) ?? "") : utf8b64(JSON.stringify(v) ?? ""));
    return [["Authorization", `Bearer ${part(header)}.${part(payload)}.${signature}`]];
  });

const ANY_AUTH: fc.WeightedArbitrary<[string, string][]>[] = [
  { weight: 1, arbitrary: HOSTILE_JWT },
  { weight: 1, arbitrary: fc.constant<[string, string][]>([]) },
  { weight: 1, arbitrary: fc.constant<[string, string][]>([["Authorization", `Bearer ${tok("admin")}`]]) },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.constantFrom(
          `bearer ${tok("key")}`,
          `Bearer  ${tok("admin")}`,
          `Bearer ${tok("admin")}x`,
          `Bearer ${tok("admin")}, Bearer ${tok("admin")}`,
          `Token ${tok("key")}`,
          `Basic ${btoa("admin:admin")}`,
          "Bearer",
          "Bearer ",
          "Bearer csk_",
          "Bearer csk_x.y",
          "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
          "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.eyJpc3MiOiJ4Iiwic3ViIjoieCJ9.AAAA",
          "Bearer a.b.c",
          "Bearer ....",
        ),
        hostileHeaderValue.map((v) => `Bearer ${v}`),
        hostileHeaderValue,
      )
      .map((v): [string, string][] => [
        ["Authorization", v],
        ["X-User-ID", tok("user")],
      ]),
  },
];

function authArb(op: Operation | undefined): fc.Arbitrary<[string, string][]> {
  if (op?.audience === "user") return fc.oneof(...USER_AUTH, { weight: 3, arbitrary: JWT_AUTH }, ...ANY_AUTH);
  if (op?.audience === "admin") {
    return fc.oneof(
      { weight: 12, arbitrary: fc.constant<[string, string][]>([["Authorization", `Bearer ${tok("admin")}`]]) },
      { weight: 2, arbitrary: fc.oneof(...USER_AUTH) },
      ...ANY_AUTH,
    );
  }
  return fc.oneof(...USER_AUTH, ...ANY_AUTH);
}

// ---------------------------------------------------------------------------------------------
// Documented headers (never a long `Prefer: wait`: a queued job would hold the request) and odd ones.

function headerParamArb(name: string, schema: JsonSchema): fc.Arbitrary<[string, string] | undefined> {
  let value: fc.Arbitrary<string>;
  if (name === "Prefer") {
    value = fc.oneof(
      fc.constantFrom("wait=0", "wait=1", "respond-async", "wait=abc", "wait=-1", "wait=1e9", 'wait="1"', "wait", "return=minimal"),
      hostileHeaderValue,
    );
  } else if (name === "Idempotency-Key") {
    // A few keys again and again, so replays and reuse with other bodies happen.
    value = fc.oneof(
      fc.constantFrom('"fuzz-1"', '"fuzz-2"', "fuzz-3", '""', '"a"b"', '"\u00e9"'),
      hostileHeaderValue,
      schemaArbitrary(schema).map(String).map(headerSafe),
    );
  } else if (name === "Last-Event-ID") {
    value = fc.oneof(fc.constantFrom("0", "1", "-1", "1.5", "99999999999999999999", "", "abc"), hostileHeaderValue);
  } else {
    value = fc.oneof(schemaArbitrary(schema).map(String).map(headerSafe), hostileHeaderValue);
  }
  return fc.option(
    value.map((v): [string, string] => [name, v]),
    { freq: 2, nil: undefined },
  );
}

const oddHeaders: fc.Arbitrary<[string, string][]> = fc.oneof(
  { weight: 10, arbitrary: fc.constant<[string, string][]>([]) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom<[string, string]>(
        ["Content-Length", "abc"],
        ["Content-Length", "-1"],
        ["Content-Length", "99999999999"],
        ["Content-Length", "1e3"],
        ["Content-Encoding", "gzip"],
        ["Content-Encoding", "br"],
        ["Accept", "application/xml"],
        ["Accept-Encoding", "x".repeat(2_000)],
        ["X-Forwarded-For", "127.0.0.1"],
        ["Origin", "https://evil.example"],
        ["Expect", "100-continue"],
        ["Range", "bytes=0-1"],
      )
      .map((h) => [h]),
  },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom("X-Fuzz", "Cookie", "Referer", "User-Agent"), hostileHeaderValue).map((h) => [h]) },
);

// ---------------------------------------------------------------------------------------------
// Bodies, per media type.

interface BodyCase {
  body?: string | Uint8Array;
  contentType: string | null;
}

const WORKFLOWS: unknown[] = [
  {
    "1": { class_type: "EmptyImage", inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
    "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: "fuzz" } },
  },
  {
    "1": { class_type: "LoadImage", inputs: { image: `upload:${tok("upload")}` } },
    "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: "fuzz" } },
  },
  {
    "1": { class_type: "LoadImage", inputs: { image: "data:image/png;base64,iVBORw0KGgo=" } },
    "2": { class_type: "SaveImage", inputs: { images: ["1", 0] } },
  },
  { "1": { class_type: "CheckpointLoaderSimple", inputs: { ckpt_name: "tenant:nothing.safetensors" } } },
  { "1": { class_type: "LoadImage", inputs: { image: "/etc/passwd" } } },
  { last_node_id: 1, last_link_id: 0, nodes: [{ id: 1, type: "SaveImage" }], links: [], version: 0.4 },
];

/** Values for properties the schema cannot describe well: workflows, pool names and model ids that exist. */
const PROPERTY_VALUES: Record<string, fc.Arbitrary<unknown>> = {
  workflow: fc.constantFrom(...WORKFLOWS),
  pool: fc.constantFrom(tok("defaultPool"), tok("disposablePool"), "no-such-pool"),
  default_pool: fc.constantFrom(tok("defaultPool"), null, "no-such-pool"),
  allowed_pools: fc.constantFrom([tok("defaultPool")], [tok("disposablePool")], [tok("defaultPool"), "no-such-pool"]),
  pinned_models: fc.constantFrom([tok("adminModel")], [tok("tenantModel")], []),
};

function jsonValueArb(schema: JsonSchema): fc.Arbitrary<unknown> {
  const generated = schemaArbitrary(schema);
  const props = Object.keys(schema.properties ?? {}).filter((k) => k in PROPERTY_VALUES);
  if (props.length === 0) return generated;
  // The generated object with the known properties overwritten by values that reach further.
  return fc.oneof(
    generated,
    fc
      .tuple(generated, fc.record(Object.fromEntries(props.map((k) => [k, PROPERTY_VALUES[k] as fc.Arbitrary<unknown>])), { requiredKeys: [] }))
      .map(([v, over]) => (v !== null && typeof v === "object" && !Array.isArray(v) ? { ...v, ...over } : v)),
  );
}

let oversize: string | undefined;
/** A body just over MAX_REQUEST_BODY_BYTES (10 MiB by default), built once. */
const oversizedBody = () => {
  oversize ??= `{"workflow":{},"pad":"${"x".repeat(10_500_000)}"}`;
  return oversize;
};

function jsonBodyArb(schema: JsonSchema): fc.Arbitrary<BodyCase> {
  const valid = jsonValueArb(schema);
  const text: fc.Arbitrary<string | Uint8Array | undefined> = fc.oneof(
    { weight: 8, arbitrary: valid.map((v) => JSON.stringify(v) ?? "") },
    { weight: 4, arbitrary: mutated(valid).map((v) => JSON.stringify(v) ?? "") },
    { weight: 3, arbitrary: valid.chain((v) => brokenJsonText(JSON.stringify(v) ?? "")) },
    { weight: 1, arbitrary: valid.chain((v) => invalidUtf8(JSON.stringify(v) ?? "")) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    // Rarely (it is 10 MB): a body over the size cap.
    { weight: 1, arbitrary: fc.nat({ max: 19 }).map((n) => (n === 0 ? oversizedBody() : "{}")) },
  );
  return fc.record({ body: text, contentType: jsonContentType }).map((b) => (b.body === undefined ? { contentType: b.contentType } : (b as BodyCase)));
}

const PNG_TRUNCATED = SMALL_PNG.subarray(0, 20);
const imageBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.constantFrom<Uint8Array>(SMALL_PNG, PYTHON_JPEG, SVG, HTML, PNG_TRUNCATED, new Uint8Array(0)),
  fc.uint8Array({ maxLength: 512 }),
);

const imageBodyArb: fc.Arbitrary<BodyCase> = fc.record({
  body: imageBytes,
  contentType: fc.constantFrom<string | null>(
    "image/png",
    "image/png",
    "image/jpeg",
    "image/svg+xml",
    "image/",
    "image/png; charset=x",
    "text/plain",
    "application/json",
    null,
  ),
});

function multipart(boundary: string, field: string, bytes: Uint8Array, close: boolean): Uint8Array {
  const head = new TextEncoder().encode(
    `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="x.png"\r\nContent-Type: image/png\r\n\r\n`,
  );
  const tail = new TextEncoder().encode(close ? `\r\n--${boundary}--\r\n` : "");
  const out = new Uint8Array(head.length + bytes.length + tail.length);
  out.set(head, 0);
  out.set(bytes, head.length);
  out.set(tail, head.length + bytes.length);
  return out;
}

const multipartBodyArb: fc.Arbitrary<BodyCase> = fc
  .tuple(fc.constantFrom("file", "file", "image", ""), imageBytes, fc.boolean(), fc.constantFrom("b0und", "other", ""))
  .map(([field, bytes, close, declared]) => ({
    body: multipart("b0und", field, bytes, close),
    contentType: declared === "" ? "multipart/form-data" : `multipart/form-data; boundary=${declared}`,
  }));

const octetBodyArb: fc.Arbitrary<BodyCase> = fc.record({
  body: fc.oneof(fc.uint8Array({ maxLength: 4_096 }), fc.constant(new Uint8Array(0))),
  contentType: fc.constantFrom<string | null>("application/octet-stream", "application/octet-stream", "application/json", null),
});

function bodyArb(op: Operation): fc.Arbitrary<BodyCase> {
  if (op.method === "GET" || op.method === "HEAD") return fc.constant({ contentType: null });
  const media = Object.entries(op.body?.media ?? {});
  if (media.length === 0) {
    // No body documented: mostly none, sometimes a JSON one anyway.
    return fc.oneof({ weight: 4, arbitrary: fc.constant({ contentType: null }) }, { weight: 1, arbitrary: jsonBodyArb({}) });
  }
  return fc.oneof(
    ...media.map(([type, schema]) => {
      if (type === "application/json") return jsonBodyArb(schema);
      if (type.startsWith("image/")) return imageBodyArb;
      if (type === "multipart/form-data") return multipartBodyArb;
      return octetBodyArb;
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Whole cases.

function operationCase(op: Operation): fc.Arbitrary<FuzzCase> {
  return fc
    .record({
      path: pathArb(op),
      query: queryArb(op),
      auth: authArb(op),
      params: fc.tuple(...op.headers.map((h) => headerParamArb(h.name, h.schema))),
      odd: oddHeaders,
      body: bodyArb(op),
    })
    .map(({ path, query, auth, params, odd, body }) =>
      withPrinter({
        kind: "operation",
        op: op.key,
        method: op.method,
        target: path.text + query,
        headers: [
          ...auth,
          ...params.filter((h): h is [string, string] => h !== undefined),
          ...odd,
          ...(body.contentType !== null ? [["Content-Type", body.contentType] as [string, string]] : []),
        ],
        ...(body.body !== undefined ? { body: body.body } : {}),
        routed: path.routed,
      }),
    );
}

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] as const;

function wrongMethodCases(ops: readonly Operation[]): fc.Arbitrary<FuzzCase>[] {
  const byPath = new Map<string, Operation[]>();
  for (const op of ops) byPath.set(op.path, [...(byPath.get(op.path) ?? []), op]);
  const out: fc.Arbitrary<FuzzCase>[] = [];
  for (const [path, pathOps] of byPath) {
    const has = new Set(pathOps.map((o) => o.method));
    // HEAD is GET without a body wherever GET exists.
    if (has.has("GET")) has.add("HEAD");
    const wrong = METHODS.filter((m) => !has.has(m));
    if (wrong.length === 0) continue;
    const first = pathOps[0] as Operation;
    out.push(
      fc
        .record({ method: fc.constantFrom(...wrong), path: pathArb(first), auth: authArb(first) })
        .map(({ method, path: p, auth }) => withPrinter({ kind: "wrong-method", op: path, method, target: p.text, headers: auth, routed: false })),
    );
  }
  return out;
}

/** Paths no operation has, the internal host API without signatures, and spellings that should not route. */
const strayCase: fc.Arbitrary<FuzzCase> = fc
  .record({
    method: fc.constantFrom(...METHODS),
    path: fc.oneof(
      fc.constantFrom(
        "/",
        "/v1",
        "/v1/",
        "/v1/jobz",
        "//v1//jobs",
        "/v1/jobs/",
        "/V1/JOBS",
        "/v1/jobs/@@job@@/",
        "/v1/jobs/@@job@@/outputs/%2e%2e%2f%2e%2e%2fx",
        "/v1/jobs/@@job@@/nope",
        "/v1/admin",
        "/v1/admin/",
        "/openapi.json",
        "/docs",
        "/console",
        "/favicon.ico",
        "/v1/hosts/jwks.json",
        "/v1/hosts/bootstrap",
        "/v1/hosts/@@disposableHost@@/heartbeat",
        "/v1/hosts/@@disposableHost@@/events",
        "/v1/hosts/@@disposableHost@@/catalog",
        "/v1/hosts/@@disposableHost@@/jobs/@@job@@/outputs/x.png",
        "/v1/hosts/@@disposableHost@@/jobs/@@job@@/preview",
        "/v1/hosts/@@disposableHost@@/jobs/@@job@@/inputs/x",
        "/v1/hosts/@@disposableHost@@/models/0000",
      ),
      fc
        .array(fc.oneof(rawUrlPiece, hostileSegment.map(percentEncode), nastyString.map(percentEncode)), { minLength: 1, maxLength: 4 })
        .map((segs) => `/v1/${segs.join("/")}`),
    ),
    auth: authArb(undefined),
    signed: fc.boolean(),
    body: fc.option(
      fc.oneof(
        fc.constant('{"host_id":"x","sent_at":0}'),
        hostileString.map((s) => JSON.stringify({ v: s })),
      ),
      { nil: undefined },
    ),
  })
  .map(({ method, path, auth, signed, body }) => {
    const withBody = body !== undefined && method !== "GET" && method !== "HEAD";
    const headers: [string, string][] = [...auth];
    // What a host's Standard Webhooks signature looks like, with a wrong MAC.
    if (signed) headers.push(["webhook-id", "msg_1"], ["webhook-timestamp", String(Math.floor(Date.UTC(2030, 0, 1) / 1000))], ["webhook-signature", "v1,AAAA"]);
    if (withBody) headers.push(["Content-Type", "application/json"]);
    return withPrinter({ kind: "stray-path", op: path, method, target: path, headers, ...(withBody ? { body } : {}), routed: false });
  });

/**
 * Every request the fuzzer sends: each documented operation equally often (so a few thousand
 * cases reach every route dozens of times), wrong methods and stray paths besides.
 */
export function requestArbitrary(ops: readonly Operation[]): fc.Arbitrary<FuzzCase> {
  const wrong = wrongMethodCases(ops);
  return fc.oneof(
    ...ops.map((op) => ({ weight: 4, arbitrary: operationCase(op) })),
    { weight: 8, arbitrary: fc.oneof(...wrong) },
    { weight: 8, arbitrary: strayCase },
  );
}
