/**
 * The local provider's HTTP API (scripts/lib/local-provider.ts serves it; src/capacity/local.ts
 * calls it from the Worker): the three provider calls over loopback, with a bearer token so no
 * other local process can start or stop hosts.
 */
import { z } from "zod";

export const LOCAL_PROVIDER_PATHS = {
  instances: "/v1/instances",
  instance: (id: string) => `/v1/instances/${encodeURIComponent(id)}`,
} as const;

export const LocalLaunchRequest = z.object({ name: z.string().min(1).max(200), env: z.record(z.string(), z.string()) }).strict();
export type LocalLaunchRequest = z.infer<typeof LocalLaunchRequest>;

export const LocalInstance = z.object({
  id: z.string().min(1),
  name: z.string(),
  state: z.enum(["starting", "running", "stopped"]),
  url: z.string().nullable(),
});
export type LocalInstance = z.infer<typeof LocalInstance>;

export const LocalInstanceList = z.object({ data: z.array(LocalInstance) });
