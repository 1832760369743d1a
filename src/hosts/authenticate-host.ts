/**
 * Authenticates a GPU host's call to the edge: Standard Webhooks signature with the host's
 * secret over the JSON body (POST) or over the `x-request-manifest` JSON (GET input, PUT output),
 * which must name this very request (method, path, host), by the host's current secret or, during a
 * rotation's overlap, its previous one (src/hosts/host-secrets.ts). Failures are 401 with a generic detail;
 * the reason goes to the log. Replays of POST/PUT messages are refused by the pool's Dispatcher.
 */
import { createMiddleware } from "hono/factory";
import { createDb } from "../db/client.ts";
import { getHost } from "../db/hosts.ts";
import type { GpuHostRow } from "../db/schema.ts";
import { dispatcherOfHost } from "../dispatch/route.ts";
import type { AppEnv } from "../env.ts";
import { ProblemError } from "../http/problem.ts";
import { UndecryptableSecret } from "../lib/crypto.ts";
import { HOST_SIGNATURE_TOLERANCE_SECONDS, MANIFEST_HEADER, verifyHostPayload } from "../protocol/host-signing.ts";
import { HostManifest, RequestManifest } from "../protocol/messages.ts";
import { acceptedSecrets } from "./host-secrets.ts";

export type HostApiEnv = {
  Bindings: AppEnv["Bindings"];
  Variables: AppEnv["Variables"] & {
    host: GpuHostRow;
    /** The signed text: the raw JSON body for POST, the manifest for GET/PUT. */
    signedText: string;
    manifest: RequestManifest | null;
    /**
     * With `authenticateHostClaimedByRoute`: the message's replay claim, which the route must
     * hand to the Dispatcher call it makes anyway (heartbeat, jobEvent, checkTransfer), one call instead of
     * two. Null when the middleware claimed it already (or the request is a GET, never claimed).
     */
    claim: MessageClaim | null;
  };
};

/** A signed host message's id, claimed once in the host's Dispatcher for as long as its signature could be replayed. */
export interface MessageClaim {
  id: string;
  ttlMs: number;
}

/** Largest heartbeat or event body (256 outputs with their descriptors fit many times over). */
export const MAX_HOST_MESSAGE_CHARS = 512 * 1024;

const refuse = () => new ProblemError("unauthenticated", "The request is not validly signed by a registered GPU host.");

/** A message whose id was already claimed: refused as unauthenticated, like any other bad signature. */
export function replayed(log: { warn(event: string, fields: Record<string, unknown>): void }, hostId: string): ProblemError {
  log.warn("host_auth_failed", { host_id: hostId, reason: "replayed" });
  return refuse();
}

/** The default cap (MAX_HOST_MESSAGE_CHARS); a route with larger messages (catalogs) makes its own. */
export const authenticateHost = authenticateHostWithin(MAX_HOST_MESSAGE_CHARS);

/**
 * For a GET that is not about a job (a pool's pinned model file): its manifest names only host,
 * method and path (HostManifest); `manifest` stays null. Job routes never accept such a manifest.
 */
export const authenticateHostRequest = authenticateHostWithin(MAX_HOST_MESSAGE_CHARS, "host");

/**
 * As authenticateHost, but the replay claim is left to the route (`c.var.claim`), which passes it
 * to its own Dispatcher call: for heartbeats, job events and uploads, the routes every host calls most.
 */
export const authenticateHostClaimedByRoute = authenticateHostWithin(MAX_HOST_MESSAGE_CHARS, "job", "route");

/** Host authentication for a route whose POST bodies may hold up to `maxChars` characters. */
export function authenticateHostWithin(maxChars: number, manifestKind: "job" | "host" = "job", claimBy: "middleware" | "route" = "middleware") {
  return createMiddleware<HostApiEnv>(async function authenticateHost(c, next) {
    const hostId = c.req.param("host_id") ?? "";
    const log = c.var.log;
    const host = await getHost(createDb(c.env.DB), hostId);
    if (!host) {
      log.warn("host_auth_failed", { host_id: hostId.slice(0, 64), reason: "unknown_host" });
      throw refuse();
    }
    const method = c.req.method;
    let signedText: string;
    let manifest: RequestManifest | null = null;
    if (method === "POST") {
      // Heartbeats and events are small; a host is the least trusted tier, so bound what it sends
      // (a declared length over the cap is refused before the body is read).
      const tooLarge = () => new ProblemError("payload-too-large", `Host messages are limited to ${maxChars} characters on ${c.req.path}.`);
      const declared = Number(c.req.header("Content-Length") ?? "0");
      if (declared > maxChars * 4) throw tooLarge();
      signedText = await c.req.text();
      if (signedText.length > maxChars) throw tooLarge();
    } else {
      signedText = c.req.header(MANIFEST_HEADER) ?? "";
      let parsed: unknown;
      try {
        parsed = JSON.parse(signedText);
      } catch {
        parsed = undefined;
      }
      const result = (manifestKind === "job" ? RequestManifest : HostManifest).safeParse(parsed);
      if (!result.success || result.data.method !== method || result.data.path !== c.req.path || result.data.host_id !== hostId) {
        log.warn("host_auth_failed", { host_id: hostId, reason: "manifest_mismatch" });
        throw refuse();
      }
      manifest = manifestKind === "job" ? (result.data as RequestManifest) : null;
    }
    let secrets: string[];
    try {
      // The current secret and, during a rotation's overlap, the previous one: every listed
      // signature is checked against each (HMAC verify, constant time).
      secrets = await acceptedSecrets(host, c.var.config, Date.now());
    } catch (err) {
      if (!(err instanceof UndecryptableSecret)) throw err;
      log.error("host_auth_failed", { host_id: hostId, reason: "secret_unreadable", detail: err.reason, kid: err.kid });
      throw refuse();
    }
    const verdict = await verifyHostPayload(secrets, c.req.raw.headers, signedText);
    if (!verdict.ok) {
      log.warn("host_auth_failed", { host_id: hostId, reason: verdict.reason });
      throw refuse();
    }
    const claim = method === "GET" ? null : { id: `${hostId}:${verdict.id}`, ttlMs: 2 * HOST_SIGNATURE_TOLERANCE_SECONDS * 1000 + 10_000 };
    if (claim && claimBy === "middleware" && !(await dispatcherOfHost(c.env, host).claimMessage(claim.id, claim.ttlMs))) throw replayed(c.var.log, hostId);
    c.set("claim", claimBy === "route" ? claim : null);
    c.set("host", host);
    c.set("signedText", signedText);
    c.set("manifest", manifest);
    await next();
  });
}
