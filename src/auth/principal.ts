/** Who is calling: the tenant, the end-user the request acts for, and how that was proven. */
import type { TenantPools } from "../pools/pools.ts";
import type { Limits } from "../tenants/limits.ts";

export interface Principal {
  tenantId: string;
  userId: string;
  via: "api_key" | "jwt";
  /** API key id, when `via` is `api_key`. */
  keyId?: string;
  /** The tenant's effective limits, read with the credential (so a change applies on the next request). */
  limits: Limits;
  /** The tenant's default and allowed pools, read with the credential too. */
  pools: TenantPools;
}
