/**
 * Types of the Worker's bindings and of the per-request context every handler sees.
 *
 * The bindings are wrangler.toml's, as `wrangler types` writes them to worker-configuration.d.ts
 * (`npm run types`; `npm run check` fails when it is stale). Settings, vars and secrets alike, are
 * read only through src/config/ (schema.ts has each one and its default), hence the index signature.
 */
import type { Principal } from "./auth/principal.ts";
import type { Config } from "./config/schema.ts";
import type { Logger } from "./lib/log.ts";

export interface Env extends Cloudflare.Env {
  [setting: string]: unknown;
}

export interface AppVariables {
  config: Config;
  requestId: string;
  log: Logger;
  principal: Principal;
}

export type AppEnv = { Bindings: Env; Variables: AppVariables };
