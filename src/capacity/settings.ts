/**
 * A pool's autoscaling settings as the admin API takes and shows them (snake_case), stored as JSON
 * on the pool's row: which provider launches its hosts, the policy's knobs (src/capacity/policy.ts,
 * defaults = the audit's safe values), where launched hosts reach the edge, and the provider's
 * launch template. Null on a pool: not autoscaled (hosts are registered by hand).
 */
import { z } from "@hono/zod-openapi";
import { DEFAULT_SCALING, type ScalingSettings, validateScaling } from "./policy.ts";
import { runPodTemplateSchema } from "./runpod.ts";

export const PROVIDERS = ["runpod", "local"] as const;
export type ProviderKind = (typeof PROVIDERS)[number];

const count = (fallback: number, description: string) => z.number().int().min(0).max(100).default(fallback).openapi({ description });

export const AutoscalingInput = z
  .object({
    provider: z.enum(PROVIDERS).openapi({ description: "runpod: RunPod pods (RUNPOD_API_KEY); local: processes on this machine (development only)." }),
    min_hosts: count(DEFAULT_SCALING.minHosts, "Hosts kept up even without work."),
    max_hosts: count(DEFAULT_SCALING.maxHosts, "Launched hosts that may exist at once (draining ones not counted)."),
    buffer_hosts: count(DEFAULT_SCALING.bufferHosts, "Idle hosts kept warm beyond the current work."),
    scaledown_window_seconds: z
      .number()
      .int()
      .min(0)
      .max(86_400)
      .default(DEFAULT_SCALING.scaledownWindowSeconds)
      .openapi({ description: "A host without a job this long is drained, then terminated." }),
    boot_timeout_seconds: z
      .number()
      .int()
      .min(30)
      .max(3600)
      .default(DEFAULT_SCALING.bootTimeoutSeconds)
      .openapi({ description: "A launched host not ready (ComfyUI up, heartbeating) this long after launch is terminated and replaced." }),
    slots_per_host: z.number().int().min(1).max(64).default(DEFAULT_SCALING.slotsPerHost).openapi({ description: "Jobs each launched host runs at once." }),
    edge_url: z
      .string()
      .url()
      .max(2048)
      .optional()
      .openapi({ description: "Where launched hosts reach this API (their EDGE_URL); default: the origin this request was sent to." }),
    runpod: runPodTemplateSchema.optional().openapi({ description: "The pod to launch (provider runpod): image, GPU types, disk, port." }),
  })
  .strict()
  .superRefine((v, ctx) => {
    for (const problem of validateScaling(toScaling(v))) ctx.addIssue({ code: "custom", message: problem });
    if (v.provider === "runpod" && !v.runpod) ctx.addIssue({ code: "custom", path: ["runpod"], message: "provider runpod needs a runpod launch template" });
    if (v.provider !== "runpod" && v.runpod) ctx.addIssue({ code: "custom", path: ["runpod"], message: "a runpod template is only for provider runpod" });
  })
  .openapi("AutoscalingInput", { description: "Autoscaling of the pool's hosts; null turns it off (launched hosts are drained and terminated)." });

/** As stored and shown: every default filled in, edge_url resolved. */
export type Autoscaling = Omit<z.output<typeof AutoscalingInput>, "edge_url"> & { edge_url: string };

export function toScaling(
  a: Pick<
    z.output<typeof AutoscalingInput>,
    "min_hosts" | "max_hosts" | "buffer_hosts" | "scaledown_window_seconds" | "boot_timeout_seconds" | "slots_per_host"
  >,
): ScalingSettings {
  return {
    minHosts: a.min_hosts,
    maxHosts: a.max_hosts,
    bufferHosts: a.buffer_hosts,
    scaledownWindowSeconds: a.scaledown_window_seconds,
    bootTimeoutSeconds: a.boot_timeout_seconds,
    slotsPerHost: a.slots_per_host,
  };
}

export const AutoscalingSchema = z
  .object({
    provider: z.enum(PROVIDERS),
    min_hosts: z.number().int(),
    max_hosts: z.number().int(),
    buffer_hosts: z.number().int(),
    scaledown_window_seconds: z.number().int(),
    boot_timeout_seconds: z.number().int(),
    slots_per_host: z.number().int(),
    edge_url: z.string(),
    runpod: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi("Autoscaling");
