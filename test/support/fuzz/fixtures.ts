/**
 * Real resources for the fuzzer to hit, created through the public and admin APIs the way a client
 * would: tenants and keys, jobs in several states, an upload, model files, a pool, a host.
 *
 * Two kinds. Stable fixtures are read and used, never destroyed: the tenant whose key most
 * requests carry must keep its key, or everything after becomes a 401. Disposable fixtures are
 * the only existing resources destructive operations (delete, revoke, patch, drain, rotate,
 * erase) are aimed at; `refreshDisposable()` makes a new set, so a long run keeps hitting live
 * resources after the fuzzer has deleted the first ones.
 */
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";
import { SMALL_PNG } from "../ssrf-images.ts";
import { callJson, type Send } from "./wire.ts";

export interface Disposable {
  tenantId?: string;
  tenantKeyId?: string;
  tenantSecretId?: string;
  tenantUser: string;
  /** A queued job of the stable tenant (cancel and output deletion aim here). */
  jobId?: string;
  hostId?: string;
  adminModelId?: string;
  /** A model file of the stable tenant. */
  tenantModelId?: string;
}

export interface Fixtures {
  adminToken: string;
  /** The stable tenant, its key and end-user. */
  tenantId: string;
  key: string;
  user: string;
  secretIds: string[];
  /** A second, revoked key of the stable tenant. */
  revokedKey: string;
  revokedKeyId: string;
  /** Another tenant, its key and user, and a job of theirs. */
  otherTenantId: string;
  otherKey: string;
  otherUser: string;
  otherJobId: string;
  /** Jobs of the stable tenant's user. */
  queuedJobId: string;
  cancelledJobId: string;
  /** Set where a GPU host ran the job (the bench's stack; not inside workerd). */
  succeededJobId?: string;
  outputName?: string;
  uploadId: string;
  defaultPool: string;
  /** A pool only destructive calls change. */
  disposablePool: string;
  adminModelId?: string;
  tenantModelId?: string;
  /** JWTs for the JWT tenant (issuer JWT_ISSUER), signed with its key: valid, and wrong in one way each. */
  jwts: { valid: string; expired: string; wrongAudience: string; badSub: string; noSub: string; notYet: string };
  disposable: Disposable;
}

/** The issuer of the fixtures' JWT tenant; hostile tokens name it too, so they reach signature checks. */
export const JWT_ISSUER = "https://fuzz.invalid/issuer";
const JWT_AUDIENCE = "comfyui-saas-fuzz";

export interface FixtureOptions {
  /** Seconds the setup waits for a job to succeed (0: no GPU host, jobs stay queued). */
  waitForSuccessSeconds: number;
  /** Distinguishes names between runs against one database (the bench re-uses none, but be safe). */
  tag: string;
}

const WORKFLOW = {
  "1": { class_type: "EmptyImage", inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
  "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: "fuzz" } },
};

/** Generous limits: the fuzzer should reach handlers, not stop at the first quota (it still hits them). */
const LIMITS = { max_active_jobs_per_user: 200, max_active_jobs_per_tenant: 400, requests_per_minute: 100_000, uploads_per_day: 100_000 };

function hex(n: number, seed: string): string {
  let out = "";
  let h = 2166136261;
  for (let i = 0; out.length < n; i++) {
    h = Math.imul(h ^ (seed.charCodeAt(i % seed.length) + i), 16777619) >>> 0;
    out += h.toString(16).padStart(8, "0");
  }
  return out.slice(0, n);
}

interface Created {
  id: string;
}

async function tenant(send: Send, admin: string, name: string, limits: object = LIMITS): Promise<{ id: string; key: string; keyId: string }> {
  const t = await callJson<Created>(send, "POST", "/v1/admin/tenants", { token: admin, body: { name, limits } });
  const k = await callJson<{ id: string; key: string }>(send, "POST", `/v1/admin/tenants/${t.id}/keys`, { token: admin });
  return { id: t.id, key: k.key, keyId: k.id };
}

async function submit(send: Send, key: string, user: string, wait = 0): Promise<{ id: string; status: string; outputs?: { name: string }[] }> {
  return callJson(send, "POST", "/v1/jobs", {
    token: key,
    user,
    body: { workflow: WORKFLOW },
    headers: wait > 0 ? [["Prefer", `wait=${wait}`]] : [],
  });
}

async function registerModel(send: Send, target: string, token: string, user: string | undefined, name: string): Promise<string | undefined> {
  try {
    const body = { folder: "loras", name: `${name}.safetensors`, sha256: hex(64, name), size: 16 };
    return (await callJson<Created>(send, "POST", target, { token, ...(user ? { user } : {}), body })).id;
  } catch {
    // A quota the fuzzer filled (model-quota): the generator falls back to unknown ids.
    return undefined;
  }
}

/**
 * A tenant that authenticates end-users by JWT (a fresh ES256 key), and tokens for it. On a
 * deployment that already has a tenant with JWT_ISSUER (an earlier run) the tokens are minted all
 * the same: they are then simply unknown, which is fuzzing too.
 */
async function jwtFixtures(send: Send, admin: string, name: string): Promise<Fixtures["jwts"]> {
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwt = { issuer: JWT_ISSUER, audience: JWT_AUDIENCE, public_key: await exportJWK(publicKey), algorithms: ["ES256"] };
  await callJson(send, "POST", "/v1/admin/tenants", { token: admin, body: { name, limits: LIMITS, jwt }, ok: [201, 409] });
  const now = Math.floor(Date.now() / 1000);
  const mint = (claims: JWTPayload, { aud = JWT_AUDIENCE, exp = now + 30 * 86_400, nbf = now - 60 } = {}) =>
    new SignJWT(claims).setProtectedHeader({ alg: "ES256" }).setIssuer(JWT_ISSUER).setAudience(aud).setExpirationTime(exp).setNotBefore(nbf).sign(privateKey);
  return {
    valid: await mint({ sub: "jwt-user" }),
    expired: await mint({ sub: "jwt-user" }, { exp: now - 3_600 }),
    wrongAudience: await mint({ sub: "jwt-user" }, { aud: "someone-else" }),
    badSub: await mint({ sub: "not a valid user id ☃" }),
    noSub: await mint({}),
    notYet: await mint({ sub: "jwt-user" }, { nbf: now + 86_400 }),
  };
}

let counter = 0;
const unique = (tag: string, what: string) => `fuzz-${tag}-${what}-${++counter}`;

export async function setUpFixtures(send: Send, adminToken: string, options: FixtureOptions): Promise<Fixtures> {
  const { tag } = options;
  const pools = await callJson<{ data: { name: string; is_default: boolean }[] }>(send, "GET", "/v1/admin/pools", { token: adminToken });
  const defaultPool = pools.data.find((p) => p.is_default)?.name ?? "default";
  const disposablePool = unique(tag, "pool").toLowerCase();
  await callJson(send, "POST", "/v1/admin/pools", { token: adminToken, body: { name: disposablePool } });

  const main = await tenant(send, adminToken, unique(tag, "tenant"));
  const user = "fuzz-user";
  const secrets = await callJson<{ data: { id: string }[] }>(send, "GET", `/v1/admin/tenants/${main.id}/webhook-secrets`, { token: adminToken });
  const revoked = await callJson<{ id: string; key: string }>(send, "POST", `/v1/admin/tenants/${main.id}/keys`, { token: adminToken });
  await callJson(send, "DELETE", `/v1/admin/keys/${revoked.id}`, { token: adminToken });

  const other = await tenant(send, adminToken, unique(tag, "other"));
  const otherUser = "other-user";
  const otherJob = await submit(send, other.key, otherUser);

  const queued = await submit(send, main.key, user);
  const cancelled = await submit(send, main.key, user);
  await callJson(send, "DELETE", `/v1/jobs/${cancelled.id}`, { token: main.key, user });
  let succeededJobId: string | undefined;
  let outputName: string | undefined;
  if (options.waitForSuccessSeconds > 0) {
    const done = await submit(send, main.key, user, options.waitForSuccessSeconds);
    if (done.status === "succeeded") {
      succeededJobId = done.id;
      outputName = done.outputs?.[0]?.name;
    }
  }
  const upload = await send({
    method: "POST",
    target: "/v1/uploads",
    headers: [
      ["Authorization", `Bearer ${main.key}`],
      ["X-User-ID", user],
      ["Content-Type", "image/png"],
    ],
    body: SMALL_PNG,
  });
  if (upload.status !== 201) throw new Error(`fixture upload: ${upload.status} ${upload.text.slice(0, 300)}`);

  const fixtures: Fixtures = {
    adminToken,
    tenantId: main.id,
    key: main.key,
    user,
    secretIds: secrets.data.map((s) => s.id),
    revokedKey: revoked.key,
    revokedKeyId: revoked.id,
    otherTenantId: other.id,
    otherKey: other.key,
    otherUser,
    otherJobId: otherJob.id,
    queuedJobId: queued.id,
    cancelledJobId: cancelled.id,
    ...(succeededJobId ? { succeededJobId } : {}),
    ...(outputName ? { outputName } : {}),
    uploadId: (JSON.parse(upload.text) as Created).id,
    defaultPool,
    disposablePool,
    jwts: await jwtFixtures(send, adminToken, unique(tag, "jwt")),
    disposable: { tenantUser: "disposable-user" },
  };
  const adminModelId = await registerModel(send, "/v1/admin/models", adminToken, undefined, unique(tag, "admin-model"));
  const tenantModelId = await registerModel(send, "/v1/models", main.key, user, unique(tag, "tenant-model"));
  if (adminModelId) fixtures.adminModelId = adminModelId;
  if (tenantModelId) fixtures.tenantModelId = tenantModelId;
  await refreshDisposable(send, fixtures, tag);
  return fixtures;
}

/**
 * A new set of disposable resources (the fuzzer may have deleted the last ones). Failures leave a
 * field unset: the generator then uses unknown ids there, which is fuzzing too.
 */
export async function refreshDisposable(send: Send, f: Fixtures, tag: string): Promise<void> {
  const admin = f.adminToken;
  const d: Disposable = { tenantUser: "disposable-user" };
  const attempt = async (fn: () => Promise<void>) => {
    try {
      await fn();
    } catch {
      // See above: an unset field is fine.
    }
  };
  await attempt(async () => {
    const t = await tenant(send, admin, unique(tag, "disposable"));
    d.tenantId = t.id;
    d.tenantKeyId = t.keyId;
    await submit(send, t.key, d.tenantUser);
    const secrets = await callJson<{ data: { id: string }[] }>(send, "GET", `/v1/admin/tenants/${t.id}/webhook-secrets`, { token: admin });
    d.tenantSecretId = secrets.data[0]?.id;
  });
  await attempt(async () => {
    d.jobId = (await submit(send, f.key, f.user)).id;
  });
  await attempt(async () => {
    const id = unique(tag, "host");
    await callJson(send, "POST", "/v1/admin/hosts", { token: admin, body: { id, url: `https://${id}.example.com`, pool: f.disposablePool } });
    d.hostId = id;
  });
  const adminModel = await registerModel(send, "/v1/admin/models", admin, undefined, unique(tag, "admin-model"));
  const tenantModel = await registerModel(send, "/v1/models", f.key, f.user, unique(tag, "tenant-model"));
  if (adminModel) d.adminModelId = adminModel;
  if (tenantModel) d.tenantModelId = tenantModel;
  f.disposable = d;
}
