/**
 * Bootstrapping a launched GPU host without a long-lived secret in its launch template: the
 * autoscaler (or an operator) gives the host a one-time token that expires within minutes; the host
 * trades it once at the edge (`edgePaths.bootstrap`) for its Standard Webhooks secret and the
 * edge's public keys, and from then on authenticates as any registered host. A token is useless
 * after its first use or its expiry, so a leaked template or environment dump holds nothing.
 */
import { z } from "zod";
import { HOST_ID } from "./messages.ts";

/** `cbt_` and 32 random bytes, base64url (43 characters). */
export const BOOTSTRAP_TOKEN_RE = /^cbt_[A-Za-z0-9_-]{43}$/;

export const BootstrapRequest = z.object({ token: z.string().regex(BOOTSTRAP_TOKEN_RE, "a bootstrap token: cbt_ and 43 base64url characters") }).strict();
export type BootstrapRequest = z.infer<typeof BootstrapRequest>;

export const BootstrapReply = z.object({
  host_id: z.string().regex(HOST_ID),
  pool: z.string().min(1),
  /** The host's HOST_SECRET (whsec_…): sent in this answer only. */
  secret: z.string().startsWith("whsec_"),
  /** What the host pins as EDGE_JWKS. */
  edge_jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1) }),
});
export type BootstrapReply = z.infer<typeof BootstrapReply>;

/** A request body is at most this long (the token and its JSON). */
export const MAX_BOOTSTRAP_REQUEST_BYTES = 1024;
