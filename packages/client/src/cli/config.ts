/** Where the API is and who calls it: `--url --key --user`, else COMFYUI_SAAS_URL, _KEY, _USER. */
import type { ClientOptions } from "../client.ts";
import { UsageError } from "./exit-codes.ts";

export interface ConnectionFlags {
  url?: string;
  key?: string;
  user?: string;
}

export const ENV = { url: "COMFYUI_SAAS_URL", key: "COMFYUI_SAAS_KEY", user: "COMFYUI_SAAS_USER" } as const;

export function resolveConnection(flags: ConnectionFlags, env: Record<string, string | undefined>): ClientOptions {
  const url = flags.url || env[ENV.url];
  const key = flags.key || env[ENV.key];
  const user = flags.user || env[ENV.user];
  if (!url) throw new UsageError(`no API URL: pass --url or set ${ENV.url}`);
  if (!key) throw new UsageError(`no API key: pass --key or set ${ENV.key}`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`not a URL: ${url}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new UsageError(`not an http(s) URL: ${url}`);
  return { baseUrl: url, apiKey: key, ...(user ? { userId: user } : {}) };
}
