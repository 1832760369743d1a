/** Who is calling: the tenant, the end-user the request acts for, and how that was proven. */
export interface Principal {
  tenantId: string;
  userId: string;
  via: "api_key" | "jwt";
  /** API key id, when `via` is `api_key`. */
  keyId?: string;
}
