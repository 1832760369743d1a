/**
 * Who the console acts as. Credentials live in sessionStorage only: gone when the tab closes,
 * never in a URL, a cookie or localStorage (nothing else on the origin or in history sees them).
 */
export interface TenantSession {
  apiKey: string;
  userId: string;
}

const TENANT = "comfyui-saas.console.tenant";
const OPERATOR = "comfyui-saas.console.operator";

function read<T>(key: string, valid: (v: unknown) => v is T): T | null {
  try {
    const raw = sessionStorage.getItem(key);
    if (!raw) return null;
    const v: unknown = JSON.parse(raw);
    return valid(v) ? v : null;
  } catch {
    return null;
  }
}

const isTenant = (v: unknown): v is TenantSession =>
  typeof v === "object" && v !== null && typeof (v as TenantSession).apiKey === "string" && typeof (v as TenantSession).userId === "string";
const isOperator = (v: unknown): v is { token: string } => typeof v === "object" && v !== null && typeof (v as { token: string }).token === "string";

export const tenantSession = (): TenantSession | null => read(TENANT, isTenant);
export const saveTenantSession = (s: TenantSession) => sessionStorage.setItem(TENANT, JSON.stringify(s));
export const clearTenantSession = () => sessionStorage.removeItem(TENANT);

export const operatorToken = (): string | null => read(OPERATOR, isOperator)?.token ?? null;
export const saveOperatorToken = (token: string) => sessionStorage.setItem(OPERATOR, JSON.stringify({ token }));
export const clearOperatorToken = () => sessionStorage.removeItem(OPERATOR);
