/** Per-tenant admission (one object per tenant). */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../src/env.ts";

export class TenantQuota extends DurableObject<Env> {}
