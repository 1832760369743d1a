/**
 * Prometheus metrics (prom-client), in a registry of their own so several services can live in
 * one process (tests) without sharing counters. `/metrics` serves `registry.metrics()`.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export function createMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: "gpu_backend_" });
  const durationBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];
  return {
    registry,
    jobsTotal: new Counter({
      name: "gpu_backend_jobs_total",
      help: "Jobs that left the host, by outcome (succeeded, failed, cancelled, dropped) and failure code.",
      labelNames: ["outcome", "code"],
      registers: [registry],
    }),
    jobDuration: new Histogram({
      name: "gpu_backend_job_duration_seconds",
      help: "From dispatch accepted to terminal event, by outcome.",
      labelNames: ["outcome"],
      buckets: durationBuckets,
      registers: [registry],
    }),
    executionDuration: new Histogram({
      name: "gpu_backend_job_execution_seconds",
      help: "From ComfyUI's execution_start to the end of the job.",
      buckets: durationBuckets,
      registers: [registry],
    }),
    queueWait: new Histogram({
      name: "gpu_backend_queue_wait_seconds",
      help: "From dispatch accepted to ComfyUI's execution_start (input preparation plus ComfyUI queue).",
      buckets: durationBuckets,
      registers: [registry],
    }),
    comfyRestarts: new Counter({ name: "gpu_backend_comfy_restarts_total", help: "ComfyUI processes restarted by the supervisor.", registers: [registry] }),
    comfyUp: new Gauge({ name: "gpu_backend_comfy_up", help: "1 when ComfyUI is ready, else 0.", registers: [registry] }),
    jobsHeld: new Gauge({
      name: "gpu_backend_jobs_held",
      help: "Jobs the host holds (preparing, queued, running, uploading, reporting).",
      registers: [registry],
    }),
    capacity: new Gauge({ name: "gpu_backend_capacity", help: "SLOTS + PREFETCH.", registers: [registry] }),
    draining: new Gauge({ name: "gpu_backend_draining", help: "1 while draining after SIGTERM.", registers: [registry] }),
    dispatches: new Counter({
      name: "gpu_backend_dispatches_total",
      help: "Dispatch requests by result (accepted, duplicate, full, stale, draining, comfy_down).",
      labelNames: ["result"],
      registers: [registry],
    }),
    authRejected: new Counter({
      name: "gpu_backend_auth_rejected_total",
      help: "Edge requests refused for their signature, by reason.",
      labelNames: ["reason"],
      registers: [registry],
    }),
    edgeRequests: new Counter({
      name: "gpu_backend_edge_requests_total",
      help: "Host → edge requests by kind and final result.",
      labelNames: ["kind", "result"],
      registers: [registry],
    }),
    modelCacheFetchedBytes: new Counter({
      name: "gpu_backend_model_cache_fetched_bytes_total",
      help: "Bytes of model blobs downloaded into the model cache and verified.",
      registers: [registry],
    }),
    modelCacheHits: new Counter({ name: "gpu_backend_model_cache_hits_total", help: "Model ensures served from the cache.", registers: [registry] }),
    modelCacheJoins: new Counter({
      name: "gpu_backend_model_cache_joins_total",
      help: "Model ensures that waited for a download another ensure had started.",
      registers: [registry],
    }),
    modelCacheEvictions: new Counter({
      name: "gpu_backend_model_cache_evictions_total",
      help: "Model blobs evicted (least recently used) to make room within MODEL_CACHE_BUDGET_GB.",
      registers: [registry],
    }),
    modelCacheFailedFetches: new Counter({
      name: "gpu_backend_model_cache_failed_fetches_total",
      help: "Model blobs not cached, by kind (corrupt, size, network, disk, disk_budget).",
      labelNames: ["kind"],
      registers: [registry],
    }),
    previewsSent: new Counter({
      name: "gpu_backend_previews_sent_total",
      help: "Sampler preview frames uploaded to the edge (jobs dispatched with preview terms).",
      registers: [registry],
    }),
    previewsDropped: new Counter({
      name: "gpu_backend_previews_dropped_total",
      help: "Sampler preview frames of such jobs not uploaded, by reason (replaced, too_large, failed, rejected, stale, stopped, ended).",
      labelNames: ["reason"],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
