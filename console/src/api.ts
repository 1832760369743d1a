/**
 * The console's API clients: the project's own client library, same-origin (the console is served
 * by the API's Worker, so its CSP allows connections to this origin only).
 */
import { ComfyAdminClient, ComfyClient } from "comfyui-saas-client";
import type { TenantSession } from "./session.ts";

// A person is waiting: fewer and shorter retries than the library's default for scripts.
const RETRY = { attempts: 3, maxDelayMs: 4_000 };

export const tenantClient = (s: TenantSession) => new ComfyClient({ baseUrl: location.origin, apiKey: s.apiKey, userId: s.userId, retry: RETRY });
export const adminClient = (token: string) => new ComfyAdminClient({ baseUrl: location.origin, adminToken: token, retry: RETRY });
