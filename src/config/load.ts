/**
 * Turns the Worker's raw env into a typed `Config`, once per env object.
 *
 * Outcome is a tagged union so the caller can refuse to serve with a problem that names every
 * setting that is wrong (names only, never values: some are secrets). In production, dev-only
 * settings that are switched on are refused too.
 */
import { edgeKeysProblem } from "../hosts/edge-keys.ts";
import { type Config, configSchema, type SettingName, settings } from "./schema.ts";

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

const cache = new WeakMap<object, ConfigResult>();

export function loadConfig(env: object): ConfigResult {
  const hit = cache.get(env);
  if (hit) return hit;
  const result = parseConfig(env as Record<string, unknown>);
  cache.set(env, result);
  return result;
}

export function parseConfig(env: Record<string, unknown>): ConfigResult {
  // Empty strings mean "unset" (wrangler and shells produce them for blank lines).
  const raw: Record<string, unknown> = {};
  for (const name of Object.keys(settings)) {
    const value = env[name];
    if (value !== undefined && value !== "") raw[name] = value;
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? "config");
      return raw[name] === undefined ? `${name} is not set` : `${name} ${issue.message}`;
    });
    return { ok: false, problems: [...new Set(problems)] };
  }
  const config = parsed.data;
  const keyClash = edgeKeysProblem(config);
  if (keyClash) return { ok: false, problems: [keyClash] };
  if (config.ENVIRONMENT === "production") {
    const devOn = (Object.keys(settings) as SettingName[]).filter((name) => {
      const s = settings[name];
      return "devOnly" in s && s.devOnly && raw[name] !== undefined;
    });
    if (devOn.length > 0) {
      return { ok: false, problems: devOn.map((name) => `${name} is a dev-only setting and must be unset in production`) };
    }
  }
  return { ok: true, config };
}
